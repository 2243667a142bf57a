package declaration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/people"
	"anticovid/internal/retention"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func newService(t testing.TB, db *sqldb.DB) *Service {
	v, err := vault.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(db, people.NewService(db, v), v, "http://127.0.0.1:8080")
	s.Now = func() time.Time { return now }
	return s
}

// users creates one account per worklist reader, and some who may not read it.
func users(t testing.TB, db *sqldb.DB) map[string]*auth.Principal {
	a := auth.NewService(db, time.Hour)
	out := map[string]*auth.Principal{}
	for _, u := range []auth.NewUser{
		{Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}, // Bến Lức town, district 803
		{Username: "communeb", Role: auth.CommuneOfficer, Unit: "27994"}, // also district 803
		{Username: "tracer803", Role: auth.HealthTracer, Unit: "803"},
		{Username: "tracertanan", Role: auth.HealthTracer, Unit: "27685"},
		{Username: "health", Role: auth.DepartmentOfficer, Unit: "80", Department: "health"},
		{Username: "trade", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"},
		{Username: "district", Role: auth.DistrictOfficer, Unit: "803"},
		{Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"},
		{Username: "manager", Role: auth.VenueManager, Unit: "27991"},
	} {
		u.Password = "correct horse battery"
		got, err := a.CreateUser(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		out[u.Username] = &got.Principal
	}
	return out
}

func TestSubmit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		ctx := context.Background()
		in := valid()
		in.ID = "0b6a8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
		// A phone typed on a device that has not proved it: kept, no QR.
		r0, err := s.Submit(ctx, in, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !r0.Created || r0.ID == 0 || r0.Proof != Unproven || r0.Token != "" || r0.QRURL != "" || r0.Pending == "" {
			t.Fatalf("unproven result %+v", r0)
		}
		// The device proves the phone (a code to the stored number): the QR.
		r1, err := s.Prove(ctx, r0.Pending, r0.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if r1.ID != r0.ID || r1.Proof != PhoneProven || r1.Flagged || !r1.ExpiresAt.Equal(now.Add(DefaultTTL)) {
			t.Errorf("result %+v", r1)
		}
		if !strings.HasPrefix(r1.QRURL, "http://127.0.0.1:8080/p/") || !strings.HasSuffix(r1.QRURL, r1.Token) {
			t.Errorf("QR URL %q", r1.QRURL)
		}
		c, err := s.Verify(r1.Token)
		if err != nil || c.DeclarationID != r1.ID || c.PersonID == 0 || c.Proof != PhoneProven {
			t.Fatalf("token claims %+v %v", c, err)
		}
		// Stored encrypted: neither the name nor the phone nor the street appears in the row.
		var enc []byte
		var kind, commune, district, province string
		var sym, contact int
		var created, expires int64
		if err := db.R.QueryRow(`SELECT answers_enc, kind, has_symptoms, had_contact, commune_code, district_code, province_code, created_at, expires_at
			FROM declarations WHERE id = $1`, r1.ID).Scan(&enc, &kind, &sym, &contact, &commune, &district, &province, &created, &expires); err != nil {
			t.Fatal(err)
		}
		for _, plain := range []string{"Nguyễn", "0912345678", "Hùng Vương", "079085001234"} {
			if bytes.Contains(enc, []byte(plain)) {
				t.Errorf("answers_enc holds %q in clear", plain)
			}
		}
		if kind != KindResident || sym != 0 || contact != 0 || commune != "27991" || district != "803" || province != "80" ||
			created != now.Unix() || expires != now.Add(DefaultTTL).Unix() {
			t.Errorf("row %s %d %d %s %s %s %d %d", kind, sym, contact, commune, district, province, created, expires)
		}
		// The person was registered, found by phone.
		ids, err := s.People.ByPhone(ctx, "0912345678")
		if err != nil || len(ids) != 1 || ids[0] != c.PersonID {
			t.Errorf("person by phone: %v %v, token says %d", ids, err, c.PersonID)
		}

		// The same client id again: nothing new, the same QR.
		r2, err := s.Submit(ctx, in, c.PersonID)
		if err != nil || r2.Created || r2.ID != r1.ID || r2.Token != r1.Token {
			t.Errorf("repeat: %+v %v (first %+v)", r2, err, r1)
		}
		// The same id and phone from a device without proof: no QR.
		if r, err := s.Submit(ctx, in, 0); err != nil || r.Created || r.Token != "" {
			t.Errorf("repeat without proof: %+v %v", r, err)
		}
		// The same client id from another phone is a conflict, not someone else's QR.
		other := in
		other.Phone, other.Name = "0987654321", "Lê Thị Cúc"
		for _, device := range []int64{0, c.PersonID} {
			if r, err := s.Submit(ctx, other, device); !errors.Is(err, errs.ErrConflict) || r.Token != "" {
				t.Errorf("client id reused by another person (device %d): %+v %v", device, r, err)
			}
		}
		// A second declaration by the same phone (no client id) is new, same person.
		in.ID = ""
		in.Symptoms = []string{"fever"}
		r3, err := s.Submit(ctx, in, c.PersonID)
		if err != nil || !r3.Created || r3.ID == r1.ID || !r3.Flagged || r3.Proof != PhoneProven {
			t.Fatalf("second: %+v %v", r3, err)
		}
		if c3, _ := s.Verify(r3.Token); c3.PersonID != c.PersonID {
			t.Errorf("second declaration person %d, want %d", c3.PersonID, c.PersonID)
		}
		// Invalid input stores nothing, not even the person.
		before := countRows(t, db, "declarations")
		bad := valid()
		bad.Phone, bad.VaccineDoses = "0111", nil
		if _, err := s.Submit(ctx, bad, 0); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("invalid: %v", err)
		}
		if n := countRows(t, db, "declarations"); n != before {
			t.Errorf("invalid input stored a declaration: %d → %d", before, n)
		}
		if n := countRows(t, db, "people"); n != 1 {
			t.Errorf("people: %d, want 1", n)
		}
	})
}

func countRows(t testing.TB, db *sqldb.DB, table string) int {
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// declare submits a declaration by a person of a commune; flagged by a symptom
// or a contact when asked.
func declare(t testing.TB, s *Service, phone, name, commune string, symptom string, contact bool) Result {
	t.Helper()
	in := valid()
	in.Phone, in.Name, in.CommuneCode, in.DistrictCode, in.ProvinceCode = phone, name, commune, "", ""
	if symptom != "" {
		in.Symptoms = []string{symptom}
	}
	in.ContactCase = &contact
	r, err := s.Submit(context.Background(), in, 0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func names(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Answers.Name)
	}
	slices.Sort(out)
	return out
}

func TestWorklist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		u := users(t, db)
		ctx := context.Background()
		declare(t, s, "0900000001", "Người Khỏe Bến Lức", "27991", "", false) // not flagged
		a := declare(t, s, "0900000002", "Người Sốt Bến Lức", "27991", "fever", false)
		declare(t, s, "0900000003", "Người Tiếp Xúc Bến Lức", "27991", "", true)
		declare(t, s, "0900000004", "Người Ho Thạnh Lợi", "27994", "cough", false)
		declare(t, s, "0900000005", "Người Ho Tân An", "27685", "cough", true)
		declare(t, s, "0900000006", "Người Sốt Hà Nội", "00004", "fever", false)

		today := now.In(hcm).Format("2006-01-02")
		yesterday := now.In(hcm).AddDate(0, 0, -1).Format("2006-01-02")
		for f, field := range map[Filter]string{{Q: "!!"}: "q", {Q: strings.Repeat("x", 101)}: "q", {From: "hôm qua"}: "from", {To: "2026-02-31"}: "to"} {
			if _, err := s.Worklist(ctx, u["health"], f, "test"); errs.FieldsOf(err)[field] == "" {
				t.Errorf("%+v: %v", f, err)
			}
		}
		benLuc := []string{"Người Sốt Bến Lức", "Người Tiếp Xúc Bến Lức"}
		district := append([]string{"Người Ho Thạnh Lợi"}, benLuc...)
		province := append([]string{"Người Ho Tân An"}, district...)
		slices.Sort(district)
		slices.Sort(province)
		for _, c := range []struct {
			user   string
			f      Filter
			want   []string
			forbid bool
		}{
			{"communea", Filter{}, benLuc, false},
			{"communeb", Filter{}, []string{"Người Ho Thạnh Lợi"}, false},
			{"communeb", Filter{Unit: "27991"}, nil, true}, // another commune: refused
			{"communea", Filter{Unit: "803"}, nil, true},   // the district above: refused
			{"tracer803", Filter{}, district, false},
			{"tracer803", Filter{Unit: "27994"}, []string{"Người Ho Thạnh Lợi"}, false},
			{"tracertanan", Filter{}, []string{"Người Ho Tân An"}, false},
			{"health", Filter{}, province, false}, // never Hà Nội's
			{"health", Filter{Unit: "00004"}, nil, true},
			{"trade", Filter{}, nil, true},
			{"district", Filter{}, nil, true},
			{"admin", Filter{}, nil, true},
			{"manager", Filter{}, nil, true},
			// Searches: a name typed without diacritics, a phone, days declared.
			{"health", Filter{Q: "nguoi HO"}, []string{"Người Ho Thạnh Lợi", "Người Ho Tân An"}, false},
			{"health", Filter{Q: "0900 000 003"}, []string{"Người Tiếp Xúc Bến Lức"}, false},
			{"health", Filter{Q: "0900000006"}, nil, false}, // Hà Nội's: not found here
			{"tracer803", Filter{Q: "tan an"}, nil, false},
			{"health", Filter{From: today}, province, false},
			{"health", Filter{To: yesterday}, nil, false},
			{"tracer803", Filter{Q: "sot", From: yesterday, To: today}, []string{"Người Sốt Bến Lức"}, false},
		} {
			t.Run(fmt.Sprintf("%s %+v", c.user, c.f), func(t *testing.T) {
				items, err := s.Worklist(ctx, u[c.user], c.f, "test")
				if c.forbid {
					if !errors.Is(err, errs.ErrForbidden) || items != nil {
						t.Fatalf("got %v %v, want forbidden", names(items), err)
					}
					return
				}
				if err != nil || !slices.Equal(names(items), c.want) {
					t.Fatalf("got %v %v, want %v", names(items), err, c.want)
				}
				if pg, err := s.WorklistPage(ctx, u[c.user], c.f, "test"); err != nil || pg.Total != len(c.want) || len(pg.Items) != len(c.want) {
					t.Errorf("page of %d, total %d %v; want %d", len(pg.Items), pg.Total, err, len(c.want))
				}
			})
		}
		// Every view was audited, with the ids shown, before anything was decrypted.
		entries, err := auth.AuditLog(ctx, db, auth.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			if e.Username == "communea" && e.Subject == "declaration" && e.Action == auth.ActionView && e.Purpose == "test" {
				found = strings.Contains(","+e.RecordIDs+",", fmt.Sprintf(",%d,", a.ID))
			}
			if e.Username == "communeb" && strings.Contains(e.RecordIDs, fmt.Sprint(a.ID)) {
				t.Errorf("communeb's audit entry names a Bến Lức declaration: %+v", e)
			}
		}
		if !found {
			t.Errorf("no audit entry for communea's view: %+v", entries)
		}

		// Handling: only within jurisdiction, with a note, once.
		if err := s.Handle(ctx, u["communeb"], a.ID, "Đã gọi điện"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("communeb handles Bến Lức: %v", err)
		}
		if err := s.Handle(ctx, u["trade"], a.ID, "Đã gọi điện"); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("trade handles: %v", err)
		}
		if err := s.Handle(ctx, u["communea"], a.ID, " "); !errors.Is(err, errs.ErrInvalid) || errs.FieldsOf(err)["note"] == "" {
			t.Errorf("empty note: %v", err)
		}
		if err := s.Handle(ctx, u["communea"], 999999, "Đã gọi điện"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		note := "Đã gọi điện, hướng dẫn cách ly tại nhà và lấy mẫu xét nghiệm"
		if err := s.Handle(ctx, u["communea"], a.ID, note); err != nil {
			t.Fatalf("handle: %v", err)
		}
		if err := s.Handle(ctx, u["tracer803"], a.ID, "Lần nữa"); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("handled twice: %v", err)
		}
		var stored string
		db.R.QueryRow("SELECT handled_note FROM declarations WHERE id = $1", a.ID).Scan(&stored)
		if strings.Contains(stored, "cách ly") {
			t.Errorf("note stored in clear: %q", stored)
		}
		open, _ := s.Worklist(ctx, u["communea"], Filter{}, "test")
		if !slices.Equal(names(open), []string{"Người Tiếp Xúc Bến Lức"}) {
			t.Errorf("open after handling: %v", names(open))
		}
		done, err := s.Worklist(ctx, u["communea"], Filter{Status: StatusHandled}, "test")
		if err != nil || len(done) != 1 || done[0].ID != a.ID || done[0].HandledBy != "communea" || done[0].HandledNote != note ||
			done[0].HandledAt == nil || !done[0].HasSymptoms || done[0].Answers.Phone != "0900000002" {
			t.Errorf("handled list: %+v %v", done, err)
		}
		all, _ := s.Worklist(ctx, u["communea"], Filter{Status: StatusAll}, "test")
		if len(all) != 2 {
			t.Errorf("all: %v", names(all))
		}
		if _, err := s.Worklist(ctx, u["communea"], Filter{Status: "closed"}, "test"); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("bad status: %v", err)
		}
		if _, err := s.Worklist(ctx, u["communea"], Filter{Unit: "nope"}, "test"); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("bad unit: %v", err)
		}
		// A family's shared phone: the name searched is the one declared.
		declare(t, s, "0900000002", "Trần Thị Bích", "27991", "cough", false)
		if got, err := s.Worklist(ctx, u["communea"], Filter{Q: "tran thi bich", Status: StatusAll}, "test"); err != nil || !slices.Equal(names(got), []string{"Trần Thị Bích"}) {
			t.Errorf("by the declared name: %v %v", names(got), err)
		}
		// An unflagged declaration cannot be "handled": it is not on the list.
		var healthy int64
		db.R.QueryRow("SELECT id FROM declarations WHERE has_symptoms = 0 AND had_contact = 0").Scan(&healthy)
		if err := s.Handle(ctx, u["communea"], healthy, "Đã gọi"); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("handle unflagged: %v", err)
		}
	})
}

