package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// DefaultCacheSize is how many verified tokens a keyring remembers. It should
// exceed the number of venues scanned in a busy hour so that the check-in hot
// path almost never pays for an Ed25519 verification; an entry costs about
// 200 bytes, so the default is about 13 MB at most.
const DefaultCacheSize = 1 << 16

// Keyring holds the Ed25519 keys that sign venue tokens. The newest active key
// signs; older keys keep verifying so posters already on walls stay valid
// after a rotation, until their key is retired. Create one with Open (keys in
// the database, shared by every server) or NewKeyring (memory only); it is
// safe for concurrent use.
type Keyring struct {
	// db and vault keep the keys in token_keys (this package owns it), the
	// private seeds sealed; db nil keeps keys in memory only.
	db    *sqldb.DB
	vault *vault.Vault

	reload     sync.Mutex // one reload at a time
	reloadedAt atomic.Int64

	mu     sync.RWMutex
	keys   map[[kidLen]byte]*key
	order  []*key // oldest first
	signer *key

	cache verifiedCache
}

type key struct {
	id      [kidLen]byte
	kid     string
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey // nil once retired: a retired key can never sign again
	created time.Time
	retired time.Time // zero while active
}

// KeyInfo describes a key for operators (listing, choosing what to retire).
type KeyInfo struct {
	ID      string
	Created time.Time
	Retired time.Time // zero while the key is active
	Signing bool      // the key that signs new tokens
}

