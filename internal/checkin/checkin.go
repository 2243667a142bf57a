// Package checkin records people entering and leaving venues. It is the path
// millions of phones touch every day: requests are validated without a
// database round trip where possible (signed tokens, cached venues and
// people) and written by a group-commit writer, so an acknowledged check-in
// is on disk and a burst costs one fsync per batch, not per scan.
package checkin

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"sync"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// Directions.
const (
	In  = "in"
	Out = "out"
)

// Evidence grades of a visit (visits.proof): how sure we are that the
// person it names was there. Automatic F1 messages go only to grade 1 and up.
const (
	Unproven    = 0 // details typed, or a person token made from typed details
	PhoneProven = 1 // the device proved the phone number with a one-time code
	StaffSeen   = 2 // staff scanned a proven person's personal QR or a chip ID card
)

// Request is one scan as a phone or a staff device sends it. ProvenID and
// Grade come from the server side (the device's proof cookie, the staff
// scan), never from the JSON body.
type Request struct {
	ID          string         `json:"id"`
	Token       string         `json:"token"`
	Direction   string         `json:"direction"`
	At          *time.Time     `json:"at,omitempty"`
	Person      *people.Person `json:"person,omitempty"`
	PersonToken string         `json:"person_token,omitempty"`
	ProvenID    int64          `json:"-"` // the person the device's proof cookie names; 0: none
	Grade       int            `json:"-"` // the grade a staff scan saw (StaffSeen), else Unproven
}

// Result is what a check-in did.
type Result struct {
	Created     bool      `json:"created"` // false: the same id was recorded before
	ID          string    `json:"id"`
	Direction   string    `json:"direction"`
	At          time.Time `json:"at"`
	VenueID     int64     `json:"venue_id"`
	VenueName   string    `json:"venue_name"`
	PersonToken string    `json:"person_token"` // lets the phone check in again without resending details
	Queued      bool      `json:"queued"`       // the phone's own time was kept (an offline-queued scan)
	Proof       int       `json:"proof"`        // the evidence grade stored
}

// Verifier checks venue tokens (internal/token's Keyring).
type Verifier interface {
	Verify(tok string) (token.Claims, error)
}

// Service ingests check-ins.
type Service struct {
	DB        *sqldb.DB
	People    *people.Service
	Vault     *vault.Vault
	Tokens    Verifier
	Retention time.Duration
	Now       func() time.Time

	venues sync.Map // venue id → cachedVenue
	writer *writer
	screen screen // plausibility rules (plausible.go)

	outcomes outcomes // scans accepted, held and refused (outcomes.go)
}

// NewService starts the service's writer; Close stops it.
func NewService(ctx context.Context, db *sqldb.DB, p *people.Service, v *vault.Vault, tokens Verifier, retention time.Duration) (*Service, error) {
	w, err := newWriter(ctx, db, p)
	if err != nil {
		return nil, err
	}
	return &Service{DB: db, People: p, Vault: v, Tokens: tokens, Retention: retention, Now: time.Now, writer: w}, nil
}

// NewStoreless is a service that checks, screens and answers every scan as
// NewService's does but stores none: the no-database server bench ingest
// compares the durable one with, whose difference is what storing costs.
// A new phone's person gets a made-up id.
func NewStoreless(db *sqldb.DB, p *people.Service, v *vault.Vault, tokens Verifier) *Service {
	w := &writer{storeless: true, stop: make(chan struct{})}
	w.made.Store(1 << 40)
	return &Service{DB: db, People: p, Vault: v, Tokens: tokens, Now: time.Now, writer: w}
}

// Batches reports how many batches the writer has written, the scans in
// them and the transactions that committed them.
func (s *Service) Batches() (batches, scans, commits int64) {
	return s.writer.batches.Load(), s.writer.scans.Load(), s.writer.commits.Load()
}

// Close stops the writer after it has written what it was handed and
// committed it: readers see every acknowledged scan. (While it runs, a scan
// is durable when acknowledged and visible to readers within commitEvery.)
func (s *Service) Close() { s.writer.close() }

// venueTTL bounds how long a suspension takes to reach this server's cache
// when another server (or the database directly) changed it.
const venueTTL = 30 * time.Second

type cachedVenue struct {
	v       venue.Venue
	fetched time.Time
}

// Venue returns a venue's current state, cached briefly.
func (s *Service) Venue(ctx context.Context, id int64) (venue.Venue, error) {
	if c, ok := s.venues.Load(id); ok && s.Now().Sub(c.(cachedVenue).fetched) < venueTTL {
		return c.(cachedVenue).v, nil
	}
	v, err := venue.Door(ctx, s.DB, id)
	if err != nil {
		return venue.Venue{}, err
	}
	s.venues.Store(id, cachedVenue{v, s.Now()})
	return v, nil
}

// Forget drops a venue from the cache (after its status or QR changed here).
func (s *Service) Forget(id int64) { s.venues.Delete(id) }

// VenueOf verifies a scanned token and returns the venue it names, refusing
// forged tokens, replaced posters and venues not open for check-ins.
func (s *Service) VenueOf(ctx context.Context, tok string) (venue.Venue, error) {
	cl, err := s.Tokens.Verify(tok)
	if err != nil {
		return venue.Venue{}, err
	}
	v, err := s.Venue(ctx, cl.VenueID)
	if err != nil {
		return venue.Venue{}, err
	}
	if cl.Gen != v.QRGen {
		return venue.Venue{}, refuse(v, msg.Both("checkin.qr_code_was_replaced"))
	}
	return v, open(v)
}

func refuse(v venue.Venue, msg string) error {
	return fmt.Errorf("venue %d: %w", v.ID, &errs.Invalid{Fields: map[string]string{"token": msg}})
}