// TestRetention: declarations are personal data and go with the purge.
func TestRetention(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		s := newService(t, db)
		old := declare(t, s, "0900000001", "Cũ", "27991", "fever", false)
		s.Now = func() time.Time { return now.Add(22 * 24 * time.Hour) }
		recent := declare(t, s, "0900000002", "Mới", "27991", "fever", false)
		rep, err := retention.Purge(context.Background(), db, s.Now(), 21*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		rows, _ := db.R.Query("SELECT id FROM declarations ORDER BY id")
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if rep["declarations"] != 1 || !slices.Equal(ids, []int64{recent.ID}) {
			t.Errorf("purged %d, left %v (old %d, recent %d)", rep["declarations"], ids, old.ID, recent.ID)
		}
	})
}

// TestWorklistUsesPartialIndex guards the query shape: on SQLite the planner
// must pick a flagged-only index for every scope level.
func TestWorklistUsesPartialIndex(t *testing.T) {
	db := storetest.SQLite(t)
	for col, index := range map[string]string{"commune_code": "declarations_flagged_commune",
		"district_code": "declarations_flagged_district", "province_code": "declarations_flagged_province"} {
		rows, err := db.R.Query(`EXPLAIN QUERY PLAN SELECT d.id FROM declarations d LEFT JOIN users u ON u.id = d.handled_by
			WHERE `+flagged+` AND d.`+col+` = $1 AND d.handled_at IS NULL ORDER BY d.created_at, d.id LIMIT 50`, "x")
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan.WriteString(detail + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), index) {
			t.Errorf("%s: plan does not use %s:\n%s", col, index, plan.String())
		}
	}
}

