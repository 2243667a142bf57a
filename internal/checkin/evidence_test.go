package checkin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// visitRow is what the visits table holds for one scan id.
type visitRow struct {
	tIn          int64
	tOut         *int64
	proof, queue int
}

func visitOf(t *testing.T, db *sqldb.DB, id string) (visitRow, bool) {
	t.Helper()
	var v visitRow
	err := db.R.QueryRow("SELECT t_in, t_out, proof, queued FROM visits WHERE id = $1 OR out_id = $1", id).Scan(&v.tIn, &v.tOut, &v.proof, &v.queue)
	return v, err == nil
}

// personN is the n-th distinct person of these tests.
func personN(n int) *people.Person {
	return &people.Person{Name: "Lê Văn Cường", Phone: fmt.Sprintf("0987%06d", n), BirthYear: 1980, Commune: "27991"}
}

// A scan's time is the server's: a phone may only give its own for a scan
// queued offline within QueuedWindow (marked queued), never in the future
// beyond the clock skew.
func TestIngestTimeRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		f.s.Now = func() time.Time { return now }
		ctx := context.Background()
		refused := []struct {
			name string
			at   time.Duration
		}{
			{"13 h old", -13 * time.Hour}, {"3 days old", -72 * time.Hour}, {"20 days old", -20 * 24 * time.Hour},
			{"just past the window", -QueuedWindow - time.Second},
			{"3 min ahead", 3 * time.Minute}, {"an hour ahead", time.Hour}, {"years ahead", 20 * 365 * 24 * time.Hour},
		}
		for i, c := range refused {
			at := now.Add(c.at)
			for _, dir := range []string{In, Out} {
				id := fmt.Sprintf("a1000000-%04d-%s", i, dir)
				_, err := f.s.Ingest(ctx, Request{ID: id, Token: f.tok, Direction: dir, Person: personN(i), At: &at})
				if !errors.Is(err, errs.ErrInvalid) || errs.FieldsOf(err)["at"] == "" {
					t.Errorf("%s %s: %v", c.name, dir, err)
				}
				if _, ok := visitOf(t, db, id); ok {
					t.Errorf("%s %s: stored", c.name, dir)
				}
			}
		}
		taken := []struct {
			name   string
			at     time.Duration
			want   time.Duration // the stored time, from now
			queued bool
		}{
			{"no time", 0, 0, false},
			{"a minute fast", time.Minute, 0, false},
			{"a minute slow", -time.Minute, 0, false},
			{"queued 2 h", -2 * time.Hour, -2 * time.Hour, true},
			{"queued overnight", -QueuedWindow + time.Minute, -QueuedWindow + time.Minute, true},
		}
		for i, c := range taken {
			req := Request{ID: fmt.Sprintf("a2000000-%04d", i), Token: f.tok, Direction: In, Person: personN(100 + i)}
			if c.at != 0 {
				at := now.Add(c.at)
				req.At = &at
			}
			r, err := f.s.Ingest(ctx, req)
			if err != nil || !r.At.Equal(now.Add(c.want)) || r.Queued != c.queued {
				t.Errorf("%s: %+v %v", c.name, r, err)
				continue
			}
			if v, _ := visitOf(t, db, req.ID); v.tIn != now.Add(c.want).Unix() || (v.queue == 1) != c.queued {
				t.Errorf("%s: stored %+v", c.name, v)
			}
		}
	})
}

