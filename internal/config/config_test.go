package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &c, c.Validate()
}

func TestDefaultsValid(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Province != "80" || c.Retention.Hours() != 21*24 || c.PublicURL() != "http://127.0.0.1:8080" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvAndFlags(t *testing.T) {
	c, err := parse(t, map[string]string{"ANTICOVID_PROVINCE": "01", "ANTICOVID_ADDR": ":9000"}, "--addr", ":9100")
	if err != nil {
		t.Fatal(err)
	}
	if c.Province != "01" || c.Addr != ":9100" {
		t.Fatalf("env/flag precedence: %+v", c)
	}
}

func TestValidateMessages(t *testing.T) {
	_, err := parse(t, nil, "--province", "794", "--addr", "nope", "--db", "mysql://x", "--retention", "1h", "--log-level", "loud")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"--province \"794\"", "--addr \"nope\"", "--db \"mysql://x\"", "--retention", "--log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// TestOperationsSettings: the operations centre's settings come from the
// same ANTICOVID_* variables as before, a flag overrides each, and the
// defaults are the schematic map, no SMTP, threshold 3 and 6000 a minute.
func TestOperationsSettings(t *testing.T) {
	c, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "" || c.ReportEmail != "" || c.MapTiles != "" || c.CameraAllow != "" || c.PublicThreshold != 3 || c.CampaignMaxRate != 6000 {
		t.Fatalf("operations defaults: %+v", c)
	}
	c, err = parse(t, map[string]string{
		"ANTICOVID_SMTP_URL":          "smtp://bot:s3cret@mail.longan.gov.vn:587?from=anticovid@longan.gov.vn",
		"ANTICOVID_REPORT_EMAIL":      "ubnd@longan.gov.vn",
		"ANTICOVID_CAMERA_ALLOW":      "10.20.0.0/16",
		"ANTICOVID_MAP_TILES":         "https://tiles.longan.gov.vn/{z}/{x}/{y}.png",
		"ANTICOVID_MAP_ATTRIBUTION":   "© Sở TT&TT Long An",
		"ANTICOVID_PUBLIC_THRESHOLD":  "5",
		"ANTICOVID_CAMPAIGN_MAX_RATE": "1200",
	}, "--report-email", "vanphong@longan.gov.vn", "--camera-allow", "10.20.0.0/16,192.168.5.0/24", "--public-threshold", "4")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{SMTPURL: "smtp://bot:s3cret@mail.longan.gov.vn:587?from=anticovid@longan.gov.vn", ReportEmail: "vanphong@longan.gov.vn",
		CameraAllow: "10.20.0.0/16,192.168.5.0/24", MapTiles: "https://tiles.longan.gov.vn/{z}/{x}/{y}.png",
		MapAttribution: "© Sở TT&TT Long An", PublicThreshold: 4, CampaignMaxRate: 1200}
	if c.SMTPURL != want.SMTPURL || c.ReportEmail != want.ReportEmail || c.CameraAllow != want.CameraAllow || c.MapTiles != want.MapTiles || c.MapAttribution != want.MapAttribution ||
		c.PublicThreshold != want.PublicThreshold || c.CampaignMaxRate != want.CampaignMaxRate {
		t.Fatalf("env and flags:\n got %+v\nwant %+v", c, want)
	}
}

// TestOperationsValidation: each bad operations setting is named at start;
// the SMTP password never appears in the message.
func TestOperationsValidation(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--smtp-url", "http://bot:s3cret@mail.example?from=a@b.vn"}, "--smtp-url"},
		{nil, []string{"--smtp-url", "smtp://bot:s3cret@mail.example:587"}, "from=sender"},
		{nil, []string{"--smtp-url", "smtp://bot:s3cret@:587?from=a@b.vn"}, "needs a host"},
		{nil, []string{"--smtp-url", "smtp://bot:s3cret@mail.example:99999?from=a@b.vn"}, "bad port"},
		{nil, []string{"--smtp-url", "smtp://bot:s3cret@mail.example?from=a@b.vn&tls=maybe"}, "tls="},
		{nil, []string{"--report-email", "not an address"}, "--report-email"},
		{nil, []string{"--report-email", "Văn phòng <vp@longan.gov.vn>"}, "--report-email"},
		{nil, []string{"--map-tiles", "ftp://tiles/{z}/{x}/{y}.png"}, "--map-tiles"},
		{nil, []string{"--map-tiles", "https://tiles.example/tile.png"}, "{z}, {x} and {y}"},
		{nil, []string{"--public-threshold", "0"}, "--public-threshold 0"},
		{nil, []string{"--campaign-max-rate", "0"}, "--campaign-max-rate 0"},
		{nil, []string{"--en-app-bundle-id", "bluezone"}, "--en-app-bundle-id"},
		{nil, []string{"--en-app-bundle-id", "vn.gov.blue zone"}, "--en-app-bundle-id"},
		{nil, []string{"--en-app-bundle-id", ".vn.gov"}, "--en-app-bundle-id"},
		{map[string]string{"ANTICOVID_EN_APP_BUNDLE_ID": "vn..gov"}, nil, "--en-app-bundle-id"},
		{map[string]string{"ANTICOVID_PUBLIC_THRESHOLD": "three"}, nil, `ANTICOVID_PUBLIC_THRESHOLD="three"`},
		{map[string]string{"ANTICOVID_CAMERA_ALLOW": "10.20.0.0/16,lan"}, nil, "--camera-allow \"lan\""},
		{nil, []string{"--camera-allow", "192.168.1.1"}, "--camera-allow \"192.168.1.1\""},
		{map[string]string{"ANTICOVID_RETENTION": "three weeks"}, nil, "ANTICOVID_RETENTION"},
	} {
		_, err := parse(t, c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want one naming %q", c.env, c.args, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: the message shows the SMTP password: %v", c.args, err)
		}
	}
}

// TestJobLease: 30 s by default, from ANTICOVID_JOB_LEASE or --job-lease,
// and refused outside 1 s to 1 h (a lease shorter than a database round
// trip would change hands all the time; a longer one leaves jobs stopped
// for hours after a server dies).
func TestJobLease(t *testing.T) {
	if c, err := parse(t, nil); err != nil || c.JobLease != 30*time.Second {
		t.Fatalf("default: %v %v", c.JobLease, err)
	}
	if c, err := parse(t, map[string]string{"ANTICOVID_JOB_LEASE": "5s"}); err != nil || c.JobLease != 5*time.Second {
		t.Fatalf("from the environment: %v %v", c.JobLease, err)
	}
	for _, bad := range []string{"0s", "500ms", "2h", "-1s"} {
		if _, err := parse(t, nil, "--job-lease", bad); err == nil || !strings.Contains(err.Error(), "--job-lease") {
			t.Errorf("--job-lease %s: %v", bad, err)
		}
	}
}
