package declaration

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// TestNobodyGetsAnotherPersonsQR: a declaration typed with an existing
// person's phone from a device without that person's proof is kept
// unproven, without a QR, whatever else the device holds; only the proven
// device gets the QR.
func TestNobodyGetsAnotherPersonsQR(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		u := users(t, db)
		ctx := context.Background()
		// The victim declares and proves their phone on their own device.
		mine := valid()
		mine.ID = "victim-declaration-0001"
		v0, err := s.Submit(ctx, mine, 0)
		if err != nil {
			t.Fatal(err)
		}
		victim := v0.PersonID
		v1, err := s.Prove(ctx, v0.Pending, victim)
		if err != nil || v1.Token == "" {
			t.Fatalf("victim proves: %+v %v", v1, err)
		}
		// Someone else, proven for their own phone.
		own := valid()
		own.Phone, own.Name, own.IDNumber = "0987000111", "Kẻ Gian", ""
		a0, err := s.Submit(ctx, own, 0)
		if err != nil {
			t.Fatal(err)
		}
		attacker := a0.PersonID
		if a1, err := s.Prove(ctx, a0.Pending, attacker); err != nil || a1.Token == "" {
			t.Fatalf("attacker proves own phone: %+v %v", a1, err)
		}

		forged := valid()
		forged.Name, forged.Symptoms = "Kẻ Gian", []string{"fever"} // the victim's phone, flagged answers
		for _, device := range []int64{0, attacker} {
			r, err := s.Submit(ctx, forged, device)
			if err != nil {
				t.Fatal(err)
			}
			if r.PersonID != victim || r.Token != "" || r.QRURL != "" || r.Proof != Unproven {
				t.Errorf("device %d declared with the victim's phone: %+v", device, r)
			}
			var proof int
			if err := db.R.QueryRow("SELECT proof FROM declarations WHERE id = $1", r.ID).Scan(&proof); err != nil || proof != Unproven {
				t.Errorf("stored proof %d %v", proof, err)
			}
			// Its handle does not prove it for anyone but the victim's device.
			for _, d := range []int64{0, attacker} {
				if _, err := s.Prove(ctx, r.Pending, d); !errors.Is(err, errs.ErrForbidden) {
					t.Errorf("prove the victim's declaration as %d: %v", d, err)
				}
			}
		}
		// A retry of the victim's client id from another phone, even proven.
		stolen := mine
		stolen.Phone = own.Phone
		for _, device := range []int64{0, attacker} {
			if r, err := s.Submit(ctx, stolen, device); !errors.Is(err, errs.ErrConflict) || r.Token != "" {
				t.Errorf("victim's client id from another phone (device %d): %+v %v", device, r, err)
			}
		}
		// Nor with the victim's phone typed on a device without the victim's proof.
		if r, err := s.Submit(ctx, mine, attacker); err != nil || r.Token != "" {
			t.Errorf("victim's client id and phone from the attacker's device: %+v %v", r, err)
		}
		// A forged handle names nothing.
		if _, err := s.Prove(ctx, testenv.Alter(v0.Pending, 10), victim); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("forged handle: %v", err)
		}
		// The health station sees the forged declarations as unverified.
		items, err := s.Worklist(ctx, u["communea"], Filter{}, "kiểm tra")
		if err != nil {
			t.Fatal(err)
		}
		unproven := 0
		for _, it := range items {
			if it.PersonID == victim && it.Answers.Name == "Kẻ Gian" {
				if it.Proof != Unproven {
					t.Errorf("forged declaration shown with proof %d", it.Proof)
				}
				unproven++
			}
		}
		if unproven != 2 {
			t.Errorf("forged declarations on the worklist: %d, want 2", unproven)
		}
		// The victim's own device declares again: proven at once.
		again := valid()
		if r, err := s.Submit(ctx, again, victim); err != nil || r.Proof != PhoneProven || r.Token == "" {
			t.Errorf("victim's proven device: %+v %v", r, err)
		} else if c, err := s.Verify(r.Token); err != nil || c.PersonID != victim || c.Proof != PhoneProven {
			t.Errorf("victim's QR claims %+v %v", c, err)
		}
	})
}

// TestFirstVersionTokenIsUnproven: a personal QR issued before proof grades
// still verifies, but claims no proof, so a staff scan of it proves nothing.
func TestFirstVersionTokenIsUnproven(t *testing.T) {
	s := tokenService(t, 7)
	body := []byte{tokenVersion1}
	for _, v := range []uint64{42, 4242, uint64(now.Add(DefaultTTL).Unix())} {
		body = binary.AppendUvarint(body, v)
	}
	tok := base64.RawURLEncoding.EncodeToString(append(body, s.Vault.Tag(tokenPurpose, body)...))
	c, err := s.Verify(tok)
	if err != nil || c.PersonID != 42 || c.DeclarationID != 4242 || c.Proof != Unproven {
		t.Errorf("version 1 token: %+v %v", c, err)
	}
	if c, err := s.Verify(s.Sign(Claims{PersonID: 42, DeclarationID: 4242, Expires: now.Add(DefaultTTL), Proof: PhoneProven})); err != nil || c.Proof != PhoneProven {
		t.Errorf("version 2 token: %+v %v", c, err)
	}
}
