package bluezone

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/msg"
)

// MaxFeedDays is the most daily keys one F0 publishes: the 14-day window.
const MaxFeedDays = 14

// FeedKey is one daily key an F0's phone publishes.
type FeedKey struct {
	DailyKey string `json:"daily_key"` // 64 hex characters
	DayStart int64  `json:"day_start"` // Unix seconds of the day's 00:00 in Vietnam
}

// FeedEntry is one published key as phones download it: enough to re-derive
// the 144 IDs of that day and to stop matching after the window ends.
type FeedEntry struct {
	ID        int64  `json:"id"`
	DailyKey  string `json:"daily_key"`
	DayStart  int64  `json:"day_start"`
	Slots     int    `json:"slots_per_day"`
	WindowEnd int64  `json:"window_end"`
}

// Feed is one page of the feed.
type Feed struct {
	GeneratedAt int64       `json:"generated_at"`
	Next        int64       `json:"next"` // pass as ?since= for entries published later
	Entries     []FeedEntry `json:"entries"`
	ETag        string      `json:"-"`
}

// FeedPageSize bounds one feed response; phones page with since.
const FeedPageSize = 5000

// PublishKeys is the decentralised path: with a bz_feed code issued for an F0,
// the F0's phone publishes the daily keys of its infectious window; windowEnd
// (0 = now) is when matching stops. Keys must be for distinct, whole, past
// Vietnamese days within the kept period, and consecutive days must chain
// (D_{n+1} = SHA-256(D_n)), which catches a phone sending garbage. All or nothing.
func (s *Service) PublishKeys(ctx context.Context, code, client string, keys []FeedKey, windowEnd int64) (int, error) {
	const op = "bluezone publish keys"
	k, err := s.Codes.Verify(ctx, exposure.PurposeBluezoneFeed, "", code, client)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	f := errs.Fields{}
	switch {
	case len(keys) == 0:
		f.Add("keys", msg.Both("bluezone.at_least_one_daily"))
	case len(keys) > MaxFeedDays:
		f.Add("keys", msg.Both("bluezone.at_most_daily_keys", MaxFeedDays, len(keys)))
	}
	today := DayNumber(now)
	oldest := today - int64(max(s.KeepDays, 1)) + 1
	byDay := map[int64][KeyLen]byte{}
	dayOf := make([]int64, len(keys))
	seen := map[[KeyLen]byte]int{}
	for i, fk := range keys {
		p := fmt.Sprintf("keys[%d].", i)
		key, ok := ParseKeyHex(p+"daily_key", fk.DailyKey, f)
		if ok {
			if j, dup := seen[key]; dup {
				f.Add(p+"daily_key", msg.Both("bluezone.duplicate_keys", j))
			}
			seen[key] = i
		}
		d := DayNumber(time.Unix(fk.DayStart, 0))
		dayOf[i] = d
		switch {
		case DayStartOf(d) != fk.DayStart:
			f.Add(p+"day_start", msg.Both("bluezone.00_00_vietnam_time"))
		case d > today:
			f.Add(p+"day_start", msg.Both("bluezone.day_in_future"))
		case d < oldest:
			f.Add(p+"day_start", msg.Both("bluezone.older_than_days", s.KeepDays))
		default:
			if _, dup := byDay[d]; dup {
				f.Add(p+"day_start", msg.Both("bluezone.two_keys_same_day"))
			} else if ok {
				byDay[d] = key
			}
		}
	}
	if err := f.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	for i, d := range dayOf {
		next, ok := byDay[d+1]
		cur := byDay[d]
		if ok && sha256.Sum256(cur[:]) != next {
			f.Add(fmt.Sprintf("keys[%d].daily_key", i), msg.Both("bluezone.next_day_key_does"))
		}
	}
	last := int64(0)
	for d := range byDay {
		last = max(last, d)
	}
	if windowEnd == 0 {
		windowEnd = now.Unix()
	}
	if windowEnd < DayStartOf(last) || windowEnd > now.Add(clockSkew).Unix() {
		f.Add("window_end", msg.Both("bluezone.window_end_after_last"))
	}
	if err := f.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, k); err != nil {
			return err
		}
		days := slices.Sorted(maps.Keys(byDay))
		for _, d := range days {
			key := byDay[d]
			res, err := tx.ExecContext(ctx, `INSERT INTO bz_feed (daily_key, day_start, slots, window_end, code_id, published_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (daily_key) DO NOTHING`,
				key[:], DayStartOf(d), SlotsPerDay, windowEnd, k.ID, now.Unix())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return &errs.Invalid{Fields: map[string]string{"keys": msg.Both("bluezone.daily_key_was_already")}}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return len(byDay), nil
}

// FeedSince returns the unexpired entries published after since, oldest
// first, at most FeedPageSize, with an ETag that changes whenever the answer
// would (a new entry, or the oldest day expiring).
func (s *Service) FeedSince(ctx context.Context, since int64) (Feed, error) {
	now := s.now()
	oldest := DayStartOf(DayNumber(now) - int64(max(s.KeepDays, 1)) + 1)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, daily_key, day_start, slots, window_end FROM bz_feed
		WHERE id > $1 AND day_start >= $2 ORDER BY id LIMIT $3`, since, oldest, FeedPageSize)
	if err != nil {
		return Feed{}, fmt.Errorf("bluezone feed: %w", err)
	}
	defer rows.Close()
	fd := Feed{GeneratedAt: now.Unix(), Next: since, Entries: []FeedEntry{}}
	var key []byte
	for rows.Next() {
		var e FeedEntry
		if err := rows.Scan(&e.ID, &key, &e.DayStart, &e.Slots, &e.WindowEnd); err != nil {
			return Feed{}, fmt.Errorf("bluezone feed: %w", err)
		}
		e.DailyKey = hex.EncodeToString(key)
		fd.Entries = append(fd.Entries, e)
		fd.Next = e.ID
	}
	if err := rows.Err(); err != nil {
		return Feed{}, fmt.Errorf("bluezone feed: %w", err)
	}
	fd.ETag = fmt.Sprintf(`W/"bzfeed-%d-%d-%d-%d"`, since, fd.Next, len(fd.Entries), oldest)
	return fd, nil
}

// PurgeFeed deletes entries whose day has left the kept period; retention
// also does this for the general period, this keeps the feed to its window.
func (s *Service) PurgeFeed(ctx context.Context) (int64, error) {
	oldest := DayStartOf(DayNumber(s.now()) - int64(max(s.KeepDays, 1)) + 1)
	res, err := s.DB.W.ExecContext(ctx, "DELETE FROM bz_feed WHERE day_start < $1", oldest)
	if err != nil {
		return 0, fmt.Errorf("bluezone purge feed: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
