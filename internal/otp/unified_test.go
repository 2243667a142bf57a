package otp

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/store/storetest"
)

// The SMS and the refusals read exactly as each use's did before the codes
// were one service.
func TestTexts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		for purpose, want := range map[string]string{
			RegisterVenue:      "Mã xác nhận anticovid của bạn: %s. Mã có hiệu lực 10 phút. Không cung cấp mã này cho bất kỳ ai.",
			BluezoneRegister:   "Ma xac nhan Bluezone (đăng ký / registration): %s, hieu luc 10 phut. Khong chia se ma nay. / Your Bluezone code: %[1]s (10 minutes).",
			BluezoneUnregister: "Ma xac nhan Bluezone (xoá đăng ký / deletion): %s, hieu luc 10 phut. Khong chia se ma nay. / Your Bluezone code: %[1]s (10 minutes).",
		} {
			k, err := f.svc.Send(ctx, purpose, "0912345678")
			if err != nil || k.Code != "" {
				t.Fatalf("%s: %+v %v (a sent code is not returned)", purpose, k, err)
			}
			code := f.lastCode(t, "0912345678")
			msgs := f.sms.Messages()
			if got := msgs[len(msgs)-1].Body; got != fmt.Sprintf(want, code) {
				t.Errorf("%s SMS:\n%s\nwant\n%s", purpose, got, fmt.Sprintf(want, code))
			}
		}
		f.now = f.now.Add(11 * time.Minute)
		for purpose, want := range map[string]string{
			RegisterVenue:    "Mã đã hết hạn (sau 10 phút); hãy yêu cầu mã mới / The code expired; ask for a new one",
			BluezoneRegister: "Mã đã hết hạn / code expired",
		} {
			_, err := f.svc.Verify(ctx, purpose, "0912345678", "123456", "")
			if got := errs.FieldsOf(err)["code"]; got != want || !errors.Is(err, ErrExpired) {
				t.Errorf("%s expired: %q (%v), want %q", purpose, got, err, want)
			}
		}
	})
}

// A code confirms only the purpose it was issued for.
func TestPurposes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const phone = "0912345678"
		if _, err := f.svc.Send(ctx, RegisterVenue, phone); err != nil {
			t.Fatal(err)
		}
		code := f.lastCode(t, phone)
		for _, other := range []string{BluezoneRegister, BluezoneUnregister} {
			if _, err := f.svc.Verify(ctx, other, phone, code, "test"); !errors.Is(err, ErrNoCode) {
				t.Errorf("a venue code for %s: %v", other, err)
			}
		}
		en, err := f.svc.Issue(ctx, Request{Purpose: EN, Subject: Subject{PersonID: 5}})
		if err != nil || len(en.Code) != HandedDigits {
			t.Fatalf("EN code: %+v %v", en, err)
		}
		for _, other := range []string{BluezoneLog, BluezoneFeed, ENCertificate} {
			if _, err := f.svc.Verify(ctx, other, "", en.Code, "test"); !errors.Is(err, ErrWrong) || !strings.Contains(fmt.Sprint(err), "wrong code") {
				t.Errorf("an EN code for %s: %v", other, err)
			}
		}
		if _, err := f.svc.Verify(ctx, EN, phone, en.Code, "test"); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("an EN code checked as a phone's: %v", err)
		}
		if k, err := f.svc.Verify(ctx, EN, "", en.Code, "test"); err != nil || k.PersonID != 5 {
			t.Errorf("the EN code for EN: %+v %v", k, err)
		}
		for name, r := range map[string]Request{
			"phone code without a phone": {Purpose: BluezoneRegister},
			"handed code with a phone":   {Purpose: EN, Phone: phone},
			"unknown purpose":            {Purpose: "sign_in", Phone: phone},
		} {
			if _, err := f.svc.Issue(ctx, r); !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// Every phone code has the same attempt budget: a Bluezone registration code
// dies after five wrong guesses like a venue one. Checking the right code
// without using it (the caller's work failed) costs no attempt.
func TestSharedAttemptLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const phone = "0987654321"
		if _, err := f.svc.Issue(ctx, Request{Purpose: BluezoneRegister, Phone: phone, Client: "a", Send: true}); err != nil {
			t.Fatal(err)
		}
		code := f.lastCode(t, phone)
		for range 2 * DefaultMaxAttempts {
			if _, err := f.svc.Verify(ctx, BluezoneRegister, phone, code, "a"); err != nil {
				t.Fatalf("right code, not used: %v", err)
			}
		}
		for i := 1; i < DefaultMaxAttempts; i++ {
			_, err := f.svc.Verify(ctx, BluezoneRegister, phone, wrong(code), "a")
			if !errors.Is(err, ErrWrong) || errs.FieldsOf(err)["code"] != "Mã không đúng / wrong code" {
				t.Fatalf("wrong guess %d: %v", i, err)
			}
		}
		if _, err := f.svc.Verify(ctx, BluezoneRegister, phone, wrong(code), "a"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("last wrong guess: %v", err)
		}
		if _, err := f.svc.Verify(ctx, BluezoneRegister, phone, code, "a"); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("right code after the limit: %v", err)
		}

		// A new code; used in a transaction, it is used once.
		if _, err := f.svc.Issue(ctx, Request{Purpose: BluezoneRegister, Phone: phone, Client: "a", Send: true}); err != nil {
			t.Fatal(err)
		}
		code = f.lastCode(t, phone)
		k, err := f.svc.Verify(ctx, BluezoneRegister, phone, code, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return f.svc.Redeem(ctx, tx, k) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return f.svc.Redeem(ctx, tx, k) }); !errors.Is(err, ErrUsed) {
			t.Fatalf("redeemed twice: %v", err)
		}
		if _, err := f.svc.Verify(ctx, BluezoneRegister, phone, code, "a"); !errors.Is(err, ErrUsed) {
			t.Fatalf("a used code: %v", err)
		}
	})
}

