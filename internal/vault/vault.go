// Package vault encrypts personal data at rest (AES-256-GCM) and makes keyed
// hashes of it (HMAC-SHA-256) so records can be looked up without decrypting.
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

// Vault holds the data key. The encryption and look-up keys are derived from it
// separately, so a leaked hash never helps an attacker decrypt.
type Vault struct {
	aead    cipher.AEAD
	hashKey []byte
	tagKey  []byte
}

// New makes a vault from a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("vault: key must be 32 bytes, got %d", len(key))
	}
	encKey := derive(key, "anticovid/encrypt/v1")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{aead: aead, hashKey: derive(key, "anticovid/lookup/v1"), tagKey: derive(key, "anticovid/tag/v1")}, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Load returns the vault for a deployment: the key comes from hexKey (64 hex
// characters, from ANTICOVID_DATA_KEY) when set, else from dataDir/data.key,
// which is generated with mode 0600 on first start.
func Load(hexKey, dataDir string) (*Vault, error) {
	if hexKey != "" {
		key, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if err != nil || len(key) != 32 {
			return nil, errors.New("vault: ANTICOVID_DATA_KEY must be 64 hex characters (32 bytes)")
		}
		return New(key)
	}
	path := filepath.Join(dataDir, "data.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("vault: create key file: %w", err)
		}
		defer f.Close()
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			return nil, fmt.Errorf("vault: write key file: %w", err)
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read key file: %w", err)
	}
	return Load(string(b), "")
}

// Seal encrypts plaintext; the random nonce is prepended. Empty stays empty so
// optional fields cost nothing.
func (v *Vault) Seal(plaintext string) []byte {
	if plaintext == "" {
		return nil
	}
	nonce := make([]byte, v.aead.NonceSize(), v.aead.NonceSize()+len(plaintext)+v.aead.Overhead())
	rand.Read(nonce)
	return v.aead.Seal(nonce, nonce, []byte(plaintext), nil)
}

// Open decrypts what Seal made.
func (v *Vault) Open(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := v.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("vault: ciphertext too short")
	}
	pt, err := v.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("vault: decrypt: %w", err)
	}
	return string(pt), nil
}

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
