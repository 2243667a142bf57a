package people

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
)

// The look-ups below are what other packages need of the people table;
// they read it here, its only owner, instead of joining it.

// Place is where a person lives: their commune, district and province codes.
type Place struct{ Commune, District, Province string }

// Reach is a person's name and phone, decrypted.
type Reach struct{ Name, Phone string }

// byIDs runs "SELECT id, cols FROM people WHERE id IN (...)" over ids in
// chunks of 500 (any number fits a statement) and hands each row to scan.
func (s *Service) byIDs(ctx context.Context, cols string, ids []int64, scan func(*sql.Rows) error) error {
	return sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id, "+cols+" FROM people WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		return rows.Err()
	})
}

// Places returns the units of people, by id; unknown ids are absent.
func (s *Service) Places(ctx context.Context, ids []int64) (map[int64]Place, error) {
	out := make(map[int64]Place, len(ids))
	err := s.byIDs(ctx, "commune_code, district_code, province_code", ids, func(rows *sql.Rows) error {
		var id int64
		var p Place
		if err := rows.Scan(&id, &p.Commune, &p.District, &p.Province); err != nil {
			return err
		}
		out[id] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	return out, nil
}

// Personal returns the names and phones of people, decrypted, by id;
// unknown ids are absent. Callers check jurisdiction and write the audit
// entry before showing them.
func (s *Service) Personal(ctx context.Context, ids []int64) (map[int64]Reach, error) {
	out := make(map[int64]Reach, len(ids))
	err := s.byIDs(ctx, "name_enc, phone_enc", ids, func(rows *sql.Rows) error {
		var id int64
		var name, phone []byte
		if err := rows.Scan(&id, &name, &phone); err != nil {
			return err
		}
		var r Reach
		var err error
		if r.Name, err = s.Vault.Open(name); err != nil {
			return err
		}
		if r.Phone, err = s.Vault.Open(phone); err != nil {
			return err
		}
		out[id] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("people: %w", err)
	}
	return out, nil
}

// Phones returns the phones of people to message, by id. A person unknown,
// without a phone, or whose phone cannot be opened is absent: a message
// skips them (the commune goes door to door).
func (s *Service) Phones(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	err := s.byIDs(ctx, "phone_enc", ids, func(rows *sql.Rows) error {
		var id int64
		var phone []byte
		if err := rows.Scan(&id, &phone); err != nil {
			return err
		}
		if ph, err := s.Vault.Open(phone); err == nil && ph != "" {
			out[id] = ph
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("phones: %w", err)
	}
	return out, nil
}

// PhoneHash returns the look-up hash of a person's phone ("" when they have
// none), and false when no such person is stored.
func (s *Service) PhoneHash(ctx context.Context, id int64) (string, bool, error) {
	var h sql.NullString
	err := s.DB.R.QueryRowContext(ctx, "SELECT phone_hash FROM people WHERE id = $1", id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("phone hash of %d: %w", id, err)
	}
	return h.String, true, nil
}

// IDsByKey returns the ids of people with a look-up key (column and hash as
// Key gives them: phone_hash or id_number_hash), oldest first, at most limit.
func (s *Service) IDsByKey(ctx context.Context, column, hash string, limit int) ([]int64, error) {
	if column != "phone_hash" && column != "id_number_hash" {
		return nil, fmt.Errorf("people by %s: not a look-up key", column)
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT id FROM people WHERE "+column+" = $1 ORDER BY id LIMIT $2", hash, limit)
	if err != nil {
		return nil, fmt.Errorf("people by %s: %w", column, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("people by %s: %w", column, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Named is a person found by name: id, decrypted name and phone.
type Named struct {
	ID          int64
	Name, Phone string
}

// BornIn returns up to limit people of a commune born in a year, with their
// names and phones decrypted, for matching a name a lab typed. A name that
// cannot be opened is skipped; a phone that cannot be opened is "".
func (s *Service) BornIn(ctx context.Context, commune string, birthYear, limit int) ([]Named, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT id, name_enc, phone_enc FROM people WHERE commune_code = $1 AND birth_year = $2 LIMIT $3",
		commune, birthYear, limit)
	if err != nil {
		return nil, fmt.Errorf("people born in %s %d: %w", commune, birthYear, err)
	}
	defer rows.Close()
	var out []Named
	for rows.Next() {
		var n Named
		var nameEnc, phoneEnc []byte
		if err := rows.Scan(&n.ID, &nameEnc, &phoneEnc); err != nil {
			return nil, fmt.Errorf("people born in %s %d: %w", commune, birthYear, err)
		}
		if n.Name, err = s.Vault.Open(nameEnc); err != nil {
			continue
		}
		n.Phone, _ = s.Vault.Open(phoneEnc)
		out = append(out, n)
	}
	return out, rows.Err()
}

// CountPhones counts the distinct phones of the people of a unit (column as
// for sqldb.UnitWhere): how many a campaign to residents reaches.
func CountPhones(ctx context.Context, db *sqldb.DB, column, unit string) (int64, error) {
	where, args, err := sqldb.UnitWhere(column, unit)
	if err != nil {
		return 0, fmt.Errorf("count phones: %w", err)
	}
	var n int64
	if err := db.R.QueryRowContext(ctx, "SELECT count(DISTINCT phone_hash) FROM people WHERE "+where+" AND phone_hash <> ''", args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count phones: %w", err)
	}
	return n, nil
}

// SealedPhone is a record's id and phone as stored (sealed): the caller
// opens it with the vault when it sends. Venue contacts use it too.
type SealedPhone struct {
	ID    int64
	Phone []byte
}

// PhonesAfter returns up to limit people of a unit who have a phone, with
// ids above after, in id order: a campaign walks residents with a cursor.
func PhonesAfter(ctx context.Context, db *sqldb.DB, column, unit string, after int64, limit int) ([]SealedPhone, error) {
	where, args, err := sqldb.UnitWhere(column, unit)
	if err != nil {
		return nil, fmt.Errorf("phones: %w", err)
	}
	n := len(args)
	rows, err := db.R.QueryContext(ctx, fmt.Sprintf("SELECT id, phone_enc FROM people WHERE %s AND phone_hash <> '' AND id > $%d ORDER BY id LIMIT $%d",
		where, n+1, n+2), append(args, after, limit)...)
	if err != nil {
		return nil, fmt.Errorf("phones: %w", err)
	}
	defer rows.Close()
	var out []SealedPhone
	for rows.Next() {
		var r SealedPhone
		if err := rows.Scan(&r.ID, &r.Phone); err != nil {
			return nil, fmt.Errorf("phones: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Known returns the people an official names by what they know of them: a
// phone number or an ID number (CCCD, CMND or passport), as typed. Never
// more than five: a phone shared by a family lists each.
func (s *Service) Known(ctx context.Context, text string) ([]int64, error) {
	if column, key := lookupKey(text); column != "" {
		return s.IDsByKey(ctx, column, s.Vault.Hash(key), 5)
	}
	return nil, fmt.Errorf("known person: %w", &errs.Invalid{Fields: map[string]string{"who": msg.Both("people.known.what")}})
}

// lookupKey reads text as officials type what they know of a person: a
// phone number or an ID number, with spaces, dots or dashes anywhere. It
// returns the look-up column and the normalised value, or "" for neither.
func lookupKey(text string) (column, key string) {
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '.' || r == '-' }), "")
	if ph, err := NormalizePhone(text); err == nil {
		return "phone_hash", ph
	}
	if idn, ok := NormalizeIDNumber(text); ok && idn != "" {
		return "id_number_hash", idn
	}
	return "", ""
}

// Search is what an official typed into a list's search box to find people:
// a phone or ID number names them exactly (by look-up hash, an index read);
// anything else is words of a name. Names are sealed, so a list narrows its
// rows by its other filters first and KeepNamed opens just those names.
type Search struct {
	Exact bool    // a phone or ID number was typed: IDs decides
	IDs   []int64 // the people it names (empty: nobody)
	Words []string
}

// NameScan bounds a search by name: a list opens the names of at most this
// many of its rows (in its own order), matching its other filters.
const NameScan = 5000

// Where narrows a condition to the people an exact search named (column
// holds person ids); a search by name, or none, leaves it as it is.
func (q Search) Where(where string, args []any, column string) (string, []any) {
	if len(q.IDs) == 0 {
		return where, args
	}
	where += " AND " + column + " IN (" + sqldb.In(len(args)+1, len(q.IDs)) + ")"
	for _, id := range q.IDs {
		args = append(args, id)
	}
	return where, args
}

// Window is rows[offset:offset+limit] within rows, whatever the numbers (an
// offset past the end, or one so large that the sum overflows, is empty).
func Window[T any](rows []T, offset, limit int) []T {
	lo := min(max(offset, 0), len(rows))
	return rows[lo : lo+min(max(limit, 0), len(rows)-lo)]
}

// ParseSearch reads a list's search text; "" is no search.
func (s *Service) ParseSearch(ctx context.Context, text string) (Search, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Search{}, nil
	}
	if column, key := lookupKey(text); column != "" {
		ids, err := s.IDsByKey(ctx, column, s.Vault.Hash(key), 20)
		return Search{Exact: true, IDs: ids}, err
	}
	words := Words(text)
	if len(words) == 0 || len([]rune(text)) > 100 {
		return Search{}, &errs.Invalid{Fields: map[string]string{"q": msg.Both("people.search.what")}}
	}
	return Search{Words: words}, nil
}

// KeepNamed returns, in their order, the rows whose person's name has every
// word of q as the start of one of its words ("tam" finds "Nguyễn Văn
// Tâm"). A name that cannot be opened does not match.
func KeepNamed[T any](ctx context.Context, s *Service, rows []T, person func(T) int64, q Search) ([]T, error) {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = person(r)
	}
	names := make(map[int64][]string, len(ids))
	err := s.byIDs(ctx, "name_enc", ids, func(rs *sql.Rows) error {
		var id int64
		var sealed []byte
		if err := rs.Scan(&id, &sealed); err != nil {
			return err
		}
		if name, err := s.Vault.Open(sealed); err == nil {
			names[id] = Words(name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("people by name: %w", err)
	}
	var out []T
	for _, r := range rows {
		if hasWords(names[person(r)], q.Words) {
			out = append(out, r)
		}
	}
	return out, nil
}

// NameHas reports whether a name has every word of q as the start of one
// of its words.
func NameHas(name string, q Search) bool { return hasWords(Words(name), q.Words) }

// hasWords reports whether every wanted word starts a word of name.
func hasWords(name, want []string) bool {
	if len(name) == 0 {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(name, func(n string) bool { return strings.HasPrefix(n, w) }) {
			return false
		}
	}
	return true
}
