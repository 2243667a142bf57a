package exposure

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/msg"
	"anticovid/internal/otp"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Server defaults.
const (
	DefaultRegion     = "VN"
	DefaultKeyID      = "452" // Vietnam's mobile country code, as EN apps configure key ids
	DefaultWindow     = time.Hour
	DefaultMaxPerFile = 10_000
	// ExportKeep is how long export files stay published: keys older than 14
	// days match nothing on any phone.
	ExportKeep = 15 * 24 * time.Hour
)

// Service is the Exposure Notification key server: verification certificates,
// key uploads, signing keys and the signed export files phones download.
type Service struct {
	DB          *sqldb.DB
	Vault       *vault.Vault
	Codes       *Codes
	Region      string
	KeyID       string
	Window      time.Duration
	MaxPerFile  int
	AppBundleID string
	Now         func() time.Time

	mu sync.Mutex // one exporter at a time
}

// NewService returns an EN server. Its export files live in the database
// (en_exports.content), so every server serves the same set.
func NewService(db *sqldb.DB, v *vault.Vault, codes *Codes) *Service {
	return &Service{DB: db, Vault: v, Codes: codes, Region: DefaultRegion, KeyID: DefaultKeyID,
		Window: DefaultWindow, MaxPerFile: DefaultMaxPerFile, Now: time.Now}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Verify exchanges an "en" code for a verification certificate, an opaque
// token that authorises one key upload within CertificateTTL. The code is used
// up; the certificate carries its person and onset.
func (s *Service) Verify(ctx context.Context, code, client string) (string, time.Time, error) {
	const op = "en verify"
	k, err := s.Codes.Verify(ctx, PurposeEN, "", code, client)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	var cert otp.Issued
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, k); err != nil {
			return err
		}
		var err error
		cert, err = s.Codes.IssueTx(ctx, tx, otp.Request{Purpose: PurposeENCert, Subject: k.Subject})
		return err
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", op, err)
	}
	return cert.Code, cert.ExpiresAt, nil
}

// PublishResult says what happened to an upload's keys.
type PublishResult struct {
	Accepted int `json:"accepted"`  // exported in the next window
	HeldBack int `json:"held_back"` // still in use on the phone: exported once they end
}

