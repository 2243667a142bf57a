package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func mustRing(t testing.TB) *Keyring {
	t.Helper()
	kr, err := NewKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// refused checks that err is a refusal the web layer turns into a 400 with a
// message for the person scanning, and that it has the expected reason.
func refused(t *testing.T, err, reason error) {
	t.Helper()
	if err == nil {
		t.Fatalf("token accepted, want refused (%v)", reason)
	}
	if !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("error %v does not wrap errs.ErrInvalid", err)
	}
	if !errors.Is(err, reason) {
		t.Errorf("error %v, want reason %v", err, reason)
	}
	if msg := errs.FieldsOf(err)["token"]; msg == "" {
		t.Errorf("error %v has no message for the token field", err)
	}
}

func TestRoundTrip(t *testing.T) {
	kr := mustRing(t)
	kid := kr.Keys()[0].ID
	for _, tc := range []struct {
		venue int64
		gen   int
	}{
		{1, 0}, {1, 1}, {12345, 1}, {12345, 7}, {2_000_000, 300},
		{1 << 62, 1 << 40}, {-1, -1}, // odd values still round-trip exactly
	} {
		t.Run(fmt.Sprintf("%d/%d", tc.venue, tc.gen), func(t *testing.T) {
			tok := kr.Sign(tc.venue, tc.gen)
			for _, r := range tok {
				if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
					t.Fatalf("token %q has %q, outside the URL- and QR-alphanumeric-safe alphabet", tok, r)
				}
			}
			for pass := range 2 { // uncached, then cached
				c, err := kr.Verify(tok)
				if err != nil {
					t.Fatalf("pass %d: %v", pass, err)
				}
				want := Claims{VenueID: tc.venue, Gen: tc.gen, KeyID: kid}
				if c != want {
					t.Fatalf("pass %d: claims %+v, want %+v", pass, c, want)
				}
			}
		})
	}
}

func TestTokenLength(t *testing.T) {
	kr := mustRing(t)
	for _, tc := range []struct {
		venue int64
		want  int
	}{{100, 111}, {12345, 112}, {2_000_000, 114}} {
		if got := len(kr.Sign(tc.venue, 1)); got != tc.want {
			t.Errorf("venue %d: token length %d, want %d", tc.venue, got, tc.want)
		}
	}
}

func TestAlteredRefused(t *testing.T) {
	kr := mustRing(t)
	tok := kr.Sign(12345, 3)
	if _, err := kr.Verify(tok); err != nil { // cached now: alterations must still fail
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	// Every position, every other character of the alphabet: header, key id,
	// venue id, generation and signature alike.
	for i := range len(tok) {
		for _, r := range alphabet {
			if byte(r) == tok[i] {
				continue
			}
			alt := tok[:i] + string(r) + tok[i+1:]
			c, err := kr.Verify(alt)
			if err == nil {
				t.Fatalf("position %d changed to %c accepted: %+v", i, r, c)
			}
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("position %d: %v does not wrap errs.ErrInvalid", i, err)
			}
		}
	}
	for name, alt := range map[string]string{
		"empty":     "",
		"truncated": tok[:len(tok)-1],
		"shortened": tok[:len(tok)-8],
		"extended":  tok + "A",
		"lowercase": strings.ToLower(tok),
		"padded":    tok + "====",
		"garbage":   strings.Repeat("!", len(tok)),
		"huge":      strings.Repeat("A", 1<<16),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := kr.Verify(alt)
			refused(t, err, ErrMalformed)
		})
	}
}

func TestAlteredReasons(t *testing.T) {
	kr := mustRing(t)
	raw, err := enc.DecodeString(kr.Sign(12345, 3))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return enc.EncodeToString(b)
	}
	last := len(raw) - 1
	for _, tc := range []struct {
		name   string
		pos    int
		reason error
	}{
		{"version", 0, ErrMalformed},
		{"key id", 1, ErrUnknownKey},
		{"venue id", headerLen, ErrBadSignature},
		{"generation", headerLen + 2, ErrBadSignature},
		{"signature", last, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kr.Verify(flip(tc.pos))
			refused(t, err, tc.reason)
		})
	}
}

func TestForeignKeyRefused(t *testing.T) {
	ours, theirs := mustRing(t), mustRing(t)
	_, err := ours.Verify(theirs.Sign(12345, 1))
	refused(t, err, ErrUnknownKey)

	// A foreign key that happens to share our key id (ids are short) still
	// fails on the signature: its token is exactly theirs with our id in it.
	raw, err := enc.DecodeString(theirs.Sign(12345, 1))
	if err != nil {
		t.Fatal(err)
	}
	copy(raw[1:headerLen], ours.signer.id[:])
	_, err = ours.Verify(enc.EncodeToString(raw))
	refused(t, err, ErrBadSignature)
}

