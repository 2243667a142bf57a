package sqldb_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// Each chunk holds at most 500 ids, every id once, in order; the
// placeholders are numbered after the lead arguments, which start every
// chunk's args.
func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 499, 500, 501, 1000, 1234} {
		for _, lead := range [][]any{nil, {"a"}, {int64(7), "b"}} {
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = int64(i*3 + 1)
			}
			var seen []int64
			calls := 0
			err := sqldb.Chunks(ids, lead, func(in string, args []any) error {
				calls++
				k := len(args) - len(lead)
				if k < 1 || k > 500 || !slices.Equal(args[:len(lead)], lead) {
					t.Fatalf("n=%d lead=%v: chunk of %d, args %v", n, lead, k, args[:len(lead)])
				}
				if want := sqldb.In(len(lead)+1, k); in != want {
					t.Fatalf("n=%d lead=%v: placeholders %q, want %q", n, lead, in, want)
				}
				for _, a := range args[len(lead):] {
					seen = append(seen, a.(int64))
				}
				return nil
			})
			if err != nil || !slices.Equal(seen, ids) || calls != (n+499)/500 {
				t.Errorf("n=%d lead=%v: %d calls, %d ids back, %v", n, lead, calls, len(seen), err)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := sqldb.Chunks(make([]int64, 1500), nil, func(string, []any) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("an error did not stop the chunks: %d calls, %v", calls, err)
	}
}

// The lists run as written on both engines: 1,234 ids with a lead argument
// find exactly their rows.
func TestChunksQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.W.ExecContext(ctx, "CREATE TABLE chunk_test (id BIGINT PRIMARY KEY, tag TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3000; i++ {
			tag := "odd"
			if i%2 == 0 {
				tag = "even"
			}
			if _, err := db.W.ExecContext(ctx, "INSERT INTO chunk_test (id, tag) VALUES ($1, $2)", i, tag); err != nil {
				t.Fatal(err)
			}
		}
		var ids []int64
		for i := int64(1); i <= 1234; i++ {
			ids = append(ids, i*2-1, i*2) // odd and even
		}
		var sum, n int64
		err := sqldb.Chunks(ids, []any{"even"}, func(in string, args []any) error {
			var c, s int64
			if err := db.R.QueryRowContext(ctx, "SELECT count(*), COALESCE(sum(id), 0) FROM chunk_test WHERE tag = $1 AND id IN ("+in+")", args...).Scan(&c, &s); err != nil {
				return err
			}
			n, sum = n+c, sum+s
			return nil
		})
		if err != nil || n != 1234 || sum != 1234*1235 {
			t.Errorf("found %d even ids summing to %d, want 1234 and %d: %v", n, sum, 1234*1235, err)
		}
	})
}
