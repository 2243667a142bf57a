package cases

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// trace asks the tracing engine for an F0's stays and contacts, under the
// province's rules.
func (s *Service) trace(ctx context.Context, personID int64, w tracing.Window) (*tracing.Trace, error) {
	if err := s.Rules.Load(ctx); err != nil {
		return nil, err
	}
	return s.Engine.Trace(ctx, personID, w)
}

// personContact is one person's exposures to a case, summed over venues
// and sources: what a worklist row holds.
type personContact struct {
	person      int64
	venue       int64 // of the longest exposure
	source      string
	overlap     int64 // seconds, summed over venues
	first, last int64
	vulnerable  bool
	proof       int // the best evidence grade over venues and sources
	evidence    []tracing.Exposure
	via         int64
}

// byPerson folds (person, venue) contacts into one per person; the main
// venue is the most urgent one (engine order).
func byPerson(cs []tracing.Contact) []*personContact {
	idx := map[int64]*personContact{}
	var out []*personContact
	for _, c := range cs {
		pc := idx[c.PersonID]
		if pc == nil {
			pc = &personContact{person: c.PersonID, venue: c.VenueID, source: c.Source, first: c.FirstShared.Unix(), last: c.LastShared.Unix()}
			idx[c.PersonID] = pc
			out = append(out, pc)
		}
		pc.overlap += int64(c.Overlap / time.Second)
		pc.first, pc.last = min(pc.first, c.FirstShared.Unix()), max(pc.last, c.LastShared.Unix())
		pc.vulnerable = pc.vulnerable || c.Vulnerable
		pc.proof = max(pc.proof, c.Proof)
		pc.evidence = append(pc.evidence, c.Evidence...)
		if c.Source != pc.source && !strings.Contains(pc.source, c.Source) {
			pc.source += "," + c.Source
		}
	}
	return out
}

// saveTrace brings a case's stored F1s and exposure venues up to date with a
// trace, inside tx: new contacts are added, changed ones updated (an F2
// found to be an F1 is raised), outcomes kept. It returns the new F1s, and
// the known ones whose grade rose to proven (now due their message).
func (s *Service) saveTrace(ctx context.Context, tx *sql.Tx, caseID int64, tr *tracing.Trace, now int64) (added, proven []int64, err error) {
	pcs := byPerson(tr.Contacts)
	if err := s.saveExposures(ctx, tx, caseID, tr, now); err != nil {
		return nil, nil, err
	}
	return s.upsertContacts(ctx, tx, caseID, F1, pcs, now)
}

type stored struct {
	id, overlap, first, last int64
	level                    string
	proof                    int
}

func (s *Service) upsertContacts(ctx context.Context, tx *sql.Tx, caseID int64, level string, pcs []*personContact, now int64) (added, proven []int64, err error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, person_id, level, overlap_seconds, first_shared, last_shared, proof FROM contacts WHERE case_id = $1", caseID)
	if err != nil {
		return nil, nil, err
	}
	have := map[int64]stored{}
	for rows.Next() {
		var st stored
		var person int64
		if err := rows.Scan(&st.id, &person, &st.level, &st.overlap, &st.first, &st.last, &st.proof); err != nil {
			rows.Close()
			return nil, nil, err
		}
		have[person] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var fresh []*personContact
	for _, pc := range pcs {
		st, ok := have[pc.person]
		if !ok {
			fresh = append(fresh, pc)
			continue
		}
		if st.level <= level && st.overlap == pc.overlap && st.first == pc.first && st.last == pc.last && st.proof >= pc.proof {
			continue // unchanged (F1 < F2 as strings: never lower a level)
		}
		if st.level < level {
			continue // an F1 is not made an F2
		}
		ev, _ := json.Marshal(pc.evidence)
		// A grade only rises: a stay proven later (a released held record,
		// a staff scan) does not unprove what was proven before.
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET level = $1, venue_id = $2, overlap_seconds = $3, first_shared = $4,
			last_shared = $5, vulnerable = $6, evidence = $7, source = $8, via_person_id = $9, proof = $10 WHERE id = $11`,
			level, pc.venue, pc.overlap, pc.first, pc.last, b2i(pc.vulnerable), string(ev), pc.source, nullable(pc.via), max(st.proof, pc.proof), st.id); err != nil {
			return nil, nil, err
		}
		if st.proof < checkin.PhoneProven && pc.proof >= checkin.PhoneProven {
			proven = append(proven, pc.person)
		}
	}
	if len(fresh) == 0 {
		return nil, proven, nil
	}
	ids := make([]int64, len(fresh))
	for i, pc := range fresh {
		ids[i] = pc.person
	}
	where, err := s.People.Places(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	due := now + int64(s.FollowUp/time.Second)
	const cols, per = 18, 40
	head := `INSERT INTO contacts (case_id, person_id, level, via_person_id, source, venue_id, overlap_seconds, first_shared, last_shared,
		vulnerable, evidence, commune_code, district_code, province_code, created_at, due_at, quarantine_until, proof) VALUES `
	for lo := 0; lo < len(fresh); lo += per {
		chunk := fresh[lo:min(lo+per, len(fresh))]
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*cols)
		n := 0
		for _, pc := range chunk {
			pl, ok := where[pc.person]
			if !ok {
				continue // a visit of someone no longer registered
			}
			ev, _ := json.Marshal(pc.evidence)
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + sqldb.In(n*cols+1, cols) + ")")
			args = append(args, caseID, pc.person, level, nullable(pc.via), pc.source, pc.venue, pc.overlap, pc.first, pc.last,
				b2i(pc.vulnerable), string(ev), pl.Commune, pl.District, pl.Province, now, due, pc.last+int64(s.Quarantine/time.Second), pc.proof)
			added = append(added, pc.person)
			n++
		}
		if n == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, nil, err
		}
	}
	return added, proven, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// saveExposures replaces a case's exposure venues: each stay of the F0 in
// the window, stays at one venue that touch merged into one time range.
func (s *Service) saveExposures(ctx context.Context, tx *sql.Tx, caseID int64, tr *tracing.Trace, now int64) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM exposures WHERE case_id = $1", caseID); err != nil {
		return err
	}
	for _, e := range tr.Exposed(min(tr.Window.To.Unix(), now)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO exposures (case_id, venue_id, t_from, t_to, created_at, province_code)
			VALUES ($1, $2, $3, $4, $5, (SELECT province_code FROM cases WHERE id = $1))`,
			caseID, e.VenueID, e.From, e.To, now); err != nil {
			return err
		}
	}
	return nil
}

