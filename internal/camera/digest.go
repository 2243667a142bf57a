package camera

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
)

// IP cameras (Hikvision, Dahua, Axis...) mostly refuse HTTP Basic and ask
// for Digest authentication (RFC 7616), which never sends the password. The
// client here answers whichever the camera asks for: it sends nothing until
// challenged, prefers Digest SHA-256 over Digest MD5 over Basic, and keeps a
// camera's last Digest challenge so the next snapshot goes out already
// signed (with the nonce count raised) instead of costing a 401 each time.

// challenge is one WWW-Authenticate challenge: its scheme and parameters
// (names lower-cased).
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges reads every challenge of the WWW-Authenticate headers. A
// header may hold several challenges ("Digest realm=…, nonce=…, Basic
// realm=…"): a bare token not followed by "=" starts the next one.
func parseChallenges(headers []string) []challenge {
	var out []challenge
	for _, h := range headers {
		var cur *challenge
		s := h
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			i := strings.IndexAny(s, " \t,=")
			if i < 0 {
				i = len(s)
			}
			tok := s[:i]
			rest := strings.TrimLeft(s[i:], " \t")
			if strings.HasPrefix(rest, "=") && cur != nil && !strings.HasPrefix(rest, "==") {
				// name=value or name="quoted value"
				rest = strings.TrimLeft(rest[1:], " \t")
				var val string
				if strings.HasPrefix(rest, `"`) {
					var b strings.Builder
					j := 1
					for ; j < len(rest); j++ {
						c := rest[j]
						if c == '\\' && j+1 < len(rest) {
							j++
							b.WriteByte(rest[j])
							continue
						}
						if c == '"' {
							j++
							break
						}
						b.WriteByte(c)
					}
					val, rest = b.String(), rest[j:]
				} else {
					k := strings.IndexAny(rest, " \t,")
					if k < 0 {
						k = len(rest)
					}
					val, rest = rest[:k], rest[k:]
				}
				cur.params[strings.ToLower(tok)] = val
				s = rest
				continue
			}
			if strings.HasPrefix(rest, "=") { // a token68 (Basic's legacy form) or a parameter without a scheme
				k := strings.IndexAny(rest, ",")
				if k < 0 {
					k = len(rest)
				}
				s = rest[k:]
				continue
			}
			out = append(out, challenge{scheme: strings.ToLower(tok), params: map[string]string{}})
			cur = &out[len(out)-1]
			s = rest
		}
	}
	return out
}

// digestHash returns the hash of a Digest algorithm name and whether it is
// a "-sess" variant; ok is false for algorithms this client does not speak.
func digestHash(algorithm string) (h func() hash.Hash, sess, ok bool) {
	switch strings.ToUpper(algorithm) {
	case "", "MD5":
		return md5.New, false, true
	case "MD5-SESS":
		return md5.New, true, true
	case "SHA-256":
		return sha256.New, false, true
	case "SHA-256-SESS":
		return sha256.New, true, true
	}
	return nil, false, false
}

// hasAuthQop reports whether a challenge's qop list offers "auth".
func hasAuthQop(qop string) bool {
	for _, q := range strings.Split(qop, ",") {
		if strings.TrimSpace(q) == "auth" {
			return true
		}
	}
	return false
}

// usable reports whether the client can answer c.
func (c challenge) usable() bool {
	switch c.scheme {
	case "basic":
		return true
	case "digest":
		_, _, ok := digestHash(c.params["algorithm"])
		// qop absent is RFC 2069's form, still met on old cameras; a qop
		// list without "auth" (auth-int only) would need the body hashed.
		return ok && c.params["nonce"] != "" && (c.params["qop"] == "" || hasAuthQop(c.params["qop"]))
	}
	return false
}

// rank orders usable challenges: Digest SHA-256 first, Basic last.
func (c challenge) rank() int {
	if c.scheme == "basic" {
		return 0
	}
	if h, _, _ := digestHash(c.params["algorithm"]); h != nil && h().Size() == sha256.Size {
		return 2
	}
	return 1
}

