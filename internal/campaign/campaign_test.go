package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

var (
	admin    = &auth.Principal{UserID: 1, Username: "admin", Role: auth.ProvinceAdmin, Unit: "80"}
	benluc   = &auth.Principal{UserID: 2, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
	tanan    = &auth.Principal{UserID: 3, Username: "tanan", Role: auth.DistrictOfficer, Unit: "794"}
	communeA = &auth.Principal{UserID: 4, Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}
	trade    = &auth.Principal{UserID: 5, Username: "trade", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seed registers residents and venues: 27991 and 27994 are in Bến Lức (803),
// 27685 in Tân An (794). One venue's contact is also a resident.
func seed(t *testing.T, db *sqldb.DB, v *vault.Vault) []string {
	t.Helper()
	phones := []string{"0912000001", "0912000002", "0912000003", "0912000004", "0912000005", "0912000006"}
	communes := []string{"27991", "27991", "27991", "27994", "27994", "27685"}
	for i, ph := range phones {
		d := map[string]string{"27991": "803", "27994": "803", "27685": "794"}[communes[i]]
		if _, err := db.W.Exec(`INSERT INTO people (name_enc, phone_enc, phone_hash, commune_code, district_code, province_code, created_at)
			VALUES ($1, $2, $3, $4, $5, '80', 0)`, v.Seal("Nguyễn Văn "+string(rune('A'+i))), v.Seal(ph), v.Hash(ph), communes[i], d); err != nil {
			t.Fatal(err)
		}
	}
	for _, vv := range []struct{ name, phone string }{{"Chợ Bến Lức", "0912000001"}, {"Siêu thị Bến Lức", "0988000001"}} {
		if _, err := db.W.Exec(`INSERT INTO venues (name, category, commune_code, district_code, province_code, contact_phone_enc, status, created_at)
			VALUES ($1, 'market', '27991', '803', '80', $2, 'approved', 0)`, vv.name, v.Seal(vv.phone)); err != nil {
			t.Fatal(err)
		}
	}
	return phones
}

func TestCampaign(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), benluc)
		v, _ := vault.New(bytes.Repeat([]byte{9}, 32))
		phones := seed(t, db, v)
		rec := &notify.Recorder{}
		c := &clock{t: time.Date(2021, 8, 2, 9, 0, 0, 0, time.UTC)}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		s := &Service{DB: db, Vault: v, BaseURL: "https://longan.example", Now: c.now, Log: log,
			Outbox: &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec}, Log: log}}

		in := Input{Name: "Cài Bluezone tháng 8", Template: "install_bluezone", Channel: notify.SMS, UnitCode: "803",
			Groups: []string{Residents, VenueManagers}, RatePerMin: 12}
		dry, err := s.DryRun(ctx, benluc, in)
		if err != nil || dry.Recipients != 7 || dry.ByGroup[Residents] != 5 || dry.ByGroup[VenueManagers] != 2 ||
			!strings.Contains(dry.Body, "UBND Huyện Bến Lức") || dry.Segments != 3 {
			t.Fatalf("dry run: %v %+v", err, dry)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM outbox").Scan(&n)
		if n != 0 {
			t.Fatalf("a dry run queued %d messages", n)
		}

		// Outside the sender's jurisdiction, or a department that does not send: 403.
		for _, c := range []struct {
			p    *auth.Principal
			unit string
		}{{tanan, "803"}, {communeA, "27994"}, {communeA, "803"}, {benluc, "80"}, {trade, "80"}, {benluc, "01"}} {
			bad := in
			bad.UnitCode = c.unit
			if _, err := s.Create(ctx, c.p, bad); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("%s → %s: %v", c.p.Username, c.unit, err)
			}
			if _, err := s.DryRun(ctx, c.p, bad); !errors.Is(err, errs.ErrForbidden) {
				t.Errorf("dry run %s → %s: %v", c.p.Username, c.unit, err)
			}
		}
		bad := in
		bad.Channel, bad.Groups, bad.RatePerMin, bad.Template = "email", nil, 1_000_000, "nope"
		f := errs.FieldsOf(func() error { _, err := s.Create(ctx, benluc, bad); return err }())
		for _, k := range []string{"channel", "groups", "rate_per_min", "template"} {
			if f[k] == "" {
				t.Errorf("no error for %s: %v", k, f)
			}
		}
		db.R.QueryRow("SELECT count(*) FROM campaigns").Scan(&n)
		if n != 0 {
			t.Fatalf("%d refused campaigns stored", n)
		}

		camp, err := s.Create(ctx, benluc, in)
		if err != nil || camp.Recipients != 7 || camp.Status != Sending {
			t.Fatalf("create: %v %+v", err, camp)
		}
		var audits int
		db.R.QueryRow("SELECT count(*) FROM audit_log WHERE subject = 'campaign_recipients' AND action = 'export'").Scan(&audits)
		if audits != 1 {
			t.Errorf("%d audit entries", audits)
		}

		// Rate limited: 12 a minute is 2 in the first ten seconds, then 6 in the next 30 s.
		if q, err := s.Step(ctx); err != nil || q != 2 {
			t.Fatalf("first step: %d %v", q, err)
		}
		if q, _ := s.Step(ctx); q != 0 {
			t.Errorf("immediate second step queued %d", q)
		}
		c.add(30 * time.Second)
		// 6 distinct phones among 7 recipients: the resident who runs the market gets one message.
		if q, err := s.Step(ctx); err != nil || q != 4 {
			t.Fatalf("second step: %d %v", q, err)
		}
		got, log2, err := s.Get(ctx, benluc, camp.ID)
		if err != nil || got.Status != Done || got.Queued != 6 || got.Pending != 6 || len(log2) != 6 {
			t.Fatalf("after queueing: %v %+v (%d lines)", err, got, len(log2))
		}
		if sent, failed, err := s.Outbox.Deliver(ctx); err != nil || sent != 6 || failed != 0 {
			t.Fatalf("deliver: %d %d %v", sent, failed, err)
		}
		to := map[string]bool{}
		for _, m := range rec.Messages() {
			to[m.To] = true
			if m.Channel != notify.SMS || !strings.Contains(m.Body, "Bluezone") {
				t.Errorf("message %+v", m)
			}
		}
		for _, ph := range append(append([]string{}, phones[:5]...), "0988000001") {
			if !to[ph] {
				t.Errorf("%s got no message", ph)
			}
		}
		if to[phones[5]] {
			t.Error("a resident of Tân An got Bến Lức's message")
		}
		got, log2, _ = s.Get(ctx, benluc, camp.ID)
		if got.Sent != 6 || got.Failed != 0 || got.Pending != 0 {
			t.Errorf("delivery counts: %+v", got)
		}
		var other int
		db.R.QueryRow("SELECT count(*) FROM outbox WHERE kind <> $1", notify.KindCampaign).Scan(&other)
		if other != 0 {
			t.Errorf("%d campaign messages of another kind", other)
		}
		// Some reported delivered, the rest still only sent: both count as sent.
		if _, err := db.W.Exec(`UPDATE outbox SET status = 'delivered' WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 2)`); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Get(ctx, benluc, camp.ID); got.Sent != 6 || got.Failed != 0 || got.Pending != 0 {
			t.Errorf("delivery counts with 2 delivered and 4 sent: %+v", got)
		}
		b, _ := json.Marshal(log2)
		for _, ph := range phones {
			if strings.Contains(string(b), ph) {
				t.Errorf("delivery log shows phone %s", ph)
			}
		}
		if !strings.Contains(string(b), `"recipient":"person:`) || !strings.Contains(string(b), `"status":"sent"`) {
			t.Errorf("delivery log: %s", b)
		}

		// A channel whose provider is missing: every message waits, queued, for one.
		ott := in
		ott.Channel, ott.UnitCode, ott.Groups, ott.Name = notify.OTT, "27991", []string{Residents}, "Zalo xã"
		camp2, err := s.Create(ctx, communeA, ott)
		if err != nil {
			t.Fatal(err)
		}
		q1, err := s.Step(ctx)
		c.add(time.Minute)
		q2, err2 := s.Step(ctx)
		if err != nil || err2 != nil || q1 != 2 || q2 != 1 {
			t.Fatalf("ott steps: %d, %d %v %v", q1, q2, err, err2)
		}
		s.Outbox.Deliver(ctx)
		got, _, _ = s.Get(ctx, communeA, camp2.ID)
		if got.Pending != 3 || got.Failed != 0 || got.Sent != 0 {
			t.Errorf("ott counts: %+v", got)
		}

		// Lists follow jurisdiction.
		list, _ := s.List(ctx, tanan)
		if len(list) != 0 {
			t.Errorf("Tân An sees %d campaigns", len(list))
		}
		list, _ = s.List(ctx, admin)
		if len(list) != 2 {
			t.Errorf("the province sees %d campaigns", len(list))
		}
		if _, _, err := s.Get(ctx, tanan, camp.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("Tân An reads Bến Lức's campaign: %v", err)
		}
		if err := s.Cancel(ctx, communeA, camp.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Errorf("commune cancels the district's campaign: %v", err)
		}
	})
}
