// Package people is the registry of persons that check in, declare, and are
// traced. Names, phones and ID numbers are stored encrypted; phones and ID
// numbers also as keyed hashes, which is how a person is found again.
package people

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Person is one resident, decrypted.
type Person struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	IDNumber  string `json:"id_number,omitempty"`
	BirthYear int    `json:"birth_year"`
	Commune   string `json:"commune_code"`
}

// Service finds and stores people.
type Service struct {
	DB    *sqldb.DB
	Vault *vault.Vault

	mu    sync.Mutex
	cache map[string]int64 // phone hash → id: check-ins find returning people without a query
}

// NewService returns a people registry.
func NewService(db *sqldb.DB, v *vault.Vault) *Service {
	return &Service{DB: db, Vault: v, cache: map[string]int64{}}
}

// NormalizePhone returns a Vietnamese phone number as 0 followed by 9 digits,
// accepting +84/84 prefixes, spaces, dots and dashes.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || (r == '+' && b.Len() == 0):
		default:
			return "", errors.New("invalid character")
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "84") && len(d) == 11 {
		d = "0" + d[2:]
	}
	if len(d) != 10 || d[0] != '0' || d[1] == '0' {
		return "", errors.New("want 10 digits starting with 0")
	}
	return d, nil
}

// NormalizeIDNumber accepts a 12-digit CCCD, 9-digit CMND, or a passport
// number (letter and 7–8 digits).
func NormalizeIDNumber(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", true
	}
	digits := strings.TrimLeft(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	switch letters := len(s) - len(digits); {
	case letters == 0 && (len(digits) == 9 || len(digits) == 12):
		return s, true
	case letters >= 1 && letters <= 2 && len(digits) >= 7 && len(digits) <= 8:
		return s, true
	}
	return "", false
}

// Validate normalises p in place and reports every bad field.
func Validate(p *Person, now time.Time) error {
	f := errs.Fields{}
	p.Name = strings.Join(strings.Fields(p.Name), " ")
	if n := len([]rune(p.Name)); n < 2 || n > 100 {
		f.Add("name", msg.Both("people.name_2_to_100"))
	}
	if id, ok := NormalizeIDNumber(p.IDNumber); !ok {
		f.Add("id_number", msg.Both("people.invalid_id_card_or"))
	} else {
		p.IDNumber = id
	}
	// A phone is how a contact is reached; only a person scanned by staff from
	// an ID card may lack one.
	if ph, err := NormalizePhone(p.Phone); err == nil {
		p.Phone = ph
	} else if p.Phone != "" || p.IDNumber == "" {
		f.Add("phone", msg.Both("people.invalid_phone_number_10"))
	}
	if y := now.Year(); p.BirthYear < y-120 || p.BirthYear > y {
		f.Add("birth_year", msg.Both("people.year_birth_between_and", y-120, y))
	}
	if p.Commune == "" {
		f.Add("commune_code", msg.Both("people.commune_needed"))
	} else if u, ok := geo.Get(p.Commune); !ok || u.Level != "commune" {
		f.Add("commune_code", msg.Both("people.unknown_commune_code"))
	}
	return f.Err()
}

// Key returns the look-up column and keyed hash that identify a validated
// person: the phone when there is one, else the ID number.
func (s *Service) Key(p Person) (column, hash string) {
	if p.Phone != "" {
		return "phone_hash", s.Vault.Hash(p.Phone)
	}
	return "id_number_hash", s.Vault.Hash(p.IDNumber)
}

// Cached returns the id remembered for a key hash, if any.
func (s *Service) Cached(hash string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.cache[hash]
	return id, ok
}

// Remember caches a key hash → id (bounded: cleared when it grows past a million).
func (s *Service) Remember(hash string, id int64) {
	s.mu.Lock()
	if len(s.cache) > 1_000_000 {
		clear(s.cache)
	}
	s.cache[hash] = id
	s.mu.Unlock()
}

// FindOrCreate validates p and returns the id of the person with that phone
// (or ID number), creating the record when new. An existing record is not
// overwritten by what a stranger types: a phone is a key, not a login.
func (s *Service) FindOrCreate(ctx context.Context, p Person) (int64, error) {
	if err := Validate(&p, time.Now()); err != nil {
		return 0, fmt.Errorf("person: %w", err)
	}
	sp := s.Seal(p)
	if id, ok := s.Cached(sp.Hash); ok {
		return id, nil
	}
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = findOrCreate(s.DB.Engine, sp, func(q string, args ...any) *sql.Row { return tx.QueryRowContext(ctx, q, args...) })
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("person: %w", err)
	}
	s.Remember(sp.Hash, id)
	return id, nil
}

// Sealed is a validated person encrypted and hashed, ready to store. Sealing
// is CPU work: callers do it in parallel, before a serial writer stores it.
type Sealed struct {
	Column, Hash                string // look-up key: phone_hash or id_number_hash
	Name, Phone, IDNumber       []byte
	PhoneHash, IDNumberHash     string
	BirthYear                   int
	Commune, District, Province string
}

