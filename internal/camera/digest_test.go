package camera

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"anticovid/internal/auth"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
)

// TestDigestRFC7616Vectors checks the response computation against the
// worked example of RFC 7616 section 3.9.1 (MD5 and SHA-256).
func TestDigestRFC7616Vectors(t *testing.T) {
	for alg, want := range map[string]string{
		"MD5":     "8ca523f5e9506fed4657c9700eebdbec",
		"SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		c := challenge{scheme: "digest", params: map[string]string{"realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": alg,
			"nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"}}
		got, user := digestResponse(c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", 1)
		if got != want || user != "Mufasa" {
			t.Errorf("%s: response %s, want %s (user %q)", alg, got, want, user)
		}
	}
}

func TestParseChallenges(t *testing.T) {
	cs := parseChallenges([]string{
		`Digest realm="IP Camera(C6121)", qop="auth,auth-int", nonce="a1b2\"c3", algorithm=SHA-256, stale=FALSE, Digest realm="IP Camera(C6121)", nonce="n2", algorithm="MD5", qop="auth"`,
		`Basic realm="Login to 4M0A"`,
		`Negotiate`,
	})
	if len(cs) != 4 {
		t.Fatalf("%d challenges: %+v", len(cs), cs)
	}
	if cs[0].scheme != "digest" || cs[0].params["nonce"] != `a1b2"c3` || cs[0].params["qop"] != "auth,auth-int" || cs[0].params["algorithm"] != "SHA-256" || cs[0].params["stale"] != "FALSE" {
		t.Errorf("first: %+v", cs[0])
	}
	if cs[1].params["algorithm"] != "MD5" || cs[1].params["nonce"] != "n2" || cs[2].scheme != "basic" || cs[2].params["realm"] != "Login to 4M0A" || cs[3].scheme != "negotiate" {
		t.Errorf("others: %+v", cs[1:])
	}
	if c, ok := pickChallenge(cs); !ok || c.params["algorithm"] != "SHA-256" {
		t.Errorf("picked %+v", c)
	}
	if c, ok := pickChallenge(cs[1:]); !ok || c.params["algorithm"] != "MD5" {
		t.Errorf("picked %+v without SHA-256", c)
	}
	if _, ok := pickChallenge(parseChallenges([]string{`Digest realm="x", nonce="y", algorithm=SHA-512-256`, "Negotiate"})); ok {
		t.Error("an unknown algorithm was picked")
	}
	if _, ok := pickChallenge(parseChallenges([]string{`Digest realm="x", nonce="y", qop="auth-int"`})); ok {
		t.Error("an auth-int-only challenge was picked")
	}
}

// digestCamera is a camera that speaks only Digest: it issues nonces,
// parses the Authorization header with its own code, recomputes the
// response from the password it knows and refuses anything else: a wrong
// response, a nonce it did not issue, a replayed nonce count, another URI.
type digestCamera struct {
	t          *testing.T
	algorithms []string // offered, in order
	user, pass string
	realm      string

	mu         sync.Mutex
	nonces     map[string]uint64 // issued nonce → highest nonce count seen
	challenges int               // 401s sent
	served     int
	used       []string // algorithms of accepted requests
	rotate     bool     // next request: the nonce is stale
}

var authParam = regexp.MustCompile(`(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))`)

func (d *digestCamera) hash(alg string) func() hash.Hash {
	if strings.HasPrefix(alg, "SHA-256") {
		return sha256.New
	}
	return md5.New
}

func (d *digestCamera) h(alg string, s string) string {
	x := d.hash(alg)()
	x.Write([]byte(s))
	return hex.EncodeToString(x.Sum(nil))
}

func (d *digestCamera) challenge(w http.ResponseWriter, stale bool) {
	d.challenges++
	for i, alg := range d.algorithms {
		nonce := fmt.Sprintf("nonce-%d-%d-%s", d.challenges, i, alg)
		d.nonces[nonce] = 0
		st := ""
		if stale {
			st = ", stale=true"
		}
		w.Header().Add("WWW-Authenticate", fmt.Sprintf(`Digest realm=%q, qop="auth", nonce=%q, opaque="op-%d", algorithm=%s%s`, d.realm, nonce, i, alg, st))
	}
	w.WriteHeader(http.StatusUnauthorized)
}

