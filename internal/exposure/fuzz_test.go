package exposure

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"anticovid/internal/errs"
)

// FuzzValidateUpload reads a publish body's keys from arbitrary bytes (one
// key per 28 bytes: 16 of key data, then rolling start, period and risk as
// int32) and applies the upload rules. An upload is refused with an
// *errs.Invalid, or every key obeys every rule and the accepted and held-back
// keys are the upload, in order, split at the current interval.
func FuzzValidateUpload(f *testing.F) {
	now := time.Date(2021, 8, 1, 12, 0, 0, 0, time.UTC)
	cur := ENIntervalNumber(now)
	key := func(seed byte, start, period, risk int32) []byte {
		b := make([]byte, TEKLen, 28)
		for i := range b {
			b[i] = seed + byte(i)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(start))
		b = binary.BigEndian.AppendUint32(b, uint32(period))
		return binary.BigEndian.AppendUint32(b, uint32(risk))
	}
	day := int32(cur) / 144 * 144
	f.Add(key(1, day-144, 144, 2), 0)
	f.Add(append(key(1, day-144, 144, 2), key(2, day, 144, 2)...), 0)
	f.Add(append(key(1, day-144, 144, 2), key(1, day-288, 144, 2)...), 0)
	f.Add(key(3, day+144, 144, 9), 0)
	f.Add(key(4, day-20*144, 0, -1), 3)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, raw []byte, short int) {
		var keys []Key
		for len(raw) >= 28 {
			k := Key{Data: raw[:TEKLen], RollingStart: int32(binary.BigEndian.Uint32(raw[16:])),
				RollingPeriod: int32(binary.BigEndian.Uint32(raw[20:])), TransmissionRisk: int32(binary.BigEndian.Uint32(raw[24:]))}
			if short > 0 && len(keys) == 0 { // a key of the wrong length
				k.Data = k.Data[:short%TEKLen]
			}
			keys = append(keys, k)
			raw = raw[28:]
		}
		accepted, held, err := ValidateUpload(keys, now)
		if err != nil {
			var inv *errs.Invalid
			if !errors.As(err, &inv) || len(inv.Fields) == 0 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(keys) == 0 || len(keys) > MaxUploadKeys {
			t.Fatalf("%d keys accepted", len(keys))
		}
		oldest := int64(ENIntervalNumber(now.Add(-MaxKeyAge)))
		seen := map[string]bool{}
		for _, k := range keys {
			end := int64(k.RollingStart) + int64(k.RollingPeriod)
			if len(k.Data) != TEKLen || seen[string(k.Data)] || k.RollingPeriod < 1 || k.RollingPeriod > MaxRollingPeriod ||
				k.TransmissionRisk < 0 || k.TransmissionRisk > MaxTransmitRisk || int64(k.RollingStart) > int64(cur) || end <= oldest {
				t.Fatalf("key accepted against the rules: %+v", k)
			}
			seen[string(k.Data)] = true
			if (end > int64(cur)) != slices.ContainsFunc(held, func(h Key) bool { return string(h.Data) == string(k.Data) }) {
				t.Fatalf("key %+v held back wrongly (now %d)", k, cur)
			}
		}
		if len(accepted)+len(held) != len(keys) {
			t.Fatalf("%d accepted + %d held of %d", len(accepted), len(held), len(keys))
		}
	})
}
