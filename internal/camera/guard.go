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
// the server's own network: only http, https and rtsp URLs, and never the
// server itself (loopback, its own addresses), link-local addresses (cloud
// metadata services live there) or unspecified and multicast addresses,
// unless a deployment explicitly allows local targets. Cameras on private
// ranges (a quarantine facility's LAN or VPN) are allowed: that is where
// cameras are. Link-local addresses need a separate permission. The check runs twice: on the URL when a camera is saved, and
// on the address actually dialled, so a DNS answer that changes in between
// (rebinding) gains nothing.
type Guard struct {
	// AllowLocal permits loopback and the server's own addresses: for tests
	// and a camera attached to the server itself.
	AllowLocal bool
	// AllowLinkLocal permits link-local addresses (169.254.0.0/16, fe80::/10),
	// where cloud metadata services answer: a separate, rarer choice, for a
	// camera plugged straight into the server without DHCP.
	AllowLinkLocal bool
	// Resolver looks host names up; nil uses the system's.
	Resolver *net.Resolver
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

// CheckIP reports why an address may not be contacted, or nil.
func (g *Guard) CheckIP(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrRefused, ip)
	case ip.Is4() && ip.As4()[0] == 0: // 0.0.0.0/8 reaches this host on Linux
		return fmt.Errorf("%w: %s is this host", ErrRefused, ip)
	}
	if !g.AllowLinkLocal && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return fmt.Errorf("%w: %s is link-local", ErrRefused, ip)
	}
	if g.AllowLocal {
		return nil
	}
	if ip.IsLoopback() {
		return fmt.Errorf("%w: %s is the server itself (loopback)", ErrRefused, ip)
	}
	for _, own := range g.own() {
		if own == ip {
			return fmt.Errorf("%w: %s is an address of the server", ErrRefused, ip)
		}
	}
	return nil
}

func (g *Guard) resolver() *net.Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

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
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		ips, err = g.resolver().LookupNetIP(rctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return nil, "", "", invalid(field, msg.Both("camera.cannot_resolve", host))
		}
	}
	for _, ip := range ips {
		if err := g.CheckIP(ip); err != nil {
			return nil, "", "", fmt.Errorf("%w: %w", err, invalid(field, msg.Both("camera.address_refused")))
		}
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

// Dialer returns a dialer that refuses what the guard refuses, at connect time.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: g.control, Resolver: g.Resolver}
}

// Client returns an HTTP client for cameras: the guarded dialer, no proxy
// from the environment, at most three redirects and only to http(s).
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(5 * time.Second).DialContext,
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
		return nil
	}}
}
