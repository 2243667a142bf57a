package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		v, _ := vault.New(bytes.Repeat([]byte{1}, 32))
		var got []map[string]string
		var fail atomic.Bool
		fail.Store(true)
		provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer k" {
				w.WriteHeader(401)
				return
			}
			if fail.Load() {
				w.WriteHeader(503)
				return
			}
			var m map[string]string
			json.NewDecoder(r.Body).Decode(&m)
			got = append(got, m)
		}))
		defer provider.Close()
		rec := &Recorder{}
		o := &Outbox{DB: db, Vault: v, Senders: map[string]Sender{SMS: &HTTPSender{URL: provider.URL, APIKey: "k"}, Email: rec}}
		for i := 0; i < 2; i++ { // the second is a duplicate
			ok, err := o.Enqueue(ctx, Message{Channel: SMS, To: "0912345678", Body: "Bạn là F1", DedupKey: "f1:case7:person9"})
			if err != nil || ok != (i == 0) {
				t.Fatalf("enqueue %d: %v %v", i, ok, err)
			}
		}
		var enc []byte
		db.R.QueryRow("SELECT to_enc FROM outbox").Scan(&enc)
		if bytes.Contains(enc, []byte("0912345678")) {
			t.Fatal("recipient stored in clear")
		}
		// Provider down: nothing sent, still pending.
		if sent, failed, err := o.Deliver(ctx); err != nil || sent != 0 || failed != 0 {
			t.Fatalf("deliver while down: %d %d %v", sent, failed, err)
		}
		fail.Store(false)
		db.W.Exec("UPDATE outbox SET next_at = 0") // skip the back-off wait
		if sent, _, err := o.Deliver(ctx); err != nil || sent != 1 {
			t.Fatalf("deliver: %d %v", sent, err)
		}
		if len(got) != 1 || got[0]["to"] != "0912345678" || got[0]["body"] != "Bạn là F1" {
			t.Fatalf("provider got %v", got)
		}
		if sent, _, _ := o.Deliver(ctx); sent != 0 {
			t.Fatal("sent twice")
		}
		o.Enqueue(ctx, Message{Channel: Email, To: "a@b.vn", Subject: "s", Body: "b", DedupKey: "e1"})
		o.Enqueue(ctx, Message{Channel: "pigeon", To: "x", Body: "b", DedupKey: "p1"})
		sent, failed, _ := o.Deliver(ctx)
		if sent != 1 || failed != 1 || len(rec.Messages()) != 1 {
			t.Fatalf("email/unknown channel: sent %d failed %d rec %d", sent, failed, len(rec.Messages()))
		}
	})
}