// open refuses venues that may not take scans.
func open(v venue.Venue) error {
	switch v.Status {
	case venue.StatusApproved:
		return nil
	case venue.StatusSuspended:
		return refuse(v, msg.Both("checkin.venue_suspended"))
	case venue.StatusClosed:
		return refuse(v, msg.Both("checkin.venue_closed"))
	}
	return refuse(v, msg.Both("checkin.venue_not_approved_yet"))
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// clockSkew is how far a phone's clock may be from the server's: a scan
// time within it is taken as "now" (the server's receive time), one beyond
// it in the future is refused.
const clockSkew = 2 * time.Minute

// QueuedWindow is how old a scan's own time may be when the phone sends it
// late from its offline queue. Twelve hours lets a phone that was offline
// for a work shift or overnight still deliver its scans, and bounds what a
// forged time can do: an attacker can backdate a scan by at most half a
// day, not to an F0's venue days ago (and such a scan is marked queued,
// unproven unless the device proved the phone, and checked for plausibility).
const QueuedWindow = 12 * time.Hour

// Ingest validates a scan and records it once: a repeat of the same id by
// the same person (a retry, a double tap; ids are unique per person)
// changes nothing and reports Created false. It returns only after the
// record is committed.
func (s *Service) Ingest(ctx context.Context, req Request) (Result, error) {
	return s.ingest(ctx, req, func() (venue.Venue, error) { return s.VenueOf(ctx, req.Token) })
}

// IngestAt records a scan made on a venue's staff device, whose user the
// caller has authorised for the venue: no token is needed.
func (s *Service) IngestAt(ctx context.Context, venueID int64, req Request) (Result, error) {
	return s.ingest(ctx, req, func() (venue.Venue, error) {
		v, err := s.Venue(ctx, venueID)
		if err != nil {
			return venue.Venue{}, err
		}
		return v, open(v)
	})
}

func (s *Service) ingest(ctx context.Context, req Request, venueOf func() (venue.Venue, error)) (_ Result, err error) {
	held := false
	defer func() { s.outcomes.count(held, err) }()
	now := s.Now().UTC()
	f := errs.Fields{}
	if !idRE.MatchString(req.ID) {
		f.Add("id", msg.Both("checkin.id_client_generated_uuid"))
	}
	if req.Direction != In && req.Direction != Out {
		f.Add("direction", msg.Both("checkin.direction_in_or_out"))
	}
	at, queued := now, false
	if req.At != nil {
		switch t := req.At.UTC(); {
		case t.After(now.Add(clockSkew)):
			f.Add("at", msg.Both("checkin.scan_time_in_future"))
		case t.Before(now.Add(-QueuedWindow)):
			f.Add("at", msg.Both("checkin.scan_time_too_old", int(QueuedWindow.Hours())))
		case t.Before(now.Add(-clockSkew)):
			at, queued = t, true
		}
	}
	var personID int64
	var person people.Person
	switch {
	case req.PersonToken != "":
		id, ok := s.personFromToken(req.PersonToken)
		if !ok {
			f.Add("person_token", msg.Both("checkin.remembered_person_invalid_enter"))
		}
		personID = id
	case req.Person != nil:
		person = *req.Person
		if err := people.Validate(&person, now); err != nil {
			for k, v := range errs.FieldsOf(err) {
				f.Add("person."+k, v)
			}
		} else {
			_, h := s.People.Key(person)
			personID, _ = s.People.Cached(h)
		}
	default:
		f.Add("person", msg.Both("checkin.person_details_required"))
	}
	if err := f.Err(); err != nil {
		return Result{}, fmt.Errorf("check-in: %w", err)
	}
	v, err := venueOf()
	if err != nil {
		return Result{}, fmt.Errorf("check-in: %w", err)
	}
	cat, _ := venue.CategoryOf(v.Category)
	it := item{id: req.ID, venueID: v.ID, dir: req.Direction, at: at.Unix(), stay: int64(cat.DefaultStay.Seconds()),
		maxStay: int64(maxStay(cat).Seconds()), personID: personID, proven: req.ProvenID, proof: req.Grade, queued: queued, province: v.ProvinceCode}
	if personID == 0 {
		sp := s.People.Seal(person) // encryption runs here, in parallel, not in the writer
		it.person = &sp
	}
	if res, h, err := s.screenScan(ctx, it, person, v, now); h {
		held = true
		return res, err
	}
	out, err := s.writer.submit(ctx, it)
	if err != nil {
		return Result{}, fmt.Errorf("check-in: %w", err)
	}
	s.screened(it, v, out.personID)
	return Result{Created: out.created, ID: req.ID, Direction: req.Direction, At: at, VenueID: v.ID, VenueName: v.Name,
		PersonToken: s.PersonToken(out.personID), Queued: queued, Proof: out.proof}, nil
}

// maxStay is the category's cap on one stay: a check-out closes an open
// stay only if it began at most this long before, so a late or forged
// check-out cannot stretch a visit over hours nobody was there. Four default
// stays, between 2 and 12 hours: a market visit may last 3 hours, a factory
// shift with overtime 12.
func maxStay(cat venue.Category) time.Duration {
	return min(max(4*cat.DefaultStay, 2*time.Hour), 12*time.Hour)
}

const personTag = "person-token/v1"

// PersonToken returns the token a phone keeps to check in as this person again.
func (s *Service) PersonToken(id int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(id))
	return base64.RawURLEncoding.EncodeToString(append(b, s.Vault.Tag(personTag, b)...))
}

// PersonOf returns the person a person token names, when its tag is right.
func (s *Service) PersonOf(tok string) (int64, bool) { return s.personFromToken(tok) }

func (s *Service) personFromToken(tok string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 || !s.Vault.CheckTag(personTag, b[:8], b[8:]) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[:8])), true
}
