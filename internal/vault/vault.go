// Package vault encrypts personal data at rest (AES-256-GCM) and makes keyed
// hashes of it (HMAC-SHA-256) so records can be looked up without decrypting.
//
// A vault holds one current data key, which seals, and during a rotation the
// previous one, which still opens what it sealed (rotate.go re-seals those
// values through their owners). During a rotation a sealed value names its
// key: a version byte and a 4-byte key id before the nonce, so the re-seal
// job tells new values from old without decrypting. Otherwise values keep
// the layout of releases before rotation (nonce first), which a server of
// the previous release, still running during a rolling upgrade, opens;
// Open reads both layouts with every key it holds.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Vault holds the data keys. The encryption and look-up keys are derived
// separately, so a leaked hash never helps an attacker decrypt. The look-up
// and tag keys outlive a rotation of the data key (check.go keeps them in
// the database, sealed), so hashes and tags stay valid without re-hashing.
type Vault struct {
	keys    []dataKey // keys[0] seals; the others only open
	hashKey []byte
	tagKey  []byte
}

// dataKey is one data key's cipher and its id in sealed values.
type dataKey struct {
	id   [4]byte
	aead cipher.AEAD
	// hashKey and tagKey are this key's look-up and tag keys, used when
	// it is the deployment's first key (CheckDB).
	hashKey, tagKey []byte
}

// sealVersion starts a sealed value that names its key. A legacy value
// starts with its random nonce, so 1 in 256 of them starts with this byte
// too: Open then still falls back to the legacy layout.
const sealVersion = 0xA2

// header is the version byte and the key id.
const header = 5

// New makes a vault from a 32-byte key and, during a rotation, the older
// keys it replaces.
func New(key []byte, old ...[]byte) (*Vault, error) {
	v := &Vault{}
	for _, k := range append([][]byte{key}, old...) {
		if len(k) != 32 {
			return nil, fmt.Errorf("vault: key must be 32 bytes, got %d", len(k))
		}
		block, err := aes.NewCipher(derive(k, "anticovid/encrypt/v1"))
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		dk := dataKey{aead: aead, hashKey: derive(k, "anticovid/lookup/v1"), tagKey: derive(k, "anticovid/tag/v1")}
		copy(dk.id[:], derive(k, "anticovid/key-id/v1"))
		v.keys = append(v.keys, dk)
	}
	v.hashKey, v.tagKey = v.keys[0].hashKey, v.keys[0].tagKey
	if len(v.keys) == 2 && v.keys[0].id == v.keys[1].id {
		return nil, errors.New("vault: the old data key is the new one")
	}
	return v, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// KeyFile and OldKeyFile are where a deployment without ANTICOVID_DATA_KEY
// keeps its data key, and the key `anticovid keys rotate` replaced.
const (
	KeyFile    = "data.key"
	OldKeyFile = "data.key.old"
)

// Load returns the vault for a deployment: the key comes from hexKey (64 hex
// characters, from ANTICOVID_DATA_KEY) when set, else from dataDir/data.key,
// which is generated with mode 0600 on first start. The old key of a
// rotation comes from oldHex (ANTICOVID_DATA_KEY_OLD), else from
// dataDir/data.key.old when that file exists.
func Load(hexKey, oldHex, dataDir string) (*Vault, error) {
	key, err := loadKey(hexKey, "ANTICOVID_DATA_KEY", dataDir, true)
	if err != nil {
		return nil, err
	}
	old, err := loadKey(oldHex, "ANTICOVID_DATA_KEY_OLD", dataDir, false)
	if err != nil {
		return nil, err
	}
	if old == nil {
		return New(key)
	}
	return New(key, old)
}

// loadKey reads one key from its variable's value or its file; the current
// key's file is made when missing (create), the old key's is optional.
func loadKey(hexKey, variable, dataDir string, create bool) ([]byte, error) {
	parse := func(s, from string) ([]byte, error) {
		key, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("vault: %s must be 64 hex characters (32 bytes)", from)
		}
		return key, nil
	}
	if hexKey != "" {
		return parse(hexKey, variable)
	}
	name := OldKeyFile
	if create {
		name = KeyFile
	}
	if dataDir == "" {
		return nil, nil
	}
	path := filepath.Join(dataDir, name)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !create:
		return nil, nil
	case errors.Is(err, os.ErrNotExist):
		key := make([]byte, 32)
		rand.Read(key)
		if err := WriteKeyFile(path, key); err != nil {
			return nil, err
		}
		return key, nil
	case err != nil:
		return nil, fmt.Errorf("vault: read key file: %w", err)
	}
	return parse(string(b), path)
}

