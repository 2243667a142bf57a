package bluezone

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
)

// Contact-log bounds. A normal log is 14 days × ~500 distinct contact IDs a
// day × a few sightings each (~35,000 rows). MaxLogRows leaves room for busy
// days yet refuses a log a thousand times larger before it costs anything.
const (
	NormalLogRows = 14 * 500 * 5
	MaxLogRows    = 100_000
	// MaxLogBytes bounds an upload's body: MaxLogRows rows of JSON.
	MaxLogBytes = 16 << 20
	// MinRSSI and MaxRSSI bound a sighting's signal strength (dBm).
	MinRSSI = -127
	MaxRSSI = 0
	// clockSkew tolerated on a phone's sighting times.
	clockSkew = 5 * time.Minute
)

// LogRow is one sighting of a contact log.
type LogRow struct {
	OwnID     [IDLen]byte
	ContactID [IDLen]byte
	RSSI      int
	At        int64 // Unix seconds
}

// LogBody is the upload of a contact log, as DecodeLog reads it (row by
// row; this type documents the format, in the API contract).
type LogBody struct {
	Code string       `json:"code"` // the bz_log code; or the X-Bluezone-Code header
	Rows []LogRowJSON `json:"rows"`
}

// LogRowJSON is the wire form of a sighting: the phone's own rolling ID
// and the one it heard (hex), the signal strength in dBm, and when (Unix
// seconds).
type LogRowJSON struct {
	OwnID     string `json:"own_id"`
	ContactID string `json:"contact_id"`
	RSSI      *int   `json:"rssi"`
	T         *int64 `json:"t"`
}

// tooManyRows is the refusal of an oversize log, worded for the phone's user.
func tooManyRows(n int) error {
	return &errs.Invalid{Fields: map[string]string{"rows": msg.Both("bluezone.log_has_more_than", MaxLogRows, NormalLogRows)}}
}

// DecodeLog reads an upload body {"code": "...", "rows": [{own_id, contact_id,
// rssi, t}, ...]} row by row, refusing it as soon as it holds more than
// MaxLogRows rows, so an oversize log costs at most MaxLogRows rows of memory.
// Row values are checked by ValidateLog.
func DecodeLog(r io.Reader) (code string, rows []LogRow, err error) {
	const op = "bluezone decode log"
	dec := json.NewDecoder(r)
	bad := func(msg string) error {
		return fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"body": msg}})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.json_object_required")))
	}
	var rowErrs errs.Fields = errs.Fields{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.malformed_json")))
		}
		switch t {
		case "code":
			if err := dec.Decode(&code); err != nil {
				return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.code_string")))
			}
		case "rows":
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.rows_array")))
			}
			for dec.More() {
				if len(rows) >= MaxLogRows {
					return "", nil, fmt.Errorf("%s: %w", op, tooManyRows(len(rows)))
				}
				var j LogRowJSON
				if err := dec.Decode(&j); err != nil {
					return "", nil, wrapRead(op, err, bad(fmt.Sprintf("rows[%d]: ", len(rows))+msg.Both("bluezone.malformed_row")))
				}
				rows = append(rows, parseRow(j, len(rows), rowErrs))
			}
			if _, err := dec.Token(); err != nil {
				return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.malformed_json")))
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.malformed_json")))
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return "", nil, wrapRead(op, err, bad(msg.Both("bluezone.malformed_json")))
	}
	if err := rowErrs.Err(); err != nil {
		return "", nil, fmt.Errorf("%s: %w", op, err)
	}
	return code, rows, nil
}

// wrapRead keeps a body-size refusal (from the HTTP layer's limit) as such.
func wrapRead(op string, err, fallback error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%s: %w", op, errs.ErrTooLarge)
	}
	return fallback
}

// addRowErr keeps at most 20 row problems: one bad phone client makes the
// same mistake on every row, and the first few say it all.
func addRowErr(f errs.Fields, key, msg string) {
	if len(f) < 20 {
		f.Add(key, msg)
	}
}

