// Package camera keeps the quarantine zones (facilities) and the cameras
// that watch them: who may see which zone, stream credentials sealed with
// the vault and never sent to a browser, a background probe that records
// whether each camera is online, and a snapshot proxy whose every view is
// written to the audit log.
package camera

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Stream kinds a camera may offer.
const (
	RTSP  = "rtsp"
	HLS   = "hls"
	MJPEG = "mjpeg"
)

// Zone is a quarantine facility.
type Zone struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Address      string    `json:"address"`
	CommuneCode  string    `json:"commune_code"`
	DistrictCode string    `json:"district_code"`
	ProvinceCode string    `json:"province_code"`
	Capacity     int       `json:"capacity"`
	Held         int       `json:"held"`
	Public       bool      `json:"public"`
	CreatedAt    time.Time `json:"created_at"`
	Cameras      []Camera  `json:"cameras"`
}

// Camera is one camera as a browser may see it: URLs without credentials.
type Camera struct {
	ID             int64      `json:"id"`
	ZoneID         int64      `json:"zone_id"`
	Name           string     `json:"name"`
	StreamKind     string     `json:"stream_kind"`
	StreamURL      string     `json:"stream_url,omitempty"`
	SnapshotURL    string     `json:"snapshot_url,omitempty"`
	HasCredentials bool       `json:"has_credentials"`
	Online         bool       `json:"online"`
	LastSeenAt     *time.Time `json:"last_seen_at,omitempty"`
	LastProbeAt    *time.Time `json:"last_probe_at,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
}

// CameraInput is what a camera is added with. Credentials may be given in
// the URLs (user:password@) or separately; either way they are sealed.
type CameraInput struct {
	Name        string `json:"name"`
	StreamKind  string `json:"stream_kind"`
	StreamURL   string `json:"stream_url"`
	SnapshotURL string `json:"snapshot_url"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	// ClearCredentials removes the stored user name and password (an
	// update; a blank password otherwise keeps the stored one).
	ClearCredentials bool `json:"clear_credentials,omitempty"`
}

// secret is a camera's credential and the origins (host:port) it was
// typed for: it is only ever sent there. A secret stored before origins
// were recorded has none and belongs to the camera's current URLs.
type secret struct {
	User    string   `json:"u"`
	Pass    string   `json:"p"`
	Origins []string `json:"o,omitempty"`
}

// seal stores sec bound to the camera's URLs, or nothing without a credential.
func (s *Service) seal(sec secret, urls ...string) []byte {
	if sec.User == "" && sec.Pass == "" {
		return nil
	}
	sec.Origins = origins(urls...)
	b, _ := json.Marshal(sec)
	return s.Vault.Seal(string(b))
}

// origins lists the origins of the non-empty URLs.
func origins(urls ...string) []string {
	var out []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && raw != "" && !slices.Contains(out, Origin(u)) {
			out = append(out, Origin(u))
		}
	}
	return out
}

// Service manages zones and cameras.
type Service struct {
	DB    *sqldb.DB
	Vault *vault.Vault
	Guard *Guard
	Log   *slog.Logger
	Now   func() time.Time

	client     *http.Client
	once       sync.Once
	auths      authCache // per URL: the camera's last authentication challenge
	mu         sync.Mutex
	snaps      map[int64]snap         // last snapshot per camera: many viewers, one camera request
	lastAudits map[[2]int64]time.Time // (user, camera) → last audit entry
}

type snap struct {
	at    time.Time
	data  []byte
	ctype string
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) http() *http.Client {
	s.once.Do(func() { s.client = s.Guard.Client(8 * time.Second) })
	return s.client
}

// mayManage: the province, Health and the districts add zones and cameras.
func mayManage(p *auth.Principal) bool {
	return p.Can(auth.ProvinceAdmin, auth.DistrictOfficer) || (p.Can(auth.DepartmentOfficer) && p.Department == "health")
}

// mayWatch: who may watch the cameras of a zone in their jurisdiction —
// the province, Health, Police, the district and commune committees and
// health tracers. Other departments and venue managers may not.
func mayWatch(p *auth.Principal) bool {
	if p.Can(auth.ProvinceAdmin, auth.DistrictOfficer, auth.CommuneOfficer, auth.HealthTracer) {
		return true
	}
	return p.Can(auth.DepartmentOfficer) && (p.Department == "health" || p.Department == "police")
}

