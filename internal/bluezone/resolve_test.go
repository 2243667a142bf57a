package bluezone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/tracing"
	"anticovid/internal/vault"
)

// testNow is a fixed afternoon, so every day of a 14-day log has slots.
var testNow = time.Date(2021, 8, 10, 15, 37, 0, 0, Zone)

type fixture struct {
	svc      *Service
	recorder *notify.Recorder
	tracer   context.Context
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	rec := &notify.Recorder{}
	out := &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: rec}, Log: slog.New(slog.DiscardHandler)}
	codes := exposure.NewCodes(otp.New(db, v, nil), people.NewService(db, v))
	now := func() time.Time { return testNow }
	codes.Now = now
	svc, err := NewService(db, v, people.NewService(db, v), out, codes, t.TempDir(), 21*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	svc.Now = now
	t.Cleanup(func() { svc.Index.Close() })
	tracer := auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 9, Username: "tracer", Role: auth.HealthTracer, Unit: "80"})
	return &fixture{svc: svc, recorder: rec, tracer: tracer}
}

// lastCode delivers the outbox and returns the code in the newest SMS.
func (f *fixture) lastCode(t *testing.T) string {
	t.Helper()
	if _, _, err := f.svc.Outbox.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := f.recorder.Messages()
	if len(msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	m := regexp.MustCompile(`\b(\d{6})\b`).FindStringSubmatch(msgs[len(msgs)-1].Body)
	if m == nil {
		t.Fatalf("no code in %q", msgs[len(msgs)-1].Body)
	}
	return m[1]
}

func personIDs(cs []Contact) []int64 {
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.PersonID)
	}
	slices.Sort(ids)
	return ids
}