func TestRotateAndRetire(t *testing.T) {
	kr := mustRing(t)
	oldKid := kr.Keys()[0].ID
	oldTok := kr.Sign(7, 1)

	newKid, err := kr.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid {
		t.Fatal("rotation reused the key id")
	}
	newTok := kr.Sign(7, 1)
	if newTok == oldTok {
		t.Fatal("the new key signs the same token")
	}
	c, err := kr.Verify(newTok)
	if err != nil || c.KeyID != newKid {
		t.Fatalf("new token: %+v, %v; want key %s", c, err, newKid)
	}
	c, err = kr.Verify(oldTok) // also puts it in the cache
	if err != nil || c.KeyID != oldKid {
		t.Fatalf("old token after rotation: %+v, %v; want key %s", c, err, oldKid)
	}

	if err := kr.Retire(context.Background(), newKid); !errors.Is(err, errs.ErrConflict) {
		t.Errorf("retiring the signing key: %v, want ErrConflict", err)
	}
	if err := kr.Retire(context.Background(), "zzzz"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("retiring an unknown key: %v, want ErrNotFound", err)
	}
	if err := kr.Retire(context.Background(), oldKid); err != nil {
		t.Fatal(err)
	}
	if err := kr.Retire(context.Background(), oldKid); err != nil {
		t.Errorf("retiring twice: %v", err)
	}
	_, err = kr.Verify(oldTok) // was cached: retirement must reach the cache
	refused(t, err, ErrRetiredKey)
	if _, err := kr.Verify(newTok); err != nil {
		t.Errorf("new token after retiring the old key: %v", err)
	}
	keys := kr.Keys()
	if len(keys) != 2 || keys[0].Retired.IsZero() || keys[0].Signing || !keys[1].Signing {
		t.Errorf("Keys() = %+v", keys)
	}
}

func testVault(t *testing.T, b byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The keys live in the database: a second server opening it has the same
// ring, rotations and retirements included, and no private seed is stored
// in the clear.
func TestPersistence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		v := testVault(t, 7)
		kr, err := Open(ctx, db, v, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		first := kr.Keys()[0].ID
		tok1 := kr.Sign(1, 1)
		second, err := kr.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok2 := kr.Sign(2, 1)
		third, err := kr.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok3 := kr.Sign(3, 1)
		if err := kr.Retire(ctx, second); err != nil {
			t.Fatal(err)
		}
		rows, err := db.R.Query("SELECT kid, seed_enc FROM token_keys")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var kid string
			var seed []byte
			rows.Scan(&kid, &seed)
			n++
			if kid == second && seed != nil {
				t.Errorf("retired key %s still holds its private key", kid)
			}
			kr.mu.RLock()
			for _, k := range kr.keys {
				if k.priv != nil && bytes.Contains(seed, k.priv.Seed()) {
					t.Errorf("key %s: private seed stored in the clear", k.kid)
				}
			}
			kr.mu.RUnlock()
		}
		rows.Close()
		if n != 3 {
			t.Fatalf("%d keys stored, want 3", n)
		}

		again, err := Open(ctx, db, v, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		keys := again.Keys()
		if len(keys) != 3 || keys[0].ID != first || keys[1].ID != second || keys[2].ID != third || !keys[2].Signing {
			t.Fatalf("reloaded keys %+v, want %s %s %s with the last signing", keys, first, second, third)
		}
		if c, err := again.Verify(tok1); err != nil || c.VenueID != 1 {
			t.Errorf("token of the first key after reload: %+v, %v", c, err)
		}
		_, err = again.Verify(tok2)
		refused(t, err, ErrRetiredKey)
		if c, err := again.Verify(tok3); err != nil || c.VenueID != 3 {
			t.Errorf("token of the signing key after reload: %+v, %v", c, err)
		}
		if c, err := again.Verify(again.Sign(4, 2)); err != nil || c.KeyID != third {
			t.Errorf("reloaded ring signs with %+v, %v; want key %s", c, err, third)
		}
		if _, err := Open(ctx, db, testVault(t, 8), t.TempDir()); err == nil {
			t.Error("a keyring opened with another data key")
		}
	})
}

// Two servers on one database: a token either signs verifies on the other,
// a key one makes is found by the other when a token names it, and a key one
// retires is refused by the other after its next reload.
func TestTwoServersShareKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		v := testVault(t, 7)
		a, err := Open(ctx, db, v, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(ctx, db, v, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Keys()) != 1 {
			t.Fatalf("second server made its own key: %+v", b.Keys())
		}
		old := a.Sign(1, 1)
		if _, err := b.Verify(old); err != nil {
			t.Fatalf("token signed by one server refused by the other: %v", err)
		}
		if _, err := a.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		fresh := a.Sign(2, 1)
		b.reloadedAt.Store(0) // the last reload was long ago
		if c, err := b.Verify(fresh); err != nil || c.VenueID != 2 {
			t.Fatalf("token of a key made by the other server: %+v, %v", c, err)
		}
		if err := a.Retire(ctx, a.Keys()[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(old)
		refused(t, err, ErrRetiredKey)
		// Forged key ids do not make a reload each: one every two seconds.
		before := b.reloadedAt.Load()
		other, _ := NewKeyring()
		for i := range 50 {
			b.Verify(other.Sign(int64(i), 1))
		}
		if b.reloadedAt.Load() != before {
			t.Error("tokens of unknown keys reloaded the ring within two seconds of the last reload")
		}
	})
}

