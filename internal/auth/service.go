package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Service manages accounts, sessions and API tokens.
type Service struct {
	DB         *sqldb.DB
	SessionTTL time.Duration
	Now        func() time.Time
	// Vault seals the second factor's secrets; without it nobody can enrol.
	Vault *vault.Vault
	// Lockout slows password and code guessing (lockout.go).
	Lockout *Lockout
	// EnrolOptional stops sending officials without a second factor to
	// enrolment at login: for `serve --demo` only (and tests that do not
	// test the second factor). Production always enforces it.
	EnrolOptional bool
}

// NewService returns a Service with the given session lifetime.
func NewService(db *sqldb.DB, sessionTTL time.Duration) *Service {
	return &Service{DB: db, SessionTTL: sessionTTL, Now: time.Now, Lockout: NewLockout()}
}

// User is an account as stored (without its password hash).
type User struct {
	Principal
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// MustReset: an administrator asked for a new password at next login.
	MustReset bool `json:"must_reset"`
	// HasTOTP: the second factor is enrolled.
	HasTOTP bool `json:"totp"`
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Username, Password string
	Role               Role
	Unit               string
	Department         string
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// Validate checks a new account field by field.
func (u NewUser) Validate() error {
	f := errs.Fields{}
	if !usernameRE.MatchString(u.Username) {
		f.Add("username", msg.Both("auth.3_64_characters_z"))
	}
	if problem := passwordProblem(u.Username, u.Password); problem != "" {
		f.Add("password", problem)
	}
	levels, ok := unitLevels[u.Role]
	if !ok {
		f.Add("role", msg.Both("auth.unknown_role"))
	}
	unit, found := geo.Get(u.Unit)
	switch {
	case !found:
		f.Add("unit", msg.Both("auth.unknown_administrative_unit_code"))
	case ok && !slices.Contains(levels, unit.Level):
		f.Add("unit", msg.Both("auth.role_needs_unit_at", u.Role, strings.Join(levels, "/")))
	}
	if u.Role == DepartmentOfficer {
		if _, ok := Departments[u.Department]; !ok {
			f.Add("department", msg.Both("auth.unknown_department"))
		}
	} else if u.Department != "" {
		f.Add("department", msg.Both("auth.only_department_officers_have"))
	}
	return f.Err()
}

// CreateUser adds an account.
func (s *Service) CreateUser(ctx context.Context, u NewUser) (User, error) {
	if err := u.Validate(); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	now := s.Now().UTC().Truncate(time.Second)
	var id int64
	err := s.DB.W.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, role, unit_code, department, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING id`,
		u.Username, HashPassword(u.Password), string(u.Role), u.Unit, u.Department, now.Unix()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("create user %s: %w", u.Username, &errs.Invalid{Fields: map[string]string{"username": msg.Both("auth.username_already_taken")}})
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return User{Principal: Principal{UserID: id, Username: u.Username, Role: u.Role, Unit: u.Unit, Department: u.Department}, CreatedAt: now}, nil
}

const userCols = "id, username, role, unit_code, department, disabled, created_at, must_reset, CASE WHEN totp_secret_enc IS NULL THEN 0 ELSE 1 END"

// userColsOf is userCols for a query that names the users table u.
const userColsOf = "u.id, u.username, u.role, u.unit_code, u.department, u.disabled, u.created_at, u.must_reset, CASE WHEN u.totp_secret_enc IS NULL THEN 0 ELSE 1 END"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var role string
	var disabled, mustReset, totp int
	var created int64
	if err := row.Scan(&u.UserID, &u.Username, &role, &u.Unit, &u.Department, &disabled, &created, &mustReset, &totp); err != nil {
		return User{}, err
	}
	u.Role, u.Disabled, u.CreatedAt = Role(role), disabled != 0, time.Unix(created, 0).UTC()
	u.MustReset, u.HasTOTP = mustReset != 0, totp != 0
	return u, nil
}

// UserByName returns an account by username.
func (s *Service) UserByName(ctx context.Context, username string) (User, error) {
	return s.userWhere(ctx, "username", username)
}

// UserByID returns an account by id.
func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	return s.userWhere(ctx, "id", id)
}

// userWhere returns the account whose column (a constant of this package)
// holds value.
func (s *Service) userWhere(ctx context.Context, column string, value any) (User, error) {
	u, err := scanUser(s.DB.R.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE "+column+" = $1", value))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %v: %w", value, errs.ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user %v: %w", value, err)
	}
	return u, nil
}

// dummyHash keeps a failed login for an unknown user as slow as for a known one.
var dummyHash = HashPassword("not a real password")

// Authenticate checks a username and password.
func (s *Service) Authenticate(ctx context.Context, username, pw string) (User, error) {
	var hash string
	row := s.DB.R.QueryRowContext(ctx, "SELECT "+userCols+", password_hash FROM users WHERE username = $1", username)
	u, err := scanUser(scanExtra{row, &hash})
	if errors.Is(err, sql.ErrNoRows) {
		CheckPassword(dummyHash, pw)
		return User{}, fmt.Errorf("login: %w", errs.ErrUnauthorized)
	}
	if err != nil {
		return User{}, fmt.Errorf("login: %w", err)
	}
	if !CheckPassword(hash, pw) || u.Disabled {
		return User{}, fmt.Errorf("login: %w", errs.ErrUnauthorized)
	}
	return u, nil
}

// scanExtra appends destinations to a row scan.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }

// Token kinds.
const (
	kindSession = "session"
	kindAPI     = "api"
)

func newSecret(prefix string) (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (s *Service) insertSecret(ctx context.Context, userID int64, kind, prefix string, ttl time.Duration) (string, error) {
	secret, hash := newSecret(prefix)
	now := s.Now()
	_, err := s.DB.W.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, userID, kind, now.Unix(), now.Add(ttl).Unix())
	if err != nil {
		return "", fmt.Errorf("new %s: %w", kind, err)
	}
	return secret, nil
}

// NewSession starts a browser session for a user and returns its cookie value.
func (s *Service) NewSession(ctx context.Context, userID int64) (string, error) {
	return s.insertSecret(ctx, userID, kindSession, "acs_", s.SessionTTL)
}

// CreateToken issues an API bearer token for a user, valid for ttl.
func (s *Service) CreateToken(ctx context.Context, username string, ttl time.Duration) (string, error) {
	u, err := s.UserByName(ctx, username)
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return s.insertSecret(ctx, u.UserID, kindAPI, "act_", ttl)
}

// Resolve returns the principal behind a session cookie or bearer token.
func (s *Service) Resolve(ctx context.Context, secret string) (*Principal, error) {
	if secret == "" || len(secret) > 100 {
		return nil, fmt.Errorf("resolve: %w", errs.ErrUnauthorized)
	}
	var expires int64
	// A pending login (kind 'pending') is no session: only the login's
	// own pages read it, through Pending.
	row := s.DB.R.QueryRowContext(ctx, `SELECT `+userColsOf+`, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.kind IN ('session', 'api')`, hashSecret(secret))
	u, err := scanUser(scanExtra{row, &expires})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("resolve: %w", errs.ErrUnauthorized)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	if u.Disabled || s.Now().Unix() >= expires {
		return nil, fmt.Errorf("resolve: session expired: %w", errs.ErrUnauthorized)
	}
	p := u.Principal
	return &p, nil
}

// Revoke ends a session or token.
func (s *Service) Revoke(ctx context.Context, secret string) error {
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = $1", hashSecret(secret)); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	return nil
}

// PurgeExpired deletes expired sessions and tokens.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	return PurgeSessions(ctx, s.DB, s.Now())
}

// PurgeSessions deletes the sessions and tokens expired at now (for the
// retention job, which holds no Service).
func PurgeSessions(ctx context.Context, db *sqldb.DB, now time.Time) (int64, error) {
	res, err := db.W.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= $1", now.Unix())
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	return res.RowsAffected()
}

// Usernames returns the usernames of accounts, by id; unknown ids are absent.
func Usernames(ctx context.Context, db *sqldb.DB, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := db.R.QueryContext(ctx, "SELECT id, username FROM users WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			out[id] = name
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("usernames: %w", err)
	}
	return out, nil
}

// HasProvinceAdmin reports whether a province has an active administrator
// on this system: whether its officials can take over work here (one
// national database) or must be sent a file.
func (s *Service) HasProvinceAdmin(ctx context.Context, province string) (bool, error) {
	var n int
	err := s.DB.R.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = $1 AND unit_code = $2 AND disabled = 0", string(ProvinceAdmin), province).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("province admin %s: %w", province, err)
	}
	return n > 0, nil
}
