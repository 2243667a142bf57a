package config

import (
	"flag"
	"strings"
	"testing"
)

// The meeting settings: an https Jitsi URL with its app id and a long
// secret from the environment; no flag takes the secret.
func TestMeetingSettings(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	good := map[string]map[string]string{
		"none":     {},
		"https":    {"ANTICOVID_MEETING_URL": "https://meet.longan.gov.vn", "ANTICOVID_MEETING_APP_ID": "anticovid", "ANTICOVID_MEETING_SECRET": secret},
		"loopback": {"ANTICOVID_MEETING_URL": "http://127.0.0.1:8443/jitsi", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": secret},
	}
	for name, env := range good {
		t.Run(name, func(t *testing.T) { // each with its own environment
			if c, err := parse(t, env); err != nil || c.MeetingSecret != env["ANTICOVID_MEETING_SECRET"] {
				t.Errorf("%v", err)
			}
		})
	}
	bad := map[string]map[string]string{
		"http":         {"ANTICOVID_MEETING_URL": "http://meet.longan.gov.vn", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": secret},
		"query":        {"ANTICOVID_MEETING_URL": "https://meet.longan.gov.vn/?x=1", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": secret},
		"userinfo":     {"ANTICOVID_MEETING_URL": "https://u:p@meet.longan.gov.vn", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": secret},
		"no host":      {"ANTICOVID_MEETING_URL": "https:///room", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": secret},
		"no app id":    {"ANTICOVID_MEETING_URL": "https://meet.longan.gov.vn", "ANTICOVID_MEETING_SECRET": secret},
		"short secret": {"ANTICOVID_MEETING_URL": "https://meet.longan.gov.vn", "ANTICOVID_MEETING_APP_ID": "a", "ANTICOVID_MEETING_SECRET": "short"},
		"no secret":    {"ANTICOVID_MEETING_URL": "https://meet.longan.gov.vn", "ANTICOVID_MEETING_APP_ID": "a"},
		"secret alone": {"ANTICOVID_MEETING_SECRET": secret},
	}
	for name, env := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(t, env); err == nil || !strings.Contains(err.Error(), "meeting") || strings.Contains(err.Error(), secret) {
				t.Errorf("accepted or leaked: %v", err)
			}
		})
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Register(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Name, "secret") {
			t.Errorf("flag --%s takes a secret", f.Name)
		}
	})
}
