package bluezone

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"anticovid/internal/geo"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// SimPhone is one simulated Bluezone phone: what a real phone would have
// registered, generated deterministically from a seed.
type SimPhone struct {
	Index   int
	Key     [KeyLen]byte
	BaseDay int64 // Vietnamese day number the key was made
	Phone   string
	Commune string
}

// SimPhones makes n phones for seed: keys from SHA-256(seed, i), base days
// spread over the 20–59 days before now (so chains have realistic lengths),
// communes drawn from communes, phone numbers 09xxxxxxxx by index.
func SimPhones(seed uint64, n int, now time.Time, communes []string) []SimPhone {
	today := DayNumber(now)
	out := make([]SimPhone, n)
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], seed)
	for i := range out {
		binary.LittleEndian.PutUint64(buf[8:], uint64(i))
		out[i] = SimPhone{Index: i, Key: sha256.Sum256(buf[:]), BaseDay: today - 20 - int64(i%40),
			Phone: fmt.Sprintf("09%08d", i%100_000_000), Commune: communes[i%len(communes)]}
	}
	return out
}

// BulkRegister stores simulated phones as registered devices, each with a
// person, in batched transactions: the fast path a simulation or benchmark
// needs to load a million phones (the API registers one phone at a time).
// Rows get explicit ids after the current largest; on PostgreSQL the caller
// moves the id sequences on afterwards (store.SyncSequence for "people" and
// "bz_devices"). It returns the person id of each phone, by index.
func BulkRegister(ctx context.Context, db *sqldb.DB, v *vault.Vault, phones []SimPhone, now time.Time, progress func(done int)) ([]int64, error) {
	const op = "bluezone bulk register"
	var nextDevice int64
	nextPerson, err := people.MaxID(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var seq int64
	if err := db.R.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM bz_devices").Scan(&nextDevice); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := db.R.QueryRowContext(ctx, "SELECT n FROM bz_seq WHERE id = 1").Scan(&seq); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	nextDevice = max(nextDevice, seq)
	persons := make([]int64, len(phones))
	// Statements of 25 rows: SQLite resolves $N names in time quadratic in
	// their number, so a few hundred parameters per statement is the sweet
	// spot. Transactions of 10,000 rows: each costs an fsync. People go
	// through their owner's bulk path, in the same transaction as their
	// devices, and so does the device sequence.
	const batch, per = 10000, 25
	dq := `INSERT INTO bz_devices (id, person_id, phone_hash, key_enc, key_day, base_day, platform, token_hash,
		commune_code, district_code, province_code, registered_at, last_seen_at) VALUES `
	tok := make([]byte, 16)
	for lo := 0; lo < len(phones); lo += batch {
		hi := min(len(phones), lo+batch)
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			pb, devices := people.NewBulk(tx), sqldb.NewBulk(tx, dq, 13)
			defer pb.Close()
			defer devices.Close()
			for c := lo; c < hi; c += per {
				ce := min(hi, c+per)
				prows := make([]people.BulkRow, 0, ce-c)
				dargs := make([]any, 0, (ce-c)*13)
				for i := c; i < ce; i++ {
					ph := phones[i]
					nextPerson++
					nextDevice++
					persons[i] = nextPerson
					dist, prov := unitOf(ph.Commune)
					hash := v.Hash(ph.Phone)
					prows = append(prows, people.BulkRow{ID: nextPerson, CreatedAt: now.Unix(), Sealed: people.Sealed{
						Name: v.Seal(fmt.Sprintf("Người thử nghiệm %d", ph.Index)), Phone: v.Seal(ph.Phone), PhoneHash: hash,
						BirthYear: 1950 + ph.Index%60, Commune: ph.Commune, District: dist, Province: prov}})
					rand.Read(tok)
					// Three phones in four called in this week: "active".
					seen := now.Unix()
					if ph.Index%4 == 3 {
						seen = now.Add(-30 * 24 * time.Hour).Unix()
					}
					dargs = append(dargs, nextDevice, nextPerson, hash, v.Seal(string(ph.Key[:])), ph.BaseDay, ph.BaseDay, Platforms[ph.Index%2],
						tokenHash(hex.EncodeToString(tok)), ph.Commune, dist, prov, now.Unix(), seen)
				}
				if err := pb.Insert(ctx, prows); err != nil {
					return err
				}
				if err := devices.Exec(ctx, dargs); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE bz_seq SET n = $1 WHERE id = 1 AND n < $1", nextDevice)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if progress != nil {
			progress(hi)
		}
	}
	return persons, nil
}

// SimLogSpec shapes a simulated contact log.
type SimLogSpec struct {
	F0              int     // index of the F0's phone
	Days            int     // days of log up to now (14)
	IDsPerDay       int     // distinct contact IDs a day (~500)
	RegisteredShare float64 // share of encounters with registered phones
	Seed            uint64
	Now             time.Time
}

// SimLog makes the contact log the F0's phone would upload: each day,
// encounters with phones nearby (registered ones from phones, or unregistered
// ones with unknown keys), each lasting 1–12 slots, with 1–5 sightings a slot
// at a plausible RSSI, until the day has IDsPerDay distinct contact IDs. It
// returns the rows and the indices of the registered phones that were near,
// which resolution must find, no more and no fewer.
func SimLog(phones []SimPhone, spec SimLogSpec) (rows []LogRow, near []int) {
	rng := mrand.New(mrand.NewPCG(spec.Seed, uint64(spec.F0)))
	f0 := phones[spec.F0]
	now := spec.Now
	today := DayNumber(now)
	nearSet := map[int]bool{}
	for d := today - int64(spec.Days) + 1; d <= today; d++ {
		if d < f0.BaseDay {
			continue
		}
		maxSlot := SlotsPerDay
		if d == today {
			maxSlot = int((now.Unix() - DayStartOf(d)) / 600) // only whole past slots
		}
		if maxSlot < 1 {
			continue
		}
		ownIDs := DayIDs(DailyKey(f0.Key, int(d-f0.BaseDay)))
		distinct := 0
		for tries := 0; distinct < spec.IDsPerDay && tries < 10*spec.IDsPerDay; tries++ {
			l := 1 + min(11, int(rng.ExpFloat64()*3))
			l = min(l, maxSlot)
			startSlot := rng.IntN(maxSlot - l + 1)
			var ids *[SlotsPerDay][IDLen]byte
			if rng.Float64() < spec.RegisteredShare {
				j := rng.IntN(len(phones))
				if j == spec.F0 || phones[j].BaseDay > d {
					continue
				}
				dayIDs := DayIDs(DailyKey(phones[j].Key, int(d-phones[j].BaseDay)))
				ids = &dayIDs
				nearSet[j] = true
			} else {
				var k [KeyLen]byte
				for i := range k {
					k[i] = byte(rng.Uint32())
				}
				dayIDs := DayIDs(k)
				ids = &dayIDs
			}
			rssi := -55 - rng.IntN(35)
			for s := startSlot; s < startSlot+l; s++ {
				distinct++
				for range 1 + rng.IntN(5) {
					at := DayStartOf(d) + int64(s)*600 + int64(rng.IntN(600))
					r := max(MinRSSI, min(-1, rssi+rng.IntN(11)-5))
					rows = append(rows, LogRow{OwnID: ownIDs[s], ContactID: ids[s], RSSI: r, At: at})
				}
			}
		}
	}
	for j := range nearSet {
		near = append(near, j)
	}
	slices.Sort(near)
	return rows, near
}

// LogJSON encodes rows as the upload body the API takes.
func LogJSON(code string, rows []LogRow) []byte {
	var b strings.Builder
	b.Grow(len(rows)*90 + 64)
	fmt.Fprintf(&b, `{"code":%q,"rows":[`, code)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"own_id":"%x","contact_id":"%x","rssi":%d,"t":%d}`, r.OwnID, r.ContactID, r.RSSI, r.At)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// ProvinceCommunes returns the commune codes of a unit, for spreading
// simulated phones over a province.
func ProvinceCommunes(unit string) []string {
	var out []string
	for _, u := range geo.Communes(unit) {
		out = append(out, u.Code)
	}
	return out
}
