package camera

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// Changes to zones and cameras are written to the audit log like views:
// a camera's address and credentials decide who sees inside a quarantine
// facility, so who changed them, and when, must be on record.
const (
	auditCreate = "create"
	auditUpdate = "update"
	auditDelete = auth.ActionDelete
)

// auditChange records a change to a zone or camera made by p.
func (s *Service) auditChange(ctx context.Context, p *auth.Principal, action, subject string, id int64) error {
	if auth.From(ctx) == nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return auth.Audit(ctx, s.DB, action, subject, []string{strconv.FormatInt(id, 10)}, msg.Both("camera.quarantine_zone_and_camera"))
}

// MayManage reports whether p may add and change zones and cameras (the
// province, Health and the districts), within their jurisdiction.
func MayManage(p *auth.Principal) bool { return p != nil && mayManage(p) }

// checkZone validates a zone's fields.
func checkZone(z *Zone) error {
	f := errs.Fields{}
	z.Name = strings.Join(strings.Fields(z.Name), " ")
	z.Address = strings.TrimSpace(z.Address)
	if n := len([]rune(z.Name)); n < 2 || n > 200 {
		f.Add("name", msg.Both("camera.name_2_to_200"))
	}
	if len([]rune(z.Address)) > 300 {
		f.Add("address", msg.Both("camera.address_at_most_300"))
	}
	if u, ok := geo.Get(z.CommuneCode); !ok || u.Level != "commune" {
		f.Add("commune_code", msg.Both("camera.unknown_commune_code"))
	}
	if z.Capacity < 0 || z.Capacity > 100_000 {
		f.Add("capacity", msg.Both("camera.capacity_0_to_100"))
	}
	if z.Held < 0 || z.Held > 100_000 {
		f.Add("held", msg.Both("camera.people_held_0_to"))
	} else if z.Capacity > 0 && z.Held > z.Capacity {
		f.Add("held", msg.Both("camera.more_people_held_than"))
	}
	return f.Err()
}

// Zone returns a zone with its cameras, for someone who may manage it.
func (s *Service) Zone(ctx context.Context, p *auth.Principal, id int64) (Zone, error) {
	z, err := s.zone(ctx, id)
	if err != nil {
		return Zone{}, err
	}
	if !MayManage(p) || !p.InJurisdiction(z.CommuneCode) {
		return Zone{}, fmt.Errorf("zone %d: %w", id, errs.ErrForbidden)
	}
	rows, err := s.DB.R.QueryContext(ctx, "SELECT "+cameraCols+" FROM cameras c WHERE c.zone_id = $1 ORDER BY c.id", id)
	if err != nil {
		return Zone{}, fmt.Errorf("zone %d: %w", id, err)
	}
	defer rows.Close()
	z.Cameras = []Camera{}
	for rows.Next() {
		c, _, err := scanCamera(rows)
		if err != nil {
			return Zone{}, fmt.Errorf("zone %d: %w", id, err)
		}
		z.Cameras = append(z.Cameras, c)
	}
	return z, rows.Err()
}

