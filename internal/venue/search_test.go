package venue

import (
	"context"
	"testing"

	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestFillSearch: venues stored before search existed are found once the
// server has filled their keys, by words and by phone.
func TestFillSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		ctx := context.Background()
		admin := &auth.Principal{Role: auth.ProvinceAdmin, Unit: "80"}
		v, err := s.Create(ctx, admin, Venue{Name: "Chợ Bến Lức", Category: "market", CommuneCode: "27991", Address: "Quốc lộ 1A", ContactPhone: "0912345678"})
		if err != nil {
			t.Fatal(err)
		}
		// As an older release stored it: no key, no phone hash, no words.
		db.W.Exec("UPDATE venues SET search_key = '', contact_phone_hash = '' WHERE id = $1", v.ID)
		db.W.Exec("DELETE FROM venue_words WHERE venue_id = $1", v.ID)
		for _, q := range []string{"cho ben", "0912 345 678"} {
			if n, _ := s.Count(ctx, admin, Filter{Q: q}); n != 0 {
				t.Fatalf("%q found before the fill", q)
			}
		}
		if n, err := s.FillSearch(ctx); err != nil || n != 1 {
			t.Fatalf("filled %d: %v", n, err)
		}
		for _, q := range []string{"cho ben", "QUOC LO 1a", "0912 345 678"} {
			if n, _ := s.Count(ctx, admin, Filter{Q: q}); n != 1 {
				t.Errorf("%q: %d found after the fill", q, n)
			}
		}
		if n, err := s.FillSearch(ctx); err != nil || n != 0 {
			t.Fatalf("second fill: %d %v", n, err)
		}
	})
}
