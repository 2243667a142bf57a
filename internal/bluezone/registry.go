package bluezone

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Platforms a registration may name.
var Platforms = []string{"android", "ios"}

// Defaults of the service.
const (
	// DefaultKeepDays is how many days of IDs are indexed and of keys fed:
	// the 14-day trace window.
	DefaultKeepDays = 14
	// DefaultActiveWindow: a phone that called in within it counts as active.
	DefaultActiveWindow = 7 * 24 * time.Hour
)

// Service is the Bluezone server: device registry, daily ID index, contact
// log resolution and the decentralised key feed.
type Service struct {
	DB        *sqldb.DB
	Vault     *vault.Vault
	People    *people.Service
	Outbox    *notify.Outbox
	Codes     *exposure.Codes
	Index     *Index
	Log       *slog.Logger
	Now       func() time.Time
	KeepDays  int           // days of IDs kept in the index and fed (default 14)
	Retention time.Duration // how long feed entries and resolved contacts are kept
	Active    time.Duration // window for "active" phones

	buildMu sync.Mutex // one index builder at a time
}

// NewService wires a Bluezone service whose index lives in indexDir.
func NewService(db *sqldb.DB, v *vault.Vault, ppl *people.Service, out *notify.Outbox, codes *exposure.Codes, indexDir string, retention time.Duration) (*Service, error) {
	ix, err := OpenIndex(indexDir)
	if err != nil {
		return nil, err
	}
	if codes.Outbox == nil {
		codes.Outbox = out // registration codes go by SMS
	}
	return &Service{DB: db, Vault: v, People: ppl, Outbox: out, Codes: codes, Index: ix, Now: time.Now,
		KeepDays: DefaultKeepDays, Retention: retention, Active: DefaultActiveWindow, Log: slog.New(slog.DiscardHandler)}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Registration is what a phone sends to register (or re-register).
type Registration struct {
	Phone     string `json:"phone"`
	Code      string `json:"code"`
	BaseKey   string `json:"base_key"` // 64 hex characters
	BaseDay   string `json:"base_day"` // YYYY-MM-DD, the Vietnamese day the key was made
	Commune   string `json:"commune_code"`
	Platform  string `json:"platform"`
	Name      string `json:"name,omitempty"`       // needed only for a phone number new to the registry
	BirthYear int    `json:"birth_year,omitempty"` // likewise
}

// Device is a registered phone as its owner may see it.
type Device struct {
	ID           int64     `json:"id"`
	PersonID     int64     `json:"-"`
	Commune      string    `json:"commune_code"`
	Platform     string    `json:"platform"`
	BaseDay      string    `json:"base_day"`
	RegisteredAt time.Time `json:"registered_at"`
}

// firstBaseDay: Bluezone launched in 2020; an earlier base day is a wrong clock.
var firstBaseDay = DayNumber(time.Date(2020, 1, 1, 0, 0, 0, 0, Zone))

// ParseKeyHex decodes a 64-hex-character key, with a message naming field.
func ParseKeyHex(field, s string, f errs.Fields) ([KeyLen]byte, bool) {
	var k [KeyLen]byte
	s = strings.TrimSpace(s)
	if len(s) != 2*KeyLen {
		f.Add(field, msg.Both("bluezone.key_hex_characters_got", 2*KeyLen, len(s)))
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		f.Add(field, msg.Both("bluezone.key_not_hex")+": "+err.Error())
		return k, false
	}
	if k == ([KeyLen]byte{}) {
		f.Add(field, msg.Both("bluezone.key_all_zeros"))
		return k, false
	}
	return k, true
}

// validate checks r, returning the key, the base day number and normalised
// phone, with every bad field reported at once.
func (s *Service) validate(r *Registration) ([KeyLen]byte, int64, error) {
	f := errs.Fields{}
	ph, err := people.NormalizePhone(r.Phone)
	if err != nil {
		f.Add("phone", msg.Both("bluezone.invalid_phone_number_10"))
	}
	r.Phone = ph
	key, _ := ParseKeyHex("base_key", r.BaseKey, f)
	var day int64
	if t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(r.BaseDay), Zone); err != nil {
		f.Add("base_day", msg.Both("bluezone.base_day_yyyy_mm"))
	} else {
		day = DayNumber(t)
		today := DayNumber(s.now())
		switch {
		case day > today+1:
			f.Add("base_day", msg.Both("bluezone.base_day_in_future"))
		case day < firstBaseDay || today-day > MaxChainDays:
			f.Add("base_day", msg.Both("bluezone.base_day_before_2020"))
		}
	}
	if u, ok := geo.Get(r.Commune); !ok || u.Level != "commune" {
		f.Add("commune_code", msg.Both("bluezone.unknown_commune_code"))
	}
	r.Platform = strings.ToLower(strings.TrimSpace(r.Platform))
	if r.Platform != "android" && r.Platform != "ios" {
		f.Add("platform", msg.Both("bluezone.platform_android_or_ios"))
	}
	return key, day, f.Err()
}