func (d *digestCamera) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Digest ") {
		if strings.HasPrefix(h, "Basic ") {
			d.t.Errorf("the client sent the password in Basic to a Digest camera")
		}
		d.challenge(w, false)
		return
	}
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(h[7:], -1) {
		p[m[1]] = strings.ReplaceAll(m[2]+m[3], `\"`, `"`)
	}
	alg := p["algorithm"]
	seen, issued := d.nonces[p["nonce"]]
	nc, err := strconv.ParseUint(p["nc"], 16, 64)
	switch {
	case !issued:
		d.t.Errorf("unknown nonce %q", p["nonce"])
		d.challenge(w, false)
		return
	case p["qop"] != "auth" || err != nil || len(p["nc"]) != 8 || p["cnonce"] == "" || p["realm"] != d.realm || p["opaque"] == "":
		d.t.Errorf("malformed Authorization: %s", h)
		d.challenge(w, false)
		return
	case p["uri"] != r.URL.RequestURI():
		d.t.Errorf("uri %q for a request of %q", p["uri"], r.URL.RequestURI())
		d.challenge(w, false)
		return
	case nc <= seen:
		d.t.Errorf("nonce count %d replayed (seen %d)", nc, seen)
		d.challenge(w, false)
		return
	case !strings.Contains(p["nonce"], alg):
		d.t.Errorf("algorithm %s answered a nonce of another algorithm (%s)", alg, p["nonce"])
	}
	ha1 := d.h(alg, d.user+":"+d.realm+":"+d.pass)
	ha2 := d.h(alg, r.Method+":"+p["uri"])
	want := d.h(alg, ha1+":"+p["nonce"]+":"+p["nc"]+":"+p["cnonce"]+":auth:"+ha2)
	if p["username"] != d.user || p["response"] != want {
		d.challenge(w, false) // wrong password: refused as a camera does
		return
	}
	if d.rotate {
		d.rotate = false
		delete(d.nonces, p["nonce"])
		d.challenge(w, true)
		return
	}
	d.nonces[p["nonce"]] = nc
	d.served++
	d.used = append(d.used, alg)
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(jpeg)
}

func (d *digestCamera) stats() (challenges, served int, used []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.challenges, d.served, append([]string(nil), d.used...)
}

