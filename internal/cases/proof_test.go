package cases

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/checkin"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestOnlyProvenContactsAreMessaged: an F0 with two overlapping visitors, one
// proven and one whose phone was only typed. Exactly one SMS goes out (to the
// proven one); both are on the worklist, the unproven one with grade 0 for a
// person to call; the export shows the grades; the venue-visitor message
// skips the unproven stay too.
func TestOnlyProvenContactsAreMessaged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.visit("f0-market", "0900000001", "Chợ Bến Lức", 30, 60)
		f.visit("que-market", "0900000014", "Chợ Bến Lức", 29.8, 40)
		f.visitGraded("hoa-market", "0900000015", "Chợ Bến Lức", 29.8, 40, checkin.Unproven)
		c, err := f.s.Create(ctx, provinceTracer, NewCase{Phone: "0900000001", Status: F0, SampleDate: f.today(1)})
		if err != nil {
			t.Fatal(err)
		}
		que, hoa := f.people["0900000014"], f.people["0900000015"]
		proofOf := func(person int64) int {
			var p int
			if err := db.R.QueryRow("SELECT proof FROM contacts WHERE case_id = $1 AND person_id = $2", c.ID, person).Scan(&p); err != nil {
				t.Fatalf("contact %d: %v", person, err)
			}
			return p
		}
		if proofOf(que) != checkin.PhoneProven || proofOf(hoa) != checkin.Unproven {
			t.Errorf("stored grades: Quế %d, Hoa %d", proofOf(que), proofOf(hoa))
		}
		waitFor(t, func() bool { return f.count("SELECT count(*) FROM outbox") >= 1 })
		if err := f.s.NotifyPending(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		if n := f.count("SELECT count(*) FROM outbox"); n != 1 {
			t.Errorf("outbox holds %d messages, want 1 (the proven F1 only)", n)
		}
		if _, _, err := f.s.Outbox.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if msgs := f.rec.Messages(); len(msgs) != 1 || msgs[0].To != "0900000014" {
			t.Errorf("messages %+v", msgs)
		}
		if n := f.count("SELECT count(*) FROM contacts WHERE person_id = $1 AND notified_at IS NULL", hoa); n != 1 {
			t.Error("the unproven contact was marked as messaged")
		}
		// Both on the worklist, each with its grade.
		items, err := f.s.Worklist(ctx, communeOfficer, WorkFilter{CaseID: c.ID}, "Gọi điện F1")
		if err != nil {
			t.Fatal(err)
		}
		grades := map[int64]int{}
		for _, it := range items {
			grades[it.PersonID] = it.Proof
		}
		if len(items) != 2 || grades[que] != checkin.PhoneProven || grades[hoa] != checkin.Unproven {
			t.Errorf("worklist grades %v (%d items)", grades, len(items))
		}
		res, err := f.s.Contacts(ctx, provinceTracer, c.ID, Page{}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range res.Contacts {
			if want := grades[cv.PersonID]; cv.Proof != want {
				t.Errorf("case contacts: person %d proof %d, want %d", cv.PersonID, cv.Proof, want)
			}
		}
		var buf bytes.Buffer
		if _, err := f.s.ExportContacts(ctx, provinceTracer, c.ID, FormatXLSX, "Gửi Trạm Y tế xã", &buf); err != nil {
			t.Fatal(err)
		}
		text := xlsxText(t, &buf)
		for _, want := range []string{"Xác minh", "Chưa xác minh", "Đã xác minh SĐT"} {
			if !strings.Contains(text, want) {
				t.Errorf("XLSX lacks %q: %s", want, text)
			}
		}
		// The bulk venue-visitor message leaves the unproven stay out too.
		if n, err := f.s.NotifyVenueVisitors(ctx, provinceTracer, c.ID); err != nil || n != 1 {
			t.Errorf("venue visitors messaged: %d %v, want 1", n, err)
		}
		// A stay proven later raises the stored grade, and the SMS follows.
		if _, err := db.W.Exec("UPDATE visits SET proof = $1 WHERE id = 'hoa-market'", checkin.StaffSeen); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Refresh(ctx, c); err != nil {
			t.Fatal(err)
		}
		if proofOf(hoa) != checkin.StaffSeen {
			t.Errorf("raised grade %d", proofOf(hoa))
		}
		waitFor(t, func() bool {
			return f.count("SELECT count(*) FROM outbox WHERE dedup_key = $1", fmt.Sprintf("trace:f1:case%d:person%d", c.ID, hoa)) == 1
		})
	})
}
