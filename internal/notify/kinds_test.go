package notify

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"anticovid/internal/config"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// Only the documented kinds enter the outbox: no kind, a dedup prefix used
// as a kind, another case or spacing are refused and store nothing.
func TestEnqueueKinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		o := &Outbox{DB: db, Vault: testVault(t)}
		for _, k := range []string{"", "trace", "report-reminder", "OTP", " otp", "f1 ", "*"} {
			if ok, err := o.Enqueue(ctx, Message{Channel: SMS, Kind: k, To: phone, Body: text, DedupKey: "k:" + k}); err == nil || ok {
				t.Errorf("kind %q queued", k)
			}
		}
		for _, k := range Kinds {
			if ok, err := o.Enqueue(ctx, Message{Channel: SMS, Kind: k, To: phone, Body: text, DedupKey: "ok:" + k}); err != nil || !ok {
				t.Errorf("kind %q: %v", k, err)
			}
		}
		var n int
		db.R.QueryRow("SELECT count(*) FROM outbox").Scan(&n)
		if n != len(Kinds) {
			t.Errorf("%d rows for %d kinds", n, len(Kinds))
		}
	})
}

// Rows queued before kinds were checked (kind ” before migration 0011,
// the dedup prefix after it) reach the sender with their kind's name.
func TestStoredKinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		rec := &Recorder{}
		o := &Outbox{DB: db, Vault: testVault(t), Senders: map[string]Sender{SMS: rec, Email: rec}}
		want := map[string]string{
			"otp:venue_register:ab":       KindOTP,
			"trace:f1:case1:person2":      KindF1,
			"trace:venue:case1:venue2:p3": KindExposure,
			"campaign:4:abc":              KindCampaign,
			"report-reminder:2021-W30:80": KindReportReminder,
		}
		for dedup := range want {
			for _, stored := range []string{"", strings.SplitN(dedup, ":", 2)[0]} {
				if _, err := db.W.Exec(`INSERT INTO outbox (channel, to_enc, subject, body, dedup_key, status, created_at, next_at, kind, params)
					VALUES ('sms', $1, '', 'b', $2, 'queued', 0, 0, $3, '')`, o.Vault.Seal(phone), dedup+"#"+stored, stored); err != nil {
					t.Fatal(err)
				}
			}
		}
		if sent, _, err := o.Deliver(ctx); err != nil || sent != 2*len(want) {
			t.Fatalf("sent %d: %v", sent, err)
		}
		for _, m := range rec.Messages() {
			dedup, _, _ := strings.Cut(m.DedupKey, "#")
			if m.Kind != want[dedup] {
				t.Errorf("%s: kind %q, want %q", m.DedupKey, m.Kind, want[dedup])
			}
		}
	})
}

// The kinds callers set, the README's list and Kinds are one set: every
// message literal outside notify names a Kind constant, every constant is
// used by some feature, and README's --ott-templates row lists exactly them.
func TestKindsDocumentedAndUsed(t *testing.T) {
	literal := regexp.MustCompile(`notify\.Message\{[^}]*`)
	kindUse := regexp.MustCompile(`\bKind:\s*notify\.(Kind\w+)`)
	consts := map[string]string{"KindOTP": KindOTP, "KindF1": KindF1, "KindExposure": KindExposure,
		"KindCampaign": KindCampaign, "KindReportReminder": KindReportReminder, "KindMeeting": KindMeeting, "KindVenue": KindVenue, "KindInbox": KindInbox}
	used := map[string]bool{}
	for _, root := range []string{"..", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(filepath.ToSlash(path), "internal/notify/") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, lit := range literal.FindAllString(string(src), -1) {
				m := kindUse.FindStringSubmatch(lit)
				if m == nil || consts[m[1]] == "" {
					t.Errorf("%s: %s… sets no documented kind", path, lit)
					continue
				}
				used[consts[m[1]]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range Kinds {
		if !used[k] {
			t.Errorf("kind %q is documented but no feature sends it", k)
		}
	}
	if len(consts) != len(Kinds) {
		t.Errorf("constants %v, Kinds %v", consts, Kinds)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for line := range strings.Lines(string(readme)) {
		if strings.HasPrefix(line, "| `--ott-templates`") {
			row = line
		}
	}
	_, list, ok := strings.Cut(row, "the kinds:")
	if !ok {
		t.Fatalf("README has no --ott-templates row listing the kinds: %q", row)
	}
	var documented []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(list, -1) {
		documented = append(documented, m[1])
	}
	if want := append(slices.Clone(Kinds), "*"); !slices.Equal(documented, want) {
		t.Errorf("README lists kinds %v, the outbox takes %v", documented, want)
	}
}

// --ott-templates names kinds: a name that is not one (an old dedup prefix,
// a typo) stops the server at start instead of failing messages later.
func TestTemplatesNameKinds(t *testing.T) {
	for _, tpl := range []string{"trace=1", "otp=1,F1=2", "otp=1,campaigns=3", "report-reminder=4"} {
		if _, err := NewGateway(OTT, config.Gateway{URL: "https://x", Body: config.DefaultOTTBody, Templates: tpl}); err == nil ||
			!strings.Contains(err.Error(), "--ott-templates") {
			t.Errorf("%q accepted: %v", tpl, err)
		}
	}
	if _, err := NewGateway(OTT, config.Gateway{URL: "https://x", Body: config.DefaultOTTBody,
		Templates: "otp=1, f1=2,exposure=3,campaign=4,report_reminder=5,meeting=7,*=6"}); err != nil {
		t.Error(err)
	}
}