// TestIndexLookup builds a day's index for known keys and finds every slot's
// ID back, and nothing for IDs nobody broadcast; erasure cuts the link.
func TestIndexLookup(t *testing.T) {
	ix, err := OpenIndex(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	day := DayNumber(testNow)
	var devs []DeviceKey
	for i := range 300 {
		devs = append(devs, DeviceKey{ID: int64(10 + 3*i), Key: sha256.Sum256([]byte{byte(i), byte(i >> 8)}), KeyDay: day - int64(i%5)})
	}
	st, err := ix.Build(day, devs, 10+3*299, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phones != 300 || st.Bytes != ix.Bytes(day) {
		t.Fatalf("stats %+v, bytes on disk %d", st, ix.Bytes(day))
	}
	for _, d := range devs[:40] {
		// Independent derivation: walk the chain by hand with sha256.
		k := d.Key
		for range day - d.KeyDay {
			k = sha256.Sum256(k[:])
		}
		s := sha256.Sum256(append(k[:], "bluzonesubkey"...))
		for slot := range SlotsPerDay {
			var id [IDLen]byte
			for i, o := range []int{0, 4, 8, 12, 16, 18, 20, 22, 24, 26, 28, 30} {
				id[i] = s[o]
			}
			got, err := ix.Lookup(day, slot, id)
			if err != nil || !slices.Contains(got, d.ID) {
				t.Fatalf("device %d slot %d: %v %v", d.ID, slot, got, err)
			}
			if other := (slot + 1) % SlotsPerDay; true {
				got, _ := ix.Lookup(day, other, id)
				if slices.Contains(got, d.ID) {
					t.Fatalf("device %d found in the wrong slot", d.ID)
				}
			}
			s = sha256.Sum256(s[:])
		}
	}
	var random [IDLen]byte
	copy(random[:], "nobody-sends")
	if got, _ := ix.Lookup(day, 5, random); len(got) != 0 {
		t.Errorf("unknown ID matched %v", got)
	}
	// A delta adds a phone; erasure cuts one loose; reopening reads the same.
	extra := DeviceKey{ID: 5000, Key: sha256.Sum256([]byte("new phone")), KeyDay: day}
	if _, err := ix.Build(day, []DeviceKey{extra}, 5000, 10+3*299, 0); err != nil {
		t.Fatal(err)
	}
	ids := DayIDs(extra.Key)
	if got, _ := ix.Lookup(day, 77, ids[77]); !slices.Equal(got, []int64{5000}) {
		t.Errorf("delta lookup: %v", got)
	}
	if err := ix.Erase(day, []int64{5000, devs[0].ID}, 2); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ix2, _ := OpenIndex(ix.Dir)
	defer ix2.Close()
	if got, _ := ix2.Lookup(day, 77, ids[77]); len(got) != 0 {
		t.Errorf("erased device still found: %v", got)
	}
	has, wm, deltas, erased, _ := ix2.DayState(day)
	if !has || wm != 5000 || deltas != 1 || erased != 2 {
		t.Errorf("state after reopen: %v %d %d %d", has, wm, deltas, erased)
	}
}

// TestRoundTrip simulates phones, uploads one F0's log and gets exactly the
// registered phones that were near; then registers a new phone through the
// API path, and a second log finds it too (the index grew incrementally).
func TestRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		phones := SimPhones(42, 400, testNow, ProvinceCommunes("80"))
		persons, err := BulkRegister(ctx, db, f.svc.Vault, phones, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSeq(t, db)
		rows, near := SimLog(phones, SimLogSpec{F0: 3, Days: 14, IDsPerDay: 60, RegisteredShare: 0.5, Seed: 1, Now: testNow})
		if len(near) < 20 || len(rows) < 14*60 {
			t.Fatalf("simulation too small: %d rows, %d near", len(rows), len(near))
		}
		code, _, err := f.svc.Codes.Issue(f.tracer, auth.From(f.tracer), exposure.PurposeBluezoneLog, persons[3], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// Through the wire format, as a phone sends it.
		gotCode, decoded, err := DecodeLog(bytes.NewReader(LogJSON(code, rows)))
		if err != nil || gotCode != code || len(decoded) != len(rows) {
			t.Fatalf("decode: %v %q %d", err, gotCode, len(decoded))
		}
		res, err := f.svc.UploadLog(ctx, code, "test", decoded)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, j := range near {
			want = append(want, persons[j])
		}
		slices.Sort(want)
		contacts, err := f.svc.ContactsOf(f.tracer, persons[3], testNow.AddDate(0, 0, -14), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := personIDs(contacts); !slices.Equal(got, want) {
			t.Fatalf("contacts %v\nwant     %v", got, want)
		}
		// The same through the tracing engine's Source seam.
		tc, err := f.svc.Source().Contacts(ctx, persons[3], tracing.Window{From: testNow.AddDate(0, 0, -14), To: testNow})
		if err != nil || len(tc) != len(want) || tc[0].Source != tracing.SourceBluetooth || tc[0].Overlap < SlotDuration {
			t.Fatalf("tracing source: %d contacts %v", len(tc), err)
		}
		if res.Candidates != len(want) {
			t.Errorf("upload says %d candidates, want %d", res.Candidates, len(want))
		}
		for _, c := range contacts {
			if c.Slots < 1 || c.FirstSeen.After(c.LastSeen) || c.StrongestRSSI > -1 || c.StrongestRSSI < MinRSSI || c.Sightings < c.Slots {
				t.Errorf("implausible evidence %+v", c)
			}
		}
		// A narrower window keeps only the contacts seen in it.
		from := testNow.AddDate(0, 0, -2)
		recent, _ := f.svc.ContactsOf(f.tracer, persons[3], from, testNow)
		if len(recent) == 0 || len(recent) >= len(contacts) {
			t.Errorf("last two days: %d contacts of %d", len(recent), len(contacts))
		}
		for _, c := range recent {
			if c.LastSeen.Before(from) {
				t.Errorf("contact outside the window: %+v", c)
			}
		}
		// The code is used up.
		if _, err := f.svc.UploadLog(ctx, code, "test", decoded); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "already used") {
			t.Errorf("reused code: %v", err)
		}

		// A new phone registers through the API path and meets the F0 today.
		if _, err := f.svc.StartRegistration(ctx, exposure.PurposeRegister, "0987 654 321", "test"); err != nil {
			t.Fatal(err)
		}
		newKey := sha256.Sum256([]byte("a new phone"))
		reg := Registration{Phone: "0987654321", Code: f.lastCode(t), BaseKey: hex.EncodeToString(newKey[:]),
			BaseDay: testNow.Format(time.DateOnly), Commune: "27991", Platform: "android", Name: "Nguyễn Văn Mới", BirthYear: 1990}
		dev, token, err := f.svc.Register(ctx, reg, "test")
		if err != nil {
			t.Fatal(err)
		}
		today := DayNumber(testNow)
		newIDs := DayIDs(newKey)
		f0IDs := DayIDs(DailyKey(phones[3].Key, int(today-phones[3].BaseDay)))
		log2 := []LogRow{
			{OwnID: f0IDs[90], ContactID: newIDs[90], RSSI: -60, At: DayStartOf(today) + 90*600 + 30},
			{OwnID: f0IDs[91], ContactID: newIDs[91], RSSI: -58, At: DayStartOf(today) + 91*600 + 10},
			{OwnID: f0IDs[91], ContactID: newIDs[91], RSSI: -70, At: DayStartOf(today) + 91*600 + 400},
		}
		code2, _, _ := f.svc.Codes.Issue(f.tracer, auth.From(f.tracer), exposure.PurposeBluezoneLog, persons[3], time.Time{})
		if _, err := f.svc.UploadLog(ctx, code2, "test", log2); err != nil {
			t.Fatal(err)
		}
		contacts, _ = f.svc.ContactsOf(f.tracer, persons[3], DayStart(testNow), testNow)
		var found *Contact
		for i := range contacts {
			if contacts[i].DeviceID == dev.ID {
				found = &contacts[i]
			}
		}
		if found == nil || found.Slots != 2 || found.StrongestRSSI != -58 || found.Sightings != 3 ||
			found.FirstSeen.Unix() != DayStartOf(today)+90*600+30 || found.LastSeen.Unix() != DayStartOf(today)+91*600+400 {
			t.Fatalf("new phone's evidence: %+v", found)
		}
		// Deleting the registration erases it: the index no longer links its IDs.
		if err := f.svc.Unregister(ctx, token); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Index.Lookup(today, 90, newIDs[90]); len(got) != 0 {
			t.Errorf("erased phone still in the index: %v", got)
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM bz_devices WHERE id = $1", dev.ID).Scan(&n)
		if n != 0 {
			t.Error("device row survived deletion")
		}
		if err := f.svc.Unregister(ctx, token); !errors.Is(err, errs.ErrUnauthorized) {
			t.Errorf("second delete: %v", err)
		}
	})
}

// syncSeq moves PostgreSQL's id sequences past bulk-inserted rows (what
// store.SyncSequence does; this package may not import store).
func syncSeq(t *testing.T, db *sqldb.DB) {
	if db.Engine != sqldb.Postgres {
		return
	}
	for _, table := range []string{"people", "bz_devices"} {
		if _, err := db.W.Exec(fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), (SELECT max(id) FROM %[1]s) + 1, false)", table)); err != nil {
			t.Fatal(err)
		}
	}
}