// ContactView is one contact as the API and pages show it. Phone and Name
// are set only for people within the viewer's jurisdiction.
type ContactView struct {
	ContactID      int64     `json:"contact_id,omitempty"`
	PersonID       int64     `json:"person_id"`
	Name           string    `json:"name,omitempty"`
	Phone          *string   `json:"phone"`
	Level          string    `json:"level"`
	VenueID        int64     `json:"venue_id"`
	VenueName      string    `json:"venue_name,omitempty"`
	OverlapMinutes int64     `json:"overlap_minutes"`
	FirstShared    time.Time `json:"first_shared"`
	LastShared     time.Time `json:"last_shared"`
	Source         string    `json:"source"`
	ViaPersonID    *int64    `json:"via_person_id,omitempty"`
	CommuneCode    string    `json:"commune_code"`
	Vulnerable     bool      `json:"vulnerable,omitempty"`
	// Proof is the contact's evidence grade (0 unproven: not messaged,
	// a person calls first; 1 phone proven; 2 seen by staff).
	Proof    int                `json:"proof"`
	Outcome  string             `json:"outcome,omitempty"`
	Evidence []tracing.Exposure `json:"evidence,omitempty"`
}

// ContactsResult is a case's contacts, computed when asked.
type ContactsResult struct {
	Case     Case
	Window   tracing.Window
	Contacts []ContactView
	Total    int // contacts in all, before Limit and Offset
	New      int // F1s found by this trace that were not on the list
}

// Page is a slice of a long list: Limit 0 means all.
type Page struct {
	Limit, Offset int
}

