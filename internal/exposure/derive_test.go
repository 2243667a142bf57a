package exposure

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// Golden vectors for TEK 75c734c6dd1a782de7a965da5eb93125 at interval 2642976
// (2020-04-02 00:00 UTC) with metadata 40 08 00 00, computed outside Go with
// Python's "cryptography" package (HKDF, AES-ECB, AES-CTR) from the spec text.
const (
	vecTEK      = "75c734c6dd1a782de7a965da5eb93125"
	vecInterval = 2642976
	vecMetadata = "40080000"
	vecRPIK     = "185ad91db69ec7dd048960f1f3ba6175"
	vecAEMK     = "d57c46af7a1d83965b9bed8bd152936a"
	vecRPI      = "8be6cd371c5c891604bfbe49df845096"
	vecAEM      = "72033874"
	vecRPI143   = "f431b62ecf443102ce4ed0407de54bd4" // interval 2642976+143
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handHKDF16 is RFC 5869 written out: extract with an all-zero salt of hash
// length, then one expand block T(1) = HMAC(PRK, info ‖ 0x01), truncated.
func handHKDF16(ikm []byte, info string) []byte {
	extract := hmac.New(sha256.New, make([]byte, sha256.Size))
	extract.Write(ikm)
	prk := extract.Sum(nil)
	expand := hmac.New(sha256.New, prk)
	expand.Write([]byte(info))
	expand.Write([]byte{0x01})
	return expand.Sum(nil)[:16]
}

// handRPI encrypts the padded data block built byte by byte.
func handRPI(t *testing.T, rpik []byte, j uint32) []byte {
	t.Helper()
	padded := []byte{'E', 'N', '-', 'R', 'P', 'I', 0, 0, 0, 0, 0, 0,
		byte(j), byte(j >> 8), byte(j >> 16), byte(j >> 24)}
	block, err := aes.NewCipher(rpik)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	block.Encrypt(out, padded)
	return out
}

func TestENIntervalNumber(t *testing.T) {
	tests := []struct {
		t    time.Time
		want uint32
	}{
		{time.Date(2020, 4, 2, 0, 0, 0, 0, time.UTC), vecInterval},
		{time.Date(2020, 4, 1, 23, 59, 59, 999999999, time.UTC), vecInterval - 1},
		{time.Date(2020, 4, 2, 0, 9, 59, 0, time.UTC), vecInterval},
		{time.Date(2020, 4, 2, 0, 10, 0, 0, time.UTC), vecInterval + 1},
		{time.Date(2020, 4, 2, 7, 0, 0, 0, time.FixedZone("ICT", 7*3600)), vecInterval}, // same instant
		{time.Unix(0, 0), 0},
	}
	for _, tt := range tests {
		if got := ENIntervalNumber(tt.t); got != tt.want {
			t.Errorf("ENIntervalNumber(%s) = %d, want %d", tt.t, got, tt.want)
		}
	}
	if got := IntervalTime(vecInterval); !got.Equal(time.Date(2020, 4, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("IntervalTime(%d) = %s", vecInterval, got)
	}
}

func TestDerivationVectors(t *testing.T) {
	tek := [16]byte(mustHex(t, vecTEK))

	rpik := RPIK(tek)
	if got := hex.EncodeToString(rpik[:]); got != vecRPIK {
		t.Errorf("RPIK = %s, want %s", got, vecRPIK)
	}
	if hand := handHKDF16(tek[:], "EN-RPIK"); !bytes.Equal(hand, rpik[:]) {
		t.Errorf("RPIK = %x, hand HKDF %x", rpik, hand)
	}

	aemk := AEMK(tek)
	if got := hex.EncodeToString(aemk[:]); got != vecAEMK {
		t.Errorf("AEMK = %s, want %s", got, vecAEMK)
	}
	if hand := handHKDF16(tek[:], "EN-AEMK"); !bytes.Equal(hand, aemk[:]) {
		t.Errorf("AEMK = %x, hand HKDF %x", aemk, hand)
	}

	rpi := RPI(rpik, vecInterval)
	if got := hex.EncodeToString(rpi[:]); got != vecRPI {
		t.Errorf("RPI = %s, want %s", got, vecRPI)
	}
	last := RPI(rpik, vecInterval+143)
	if got := hex.EncodeToString(last[:]); got != vecRPI143 {
		t.Errorf("RPI(+143) = %s, want %s", got, vecRPI143)
	}
	for j := uint32(vecInterval); j < vecInterval+144; j++ {
		got := RPI(rpik, j)
		if hand := handRPI(t, rpik[:], j); !bytes.Equal(hand, got[:]) {
			t.Fatalf("RPI(%d) = %x, hand AES %x", j, got, hand)
		}
	}

	md := [4]byte(mustHex(t, vecMetadata))
	aem := AEM(aemk, rpi, md)
	if got := hex.EncodeToString(aem[:]); got != vecAEM {
		t.Errorf("AEM = %s, want %s", got, vecAEM)
	}
	// CTR by hand: the first keystream block is AES_AEMK(RPI).
	block, err := aes.NewCipher(aemk[:])
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]byte, 16)
	block.Encrypt(ks, rpi[:])
	for i := range 4 {
		if aem[i] != md[i]^ks[i] {
			t.Fatalf("AEM byte %d = %02x, hand CTR %02x", i, aem[i], md[i]^ks[i])
		}
	}
	// A receiver decrypts with the same CTR.
	plain := make([]byte, 4)
	cipher.NewCTR(block, rpi[:]).XORKeyStream(plain, aem[:])
	if !bytes.Equal(plain, md[:]) {
		t.Errorf("AEM decrypts to %x, want %x", plain, md)
	}
	if back := AEM(aemk, rpi, aem); back != md {
		t.Errorf("AEM(AEM(m)) = %x, want %x", back, md)
	}
}

func BenchmarkRPIDay(b *testing.B) {
	var tek [16]byte
	for b.Loop() {
		rpik := RPIK(tek)
		for j := uint32(0); j < 144; j++ {
			rpi := RPI(rpik, vecInterval+j)
			tek[0] ^= rpi[0]
		}
	}
}