// A check-out cannot come before its check-in, nor stretch a stay past the
// category's cap (a market: 3 hours).
func TestCheckOutRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		f.s.Now = func() time.Time { return now }
		ctx := context.Background()
		scan := func(id, dir string, p *people.Person, at time.Duration) (Result, error) {
			req := Request{ID: id, Token: f.tok, Direction: dir, Person: p}
			if at != 0 {
				t := now.Add(at)
				req.At = &t
			}
			return f.s.Ingest(ctx, req)
		}
		for i, back := range []time.Duration{20 * time.Minute, time.Hour, 5 * time.Hour, 11 * time.Hour} {
			p := personN(200 + i)
			in := fmt.Sprintf("b1000000-%04d-in", i)
			if _, err := scan(in, In, p, 0); err != nil {
				t.Fatal(err)
			}
			out := fmt.Sprintf("b1000000-%04d-out", i)
			if _, err := scan(out, Out, p, -back); !errors.Is(err, errs.ErrInvalid) || errs.FieldsOf(err)["at"] == "" {
				t.Errorf("check-out %v before the check-in: %v", back, err)
			}
			if v, _ := visitOf(t, db, in); v.tOut != nil {
				t.Errorf("check-out %v before the check-in closed the stay: %+v", back, v)
			}
			if _, ok := visitOf(t, db, out); ok {
				t.Errorf("check-out %v before the check-in stored", back)
			}
		}
		for i, stay := range []time.Duration{4 * time.Hour, 7 * time.Hour, 11*time.Hour + 59*time.Minute} {
			p := personN(300 + i)
			in := fmt.Sprintf("b2000000-%04d-in", i)
			if _, err := scan(in, In, p, -stay); err != nil {
				t.Fatal(err)
			}
			out := fmt.Sprintf("b2000000-%04d-out", i)
			if r, err := scan(out, Out, p, 0); err != nil || !r.Created {
				t.Fatalf("check-out after %v: %+v %v", stay, r, err)
			}
			if v, _ := visitOf(t, db, in); v.tOut != nil {
				t.Errorf("a %v stay at a market was recorded: %+v", stay, v)
			}
			// The check-out stands alone, one default stay long (45 min).
			if v, ok := visitOf(t, db, out); !ok || v.tOut == nil || *v.tOut-v.tIn != 45*60 {
				t.Errorf("check-out after %v: %+v", stay, v)
			}
		}
		// Within the cap the stay closes as before.
		p := personN(400)
		if _, err := scan("b3000000-0000-in", In, p, -150*time.Minute); err != nil {
			t.Fatal(err)
		}
		if r, err := scan("b3000000-0000-out", Out, p, 0); err != nil || !r.Created {
			t.Fatal(r, err)
		}
		if v, _ := visitOf(t, db, "b3000000-0000-in"); v.tOut == nil || *v.tOut != now.Unix() {
			t.Errorf("stay within the cap not closed: %+v", v)
		}
	})
}

// A visit is proven only when the device's proof names the person the scan
// resolves to, or when staff saw the person; typed details, and a person
// token made from them, are unproven whoever they name.
func TestIngestEvidence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first, err := f.s.Ingest(ctx, Request{ID: "c1000000-0001", Token: f.tok, Direction: In, Person: an})
		if err != nil || first.Proof != Unproven {
			t.Fatal(first, err)
		}
		anID, _ := f.s.personFromToken(first.PersonToken)
		other, err := f.s.Ingest(ctx, Request{ID: "c1000000-0002", Token: f.tok, Direction: In, Person: personN(1)})
		if err != nil {
			t.Fatal(err)
		}
		otherID, _ := f.s.personFromToken(other.PersonToken)
		cases := []struct {
			name string
			req  Request
			want int
		}{
			{"typed details of a person", Request{Person: an}, Unproven},
			{"person token from typed details", Request{PersonToken: first.PersonToken}, Unproven},
			{"proof of the same person, token", Request{PersonToken: first.PersonToken, ProvenID: anID}, PhoneProven},
			{"proof of the same person, typed", Request{Person: an, ProvenID: anID}, PhoneProven},
			{"proof of another person", Request{PersonToken: first.PersonToken, ProvenID: otherID}, Unproven},
			{"typed details of another person with a proof", Request{Person: personN(1), ProvenID: anID}, Unproven},
			{"staff saw the person", Request{PersonToken: first.PersonToken, Grade: StaffSeen}, StaffSeen},
		}
		for i, c := range cases {
			for _, dir := range []string{In, Out} {
				req := c.req
				req.ID, req.Token, req.Direction = fmt.Sprintf("c2000000-%04d-%s", i, dir), f.tok, dir
				r, err := f.s.Ingest(ctx, req)
				if err != nil || r.Proof != c.want {
					t.Errorf("%s %s: %+v %v", c.name, dir, r, err)
				}
				if v, _ := visitOf(t, db, req.ID); v.proof != c.want {
					t.Errorf("%s %s: stored proof %d, want %d", c.name, dir, v.proof, c.want)
				}
			}
		}
		// The JSON body cannot claim a grade or a proof.
		var req Request
		json.Unmarshal([]byte(`{"id":"x","ProvenID":7,"proven_id":7,"Grade":2,"grade":2,"proof":2}`), &req)
		if req.ProvenID != 0 || req.Grade != 0 {
			t.Fatalf("JSON set %+v", req)
		}
	})
}