func parseRow(j LogRowJSON, i int, f errs.Fields) LogRow {
	var r LogRow
	p := fmt.Sprintf("rows[%d].", i)
	for _, c := range []struct {
		name string
		s    string
		dst  *[IDLen]byte
	}{{"own_id", j.OwnID, &r.OwnID}, {"contact_id", j.ContactID, &r.ContactID}} {
		if len(c.s) != 2*IDLen {
			addRowErr(f, p+c.name, msg.Both("bluezone.id_hex_characters_got", 2*IDLen, len(c.s)))
		} else if _, err := hex.Decode(c.dst[:], []byte(c.s)); err != nil {
			addRowErr(f, p+c.name, msg.Both("bluezone.id_not_hex")+": "+err.Error())
		}
	}
	if j.RSSI == nil {
		addRowErr(f, p+"rssi", msg.Both("bluezone.rssi_missing"))
	} else {
		r.RSSI = *j.RSSI
	}
	if j.T == nil {
		addRowErr(f, p+"t", msg.Both("bluezone.t_missing"))
	} else {
		r.At = *j.T
	}
	return r
}

// ValidateLog checks every row's values at now: RSSI in range, time within the
// kept days and not in the future. All problems are reported, none stored.
func (s *Service) ValidateLog(rows []LogRow, now time.Time) error {
	f := errs.Fields{}
	if len(rows) == 0 {
		f.Add("rows", msg.Both("bluezone.log_empty"))
	}
	if len(rows) > MaxLogRows {
		return tooManyRows(len(rows))
	}
	oldest := DayStart(now).AddDate(0, 0, -(max(s.KeepDays, 1) - 1)).Unix()
	latest := now.Add(clockSkew).Unix()
	for i, r := range rows {
		p := fmt.Sprintf("rows[%d].", i)
		if r.RSSI < MinRSSI || r.RSSI > MaxRSSI {
			addRowErr(f, p+"rssi", msg.Both("bluezone.rssi_in_dbm", MinRSSI, MaxRSSI))
		}
		switch {
		case r.At > latest:
			addRowErr(f, p+"t", msg.Both("bluezone.sighting_in_future"))
		case r.At < oldest:
			addRowErr(f, p+"t", msg.Both("bluezone.sighting_older_than_days", s.KeepDays))
		}
	}
	return f.Err()
}

// Contact is one F1 candidate from Bluetooth with its evidence: the seam
// through which tracing adds Bluetooth contacts beside the QR ones.
type Contact struct {
	PersonID      int64     `json:"person_id"`
	DeviceID      int64     `json:"device_id"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	Slots         int       `json:"slots"`          // distinct 10-minute slots with a sighting
	StrongestRSSI int       `json:"strongest_rssi"` // dBm; closer is stronger (nearer 0)
	Sightings     int       `json:"sightings"`
}

// slotHit is the evidence of one contact device in one slot.
type slotHit struct {
	device, person    int64
	slotStart         int64
	first, last, rssi int64
	n                 int
}

// Resolution is the result of resolving a log.
type Resolution struct {
	Rows         int       `json:"rows"`
	DistinctIDs  int       `json:"distinct_ids"`
	ResolvedIDs  int       `json:"resolved_ids"`
	FalseMatches int       `json:"false_matches"` // truncated-ID matches the full check threw out
	OwnDevice    int64     `json:"own_device"`
	OwnPerson    int64     `json:"-"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
	Contacts     []Contact `json:"contacts"`
	hits         []slotHit
}

type idKey struct {
	day  int64
	slot int
	id   [IDLen]byte
}

type idAgg struct {
	first, last int64
	rssi        int
	n           int
}

// deviceRow is what verification needs of a matched phone.
type deviceRow struct {
	person int64
	key    [KeyLen]byte
	keyDay int64
}

