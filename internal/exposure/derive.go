// Package exposure is the province's Exposure Notification (Google/Apple)
// key server core: it derives the protocol's identifiers, checks uploaded
// Temporary Exposure Keys against the rules key servers enforce, and writes
// and reads the signed export files that phones download.
//
// Phones trust nothing but the bytes: an identifier derived differently, a
// protobuf field with the wrong number or a signature over the wrong bytes
// makes every key silently useless. So everything here follows the
// cryptography specification v1.2 and the export format literally, and is
// tested against vectors computed outside this package.
package exposure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Protocol constants from the cryptography specification.
const (
	// TEKLen is the length of a Temporary Exposure Key and of RPIK/AEMK/RPI.
	TEKLen = 16
	// MaxRollingPeriod is a TEK's longest validity, in 10-minute intervals (a day).
	MaxRollingPeriod = 144
	// IntervalDuration is the unit of ENIntervalNumber.
	IntervalDuration = 10 * time.Minute
)

// ENIntervalNumber numbers the 10-minute interval containing t since the Unix
// epoch; TEK validity and RPI rotation are both counted in it.
func ENIntervalNumber(t time.Time) uint32 {
	return uint32(t.Unix() / 600)
}

// IntervalTime returns when interval j begins, to show a key's validity as times.
func IntervalTime(j uint32) time.Time {
	return time.Unix(int64(j)*600, 0).UTC()
}

// RPIK derives the Rolling Proximity Identifier Key of a TEK, the AES key
// under which the phone's broadcast identifiers are made.
func RPIK(tek [16]byte) [16]byte {
	return hkdf16(tek, "EN-RPIK")
}

// AEMK derives the Associated Encrypted Metadata Key of a TEK, which hides the
// transmit power a receiver needs to estimate distance.
func AEMK(tek [16]byte) [16]byte {
	return hkdf16(tek, "EN-AEMK")
}

func hkdf16(tek [16]byte, info string) [16]byte {
	// salt = nil means HashLen zero bytes (RFC 5869 §2.2), as the spec asks.
	k, err := hkdf.Key(sha256.New, tek[:], nil, info, 16)
	if err != nil {
		// Only reachable for lengths beyond 255*32 bytes; 16 is constant.
		panic("exposure: hkdf: " + err.Error())
	}
	var out [16]byte
	copy(out[:], k)
	return out
}

// RPI returns the Rolling Proximity Identifier a phone broadcasts during
// interval j: one AES-128 block of "EN-RPI" ‖ 6 zero bytes ‖ j (little-endian)
// under rpik. Matching a published TEK means recomputing these for its intervals.
func RPI(rpik [16]byte, interval uint32) [16]byte {
	var padded [16]byte
	copy(padded[:], "EN-RPI")
	binary.LittleEndian.PutUint32(padded[12:], interval)
	block, err := aes.NewCipher(rpik[:])
	if err != nil {
		panic("exposure: aes: " + err.Error()) // 16-byte key: cannot happen
	}
	var out [16]byte
	block.Encrypt(out[:], padded[:])
	return out
}

// AEM encrypts the 4 metadata bytes (version, transmit power, 2 reserved) with
// AES-128-CTR under aemk, using the RPI as the counter block. CTR is its own
// inverse, so AEM(aemk, rpi, aem) gives the metadata back.
func AEM(aemk, rpi [16]byte, metadata [4]byte) [4]byte {
	block, err := aes.NewCipher(aemk[:])
	if err != nil {
		panic("exposure: aes: " + err.Error())
	}
	var out [4]byte
	cipher.NewCTR(block, rpi[:]).XORKeyStream(out[:], metadata[:])
	return out
}