// Seal encrypts and hashes a validated person.
func (s *Service) Seal(p Person) Sealed {
	d, _ := geo.Ancestor(p.Commune, "district")
	pr, _ := geo.Ancestor(p.Commune, "province")
	col, h := s.Key(p)
	return Sealed{Column: col, Hash: h, Name: s.Vault.Seal(p.Name), Phone: s.Vault.Seal(p.Phone), IDNumber: s.Vault.Seal(p.IDNumber),
		PhoneHash: s.Vault.Hash(p.Phone), IDNumberHash: s.Vault.Hash(p.IDNumber), BirthYear: p.BirthYear,
		Commune: p.Commune, District: d.Code, Province: pr.Code}
}

const (
	selectByPhone    = "SELECT id FROM people WHERE phone_hash = $1 ORDER BY id LIMIT 1"
	selectByIDNumber = "SELECT id FROM people WHERE id_number_hash = $1 ORDER BY id LIMIT 1"
	insertPerson     = `INSERT INTO people (name_enc, phone_enc, phone_hash, id_number_enc, id_number_hash,
		birth_year, commune_code, district_code, province_code, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (phone_hash) DO NOTHING RETURNING id`
	// lockIDNumber is in its own space of advisory locks (two keys, the
	// first 2), apart from the check-in writer's scan-id locks (one key).
	lockIDNumber  = "SELECT 1 FROM (SELECT pg_advisory_xact_lock(2, hashtext($1))) AS locked"
	restorePerson = `INSERT INTO people (id, name_enc, phone_enc, phone_hash, id_number_enc, id_number_hash,
		birth_year, commune_code, district_code, province_code, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`
)

// findOrCreate looks a sealed person up by its key and inserts it when absent,
// running each statement through run (inside a transaction).
//
// A phone is a unique key: a second transaction inserting the same phone
// waits for the first and then finds its person. An ID number is not
// (people_id_number is not unique), so on PostgreSQL, where transactions
// run at once, the look-up and insert of a person known by ID number only
// hold a transaction lock on it (lockIDNumber): two servers given the same
// new ID card at once store one person, not two. SQLite has one writer.
func findOrCreate(engine string, sp Sealed, run func(q string, args ...any) *sql.Row) (int64, error) {
	q := selectByPhone
	if sp.Column != "phone_hash" {
		q = selectByIDNumber
		if engine == sqldb.Postgres {
			var locked int
			if err := run(lockIDNumber, sp.Hash).Scan(&locked); err != nil {
				return 0, err
			}
		}
	}
	var id int64
	err := run(q, sp.Hash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = run(insertPerson, sp.Name, sp.Phone, nullable(sp.PhoneHash), sp.IDNumber, nullable(sp.IDNumberHash),
			sp.BirthYear, sp.Commune, sp.District, sp.Province, time.Now().Unix()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) { // another writer stored this phone a moment ago
			err = run(q, sp.Hash).Scan(&id)
		}
	}
	return id, err
}

// nullable stores an absent hash as NULL: unique and indexed look-ups then
// ignore it, where an empty string would match every other absent one.
func nullable(hash string) any {
	if hash == "" {
		return nil
	}
	return hash
}

// Writer finds or creates people inside a caller's transactions with
// statements prepared once (the check-in writer stores thousands a second).
type Writer struct {
	engine string
	stmts  map[string]*sql.Stmt
}

// NewWriter prepares the statements on db (the single SQLite writer
// connection, or a PostgreSQL pool).
func NewWriter(ctx context.Context, db *sqldb.DB) (*Writer, error) {
	w := &Writer{engine: db.Engine, stmts: map[string]*sql.Stmt{}}
	qs := []string{selectByPhone, selectByIDNumber, insertPerson, restorePerson}
	if db.Engine == sqldb.Postgres {
		qs = append(qs, lockIDNumber)
	}
	for _, q := range qs {
		st, err := db.W.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("people writer: %w", err)
		}
		w.stmts[q] = st
	}
	return w, nil
}

// FindOrCreate returns the id of the sealed person, inserting it in tx when new.
func (w *Writer) FindOrCreate(ctx context.Context, tx *sql.Tx, sp Sealed) (int64, error) {
	id, err := findOrCreate(w.engine, sp, func(q string, args ...any) *sql.Row {
		return tx.StmtContext(ctx, w.stmts[q]).QueryRowContext(ctx, args...)
	})
	if err != nil {
		return 0, fmt.Errorf("person: %w", err)
	}
	return id, nil
}

