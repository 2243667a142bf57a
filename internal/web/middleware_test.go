package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"anticovid/internal/config"
	"anticovid/internal/store/storetest"
)

// TestClientIP: forwarding headers count only from a trusted proxy, and then
// the client is the right-most address that is not a trusted proxy.
func TestClientIP(t *testing.T) {
	cfg := &config.Config{TrustedProxies: "10.0.0.0/8, 192.0.2.7, 2001:db8:1::/48"}
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "trusted-proxies") {
		t.Fatal(err)
	}
	trusted := proxies(cfg.Proxies())
	spoofs := map[string]string{
		"X-Forwarded-For": "1.2.3.4",
		"X-Real-Ip":       "1.2.3.4",
		"Forwarded":       "for=1.2.3.4",
	}
	cases := []struct {
		name, peer string
		hdr        map[string][]string
		want       string
	}{
		{"no header", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"trusted peer without header is the client", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"one proxy", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.4"},
		{"client wrote on the left", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 9.9.9.9, 198.51.100.4"}}, "198.51.100.4"},
		{"chain of proxies", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.4, 10.9.9.9, 192.0.2.7"}}, "198.51.100.4"},
		{"chain over several header lines", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.4", "10.9.9.9"}}, "198.51.100.4"},
		{"all proxies: the first", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}}, "10.3.3.3"},
		{"ports in the chain", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"198.51.100.4:61000, [2001:db8:1::5]:443"}}, "198.51.100.4"},
		{"IPv6 client", "[2001:db8:1::1]:443", map[string][]string{"X-Forwarded-For": {"2001:db8:ffff::42"}}, "2001:db8:ffff::42"},
		{"IPv6 zone dropped", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"fe80::1%eth0"}}, "fe80::1"},
		{"IPv4-mapped peer and client", "[::ffff:10.0.0.1]:443", map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.4"}}, "198.51.100.4"},
		{"garbage right of the client stops at the proxy", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"198.51.100.4, not-an-ip"}}, "10.0.0.1"},
		{"empty item", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {"198.51.100.4, "}}, "10.0.0.1"},
		{"huge value", "10.0.0.1:443", map[string][]string{"X-Forwarded-For": {strings.Repeat("9", 500)}}, "10.0.0.1"},
		{"Forwarded", "10.0.0.1:443", map[string][]string{"Forwarded": {`for=1.1.1.1, for="[2001:db8:ffff::9]:4711";proto=https, for=10.4.4.4`}}, "2001:db8:ffff::9"},
		{"Forwarded obfuscated", "10.0.0.1:443", map[string][]string{"Forwarded": {"for=_hidden"}}, "10.0.0.1"},
		{"Forwarded unknown", "10.0.0.1:443", map[string][]string{"Forwarded": {"for=unknown;by=10.0.0.1"}}, "10.0.0.1"},
		{"X-Real-IP", "10.0.0.1:443", map[string][]string{"X-Real-Ip": {"198.51.100.8"}}, "198.51.100.8"},
		{"X-Forwarded-For wins over X-Real-IP", "10.0.0.1:443", map[string][]string{"X-Real-Ip": {"1.1.1.1"}, "X-Forwarded-For": {"198.51.100.4"}}, "198.51.100.4"},
		{"proxy just outside the range", "11.0.0.1:443", map[string][]string{"X-Forwarded-For": {"198.51.100.4"}}, "11.0.0.1"},
	}
	for name, v := range spoofs {
		for _, peer := range []string{"203.0.113.9:5000", "[2001:db8:2::1]:5000", "192.0.2.8:80"} {
			cases = append(cases, struct {
				name, peer string
				hdr        map[string][]string
				want       string
			}{"untrusted peer spoofs " + name, peer, map[string][]string{name: {v}}, peerHost(peer)})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for k, vs := range c.hdr {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := trusted.client(r); got != c.want {
				t.Errorf("client = %q, want %q", got, c.want)
			}
			// Without --trusted-proxies no header counts at all.
			if got, want := proxies(nil).client(r), strings.TrimPrefix(peerHost(c.peer), "::ffff:"); got != want {
				t.Errorf("no proxies: client = %q, want the peer %q", got, want)
			}
		})
	}
}

// TestTrustedProxiesFlag refuses lists that do not parse.
func TestTrustedProxiesFlag(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/8/8", "fe80::1%eth0", "1.2.3"} {
		c := &config.Config{TrustedProxies: bad}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c := &config.Config{TrustedProxies: "10.0.0.0/8,::ffff:172.16.0.0/108, 2001:db8::1"}
	got := c.Proxies()
	if len(got) != 3 || got[1].String() != "172.16.0.0/12" || got[2].String() != "2001:db8::1/128" {
		t.Fatalf("proxies %v", got)
	}
}

// TestRateLimitBehindProxy: behind a trusted proxy two clients have their
// own check-in budgets; spoofed headers from an untrusted peer do not buy a
// fresh one.
func TestRateLimitBehindProxy(t *testing.T) {
	post := func(e *env, xff string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/checkins", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	exhaust := func(e *env, xff string) {
		for i := 0; i < 50; i++ {
			if post(e, xff) == http.StatusTooManyRequests {
				return
			}
		}
		t.Fatalf("%s never limited", xff)
	}
	behind := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.CheckinRate = 0.01; c.TrustedProxies = "127.0.0.0/8, ::1" })
	exhaust(behind, "198.51.100.1")
	if c := post(behind, "198.51.100.2"); c == http.StatusTooManyRequests {
		t.Fatal("a second client behind the proxy shares the first one's limit")
	}
	if c := post(behind, "198.51.100.1"); c != http.StatusTooManyRequests {
		t.Fatalf("the first client is free again: %d", c)
	}
	direct := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.CheckinRate = 0.01 })
	exhaust(direct, "198.51.100.1")
	for _, spoof := range []string{"198.51.100.2", "198.51.100.3, 198.51.100.4", "2001:db8::7"} {
		if c := post(direct, spoof); c != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For %q from an untrusted peer escaped the limit: %d", spoof, c)
		}
	}
}