// BenchmarkSubmit measures one declaration end to end (validation, person
// look-up or registration, encryption, insert) on SQLite.
func BenchmarkSubmit(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSubmit(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchSubmit(b, storetest.Postgres(b)) })
}

func benchSubmit(b *testing.B, db *sqldb.DB) {
	s := newService(b, db)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		in := valid()
		in.Phone = fmt.Sprintf("09%08d", i%100_000)
		if i%20 == 0 {
			in.Symptoms = []string{"fever"}
		}
		if _, err := s.Submit(ctx, in, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitParallel measures declarations from many phones at once
// (16 goroutines per core): throughput is what a launch-day storm sees.
// "returning" people are already registered (found by the phone cache), so
// only the declaration is written.
func BenchmarkSubmitParallel(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, returning := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/returning=%v", engine, returning), func(b *testing.B) {
				db := storetest.SQLite(b)
				if engine == "postgres" {
					db = storetest.Postgres(b)
				}
				s := newService(b, db)
				ctx := context.Background()
				var n atomic.Int64
				if returning {
					for i := range 1000 {
						in := valid()
						in.Phone = fmt.Sprintf("09%08d", i)
						if _, err := s.Submit(ctx, in, 0); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.SetParallelism(16)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						in := valid()
						if returning {
							in.Phone = fmt.Sprintf("09%08d", i%1000)
						} else {
							in.Phone = fmt.Sprintf("08%08d", i)
						}
						if _, err := s.Submit(ctx, in, 0); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "declarations/s")
			})
		}
	}
}

