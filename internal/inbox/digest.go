package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/msg"
	"anticovid/internal/notify"
)

// Digest is the daily digest's job (run every few minutes under its lease):
// once the local day has reached DigestHour, it queues one message per
// channel to every official who chose Daily on it and had notices in the 24
// hours before that hour (counts per kind and a link to the inbox), then
// marks the day done and deletes the notices older than Keep. The window and the outbox's dedup key (day, account,
// channel) depend on the day only, so two servers, or a run repeated after
// a crash half-way, queue each digest once.
func (s *Service) Digest(ctx context.Context) error {
	now := s.now().In(hcm)
	if now.Hour() < s.DigestHour {
		return nil
	}
	day := now.Format(time.DateOnly)
	var done int64
	err := s.DB.Primary().R.QueryRowContext(ctx, "SELECT done_at FROM inbox_digest_days WHERE day = $1", day).Scan(&done)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("inbox digest: %w", err)
	}
	end := time.Date(now.Year(), now.Month(), now.Day(), s.DigestHour, 0, 0, 0, hcm)
	if err := s.digest(ctx, day, end.Add(-24*time.Hour), end); err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, "INSERT INTO inbox_digest_days (day, done_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING", day, s.now().Unix()); err != nil {
		return fmt.Errorf("inbox digest: %w", err)
	}
	// Once a day, notices past Keep go: the inbox is a to-do list, not an
	// archive (the work itself stays with its owner).
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM inbox_notices WHERE created_at < $1", s.now().Add(-Keep).Unix()); err != nil {
		return fmt.Errorf("inbox purge: %w", err)
	}
	return nil
}

// Keep is how long a notice stays in the inbox, read or not.
const Keep = 90 * 24 * time.Hour

// line is one kind's sum in a digest.
type line struct {
	kind  string
	added int
}

// digest queues the digests of the notices made in [from, to).
func (s *Service) digest(ctx context.Context, day string, from, to time.Time) error {
	rows, err := s.DB.Primary().R.QueryContext(ctx, `SELECT n.user_id, n.kind, SUM(n.added) FROM inbox_notices n
		JOIN inbox_prefs p ON p.user_id = n.user_id
		WHERE n.created_at >= $1 AND n.created_at < $2 AND (p.sms = $3 OR p.email = $3)
		GROUP BY n.user_id, n.kind ORDER BY n.user_id, n.kind`, from.Unix(), to.Unix(), Daily)
	if err != nil {
		return fmt.Errorf("inbox digest: %w", err)
	}
	lines := map[int64][]line{}
	var users []int64
	for rows.Next() {
		var id int64
		var l line
		if err := rows.Scan(&id, &l.kind, &l.added); err != nil {
			rows.Close()
			return fmt.Errorf("inbox digest: %w", err)
		}
		if lines[id] == nil {
			users = append(users, id)
		}
		lines[id] = append(lines[id], l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inbox digest: %w", err)
	}
	if len(users) == 0 {
		return nil
	}
	prefs, contacts, err := s.recipients(ctx, users, Daily)
	if err != nil {
		return err
	}
	link := s.BaseURL + "/inbox"
	sent := 0
	for _, id := range users {
		pr, c := prefs[id], contacts[id]
		var parts []string
		for _, l := range lines[id] {
			parts = append(parts, msg.T("vi", "inbox.digest.line", msg.T("vi", "inbox.label."+l.kind), l.added))
		}
		key := "inbox-digest:" + day + ":" + strconv.FormatInt(id, 10) + ":"
		if pr.SMS == Daily && c.Phone != "" {
			ok, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindInbox, To: c.Phone,
				Body: msg.T("vi", "inbox.digest.sms", strings.Join(parts, "; "), link), DedupKey: key + notify.SMS})
			if err != nil {
				return fmt.Errorf("inbox digest: %w", err)
			}
			sent += boolInt(ok)
		}
		if pr.Email == Daily && c.Email != "" {
			ok, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.Email, Kind: notify.KindInbox, To: c.Email,
				Subject: msg.T("vi", "inbox.digest.subject", dayVN(day)),
				Body:    msg.T("vi", "inbox.digest.email", to.In(hcm).Format("02/01/2006 15:04"), "- "+strings.Join(parts, "\n- "), link), DedupKey: key + notify.Email})
			if err != nil {
				return fmt.Errorf("inbox digest: %w", err)
			}
			sent += boolInt(ok)
		}
	}
	s.log().InfoContext(ctx, "inbox digests queued", "day", day, "messages", sent)
	return nil
}

// dayVN writes a yyyy-mm-dd day as dd/mm/yyyy.
func dayVN(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("02/01/2006")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
