package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"anticovid/internal/errs"
)

// DefaultCacheSize is how many verified tokens a keyring remembers. It should
// exceed the number of venues scanned in a busy hour so that the check-in hot
// path almost never pays for an Ed25519 verification; an entry costs about
// 200 bytes, so the default is about 13 MB at most.
const DefaultCacheSize = 1 << 16

// Keyring holds the Ed25519 keys that sign venue tokens. The newest active key
// signs; older keys keep verifying so posters already on walls stay valid
// after a rotation, until their key is retired. Create one with LoadKeyring
// or NewKeyring; it is safe for concurrent use.
type Keyring struct {
	dir string // the keys directory; "" keeps keys in memory only

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

// keyFile is the on-disk form of a key: dir/keys/<kid>.key, JSON, mode 0600.
type keyFile struct {
	KeyID   string     `json:"kid"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
	Public  []byte     `json:"public"`
	Seed    []byte     `json:"seed,omitempty"` // dropped when the key is retired
}

// LoadKeyring reads the keys kept in dir/keys/, creating the directory and a
// first key when there is none, so a fresh deployment needs no set-up step.
// It refuses key files that others than the owner can read: they hold
// private keys.
func LoadKeyring(dir string) (*Keyring, error) {
	kdir := filepath.Join(dir, "keys")
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	entries, err := os.ReadDir(kdir)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	kr := newKeyring(kdir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".key") {
			continue
		}
		k, err := readKeyFile(filepath.Join(kdir, name))
		if err != nil {
			return nil, fmt.Errorf("load keyring: %w", err)
		}
		if _, dup := kr.keys[k.id]; dup {
			return nil, fmt.Errorf("load keyring: %s: duplicate key id %s", name, k.kid)
		}
		kr.keys[k.id] = k
		kr.order = append(kr.order, k)
	}
	slices.SortFunc(kr.order, func(a, b *key) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.kid, b.kid)
	})
	for _, k := range kr.order {
		if k.retired.IsZero() {
			kr.signer = k // the last active one wins: the newest
		}
	}
	if kr.signer == nil {
		if _, err := kr.Rotate(); err != nil {
			return nil, fmt.Errorf("load keyring: first key: %w", err)
		}
	}
	return kr, nil
}

// NewKeyring makes a keyring that lives only in memory, for tests and tools.
// The keys are given oldest first and the last one signs; with none, a key
// is generated. Rotate and Retire work but persist nothing.
func NewKeyring(keys ...ed25519.PrivateKey) (*Keyring, error) {
	kr := newKeyring("")
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
		if _, err := kr.Rotate(); err != nil {
			return nil, fmt.Errorf("new keyring: %w", err)
		}
	}
	return kr, nil
}

func newKeyring(dir string) *Keyring {
	kr := &Keyring{dir: dir, keys: make(map[[kidLen]byte]*key)}
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
func (kr *Keyring) Rotate() (string, error) {
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
	if err := kr.save(k); err != nil {
		return "", fmt.Errorf("rotate: %w", err)
	}
	kr.keys[k.id] = k
	kr.order = append(kr.order, k)
	kr.signer = k
	return k.kid, nil
}

// Retire withdraws a key: from now on every token it signed is refused, and
// its private key is erased from disk. It is how a leaked key, or an old
// poster campaign, is ended. The signing key cannot be retired; Rotate first.
func (kr *Keyring) Retire(kid string) error {
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
	if err := kr.save(&retired); err != nil {
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
		return Claims{}, refuse(ErrUnknownKey, msgInvalid)
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

// save writes a key file atomically (temporary file, then rename), so a crash
// never leaves a half-written private key or loses a retirement.
func (kr *Keyring) save(k *key) error {
	if kr.dir == "" {
		return nil
	}
	kf := keyFile{KeyID: k.kid, Created: k.created, Public: k.pub}
	if !k.retired.IsZero() {
		t := k.retired
		kf.Retired = &t
	}
	if k.priv != nil {
		kf.Seed = k.priv.Seed()
	}
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(kr.dir, ".tmp-*.key") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(kr.dir, k.kid+".key")); err != nil {
		return err
	}
	if d, err := os.Open(kr.dir); err == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}

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
