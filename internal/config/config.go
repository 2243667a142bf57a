// Package config gathers every setting from flags and ANTICOVID_* environment
// variables (flags win), with defaults, and validates them once at start.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/geo"
)

// Config is every setting of a deployment.
type Config struct {
	Addr          string        // listen address
	DataDir       string        // data directory: SQLite file, data key, exports
	DB            string        // database URL: empty or sqlite:PATH for SQLite, postgres://... for PostgreSQL
	Province      string        // GSO code of the province served, or VN for the whole country
	BaseURL       string        // public base URL printed in QR codes
	DataKey       string        // 64 hex characters; empty: generated into DataDir/data.key
	Retention     time.Duration // how long check-ins and declarations are kept
	SessionTTL    time.Duration // how long a login lasts without activity
	MaxBody       int64         // request body limit in bytes
	Demo          bool          // load demo data and demo accounts at start
	LogLevel      string
	SecureCookies bool    // set when served over HTTPS
	CheckinRate   float64 // check-ins per second allowed from one address (0: unlimited)
	AutoApprove   bool    // venues registered by the public are approved at once
}

// Register declares the flags on fs with defaults taken from the environment.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (ANTICOVID_ADDR)")
	fs.StringVar(&c.DataDir, "data", env("DATA", "./data"), "data directory (ANTICOVID_DATA)")
	fs.StringVar(&c.DB, "db", env("DB", ""), "database URL; empty for SQLite in the data directory, or postgres://... (ANTICOVID_DB)")
	fs.StringVar(&c.Province, "province", env("PROVINCE", "80"), "GSO code of the province served, or VN for the country (ANTICOVID_PROVINCE)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", ""), "public base URL for QR codes; default http://ADDR (ANTICOVID_BASE_URL)")
	c.DataKey = os.Getenv("ANTICOVID_DATA_KEY") // a secret: environment only, never a flag
	fs.DurationVar(&c.Retention, "retention", envDuration("RETENTION", 21*24*time.Hour), "how long check-ins are kept (ANTICOVID_RETENTION)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", envDuration("SESSION_TTL", 12*time.Hour), "login session lifetime (ANTICOVID_SESSION_TTL)")
	fs.Int64Var(&c.MaxBody, "max-body", envInt("MAX_BODY", 1<<20), "request body limit in bytes (ANTICOVID_MAX_BODY)")
	fs.BoolVar(&c.Demo, "demo", envBool("DEMO"), "load demo data and demo accounts (ANTICOVID_DEMO)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (ANTICOVID_LOG_LEVEL)")
	fs.Float64Var(&c.CheckinRate, "checkin-rate", envFloat("CHECKIN_RATE", 50), "check-ins per second from one address, bursts of 4× (0: unlimited; carriers put many phones behind one address) (ANTICOVID_CHECKIN_RATE)")
	fs.BoolVar(&c.AutoApprove, "auto-approve", envBool("AUTO_APPROVE"), "approve publicly registered venues at once instead of waiting for the commune (ANTICOVID_AUTO_APPROVE)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", envBool("SECURE_COOKIES"), "mark cookies Secure; set behind HTTPS (ANTICOVID_SECURE_COOKIES)")
}

// Validate checks every setting and returns all problems at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: want host:port", c.Addr))
	}
	if c.DB == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty when --db is not set"))
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, fmt.Errorf("--db %q: want sqlite:PATH or postgres://...", c.DB))
	}
	if u, ok := geo.Get(c.Province); !ok || (u.Level != "province" && u.Level != "country") {
		errs = append(errs, fmt.Errorf("--province %q: not a GSO province code (Long An is 80) nor VN", c.Province))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--base-url %q: want http(s)://host[:port]", c.BaseURL))
		}
	}
	if c.Retention < 24*time.Hour {
		errs = append(errs, fmt.Errorf("--retention %v: at least 24h", c.Retention))
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("--session-ttl %v: at least 1m", c.SessionTTL))
	}
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("--max-body %d: at least 1024 bytes", c.MaxBody))
	}
	if c.CheckinRate < 0 {
		errs = append(errs, fmt.Errorf("--checkin-rate %v: must not be negative", c.CheckinRate))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// PublicURL is the base URL printed in QR codes.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	return "http://" + c.Addr
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("ANTICOVID_" + name); ok {
		return v
	}
	return def
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(env(name, "false"))
	return b
}

func envInt(name string, def int64) int64 {
	n, err := strconv.ParseInt(env(name, ""), 10, 64)
	if err != nil {
		return def
	}
	return n
}

func envFloat(name string, def float64) float64 {
	f, err := strconv.ParseFloat(env(name, ""), 64)
	if err != nil {
		return def
	}
	return f
}

func envDuration(name string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(env(name, ""))
	if err != nil {
		return def
	}
	return d
}
