package vault

import (
	"bytes"
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
	v1, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "data.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	v2, err := Load("", dir)
	if err != nil || v2.Hash("a") != v1.Hash("a") {
		t.Fatalf("reloaded key differs: %v", err)
	}
	if _, err := Load("abc", dir); err == nil || !strings.Contains(err.Error(), "64 hex") {
		t.Fatalf("bad hex key accepted: %v", err)
	}
}