// BenchmarkWorklist measures a page of a commune's open worklist with 200,000
// declarations in the province, 5% of them flagged.
func BenchmarkWorklist(b *testing.B) {
	db := storetest.SQLite(b)
	s := newService(b, db)
	u := users(b, db)
	ctx := context.Background()
	communes := []string{"27991", "27994", "27685", "27688", "27694"}
	enc := s.Vault.Seal(`{"name":"Nguyễn Văn An","phone":"0912345678"}`)
	if _, err := db.W.Exec(`INSERT INTO people (commune_code, district_code, province_code, created_at) VALUES ('27991', '803', '80', 0)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.W.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare(`INSERT INTO declarations (person_id, kind, answers_enc, has_symptoms, had_contact, commune_code, district_code, province_code, created_at, expires_at)
		VALUES (1, 'resident', $1, $2, 0, $3, $4, '80', $5, $6)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200_000 {
		c := communes[i%len(communes)]
		d := "803"
		if c >= "27685" && c < "27700" {
			d = "794"
		}
		if _, err := st.Exec(enc, b2i(i%20 == 0), c, d, now.Unix()-int64(i), now.Unix()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		items, err := s.Worklist(ctx, u["communea"], Filter{}, "bench")
		if err != nil || len(items) != 50 {
			b.Fatalf("%d %v", len(items), err)
		}
	}
}
