package config

import (
	"flag"
	"strings"
	"testing"
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
