package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
)

// Watch is the inbox's job (one server at a time, under its lease): it
// counts every source for every scope of officials, writes the notices of
// each rise, and queues the each-event messages of notices not sent yet. A
// source that fails for one scope is logged and tried again next run; the
// others go on.
func (s *Service) Watch(ctx context.Context) error {
	officials, err := auth.Officials(ctx, s.DB)
	if err != nil {
		return err
	}
	scopes := map[string][]auth.Principal{}
	var keys []string
	for _, u := range officials {
		k := scopeKey(u.Principal)
		if scopes[k] == nil {
			keys = append(keys, k)
		}
		scopes[k] = append(scopes[k], u.Principal)
	}
	var failed error
	for _, k := range keys {
		users := scopes[k]
		for _, src := range s.Sources {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p := users[0]
			n, href, err := src.Count(ctx, &p)
			if errors.Is(err, errs.ErrForbidden) {
				continue
			}
			if err == nil {
				err = s.compare(ctx, k, src.Kind, n, href, users)
			}
			if err != nil {
				failed = err
				s.log().ErrorContext(ctx, "inbox watch", "kind", src.Kind, "role", p.Role, "unit", p.Unit, "err", err)
			}
		}
	}
	if err := s.dispatch(ctx); err != nil {
		return err
	}
	return failed
}

// compare stores n as the scope's count of kind and, when it rose (or new
// work waits at another link), writes one notice per official of the scope
// in the same transaction. The update is a compare-and-set on the
// generation read, so of two servers comparing the same change only one
// writes; the notices' dedup key names the new generation besides.
func (s *Service) compare(ctx context.Context, scope, kind string, n int, href string, users []auth.Principal) error {
	var old, gen int64
	var oldHref string
	err := s.DB.Primary().R.QueryRowContext(ctx, "SELECT count, gen, href FROM inbox_watch WHERE scope = $1 AND kind = $2", scope, kind).Scan(&old, &gen, &oldHref)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("inbox watch: %w", err)
	}
	if known && old == int64(n) && oldHref == href {
		return nil
	}
	now := s.now().Unix()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if known {
			res, err = tx.ExecContext(ctx, "UPDATE inbox_watch SET count = $1, gen = gen + 1, href = $2, updated_at = $3 WHERE scope = $4 AND kind = $5 AND gen = $6",
				n, href, now, scope, kind, gen)
		} else {
			res, err = tx.ExecContext(ctx, `INSERT INTO inbox_watch (scope, kind, count, gen, href, updated_at) VALUES ($1, $2, $3, 1, $4, $5)
				ON CONFLICT (scope, kind) DO NOTHING`, scope, kind, n, href, now)
		}
		if err != nil {
			return fmt.Errorf("inbox watch: %w", err)
		}
		if won, _ := res.RowsAffected(); won != 1 {
			return nil // another run stored this change and wrote its notices
		}
		added := int64(n) - old
		if added <= 0 && (n == 0 || oldHref == href) {
			return nil // less work than before: nothing to tell
		}
		added = max(added, 1) // the same count at a new link: one new piece
		key := scope + "|" + kind + "|" + strconv.FormatInt(gen+1, 10)
		for _, u := range users {
			if _, err := tx.ExecContext(ctx, `INSERT INTO inbox_notices (user_id, kind, added, total, href, dedup_key, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, dedup_key) DO NOTHING`, u.UserID, kind, added, n, href, key, now); err != nil {
				return fmt.Errorf("inbox notices: %w", err)
			}
		}
		return nil
	})
}

// dispatchBatch bounds one run's each-event messages; the rest wait a run.
const dispatchBatch = 1000

// dispatch queues one message per notice not sent yet, on each channel its
// official chose Each for and has an address on, and marks the notices
// sent. The outbox's dedup key (notice and channel) keeps a repeated run
// from sending twice.
func (s *Service) dispatch(ctx context.Context) error {
	rows, err := s.DB.Primary().R.QueryContext(ctx, "SELECT id, user_id, kind, added, total FROM inbox_notices WHERE sent = 0 ORDER BY id LIMIT $1", dispatchBatch)
	if err != nil {
		return fmt.Errorf("inbox dispatch: %w", err)
	}
	type pending struct {
		id, user     int64
		kind         string
		added, total int
	}
	var ps []pending
	var ids, users []int64
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.user, &p.kind, &p.added, &p.total); err != nil {
			rows.Close()
			return fmt.Errorf("inbox dispatch: %w", err)
		}
		ps = append(ps, p)
		ids = append(ids, p.id)
		users = append(users, p.user)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inbox dispatch: %w", err)
	}
	if len(ps) == 0 {
		return nil
	}
	prefs, contacts, err := s.recipients(ctx, users, Each)
	if err != nil {
		return err
	}
	for _, p := range ps {
		pr, c := prefs[p.user], contacts[p.user]
		text := Notice{Kind: p.kind, Added: p.added, Total: p.total}.Text("vi")
		link := s.BaseURL + "/inbox/" + strconv.FormatInt(p.id, 10)
		key := "inbox:" + strconv.FormatInt(p.id, 10) + ":"
		if pr.SMS == Each && c.Phone != "" {
			if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindInbox, To: c.Phone,
				Body: msg.T("vi", "inbox.sms", text, link), DedupKey: key + notify.SMS}); err != nil {
				return fmt.Errorf("inbox dispatch: %w", err)
			}
		}
		if pr.Email == Each && c.Email != "" {
			if _, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.Email, Kind: notify.KindInbox, To: c.Email,
				Subject: msg.T("vi", "inbox.email.subject"), Body: msg.T("vi", "inbox.email.body", text, link), DedupKey: key + notify.Email}); err != nil {
				return fmt.Errorf("inbox dispatch: %w", err)
			}
		}
	}
	err = sqldb.Chunks(ids, nil, func(in string, args []any) error {
		_, err := s.DB.W.ExecContext(ctx, "UPDATE inbox_notices SET sent = 1 WHERE id IN ("+in+")", args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("inbox dispatch: %w", err)
	}
	return nil
}

// recipients returns, of the accounts users, the preferences of those who
// chose mode on some channel and the addresses of those (no address: not
// in the map).
func (s *Service) recipients(ctx context.Context, users []int64, mode string) (map[int64]Prefs, map[int64]Contact, error) {
	slices.Sort(users)
	users = slices.Compact(users)
	prefs := map[int64]Prefs{}
	var chose []int64
	err := sqldb.Chunks(users, []any{mode}, func(in string, args []any) error {
		rows, err := s.DB.Primary().R.QueryContext(ctx, "SELECT user_id, sms, email FROM inbox_prefs WHERE (sms = $1 OR email = $1) AND user_id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var p Prefs
			if err := rows.Scan(&id, &p.SMS, &p.Email); err != nil {
				return err
			}
			prefs[id] = p
			chose = append(chose, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("inbox recipients: %w", err)
	}
	contacts := map[int64]Contact{}
	if len(chose) > 0 && s.Contacts != nil {
		if contacts, err = s.Contacts(ctx, chose); err != nil {
			return nil, nil, fmt.Errorf("inbox recipients: %w", err)
		}
	}
	return prefs, contacts, nil
}
