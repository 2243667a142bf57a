package inbox

import (
	"context"
	"strconv"
	"testing"

	"anticovid/internal/auth"
	"anticovid/internal/store/storetest"
)

// BenchmarkUnread is the bell's cost: one user's unread count among
// 100 officials' 200,000 notices, a third of them unread.
func BenchmarkUnread(b *testing.B) {
	db := storetest.SQLite(b)
	ctx := context.Background()
	as := auth.NewService(db, 0)
	var ids []int64
	for i := range 100 {
		u, err := as.CreateUser(ctx, auth.NewUser{Username: "xa" + strconv.Itoa(i), Password: "correct horse battery", Role: auth.CommuneOfficer, Unit: "27991"})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.UserID)
	}
	tx, err := db.W.Begin()
	if err != nil {
		b.Fatal(err)
	}
	st, _ := tx.Prepare("INSERT INTO inbox_notices (user_id, kind, added, total, href, dedup_key, created_at, read_at) VALUES ($1, 'venues', 1, 1, '/venues', $2, 0, $3)")
	for i := range 200_000 {
		var read any
		if i%3 != 0 {
			read = int64(1)
		}
		if _, err := st.Exec(ids[i%len(ids)], "k"+strconv.Itoa(i), read); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	s := &Service{DB: db}
	p := &auth.Principal{UserID: ids[50], Role: auth.CommuneOfficer, Unit: "27991"}
	b.ResetTimer()
	for b.Loop() {
		if n, err := s.Unread(ctx, p); err != nil || n != 667 {
			b.Fatalf("%d %v", n, err)
		}
	}
}