// A client that keeps guessing, or keeps asking for codes, is refused
// unchecked for a while; other clients are not.
func TestClientBlocking(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	f := newFixture(t, db)
	if _, err := f.svc.Send(ctx, RegisterVenue, "0912345678"); err != nil {
		t.Fatal(err)
	}
	code := f.lastCode(t, "0912345678")
	// Guesses at numbers that were sent no code, one per number.
	for i := range maxFailures {
		if _, err := f.svc.Verify(ctx, RegisterVenue, fmt.Sprintf("09130000%02d", i), "123456", "guesser"); !errors.Is(err, ErrNoCode) {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Verify(ctx, RegisterVenue, "0912345678", code, "guesser"); !errors.Is(err, errs.ErrRateLimited) {
		t.Fatalf("blocked client: %v", err)
	}
	if _, err := f.svc.Verify(ctx, RegisterVenue, "0912345678", code, "other"); err != nil {
		t.Fatalf("other client: %v", err)
	}
	f.now = f.now.Add(failWindow + time.Second)
	if _, err := f.svc.Verify(ctx, RegisterVenue, "0913000099", "123456", "guesser"); !errors.Is(err, ErrNoCode) {
		t.Fatalf("after the window: %v", err)
	}
	for i := range maxFailures {
		if _, err := f.svc.Issue(ctx, Request{Purpose: BluezoneRegister, Phone: fmt.Sprintf("09120000%02d", i), Client: "flooder", Send: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Issue(ctx, Request{Purpose: BluezoneRegister, Phone: "0912000099", Client: "flooder", Send: true}); !errors.Is(err, errs.ErrRateLimited) {
		t.Fatalf("flooding client: %v", err)
	}
}

// Guessing from many addresses: every address is new, so only the limits
// per code, per phone and per purpose stand. Each holds, for handed and
// phone codes, and a flood of addresses that empties the per-client map
// does not reset the purpose's budget.
func TestGuessingFromManyAddresses(t *testing.T) {
	ctx := context.Background()
	addr := 0
	next := func() string { addr++; return fmt.Sprintf("2001:db8::%x", addr) }
	t.Run("handed codes: the global budget", func(t *testing.T) {
		f := newFixture(t, storetest.SQLite(t))
		en, err := f.svc.Issue(ctx, Request{Purpose: EN, Subject: Subject{PersonID: 5}})
		if err != nil {
			t.Fatal(err)
		}
		for range HandedFailuresPerMinute {
			if _, err := f.svc.Verify(ctx, EN, "", "0000000000", next()); !errors.Is(err, ErrWrong) {
				t.Fatal(err)
			}
		}
		// The right code from a fresh address is refused too while the
		// budget is spent: a guesser cannot tell a hit from a miss.
		if _, err := f.svc.Verify(ctx, EN, "", en.Code, next()); !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("over the budget: %v", err)
		}
		// Other purposes keep their own budgets.
		if _, err := f.svc.Verify(ctx, BluezoneLog, "", "0000000000", next()); !errors.Is(err, ErrWrong) {
			t.Fatalf("another purpose: %v", err)
		}
		// Flooding the per-client map with addresses does not reset it.
		for range 100_001 {
			f.svc.failed(BluezoneFeed, next(), "")
		}
		if _, err := f.svc.Verify(ctx, EN, "", en.Code, next()); !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("after a flood of addresses: %v", err)
		}
		f.now = f.now.Add(budgetWindow)
		if _, err := f.svc.Verify(ctx, EN, "", en.Code, next()); err != nil {
			t.Fatalf("next minute: %v", err)
		}
	})
	t.Run("phone codes: per code, per phone, per purpose", func(t *testing.T) {
		f := newFixture(t, storetest.SQLite(t))
		const phone = "0912345678"
		// Per code: burned after DefaultMaxAttempts wrong guesses.
		if _, err := f.svc.Send(ctx, PhoneProof, phone); err != nil {
			t.Fatal(err)
		}
		code := f.lastCode(t, phone)
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
		for range DefaultMaxAttempts {
			f.svc.Verify(ctx, PhoneProof, phone, wrong, next())
		}
		if _, err := f.svc.Verify(ctx, PhoneProof, phone, code, next()); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("burned code: %v", err)
		}
		// Per phone: new codes asked for and guessed at from ever new
		// addresses; after maxFailures wrong guesses at the number it is
		// blocked (the owner's next code included) for failWindow.
		for n := DefaultMaxAttempts; n < maxFailures; n += DefaultMaxAttempts {
			f.now = f.now.Add(DefaultResendGap)
			if _, err := f.svc.Send(ctx, PhoneProof, phone); err != nil {
				t.Fatal(err)
			}
			wrong := fmt.Sprintf("%06d", (atoi(f.lastCode(t, phone))+1)%1_000_000)
			for range DefaultMaxAttempts {
				f.svc.Verify(ctx, PhoneProof, phone, wrong, next())
			}
		}
		f.now = f.now.Add(DefaultResendGap)
		if _, err := f.svc.Send(ctx, PhoneProof, phone); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Verify(ctx, PhoneProof, phone, f.lastCode(t, phone), next()); !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("phone guessed at from many addresses: %v", err)
		}
		// Per purpose: wrong guesses at many numbers.
		g := newFixture(t, storetest.SQLite(t))
		for i := range PhoneFailuresPerMinute {
			g.svc.Verify(ctx, RegisterVenue, fmt.Sprintf("0913%06d", i), "123456", next())
		}
		if _, err := g.svc.Send(ctx, RegisterVenue, phone); err != nil {
			t.Fatal(err)
		}
		if _, err := g.svc.Verify(ctx, RegisterVenue, phone, g.lastCode(t, phone), next()); !errors.Is(err, errs.ErrRateLimited) {
			t.Fatalf("over the purpose's budget: %v", err)
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// Migration 0010 moves the codes of both old tables into otp_codes: live
// codes keep working, tracer codes keep their ids and persons, used ones stay
// used, and new codes are numbered after all of them.
func TestMigrationMovesCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		now := f.now.Unix()
		id := "INTEGER PRIMARY KEY"
		if db.Engine == sqldb.Postgres {
			id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
		}
		tag := func(purpose, phone, code string) string {
			return hex.EncodeToString(f.svc.Vault.Tag("otp/v1", []byte(purpose+"\x00"+phone+"\x00"+code)))
		}
		h := f.svc.Vault.Hash
		// The tables as migrations 0003 and 0005 left them.
		for _, q := range []string{
			"DROP TABLE otp_codes",
			"DELETE FROM schema_migrations WHERE version = 10",
			`CREATE TABLE otp_codes (id ` + id + `, purpose TEXT NOT NULL, phone_hash TEXT NOT NULL, code_hash TEXT NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0, used INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)`,
			"CREATE INDEX otp_codes_phone ON otp_codes(phone_hash, purpose)",
			`CREATE TABLE bt_codes (id ` + id + `, purpose TEXT NOT NULL, code_hash TEXT NOT NULL, phone_hash TEXT NOT NULL DEFAULT '',
				person_id BIGINT, issued_by BIGINT NOT NULL DEFAULT 0, onset_at BIGINT, commune_code TEXT NOT NULL DEFAULT '',
				district_code TEXT NOT NULL DEFAULT '', province_code TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL,
				expires_at BIGINT NOT NULL, used_at BIGINT)`,
			"CREATE UNIQUE INDEX bt_codes_hash ON bt_codes(code_hash)",
			"CREATE INDEX bt_codes_phone ON bt_codes(phone_hash, purpose, created_at)",
			"CREATE INDEX bt_codes_created ON bt_codes(created_at)",
		} {
			if _, err := db.W.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.W.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		const venueQ = `INSERT INTO otp_codes (id, purpose, phone_hash, code_hash, attempts, used, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
		exec(venueQ, 1, RegisterVenue, h("0911111111"), tag(RegisterVenue, "0911111111", "111111"), 0, 1, now-3000, now-2400)
		exec(venueQ, 2, RegisterVenue, h("0911111111"), tag(RegisterVenue, "0911111111", "222222"), 2, 0, now-30, now+570)
		// The same code sent twice to one phone: the newer row is the live one.
		exec(venueQ, 3, RegisterVenue, h("0922222222"), tag(RegisterVenue, "0922222222", "333333"), 0, 1, now-3000, now-2400)
		exec(venueQ, 4, RegisterVenue, h("0922222222"), tag(RegisterVenue, "0922222222", "333333"), 0, 0, now-30, now+570)
		exec(`INSERT INTO bt_codes (id, purpose, code_hash, person_id, issued_by, onset_at, commune_code, district_code, province_code, created_at, expires_at)
			VALUES (7, $1, $2, 42, 9, $3, '27991', '800', '80', $4, $5)`, BluezoneLog, h(BluezoneLog+"::12345678"), now-86400, now-600, now+3000)
		exec(`INSERT INTO bt_codes (id, purpose, code_hash, person_id, created_at, expires_at, used_at) VALUES (8, $1, $2, 43, $3, $4, $3)`,
			EN, h(EN+"::87654321"), now-600, now+3000)
		exec(`INSERT INTO bt_codes (id, purpose, code_hash, phone_hash, created_at, expires_at) VALUES (9, $1, $2, $3, $4, $5)`,
			BluezoneRegister, h(BluezoneRegister+":0933333333:444444"), h("0933333333"), now-60, now+540)
		if db.Engine == sqldb.Postgres {
			exec("SELECT setval(pg_get_serial_sequence('bt_codes', 'id'), 9)")
		}

		if applied, err := store.Migrate(ctx, db); err != nil || len(applied) != 1 || applied[0] != 10 {
			t.Fatalf("applied %v, %v", applied, err)
		}
		if _, err := db.R.ExecContext(ctx, "SELECT 1 FROM bt_codes"); err == nil {
			t.Error("bt_codes is still there")
		}
		var n int
		db.R.QueryRowContext(ctx, "SELECT count(*) FROM otp_codes").Scan(&n)
		if n != 6 {
			t.Errorf("%d codes after the move, want 6 (one duplicate dropped)", n)
		}

		// Live venue codes work, once; the used one stays used.
		if err := f.svc.Check(ctx, RegisterVenue, "0911111111", "222222"); err != nil {
			t.Errorf("live venue code: %v", err)
		}
		if err := f.svc.Check(ctx, RegisterVenue, "0911111111", "222222"); !errors.Is(err, ErrUsed) {
			t.Errorf("venue code used twice: %v", err)
		}
		if err := f.svc.Check(ctx, RegisterVenue, "0922222222", wrong("333333")); !strings.Contains(fmt.Sprint(err), "còn 4 lần") {
			t.Errorf("moved venue code's attempts: %v", err)
		}
		if err := f.svc.Check(ctx, RegisterVenue, "0922222222", "333333"); err != nil {
			t.Errorf("the newer of two equal codes: %v", err)
		}
		// Tracer codes keep id, person, onset and place; used stays used.
		k, err := f.svc.Verify(ctx, BluezoneLog, "", "12345678", "test")
		if err != nil || k.ID != 7 || k.PersonID != 42 || k.IssuedBy != 9 || k.OnsetAt.Unix() != now-86400 || k.Commune != "27991" || k.Province != "80" {
			t.Errorf("moved tracer code: %+v %v", k, err)
		}
		if _, err := f.svc.Verify(ctx, EN, "", "87654321", "test"); !errors.Is(err, ErrUsed) {
			t.Errorf("moved used code: %v", err)
		}
		if _, err := f.svc.Verify(ctx, BluezoneRegister, "0933333333", "444444", "test"); err != nil {
			t.Errorf("moved Bluezone registration code: %v", err)
		}
		// New codes come after every moved one; the venue's resend gap still
		// counts the moved codes.
		if _, err := f.svc.Send(ctx, RegisterVenue, "0911111111"); !errors.Is(err, ErrTooSoon) {
			t.Errorf("resend right after the move: %v", err)
		}
		if _, err := f.svc.Issue(ctx, Request{Purpose: EN, Subject: Subject{PersonID: 44}}); err != nil {
			t.Fatal(err)
		}
		var newest, moved int64
		db.R.QueryRowContext(ctx, "SELECT id FROM otp_codes WHERE person_id = 44").Scan(&newest)
		db.R.QueryRowContext(ctx, "SELECT max(id) FROM otp_codes WHERE person_id IS NULL OR person_id <> 44").Scan(&moved)
		if newest <= moved || moved <= 9 {
			t.Errorf("new code id %d, moved ones up to %d", newest, moved)
		}
	})
}