// UpdateZone changes a zone's facility, address, commune, capacity and
// occupancy. Both the zone's present commune and the new one must be in
// the caller's jurisdiction.
func (s *Service) UpdateZone(ctx context.Context, p *auth.Principal, id int64, z Zone) (Zone, error) {
	old, err := s.zone(ctx, id)
	if err != nil {
		return Zone{}, err
	}
	if !MayManage(p) || !p.InJurisdiction(old.CommuneCode) {
		return Zone{}, fmt.Errorf("update zone %d: %w", id, errs.ErrForbidden)
	}
	if err := checkZone(&z); err != nil {
		return Zone{}, fmt.Errorf("update zone %d: %w", id, err)
	}
	if !p.InJurisdiction(z.CommuneCode) {
		return Zone{}, fmt.Errorf("update zone %d: %w", id, errs.ErrForbidden)
	}
	d, _ := geo.Ancestor(z.CommuneCode, "district")
	pr, _ := geo.Ancestor(z.CommuneCode, "province")
	z.ID, z.DistrictCode, z.ProvinceCode, z.CreatedAt = id, d.Code, pr.Code, old.CreatedAt
	if err := s.auditChange(ctx, p, auditUpdate, "quarantine_zone", id); err != nil {
		return Zone{}, err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE quarantine_zones SET name = $1, address = $2, commune_code = $3, district_code = $4,
		province_code = $5, capacity = $6, held = $7, public = $8 WHERE id = $9`,
		z.Name, z.Address, z.CommuneCode, z.DistrictCode, z.ProvinceCode, z.Capacity, z.Held, boolInt(z.Public), id)
	if err != nil {
		return Zone{}, fmt.Errorf("update zone %d: %w", id, err)
	}
	return s.Zone(ctx, p, id)
}

// Camera returns one camera for someone who may manage its zone (without
// its credentials: HasCredentials says whether it has any).
func (s *Service) Camera(ctx context.Context, p *auth.Principal, id int64) (Camera, Zone, error) {
	c, z, _, err := s.managed(ctx, p, id)
	return c, z, err
}

// managed returns a camera, its zone and sealed secret if p may manage it.
func (s *Service) managed(ctx context.Context, p *auth.Principal, id int64) (Camera, Zone, []byte, error) {
	return s.cameraFor(ctx, p, id, MayManage)
}

// mergeFields adds the field messages of a guard's refusal to f.
func mergeFields(f errs.Fields, err error) {
	for k, v := range errs.FieldsOf(err) {
		f.Add(k, v)
	}
}

// checkCamera validates a camera's fields and returns its URLs (without
// user info) and the credentials found in them.
func (s *Service) checkCamera(ctx context.Context, in *CameraInput) (stream, snapshot string, urlSec secret, err error) {
	f := errs.Fields{}
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	if n := len([]rune(in.Name)); n < 1 || n > 120 {
		f.Add("name", msg.Both("camera.name_1_to_120"))
	}
	schemes, ok := streamSchemes[in.StreamKind]
	if !ok {
		f.Add("stream_kind", msg.Both("camera.stream_kind_rtsp_hls"))
	}
	if strings.TrimSpace(in.StreamURL) == "" && strings.TrimSpace(in.SnapshotURL) == "" {
		f.Add("snapshot_url", msg.Both("camera.stream_or_snapshot_url"))
	}
	if len(in.StreamURL) > 1000 {
		f.Add("stream_url", msg.Both("camera.url_too_long"))
	}
	if len(in.SnapshotURL) > 1000 {
		f.Add("snapshot_url", msg.Both("camera.url_too_long"))
	}
	if len(in.Username) > 200 {
		f.Add("username", msg.Both("camera.user_name_at_most"))
	}
	if len(in.Password) > 200 {
		f.Add("password", msg.Both("camera.password_at_most_200"))
	}
	if ok && strings.TrimSpace(in.StreamURL) != "" {
		u, user, pass, err := s.Guard.CheckURL(ctx, "stream_url", in.StreamURL, schemes...)
		if err != nil {
			mergeFields(f, err)
		} else {
			stream = u.String()
			urlSec = secret{User: user, Pass: pass}
		}
	}
	if strings.TrimSpace(in.SnapshotURL) != "" && len(in.SnapshotURL) <= 1000 {
		u, user, pass, err := s.Guard.CheckURL(ctx, "snapshot_url", in.SnapshotURL, "http", "https")
		if err != nil {
			mergeFields(f, err)
		} else {
			snapshot = u.String()
			if urlSec.User == "" {
				urlSec = secret{User: user, Pass: pass}
			}
		}
	}
	return stream, snapshot, urlSec, f.Err()
}

// UpdateCamera changes a camera. A blank password keeps the stored one (a
// browser never sees it to send it back); a blank user name and password
// keep both; ClearCredentials removes them. The probe state is reset, so the
// wall shows the camera as unchecked until the next probe.
func (s *Service) UpdateCamera(ctx context.Context, p *auth.Principal, id int64, in CameraInput) (Camera, error) {
	cur, _, sealed, err := s.managed(ctx, p, id)
	if err != nil {
		return Camera{}, err
	}
	stream, snapshot, urlSec, err := s.checkCamera(ctx, &in)
	if err != nil {
		return Camera{}, fmt.Errorf("update camera %d: %w", id, err)
	}
	old, err := s.credentials(sealed)
	if err != nil {
		return Camera{}, fmt.Errorf("update camera %d: %w", id, err)
	}
	if old.Origins == nil { // stored before origins were recorded: the URLs it was used with
		old.Origins = origins(cur.StreamURL, cur.SnapshotURL)
	}
	// A stored password only follows the camera to an origin it was typed
	// for; a new host or port needs it typed again.
	for _, o := range origins(stream, snapshot) {
		if !slices.Contains(old.Origins, o) {
			old = secret{}
		}
	}
	sec := old
	switch {
	case in.ClearCredentials:
		sec = secret{}
	case in.Username != "" || in.Password != "":
		sec.User = in.Username
		if in.Username == "" {
			sec.User = old.User
		}
		if in.Password != "" {
			sec.Pass = in.Password
		}
	case urlSec.User != "":
		sec = urlSec
	}
	newSealed := s.seal(sec, stream, snapshot)
	if err := s.auditChange(ctx, p, auditUpdate, "camera", id); err != nil {
		return Camera{}, err
	}
	_, err = s.DB.W.ExecContext(ctx, `UPDATE cameras SET name = $1, stream_kind = $2, stream_url = $3, snapshot_url = $4, secret_enc = $5,
		online = 0, last_probe_at = NULL, last_error = '' WHERE id = $6`, in.Name, in.StreamKind, stream, snapshot, newSealed, id)
	if err != nil {
		return Camera{}, fmt.Errorf("update camera %d: %w", id, err)
	}
	s.mu.Lock()
	delete(s.snaps, id)
	s.mu.Unlock()
	s.auths.forget(snapshot)
	s.auths.forget(stream)
	c, _, err := s.Camera(ctx, p, id)
	return c, err
}

// DeleteCamera removes a camera.
func (s *Service) DeleteCamera(ctx context.Context, p *auth.Principal, id int64) error {
	if _, _, _, err := s.managed(ctx, p, id); err != nil {
		return err
	}
	if err := s.auditChange(ctx, p, auditDelete, "camera", id); err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM cameras WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete camera %d: %w", id, err)
	}
	s.mu.Lock()
	delete(s.snaps, id)
	s.mu.Unlock()
	return nil
}

// OfflineCount is how many cameras the caller watches that failed their
// last probe (a camera never probed yet is not counted as down).
func (s *Service) OfflineCount(ctx context.Context, p *auth.Principal) (int, error) {
	if p == nil || !mayWatch(p) {
		return 0, fmt.Errorf("offline cameras: %w", errs.ErrForbidden)
	}
	where, args := "", []any{}
	if col, val := p.Scope(); col != "" {
		where, args = " AND z."+col+" = $1", []any{val}
	}
	var n int
	err := s.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM cameras c JOIN quarantine_zones z ON z.id = c.zone_id
		WHERE c.online = 0 AND c.last_probe_at IS NOT NULL`+where, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("offline cameras: %w", err)
	}
	return n, nil
}