// StartRegistration sends a confirmation code to phone by SMS (through the
// outbox), for Register or Unregister (purpose PurposeRegister or
// PurposeUnregister).
func (s *Service) StartRegistration(ctx context.Context, purpose, phone, client string) (time.Time, error) {
	const op = "bluezone start registration"
	ph, err := people.NormalizePhone(phone)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"phone": msg.Both("bluezone.invalid_phone_number_10")}})
	}
	if purpose != exposure.PurposeRegister && purpose != exposure.PurposeUnregister {
		return time.Time{}, fmt.Errorf("%s: purpose %q: %w", op, purpose, errs.ErrInvalid)
	}
	k, err := s.Codes.Service.Issue(ctx, otp.Request{Purpose: purpose, Phone: ph, Client: client, Send: true})
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	return k.ExpiresAt, nil
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Register confirms the phone with its code and stores the phone's base key
// (sealed) with its day, commune and platform, linked to the person with that
// phone number (created when new: then name and year of birth are needed).
// A phone number already registered is replaced: its old key and every index
// link to it are erased. It returns the device and the secret token the phone
// uses for later calls.
func (s *Service) Register(ctx context.Context, r Registration, client string) (Device, string, error) {
	const op = "bluezone register"
	key, day, err := s.validate(&r)
	if err != nil {
		return Device{}, "", fmt.Errorf("%s: %w", op, err)
	}
	code, err := s.Codes.Verify(ctx, exposure.PurposeRegister, r.Phone, r.Code, client)
	if err != nil {
		return Device{}, "", fmt.Errorf("%s: %w", op, err)
	}
	ids, err := s.People.ByPhone(ctx, r.Phone)
	if err != nil {
		return Device{}, "", fmt.Errorf("%s: %w", op, err)
	}
	var personID int64
	if len(ids) > 0 {
		personID = ids[0]
	} else {
		if strings.TrimSpace(r.Name) == "" || r.BirthYear == 0 {
			return Device{}, "", fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{
				"name": msg.Both("bluezone.new_phone_number_needs")}})
		}
		if personID, err = s.People.FindOrCreate(ctx, people.Person{Name: r.Name, Phone: r.Phone, BirthYear: r.BirthYear, Commune: r.Commune}); err != nil {
			return Device{}, "", fmt.Errorf("%s: %w", op, err)
		}
	}
	tok := make([]byte, 32)
	rand.Read(tok)
	token := "bzd_" + base64.RawURLEncoding.EncodeToString(tok)
	now := s.now()
	dist, prov := unitOf(r.Commune)
	var dev Device
	var erased []int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, code); err != nil {
			return err
		}
		var err error
		if erased, err = eraseTx(ctx, tx, "phone_hash = $1", s.Vault.Hash(r.Phone), now); err != nil {
			return err
		}
		dev = Device{PersonID: personID, Commune: r.Commune, Platform: r.Platform, BaseDay: DayDate(day), RegisteredAt: now.UTC().Truncate(time.Second)}
		if err := tx.QueryRowContext(ctx, "UPDATE bz_seq SET n = n + 1 WHERE id = 1 RETURNING n").Scan(&dev.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bz_devices (id, person_id, phone_hash, key_enc, key_day, base_day, platform, token_hash,
			commune_code, district_code, province_code, registered_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $11)`,
			dev.ID, personID, s.Vault.Hash(r.Phone), s.Vault.Seal(string(key[:])), day, r.Platform, tokenHash(token),
			r.Commune, dist, prov, now.Unix())
		return err
	})
	if err != nil {
		return Device{}, "", fmt.Errorf("%s: %w", op, err)
	}
	s.eraseFromIndex(ctx, erased)
	return dev, token, nil
}

// eraseTx deletes the devices matching where (one argument) and lists them
// as erased, returning their ids.
func eraseTx(ctx context.Context, tx *sql.Tx, where string, arg any, now time.Time) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM bz_devices WHERE "+where, arg)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, "DELETE FROM bz_devices WHERE id = $1", id); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO bz_erased (device_id, erased_at) VALUES ($1, $2)", id, now.Unix()); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// eraseFromIndex applies pending erasures to the index files now; when that
// fails, the next index refresh applies them (and resolution never trusts a
// device that is no longer registered).
func (s *Service) eraseFromIndex(ctx context.Context, ids []int64) {
	if len(ids) == 0 || !s.buildMu.TryLock() { // a build is running: Maintain applies them next
		return
	}
	defer s.buildMu.Unlock()
	if err := s.applyErasures(ctx, s.Index.Days()); err != nil {
		s.Log.Warn("bluezone: erase from index", "err", err)
	}
}

// Unregister erases the registration of the phone holding token.
func (s *Service) Unregister(ctx context.Context, token string) error {
	const op = "bluezone unregister"
	if token == "" {
		return fmt.Errorf("%s: %w", op, errs.ErrUnauthorized)
	}
	var ids []int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = eraseTx(ctx, tx, "token_hash = $1", tokenHash(token), s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("%s: %w", op, errs.ErrUnauthorized)
	}
	s.eraseFromIndex(ctx, ids)
	return nil
}

// UnregisterPhone erases the registration of a phone number confirmed by a
// PurposeUnregister code: for a lost phone, whose token is gone with it.
func (s *Service) UnregisterPhone(ctx context.Context, phone, code, client string) error {
	const op = "bluezone unregister phone"
	ph, err := people.NormalizePhone(phone)
	if err != nil {
		return fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"phone": msg.Both("bluezone.invalid_phone_number")}})
	}
	k, err := s.Codes.Verify(ctx, exposure.PurposeUnregister, ph, code, client)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var ids []int64
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, k); err != nil {
			return err
		}
		var err error
		ids, err = eraseTx(ctx, tx, "phone_hash = $1", s.Vault.Hash(ph), s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("%s: no registration for this phone: %w", op, errs.ErrNotFound)
	}
	s.eraseFromIndex(ctx, ids)
	return nil
}

// Ping records that the phone holding token is still running Bluezone (what
// "active" counts); at most one write an hour per phone.
func (s *Service) Ping(ctx context.Context, token string) error {
	now := s.now().Unix()
	res, err := s.DB.W.ExecContext(ctx, "UPDATE bz_devices SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $3",
		now, tokenHash(token), now-3600)
	if err != nil {
		return fmt.Errorf("bluezone ping: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.DB.R.QueryRowContext(ctx, "SELECT 1 FROM bz_devices WHERE token_hash = $1", tokenHash(token)).Scan(&one); err != nil {
			return fmt.Errorf("bluezone ping: %w", errs.ErrUnauthorized)
		}
	}
	return nil
}

// DeviceByToken returns the registration of the phone holding token.
func (s *Service) DeviceByToken(ctx context.Context, token string) (Device, error) {
	var d Device
	var day, at int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT id, person_id, commune_code, platform, base_day, registered_at FROM bz_devices WHERE token_hash = $1",
		tokenHash(token)).Scan(&d.ID, &d.PersonID, &d.Commune, &d.Platform, &day, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("bluezone device: %w", errs.ErrUnauthorized)
	}
	if err != nil {
		return Device{}, fmt.Errorf("bluezone device: %w", err)
	}
	d.BaseDay, d.RegisteredAt = DayDate(day), time.Unix(at, 0).UTC()
	return d, nil
}

// PhonesByCommune counts registered and active phones per commune under unit
// (a province, district or commune code; VN for all), for adoption figures.
func (s *Service) PhonesByCommune(ctx context.Context, unit string, activeSince time.Time) (map[string][2]int64, error) {
	col := ""
	if u, ok := geo.Get(unit); ok && u.Level != "country" {
		col = u.Level + "_code"
	}
	q := "SELECT commune_code, count(*), COALESCE(sum(CASE WHEN last_seen_at >= $1 THEN 1 ELSE 0 END), 0) FROM bz_devices"
	args := []any{activeSince.Unix()}
	if col != "" {
		q += " WHERE " + col + " = $2"
		args = append(args, unit)
	}
	rows, err := s.DB.R.QueryContext(ctx, q+" GROUP BY commune_code", args...)
	if err != nil {
		return nil, fmt.Errorf("bluezone phones by commune: %w", err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var c string
		var n, a int64
		if err := rows.Scan(&c, &n, &a); err != nil {
			return nil, fmt.Errorf("bluezone phones by commune: %w", err)
		}
		out[c] = [2]int64{n, a}
	}
	return out, rows.Err()
}

func unitOf(commune string) (district, province string) {
	d, _ := geo.Ancestor(commune, "district")
	p, _ := geo.Ancestor(commune, "province")
	return d.Code, p.Code
}

// --- index maintenance ---

// buildDay builds day's index file for the devices with fromID < id <= toID
// whose key day is at most day. The devices are counted and then streamed in
// one read-only snapshot (REPEATABLE READ on PostgreSQL, one read transaction
// on SQLite), so the count is the number the stream yields while phones
// register or leave meanwhile. Keys are unsealed a chunk at a time: key
// material exists unsealed only in memory, only for the build.
func (s *Service) buildDay(ctx context.Context, day, fromID, toID, erased int64) (BuildStats, error) {
	const op = "bluezone index"
	tx, err := s.DB.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return BuildStats{}, fmt.Errorf("%s: %w", op, err)
	}
	defer tx.Rollback()
	const where = " FROM bz_devices WHERE id > $1 AND id <= $2 AND key_day <= $3 AND key_day >= $4"
	args := []any{fromID, toID, day, day - MaxChainDays}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*)"+where, args...).Scan(&n); err != nil {
		return BuildStats{}, fmt.Errorf("%s: %w", op, err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, key_enc, key_day"+where+" ORDER BY id", args...)
	if err != nil {
		return BuildStats{}, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	devs := func(yield func(DeviceKey, error) bool) {
		var enc sql.RawBytes // no copy of each sealed key
		for rows.Next() {
			var d DeviceKey
			if err := rows.Scan(&d.ID, &enc, &d.KeyDay); err != nil {
				yield(d, err)
				return
			}
			k, err := s.Vault.Open(enc)
			if err != nil || len(k) != KeyLen {
				yield(d, fmt.Errorf("device %d: key does not unseal (%v)", d.ID, err))
				return
			}
			copy(d.Key[:], k)
			if !yield(d, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(DeviceKey{}, err)
		}
	}
	st, err := s.Index.BuildFrom(day, n, devs, toID, fromID, erased)
	if err != nil {
		return st, fmt.Errorf("%s: %w", op, err)
	}
	return st, nil
}

// EnsureDays brings the index of each day up to date with the registry:
// a base file when the day has none (or too many deltas), else a delta file
// for the phones registered since, and the erasures since. It is what makes
// the index incremental: a new registration costs 145 hashes per indexed day,
// not a rebuild. It returns what it built.
func (s *Service) EnsureDays(ctx context.Context, days []int64) ([]BuildStats, error) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	return s.ensureDaysLocked(ctx, days)
}

// ensureForResolve is EnsureDays for a contact-log upload: when another build
// is running (a whole day's, up to a minute at a million phones), it does not
// wait for it unless a day of the log has no index at all; it then resolves
// against the files as they are, missing at most the phones registered in the
// last few minutes.
func (s *Service) ensureForResolve(ctx context.Context, days []int64) error {
	if s.buildMu.TryLock() {
		defer s.buildMu.Unlock()
		_, err := s.ensureDaysLocked(ctx, days)
		return err
	}
	for _, d := range days {
		if has, _, _, _, err := s.Index.DayState(d); err != nil || !has {
			_, err := s.EnsureDays(ctx, days)
			return err
		}
	}
	return nil
}

func (s *Service) ensureDaysLocked(ctx context.Context, days []int64) ([]BuildStats, error) {
	var maxID, maxErased int64
	if err := s.DB.R.QueryRowContext(ctx, "SELECT n FROM bz_seq WHERE id = 1").Scan(&maxID); err != nil {
		return nil, fmt.Errorf("bluezone index: %w", err)
	}
	if err := s.DB.R.QueryRowContext(ctx, "SELECT COALESCE(max(id), 0) FROM bz_erased").Scan(&maxErased); err != nil {
		return nil, fmt.Errorf("bluezone index: %w", err)
	}
	var built []BuildStats
	for _, day := range days {
		hasBase, wm, deltas, _, err := s.Index.DayState(day)
		if err != nil {
			return built, err
		}
		from := wm
		if !hasBase || deltas >= maxDeltas {
			from = 0
		} else if wm >= maxID {
			continue
		}
		// Erased devices are absent from the registry: the new file reflects
		// every erasure up to maxErased (older files get theirs below).
		st, err := s.buildDay(ctx, day, from, maxID, maxErased)
		if err != nil {
			return built, err
		}
		built = append(built, st)
	}
	return built, s.applyErasures(ctx, days)
}

// applyErasures cuts erased devices loose in the given days' files. Callers
// hold buildMu.
func (s *Service) applyErasures(ctx context.Context, days []int64) error {
	for _, day := range days {
		hasBase, _, _, applied, err := s.Index.DayState(day)
		if err != nil || !hasBase {
			continue
		}
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id, device_id FROM bz_erased WHERE id > $1 ORDER BY id", applied)
		if err != nil {
			return fmt.Errorf("bluezone erasures: %w", err)
		}
		var ids []int64
		upTo := applied
		for rows.Next() {
			var id, dev int64
			if err := rows.Scan(&id, &dev); err != nil {
				rows.Close()
				return fmt.Errorf("bluezone erasures: %w", err)
			}
			ids, upTo = append(ids, dev), id
		}
		rows.Close()
		if upTo == applied {
			continue
		}
		if err := s.Index.Erase(day, ids, upTo); err != nil {
			return err
		}
	}
	return nil
}

// RatchetSlack is how far behind the oldest kept day a stored key may fall
// before Maintain steps it forward: each phone's key is rewritten about once
// a week, and a build walks at most KeepDays+RatchetSlack days of chain.
const RatchetSlack = 7

// Ratchet steps every stored key older than toDay forward to the daily key of
// toDay (D_{n+1} = SHA-256(D_n), so nothing is lost for toDay and later). It
// bounds the chain a build must walk, however old the phone, and it is data
// minimisation: the server can no longer derive IDs from before toDay, which
// no tracing needs once toDay is the oldest kept day. It returns how many keys
// moved.
func (s *Service) Ratchet(ctx context.Context, toDay int64) (int, error) {
	const op = "bluezone ratchet"
	moved := 0
	var after int64
	for {
		rows, err := s.DB.R.QueryContext(ctx, `SELECT id, key_enc, key_day FROM bz_devices
			WHERE key_day < $1 AND id > $2 ORDER BY id LIMIT 2000`, toDay, after)
		if err != nil {
			return moved, fmt.Errorf("%s: %w", op, err)
		}
		type upd struct {
			id, oldDay int64
			enc        []byte
		}
		var batch []upd
		for rows.Next() {
			var id, day int64
			var enc []byte
			if err := rows.Scan(&id, &enc, &day); err != nil {
				rows.Close()
				return moved, fmt.Errorf("%s: %w", op, err)
			}
			k, err := s.Vault.Open(enc)
			if err != nil || len(k) != KeyLen || toDay-day > MaxChainDays {
				rows.Close()
				return moved, fmt.Errorf("%s: device %d: key does not unseal or is too old", op, id)
			}
			next := DailyKey([KeyLen]byte([]byte(k)), int(toDay-day))
			batch = append(batch, upd{id, day, s.Vault.Seal(string(next[:]))})
			after = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return moved, fmt.Errorf("%s: %w", op, err)
		}
		if len(batch) == 0 {
			return moved, nil
		}
		err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, "UPDATE bz_devices SET key_enc = $1, key_day = $2 WHERE id = $3 AND key_day = $4")
			if err != nil {
				return err
			}
			defer st.Close()
			for _, u := range batch {
				if _, err := st.ExecContext(ctx, u.enc, toDay, u.id, u.oldDay); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("%s: %w", op, err)
		}
		moved += len(batch)
	}
}

// IndexDays returns the days the index keeps at now: the KeepDays up to today,
// and tomorrow, built ahead so midnight costs nothing.
func (s *Service) IndexDays(now time.Time) []int64 {
	today := DayNumber(now)
	keep := int64(max(s.KeepDays, 1))
	var days []int64
	for d := today - keep + 1; d <= today+1; d++ {
		days = append(days, d)
	}
	return days
}

// Maintain ratchets stale keys forward, brings the kept days' index up to
// date, drops older days, and drops fed keys whose day has left the window.
func (s *Service) Maintain(ctx context.Context) ([]BuildStats, error) {
	days := s.IndexDays(s.now())
	var stale int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM bz_devices WHERE key_day < $1", days[0]-RatchetSlack).Scan(&stale); err != nil {
		return nil, fmt.Errorf("bluezone maintain: %w", err)
	}
	if stale > 0 {
		if _, err := s.Ratchet(ctx, days[0]); err != nil {
			return nil, err
		}
	}
	built, err := s.EnsureDays(ctx, days)
	if err != nil {
		return built, err
	}
	if _, err := s.Index.Expire(days[0]); err != nil {
		return built, fmt.Errorf("bluezone index expire: %w", err)
	}
	if err := s.Index.Preload(days); err != nil {
		return built, err
	}
	_, err = s.PurgeFeed(ctx)
	return built, err
}

// Run maintains the index every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if built, err := s.Maintain(ctx); err != nil {
			s.Log.Error("bluezone index", "err", err)
		} else {
			for _, b := range built {
				s.Log.Info("bluezone index built", "day", DayDate(b.Day), "phones", b.Phones, "delta", b.Delta,
					"bytes", b.Bytes, "ms", b.Elapsed.Milliseconds())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
