package venue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"anticovid/internal/people"
)

// searchKey is what a venue is found by (search_key): its name, address,
// plate and route, folded.
func searchKey(v Venue) string {
	return people.Fold(strings.Join([]string{v.Name, v.Address, v.Plate, v.Route}, " "))
}

// phoneHash is the look-up hash of a venue's contact phone ("" without one).
func (s *Service) phoneHash(phone string) string {
	p, err := people.NormalizePhone(phone)
	if err != nil {
		return ""
	}
	return s.Vault.Hash(p)
}

// maxWords is how many words of a search are looked up.
const maxWords = 6

// maxPrefix is the longest prefix of a word venue_words holds; a longer
// word typed is looked up by it and checked against search_key.
const maxPrefix = 12

// wordRows are the venue_words rows of a venue: every prefix of 2 to
// maxPrefix letters of each word of its search key, once.
func wordRows(key string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range people.Words(key) {
		r := []rune(w)
		for n := 2; n <= min(len(r), maxPrefix); n++ {
			if p := string(r[:n]); !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// execer is a connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// indexWords stores the search words of venues (by id, their search
// keys), many rows a statement.
func indexWords(ctx context.Context, ex execer, keys map[int64]string) error {
	var b strings.Builder
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := ex.ExecContext(ctx, "INSERT INTO venue_words (word, venue_id, province_code) VALUES "+b.String()+" ON CONFLICT DO NOTHING", args...)
		b.Reset()
		args = args[:0]
		if err != nil {
			return fmt.Errorf("venue search words: %w", err)
		}
		return nil
	}
	for id, key := range keys {
		for _, w := range wordRows(key) {
			if len(args) > 0 {
				b.WriteByte(',')
			}
			// The venue's province: the distribution key that keeps a
			// venue's words with it (docs/SCALING.md).
			fmt.Fprintf(&b, "($%d, $%d, COALESCE((SELECT province_code FROM venues WHERE id = $%[2]d), ''))", len(args)+1, len(args)+2)
			args = append(args, w, id)
			if len(args) >= 400 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// searchWhere narrows venues to those matching q: a phone number finds the
// venues registered with it; other text, venues having every word typed
// (as a word or the start of one) through venue_words' primary key. It adds
// its arguments after args and returns the condition ("" for an empty q).
// bench venues measures it: at 100,000 venues a search and its count take
// 10–20 ms whatever the caller's level.
func (s *Service) searchWhere(q string, args []any) (string, []any) {
	q = strings.TrimSpace(q)
	if q == "" {
		return "", args
	}
	if _, err := people.NormalizePhone(q); err == nil {
		args = append(args, s.phoneHash(q))
		return fmt.Sprintf(" AND contact_phone_hash = $%d", len(args)), args
	}
	var sets, long []string
	words := people.Words(q)
	if len(words) > maxWords {
		words = words[:maxWords] // a name or address needs no more; more would only cost
	}
	for _, w := range words {
		r := []rune(w)
		if len(r) < 2 {
			continue // one letter says nothing
		}
		args = append(args, string(r[:min(len(r), maxPrefix)]))
		sets = append(sets, fmt.Sprintf("SELECT venue_id FROM venue_words WHERE word = $%d", len(args)))
		if len(r) > maxPrefix {
			args = append(args, "%"+w+"%")
			long = append(long, fmt.Sprintf(" AND search_key LIKE $%d", len(args)))
		}
	}
	if len(sets) == 0 {
		return " AND 1 = 0", args // nothing searchable was typed: nothing matches
	}
	// One set of ids, the words' sets intersected (each a range of the
	// primary key, merged in id order), probed by the venues' rowid.
	return " AND id IN (" + strings.Join(sets, " INTERSECT ") + ")" + strings.Join(long, ""), args
}

// FillSearch gives venues stored before search existed their search key
// and phone hash, a thousand at a time; run at start, it is a no-op once
// done, and two servers doing it at once write the same values.
func (s *Service) FillSearch(ctx context.Context) (int, error) {
	total := 0
	var after int64
	for {
		rows, err := s.DB.R.QueryContext(ctx, "SELECT id FROM venues WHERE search_key = '' AND id > $1 ORDER BY id LIMIT 1000", after)
		if err != nil {
			return total, fmt.Errorf("fill venue search: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return total, fmt.Errorf("fill venue search: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("fill venue search: %w", err)
		}
		for _, id := range ids {
			after = id
			v, err := s.Lookup(ctx, id)
			if err != nil {
				continue // unreadable (another key?): left unsearchable rather than stopping the server
			}
			key := searchKey(v)
			if key == "" {
				key = " " // nothing to find it by; not empty, so it is not read again
			}
			err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "UPDATE venues SET search_key = $1, contact_phone_hash = $2 WHERE id = $3",
					key, s.phoneHash(v.ContactPhone), v.ID); err != nil {
					return err
				}
				return indexWords(ctx, tx, map[int64]string{v.ID: key})
			})
			if err != nil {
				return total, fmt.Errorf("fill venue search: %w", err)
			}
			total++
		}
		if len(ids) < 1000 {
			return total, nil
		}
	}
}