// CreateZone adds a quarantine zone within the caller's jurisdiction.
func (s *Service) CreateZone(ctx context.Context, p *auth.Principal, z Zone) (Zone, error) {
	if err := checkZone(&z); err != nil {
		return Zone{}, fmt.Errorf("create zone: %w", err)
	}
	if !mayManage(p) || !p.InJurisdiction(z.CommuneCode) {
		return Zone{}, fmt.Errorf("create zone: %w", errs.ErrForbidden)
	}
	d, _ := geo.Ancestor(z.CommuneCode, "district")
	pr, _ := geo.Ancestor(z.CommuneCode, "province")
	z.DistrictCode, z.ProvinceCode = d.Code, pr.Code
	z.CreatedAt = s.now().UTC().Truncate(time.Second)
	err := s.DB.W.QueryRowContext(ctx, `INSERT INTO quarantine_zones (name, address, commune_code, district_code, province_code,
		capacity, held, public, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		z.Name, z.Address, z.CommuneCode, z.DistrictCode, z.ProvinceCode, z.Capacity, z.Held, boolInt(z.Public), z.CreatedAt.Unix()).Scan(&z.ID)
	if err != nil {
		return Zone{}, fmt.Errorf("create zone: %w", err)
	}
	if err := s.auditChange(ctx, p, auditCreate, "quarantine_zone", z.ID); err != nil {
		return Zone{}, err
	}
	z.Cameras = []Camera{}
	return z, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// zone returns a zone by id.
func (s *Service) zone(ctx context.Context, id int64) (Zone, error) {
	var z Zone
	var public int
	var created int64
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, name, address, commune_code, district_code, province_code, capacity, held, public, created_at
		FROM quarantine_zones WHERE id = $1`, id).Scan(&z.ID, &z.Name, &z.Address, &z.CommuneCode, &z.DistrictCode, &z.ProvinceCode,
		&z.Capacity, &z.Held, &public, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Zone{}, fmt.Errorf("zone %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Zone{}, fmt.Errorf("zone %d: %w", id, err)
	}
	z.Public, z.CreatedAt = public != 0, time.Unix(created, 0).UTC()
	return z, nil
}

// streamSchemes are the URL schemes each stream kind may use.
var streamSchemes = map[string][]string{RTSP: {"rtsp"}, HLS: {"http", "https"}, MJPEG: {"http", "https"}}

// AddCamera adds a camera to a zone. Its URLs are checked by the guard; the
// camera is not contacted here (the probe does that).
func (s *Service) AddCamera(ctx context.Context, p *auth.Principal, zoneID int64, in CameraInput) (Camera, error) {
	z, err := s.zone(ctx, zoneID)
	if err != nil {
		return Camera{}, err
	}
	if !mayManage(p) || !p.InJurisdiction(z.CommuneCode) {
		return Camera{}, fmt.Errorf("add camera: %w", errs.ErrForbidden)
	}
	stream, snapshot, sec, err := s.checkCamera(ctx, &in)
	if err != nil {
		return Camera{}, fmt.Errorf("add camera: %w", err)
	}
	if in.Username != "" || in.Password != "" {
		sec = secret{User: in.Username, Pass: in.Password}
	}
	sealed := s.seal(sec, stream, snapshot)
	c := Camera{ZoneID: zoneID, Name: in.Name, StreamKind: in.StreamKind, StreamURL: stream, SnapshotURL: snapshot, HasCredentials: sealed != nil}
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO cameras (zone_id, name, stream_kind, stream_url, snapshot_url, secret_enc, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, zoneID, c.Name, c.StreamKind, c.StreamURL, c.SnapshotURL, sealed, s.now().Unix()).Scan(&c.ID)
	if err != nil {
		return Camera{}, fmt.Errorf("add camera: %w", err)
	}
	if err := s.auditChange(ctx, p, auditCreate, "camera", c.ID); err != nil {
		return Camera{}, err
	}
	return c, nil
}

const cameraCols = "c.id, c.zone_id, c.name, c.stream_kind, c.stream_url, c.snapshot_url, c.secret_enc, c.online, c.last_seen_at, c.last_probe_at, c.last_error"

func scanCamera(row interface{ Scan(...any) error }) (Camera, []byte, error) {
	var c Camera
	var sealed []byte
	var online int
	var seen, probed sql.NullInt64
	if err := row.Scan(&c.ID, &c.ZoneID, &c.Name, &c.StreamKind, &c.StreamURL, &c.SnapshotURL, &sealed, &online, &seen, &probed, &c.LastError); err != nil {
		return Camera{}, nil, err
	}
	c.Online, c.HasCredentials = online != 0, len(sealed) > 0
	if seen.Valid {
		t := time.Unix(seen.Int64, 0).UTC()
		c.LastSeenAt = &t
	}
	if probed.Valid {
		t := time.Unix(probed.Int64, 0).UTC()
		c.LastProbeAt = &t
	}
	return c, sealed, nil
}

// Zones lists the zones, with their cameras, that the caller may watch.
func (s *Service) Zones(ctx context.Context, p *auth.Principal) ([]Zone, error) {
	if p == nil || !mayWatch(p) {
		return nil, fmt.Errorf("zones: %w", errs.ErrForbidden)
	}
	where, args := "1 = 1", []any{}
	if col, val := p.Scope(); col != "" {
		where, args = "z."+col+" = $1", []any{val}
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT z.id, z.name, z.address, z.commune_code, z.district_code, z.province_code, z.capacity, z.held,
		z.public, z.created_at FROM quarantine_zones z WHERE `+where+` ORDER BY z.district_code, z.name LIMIT 1000`, args...)
	if err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	var zones []Zone
	byID := map[int64]int{}
	for rows.Next() {
		var z Zone
		var public int
		var created int64
		if err := rows.Scan(&z.ID, &z.Name, &z.Address, &z.CommuneCode, &z.DistrictCode, &z.ProvinceCode, &z.Capacity, &z.Held, &public, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("zones: %w", err)
		}
		z.Public, z.CreatedAt, z.Cameras = public != 0, time.Unix(created, 0).UTC(), []Camera{}
		byID[z.ID] = len(zones)
		zones = append(zones, z)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	crow, err := s.DB.R.QueryContext(ctx, "SELECT "+cameraCols+" FROM cameras c JOIN quarantine_zones z ON z.id = c.zone_id WHERE "+where+" ORDER BY c.id", args...)
	if err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	defer crow.Close()
	for crow.Next() {
		c, _, err := scanCamera(crow)
		if err != nil {
			return nil, fmt.Errorf("zones: %w", err)
		}
		if i, ok := byID[c.ZoneID]; ok {
			zones[i].Cameras = append(zones[i].Cameras, c)
		}
	}
	if zones == nil {
		zones = []Zone{}
	}
	return zones, crow.Err()
}

// camera returns a camera the caller may watch, with its sealed secret.
func (s *Service) camera(ctx context.Context, p *auth.Principal, id int64) (Camera, Zone, []byte, error) {
	return s.cameraFor(ctx, p, id, func(p *auth.Principal) bool { return p != nil && mayWatch(p) })
}

// cameraFor returns a camera, its zone and sealed secret if the caller's
// role passes may and the zone lies in their jurisdiction.
func (s *Service) cameraFor(ctx context.Context, p *auth.Principal, id int64, may func(*auth.Principal) bool) (Camera, Zone, []byte, error) {
	c, sealed, err := scanCamera(s.DB.R.QueryRowContext(ctx, "SELECT "+cameraCols+" FROM cameras c WHERE c.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Camera{}, Zone{}, nil, fmt.Errorf("camera %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Camera{}, Zone{}, nil, fmt.Errorf("camera %d: %w", id, err)
	}
	z, err := s.zone(ctx, c.ZoneID)
	if err != nil {
		return Camera{}, Zone{}, nil, err
	}
	if !may(p) || !p.InJurisdiction(z.CommuneCode) {
		return Camera{}, Zone{}, nil, fmt.Errorf("camera %d: %w", id, errs.ErrForbidden)
	}
	return c, z, sealed, nil
}

// AuditWall records that the caller opened the camera wall on these cameras.
func (s *Service) AuditWall(ctx context.Context, zones []Zone) error {
	var ids []string
	for _, z := range zones {
		for _, c := range z.Cameras {
			ids = append(ids, strconv.FormatInt(c.ID, 10))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return auth.Audit(ctx, s.DB, auth.ActionView, "camera_wall", ids, msg.Both("camera.quarantine_zone_watch_camera"))
}

// auditEvery: a wall refreshes each snapshot every few seconds; one entry
// per viewer and camera every five minutes records the watching without
// flooding the log.
const auditEvery = 5 * time.Minute

// Snapshot returns a camera's current picture through the server (the
// browser never learns the camera's address or credentials), audited.
func (s *Service) Snapshot(ctx context.Context, p *auth.Principal, id int64) ([]byte, string, error) {
	c, _, sealed, err := s.camera(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	if c.SnapshotURL == "" {
		return nil, "", fmt.Errorf("camera %d has no snapshot URL: %w", id, errs.ErrNotFound)
	}
	now := s.now()
	key := [2]int64{p.UserID, id}
	s.mu.Lock()
	last, seen := s.lastAudits[key]
	s.mu.Unlock()
	if !seen || now.Sub(last) >= auditEvery {
		if err := auth.Audit(ctx, s.DB, auth.ActionView, "camera_snapshot", []string{strconv.FormatInt(id, 10)},
			msg.Both("camera.quarantine_zone_watch")); err != nil {
			return nil, "", err
		}
		s.mu.Lock()
		if s.lastAudits == nil || len(s.lastAudits) > 100_000 {
			s.lastAudits = map[[2]int64]time.Time{}
		}
		s.lastAudits[key] = now
		s.mu.Unlock()
	}
	s.mu.Lock()
	if sn, ok := s.snaps[id]; ok && now.Sub(sn.at) < 2*time.Second {
		s.mu.Unlock()
		return sn.data, sn.ctype, nil
	}
	s.mu.Unlock()
	data, ctype, err := s.fetch(ctx, c.SnapshotURL, sealed)
	if err != nil {
		return nil, "", fmt.Errorf("camera %d snapshot: %w", id, err)
	}
	s.mu.Lock()
	if s.snaps == nil || len(s.snaps) > 10_000 {
		s.snaps = map[int64]snap{}
	}
	s.snaps[id] = snap{now, data, ctype}
	s.mu.Unlock()
	return data, ctype, nil
}

// maxSnapshot bounds what one snapshot may weigh.
const maxSnapshot = 5 << 20

// credentials opens a camera's sealed secret.
func (s *Service) credentials(sealed []byte) (secret, error) {
	var sec secret
	if len(sealed) == 0 {
		return sec, nil
	}
	plain, err := s.Vault.Open(sealed)
	if err != nil {
		return sec, err
	}
	if err := json.Unmarshal([]byte(plain), &sec); err != nil {
		return sec, err
	}
	return sec, nil
}

// get GETs a camera URL through the guard, answering the camera's HTTP
// authentication challenge (Digest SHA-256 or MD5, or Basic) with its
// credentials. Nothing is sent before the camera asks, except a challenge
// it gave before for the same URL (then the request goes out signed, and a
// refused one is retried once on the fresh challenge).
func (s *Service) get(ctx context.Context, raw string, sealed []byte) (*http.Response, error) {
	sec, err := s.credentials(sealed)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if sec.Origins != nil && !slices.Contains(sec.Origins, Origin(u)) {
		sec = secret{} // typed for another host or port: never sent here
	}
	user, pass := sec.User, sec.Pass
	send := func(c *challenge, nc uint32) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", "anticovid-camera-probe")
		if c != nil {
			authorize(req, *c, user, pass, nc)
		}
		return s.http().Do(req)
	}
	hasCreds := user != "" || pass != ""
	var resp *http.Response
	if c, nc, ok := s.auths.next(raw); ok && hasCreds {
		resp, err = send(&c, nc)
	} else {
		resp, err = send(nil, 0)
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !hasCreds {
		return resp, err
	}
	offered := resp.Header.Values("WWW-Authenticate")
	c, ok := pickChallenge(parseChallenges(offered))
	if len(offered) == 0 { // a bare 401: some firmware names no scheme; Basic is what it means
		c, ok = challenge{scheme: "basic", params: map[string]string{}}, true
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if !ok {
		s.auths.forget(raw)
		return nil, errors.New("camera asked for an authentication scheme this server does not speak (Basic, Digest MD5 or SHA-256)")
	}
	resp, err = send(&c, 1)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		s.auths.forget(raw)
	} else if err == nil {
		s.auths.put(raw, c, 1)
	}
	return resp, err
}

// fetch GETs an image with the camera's credentials through the guard.
func (s *Service) fetch(ctx context.Context, raw string, sealed []byte) ([]byte, string, error) {
	resp, err := s.get(ctx, raw, sealed)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && len(sealed) > 0 {
		return nil, "", errCredentials
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", statusError(resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ctype, "image/jpeg") && !strings.HasPrefix(ctype, "image/png") {
		return nil, "", fmt.Errorf("snapshot is no JPEG or PNG: %w", errNotCamera)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshot+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > maxSnapshot {
		return nil, "", fmt.Errorf("snapshot larger than 5 MB: %w", errNotCamera)
	}
	return data, strings.SplitN(ctype, ";", 2)[0], nil
}

// probe checks one camera: its snapshot when it has one, else its stream
// (an RTSP OPTIONS request, or an HTTP GET of the HLS playlist or MJPEG).
func (s *Service) probe(ctx context.Context, c Camera, sealed []byte) error {
	if c.SnapshotURL != "" {
		_, _, err := s.fetch(ctx, c.SnapshotURL, sealed)
		return err
	}
	u, err := url.Parse(c.StreamURL)
	if err != nil {
		return err
	}
	if u.Scheme == "rtsp" {
		return s.probeRTSP(ctx, u)
	}
	resp, err := s.get(ctx, c.StreamURL, sealed)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	// 401 still means a camera answers there; with credentials get has
	// already answered the challenge, so a 401 then means wrong credentials.
	if resp.StatusCode == http.StatusUnauthorized && len(sealed) > 0 {
		return errCredentials
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return statusError(resp.StatusCode)
	}
	return nil
}

// probeRTSP sends OPTIONS; any RTSP answer (even 401) means the camera is up.
func (s *Service) probeRTSP(ctx context.Context, u *url.URL) error {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	conn, err := s.Guard.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: anticovid-camera-probe\r\n\r\n", u.String()); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 512)).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "RTSP/1.0 ") {
		return fmt.Errorf("no RTSP answer: %w", errNotCamera)
	}
	return nil
}

// Probe failures. What a camera address answered is never stored or shown:
// a probe that reached some other service must not become a way to read it.
var (
	errNotCamera   = errors.New("not a camera")
	errCredentials = errors.New("camera refused the credentials")
)

// statusError is an HTTP status a camera answered; only its class is shown.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("camera answered HTTP %d", int(e)) }

// probeMessage is the catalog text recorded for a failed probe.
func probeMessage(err error) string {
	var status statusError
	var nerr net.Error
	switch {
	case errors.Is(err, ErrRefused):
		return msg.Both("camera.probe.refused")
	case errors.Is(err, errCannotResolve):
		return msg.Both("camera.probe.unresolved")
	case errors.Is(err, errNotCamera):
		return msg.Both("camera.probe.not_camera")
	case errors.Is(err, errCredentials):
		return msg.Both("camera.probe.credentials")
	case errors.As(err, &status):
		return msg.Both("camera.probe.http_status", int(status)/100)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout():
		return msg.Both("camera.probe.timeout")
	}
	return msg.Both("camera.probe.unreachable")
}

// ProbeAll checks every camera, four at a time, and records the result.
func (s *Service) ProbeAll(ctx context.Context) (online, offline int, err error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT "+cameraCols+" FROM cameras c ORDER BY c.id")
	if err != nil {
		return 0, 0, fmt.Errorf("probe: %w", err)
	}
	type item struct {
		c      Camera
		sealed []byte
	}
	var items []item
	for rows.Next() {
		c, sealed, err := scanCamera(rows)
		if err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("probe: %w", err)
		}
		items = append(items, item{c, sealed})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("probe: %w", err)
	}
	type result struct {
		id  int64
		err error
		at  time.Time
	}
	results := make(chan result, len(items))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err := s.probe(pctx, it.c, it.sealed)
			results <- result{it.c.ID, err, s.now()}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		var err error
		if r.err == nil {
			online++
			_, err = s.DB.W.ExecContext(ctx, "UPDATE cameras SET online = 1, last_seen_at = $1, last_probe_at = $1, last_error = '' WHERE id = $2", r.at.Unix(), r.id)
		} else {
			offline++
			_, err = s.DB.W.ExecContext(ctx, "UPDATE cameras SET online = 0, last_probe_at = $1, last_error = $2 WHERE id = $3", r.at.Unix(), probeMessage(r.err), r.id)
		}
		if err != nil {
			return online, offline, fmt.Errorf("probe: %w", err)
		}
	}
	return online, offline, nil
}

// Tick is one turn of the camera job (internal/jobs runs it on one server
// at a time): every camera probed once.
func (s *Service) Tick(ctx context.Context) error {
	_, _, err := s.ProbeAll(ctx)
	return err
}

// PublicZones lists the facilities marked public, for the public map: name
// and commune only (it implements dashboard.ZoneSource).
func (s *Service) PublicZones(ctx context.Context, province string) ([]dashboard.PublicZone, error) {
	where, args := "public = 1", []any{}
	if province != "" && province != geo.Country {
		where, args = "public = 1 AND province_code = $1", []any{province}
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT name, commune_code, district_code FROM quarantine_zones WHERE "+where+" ORDER BY district_code, name LIMIT 1000", args...)
	if err != nil {
		return nil, fmt.Errorf("public zones: %w", err)
	}
	defer rows.Close()
	out := []dashboard.PublicZone{}
	for rows.Next() {
		var z dashboard.PublicZone
		if err := rows.Scan(&z.Name, &z.CommuneCode, &z.DistrictCode); err != nil {
			return nil, fmt.Errorf("public zones: %w", err)
		}
		c, _ := geo.Get(z.CommuneCode)
		z.CommuneName = c.Name
		out = append(out, z)
	}
	return out, rows.Err()
}