// endlessLog streams {"code":..., "rows":[...]} with n rows without holding
// them, to send a log a thousand times the normal size.
type endlessLog struct {
	n, i int
	buf  []byte
}

func (e *endlessLog) Read(p []byte) (int, error) {
	for len(e.buf) < len(p) && e.i <= e.n {
		switch {
		case e.i == 0:
			e.buf = append(e.buf, `{"code":"12345678","rows":[`...)
		case e.i == e.n:
			e.buf = append(e.buf, `]}`...)
		default:
			if e.i > 1 {
				e.buf = append(e.buf, ',')
			}
			e.buf = fmt.Appendf(e.buf, `{"own_id":"00112233445566778899aabb","contact_id":"%024x","rssi":-60,"t":%d}`, e.i, testNow.Unix()-60)
		}
		e.i++
	}
	if len(e.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// TestBadLogs: each bad upload is a clear error and stores nothing.
func TestBadLogs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		phones := SimPhones(7, 50, testNow, []string{"27991"})
		persons, err := BulkRegister(ctx, db, f.svc.Vault, phones, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSeq(t, db)
		rows, _ := SimLog(phones, SimLogSpec{F0: 1, Days: 3, IDsPerDay: 20, RegisteredShare: 0.5, Seed: 3, Now: testNow})
		code, _, err := f.svc.Codes.Issue(f.tracer, auth.From(f.tracer), exposure.PurposeBluezoneLog, persons[1], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		stored := func() int {
			var n int
			db.R.QueryRow("SELECT (SELECT count(*) FROM bz_uploads) + (SELECT count(*) FROM bz_sightings)").Scan(&n)
			return n
		}
		// A log a thousand times the normal size is refused while reading.
		start := time.Now()
		_, _, err = DecodeLog(&endlessLog{n: 1000 * NormalLogRows})
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "more than 100000 rows") {
			t.Errorf("huge log: %v", err)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("refusing the huge log read it all (%v)", time.Since(start))
		}
		big := make([]LogRow, MaxLogRows+1)
		if _, err := f.svc.UploadLog(ctx, code, "test", big); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("oversize rows: %v", err)
		}
		cases := map[string]struct {
			body, field string
		}{
			"malformed hex": {`{"code":"` + code + `","rows":[{"own_id":"zz112233445566778899aabb","contact_id":"00112233445566778899aabb","rssi":-60,"t":1}]}`, "rows[0].own_id"},
			"short id":      {`{"code":"` + code + `","rows":[{"own_id":"0011","contact_id":"00112233445566778899aabb","rssi":-60,"t":1}]}`, "rows[0].own_id"},
			"missing rssi":  {`{"code":"` + code + `","rows":[{"own_id":"00112233445566778899aabb","contact_id":"00112233445566778899aabb","t":1}]}`, "rows[0].rssi"},
			"not json":      {`{"code":"` + code + `","rows":[{"own_id":`, "body"},
		}
		for name, c := range cases {
			_, _, err := DecodeLog(strings.NewReader(c.body))
			if _, ok := errs.FieldsOf(err)[c.field]; !ok {
				t.Errorf("%s: %v, want a message for %s", name, err, c.field)
			}
		}
		future := slices.Clone(rows)
		future[5].At = testNow.Add(time.Hour).Unix()
		old := slices.Clone(rows)
		old[2].At = testNow.AddDate(0, 0, -20).Unix()
		loud := slices.Clone(rows)
		loud[0].RSSI = 12
		for name, c := range map[string]struct {
			rows  []LogRow
			field string
		}{"future": {future, "rows[5].t"}, "old": {old, "rows[2].t"}, "rssi": {loud, "rows[0].rssi"}, "empty": {nil, "rows"}} {
			_, err := f.svc.UploadLog(ctx, code, "test", c.rows)
			if _, ok := errs.FieldsOf(err)[c.field]; !ok {
				t.Errorf("%s: %v, want a message for %s", name, err, c.field)
			}
		}
		if _, err := f.svc.UploadLog(ctx, "99999999", "test", rows); !strings.Contains(fmt.Sprint(err), "wrong code") {
			t.Errorf("wrong code: %v", err)
		}
		// An expired code.
		f.svc.Codes.Now = func() time.Time { return testNow.Add(exposure.CodeTTL + time.Minute) }
		if _, err := f.svc.UploadLog(ctx, code, "test", rows); !strings.Contains(fmt.Sprint(err), "expired") {
			t.Errorf("expired code: %v", err)
		}
		f.svc.Codes.Now = func() time.Time { return testNow }
		if n := stored(); n != 0 {
			t.Fatalf("refused uploads stored %d rows", n)
		}
		// A feed code cannot upload a log.
		feedCode, _, _ := f.svc.Codes.Issue(f.tracer, auth.From(f.tracer), exposure.PurposeBluezoneFeed, persons[1], time.Time{})
		if _, err := f.svc.UploadLog(ctx, feedCode, "test", rows); !strings.Contains(fmt.Sprint(err), "wrong code") {
			t.Errorf("feed code for a log: %v", err)
		}
		if _, err := f.svc.UploadLog(ctx, code, "test", rows); err != nil {
			t.Fatalf("the good upload after all that: %v", err)
		}
		if stored() == 0 {
			t.Fatal("good upload stored nothing")
		}
	})
}

