package token

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"anticovid/internal/errs"
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

	newKid, err := kr.Rotate()
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

	if err := kr.Retire(newKid); !errors.Is(err, errs.ErrConflict) {
		t.Errorf("retiring the signing key: %v, want ErrConflict", err)
	}
	if err := kr.Retire("zzzz"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("retiring an unknown key: %v, want ErrNotFound", err)
	}
	if err := kr.Retire(oldKid); err != nil {
		t.Fatal(err)
	}
	if err := kr.Retire(oldKid); err != nil {
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

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	kr, err := LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := kr.Keys()[0].ID
	tok1 := kr.Sign(1, 1)
	second, err := kr.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	tok2 := kr.Sign(2, 1)
	third, err := kr.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	tok3 := kr.Sign(3, 1)
	if err := kr.Retire(second); err != nil {
		t.Fatal(err)
	}

	kdir := filepath.Join(dir, "keys")
	files, err := os.ReadDir(kdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files in %s, want 3 (no temporary leftovers): %v", len(files), kdir, files)
	}
	if runtime.GOOS != "windows" {
		for _, f := range files {
			st, err := os.Stat(filepath.Join(kdir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if m := st.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: mode %v, want 0600", f.Name(), m)
			}
		}
		st, err := os.Stat(kdir)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o700 {
			t.Errorf("keys directory: mode %v, want 0700", m)
		}
	}
	retiredFile, err := os.ReadFile(filepath.Join(kdir, second+".key"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(retiredFile), "seed") {
		t.Errorf("retired key file still holds its private key:\n%s", retiredFile)
	}

	again, err := LoadKeyring(dir)
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
}

func TestLoadRefusesBadFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	dir := t.TempDir()
	kr, err := LoadKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keys", kr.Keys()[0].ID+".key")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key file: %v, want a refusal", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A key file renamed to another id would make tokens name the wrong key.
	if err := os.Rename(path, filepath.Join(dir, "keys", "0000.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(dir); err == nil {
		t.Error("mismatched key id accepted")
	}
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
	if _, err := kr.Rotate(); err != nil {
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
	if err := kr.Retire(old); err != nil {
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
