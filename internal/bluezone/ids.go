// Package bluezone understands the Bluezone app's rolling Bluetooth IDs well
// enough for the server to trace contacts: it re-derives, from a phone's base
// key, the IDs that phone broadcast on any day, so that a contact log uploaded
// by an F0 can be resolved to registered phones.
//
// The derivation must match the public Android client bit for bit; a mismatch
// silently finds no contacts, so the functions here are pure and tested against
// vectors computed outside Go from the written spec (bluezone.md).
package bluezone

import (
	"crypto/sha256"
	"fmt"
	"time"

	"anticovid/internal/errs"
)

// Sizes and periods fixed by the client; changing any of them breaks matching
// with every phone in the field.
const (
	// SlotsPerDay is how many IDs a phone broadcasts in one Vietnamese day.
	SlotsPerDay = 144
	// SlotDuration is how long one ID is broadcast before the phone rotates it.
	SlotDuration = 10 * time.Minute
	// IDLen is the length of a broadcast ID: short enough for a BLE advertisement.
	IDLen = 12
	// KeyLen is the length of base and daily keys (a SHA-256 digest).
	KeyLen = 32
	// MaxChainDays bounds how far DailyKeyFor walks the chain (about 27 years);
	// any real phone is far younger, so a larger gap means a corrupt date.
	MaxChainDays = 10000
)

// Zone is Asia/Ho_Chi_Minh as a fixed +07:00 offset. Vietnam has had no DST
// since 1975, and a fixed zone keeps day boundaries right on machines without
// tzdata (CGO_ENABLED=0 builds in scratch containers).
var Zone = time.FixedZone("ICT", 7*3600)

// subKeySalt is appended to a daily key to seed the day's sub-key chain. The
// spelling ("bluzone", no "e") is the client's and must not be corrected.
const subKeySalt = "bluzonesubkey"

// idOffsets are the bytes of a 32-byte sub-key that form a slot's ID, in order.
var idOffsets = [IDLen]int{0, 4, 8, 12, 16, 18, 20, 22, 24, 26, 28, 30}

// NextDailyKey steps a daily key one day forward. Because the step is a hash,
// a published daily key lets phones derive that day and later ones but never
// an earlier day, which limits what an F0's disclosure reveals.
func NextDailyKey(d [32]byte) [32]byte {
	return sha256.Sum256(d[:])
}

// DailyKey returns the key n days after base (n = 0 gives base itself). It
// panics when n is negative: the chain cannot run backwards, and a negative
// step is a caller's date arithmetic bug, not bad input. Use DailyKeyFor to
// go from dates, which reports such cases as errors.
func DailyKey(base [32]byte, n int) [32]byte {
	if n < 0 {
		panic(fmt.Sprintf("bluezone.DailyKey: negative step %d", n))
	}
	d := base
	for range n {
		d = sha256.Sum256(d[:])
	}
	return d
}

// DayIDs returns the 144 IDs a phone broadcasts on the day of daily key d,
// slot 0 first. Building a day's index costs exactly these 145 hashes per
// phone, which is why the server computes them once per day, not per query.
func DayIDs(daily [32]byte) [SlotsPerDay][IDLen]byte {
	var ids [SlotsPerDay][IDLen]byte
	dayIDsTo(daily, SlotsPerDay-1, &ids)
	return ids
}

// dayIDsTo fills ids[0..last] with the IDs of the day of daily key d: a
// check of sightings up to slot last needs no more hashes than that.
func dayIDsTo(daily [32]byte, last int, ids *[SlotsPerDay][IDLen]byte) {
	var seed [KeyLen + len(subKeySalt)]byte
	copy(seed[:], daily[:])
	copy(seed[KeyLen:], subKeySalt)
	s := sha256.Sum256(seed[:])
	for k := range last + 1 {
		ids[k] = idOf(s)
		if k < last {
			s = sha256.Sum256(s[:])
		}
	}
}

// SlotID returns the ID of one slot of a day without keeping the others, for
// callers that check a single sighting.
func SlotID(daily [32]byte, slot int) ([IDLen]byte, error) {
	if slot < 0 || slot >= SlotsPerDay {
		return [IDLen]byte{}, fmt.Errorf("bluezone slot id: slot %d outside 0..%d: %w", slot, SlotsPerDay-1, errs.ErrInvalid)
	}
	var seed [KeyLen + len(subKeySalt)]byte
	copy(seed[:], daily[:])
	copy(seed[KeyLen:], subKeySalt)
	s := sha256.Sum256(seed[:])
	for range slot {
		s = sha256.Sum256(s[:])
	}
	return idOf(s), nil
}

func idOf(s [32]byte) [IDLen]byte {
	var id [IDLen]byte
	for i, o := range idOffsets {
		id[i] = s[o]
	}
	return id
}

// DayStart returns midnight in Vietnam of the day that contains t, in Zone.
// Days are Vietnamese because the client rotates its daily key at local
// midnight, not at UTC midnight (which is 07:00 in Vietnam).
func DayStart(t time.Time) time.Time {
	return time.Unix(DayNumber(t)*86400-7*3600, 0).In(Zone)
}

// DayNumber counts Vietnamese days since 1970-01-01 (+07:00). The difference of
// two day numbers is the number of daily-key steps between them; plain
// integers keep that arithmetic free of time-zone and DST surprises.
func DayNumber(t time.Time) int64 {
	s := t.Unix() + 7*3600
	d := s / 86400
	if s%86400 < 0 { // floor for instants before 1970
		d--
	}
	return d
}

// SlotOf returns the Vietnamese day (its midnight, in Zone) and the slot
// 0..143 that contain t, which is where a sighting at t must be looked up.
func SlotOf(t time.Time) (day time.Time, slot int) {
	day = DayStart(t)
	return day, int(t.Sub(day) / SlotDuration)
}

// SlotStart returns when slot k of day begins, for showing the evidence of a
// contact as a time range. day may be any instant of the day.
func SlotStart(day time.Time, slot int) time.Time {
	return DayStart(day).Add(time.Duration(slot) * SlotDuration)
}

// DailyKeyFor returns the daily key for the Vietnamese day containing day,
// given a phone's base key and the day it was made (any instant of it). A day
// before the base day has no key (the chain only runs forward), and is reported
// as invalid input; so is a day more than MaxChainDays after it, which can only
// come from a corrupt date and would otherwise cost millions of hashes.
func DailyKeyFor(base [32]byte, baseDay, day time.Time) ([32]byte, error) {
	n := DayNumber(day) - DayNumber(baseDay)
	if n < 0 {
		return [32]byte{}, fmt.Errorf("bluezone daily key: day %s is before the base day %s: %w",
			DayStart(day).Format(time.DateOnly), DayStart(baseDay).Format(time.DateOnly), errs.ErrInvalid)
	}
	if n > MaxChainDays {
		return [32]byte{}, fmt.Errorf("bluezone daily key: day %s is %d days after the base day, more than %d: %w",
			DayStart(day).Format(time.DateOnly), n, MaxChainDays, errs.ErrInvalid)
	}
	return DailyKey(base, int(n)), nil
}

// IDAt returns the ID a phone with this base key broadcast at instant t, the
// single lookup a tracing job needs to confirm one sighting.
func IDAt(base [32]byte, baseDay, t time.Time) ([IDLen]byte, error) {
	d, err := DailyKeyFor(base, baseDay, t)
	if err != nil {
		return [IDLen]byte{}, err
	}
	_, slot := SlotOf(t)
	return SlotID(d, slot)
}
