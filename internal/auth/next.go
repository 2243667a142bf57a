package auth

import (
	"net/url"
	"unicode"
	"unicode/utf8"
)

// nextBase is only a yardstick: a next path resolved against it must keep
// its host, whatever host the server really answers on.
var nextBase = &url.URL{Scheme: "https", Host: "anticovid.invalid", Path: "/"}

// SafeNext returns where to send a browser after it signs in: next when it
// is a path on this site, "/" otherwise. Browsers read "//host", "/\host",
// "\/host" and the same with tabs or newlines stripped as another site, and
// a proxy or a second redirect may decode %2F, %5C or %09 again; so next
// must be printable ASCII without a backslash, start with exactly one "/",
// and keep both properties however many times it is percent-decoded. An
// absolute URL, even to this host, is refused: the login form never makes one.
func SafeNext(next string) string {
	if len(next) > 2048 || next == "" {
		return "/"
	}
	layer := next
	for round := 0; ; round++ {
		if !plainPath(layer, round == 0) {
			return "/"
		}
		decoded, err := url.PathUnescape(layer)
		if err != nil || round == 8 && decoded != layer {
			return "/" // bad escapes, or still encoded after eight rounds
		}
		if decoded == layer {
			break
		}
		layer = decoded
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	if nextBase.ResolveReference(u).Host != nextBase.Host {
		return "/"
	}
	return next
}

// plainPath reports whether s starts with one "/" not followed by another
// "/" and holds no backslash, space or control character. The raw form must
// be ASCII (it goes into a Location header); a decoded one may hold UTF-8 text.
func plainPath(s string, raw bool) bool {
	if s == "/" {
		return true
	}
	if len(s) < 2 || s[0] != '/' || s[1] == '/' || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '\\' || unicode.IsControl(r) || (raw && r > 0x7f) ||
			unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
