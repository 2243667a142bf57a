package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsFromFiles: every secret reads ANTICOVID_X or the file
// ANTICOVID_X_FILE names (trimmed); both at once, or a file that is not
// there, is an error that never shows the value.
func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := strings.Repeat("ab", 32)
	get := map[string]func(*Config) string{
		"DATA_KEY":             func(c *Config) string { return c.DataKey },
		"DATA_KEY_OLD":         func(c *Config) string { return c.DataKeyOld },
		"METRICS_TOKEN":        func(c *Config) string { return c.MetricsToken },
		"MEETING_SECRET":       func(c *Config) string { return c.MeetingSecret },
		"SMTP_URL":             func(c *Config) string { return c.SMTPURL },
		"SMS_AUTH":             func(c *Config) string { return c.SMS.Auth },
		"SMS_CALLBACK_SECRET":  func(c *Config) string { return c.SMS.CallbackSecret },
		"OTT_AUTH":             func(c *Config) string { return c.OTT.Auth },
		"OTT_CALLBACK_SECRET":  func(c *Config) string { return c.OTT.CallbackSecret },
		"BACKUP_S3_ACCESS_KEY": func(c *Config) string { return c.BackupS3AccessKey },
		"BACKUP_S3_SECRET_KEY": func(c *Config) string { return c.BackupS3SecretKey },
	}
	if len(get) != len(Secrets) {
		t.Fatalf("the test covers %d secrets, Secrets lists %d", len(get), len(Secrets))
	}
	for _, name := range Secrets {
		value := "s3cret-" + strings.ToLower(name) + "-" + key
		for _, tc := range []struct {
			how     string
			env     map[string]string
			want    string
			wantErr string
		}{
			{"variable", map[string]string{"ANTICOVID_" + name: value}, value, ""},
			{"file, trimmed", map[string]string{"ANTICOVID_" + name + "_FILE": file(name, "\n "+value+"\n")}, value, ""},
			{"both", map[string]string{"ANTICOVID_" + name: value, "ANTICOVID_" + name + "_FILE": file(name, value)}, "", "ANTICOVID_" + name + " and ANTICOVID_" + name + "_FILE are both set"},
			{"missing file", map[string]string{"ANTICOVID_" + name + "_FILE": filepath.Join(dir, "nothing")}, "", "ANTICOVID_" + name + "_FILE"},
		} {
			t.Run(name+"/"+tc.how, func(t *testing.T) {
				for k, v := range tc.env {
					t.Setenv(k, v)
				}
				var c Config
				c.Register(flag.NewFlagSet("test", flag.ContinueOnError))
				if got := get[name](&c); got != tc.want {
					t.Errorf("%s = %q, want %q", name, got, tc.want)
				}
				// Validate's other checks would refuse lone secrets (an SMS
				// key without --sms-url): only the reading is tested here.
				err := errors.Join(c.envErrs...)
				if tc.wantErr == "" && err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), value) {
					t.Errorf("the error shows the secret: %v", err)
				}
			})
		}
	}
}