// Resolve finds, for each distinct (day, slot, contact ID) of the log, the
// registered phone that broadcast it, checks every match against the phone's
// full recomputed ID, and groups the sightings by person. excludePerson (the
// F0) is never a contact of their own. Rows must be validated.
func (s *Service) Resolve(ctx context.Context, rows []LogRow, excludePerson int64) (*Resolution, error) {
	const op = "bluezone resolve"
	res := &Resolution{Rows: len(rows)}
	agg := map[idKey]*idAgg{}
	own := map[idKey]bool{}
	days := map[int64]bool{}
	var first, last int64 = 1 << 62, 0
	for _, r := range rows {
		t := time.Unix(r.At, 0)
		d, slot := DayNumber(t), int(t.Sub(DayStart(t))/SlotDuration)
		days[d] = true
		k := idKey{d, slot, r.ContactID}
		a := agg[k]
		if a == nil {
			a = &idAgg{first: r.At, last: r.At, rssi: r.RSSI}
			agg[k] = a
		}
		a.first, a.last, a.rssi, a.n = min(a.first, r.At), max(a.last, r.At), max(a.rssi, r.RSSI), a.n+1
		own[idKey{d, slot, r.OwnID}] = true
		first, last = min(first, r.At), max(last, r.At)
	}
	res.DistinctIDs = len(agg)
	if len(rows) > 0 {
		res.First, res.Last = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	}
	dayList := make([]int64, 0, len(days))
	for d := range days {
		dayList = append(dayList, d)
	}
	slices.Sort(dayList)
	if err := s.ensureForResolve(ctx, dayList); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}

	// Look up every distinct contact ID, and the phone's own IDs (a sample:
	// they all belong to one phone) to learn which registration uploaded.
	keys := make([]idKey, 0, len(agg)+32)
	for k := range agg {
		keys = append(keys, k)
	}
	nContact := len(keys)
	for k := range own {
		if len(keys)-nContact >= 32 {
			break
		}
		keys = append(keys, k)
	}
	found, err := s.lookupAll(keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	matches := map[int64][]idKey{}
	ownVotes := map[int64]int{}
	ownMatches := map[int64][]idKey{}
	for i, k := range keys {
		for _, d := range found[i] {
			if i < nContact {
				matches[d] = append(matches[d], k)
			} else {
				ownVotes[d]++
				ownMatches[d] = append(ownMatches[d], k)
			}
		}
	}
	ids := make([]int64, 0, len(matches)+len(ownVotes))
	for d := range matches {
		ids = append(ids, d)
	}
	for d := range ownVotes {
		if _, ok := matches[d]; !ok {
			ids = append(ids, d)
		}
	}
	devices, err := s.devicesForCheck(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}

	// The check: recompute each matched phone's IDs for the days it matched
	// and keep only the sightings whose full 12-byte ID is the phone's.
	best := 0
	for d, votes := range ownVotes {
		dr, ok := devices[d]
		if !ok {
			continue
		}
		good := len(verify(dr, ownMatches[d]))
		if good > best && good*2 > votes {
			best, res.OwnDevice, res.OwnPerson = good, d, dr.person
		}
	}
	verified := verifyAll(devices, matches)
	byPerson := map[int64]*Contact{}
	resolved := map[idKey]bool{}
	for d, keys := range matches {
		dr, ok := devices[d]
		if !ok {
			continue // erased since the index was built
		}
		good := verified[d]
		res.FalseMatches += len(keys) - len(good)
		if d == res.OwnDevice || dr.person == excludePerson || (res.OwnPerson != 0 && dr.person == res.OwnPerson) || len(good) == 0 {
			continue
		}
		c := byPerson[dr.person]
		if c == nil {
			c = &Contact{PersonID: dr.person, DeviceID: d, StrongestRSSI: MinRSSI - 1}
			byPerson[dr.person] = c
		}
		for _, k := range good {
			resolved[k] = true
			a := agg[k]
			slotStart := DayStartOf(k.day) + int64(k.slot)*int64(SlotDuration/time.Second)
			res.hits = append(res.hits, slotHit{device: d, person: dr.person, slotStart: slotStart, first: a.first, last: a.last, rssi: int64(a.rssi), n: a.n})
			ft, lt := time.Unix(a.first, 0).UTC(), time.Unix(a.last, 0).UTC()
			if c.FirstSeen.IsZero() || ft.Before(c.FirstSeen) {
				c.FirstSeen = ft
			}
			if lt.After(c.LastSeen) {
				c.LastSeen = lt
			}
			c.StrongestRSSI = max(c.StrongestRSSI, a.rssi)
			c.Sightings += a.n
			c.Slots++ // one key per (day, slot, id); a phone has one ID per slot
		}
	}
	res.ResolvedIDs = len(resolved)
	for _, c := range byPerson {
		res.Contacts = append(res.Contacts, *c)
	}
	sortContacts(res.Contacts)
	return res, nil
}