// TestReRegistration: registering the same phone again replaces its key (the
// old key's IDs no longer resolve, the new one's do); a phone registered after
// the newest one was deleted gets a fresh id and is indexed.
func TestReRegistration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		today := DayNumber(testNow)
		register := func(phone string, key [32]byte) (Device, string) {
			t.Helper()
			if _, err := f.svc.StartRegistration(ctx, exposure.PurposeRegister, phone, "test"); err != nil {
				t.Fatal(err)
			}
			d, tok, err := f.svc.Register(ctx, Registration{Phone: phone, Code: f.lastCode(t), BaseKey: hex.EncodeToString(key[:]),
				BaseDay: testNow.Format(time.DateOnly), Commune: "27991", Platform: "ios", Name: "Phạm Thị Lan", BirthYear: 1975}, "test")
			if err != nil {
				t.Fatal(err)
			}
			return d, tok
		}
		lookup := func(key [32]byte) []int64 {
			t.Helper()
			if _, err := f.svc.EnsureDays(ctx, []int64{today}); err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.Index.Lookup(today, 10, DayIDs(key)[10])
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		k1, k2, k3 := sha256.Sum256([]byte("k1")), sha256.Sum256([]byte("k2")), sha256.Sum256([]byte("k3"))
		d1, _ := register("0901000001", k1)
		if got := lookup(k1); !slices.Equal(got, []int64{d1.ID}) {
			t.Fatalf("first key: %v", got)
		}
		d2, tok2 := register("0901000001", k2)
		if d2.ID <= d1.ID || d2.PersonID != d1.PersonID {
			t.Fatalf("re-registration: %+v after %+v", d2, d1)
		}
		if got := lookup(k1); len(got) != 0 {
			t.Errorf("replaced key still resolves to %v", got)
		}
		if got := lookup(k2); !slices.Equal(got, []int64{d2.ID}) {
			t.Errorf("new key: %v", got)
		}
		if err := f.svc.Unregister(ctx, tok2); err != nil {
			t.Fatal(err)
		}
		d3, _ := register("0901000002", k3)
		if d3.ID <= d2.ID {
			t.Fatalf("id %d reused after deleting %d", d3.ID, d2.ID)
		}
		if got := lookup(k3); !slices.Equal(got, []int64{d3.ID}) {
			t.Errorf("phone registered after a deletion: %v", got)
		}
		if got := lookup(k2); len(got) != 0 {
			t.Errorf("deleted phone resolves to %v", got)
		}
		// A lost phone: its owner erases the registration with an SMS code.
		if _, err := f.svc.StartRegistration(ctx, exposure.PurposeUnregister, "0901000002", "test"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.UnregisterPhone(ctx, "0901000002", "000000", "test"); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("wrong unregister code: %v", err)
		}
		if err := f.svc.UnregisterPhone(ctx, "0901000002", f.lastCode(t), "test"); err != nil {
			t.Fatal(err)
		}
		if got := lookup(k3); len(got) != 0 {
			t.Errorf("unregistered phone resolves to %v", got)
		}
	})
}