// Contacts traces an F0 now (a check-in recorded a second ago counts),
// brings the stored list up to date (new F1s join the worklist and are
// messaged) and returns the F1s, one per person and venue, then the F2s
// the last expansion found. Phones are shown within p's jurisdiction only,
// after the audit log has recorded it.
func (s *Service) Contacts(ctx context.Context, p *auth.Principal, caseID int64, pg Page, purpose string) (ContactsResult, error) {
	if !CanTrace(p) {
		return ContactsResult{}, fmt.Errorf("contacts: %w", errs.ErrForbidden)
	}
	c, acc, err := s.Open(ctx, p, caseID)
	if err != nil {
		return ContactsResult{}, err
	}
	if !acc.Personal() {
		return ContactsResult{}, fmt.Errorf("contacts of case %d: %w", caseID, errs.ErrForbidden)
	}
	res := ContactsResult{Case: c}
	var tr *tracing.Trace
	if c.Status == F0 {
		if res.Window, err = s.Window(c); err != nil {
			return ContactsResult{}, fmt.Errorf("contacts: %w", err)
		}
		if tr, err = s.trace(ctx, c.PersonID, res.Window); err != nil {
			return ContactsResult{}, fmt.Errorf("contacts: %w", err)
		}
		var added, proven []int64
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			added, proven, err = s.saveTrace(ctx, tx, c.ID, tr, s.Now().Unix())
			return err
		})
		if err != nil {
			return ContactsResult{}, fmt.Errorf("contacts: %w", err)
		}
		res.New = len(added)
		if len(added)+len(proven) > 0 {
			s.notifyNew(ctx, c)
		}
	}
	// Worklist rows: ids, outcomes, and the F2s.
	type row struct {
		id      int64
		level   string
		outcome string
		via     sql.NullInt64
		pc      personContact
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, person_id, level, outcome, via_person_id, source, venue_id, overlap_seconds, first_shared, last_shared,
		vulnerable, commune_code, proof FROM contacts WHERE case_id = $1 ORDER BY level, vulnerable DESC, overlap_seconds DESC, id`, c.ID)
	if err != nil {
		return ContactsResult{}, fmt.Errorf("contacts: %w", err)
	}
	stored := map[int64]row{}
	var ordered, f2 []row
	communes := map[int64]string{}
	for rows.Next() {
		var r row
		var vul int
		var commune string
		if err := rows.Scan(&r.id, &r.pc.person, &r.level, &r.outcome, &r.via, &r.pc.source, &r.pc.venue, &r.pc.overlap, &r.pc.first, &r.pc.last, &vul, &commune, &r.pc.proof); err != nil {
			rows.Close()
			return ContactsResult{}, fmt.Errorf("contacts: %w", err)
		}
		r.pc.vulnerable = vul == 1
		stored[r.pc.person] = r
		communes[r.pc.person] = commune
		ordered = append(ordered, r)
		if r.level != F1 {
			f2 = append(f2, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ContactsResult{}, fmt.Errorf("contacts: %w", err)
	}
	if tr != nil {
		for _, tc := range tr.Contacts {
			st := stored[tc.PersonID]
			res.Contacts = append(res.Contacts, ContactView{ContactID: st.id, PersonID: tc.PersonID, Level: F1, VenueID: tc.VenueID,
				OverlapMinutes: int64(tc.Overlap / time.Minute), FirstShared: tc.FirstShared, LastShared: tc.LastShared, Source: tc.Source,
				CommuneCode: communes[tc.PersonID], Vulnerable: tc.Vulnerable, Proof: max(tc.Proof, st.pc.proof), Outcome: st.outcome, Evidence: tc.Evidence})
		}
	} else {
		f2 = ordered // not an F0 now: the list as it was stored
	}
	for _, r := range f2 {
		v := ContactView{ContactID: r.id, PersonID: r.pc.person, Level: r.level, VenueID: r.pc.venue, OverlapMinutes: r.pc.overlap / 60,
			FirstShared: unix(r.pc.first), LastShared: unix(r.pc.last), Source: r.pc.source, CommuneCode: communes[r.pc.person],
			Vulnerable: r.pc.vulnerable, Proof: r.pc.proof, Outcome: r.outcome}
		if r.via.Valid {
			v.ViaPersonID = &r.via.Int64
		}
		res.Contacts = append(res.Contacts, v)
	}
	// Only the page asked for is decrypted and recorded as seen.
	res.Total = len(res.Contacts)
	lo := min(max(pg.Offset, 0), res.Total)
	hi := res.Total
	if pg.Limit > 0 {
		hi = min(lo+pg.Limit, res.Total)
	}
	res.Contacts = res.Contacts[lo:hi]
	if err := s.reveal(ctx, p, acc, res.Contacts, purpose); err != nil {
		return ContactsResult{}, err
	}
	return res, nil
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// asCaller makes sure the audit log names p: requests carry the principal
// in their context already, jobs and commands may not.
func asCaller(ctx context.Context, p *auth.Principal) context.Context {
	if auth.From(ctx) == nil {
		return auth.WithPrincipal(ctx, p)
	}
	return ctx
}

// reveal fills names, phones and venue names of contacts the access sees
// (p's jurisdiction, or a grant's province), recording the access in the
// audit log first (naming the grant, if any); when the audit write fails
// nothing is shown.
func (s *Service) reveal(ctx context.Context, p *auth.Principal, acc Access, cs []ContactView, purpose string) error {
	var ids []int64
	seen := map[int64]bool{}
	venues := map[int64]bool{}
	for _, c := range cs {
		if c.VenueID != 0 {
			venues[c.VenueID] = true
		}
		if c.CommuneCode != "" && acc.sees(p, c.CommuneCode) && !seen[c.PersonID] {
			seen[c.PersonID] = true
			ids = append(ids, c.PersonID)
		}
	}
	names, err := s.venueNames(ctx, venues)
	if err != nil {
		return err
	}
	for i := range cs {
		cs[i].VenueName = names[cs[i].VenueID]
	}
	if len(ids) == 0 {
		return nil
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.FormatInt(id, 10)
	}
	if purpose == "" {
		purpose = msg.Both("cases.contact_tracing")
	}
	if err := auth.Audit(asCaller(ctx, p), s.DB, auth.ActionView, "person", strs, acc.Purpose(purpose)); err != nil {
		return err
	}
	pii, err := s.People.Personal(ctx, ids)
	if err != nil {
		return err
	}
	for i := range cs {
		if d, ok := pii[cs[i].PersonID]; ok && seen[cs[i].PersonID] {
			ph := d.Phone
			cs[i].Phone, cs[i].Name = &ph, d.Name
		}
	}
	return nil
}

// venueNames names venues by id through the venue package.
func (s *Service) venueNames(ctx context.Context, ids map[int64]bool) (map[int64]string, error) {
	briefs, err := venue.Briefs(ctx, s.DB, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(briefs))
	for id, b := range briefs {
		out[id] = b.Name
	}
	return out, nil
}

// notifyNew messages new F1s of a case through the outbox, at most once per
// person per exposure (the dedup key names the case and the person), in the
// background: a busy F0 has thousands of F1s, and the request must not wait.
func (s *Service) notifyNew(ctx context.Context, c Case) {
	if s.Outbox == nil || c.Suspected {
		return
	}
	bg := s.Background
	if bg == nil {
		bg = context.Background()
	}
	go func() {
		if err := s.NotifyPending(bg, c.ID); err != nil {
			s.Log.Error("notify contacts", "case", c.ID, "err", err)
		}
	}()
}

// NotifyPending queues a message to every proven F1 of a case not messaged
// yet. An unproven contact (a phone typed at a venue, never proved) is left
// to the worklist for a person to call: a typed number may be a stranger's.
// It is safe to run twice: the outbox's dedup key and notified_at make each
// person's message go once.
func (s *Service) NotifyPending(ctx context.Context, caseID int64) error {
	if s.Outbox == nil {
		return nil
	}
	// A suspected case's F1s are called from the worklist, not messaged,
	// until district or province health confirms it.
	var suspected bool
	var province string
	if err := s.DB.R.QueryRowContext(ctx, "SELECT status = $1 AND confirmed_by IS NULL, province_code FROM cases WHERE id = $2", F0, caseID).Scan(&suspected, &province); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if suspected {
		return nil
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, person_id, first_shared, venue_id FROM contacts
		WHERE case_id = $1 AND level = 'F1' AND notified_at IS NULL AND closed = 0 AND proof >= $2 ORDER BY id`, caseID, checkin.PhoneProven)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	type contactSMS struct{ contact, person, first, venue int64 }
	var list []contactSMS
	var persons []int64
	venues := map[int64]bool{}
	for rows.Next() {
		var m contactSMS
		if err := rows.Scan(&m.contact, &m.person, &m.first, &m.venue); err != nil {
			rows.Close()
			return fmt.Errorf("notify: %w", err)
		}
		list = append(list, m)
		persons = append(persons, m.person)
		venues[m.venue] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	known, err := s.People.Places(ctx, persons) // a contact no longer registered is not messaged, nor marked
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	phones, err := s.People.Phones(ctx, persons)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	names, err := s.venueNames(ctx, venues)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	var last int64
	for _, m := range list {
		if _, ok := known[m.person]; !ok {
			continue
		}
		last = m.contact
		phone := phones[m.person]
		if phone == "" {
			continue // no phone: the commune goes door to door
		}
		place := names[m.venue]
		if place == "" {
			place = msg.T("vi", "cases.venue")
		}
		body := msg.T("vi", "cases.long_health_you_were", place, time.Unix(m.first, 0).In(hcm).Format("02/01/2006"), s.Hotline)
		if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindF1, To: phone, Body: body,
			DedupKey: fmt.Sprintf("trace:f1:case%d:person%d", caseID, m.person), Province: province}); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	if last > 0 {
		if _, err := s.DB.W.ExecContext(ctx, `UPDATE contacts SET notified_at = $1 WHERE case_id = $2 AND level = 'F1'
			AND notified_at IS NULL AND closed = 0 AND proof >= $4 AND id <= $3`, s.Now().Unix(), caseID, last, checkin.PhoneProven); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}
