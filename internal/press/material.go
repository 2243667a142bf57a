// Package press supplies the directive's communication work: a materials
// library (posters, leaflets, loudspeaker scripts, short videos) that the
// province uploads and the communes download and mark as printed or
// broadcast, with the province seeing use per commune; and a weekly press
// release the system drafts from live figures (small counts hidden by the
// public map's rules, dashboard.PublicCounts), a province role edits and
// approves, and the public reads at a stable URL (/bao-chi/{week}, HTML
// and PDF) and in an Atom feed. Files are kept behind Storage, by default
// in the database so that every server of a deployment serves them.
package press

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"anticovid/internal/auth"
	"anticovid/internal/dashboard"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
)

// DefaultMaxUpload is the largest material file accepted unless
// --press-max-upload says otherwise: a short video in 720p.
const DefaultMaxUpload = 50 << 20

// Kinds of material, by stable code.
var Kinds = []string{"poster", "leaflet", "script", "video"}

// Use kinds: what a commune did with a material.
const (
	Printed   = "printed"   // copies printed
	Broadcast = "broadcast" // times broadcast on the loudspeakers
)

// fileTypes is the allow-list: by extension, the type served and the check
// of the file's first bytes (http.DetectContentType's sniffing, with the
// few signatures it does not know).
var fileTypes = map[string]struct {
	contentType string
	ok          func(sniffed string, head []byte) bool
}{
	".pdf":  {"application/pdf", is("application/pdf")},
	".png":  {"image/png", is("image/png")},
	".jpg":  {"image/jpeg", is("image/jpeg")},
	".jpeg": {"image/jpeg", is("image/jpeg")},
	".mp3": {"audio/mpeg", func(s string, h []byte) bool {
		return s == "audio/mpeg" || len(h) > 2 && h[0] == 0xFF && h[1]&0xE0 == 0xE0 // ID3 tag or an MPEG frame
	}},
	".m4a": {"audio/mp4", func(_ string, h []byte) bool { return isoMedia(h) }},
	".mp4": {"video/mp4", func(_ string, h []byte) bool { return isoMedia(h) }},
	// A DOCX is a ZIP whose first entries are the package's parts.
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", func(s string, h []byte) bool {
		return s == "application/zip" && (bytes.Contains(h, []byte("[Content_Types].xml")) || bytes.Contains(h, []byte("_rels/.rels")) || bytes.Contains(h, []byte("word/")))
	}},
	".txt": {"text/plain; charset=utf-8", func(s string, h []byte) bool {
		return s == "text/plain; charset=utf-8" && validUTF8Prefix(h)
	}},
}

func is(want string) func(string, []byte) bool {
	return func(s string, _ []byte) bool { return s == want }
}

// isoMedia is an ISO base media file (MP4, M4A): a first box of type ftyp.
func isoMedia(h []byte) bool { return len(h) >= 12 && string(h[4:8]) == "ftyp" }

// validUTF8Prefix is utf8.Valid for a head cut anywhere, perhaps inside a
// character.
func validUTF8Prefix(h []byte) bool {
	for i := 0; i < utf8.UTFMax && len(h) > 0; i++ {
		if utf8.Valid(h) {
			return true
		}
		h = h[:len(h)-1]
	}
	return utf8.Valid(h)
}

// Extensions lists the accepted file extensions (for the form's accept).
func Extensions() string { return ".pdf,.png,.jpg,.jpeg,.mp3,.m4a,.mp4,.docx,.txt" }