// WriteKeyFile writes a new key file, mode 0600; it never overwrites one.
func WriteKeyFile(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("vault: create key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("vault: write key file: %w", err)
	}
	return f.Close()
}

// Seal encrypts plaintext with the current key; the random nonce, and
// during a rotation the header naming the key, are prepended. Empty stays
// empty so optional fields cost nothing.
func (v *Vault) Seal(plaintext string) []byte {
	if plaintext == "" {
		return nil
	}
	k := v.keys[0]
	n := k.aead.NonceSize()
	h := 0
	if v.Rotating() {
		h = header
	}
	out := make([]byte, h+n, h+n+len(plaintext)+k.aead.Overhead())
	if h > 0 {
		out[0] = sealVersion
		copy(out[1:header], k.id[:])
	}
	rand.Read(out[h:])
	return k.aead.Seal(out, out[h:], []byte(plaintext), nil)
}

// Open decrypts what Seal made, with whichever key sealed it.
func (v *Vault) Open(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if k, ok := v.named(sealed); ok {
		n := k.aead.NonceSize()
		if len(sealed) >= header+n {
			if pt, err := k.aead.Open(nil, sealed[header:header+n], sealed[header+n:], nil); err == nil {
				return string(pt), nil
			}
		}
	}
	// The legacy layout: nonce, then ciphertext, under any of the keys.
	for _, k := range v.keys {
		n := k.aead.NonceSize()
		if len(sealed) < n {
			return "", errors.New("vault: ciphertext too short")
		}
		if pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], nil); err == nil {
			return string(pt), nil
		}
	}
	return "", errors.New("vault: decrypt: no data key opens this value")
}

// named returns the key a sealed value names in its header, if it is one of
// the vault's.
func (v *Vault) named(sealed []byte) (dataKey, bool) {
	if len(sealed) < header || sealed[0] != sealVersion {
		return dataKey{}, false
	}
	for _, k := range v.keys {
		if string(k.id[:]) == string(sealed[1:header]) {
			return k, true
		}
	}
	return dataKey{}, false
}

// Current reports whether sealed is empty or names the current key (as
// Seal does during a rotation): the re-seal job leaves it alone, and
// re-seals every value in the older layout, whichever key sealed it.
func (v *Vault) Current(sealed []byte) bool {
	if len(sealed) == 0 {
		return true
	}
	k, ok := v.named(sealed)
	return ok && k.id == v.keys[0].id
}

// KeyID names the current data key (8 hex characters): in logs and in the
// re-seal job's progress, never the key itself.
func (v *Vault) KeyID() string { return hex.EncodeToString(v.keys[0].id[:]) }

// Rotating reports whether the vault holds an old key besides the current one.
func (v *Vault) Rotating() bool { return len(v.keys) > 1 }

// Hash returns the keyed look-up hash of a normalised value (hex, 64 characters).
// Empty stays empty, so a missing value never matches another.
func (v *Vault) Hash(value string) string {
	if value == "" {
		return ""
	}
	m := hmac.New(sha256.New, v.hashKey)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// Tag authenticates msg for a purpose (16 bytes of HMAC-SHA-256): for tokens
// only this server issues and verifies, such as a phone's remembered person.
func (v *Vault) Tag(purpose string, msg []byte) []byte {
	m := hmac.New(sha256.New, v.tagKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(msg)
	return m.Sum(nil)[:16]
}

// CheckTag reports whether tag is Tag(purpose, msg), in constant time.
func (v *Vault) CheckTag(purpose string, msg, tag []byte) bool {
	return hmac.Equal(v.Tag(purpose, msg), tag)
}