// lookupWorkers bounds the index reads in flight: when the index is not in
// the page cache each lookup is one random read, and a disk serves many at
// once far faster than one after another.
const lookupWorkers = 32

// lookupAll looks every key up in the index, in parallel; found[i] are the
// devices of keys[i].
func (s *Service) lookupAll(keys []idKey) ([][]int64, error) {
	found := make([][]int64, len(keys))
	errs := make([]error, lookupWorkers)
	var wg sync.WaitGroup
	for w := range lookupWorkers {
		wg.Go(func() {
			for i := w; i < len(keys); i += lookupWorkers {
				k := keys[i]
				devs, err := s.Index.Lookup(k.day, k.slot, k.id)
				if err != nil {
					errs[w] = err
					return
				}
				found[i] = devs
			}
		})
	}
	wg.Wait()
	return found, errors.Join(errs...)
}

// sortContacts orders candidates by closeness: most slots together first,
// then strongest signal, then person id for a stable order.
func sortContacts(cs []Contact) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Slots != b.Slots {
			return a.Slots > b.Slots
		}
		if a.StrongestRSSI != b.StrongestRSSI {
			return a.StrongestRSSI > b.StrongestRSSI
		}
		return a.PersonID < b.PersonID
	})
}

// DayStartOf returns the Unix time of the start of day number d (Vietnam).
func DayStartOf(d int64) int64 { return d*86400 - 7*3600 }

// verifyAll runs verify for every matched device that is still registered,
// on every core: recomputing IDs is most of a resolution's work.
func verifyAll(devices map[int64]deviceRow, matches map[int64][]idKey) map[int64][]idKey {
	ids := make([]int64, 0, len(matches))
	for d := range matches {
		if _, ok := devices[d]; ok {
			ids = append(ids, d)
		}
	}
	good := make([][]idKey, len(ids))
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ids); i += workers {
				good[i] = verify(devices[ids[i]], matches[ids[i]])
			}
		})
	}
	wg.Wait()
	out := make(map[int64][]idKey, len(ids))
	for i, d := range ids {
		out[d] = good[i]
	}
	return out
}

// verify returns the keys whose full ID is the one the phone broadcast.
func verify(dr deviceRow, keys []idKey) []idKey {
	byDay := map[int64][]idKey{}
	for _, k := range keys {
		byDay[k.day] = append(byDay[k.day], k)
	}
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	var good []idKey
	var daily [KeyLen]byte
	at := int64(-1)
	for _, d := range days {
		if d < dr.keyDay || d-dr.keyDay > MaxChainDays {
			continue
		}
		if at < 0 {
			daily, at = DailyKey(dr.key, int(d-dr.keyDay)), d
		}
		for ; at < d; at++ {
			daily = NextDailyKey(daily)
		}
		last := 0
		for _, k := range byDay[d] {
			last = max(last, k.slot)
		}
		var ids [SlotsPerDay][IDLen]byte
		dayIDsTo(daily, last, &ids)
		for _, k := range byDay[d] {
			if ids[k.slot] == k.id {
				good = append(good, k)
			}
		}
	}
	return good
}