// Material is one file of the library.
type Material struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	FileName    string    `json:"file_name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
	// The caller's commune's totals (commune officers).
	Printed   int64 `json:"printed"`
	Broadcast int64 `json:"broadcast"`
	// How many communes of the caller's area marked it, out of how many.
	UsedBy   int `json:"used_by"`
	Communes int `json:"communes"`
	blobKey  string
}

// Upload is a new material: the form's fields and the file.
type Upload struct {
	Title, Kind, Description string
	FileName                 string
	Body                     io.Reader
}

// Service keeps the library and the press releases.
type Service struct {
	DB       *sqldb.DB
	Store    Storage // nil: DBStorage on DB
	Dash     *dashboard.Service
	Province string
	BaseURL  string // for the feed's links
	// MaxUpload bounds a material's file (--press-max-upload).
	MaxUpload int64
	Log       *slog.Logger
	Now       func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) store() Storage {
	if s.Store != nil {
		return s.Store
	}
	return DBStorage{DB: s.DB}
}

func (s *Service) maxUpload() int64 {
	if s.MaxUpload > 0 {
		return s.MaxUpload
	}
	return DefaultMaxUpload
}

// MaxUploadSize is the bound on a material's file.
func (s *Service) MaxUploadSize() int64 { return s.maxUpload() }

// Editor reports whether p manages the library and the press releases:
// the province's administrators and its Department of Information and
// Communications, which runs the press work.
func (s *Service) Editor(p *auth.Principal) bool {
	if p == nil || !p.InJurisdiction(s.Province) {
		return false
	}
	return p.Role == auth.ProvinceAdmin || p.Role == auth.DepartmentOfficer && p.Department == "ict"
}

// reader reports whether p may read the library: any official of the
// province (venue managers are not officials).
func (s *Service) reader(p *auth.Principal) bool {
	return p != nil && p.Role != auth.VenueManager && (geo.Contains(s.Province, p.Unit) || p.InJurisdiction(s.Province))
}

// commune is p's commune when p marks use (commune officers), else "".
func commune(p *auth.Principal) string {
	if p != nil && p.Role == auth.CommuneOfficer {
		return p.Unit
	}
	return ""
}

// CleanName makes an uploaded file's name safe to store and to send back
// in Content-Disposition: the last path element, NFC, letters (Vietnamese
// included), digits and a few marks kept, everything else an underscore,
// at most 80 characters before the extension, which is lower-cased.
func CleanName(name string) (base, ext string) {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = norm.NFC.String(name)
	ext = strings.ToLower(path.Ext(name))
	stem := strings.TrimSuffix(name, path.Ext(name))
	var b strings.Builder
	n := 0
	for _, r := range stem {
		if n == 80 {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '(' || r == ')':
		case r == ' ' || r == '.':
			if strings.HasSuffix(b.String(), string(r)) {
				continue
			}
		default:
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	base = strings.Trim(b.String(), " ._-")
	if base == "" {
		base = "tai-lieu"
	}
	return base + ext, ext
}

// Sniff checks a file's first bytes against the allow-list for its
// extension and returns the type to serve it with.
func Sniff(ext string, head []byte) (string, bool) {
	t, ok := fileTypes[ext]
	if !ok || !t.ok(http.DetectContentType(head), head) {
		return "", false
	}
	return t.contentType, true
}

func validKind(k string) bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Add stores an uploaded material (editors only). The file is checked
// before a byte is stored: its extension must be allowed and its first
// bytes must be of that type; its size is bounded by MaxUpload.
func (s *Service) Add(ctx context.Context, p *auth.Principal, in Upload) (Material, error) {
	if !s.Editor(p) {
		return Material{}, fmt.Errorf("add material: %w", errs.ErrForbidden)
	}
	f := errs.Fields{}
	in.Title, in.Description = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description)
	if n := utf8.RuneCountInString(in.Title); n < 3 || n > 200 {
		f.Add("title", msg.Both("press.title_length"))
	}
	if !validKind(in.Kind) {
		f.Add("kind", msg.Both("press.kind_bad"))
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		f.Add("description", msg.Both("press.description_long"))
	}
	name, ext := CleanName(in.FileName)
	if in.Body == nil || in.FileName == "" {
		f.Add("file", msg.Both("press.file_needed"))
		return Material{}, f.Err()
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(in.Body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Material{}, fmt.Errorf("add material: read: %w", err)
	}
	head = head[:n]
	ct, ok := Sniff(ext, head)
	switch {
	case n == 0:
		f.Add("file", msg.Both("press.file_empty"))
	case !ok:
		f.Add("file", msg.Both("press.file_type", Extensions()))
	}
	if err := f.Err(); err != nil {
		return Material{}, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	m := Material{Kind: in.Kind, Title: in.Title, Description: in.Description, FileName: name, ContentType: ct,
		CreatedAt: s.now().UTC().Truncate(time.Second), blobKey: "m/" + hex.EncodeToString(key)}
	sum := sha256.New()
	max := s.maxUpload()
	body := io.TeeReader(io.LimitReader(io.MultiReader(bytes.NewReader(head), in.Body), max+1), sum)
	if m.Size, err = s.store().Put(ctx, m.blobKey, body); err != nil {
		return Material{}, fmt.Errorf("add material: %w", err)
	}
	if m.Size > max {
		s.store().Delete(context.WithoutCancel(ctx), m.blobKey)
		return Material{}, fmt.Errorf("add material: %d bytes and more: %w", m.Size, errs.ErrTooLarge)
	}
	m.SHA256 = hex.EncodeToString(sum.Sum(nil))
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO press_materials (province_code, kind, title, description, file_name, content_type, size, sha256,
		blob_key, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		s.Province, m.Kind, m.Title, m.Description, m.FileName, m.ContentType, m.Size, m.SHA256, m.blobKey, p.UserID, m.CreatedAt.Unix()).Scan(&m.ID)
	if err != nil {
		s.store().Delete(context.WithoutCancel(ctx), m.blobKey)
		return Material{}, fmt.Errorf("add material: %w", err)
	}
	if s.Log != nil {
		s.Log.Info("press material added", "id", m.ID, "kind", m.Kind, "size", m.Size, "user_id", p.UserID)
	}
	return m, nil
}

const materialCols = `id, kind, title, description, file_name, content_type, size, sha256, blob_key, created_at`

func scanMaterial(sc interface{ Scan(...any) error }) (Material, error) {
	var m Material
	var at int64
	err := sc.Scan(&m.ID, &m.Kind, &m.Title, &m.Description, &m.FileName, &m.ContentType, &m.Size, &m.SHA256, &m.blobKey, &at)
	m.CreatedAt = time.Unix(at, 0).UTC()
	return m, err
}

// areaCommunes are the communes whose use p sees: its own, its district's,
// or the province's.
func (s *Service) areaCommunes(p *auth.Principal) []geo.Unit {
	u, _ := geo.Get(p.Unit)
	if u.Level == "commune" {
		return []geo.Unit{u}
	}
	unit := s.Province
	if u.Level == "district" {
		unit = p.Unit
	}
	return geo.Communes(unit)
}

// Materials lists the library, newest first, with the caller's use.
func (s *Service) Materials(ctx context.Context, p *auth.Principal) ([]Material, error) {
	if !s.reader(p) {
		return nil, fmt.Errorf("materials: %w", errs.ErrForbidden)
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+materialCols+` FROM press_materials
		WHERE province_code = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 500`, s.Province)
	if err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	var out []Material
	for rows.Next() {
		m, err := scanMaterial(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("materials: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	if err := s.fillUses(ctx, p, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillUses adds to each material the caller's commune's totals, or how
// many communes of the caller's area used it: one grouped read for the
// whole list.
func (s *Service) fillUses(ctx context.Context, p *auth.Principal, list []Material) error {
	if len(list) == 0 {
		return nil
	}
	area := map[string]bool{}
	for _, c := range s.areaCommunes(p) {
		area[c.Code] = true
	}
	idx := map[int64]int{}
	for i := range list {
		list[i].Communes = len(area)
		idx[list[i].ID] = i
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT material_id, commune_code, use_kind, sum(copies) FROM press_material_uses
		WHERE province_code = $1 GROUP BY material_id, commune_code, use_kind ORDER BY material_id, commune_code`, s.Province)
	if err != nil {
		return fmt.Errorf("material use: %w", err)
	}
	defer rows.Close()
	seen := map[[2]any]bool{}
	for rows.Next() {
		var id, n int64
		var c, kind string
		if err := rows.Scan(&id, &c, &kind, &n); err != nil {
			return fmt.Errorf("material use: %w", err)
		}
		i, ok := idx[id]
		if !ok || !area[c] {
			continue
		}
		if kind == Printed {
			list[i].Printed += n
		} else {
			list[i].Broadcast += n
		}
		if k := [2]any{id, c}; !seen[k] {
			seen[k] = true
			list[i].UsedBy++
		}
	}
	return rows.Err()
}

