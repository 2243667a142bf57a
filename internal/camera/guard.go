package camera

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
)

// Guard keeps the camera probe and snapshot proxy from becoming a way into
// the server's own network: only http, https and rtsp URLs, and no address
// that is the server itself, its neighbours or a cloud's metadata service:
// loopback, link-local, unique-local, private (RFC 1918), shared (CGNAT
// 100.64/10), 0/8, the IETF protocol block 192.0.0/24, multicast and
// unspecified, in IPv4 or any IPv6 form that embeds IPv4. A province whose
// cameras sit on a facility's private network or VPN names those ranges in
// Allow (--camera-allow); metadata addresses stay refused even then. The
// check runs on the URL when a camera is saved, on every address a name
// resolves to when dialling (so a DNS answer that changes in between gains
// nothing), on the socket's address itself, and on every redirect.
type Guard struct {
	// Allow lists the ranges cameras may sit in although the rules above
	// refuse them, such as 10.20.0.0/16 for a facility's network.
	Allow []netip.Prefix
	// Lookup resolves a host name; nil uses the system's resolver. Tests
	// use it to make a name resolve to a refused address.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// ownAddrs returns the server's interface addresses; nil reads them.
	ownAddrs func() []netip.Addr
}

// ErrRefused marks a target the guard refuses.
var ErrRefused = errors.New("camera address refused")

func (g *Guard) own() []netip.Addr {
	if g.ownAddrs != nil {
		return g.ownAddrs()
	}
	var out []netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// ParseAllow reads --camera-allow: CIDRs separated by commas or spaces.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("camera allow %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// metadata are the addresses of cloud instance metadata services: never a camera.
var metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("169.254.170.2"), netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("192.0.0.192"),
}

// refused are the ranges no camera is expected in.
var refused = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// embedded returns the IPv4 address inside an IPv6 one (mapped ::ffff:a.b.c.d,
// compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), or ip itself.
func embedded(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if !ip.Is6() {
		return ip
	}
	b := ip.As16()
	switch {
	case netip.MustParsePrefix("::/96").Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
		return netip.AddrFrom4([4]byte(b[12:16]))
	case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16]))
	case netip.MustParsePrefix("2002::/16").Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6]))
	}
	return ip
}

// CheckIP reports why an address may not be contacted, or nil.
func (g *Guard) CheckIP(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: not an address", ErrRefused)
	}
	ip = embedded(ip)
	for _, m := range metadata {
		if ip == m {
			return fmt.Errorf("%w: %s is a cloud metadata service", ErrRefused, ip)
		}
	}
	if ip.IsUnspecified() || ip.IsMulticast() || (ip.Is4() && ip.As4()[0] == 0) {
		return fmt.Errorf("%w: %s is not a unicast address", ErrRefused, ip)
	}
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, p := range refused {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in %s (allow it with --camera-allow)", ErrRefused, ip, p)
		}
	}
	for _, own := range g.own() {
		if own == ip {
			return fmt.Errorf("%w: %s is an address of the server", ErrRefused, ip)
		}
	}
	return nil
}

// lookup resolves host (an address stands for itself).
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if g.Lookup != nil {
		return g.Lookup(rctx, host)
	}
	return net.DefaultResolver.LookupNetIP(rctx, "ip", host)
}

// resolve returns host's addresses if the guard allows every one of them.
func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := g.lookup(ctx, host)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("resolve camera host: %w", errCannotResolve)
	}
	for _, ip := range ips {
		if err := g.CheckIP(ip); err != nil {
			return nil, err
		}
	}
	return ips, nil
}

var errCannotResolve = errors.New("camera host does not resolve")

// invalid is a bad-URL error for field.
func invalid(field, text string) error {
	return &errs.Invalid{Fields: map[string]string{field: text}}
}

// CheckURL parses raw and checks it against the guard: scheme among
// schemes, a host that resolves only to allowed addresses. The user info
// (credentials) is returned separately and removed from the URL.
func (g *Guard) CheckURL(ctx context.Context, field, raw string, schemes ...string) (u *url.URL, user, pass string, err error) {
	u, err = url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, "", "", invalid(field, msg.Both("camera.invalid_url"))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return nil, "", "", invalid(field, msg.Both("camera.only_schemes", strings.Join(schemes, ", ")))
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	host := u.Hostname()
	if _, err := g.resolve(ctx, host); err != nil {
		if errors.Is(err, errCannotResolve) {
			return nil, "", "", invalid(field, msg.Both("camera.cannot_resolve", host))
		}
		return nil, "", "", fmt.Errorf("%w: %w", err, invalid(field, msg.Both("camera.address_refused")))
	}
	return u, user, pass, nil
}

// control checks the address a socket is about to connect to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	return g.CheckIP(ap.Addr())
}

// DialContext connects to a camera: it resolves the host itself, refuses
// the connection if any address is refused, and dials an address it
// checked; the socket's own check (control) backs this up.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrRefused, address)
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
	var last error
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// Client returns an HTTP client for cameras: the guarded dialer, no proxy
// from the environment, at most three redirects, only to http(s), each
// checked by the guard; a redirect to another host or port loses the
// Authorization header, so a camera's credential never follows it.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to %s", ErrRefused, req.URL.Scheme)
		}
		if _, err := g.resolve(req.Context(), req.URL.Hostname()); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		if Origin(req.URL) != Origin(via[0].URL) {
			req.Header.Del("Authorization")
		}
		return nil
	}}
}

// Origin is the host and port a URL reaches, the port made explicit: a
// stored credential belongs to one origin.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "rtsp": "554"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