// Publish stores the Temporary Exposure Keys of an upload authorised by a
// certificate. Every key must pass ValidateUpload and none may have been
// uploaded before; otherwise nothing is stored and the certificate stays
// usable, so the phone can correct and retry.
func (s *Service) Publish(ctx context.Context, cert, client string, keys []Key) (PublishResult, error) {
	const op = "en publish"
	if cert == "" {
		return PublishResult{}, fmt.Errorf("%s: %w", op, &errs.Invalid{Fields: map[string]string{"certificate": msg.Both("exposure.verification_certificate_required")}})
	}
	k, err := s.Codes.Verify(ctx, PurposeENCert, "", cert, client)
	if err != nil {
		return PublishResult{}, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	accepted, held, err := ValidateUpload(keys, now)
	if err != nil {
		return PublishResult{}, fmt.Errorf("%s: %w", op, err)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Codes.Redeem(ctx, tx, k); err != nil {
			return err
		}
		for i, key := range append(append([]Key(nil), accepted...), held...) {
			avail := now.Unix()
			if i >= len(accepted) {
				avail = (int64(key.RollingStart) + int64(key.RollingPeriod)) * 600
			}
			// No conflict target: partitioned by day on PostgreSQL, en_keys
			// keeps key_data unique through en_keys_keys (store.KeyedDayTables).
			res, err := tx.ExecContext(ctx, `INSERT INTO en_keys (key_data, rolling_start, rolling_period, transmission_risk, region,
				certificate_id, created_at, available_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
				key.Data, key.RollingStart, key.RollingPeriod, key.TransmissionRisk, s.Region, k.ID, now.Unix(), avail)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				j := indexOfKey(keys, key.Data)
				return &errs.Invalid{Fields: map[string]string{fmt.Sprintf("keys[%d].key_data", j): msg.Both("exposure.key_was_already_uploaded")}}
			}
		}
		return nil
	})
	if err != nil {
		return PublishResult{}, fmt.Errorf("%s: %w", op, err)
	}
	return PublishResult{Accepted: len(accepted), HeldBack: len(held)}, nil
}

func indexOfKey(keys []Key, data []byte) int {
	for i, k := range keys {
		if bytes.Equal(k.Data, data) {
			return i
		}
	}
	return -1
}

// PublicKeyInfo is a signing key as apps configure it.
type PublicKeyInfo struct {
	KeyID     string    `json:"verification_key_id"`
	Version   string    `json:"verification_key_version"`
	PublicPEM string    `json:"public_key_pem"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Signer returns the active signing key, creating version v1 on first use.
// The private key is stored sealed with the vault.
func (s *Service) Signer(ctx context.Context) (SigningKey, error) {
	var id, version string
	var enc []byte
	err := s.DB.R.QueryRowContext(ctx, "SELECT key_id, version, private_enc FROM en_signing_keys WHERE active = 1 ORDER BY id DESC LIMIT 1").
		Scan(&id, &version, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return s.RotateSigningKey(ctx)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("en signer: %w", err)
	}
	der, err := s.Vault.Open(enc)
	if err != nil {
		return SigningKey{}, fmt.Errorf("en signer: %w", err)
	}
	priv, err := x509.ParseECPrivateKey([]byte(der))
	if err != nil {
		return SigningKey{}, fmt.Errorf("en signer: %w", err)
	}
	return SigningKey{ID: id, Version: version, Priv: priv}, nil
}

// RotateSigningKey makes a new P-256 key, the next version under KeyID, and
// makes it the one new files are signed with. Older public keys stay listed:
// files already published keep verifying.
func (s *Service) RotateSigningKey(ctx context.Context) (SigningKey, error) {
	const op = "en rotate signing key"
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	var sk SigningKey
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM en_signing_keys WHERE key_id = $1", s.KeyID).Scan(&n); err != nil {
			return err
		}
		sk = SigningKey{ID: s.KeyID, Version: fmt.Sprintf("v%d", n+1), Priv: priv}
		if _, err := tx.ExecContext(ctx, "UPDATE en_signing_keys SET active = 0 WHERE active = 1"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO en_signing_keys (key_id, version, private_enc, public_pem, active, created_at)
			VALUES ($1, $2, $3, $4, 1, $5)`, sk.ID, sk.Version, s.Vault.Seal(string(der)), pubPEM, s.now().Unix())
		return err
	})
	if err != nil {
		return SigningKey{}, fmt.Errorf("%s: %w", op, err)
	}
	return sk, nil
}

// SigningKeys lists every signing key's public half, newest first.
func (s *Service) SigningKeys(ctx context.Context) ([]PublicKeyInfo, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT key_id, version, public_pem, active, created_at FROM en_signing_keys ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("en signing keys: %w", err)
	}
	defer rows.Close()
	var out []PublicKeyInfo
	for rows.Next() {
		var k PublicKeyInfo
		var active int
		var at int64
		if err := rows.Scan(&k.KeyID, &k.Version, &k.PublicPEM, &active, &at); err != nil {
			return nil, fmt.Errorf("en signing keys: %w", err)
		}
		k.Active, k.CreatedAt = active == 1, time.Unix(at, 0).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}

// ExportFile is one published export file.
type ExportFile struct {
	Name      string    `json:"name"` // REGION/START-END-NNNNN.zip, as index.txt lists it
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	BatchNum  int       `json:"batch_num"`
	BatchSize int       `json:"batch_size"`
	Keys      int       `json:"keys"`
}

// ExportWindow writes the batch of signed files for the keys that became
// available in [start, end) (at most MaxPerFile keys a file) and stores
// them in one transaction. Files are immutable: a window already exported is
// refused, and of two servers exporting one window at once only one commits
// (file names are unique), so phones see one set of files.
func (s *Service) ExportWindow(ctx context.Context, start, end time.Time) ([]ExportFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exportWindow(ctx, start, end)
}

var regionRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (s *Service) exportWindow(ctx context.Context, start, end time.Time) ([]ExportFile, error) {
	const op = "en export"
	if !regionRE.MatchString(s.Region) {
		return nil, fmt.Errorf("%s: region %q: %w", op, s.Region, errs.ErrInvalid)
	}
	var n int
	if err := s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM en_exports WHERE region = $1 AND start_at < $2 AND end_at > $3",
		s.Region, end.Unix(), start.Unix()).Scan(&n); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if n > 0 {
		return nil, fmt.Errorf("%s: window %s..%s overlaps a published file: %w", op, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), errs.ErrConflict)
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT key_data, rolling_start, rolling_period, transmission_risk FROM en_keys
		WHERE region = $1 AND available_at >= $2 AND available_at < $3`, s.Region, start.Unix(), end.Unix())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var keys []Key
	for rows.Next() {
		var k Key
		if err := rows.Scan(&k.Data, &k.RollingStart, &k.RollingPeriod, &k.TransmissionRisk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	signer, err := s.Signer(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// Shuffle across the whole window before cutting it into files, so even
	// which file a key lands in says nothing about upload order.
	if err := shuffle(keys); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	batches := Batches(keys, max(1, s.MaxPerFile))
	files := make([]ExportFile, len(batches))
	contents := make([][]byte, len(batches))
	var wg sync.WaitGroup
	errc := make(chan error, len(batches))
	for i, b := range batches {
		name := fmt.Sprintf("%s/%d-%d-%05d.zip", s.Region, start.Unix(), end.Unix(), i+1)
		files[i] = ExportFile{Name: name, Start: start.UTC(), End: end.UTC(), BatchNum: i + 1, BatchSize: len(batches), Keys: len(b)}
		wg.Go(func() {
			var buf bytes.Buffer
			if err := WriteExport(&buf, start, end, s.Region, i+1, len(batches), b, signer, s.AppBundleID); err != nil {
				errc <- err
				return
			}
			contents[i] = buf.Bytes()
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i, f := range files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO en_exports (region, start_at, end_at, batch_num, batch_size, filename, keys,
				signing_key_id, signing_version, created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				s.Region, start.Unix(), end.Unix(), f.BatchNum, f.BatchSize, f.Name, f.Keys, signer.ID, signer.Version, s.now().Unix(), contents[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return files, nil
}

// ExportDue exports every whole window that ended by now and is not yet
// exported (from the last published window, at most ExportKeep back), then
// drops files older than ExportKeep.
func (s *Service) ExportDue(ctx context.Context) ([]ExportFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	const op = "en export due"
	now := s.now()
	w := int64(max(s.Window, time.Minute) / time.Second)
	var last sql.NullInt64
	if err := s.DB.R.QueryRowContext(ctx, "SELECT max(end_at) FROM en_exports WHERE region = $1", s.Region).Scan(&last); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	from := now.Add(-ExportKeep).Unix() / w * w
	if last.Valid && last.Int64 > from {
		from = last.Int64
	}
	until := now.Unix() / w * w
	var out []ExportFile
	if until > from {
		// One query finds which windows hold keys; empty windows get no file.
		rows, err := s.DB.R.QueryContext(ctx, "SELECT DISTINCT (available_at - $1) / $2 FROM en_keys WHERE region = $3 AND available_at >= $1 AND available_at < $4",
			from, w, s.Region, until)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		var windows []int64
		for rows.Next() {
			var k int64
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			windows = append(windows, from+k*w)
		}
		rows.Close()
		for _, ws := range windows {
			files, err := s.exportWindow(ctx, time.Unix(ws, 0), time.Unix(ws+w, 0))
			if err != nil {
				return out, err
			}
			out = append(out, files...)
		}
	}
	return out, s.expireExports(ctx, now)
}

func (s *Service) expireExports(ctx context.Context, now time.Time) error {
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM en_exports WHERE region = $1 AND end_at < $2", s.Region, now.Add(-ExportKeep).Unix()); err != nil {
		return fmt.Errorf("en expire exports: %w", err)
	}
	return nil
}

// Index is REGION/index.txt: every published file, oldest first, one path
// per line, as EN apps read it; and when the newest was published.
func (s *Service) Index(ctx context.Context) (string, time.Time, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT filename, created_at FROM en_exports WHERE region = $1 ORDER BY end_at, batch_num", s.Region)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("en export index: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	var newest int64
	for rows.Next() {
		var n string
		var at int64
		if err := rows.Scan(&n, &at); err != nil {
			return "", time.Time{}, fmt.Errorf("en export index: %w", err)
		}
		b.WriteString(n + "\n")
		newest = max(newest, at)
	}
	if err := rows.Err(); err != nil {
		return "", time.Time{}, fmt.Errorf("en export index: %w", err)
	}
	return b.String(), time.Unix(newest, 0), nil
}

// File returns a published export file by its name in the index
// (REGION/START-END-NNNNN.zip) and when it was published; errs.ErrNotFound
// when there is none.
func (s *Service) File(ctx context.Context, name string) ([]byte, time.Time, error) {
	var data []byte
	var at int64
	err := s.DB.R.QueryRowContext(ctx, "SELECT content, created_at FROM en_exports WHERE filename = $1 AND content IS NOT NULL", name).Scan(&data, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("en export file: %w", errs.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("en export file: %w", err)
	}
	return data, time.Unix(at, 0), nil
}

// ImportFiles moves into the database the export files a server used to
// keep under dir (dir/REGION/*.zip): rows published before files moved keep
// being served, by every server. Files it cannot find stay unserved.
func (s *Service) ImportFiles(ctx context.Context, dir string) (int, error) {
	rows, err := s.DB.R.QueryContext(ctx, "SELECT id, filename FROM en_exports WHERE content IS NULL")
	if err != nil {
		return 0, fmt.Errorf("en import files: %w", err)
	}
	type missing struct {
		id   int64
		name string
	}
	var todo []missing
	for rows.Next() {
		var m missing
		if err := rows.Scan(&m.id, &m.name); err != nil {
			rows.Close()
			return 0, fmt.Errorf("en import files: %w", err)
		}
		todo = append(todo, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("en import files: %w", err)
	}
	n := 0
	for _, m := range todo {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.name)))
		if err != nil {
			continue
		}
		if _, err := s.DB.W.ExecContext(ctx, "UPDATE en_exports SET content = $1 WHERE id = $2 AND content IS NULL", data, m.id); err != nil {
			return n, fmt.Errorf("en import files: %w", err)
		}
		n++
	}
	return n, nil
}

// Tick is one turn of the export job (internal/jobs runs it on one server
// at a time): ExportDue, logged through logf.
func (s *Service) Tick(ctx context.Context, logf func(msg string, args ...any)) error {
	files, err := s.ExportDue(ctx)
	if len(files) > 0 {
		logf("en export", "files", len(files))
	}
	return err
}
