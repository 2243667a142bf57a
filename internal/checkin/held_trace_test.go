package checkin_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/token"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// TestHeldOutOfTracing: a held scan is not a contact until an officer
// releases it; then tracing finds it like any other.
func TestHeldOutOfTracing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		v, _ := vault.New(bytes.Repeat([]byte{5}, 32))
		keys, _ := token.NewKeyring()
		vs := &venue.Service{DB: db, Vault: v, Signer: keys}
		admin := &auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}
		market, err := vs.Create(ctx, admin, venue.Venue{Name: "Chợ Bến Lức", Category: "market", CommuneCode: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		hanoi, err := vs.Create(ctx, &auth.Principal{Role: auth.ProvinceAdmin, Unit: "01"}, venue.Venue{Name: "Chợ Hàng Da", Category: "market", CommuneCode: "00004"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := checkin.NewService(ctx, db, people.NewService(db, v), v, keys, 21*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		now := time.Now().UTC().Add(-time.Hour)
		s.Now = func() time.Time { return now }
		scan := func(id string, venueID int64, p *people.Person, tok string) checkin.Result {
			t.Helper()
			r, err := s.Ingest(ctx, checkin.Request{ID: id, Token: keys.Sign(venueID, 1), Direction: checkin.In, Person: p, PersonToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		scan("trace000-f0", market.ID, &people.Person{Name: "Ca bệnh", Phone: "0911000001", BirthYear: 1980, Commune: "27991"}, "")
		// The victim's phone checked in at Hà Nội; five minutes later a
		// forged scan puts it at the F0's market: held.
		victim := scan("trace000-v1", hanoi.ID, &people.Person{Name: "Nạn nhân", Phone: "0911000002", BirthYear: 1985, Commune: "00004"}, "")
		now = now.Add(5 * time.Minute)
		scan("trace000-v2", market.ID, nil, victim.PersonToken)
		s.Close() // readers see every acknowledged scan
		f0ID, victimID := personOf(t, db, "trace000-f0"), personOf(t, db, "trace000-v1")
		engine := tracing.NewEngine(db, tracing.DefaultRules())
		w := tracing.Window{From: now.Add(-2 * time.Hour), To: now.Add(2 * time.Hour)}
		met := func() bool {
			cs, err := engine.Contacts(ctx, f0ID, w)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.PersonID == victimID {
					return true
				}
			}
			return false
		}
		if met() {
			t.Fatal("held scan traced")
		}
		officer := &auth.Principal{UserID: 1, Role: auth.CommuneOfficer, Unit: "27991"}
		list, err := s.Held(ctx, officer, checkin.HeldFilter{}, "test")
		if err != nil || len(list) != 1 {
			t.Fatalf("held: %+v %v", list, err)
		}
		if err := s.Release(ctx, officer, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if !met() {
			t.Fatal("released scan not traced")
		}
	})
}

func personOf(t *testing.T, db *sqldb.DB, visitID string) int64 {
	t.Helper()
	var id int64
	if err := db.R.QueryRow("SELECT person_id FROM visits WHERE id = $1", visitID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
