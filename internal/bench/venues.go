package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/demo"
	"anticovid/internal/geo"
	"anticovid/internal/store"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// VenuesOptions are the settings of bench venues.
type VenuesOptions struct {
	DB       string // database URL; "": a temporary SQLite file
	Province string
	Venues   int // venues stored, spread over the province's communes
	N        int // searches timed per case
	Seed     uint64
}

// Venues stores o.Venues venues in one province and times what officials
// do with the venue list: a search by words typed without diacritics (a
// province administrator, a district and a commune officer), a search by
// phone, and a category and status filter, each with its count. It prints
// one JSON line with the p50 and p95 of each, in milliseconds.
func Venues(ctx context.Context, o VenuesOptions, stdout io.Writer) error {
	url := o.DB
	if url == "" {
		dir, err := os.MkdirTemp("", "anticovid-bench-venues-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		url = "sqlite:" + filepath.Join(dir, "venues.db")
	}
	db, err := store.OpenMigrated(ctx, url, "")
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		return err
	}
	svc := &venue.Service{DB: db, Vault: v, Province: o.Province}
	communes := geo.Communes(o.Province)
	if len(communes) == 0 {
		return fmt.Errorf("bench venues: province %q has no communes", o.Province)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	start, err := venue.MaxID(ctx, db)
	if err != nil {
		return err
	}
	t := time.Now()
	const per = 40
	for lo := 0; lo < o.Venues; lo += per {
		vs := make([]venue.Venue, 0, per)
		for i := lo; i < min(lo+per, o.Venues); i++ {
			c := communes[rng.IntN(len(communes))]
			vs = append(vs, venue.Venue{ID: start + int64(i) + 1, Category: "restaurant", CommuneCode: c.Code, DistrictCode: c.ParentCode,
				ProvinceCode: o.Province, Status: []string{venue.StatusApproved, venue.StatusApproved, venue.StatusPending}[rng.IntN(3)],
				Name:    fmt.Sprintf("%s %s %d", demo.VenueKinds[rng.IntN(len(demo.VenueKinds))], demo.PlaceNames[rng.IntN(len(demo.PlaceNames))], i),
				Address: fmt.Sprintf("%d %s, %s", 1+rng.IntN(500), demo.Road, c.Name), CreatedAt: time.Now()})
		}
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			b := venue.NewBulk(tx)
			defer b.Close()
			return b.Insert(ctx, vs)
		})
		if err != nil {
			return err
		}
	}
	load := time.Since(t)
	admin := &auth.Principal{Role: auth.ProvinceAdmin, Unit: o.Province}
	for i := range 100 { // venues registered with a phone, found by it
		c := communes[i%len(communes)]
		if _, err := svc.Create(ctx, admin, venue.Venue{Name: fmt.Sprintf("%s %d", demo.VenueKinds[1], i), Category: "restaurant", CommuneCode: c.Code,
			Address: "1 " + demo.Road, ContactPhone: fmt.Sprintf("09120%05d", i)}); err != nil {
			return err
		}
	}
	district := &auth.Principal{Role: auth.DistrictOfficer, Unit: communes[0].ParentCode}
	commune := &auth.Principal{Role: auth.CommuneOfficer, Unit: communes[0].Code}
	out := map[string]any{"bench": "venues", "venues": o.Venues + 100, "load_s": round2(load.Seconds())}
	for _, c := range []struct {
		name string
		p    *auth.Principal
		f    venue.Filter
	}{
		{"words_province", admin, venue.Filter{Q: "cho ben luc", Sort: "name", Limit: 50}},
		{"words_district", district, venue.Filter{Q: "quan com hoa binh", Sort: "name", Limit: 50}},
		{"words_commune", commune, venue.Filter{Q: "kim long", Sort: "name", Limit: 50}},
		{"phone_province", admin, venue.Filter{Q: "0912 000 042", Limit: 50}},
		{"status_district", district, venue.Filter{Status: venue.StatusPending, Category: "restaurant", Limit: 50}},
	} {
		found := 0
		l, err := timeIt(o.N, func() error {
			if _, err := svc.List(ctx, c.p, c.f); err != nil {
				return err
			}
			n, err := svc.Count(ctx, c.p, c.f)
			found = n
			return err
		})
		if err != nil {
			return err
		}
		out[c.name] = map[string]any{"p50_ms": l.q(0.5), "p95_ms": l.q(0.95), "found": found}
	}
	return json.NewEncoder(stdout).Encode(out)
}