// devicesForCheck loads the person and key of each registered device in ids.
func (s *Service) devicesForCheck(ctx context.Context, ids []int64) (map[int64]deviceRow, error) {
	out := make(map[int64]deviceRow, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		batch := ids[:n]
		ids = ids[n:]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id, person_id, key_enc, key_day FROM bz_devices WHERE id IN ("+sqldb.In(1, len(batch))+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var dr deviceRow
			var enc []byte
			if err := rows.Scan(&id, &dr.person, &enc, &dr.keyDay); err != nil {
				rows.Close()
				return nil, err
			}
			k, err := s.Vault.Open(enc)
			if err != nil || len(k) != KeyLen {
				rows.Close()
				return nil, fmt.Errorf("device %d: key does not unseal", id)
			}
			copy(dr.key[:], k)
			out[id] = dr
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UploadResult is what the F0's phone is told: counts only, never who.
type UploadResult struct {
	UploadID    int64 `json:"upload_id"`
	Rows        int   `json:"rows"`
	DistinctIDs int   `json:"distinct_ids"`
	ResolvedIDs int   `json:"resolved_ids"`
	Candidates  int   `json:"candidates"`
}

// UploadLog is the centralised tracing path: with a bz_log code a tracer
// issued for an F0, the F0's phone uploads its contact log; the log is
// checked, resolved, and the candidates stored for the F0's case in one
// transaction that also uses up the code. Any problem stores nothing.
func (s *Service) UploadLog(ctx context.Context, code, client string, rows []LogRow) (UploadResult, error) {
	const op = "bluezone upload log"
	if len(rows) > MaxLogRows {
		return UploadResult{}, fmt.Errorf("%s: %w", op, tooManyRows(len(rows)))
	}
	k, err := s.Codes.Verify(ctx, exposure.PurposeBluezoneLog, "", code, client)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	if err := s.ValidateLog(rows, now); err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", op, err)
	}
	res, err := s.Resolve(ctx, rows, k.PersonID)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", op, err)
	}
	if res.OwnPerson != 0 && res.OwnPerson != k.PersonID {
		s.Log.Warn("bluezone: contact log uploaded with a code for another person's registered phone",
			"code_person", k.PersonID, "phone_person", res.OwnPerson)
	}
	var out UploadResult
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, k); err != nil {
			return err
		}
		dist, prov := unitOf(k.Commune)
		var own any
		if res.OwnDevice != 0 {
			own = res.OwnDevice
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO bz_uploads (person_id, code_id, own_device_id, rows_in, ids_in, ids_resolved,
			candidates, first_at, last_at, commune_code, district_code, province_code, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			k.PersonID, k.ID, own, res.Rows, res.DistinctIDs, res.ResolvedIDs, len(res.Contacts),
			res.First.Unix(), res.Last.Unix(), k.Commune, dist, prov, now.Unix()).Scan(&out.UploadID); err != nil {
			return err
		}
		return insertHits(ctx, tx, out.UploadID, prov, res.hits)
	})
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", op, err)
	}
	out.Rows, out.DistinctIDs, out.ResolvedIDs, out.Candidates = res.Rows, res.DistinctIDs, res.ResolvedIDs, len(res.Contacts)
	return out, nil
}

