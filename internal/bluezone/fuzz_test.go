package bluezone

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"anticovid/internal/errs"
)

// FuzzDecodeLog feeds arbitrary upload bodies to DecodeLog. A body is
// refused with an *errs.Invalid, or its code and rows, written back as the
// wire form, decode again to the same code and rows (nothing is invented or
// dropped), and never more than MaxLogRows rows are kept.
func FuzzDecodeLog(f *testing.F) {
	id := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, IDLen)) }
	for _, s := range []string{
		`{"code":"123456","rows":[{"own_id":"` + id(1) + `","contact_id":"` + id(2) + `","rssi":-60,"t":1627000000}]}`,
		`{"rows":[],"code":""}`, `{"code":"1","extra":{"a":[1,2]},"rows":[{}]}`,
		`{"rows":[{"own_id":"zz","contact_id":"` + id(3) + `","rssi":"x","t":1}]}`,
		`{"code":1}`, `[]`, `{`, `{"rows":[`, `null`, ``, `{"code":"\u0000"}{}`,
		`{"rows":[{"own_id":"` + id(4) + `","contact_id":"` + id(5) + `","rssi":-200,"t":-1}],"rows":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, rows, err := DecodeLog(bytes.NewReader(body))
		if err != nil {
			var inv *errs.Invalid
			if !errors.As(err, &inv) || len(inv.Fields) == 0 {
				t.Fatalf("DecodeLog(%q): untyped error %v", body, err)
			}
			return
		}
		if len(rows) > MaxLogRows {
			t.Fatalf("DecodeLog kept %d rows", len(rows))
		}
		wire := struct {
			Code string       `json:"code"`
			Rows []LogRowJSON `json:"rows"`
		}{Code: code, Rows: []LogRowJSON{}}
		for _, r := range rows {
			rssi, at := r.RSSI, r.At
			wire.Rows = append(wire.Rows, LogRowJSON{OwnID: hex.EncodeToString(r.OwnID[:]), ContactID: hex.EncodeToString(r.ContactID[:]), RSSI: &rssi, T: &at})
		}
		b, err := json.Marshal(wire)
		if err != nil {
			t.Fatal(err)
		}
		code2, rows2, err := DecodeLog(bytes.NewReader(b))
		if err != nil || code2 != code || len(rows2) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(rows2, rows)) {
			t.Fatalf("DecodeLog(%q) = %q, %d rows; written back as %s: %q, %d rows, %v", body, code, len(rows), b, code2, len(rows2), err)
		}
	})
}
