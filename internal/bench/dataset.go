package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/checkin"
	"anticovid/internal/demo"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// withDays shortens sc to days of check-ins (0: the scale's own), naming it
// after them so its dataset file is not mistaken for the full one.
func withDays(sc demo.Scale, days int) demo.Scale {
	if days > 0 && days != sc.Days {
		sc.Days = days
		sc.Name = fmt.Sprintf("%s-%dd", sc.Name, days)
	}
	return sc
}

// ensureDataset loads the demo dataset unless the database already has it,
// and reports whether it did.
func ensureDataset(ctx context.Context, db *sqldb.DB, v *vault.Vault, province string, sc demo.Scale, seed uint64, stdout io.Writer, where string) (bool, error) {
	n, err := venue.Count(ctx, db)
	if err != nil {
		return false, err
	}
	if n > 0 {
		visits, _ := checkin.Count(ctx, db)
		fmt.Fprintf(stdout, "dataset: reusing %s (%d venues, %d visits)\n", where, n, visits)
		return false, nil
	}
	fmt.Fprintf(stdout, "dataset: building %s (scale %s, seed %d) …\n", where, sc.Name, seed)
	stop := store.BulkLoad(ctx, db, 5*time.Second, func(busy, logN, ckpt int) {
		if os.Getenv("BENCH_DEBUG") != "" {
			fmt.Fprintf(stdout, "checkpoint: busy %d log %d checkpointed %d\n", busy, logN, ckpt)
		}
	})
	defer stop()
	defs, err := store.DropIndexes(ctx, db, "visits")
	if err != nil {
		return false, err
	}
	st, err := demo.Load(ctx, db, v, auth.NewService(db, time.Hour), province, sc, seed, datasetNow)
	if err != nil {
		return false, err
	}
	start := time.Now()
	if err := store.CreateIndexes(ctx, db, defs); err != nil {
		return false, err
	}
	fmt.Fprintf(stdout, "dataset: %d visit indexes rebuilt in %v\n", len(defs), time.Since(start).Round(time.Second))
	start = time.Now()
	if err := store.Analyze(ctx, db); err != nil {
		return false, err
	}
	fmt.Fprintf(stdout, "dataset: %d venues, %d people, %d visits in %v (analyze %v)\n", st.Venues, st.People, st.Visits,
		st.Elapsed.Round(time.Second), time.Since(start).Round(time.Second))
	return true, nil
}
