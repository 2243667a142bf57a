package otp

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/notify"
	"anticovid/internal/retention"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

type fixture struct {
	svc *Service
	sms *notify.Recorder
	now time.Time
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sms: &notify.Recorder{}, now: time.Date(2021, 7, 15, 8, 0, 0, 0, time.UTC)}
	f.svc = New(db, v, &notify.Outbox{DB: db, Vault: v, Senders: map[string]notify.Sender{notify.SMS: f.sms}})
	f.svc.Now = func() time.Time { return f.now }
	return f
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode delivers the outbox and returns the code of the newest SMS to phone.
func (f *fixture) lastCode(t *testing.T, phone string) string {
	t.Helper()
	if _, _, err := f.svc.Outbox.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	msgs := f.sms.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == phone {
			m := codeRE.FindStringSubmatch(msgs[i].Body)
			if m == nil {
				t.Fatalf("no code in %q", msgs[i].Body)
			}
			return m[1]
		}
	}
	t.Fatalf("no SMS to %s", phone)
	return ""
}

// wrong returns a code that differs from c.
func wrong(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}

func TestCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const phone = "0912345678"
		fails := func(err, sentinel error, fragment string) {
			t.Helper()
			if !errors.Is(err, sentinel) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("got %v, want %v", err, sentinel)
			}
			if msg := errs.FieldsOf(err)["code"]; !strings.Contains(msg, fragment) {
				t.Fatalf("message %q lacks %q", msg, fragment)
			}
		}

		// Nothing sent yet.
		fails(f.svc.Check(ctx, RegisterVenue, phone, "123456"), ErrNoCode, "Chưa có mã")

		// The SMS is Vietnamese, goes to the normalised number, and the code works once.
		sent, err := f.svc.Send(ctx, RegisterVenue, "+84 912 345 678")
		if err != nil || sent.Phone != phone || !sent.ExpiresAt.Equal(f.now.Add(10*time.Minute)) {
			t.Fatalf("send: %+v %v", sent, err)
		}
		code := f.lastCode(t, phone)
		if body := f.sms.Messages()[0].Body; !strings.Contains(body, "Mã xác nhận") || !strings.Contains(body, "10 phút") {
			t.Fatalf("SMS text %q", body)
		}
		var stored int
		db.R.QueryRow("SELECT count(*) FROM otp_codes WHERE code_hash LIKE $1", "%"+code+"%").Scan(&stored)
		if stored != 0 {
			t.Fatal("the code is stored in the clear")
		}
		fails(f.svc.Check(ctx, RegisterVenue, phone, wrong(code)), ErrWrong, "còn 4 lần")
		fails(f.svc.Check(ctx, RegisterVenue, phone, "12ab"), ErrWrong, "6 chữ số")
		if err := f.svc.Check(ctx, "device", phone, code); !errors.Is(err, ErrNoCode) {
			t.Fatalf("a code for another purpose: %v", err)
		}
		if err := f.svc.Check(ctx, RegisterVenue, "0912 345 678", code); err != nil {
			t.Fatalf("right code: %v", err)
		}
		fails(f.svc.Check(ctx, RegisterVenue, phone, code), ErrUsed, "đã được dùng")

		// Resending too soon is refused; after the gap a new code replaces the old.
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); !errors.Is(err, ErrTooSoon) || !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("resend at once: %v", err)
		}
		f.now = f.now.Add(61 * time.Second)
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); err != nil {
			t.Fatal(err)
		}
		code = f.lastCode(t, phone)

		// Expired after ten minutes.
		f.now = f.now.Add(10*time.Minute + time.Second)
		fails(f.svc.Check(ctx, RegisterVenue, phone, code), ErrExpired, "hết hạn")

		// Five wrong guesses kill the code: even the right one fails after.
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); err != nil {
			t.Fatal(err)
		}
		code = f.lastCode(t, phone)
		for i := 1; i <= 4; i++ {
			fails(f.svc.Check(ctx, RegisterVenue, phone, wrong(code)), ErrWrong, "lần thử")
		}
		fails(f.svc.Check(ctx, RegisterVenue, phone, wrong(code)), ErrTooManyAttempts, "quá nhiều lần")
		fails(f.svc.Check(ctx, RegisterVenue, phone, code), ErrTooManyAttempts, "quá nhiều lần")

		// Five codes an hour per phone at most (three were sent so far).
		for i := 0; i < 2; i++ {
			f.now = f.now.Add(61 * time.Second)
			if _, err := f.svc.Send(ctx, RegisterVenue, phone); err != nil {
				t.Fatalf("code %d: %v", i+4, err)
			}
		}
		f.now = f.now.Add(61 * time.Second)
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); !errors.Is(err, ErrTooSoon) {
			t.Fatalf("sixth code in an hour: %v", err)
		}
		// Another phone is not affected.
		if _, err := f.svc.Send(ctx, RegisterVenue, "0987654321"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Send(ctx, RegisterVenue, "12345"); errs.FieldsOf(err)["phone"] == "" {
			t.Fatalf("malformed phone: %v", err)
		}
	})
}

// Parallel guesses never get more than MaxAttempts comparisons: the right
// code sent as the sixth of many concurrent guesses cannot slip through.
func TestParallelGuesses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const phone = "0909000111"
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); err != nil {
			t.Fatal(err)
		}
		code := f.lastCode(t, phone)
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[error]int{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := f.svc.Check(ctx, RegisterVenue, phone, wrong(code))
				for _, s := range []error{ErrWrong, ErrTooManyAttempts, nil} {
					if errors.Is(err, s) || (s == nil && err == nil) {
						mu.Lock()
						counts[s]++
						mu.Unlock()
						return
					}
				}
				t.Errorf("unexpected %v", err)
			}()
		}
		wg.Wait()
		var attempts int
		db.R.QueryRow("SELECT attempts FROM otp_codes").Scan(&attempts)
		if attempts != DefaultMaxAttempts || counts[ErrWrong]+counts[ErrTooManyAttempts] != 20 || counts[ErrWrong] > 4 {
			t.Fatalf("attempts %d, outcomes %v", attempts, counts)
		}
		// Refused: the code is burned, and the twenty wrong guesses have
		// blocked the number for a while too.
		if err := f.svc.Check(ctx, RegisterVenue, phone, code); !errors.Is(err, ErrTooManyAttempts) && !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("right code after the limit: %v", err)
		}
	})
}

// Codes hold phone hashes: the retention purge removes them with the rest.
func TestRetention(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	if _, err := f.svc.Send(context.Background(), RegisterVenue, "0912345678"); err != nil {
		t.Fatal(err)
	}
	rep, err := retention.Purge(context.Background(), db, f.now.Add(22*24*time.Hour), 21*24*time.Hour)
	var left int
	db.R.QueryRow("SELECT count(*) FROM otp_codes").Scan(&left)
	if err != nil || rep["otp_codes"] != 1 || left != 0 {
		t.Fatalf("purge: %v %v, %d left", rep, err, left)
	}
}