// keyFile is the on-disk form of a key in the keys directory a server used
// before keys moved to the database (read once, to import them).
type keyFile struct {
	KeyID   string     `json:"kid"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
	Public  []byte     `json:"public"`
	Seed    []byte     `json:"seed,omitempty"` // dropped when the key is retired
}

// Open returns the keyring kept in the database, so a token signed by any
// server verifies on every other. Keys found in legacyDir/keys/ (where one
// server used to keep them) and not yet in the database are imported first,
// so posters already printed stay valid; a first key is made when there is
// none. Private seeds are sealed with v, whose key never enters the database.
func Open(ctx context.Context, db *sqldb.DB, v *vault.Vault, legacyDir string) (*Keyring, error) {
	kr := newKeyring()
	kr.db, kr.vault = db, v
	if err := kr.importDir(ctx, filepath.Join(legacyDir, "keys")); err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	if err := kr.Reload(ctx); err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	if kr.signer == nil {
		if _, err := kr.Rotate(ctx); err != nil {
			return nil, fmt.Errorf("open keyring: first key: %w", err)
		}
		// Another server starting at the same moment may have made one
		// too: every server signs with the newest.
		if err := kr.Reload(ctx); err != nil {
			return nil, fmt.Errorf("open keyring: %w", err)
		}
	}
	return kr, nil
}

// importDir copies the key files of dir that the database lacks into it. A
// key the database already holds keeps its database state (a retirement made
// there is never undone by an old file).
func (kr *Keyring) importDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".key") {
			continue
		}
		k, err := readKeyFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := kr.store(ctx, k, false); err != nil {
			return err
		}
	}
	return nil
}

// Reload reads the keys from the database: a key another server made or
// retired takes effect here. Every server calls it now and then; Verify calls
// it for a token naming a key it does not know yet.
func (kr *Keyring) Reload(ctx context.Context) error {
	if kr.db == nil {
		return nil
	}
	kr.reload.Lock()
	defer kr.reload.Unlock()
	kr.reloadedAt.Store(time.Now().UnixNano())
	rows, err := kr.db.R.QueryContext(ctx, "SELECT kid, public_key, seed_enc, created_ns, retired_at FROM token_keys ORDER BY created_ns, kid")
	if err != nil {
		return fmt.Errorf("reload keys: %w", err)
	}
	defer rows.Close()
	keys := make(map[[kidLen]byte]*key)
	var order []*key
	var signer *key
	for rows.Next() {
		var kid string
		var pub, seedEnc []byte
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&kid, &pub, &seedEnc, &created, &retired); err != nil {
			return fmt.Errorf("reload keys: %w", err)
		}
		if len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("reload keys: %s: public key has the wrong size", kid)
		}
		k := &key{pub: ed25519.PublicKey(pub), created: time.Unix(0, created).UTC()}
		k.id = keyID(k.pub)
		k.kid = kidString(k.id[:])
		if k.kid != kid {
			return fmt.Errorf("reload keys: %s: key id does not match the public key", kid)
		}
		if retired.Valid {
			k.retired = time.Unix(retired.Int64, 0).UTC()
		} else {
			seed, err := kr.vault.Open(seedEnc)
			if err != nil || len(seed) != ed25519.SeedSize {
				return fmt.Errorf("reload keys: %s: the private key does not open with this data key", kid)
			}
			k.priv = ed25519.NewKeyFromSeed([]byte(seed))
			if !k.pub.Equal(k.priv.Public()) {
				return fmt.Errorf("reload keys: %s: private key does not match the public key", kid)
			}
			signer = k
		}
		keys[k.id] = k
		order = append(order, k)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reload keys: %w", err)
	}
	kr.mu.Lock()
	var retiredNow []string
	for id, old := range kr.keys {
		if k := keys[id]; k != nil && old.retired.IsZero() && !k.retired.IsZero() {
			retiredNow = append(retiredNow, k.kid)
		}
	}
	if len(order) > 0 {
		kr.keys, kr.order, kr.signer = keys, order, signer
	}
	kr.mu.Unlock()
	for _, kid := range retiredNow {
		kr.cache.dropKey(kid)
	}
	return nil
}

// reloadFor reloads the keys for a token naming an unknown key, at most once
// every two seconds so forged key ids cannot keep the database busy.
func (kr *Keyring) reloadFor() bool {
	if kr.db == nil || time.Since(time.Unix(0, kr.reloadedAt.Load())) < 2*time.Second {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return kr.Reload(ctx) == nil
}

// NewKeyring makes a keyring that lives only in memory, for tests and tools.
// The keys are given oldest first and the last one signs; with none, a key
// is generated. Rotate and Retire work but persist nothing.
func NewKeyring(keys ...ed25519.PrivateKey) (*Keyring, error) {
	kr := newKeyring()
	now := time.Now().UTC()
	for i, priv := range keys {
		if len(priv) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("new keyring: key %d: %d bytes, want %d", i, len(priv), ed25519.PrivateKeySize)
		}
		k := newKey(priv, now)
		if _, dup := kr.keys[k.id]; dup {
			return nil, fmt.Errorf("new keyring: key %d: key id %s already used", i, k.kid)
		}
		kr.keys[k.id] = k
		kr.order = append(kr.order, k)
		kr.signer = k
	}
	if kr.signer == nil {
		if _, err := kr.Rotate(context.Background()); err != nil {
			return nil, fmt.Errorf("new keyring: %w", err)
		}
	}
	return kr, nil
}

func newKeyring() *Keyring {
	kr := &Keyring{keys: make(map[[kidLen]byte]*key)}
	kr.cache.init(DefaultCacheSize)
	return kr
}

// keyID derives a key's id from its public key, so an id can never silently
// point at a different key after files are copied between machines.
func keyID(pub ed25519.PublicKey) (id [kidLen]byte) {
	sum := sha256.Sum256(pub)
	copy(id[:], sum[:])
	return id
}

func newKey(priv ed25519.PrivateKey, created time.Time) *key {
	pub := priv.Public().(ed25519.PublicKey)
	id := keyID(pub)
	return &key{id: id, kid: kidString(id[:]), pub: pub, priv: priv, created: created}
}

// Rotate makes a new key the signing key and returns its id. Tokens signed
// by older keys stay valid until those keys are retired, so posters can be
// reissued at the venues' own pace.
func (kr *Keyring) Rotate(ctx context.Context) (string, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	var k *key
	for {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", fmt.Errorf("rotate: %w", err)
		}
		created := time.Now().UTC()
		if last := len(kr.order); last > 0 && !created.After(kr.order[last-1].created) {
			created = kr.order[last-1].created.Add(time.Nanosecond) // keep "newest" unambiguous
		}
		k = newKey(priv, created)
		// Key ids are short, so two keys of one ring may share one; draw again
		// rather than make verification try several keys.
		if _, dup := kr.keys[k.id]; !dup {
			break
		}
	}
	if err := kr.store(ctx, k, false); err != nil {
		return "", fmt.Errorf("rotate: %w", err)
	}
	kr.keys[k.id] = k
	kr.order = append(kr.order, k)
	kr.signer = k
	return k.kid, nil
}

// Retire withdraws a key: from now on every token it signed is refused, and
// its private key is erased from the database. It is how a leaked key, or an old
// poster campaign, is ended. The signing key cannot be retired; Rotate first.
func (kr *Keyring) Retire(ctx context.Context, kid string) error {
	id, ok := parseKid(kid)
	if !ok {
		return fmt.Errorf("retire key %q: %w", kid, errs.ErrNotFound)
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	k := kr.keys[id]
	switch {
	case k == nil:
		return fmt.Errorf("retire key %q: %w", kid, errs.ErrNotFound)
	case !k.retired.IsZero():
		return nil
	case k == kr.signer:
		return fmt.Errorf("retire key %s: it signs new tokens; rotate first: %w", kid, errs.ErrConflict)
	}
	retired := *k
	retired.retired = time.Now().UTC()
	retired.priv = nil
	if err := kr.store(ctx, &retired, true); err != nil {
		return fmt.Errorf("retire key %s: %w", kid, err)
	}
	*k = retired
	kr.cache.dropKey(k.kid)
	return nil
}

// Keys lists the keys, oldest first.
func (kr *Keyring) Keys() []KeyInfo {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	out := make([]KeyInfo, 0, len(kr.order))
	for _, k := range kr.order {
		out = append(out, KeyInfo{ID: k.kid, Created: k.created, Retired: k.retired, Signing: k == kr.signer})
	}
	return out
}

// SetCacheSize changes how many verified tokens are remembered (and forgets
// them all); n < 1 turns the cache off. Tune it to the number of venues.
func (kr *Keyring) SetCacheSize(n int) { kr.cache.resize(n) }

// Sign returns the token for a venue's current QR generation, signed by the
// newest key.
func (kr *Keyring) Sign(venueID int64, gen int) string {
	kr.mu.RLock()
	s := kr.signer
	id, priv := s.id, s.priv
	kr.mu.RUnlock()
	p := payload(id, venueID, gen)
	sig := ed25519.Sign(priv, signedMessage(p))
	return enc.EncodeToString(append(p, sig...))
}

// Verify checks a token and returns its claims. Every check-in calls it, so
// tokens already verified come from a cache and cost a map look-up. Errors
// wrap errs.ErrInvalid (see ErrMalformed and its siblings).
func (kr *Keyring) Verify(tok string) (Claims, error) {
	c, epoch, ok := kr.cache.get(tok)
	if ok {
		return c, nil
	}
	c, err := kr.verify(tok)
	if err != nil {
		return Claims{}, err
	}
	kr.cache.put(tok, c, epoch)
	return c, nil
}

// verify is Verify without the cache.
func (kr *Keyring) verify(tok string) (Claims, error) {
	p, err := parse(tok)
	if err != nil {
		return Claims{}, err
	}
	kr.mu.RLock()
	k := kr.keys[p.kid]
	var pub ed25519.PublicKey
	var kid string
	var retired bool
	if k != nil {
		pub, kid, retired = k.pub, k.kid, !k.retired.IsZero()
	}
	kr.mu.RUnlock()
	if k == nil {
		// A key made by another server since the last reload?
		if kr.reloadFor() {
			kr.mu.RLock()
			k = kr.keys[p.kid]
			if k != nil {
				pub, kid, retired = k.pub, k.kid, !k.retired.IsZero()
			}
			kr.mu.RUnlock()
		}
		if k == nil {
			return Claims{}, refuse(ErrUnknownKey, msgInvalid)
		}
	}
	var buf [len(sigContext) + maxRaw]byte
	msg := append(append(buf[:0], sigContext...), p.payload...)
	if !ed25519.Verify(pub, msg, p.sig) {
		return Claims{}, refuse(ErrBadSignature, msgInvalid)
	}
	// Checked after the signature so that only genuine tokens are told they
	// were withdrawn; a forgery naming a retired key is just invalid.
	if retired {
		return Claims{}, refuse(ErrRetiredKey, msgRetired)
	}
	p.claims.KeyID = kid // shared with the key: cached claims allocate no id
	return p.claims, nil
}

func parseKid(s string) (id [kidLen]byte, ok bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != kidLen {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// store writes a key to the database (nothing without one): a new key, or
// with update a retirement, which erases the private seed.
func (kr *Keyring) store(ctx context.Context, k *key, update bool) error {
	if kr.db == nil {
		return nil
	}
	var seed []byte
	if k.priv != nil && k.retired.IsZero() {
		seed = kr.vault.Seal(string(k.priv.Seed()))
	}
	var retired any
	if !k.retired.IsZero() {
		retired = k.retired.Unix()
	}
	conflict := "DO NOTHING"
	if update {
		conflict = "DO UPDATE SET seed_enc = excluded.seed_enc, retired_at = excluded.retired_at"
	}
	if _, err := kr.db.W.ExecContext(ctx, `INSERT INTO token_keys (kid, public_key, seed_enc, created_ns, retired_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) `+conflict, k.kid, []byte(k.pub), seed, k.created.UnixNano(), retired); err != nil {
		return fmt.Errorf("store key %s: %w", k.kid, err)
	}
	return nil
}

// readKeyFile reads a key file of the keys directory a server used before
// keys moved to the database: dir/keys/<kid>.key, JSON, mode 0600.
func readKeyFile(path string) (*key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %v lets others read a private key; run chmod 600 on it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	bad := func(why string) error { return fmt.Errorf("%s: %s", path, why) }
	if len(kf.Public) != ed25519.PublicKeySize {
		return nil, bad("public key has the wrong size")
	}
	k := &key{pub: ed25519.PublicKey(kf.Public), created: kf.Created}
	k.id = keyID(k.pub)
	k.kid = kidString(k.id[:])
	if kf.KeyID != k.kid || filepath.Base(path) != k.kid+".key" {
		return nil, bad("key id does not match the public key")
	}
	if kf.Retired != nil {
		k.retired = *kf.Retired
	}
	switch {
	case kf.Seed != nil:
		if len(kf.Seed) != ed25519.SeedSize {
			return nil, bad("private key has the wrong size")
		}
		priv := ed25519.NewKeyFromSeed(kf.Seed)
		if !k.pub.Equal(priv.Public()) {
			return nil, bad("private key does not match the public key")
		}
		if k.retired.IsZero() {
			k.priv = priv
		}
	case k.retired.IsZero():
		return nil, bad("an active key needs its private key")
	}
	return k, nil
}

// verifiedCache remembers tokens whose signature was checked. When full it
// evicts an arbitrary half (Go's map order), which degrades gently when more
// distinct tokens are in use than it holds, where clearing everything would
// send every check-in back to Ed25519 at once.
type verifiedCache struct {
	mu    sync.RWMutex
	m     map[string]Claims
	max   int
	epoch uint64 // bumped by dropKey: a verification that raced a retirement is not cached
}

func (c *verifiedCache) init(n int) {
	c.max = n
	c.m = make(map[string]Claims, min(max(n, 0), 1024))
}

func (c *verifiedCache) resize(n int) {
	c.mu.Lock()
	c.init(n)
	c.epoch++
	c.mu.Unlock()
}

func (c *verifiedCache) get(tok string) (Claims, uint64, bool) {
	c.mu.RLock()
	cl, ok := c.m[tok]
	e := c.epoch
	c.mu.RUnlock()
	return cl, e, ok
}

func (c *verifiedCache) put(tok string, cl Claims, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max < 1 || epoch != c.epoch {
		return
	}
	if len(c.m) >= c.max {
		drop := len(c.m) - c.max/2
		for t := range c.m {
			if drop == 0 {
				break
			}
			delete(c.m, t)
			drop--
		}
	}
	// Clone: tok is often a slice of a request's URL, which must not be pinned.
	c.m[strings.Clone(tok)] = cl
}

func (c *verifiedCache) dropKey(kid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for t, cl := range c.m {
		if cl.KeyID == kid {
			delete(c.m, t)
		}
	}
}