// TestRatchet: stepping stored keys forward keeps every kept day resolvable
// and leaves the server unable to derive the days before.
func TestRatchet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		phones := SimPhones(11, 60, testNow, []string{"27991"})
		persons, err := BulkRegister(ctx, db, f.svc.Vault, phones, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSeq(t, db)
		today := DayNumber(testNow)
		to := today - 3
		n, err := f.svc.Ratchet(ctx, to)
		if err != nil || n != len(phones) {
			t.Fatalf("ratchet moved %d: %v", n, err)
		}
		if n, _ := f.svc.Ratchet(ctx, to); n != 0 {
			t.Errorf("second ratchet moved %d", n)
		}
		var ids []int64
		rows, _ := db.R.Query("SELECT id FROM bz_devices ORDER BY id")
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		devs, err := f.svc.devicesForCheck(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			d := devs[id]
			if d.keyDay != to || d.key != DailyKey(phones[i].Key, int(to-phones[i].BaseDay)) {
				t.Fatalf("device %d: key day %d, key not the daily key of day %d", id, d.keyDay, to)
			}
		}
		// Logs over the last three days still resolve exactly.
		logRows, near := SimLog(phones, SimLogSpec{F0: 0, Days: 3, IDsPerDay: 30, RegisteredShare: 0.7, Seed: 4, Now: testNow})
		res, err := f.svc.Resolve(ctx, logRows, persons[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contacts) != len(near) || res.OwnPerson != persons[0] {
			t.Errorf("after ratchet: %d contacts, want %d; own person %d", len(res.Contacts), len(near), res.OwnPerson)
		}
	})
}

// TestIndexWidths: narrow and wide entries answer the same lookups.
func TestIndexWidths(t *testing.T) {
	day := DayNumber(testNow)
	var devs []DeviceKey
	for i := range 2000 {
		devs = append(devs, DeviceKey{ID: int64(1 + i), Key: sha256.Sum256([]byte(fmt.Sprint("w", i))), KeyDay: day})
	}
	for _, wide := range []bool{false, true} {
		old := wideEntries
		wideEntries = func(uint32) bool { return wide }
		ix, err := OpenIndex(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		st, err := ix.Build(day, devs, 2000, 0, 0)
		wideEntries = old
		if err != nil {
			t.Fatal(err)
		}
		perEntry := (st.Bytes - ix.days[day][0].entOff) / int64(SlotsPerDay*len(devs))
		if want := map[bool]int64{false: 4, true: 8}[wide]; perEntry != want {
			t.Errorf("wide=%v: %d bytes an entry", wide, perEntry)
		}
		for _, d := range devs[:200] {
			ids := DayIDs(d.Key)
			for _, slot := range []int{0, 71, 143} {
				got, err := ix.Lookup(day, slot, ids[slot])
				if err != nil || !slices.Contains(got, d.ID) {
					t.Fatalf("wide=%v device %d slot %d: %v %v", wide, d.ID, slot, got, err)
				}
			}
		}
		var miss [IDLen]byte
		copy(miss[:], "not-anyone's")
		if got, _ := ix.Lookup(day, 3, miss); len(got) != 0 {
			t.Errorf("wide=%v: unknown ID matched %v", wide, got)
		}
		ix.Close()
	}
}
