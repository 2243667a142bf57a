package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/config"
	"anticovid/internal/notify"
	"anticovid/internal/people"
	"anticovid/internal/store/storetest"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
)

// BenchmarkCommunePosters serves one commune's batch of 300 A4 posters
// (a busy commune's approved venues) as one PDF, end to end over HTTP.
func BenchmarkCommunePosters(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	v, _ := vault.New(bytes.Repeat([]byte{42}, 32))
	keys, _ := token.NewKeyring()
	users := auth.NewService(db, time.Hour)
	officer, err := users.CreateUser(ctx, auth.NewUser{Username: "communea", Password: testPassword, Role: auth.CommuneOfficer, Unit: "27991"})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := users.CreateToken(ctx, "communea", time.Hour)
	venues := &venue.Service{DB: db, Vault: v, Signer: keys, BaseURL: "https://qr.longan.gov.vn", Province: "80"}
	const n = 300
	var csv strings.Builder
	csv.WriteString("name,category,commune_code,address\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&csv, "Cửa hàng tạp hóa Bến Lức số %d,shop,27991,Số %d đường Nguyễn Hữu Thọ\n", i, i)
	}
	rows, _ := venue.ReadRows(strings.NewReader(csv.String()))
	if _, err := venues.Import(ctx, &officer.Principal, rows); err != nil {
		b.Fatal(err)
	}
	cfg := &config.Config{Province: "80", MaxBody: 1 << 20, SessionTTL: time.Hour, Retention: 21 * 24 * time.Hour}
	srv := httptest.NewServer(New(Deps{Config: cfg, DB: db, Auth: users, People: people.NewService(db, v), Venues: venues, Keys: keys,
		Outbox: &notify.Outbox{DB: db, Vault: v}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/units/27991/posters.pdf", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		size, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "posters/s")
	b.ReportMetric(float64(size)/n/1024, "KB/poster")
}