// pickChallenge returns the strongest challenge the client can answer.
func pickChallenge(cs []challenge) (challenge, bool) {
	best, found := challenge{}, false
	for _, c := range cs {
		if c.usable() && (!found || c.rank() > best.rank()) {
			best, found = c, true
		}
	}
	return best, found
}

func hexHash(h func() hash.Hash, parts ...string) string {
	x := h()
	x.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(x.Sum(nil))
}

// digestResponse computes RFC 7616's response value for method and uri
// (qop "auth", or none for RFC 2069) and returns the username as it is sent
// (hashed when the server asked for userhash).
func digestResponse(c challenge, user, pass, method, uri, cnonce string, nc uint32) (response, username string) {
	h, sess, _ := digestHash(c.params["algorithm"])
	realm, nonce := c.params["realm"], c.params["nonce"]
	ha1 := hexHash(h, user, realm, pass)
	if sess {
		ha1 = hexHash(h, ha1, nonce, cnonce)
	}
	ha2 := hexHash(h, method, uri)
	username = user
	if strings.EqualFold(c.params["userhash"], "true") {
		username = hexHash(h, user, realm)
	}
	if c.params["qop"] == "" {
		return hexHash(h, ha1, nonce, ha2), username
	}
	return hexHash(h, ha1, nonce, fmt.Sprintf("%08x", nc), cnonce, "auth", ha2), username
}

// quote writes a quoted-string, escaping quotes and backslashes.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// digestHeader builds the Authorization header answering c for req.
func digestHeader(c challenge, user, pass string, req *http.Request, nc uint32) string {
	var b [16]byte
	rand.Read(b[:])
	cnonce := hex.EncodeToString(b[:])
	uri := req.URL.RequestURI()
	resp, username := digestResponse(c, user, pass, req.Method, uri, cnonce, nc)
	parts := []string{"username=" + quote(username), "realm=" + quote(c.params["realm"]), "uri=" + quote(uri),
		"nonce=" + quote(c.params["nonce"])}
	if alg := c.params["algorithm"]; alg != "" {
		parts = append(parts, "algorithm="+alg)
	}
	if c.params["qop"] != "" {
		parts = append(parts, "qop=auth", fmt.Sprintf("nc=%08x", nc), "cnonce="+quote(cnonce))
	}
	parts = append(parts, "response="+quote(resp))
	if op, ok := c.params["opaque"]; ok {
		parts = append(parts, "opaque="+quote(op))
	}
	if strings.EqualFold(c.params["userhash"], "true") {
		parts = append(parts, "userhash=true")
	}
	return "Digest " + strings.Join(parts, ", ")
}

// authCache remembers, per camera URL, the challenge that last worked and
// the nonce count used with it, so the next request is signed at once.
type authCache struct {
	mu sync.Mutex
	m  map[string]*authEntry
}

type authEntry struct {
	c  challenge
	nc uint32
}

// next returns the cached challenge for key and the nonce count to use.
func (a *authCache) next(key string) (challenge, uint32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[key]
	if !ok {
		return challenge{}, 0, false
	}
	e.nc++
	return e.c, e.nc, true
}

// put remembers c for key, with the nonce count already used.
func (a *authCache) put(key string, c challenge, nc uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) > 10_000 {
		a.m = map[string]*authEntry{}
	}
	a.m[key] = &authEntry{c, nc}
}

func (a *authCache) forget(key string) {
	a.mu.Lock()
	delete(a.m, key)
	a.mu.Unlock()
}

// authorize sets req's Authorization for challenge c.
func authorize(req *http.Request, c challenge, user, pass string, nc uint32) {
	if c.scheme == "basic" {
		req.SetBasicAuth(user, pass)
		return
	}
	req.Header.Set("Authorization", digestHeader(c, user, pass, req, nc))
}