// writeKeyFile writes a key as a server kept it before keys moved to the
// database.
func writeKeyFile(t *testing.T, dir string, priv ed25519.PrivateKey, created time.Time, mode os.FileMode) string {
	t.Helper()
	k := newKey(priv, created)
	data, _ := json.Marshal(keyFile{KeyID: k.kid, Created: created, Public: k.pub, Seed: priv.Seed()})
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keys", k.kid+".key")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	return k.kid
}

// A server that kept its keys in its data directory imports them: posters
// printed before keep verifying, on every server. Unsafe or mismatched files
// are refused, and an old file never undoes a retirement made since.
func TestImportLegacyKeys(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		v := testVault(t, 7)
		dir := t.TempDir()
		_, priv, _ := ed25519.GenerateKey(nil)
		kid := writeKeyFile(t, dir, priv, time.Now().Add(-time.Hour), 0o600)
		legacy, err := NewKeyring(priv)
		if err != nil {
			t.Fatal(err)
		}
		printed := legacy.Sign(9, 1)

		bad := t.TempDir()
		_, p2, _ := ed25519.GenerateKey(nil)
		writeKeyFile(t, bad, p2, time.Now(), 0o644)
		if _, err := Open(ctx, db, v, bad); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("world-readable key file: %v, want a refusal", err)
		}
		renamed := t.TempDir()
		k3 := writeKeyFile(t, renamed, p2, time.Now(), 0o600)
		os.Rename(filepath.Join(renamed, "keys", k3+".key"), filepath.Join(renamed, "keys", "0000.key"))
		if _, err := Open(ctx, db, v, renamed); err == nil {
			t.Error("mismatched key id accepted")
		}

		kr, err := Open(ctx, db, v, dir)
		if err != nil {
			t.Fatal(err)
		}
		if keys := kr.Keys(); len(keys) != 1 || keys[0].ID != kid || !keys[0].Signing {
			t.Fatalf("imported keys %+v, want %s signing", keys, kid)
		}
		other, err := Open(ctx, db, v, t.TempDir()) // a second server, no files
		if err != nil {
			t.Fatal(err)
		}
		if c, err := other.Verify(printed); err != nil || c.VenueID != 9 {
			t.Fatalf("printed poster on another server: %+v, %v", c, err)
		}
		if _, err := kr.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := kr.Retire(ctx, kid); err != nil {
			t.Fatal(err)
		}
		again, err := Open(ctx, db, v, dir) // the old file is still there
		if err != nil {
			t.Fatal(err)
		}
		_, err = again.Verify(printed)
		refused(t, err, ErrRetiredKey)
	})
}

func TestCacheBounded(t *testing.T) {
	kr := mustRing(t)
	kr.SetCacheSize(64)
	for v := range int64(1000) {
		tok := kr.Sign(v, 1)
		if c, err := kr.Verify(tok); err != nil || c.VenueID != v {
			t.Fatalf("venue %d: %+v, %v", v, c, err)
		}
		if n := len(kr.cache.m); n > 64 {
			t.Fatalf("cache holds %d tokens, cap 64", n)
		}
	}
	kr.SetCacheSize(0)
	tok := kr.Sign(1, 1)
	if _, err := kr.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if n := len(kr.cache.m); n != 0 {
		t.Errorf("disabled cache holds %d tokens", n)
	}
}

// TestConcurrent is meant for -race: verification, rotation and retirement
// at once, and no retired token may be accepted once Retire has returned.
func TestConcurrent(t *testing.T) {
	kr := mustRing(t)
	kr.SetCacheSize(16)
	old := kr.Keys()[0].ID
	toks := make([]string, 32)
	for i := range toks {
		toks[i] = kr.Sign(int64(i), 1)
	}
	if _, err := kr.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				kr.Verify(toks[i%len(toks)])
				kr.Verify(kr.Sign(int64(i), 2))
			}
		})
	}
	if err := kr.Retire(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if _, err := kr.Verify(tok); !errors.Is(err, ErrRetiredKey) {
			t.Errorf("token of a retired key: %v", err)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkVerify(b *testing.B) {
	kr := mustRing(b)
	tok := kr.Sign(12345, 1)
	b.Run("cached", func(b *testing.B) {
		if _, err := kr.Verify(tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kr.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := kr.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kr.verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	kr := mustRing(b)
	b.ReportAllocs()
	for b.Loop() {
		kr.Sign(12345, 1)
	}
}