// Restore stores a sealed person again under the id it was given, unless
// that id or phone is already stored (a crash journal applied again).
func (w *Writer) Restore(ctx context.Context, tx *sql.Tx, id int64, sp Sealed) error {
	_, err := tx.StmtContext(ctx, w.stmts[restorePerson]).ExecContext(ctx, id, sp.Name, sp.Phone, nullable(sp.PhoneHash), sp.IDNumber,
		nullable(sp.IDNumberHash), sp.BirthYear, sp.Commune, sp.District, sp.Province, time.Now().Unix())
	if err != nil {
		return fmt.Errorf("restore person %d: %w", id, err)
	}
	return nil
}

// Get returns a person decrypted. Callers check jurisdiction and write the
// audit entry before showing it.
func (s *Service) Get(ctx context.Context, id int64) (Person, error) {
	var name, phone, idn []byte
	p := Person{ID: id}
	err := s.DB.R.QueryRowContext(ctx, "SELECT name_enc, phone_enc, id_number_enc, birth_year, commune_code FROM people WHERE id = $1", id).
		Scan(&name, &phone, &idn, &p.BirthYear, &p.Commune)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, fmt.Errorf("person %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Person{}, fmt.Errorf("person %d: %w", id, err)
	}
	for _, f := range []struct {
		dst *string
		src []byte
	}{{&p.Name, name}, {&p.Phone, phone}, {&p.IDNumber, idn}} {
		if *f.dst, err = s.Vault.Open(f.src); err != nil {
			return Person{}, fmt.Errorf("person %d: %w", id, err)
		}
	}
	return p, nil
}

// ByPhone returns the ids of people registered with a phone number.
func (s *Service) ByPhone(ctx context.Context, phone string) ([]int64, error) {
	ph, err := NormalizePhone(phone)
	if err != nil {
		return nil, fmt.Errorf("by phone: %w", &errs.Invalid{Fields: map[string]string{"phone": msg.Both("people.invalid_phone_number")}})
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT id FROM people WHERE phone_hash = $1 ORDER BY id", s.Vault.Hash(ph))
	if err != nil {
		return nil, fmt.Errorf("by phone: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// MaskPhone shows only the last three digits, for lists that do not need more.
func MaskPhone(p string) string {
	if len(p) < 4 {
		return "***"
	}
	return strings.Repeat("*", len(p)-3) + p[len(p)-3:]
}

// FindOrAdd is FindOrCreate for a person someone else typed in (a
// volunteer filling in a household's declarations): a family often shares
// one phone, and nobody proved the phone, so the phone alone must not say
// who the person is. The person the phone already names is reused only
// when the name (folded, as searches compare it) and birth year match too;
// a phone nobody holds yet is registered to p, as FindOrCreate would.
// Otherwise p becomes a person of their own: the phone is kept, sealed, to
// reach them, but not as the look-up key (people_phone is unique: the key
// names the one person check-ins and the phone proof find); declared again
// with the same name, birth year, commune and phone, they are found again
// among the people of that commune and year without a phone key.
func (s *Service) FindOrAdd(ctx context.Context, p Person) (int64, error) {
	if err := Validate(&p, time.Now()); err != nil {
		return 0, fmt.Errorf("person: %w", err)
	}
	sp := s.Seal(p)
	var id int64
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		run := func(q string, args ...any) *sql.Row { return tx.QueryRowContext(ctx, q, args...) }
		var err error
		if id, err = findOrCreate(s.DB.Engine, sp, run); err != nil {
			return err
		}
		var name []byte
		var born int
		if err := run("SELECT name_enc, birth_year FROM people WHERE id = $1", id).Scan(&name, &born); err != nil {
			return err
		}
		if n, err := s.Vault.Open(name); err == nil && born == p.BirthYear && Fold(n) == Fold(p.Name) {
			return nil // the phone's own person (or the one just registered)
		}
		// Declared before on this phone (a second visit): the same name,
		// birth year, commune and phone among those without a phone key.
		rows, err := tx.QueryContext(ctx, `SELECT id, name_enc, phone_enc FROM people
			WHERE commune_code = $1 AND birth_year = $2 AND phone_hash IS NULL ORDER BY id LIMIT 1000`, p.Commune, p.BirthYear)
		if err != nil {
			return err
		}
		found := int64(0)
		for rows.Next() && found == 0 {
			var cand int64
			var n, ph []byte
			if err := rows.Scan(&cand, &n, &ph); err != nil {
				rows.Close()
				return err
			}
			name, err1 := s.Vault.Open(n)
			phone, err2 := s.Vault.Open(ph)
			if err1 == nil && err2 == nil && phone == p.Phone && Fold(name) == Fold(p.Name) {
				found = cand
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if found > 0 {
			id = found
			return nil
		}
		return run(insertPerson, sp.Name, sp.Phone, nil, sp.IDNumber, nullable(sp.IDNumberHash),
			sp.BirthYear, sp.Commune, sp.District, sp.Province, time.Now().Unix()).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("person: %w", err)
	}
	return id, nil
}