// TestDigestCameras: cameras that demand Digest (SHA-256 preferred, MD5)
// give their snapshots through the proxy and the probe; a wrong password
// is refused and recorded; a stale nonce is renewed; later snapshots reuse
// the challenge instead of costing a 401 each.
func TestDigestCameras(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithPrincipal(context.Background(), benluc)
		s := newService(t, db, true)
		z, err := s.CreateZone(ctx, benluc, Zone{Name: "Khu cách ly Ký túc xá Đại học Kinh tế Công nghiệp Long An", CommuneCode: "27991", Capacity: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name       string
			algorithms []string
			want       string
		}{
			{"Hikvision (SHA-256 and MD5)", []string{"MD5", "SHA-256"}, "SHA-256"},
			{"Dahua (MD5)", []string{"MD5"}, "MD5"},
		} {
			t.Run(c.name, func(t *testing.T) {
				cam := &digestCamera{t: t, algorithms: c.algorithms, user: "admin", pass: "Cam@2021 mật", realm: "IP Camera(C6121)", nonces: map[string]uint64{}}
				srv := httptest.NewServer(cam)
				defer srv.Close()
				good, err := s.AddCamera(ctx, benluc, z.ID, CameraInput{Name: c.name, StreamKind: MJPEG,
					SnapshotURL: srv.URL + "/ISAPI/Streaming/channels/101/picture?snapShotImageType=JPEG", Username: "admin", Password: "Cam@2021 mật"})
				if err != nil {
					t.Fatal(err)
				}
				bad, err := s.AddCamera(ctx, benluc, z.ID, CameraInput{Name: c.name + " sai mật khẩu", StreamKind: MJPEG,
					SnapshotURL: srv.URL + "/cgi-bin/snapshot.cgi?channel=1", Username: "admin", Password: "wrong"})
				if err != nil {
					t.Fatal(err)
				}
				data, ctype, err := s.Snapshot(ctx, benluc, good.ID)
				if err != nil || !bytes.Equal(data, jpeg) || ctype != "image/jpeg" {
					t.Fatalf("snapshot: %v %q %d bytes", err, ctype, len(data))
				}
				if _, _, err := s.Snapshot(ctx, benluc, bad.ID); !errors.Is(err, errCredentials) {
					t.Errorf("wrong password: %v", err)
				}
				// The probe sees the good camera online, the other refused.
				if _, _, err := s.ProbeAll(ctx); err != nil {
					t.Fatal(err)
				}
				zones, _ := s.Zones(ctx, benluc)
				for _, cc := range zones[0].Cameras {
					switch cc.ID {
					case good.ID:
						if !cc.Online || cc.LastError != "" {
							t.Errorf("good camera after probe: %+v", cc)
						}
					case bad.ID:
						if cc.Online || !strings.Contains(cc.LastError, "từ chối tên đăng nhập hoặc mật khẩu") {
							t.Errorf("camera with a wrong password after probe: %+v", cc)
						}
					}
				}
				// Later fetches go out signed with a raised nonce count: no new
				// challenge for the good camera (the server refuses replays).
				ch0, served0, _ := cam.stats()
				for range 3 {
					if _, _, err := s.fetch(ctx, srv.URL+"/ISAPI/Streaming/channels/101/picture?snapShotImageType=JPEG", s.secretOf(t, good.ID)); err != nil {
						t.Fatal(err)
					}
				}
				ch1, served1, _ := cam.stats()
				if served1 != served0+3 || ch1 != ch0 {
					t.Errorf("3 fetches: %d served, %d new challenges (want 3, 0)", served1-served0, ch1-ch0)
				}
				// A stale nonce: the camera challenges again and the client answers.
				cam.mu.Lock()
				cam.rotate = true
				cam.mu.Unlock()
				if _, _, err := s.fetch(ctx, srv.URL+"/ISAPI/Streaming/channels/101/picture?snapShotImageType=JPEG", s.secretOf(t, good.ID)); err != nil {
					t.Errorf("after a stale nonce: %v", err)
				}
				_, served2, used := cam.stats()
				if served2 != served1+1 {
					t.Errorf("stale nonce: %d served", served2-served1)
				}
				for _, alg := range used {
					if alg != c.want {
						t.Errorf("answered with %s, want %s", alg, c.want)
					}
				}
			})
		}
	})
}

// secretOf reads a camera's sealed credentials, as the probe does.
func (s *Service) secretOf(t *testing.T, id int64) []byte {
	var sealed []byte
	if err := s.DB.R.QueryRow("SELECT secret_enc FROM cameras WHERE id = $1", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	return sealed
}

// TestBasicCameraWithChallenge: a camera asking for Basic gets Basic (and
// only after it asks).
func TestBasicCameraWithChallenge(t *testing.T) {
	s := &Service{Guard: &Guard{Allow: loopback}}
	var unasked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok {
			if r.Header.Get("Authorization") != "" {
				unasked++
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="cam"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if u != "cam" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
	}))
	defer srv.Close()
	v := newService(t, nil, true).Vault
	s.Vault = v
	sealed := v.Seal(`{"u":"cam","p":"pw"}`)
	for range 2 {
		if data, ctype, err := s.fetch(context.Background(), srv.URL+"/snap.png", sealed); err != nil || ctype != "image/png" || string(data) != "\x89PNG" {
			t.Fatalf("basic camera: %v %q", err, ctype)
		}
	}
	if unasked != 0 {
		t.Errorf("%d requests with another scheme", unasked)
	}
}
