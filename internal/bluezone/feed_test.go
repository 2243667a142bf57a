package bluezone

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/exposure"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestFeed publishes an F0's daily keys and reads them back as phones do;
// every bad publication is refused whole.
func TestFeed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		phones := SimPhones(5, 3, testNow, []string{"27991"})
		persons, err := BulkRegister(ctx, db, f.svc.Vault, phones, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		syncSeq(t, db)
		code, _, err := f.svc.Codes.Issue(f.tracer, auth.From(f.tracer), exposure.PurposeBluezoneFeed, persons[0], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		today := DayNumber(testNow)
		d0 := sha256.Sum256([]byte("f0 base"))
		chain := func(n int) []FeedKey { // days today-n+1 .. today
			var out []FeedKey
			k := d0
			for d := today - int64(n) + 1; d <= today; d++ {
				out = append(out, FeedKey{DailyKey: hex.EncodeToString(k[:]), DayStart: DayStartOf(d)})
				k = NextDailyKey(k)
			}
			return out
		}
		good := chain(3)
		broken := chain(3)
		broken[1].DailyKey = strings.Repeat("ab", 32)
		future := chain(2)
		future[1].DayStart += 86400
		notMidnight := chain(1)
		notMidnight[0].DayStart += 3600
		dupDay := chain(2)
		dupDay[1].DayStart = dupDay[0].DayStart
		badHex := chain(1)
		badHex[0].DailyKey = "zz" + badHex[0].DailyKey[2:]
		for name, c := range map[string]struct {
			keys  []FeedKey
			field string
		}{
			"not chained":  {broken, "keys[0].daily_key"},
			"future":       {future, "keys[1].day_start"},
			"not midnight": {notMidnight, "keys[0].day_start"},
			"same day":     {dupDay, "keys[1].day_start"},
			"bad hex":      {badHex, "keys[0].daily_key"},
			"15 days":      {chain(15), "keys"},
			"none":         {nil, "keys"},
		} {
			_, err := f.svc.PublishKeys(ctx, code, "ip", c.keys, 0)
			if _, ok := errs.FieldsOf(err)[c.field]; !ok {
				t.Errorf("%s: %v, want a message for %s", name, err, c.field)
			}
		}
		if feed, _ := f.svc.FeedSince(ctx, 0); len(feed.Entries) != 0 {
			t.Fatalf("refused publications stored %d keys", len(feed.Entries))
		}
		if n, err := f.svc.PublishKeys(ctx, code, "ip", good, 0); err != nil || n != 3 {
			t.Fatalf("publish: %d %v", n, err)
		}
		if _, err := f.svc.PublishKeys(ctx, code, "ip", good, 0); !strings.Contains(fmt.Sprint(err), "already used") {
			t.Errorf("second use of the code: %v", err)
		}
		feed, err := f.svc.FeedSince(ctx, 0)
		if err != nil || len(feed.Entries) != 3 || feed.ETag == "" {
			t.Fatalf("feed: %+v %v", feed, err)
		}
		for i, e := range feed.Entries {
			if e.DailyKey != good[i].DailyKey || e.DayStart != good[i].DayStart || e.Slots != 144 || e.WindowEnd != testNow.Unix() {
				t.Errorf("entry %d: %+v", i, e)
			}
		}
		// A phone re-derives the F0's IDs from the feed alone.
		k, _ := hex.DecodeString(feed.Entries[2].DailyKey)
		if DayIDs([32]byte(k))[0] != DayIDs(DailyKey(d0, 2))[0] {
			t.Error("fed key does not give the F0's IDs")
		}
		later, _ := f.svc.FeedSince(ctx, feed.Next)
		if len(later.Entries) != 0 || later.ETag == feed.ETag {
			t.Errorf("since=%d: %d entries, etag %s", feed.Next, len(later.Entries), later.ETag)
		}
		// Entries expire with the kept days.
		f.svc.Now = func() time.Time { return testNow.AddDate(0, 0, 13) }
		if old, _ := f.svc.FeedSince(ctx, 0); len(old.Entries) != 1 {
			t.Errorf("13 days later: %d entries, want 1", len(old.Entries))
		}
		if n, _ := f.svc.PurgeFeed(ctx); n != 2 {
			t.Errorf("purged %d, want 2", n)
		}
	})
}