// insertHits stores an upload's resolved contacts with the upload's
// province (their distribution key).
func insertHits(ctx context.Context, tx *sql.Tx, upload int64, province string, hits []slotHit) error {
	const per = 50 // see values: SQLite names $N parameters in quadratic time
	for len(hits) > 0 {
		n := min(per, len(hits))
		var b strings.Builder
		b.WriteString("INSERT INTO bz_sightings (upload_id, device_id, person_id, slot_start, first_at, last_at, max_rssi, n, province_code) VALUES ")
		args := make([]any, 0, n*9)
		for i, h := range hits[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(" + sqldb.In(len(args)+1, 9) + ")")
			args = append(args, upload, h.device, h.person, h.slotStart, h.first, h.last, h.rssi, h.n, province)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		hits = hits[n:]
	}
	return nil
}

// CanTrace reports whether p may read Bluetooth contacts: those who trace.
func CanTrace(p *auth.Principal) bool { return exposure.CanIssue(p) }

// ContactsOf returns the Bluetooth F1 candidates of person (an F0) seen
// between from and to, from every contact log the F0's phone uploaded, one
// per contact person with the evidence over that window, closest first.
// The caller in ctx must trace and hold the F0 in their jurisdiction. No
// personal data is returned, only person ids: the caller audits before
// showing who they are.
func (s *Service) ContactsOf(ctx context.Context, person int64, from, to time.Time) ([]Contact, error) {
	const op = "bluezone contacts"
	p := auth.From(ctx)
	if !CanTrace(p) {
		return nil, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	places, err := s.People.Places(ctx, []int64{person})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	place, ok := places[person]
	if !ok {
		return nil, fmt.Errorf("%s: person %d: %w", op, person, errs.ErrNotFound)
	}
	if !p.InJurisdiction(place.Commune) {
		return nil, fmt.Errorf("%s: person %d: %w", op, person, errs.ErrForbidden)
	}
	return s.contactsOf(ctx, person, from, to)
}

// contactsOf is ContactsOf without the caller check (for the tracing source).
func (s *Service) contactsOf(ctx context.Context, person int64, from, to time.Time) ([]Contact, error) {
	const op = "bluezone contacts"
	rows, err := s.DB.R.QueryContext(ctx, `SELECT s.person_id, min(s.device_id), min(s.first_at), max(s.last_at),
		count(DISTINCT s.slot_start), max(s.max_rssi), sum(s.n)
		FROM bz_sightings s JOIN bz_uploads u ON u.id = s.upload_id
		WHERE u.person_id = $1 AND s.last_at >= $2 AND s.first_at < $3 AND s.person_id <> $1
		GROUP BY s.person_id`, person, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		var f, l int64
		if err := rows.Scan(&c.PersonID, &c.DeviceID, &f, &l, &c.Slots, &c.StrongestRSSI, &c.Sightings); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		c.FirstSeen, c.LastSeen = time.Unix(f, 0).UTC(), time.Unix(l, 0).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	sortContacts(out)
	return out, nil
}

// Upload is one contact-log upload of an F0, for the tracer's page.
type Upload struct {
	ID          int64     `json:"id"`
	PersonID    int64     `json:"person_id"`
	Rows        int       `json:"rows"`
	DistinctIDs int       `json:"distinct_ids"`
	ResolvedIDs int       `json:"resolved_ids"`
	Candidates  int       `json:"candidates"`
	First       time.Time `json:"first"`
	Last        time.Time `json:"last"`
	CreatedAt   time.Time `json:"created_at"`
}

// Uploads lists the newest contact-log uploads within the caller's
// jurisdiction (by the F0's commune).
func (s *Service) Uploads(ctx context.Context, limit int) ([]Upload, error) {
	const op = "bluezone uploads"
	p := auth.From(ctx)
	if !CanTrace(p) {
		return nil, fmt.Errorf("%s: %w", op, errs.ErrForbidden)
	}
	q := "SELECT id, person_id, rows_in, ids_in, ids_resolved, candidates, first_at, last_at, created_at FROM bz_uploads"
	args := []any{}
	if col, val := p.Scope(); col != "" {
		q += " WHERE " + col + " = $1"
		args = append(args, val)
	}
	args = append(args, limit)
	rows, err := s.DB.R.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []Upload
	for rows.Next() {
		var u Upload
		var f, l, c int64
		if err := rows.Scan(&u.ID, &u.PersonID, &u.Rows, &u.DistinctIDs, &u.ResolvedIDs, &u.Candidates, &f, &l, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		u.First, u.Last, u.CreatedAt = time.Unix(f, 0).UTC(), time.Unix(l, 0).UTC(), time.Unix(c, 0).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}
