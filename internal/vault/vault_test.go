package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenHash(t *testing.T) {
	v, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, b := v.Seal("0912345678"), v.Seal("0912345678")
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	if bytes.Contains(a, []byte("0912345678")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	if got, err := v.Open(a); err != nil || got != "0912345678" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	a[len(a)-1] ^= 1
	if _, err := v.Open(a); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	if x1, x2 := v.Hash("x"), v.Hash("x"); x1 != x2 || x1 == v.Hash("y") || v.Hash("") != "" {
		t.Fatal("hash not deterministic or not distinct")
	}
	w, _ := New(bytes.Repeat([]byte{8}, 32))
	if w.Hash("x") == v.Hash("x") {
		t.Fatal("hash does not depend on the key")
	}
}

func TestLoadGeneratesKeyFile(t *testing.T) {
	dir := t.TempDir()
	v1, err := Load("", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "data.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	v2, err := Load("", "", dir)
	if err != nil || v2.Hash("a") != v1.Hash("a") {
		t.Fatalf("reloaded key differs: %v", err)
	}
	if _, err := Load("abc", "", dir); err == nil || !strings.Contains(err.Error(), "64 hex") {
		t.Fatalf("bad hex key accepted: %v", err)
	}
}

// A rotation's vault seals with the new key, naming it, and opens with
// either; values without a key id (nonce first, as earlier releases and a
// vault that is not rotating seal) still open; Current tells the re-seal
// job what to leave alone.
func TestRotationFormat(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, _ := New(oldKey)
	pair, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	alone, _ := New(newKey)
	legacy := legacySeal(t, oldKey, "0912345678")
	for name, tc := range map[string]struct {
		sealed          []byte
		pairOK, aloneOK bool
		current         bool
	}{
		"legacy, old key":  {legacy, true, false, false},
		"named, old key":   {old.Seal("0912345678"), true, false, false},
		"named, new key":   {pair.Seal("0912345678"), true, true, true},
		"legacy, new key":  {legacySeal(t, newKey, "0912345678"), true, true, false},
		"sealed by itself": {alone.Seal("0912345678"), true, true, false}, // no rotation: the layout of earlier releases
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := pair.Open(tc.sealed); (err == nil) != tc.pairOK || (err == nil && got != "0912345678") {
				t.Errorf("pair: %q %v", got, err)
			}
			if got, err := alone.Open(tc.sealed); (err == nil) != tc.aloneOK || (err == nil && got != "0912345678") {
				t.Errorf("new key alone: %q %v", got, err)
			}
			if pair.Current(tc.sealed) != tc.current {
				t.Errorf("Current = %v, want %v", !tc.current, tc.current)
			}
		})
	}
	if _, err := New(newKey, newKey); err == nil {
		t.Error("the same key as old and new accepted")
	}
	if !pair.Rotating() || alone.Rotating() || pair.KeyID() != alone.KeyID() || pair.KeyID() == old.KeyID() {
		t.Error("Rotating or KeyID wrong")
	}
}

// legacySeal seals the way Seal did before key ids: nonce, ciphertext.
func legacySeal(t *testing.T, key []byte, s string) []byte {
	t.Helper()
	block, _ := aes.NewCipher(derive(key, "anticovid/encrypt/v1"))
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(s), nil)
}

// Without a rotation a value is sealed in the layout earlier releases read:
// nonce first, no key id.
func TestSealLayoutWithoutRotation(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	v, _ := New(key)
	sealed := v.Seal("0912345678")
	block, _ := aes.NewCipher(derive(key, "anticovid/encrypt/v1"))
	aead, _ := cipher.NewGCM(block)
	n := aead.NonceSize()
	if pt, err := aead.Open(nil, sealed[:n], sealed[n:], nil); err != nil || string(pt) != "0912345678" {
		t.Fatalf("an earlier release's Open: %q %v", pt, err)
	}
}
