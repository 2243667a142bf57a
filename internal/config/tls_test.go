package config

import (
	"strings"
	"testing"
)

// The HTTPS and shutdown settings: good combinations pass and give the
// public URL QR codes print; each bad shape is refused with the flag named.
func TestTLSSettings(t *testing.T) {
	good := []struct {
		args []string
		url  string
	}{
		{nil, "http://127.0.0.1:8080"},
		{[]string{"--tls-domain", "covid.longan.gov.vn"}, "https://covid.longan.gov.vn"},
		{[]string{"--tls-domain", " Covid.LongAn.gov.vn , www.covid.longan.gov.vn", "--tls-addr", "127.0.0.1:8443"}, "https://covid.longan.gov.vn:8443"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--base-url", "https://covid.longan.gov.vn/"}, "https://covid.longan.gov.vn"},
		{[]string{"--shutdown-timeout", "5s", "--shutdown-delay", "4s", "--acme-email", "it@longan.gov.vn"}, "http://127.0.0.1:8080"},
	}
	for _, g := range good {
		c, err := parse(t, nil, g.args...)
		if err != nil {
			t.Fatalf("%v refused: %v", g.args, err)
		}
		if c.PublicURL() != g.url {
			t.Errorf("%v: public URL %q, want %q", g.args, c.PublicURL(), g.url)
		}
		if c.TLS() != (len(g.args) > 0 && strings.HasPrefix(g.args[0], "--tls")) {
			t.Errorf("%v: TLS() = %v", g.args, c.TLS())
		}
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--tls-domain", "a.vn", "--tls-cert", "c", "--tls-key", "k", "--base-url", "https://a.vn"}, "choose one"},
		{[]string{"--tls-cert", "c.pem", "--base-url", "https://a.vn"}, "go together"},
		{[]string{"--tls-key", "k.pem"}, "go together"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, "--base-url https://"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--base-url", "http://a.vn"}, "--base-url https://"},
		{[]string{"--tls-domain", "*.longan.gov.vn"}, "no wildcard"},
		{[]string{"--tls-domain", "localhost"}, "--tls-domain \"localhost\""},
		{[]string{"--tls-domain", "a.vn,b..vn"}, "--tls-domain \"b..vn\""},
		{[]string{"--tls-domain", "a.vn/x"}, "--tls-domain"},
		{[]string{"--tls-domain", "-a.vn"}, "--tls-domain"},
		{[]string{"--tls-domain", "a.vn", "--tls-addr", "443"}, "--tls-addr"},
		{[]string{"--acme-directory", "http://acme.example/dir"}, "--acme-directory"},
		{[]string{"--acme-directory", "https:///dir"}, "--acme-directory"},
		{[]string{"--acme-email", "Tin <it@a.vn>"}, "--acme-email"},
		{[]string{"--shutdown-timeout", "100ms"}, "--shutdown-timeout"},
		{[]string{"--shutdown-delay", "-1s"}, "--shutdown-delay"},
		{[]string{"--shutdown-timeout", "5s", "--shutdown-delay", "5s"}, "--shutdown-delay"},
	}
	for _, b := range bad {
		_, err := parse(t, nil, b.args...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%v: error %v, want one naming %q", b.args, err, b.want)
		}
	}
	if _, err := parse(t, map[string]string{"ANTICOVID_SHUTDOWN_TIMEOUT": "soon"}); err == nil || !strings.Contains(err.Error(), "ANTICOVID_SHUTDOWN_TIMEOUT") {
		t.Errorf("a bad ANTICOVID_SHUTDOWN_TIMEOUT: %v", err)
	}
}