// Material returns one material of the library.
func (s *Service) Material(ctx context.Context, p *auth.Principal, id int64) (Material, error) {
	if !s.reader(p) {
		return Material{}, fmt.Errorf("material %d: %w", id, errs.ErrForbidden)
	}
	m, err := scanMaterial(s.DB.R.QueryRowContext(ctx, `SELECT `+materialCols+` FROM press_materials
		WHERE id = $1 AND province_code = $2 AND deleted_at IS NULL`, id, s.Province))
	if errors.Is(err, sql.ErrNoRows) {
		return Material{}, fmt.Errorf("material %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Material{}, fmt.Errorf("material %d: %w", id, err)
	}
	one := []Material{m}
	err = s.fillUses(ctx, p, one)
	return one[0], err
}

// Open returns a material with a reader of its file.
func (s *Service) Open(ctx context.Context, p *auth.Principal, id int64) (Material, io.ReadCloser, error) {
	m, err := s.Material(ctx, p, id)
	if err != nil {
		return Material{}, nil, err
	}
	rc, err := s.store().Get(ctx, m.blobKey)
	if err != nil {
		return Material{}, nil, fmt.Errorf("material %d: %w", id, err)
	}
	return m, rc, nil
}

// Remove takes a material out of the library (editors): its file is
// deleted, the communes' marks are kept for the record.
func (s *Service) Remove(ctx context.Context, p *auth.Principal, id int64) error {
	if !s.Editor(p) {
		return fmt.Errorf("remove material %d: %w", id, errs.ErrForbidden)
	}
	m, err := s.Material(ctx, p, id)
	if err != nil {
		return err
	}
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE press_materials SET deleted_at = $1 WHERE id = $2`, s.now().Unix(), id); err != nil {
		return fmt.Errorf("remove material %d: %w", id, err)
	}
	return s.store().Delete(ctx, m.blobKey)
}

// UseInput is a commune's mark: printed copies or broadcasts, on a day.
type UseInput struct {
	Kind   string `json:"kind"`
	Copies int64  `json:"count"`
	Day    string `json:"day"` // YYYY-MM-DD, Vietnam
}

// Use is one mark.
type Use struct {
	ID          int64     `json:"id"`
	MaterialID  int64     `json:"material_id"`
	Commune     string    `json:"commune_code"`
	CommuneName string    `json:"commune_name"`
	Kind        string    `json:"kind"`
	Copies      int64     `json:"count"`
	Day         string    `json:"day"`
	CreatedAt   time.Time `json:"created_at"`
}

// Mark records what the caller's commune did with a material (commune
// officers only).
func (s *Service) Mark(ctx context.Context, p *auth.Principal, id int64, in UseInput) (Use, error) {
	c := commune(p)
	if c == "" || !geo.Contains(s.Province, c) {
		return Use{}, fmt.Errorf("mark material %d: %w", id, errs.ErrForbidden)
	}
	if _, err := s.Material(ctx, p, id); err != nil {
		return Use{}, err
	}
	f := errs.Fields{}
	if in.Kind != Printed && in.Kind != Broadcast {
		f.Add("kind", msg.Both("press.use_kind_bad"))
	}
	if in.Copies < 1 || in.Copies > 1_000_000 {
		f.Add("count", msg.Both("press.count_bad"))
	}
	now := s.now()
	day, err := time.ParseInLocation("2006-01-02", in.Day, dashboard.HCM)
	if err != nil || day.After(now) || day.Before(now.AddDate(-1, 0, 0)) {
		f.Add("day", msg.Both("press.day_bad"))
	}
	if err := f.Err(); err != nil {
		return Use{}, err
	}
	u := Use{MaterialID: id, Commune: c, Kind: in.Kind, Copies: in.Copies, Day: in.Day, CreatedAt: now.UTC().Truncate(time.Second)}
	cu, _ := geo.Get(c)
	u.CommuneName = cu.Name
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO press_material_uses (material_id, commune_code, district_code, province_code, use_kind, copies,
		used_on, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		id, c, cu.ParentCode, s.Province, u.Kind, u.Copies, u.Day, p.UserID, u.CreatedAt.Unix()).Scan(&u.ID)
	if err != nil {
		return Use{}, fmt.Errorf("mark material %d: %w", id, err)
	}
	return u, nil
}

// Uses lists the marks of a material the caller sees: a commune its own,
// a district its communes', the province all.
func (s *Service) Uses(ctx context.Context, p *auth.Principal, id int64) ([]Use, error) {
	if _, err := s.Material(ctx, p, id); err != nil {
		return nil, err
	}
	col, val := "province_code", s.Province
	if c := commune(p); c != "" {
		col, val = "commune_code", c
	} else if u, ok := geo.Get(p.Unit); ok && u.Level == "district" {
		col, val = "district_code", p.Unit
	} else if u.Level == "commune" { // commune roles that do not mark see their commune's
		col, val = "commune_code", p.Unit
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, commune_code, use_kind, copies, used_on, created_at FROM press_material_uses
		WHERE material_id = $1 AND `+col+` = $2 ORDER BY used_on DESC, id DESC LIMIT 1000`, id, val)
	if err != nil {
		return nil, fmt.Errorf("uses of %d: %w", id, err)
	}
	defer rows.Close()
	var out []Use
	for rows.Next() {
		u := Use{MaterialID: id}
		var at int64
		if err := rows.Scan(&u.ID, &u.Commune, &u.Kind, &u.Copies, &u.Day, &at); err != nil {
			return nil, fmt.Errorf("uses of %d: %w", id, err)
		}
		cu, _ := geo.Get(u.Commune)
		u.CommuneName, u.CreatedAt = cu.Name, time.Unix(at, 0).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// Unmark deletes one of the caller's commune's marks (a mistake); another
// commune's mark is refused.
func (s *Service) Unmark(ctx context.Context, p *auth.Principal, id, use int64) error {
	c := commune(p)
	if c == "" {
		return fmt.Errorf("unmark %d: %w", use, errs.ErrForbidden)
	}
	var owner string
	err := s.DB.R.QueryRowContext(ctx, `SELECT commune_code FROM press_material_uses WHERE id = $1 AND material_id = $2`, use, id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("unmark %d: %w", use, errs.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("unmark %d: %w", use, err)
	}
	if owner != c {
		return fmt.Errorf("unmark %d of another commune: %w", use, errs.ErrForbidden)
	}
	if _, err := s.DB.W.ExecContext(ctx, `DELETE FROM press_material_uses WHERE id = $1 AND commune_code = $2`, use, c); err != nil {
		return fmt.Errorf("unmark %d: %w", use, err)
	}
	return nil
}

// CommuneUse is one commune's use of a material.
type CommuneUse struct {
	Commune   geo.Unit `json:"commune"`
	District  string   `json:"district_name"`
	Printed   int64    `json:"printed"`
	Broadcast int64    `json:"broadcast"`
	LastDay   string   `json:"last_day,omitempty"`
}

// Used reports whether the commune marked the material at all.
func (c CommuneUse) Used() bool { return c.Printed+c.Broadcast > 0 }

// Coverage is every commune of the caller's area with its use of the
// material, those that have not used it first.
func (s *Service) Coverage(ctx context.Context, p *auth.Principal, id int64) ([]CommuneUse, error) {
	if _, err := s.Material(ctx, p, id); err != nil {
		return nil, err
	}
	cov, err := s.coverage(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var unused, used []CommuneUse
	for _, c := range cov {
		if c.Used() {
			used = append(used, c)
		} else {
			unused = append(unused, c)
		}
	}
	return append(unused, used...), nil
}

func (s *Service) coverage(ctx context.Context, p *auth.Principal, id int64) ([]CommuneUse, error) {
	communes := s.areaCommunes(p)
	idx := map[string]int{}
	out := make([]CommuneUse, len(communes))
	for i, c := range communes {
		d, _ := geo.Get(c.ParentCode)
		out[i] = CommuneUse{Commune: c, District: d.Name}
		idx[c.Code] = i
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT commune_code, use_kind, sum(copies), max(used_on) FROM press_material_uses
		WHERE material_id = $1 AND province_code = $2 GROUP BY commune_code, use_kind`, id, s.Province)
	if err != nil {
		return nil, fmt.Errorf("coverage of %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, kind, last string
		var n int64
		if err := rows.Scan(&c, &kind, &n, &last); err != nil {
			return nil, fmt.Errorf("coverage of %d: %w", id, err)
		}
		i, ok := idx[c]
		if !ok {
			continue
		}
		if kind == Printed {
			out[i].Printed += n
		} else {
			out[i].Broadcast += n
		}
		if last > out[i].LastDay {
			out[i].LastDay = last
		}
	}
	return out, rows.Err()
}

// SizeLabel is the file's size for people: "340 KB", "12,5 MB".
func (m Material) SizeLabel() string {
	if m.Size < 1<<20 {
		return fmt.Sprintf("%d KB", (m.Size+1023)>>10)
	}
	return strings.Replace(fmt.Sprintf("%.1f MB", float64(m.Size)/(1<<20)), ".", ",", 1)
}

// vnDate writes a YYYY-MM-DD day the Vietnamese way, 02/01/2006.
func vnDate(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return t.Format("02/01/2006")
}

// Date is the mark's day, 02/01/2006.
func (u Use) Date() string { return vnDate(u.Day) }

// LastDate is the commune's latest mark's day, 02/01/2006.
func (c CommuneUse) LastDate() string { return vnDate(c.LastDay) }
