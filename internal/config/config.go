// Package config gathers every setting from flags and ANTICOVID_* environment
// variables (flags win), with defaults, and validates them once at start.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"anticovid/internal/geo"
)

// bundleRE is an app id as the stores write it: reverse DNS, at least two parts.
var bundleRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$`)

// Config is every setting of a deployment.
type Config struct {
	Addr          string        // listen address
	DataDir       string        // data directory: SQLite file, data key, exports
	DB            string        // database URL: empty or sqlite:PATH for SQLite, postgres://... for PostgreSQL
	Province      string        // GSO code of the province served, or VN for the whole country
	BaseURL       string        // public base URL printed in QR codes
	DataKey       string        // 64 hex characters; empty: generated into DataDir/data.key
	DataKeyOld    string        // during a rotation (README, "Keys"): the key being replaced, which still opens what it sealed
	Retention     time.Duration // how long check-ins and declarations are kept
	SessionTTL    time.Duration // how long a login lasts without activity
	MaxBody       int64         // request body limit in bytes
	Demo          bool          // load demo data and demo accounts at start
	LogLevel      string
	SecureCookies bool    // set when served over HTTPS
	CheckinRate   float64 // check-ins per second allowed from one address (0: unlimited)
	AutoApprove   bool    // venues registered by the public are approved at once

	// The operations centre's settings.
	SMTPURL         string // smtp://user:pass@host:587?from=addr: weekly reports and reminders by email; empty: the development recorder
	ReportEmail     string // the province's address for the consolidated weekly report
	CameraAllow     string // CIDRs, comma-separated, where cameras may sit although internal (a facility's LAN or VPN)
	MapTiles        string // tile URL template ({z}/{x}/{y}) for the public map; empty: the schematic map
	MapAttribution  string // the tiles' attribution
	PublicThreshold int    // public counts below it (and above zero) show as "< N"
	CampaignMaxRate int    // the most messages a minute one campaign may queue
	InboxDigestHour int    // the hour (0–23, Vietnam time) officials' daily inbox digests go out
	ENAppBundleID   string // the app id in Exposure Notification export files (iOS bundle id / Android package)

	// Messages: the providers of each channel (README, "Messages").
	SMS         Gateway // an HTTP SMS gateway (brand-name SMS); empty URL: no SMS provider
	OTT         Gateway // an HTTP OTT gateway (Zalo ZNS style: template id and parameters)
	EmailRate   float64 // emails per second through --smtp-url
	DevMessages bool    // channels without a provider record messages instead (development; --demo implies it)

	// Scheduled backups (README, "Backup and restore").
	BackupDir       string        // where scheduled backups go; empty: none
	BackupEvery     time.Duration // how often
	BackupKeep      int           // how many to keep
	BackupRecipient string        // the age public key backups are encrypted to
	// BackupS3 reaches the bucket of --backup-dir s3://bucket/prefix.
	BackupS3Endpoint, BackupS3Region     string
	BackupS3AccessKey, BackupS3SecretKey string // secrets: environment or file only
	// Production behind a proxy, and monitoring (README, "Production").
	TrustedProxies string // comma-separated CIDRs (or addresses) of reverse proxies whose X-Forwarded-For is believed
	MetricsToken   string // bearer token for /metrics on the public address; a secret: only ANTICOVID_METRICS_TOKEN sets it
	MetricsAddr    string // a separate listen address serving /metrics without a token
	// DBWait is how long a starting server waits for an unreachable
	// PostgreSQL before it gives up (0: it does not wait).
	DBWait time.Duration
	// DBReplica is a read replica's URL (a streaming standby): dashboards,
	// the public map and tracing read from it (docs/SCALING.md).
	DBReplica string
	// DBReplicaMaxLag is how far behind the replica may be before reads go
	// to the primary instead.
	DBReplicaMaxLag time.Duration
	// JobLease is how long a background job's lease outlives its holder's
	// last renewal: how soon another server takes over the jobs of one that
	// died (internal/jobs).
	JobLease time.Duration

	// HTTPS and shutdown (README, "Production").
	TLSDomains      string        // comma-separated names to get ACME certificates for; empty: no ACME
	TLSAddr         string        // the HTTPS listen address when TLS is on
	TLSCert, TLSKey string        // PEM files of a certificate the province already has (instead of ACME)
	ACMEDirectory   string        // the ACME server's directory URL
	ACMEEmail       string        // the account's contact address at the ACME server
	ACMECAFile      string        // PEM roots to trust for the ACME server (private ACME servers, tests)
	ShutdownTimeout time.Duration // how long requests and background work get to finish on SIGTERM
	ShutdownDelay   time.Duration // how long /readyz answers 503 before the listeners close

	// Online meetings (README, "Online meetings"): the Jitsi Meet server;
	// empty URL: no conferencing system (--demo uses a placeholder).
	MeetingURL    string // e.g. https://meet.longan.gov.vn
	MeetingAppID  string // the JWT's iss, prosody's app_id
	MeetingSecret string // prosody's app_secret: environment only, never a flag

	// PressMaxUpload bounds a communication material's file (README,
	// "Communication and the press").
	PressMaxUpload int64

	// envErrs are environment values that did not parse: Validate reports
	// them rather than silently falling back to the default.
	envErrs []error
}

// Register declares the flags on fs with defaults taken from the environment.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (ANTICOVID_ADDR)")
	fs.StringVar(&c.DataDir, "data", env("DATA", "./data"), "data directory (ANTICOVID_DATA)")
	fs.StringVar(&c.DB, "db", env("DB", ""), "database URL; empty for SQLite in the data directory, or postgres://... (ANTICOVID_DB)")
	fs.DurationVar(&c.DBWait, "db-wait", c.envDuration("DB_WAIT", 10*time.Minute), "how long to wait at start for an unreachable PostgreSQL, retrying with backoff; 0 gives up at once (ANTICOVID_DB_WAIT)")
	fs.StringVar(&c.DBReplica, "db-replica", env("DB_REPLICA", ""), "a PostgreSQL read replica's postgres:// URL: dashboards, the public map, report figures and tracing read from it (ANTICOVID_DB_REPLICA)")
	fs.DurationVar(&c.DBReplicaMaxLag, "db-replica-max-lag", c.envDuration("DB_REPLICA_MAX_LAG", 10*time.Second), "reads go to the primary while the replica is further behind than this, or down (ANTICOVID_DB_REPLICA_MAX_LAG)")
	fs.StringVar(&c.Province, "province", env("PROVINCE", "80"), "GSO code of the province served, or VN for the country (ANTICOVID_PROVINCE)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", ""), "public base URL for QR codes; default http://ADDR (ANTICOVID_BASE_URL)")
	c.DataKey = c.secret("DATA_KEY") // secrets: environment or file only, never a flag (secrets.go)
	c.DataKeyOld = c.secret("DATA_KEY_OLD")
	fs.DurationVar(&c.Retention, "retention", c.envDuration("RETENTION", 21*24*time.Hour), "how long check-ins are kept (ANTICOVID_RETENTION)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", c.envDuration("SESSION_TTL", 12*time.Hour), "login session lifetime (ANTICOVID_SESSION_TTL)")
	fs.Int64Var(&c.PressMaxUpload, "press-max-upload", c.envInt("PRESS_MAX_UPLOAD", 50<<20), "largest communication material file (poster, leaflet, loudspeaker script, short video) in bytes; stored in the database (ANTICOVID_PRESS_MAX_UPLOAD)")
	fs.Int64Var(&c.MaxBody, "max-body", c.envInt("MAX_BODY", 1<<20), "request body limit in bytes (ANTICOVID_MAX_BODY)")
	fs.BoolVar(&c.Demo, "demo", c.envBool("DEMO"), "load demo data and demo accounts (ANTICOVID_DEMO)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (ANTICOVID_LOG_LEVEL)")
	fs.Float64Var(&c.CheckinRate, "checkin-rate", c.envFloat("CHECKIN_RATE", 50), "check-ins per second from one address, bursts of 4× (0: unlimited; carriers put many phones behind one address) (ANTICOVID_CHECKIN_RATE)")
	fs.BoolVar(&c.AutoApprove, "auto-approve", c.envBool("AUTO_APPROVE"), "approve publicly registered venues at once instead of waiting for the commune (ANTICOVID_AUTO_APPROVE)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.envBool("SECURE_COOKIES"), "mark cookies Secure; set behind HTTPS (ANTICOVID_SECURE_COOKIES)")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.secret("SMTP_URL"), "SMTP server for reports and reminders: smtp://user:pass@host:587?from=addr, smtps://…:465, &tls=none for a local relay; "+
		"prefer the variable or its file, a flag's password shows in the process list (ANTICOVID_SMTP_URL or ANTICOVID_SMTP_URL_FILE)")
	fs.StringVar(&c.ReportEmail, "report-email", env("REPORT_EMAIL", ""), "the province's address for the consolidated weekly report (ANTICOVID_REPORT_EMAIL)")
	fs.StringVar(&c.CameraAllow, "camera-allow", env("CAMERA_ALLOW", ""), "CIDRs cameras may sit in although internal (private, loopback, link-local, CGNAT), comma-separated, e.g. 10.20.0.0/16; metadata addresses stay refused (ANTICOVID_CAMERA_ALLOW)")
	fs.StringVar(&c.MapTiles, "map-tiles", env("MAP_TILES", ""), "tile URL template for the public map, https://host/{z}/{x}/{y}.png; empty: the schematic map, no internet (ANTICOVID_MAP_TILES)")
	fs.StringVar(&c.MapAttribution, "map-attribution", env("MAP_ATTRIBUTION", ""), "the map tiles' attribution (ANTICOVID_MAP_ATTRIBUTION)")
	fs.IntVar(&c.PublicThreshold, "public-threshold", int(c.envInt("PUBLIC_THRESHOLD", 3)), "public counts below it are hidden, with the figures they could be derived from (ANTICOVID_PUBLIC_THRESHOLD)")
	c.SMS.register(c, fs, "sms", Gateway{Body: DefaultSMSBody, Rate: 10})
	c.OTT.register(c, fs, "ott", Gateway{Body: DefaultOTTBody, Success: "error=0", IDField: "data.msg_id", Rate: 10})
	fs.Float64Var(&c.EmailRate, "smtp-rate", c.envFloat("SMTP_RATE", 5), "emails per second through the SMTP server (ANTICOVID_SMTP_RATE)")
	fs.BoolVar(&c.DevMessages, "dev-messages", c.envBool("DEV_MESSAGES"), "development: record messages of channels without a provider in DATA/dev-messages.txt instead of sending them; --demo implies it (ANTICOVID_DEV_MESSAGES)")
	fs.StringVar(&c.ENAppBundleID, "en-app-bundle-id", env("EN_APP_BUNDLE_ID", ""), "the app's id (reverse DNS, e.g. vn.gov.bluezone) written in each Exposure Notification export's signature info (ANTICOVID_EN_APP_BUNDLE_ID)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies in front; only their X-Forwarded-For, Forwarded and X-Real-IP are believed (ANTICOVID_TRUSTED_PROXIES)")
	c.MetricsToken = c.secret("METRICS_TOKEN")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""), "a separate listen address for /metrics without a token, e.g. 127.0.0.1:9090; "+
		"without it /metrics is served only to the bearer token in ANTICOVID_METRICS_TOKEN, or not at all (ANTICOVID_METRICS_ADDR)")
	fs.IntVar(&c.InboxDigestHour, "inbox-digest-hour", int(c.envInt("INBOX_DIGEST_HOUR", 7)), "the hour (0-23, Vietnam time) officials' daily inbox digests go out (ANTICOVID_INBOX_DIGEST_HOUR)")
	fs.IntVar(&c.CampaignMaxRate, "campaign-max-rate", int(c.envInt("CAMPAIGN_MAX_RATE", 6000)), "the most messages a minute one campaign may queue (ANTICOVID_CAMPAIGN_MAX_RATE)")
	fs.StringVar(&c.BackupDir, "backup-dir", env("BACKUP_DIR", ""), "write an encrypted backup into this directory, or s3://bucket/prefix, every --backup-every; empty: no scheduled backups (ANTICOVID_BACKUP_DIR)")
	fs.StringVar(&c.BackupS3Endpoint, "backup-s3-endpoint", env("BACKUP_S3_ENDPOINT", "https://s3.amazonaws.com"), "the S3-compatible service of --backup-dir s3://...: https://host[:port] (ANTICOVID_BACKUP_S3_ENDPOINT)")
	fs.StringVar(&c.BackupS3Region, "backup-s3-region", env("BACKUP_S3_REGION", ""), "the bucket's region, if the service wants one (ANTICOVID_BACKUP_S3_REGION)")
	c.BackupS3AccessKey = c.secret("BACKUP_S3_ACCESS_KEY")
	c.BackupS3SecretKey = c.secret("BACKUP_S3_SECRET_KEY")
	fs.DurationVar(&c.BackupEvery, "backup-every", c.envDuration("BACKUP_EVERY", 24*time.Hour), "how often scheduled backups run (ANTICOVID_BACKUP_EVERY)")
	fs.IntVar(&c.BackupKeep, "backup-keep", int(c.envInt("BACKUP_KEEP", 7)), "how many scheduled backups to keep (ANTICOVID_BACKUP_KEEP)")
	fs.DurationVar(&c.JobLease, "job-lease", c.envDuration("JOB_LEASE", 30*time.Second), "with several servers on one database: how soon another server takes over the background jobs of one that died (ANTICOVID_JOB_LEASE)")
	fs.StringVar(&c.BackupRecipient, "backup-recipient", env("BACKUP_RECIPIENT", ""), "the age public key (age1...) backups are encrypted to, from `anticovid backup keygen` (ANTICOVID_BACKUP_RECIPIENT)")
	fs.StringVar(&c.TLSDomains, "tls-domain", env("TLS_DOMAIN", ""), "serve HTTPS with certificates from ACME (Let's Encrypt) for these comma-separated names; --addr then answers ACME challenges and redirects to HTTPS (ANTICOVID_TLS_DOMAIN)")
	fs.StringVar(&c.TLSAddr, "tls-addr", env("TLS_ADDR", ":443"), "HTTPS listen address when TLS is on (ANTICOVID_TLS_ADDR)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("TLS_CERT", ""), "serve HTTPS with this PEM certificate chain instead of ACME; reloaded when the file changes or on SIGHUP (ANTICOVID_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("TLS_KEY", ""), "the PEM private key of --tls-cert (ANTICOVID_TLS_KEY)")
	fs.StringVar(&c.ACMEDirectory, "acme-directory", env("ACME_DIRECTORY", LetsEncrypt), "the ACME server's directory URL (ANTICOVID_ACME_DIRECTORY)")
	fs.StringVar(&c.ACMEEmail, "acme-email", env("ACME_EMAIL", ""), "contact address for the ACME account: expiry warnings (ANTICOVID_ACME_EMAIL)")
	fs.StringVar(&c.ACMECAFile, "acme-ca-file", env("ACME_CA_FILE", ""), "PEM roots to trust for the ACME server itself, for a private ACME server or tests (ANTICOVID_ACME_CA_FILE)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.envDuration("SHUTDOWN_TIMEOUT", 30*time.Second), "on SIGTERM, how long requests and background work get to finish (ANTICOVID_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.ShutdownDelay, "shutdown-delay", c.envDuration("SHUTDOWN_DELAY", 0), "on SIGTERM, how long /readyz answers 503 while requests are still served, before the listeners close: a balancer's probe interval times its failure count (ANTICOVID_SHUTDOWN_DELAY)")
	fs.StringVar(&c.MeetingURL, "meeting-url", env("MEETING_URL", ""), "the Jitsi Meet server for online meetings, https://meet.example.vn; empty: none (ANTICOVID_MEETING_URL)")
	fs.StringVar(&c.MeetingAppID, "meeting-app-id", env("MEETING_APP_ID", ""), "the Jitsi token app id, prosody's app_id (ANTICOVID_MEETING_APP_ID)")
	c.MeetingSecret = c.secret("MEETING_SECRET")
}

// LetsEncrypt is Let's Encrypt's production ACME directory.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// TLS reports whether the server serves HTTPS itself.
func (c *Config) TLS() bool { return c.TLSDomains != "" || c.TLSCert != "" }

// Domains are the names of --tls-domain.
func (c *Config) Domains() []string {
	var names []string
	for _, d := range strings.Split(c.TLSDomains, ",") {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			names = append(names, d)
		}
	}
	return names
}

// hostRE is a DNS name of two labels or more, as ACME issues for (no
// wildcard: http-01 and tls-alpn-01 cannot prove one).
var hostRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validateTLS checks the HTTPS and shutdown settings.
func (c *Config) validateTLS() []error {
	var errs []error
	if c.TLSDomains != "" && c.TLSCert != "" {
		errs = append(errs, errors.New("--tls-domain and --tls-cert: choose one (ACME or the province's own certificate)"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if c.TLSCert != "" && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, errors.New("--tls-cert needs --base-url https://NAME, the name in the certificate (printed in QR codes)"))
	}
	for _, d := range c.Domains() {
		if !hostRE.MatchString(d) || len(d) > 253 {
			errs = append(errs, fmt.Errorf("--tls-domain %q: want DNS names such as covid.longan.gov.vn, comma-separated, no wildcard", d))
		}
	}
	if c.TLS() {
		if _, _, err := net.SplitHostPort(c.TLSAddr); err != nil {
			errs = append(errs, fmt.Errorf("--tls-addr %q: want host:port, e.g. :443", c.TLSAddr))
		}
	}
	if u, err := url.Parse(c.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("--acme-directory %q: want an https:// URL", c.ACMEDirectory))
	}
	if c.ACMEEmail != "" {
		if a, err := mail.ParseAddress(c.ACMEEmail); err != nil || a.Address != c.ACMEEmail {
			errs = append(errs, fmt.Errorf("--acme-email %q: want one plain address", c.ACMEEmail))
		}
	}
	if c.ShutdownTimeout < time.Second || c.ShutdownDelay < 0 || c.ShutdownDelay >= c.ShutdownTimeout {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %v, --shutdown-delay %v: want a timeout of 1s or more and a delay from 0 to less than it", c.ShutdownTimeout, c.ShutdownDelay))
	}
	return errs
}

// Validate checks every setting and returns all problems at once.
func (c *Config) Validate() error {
	errs := append([]error(nil), c.envErrs...)
	for _, f := range strings.FieldsFunc(c.CameraAllow, func(r rune) bool { return r == ',' || r == ' ' }) {
		if _, err := netip.ParsePrefix(f); err != nil {
			errs = append(errs, fmt.Errorf("--camera-allow %q: not a CIDR such as 10.20.0.0/16", f))
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: want host:port", c.Addr))
	}
	if c.DB == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty when --db is not set"))
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, fmt.Errorf("--db %q: want sqlite:PATH or a postgres:// URL", c.DB))
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
	if c.PressMaxUpload < 0 || c.PressMaxUpload > 1<<30 {
		errs = append(errs, fmt.Errorf("--press-max-upload %d: at most 1 GiB", c.PressMaxUpload))
	}
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("--max-body %d: at least 1024 bytes", c.MaxBody))
	}
	if c.CheckinRate < 0 {
		errs = append(errs, fmt.Errorf("--checkin-rate %v: must not be negative", c.CheckinRate))
	}
	if c.SMTPURL != "" {
		if err := checkSMTPURL(c.SMTPURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.BackupRecipient != "" {
		if _, err := age.ParseX25519Recipient(c.BackupRecipient); err != nil {
			errs = append(errs, fmt.Errorf("--backup-recipient: want an age public key (age1...), as `anticovid backup keygen` prints"))
		}
	}
	if c.BackupDir != "" {
		if c.BackupRecipient == "" {
			errs = append(errs, errors.New("--backup-dir needs --backup-recipient: backups are always encrypted"))
		}
		if strings.HasPrefix(c.BackupDir, "s3://") {
			if u, err := url.Parse(c.BackupDir); err != nil || u.Host == "" {
				errs = append(errs, fmt.Errorf("--backup-dir %q: want s3://bucket/prefix", c.BackupDir))
			}
			if u, err := url.Parse(c.BackupS3Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				errs = append(errs, fmt.Errorf("--backup-s3-endpoint %q: want https://host[:port]", c.BackupS3Endpoint))
			}
			if c.BackupS3AccessKey == "" || c.BackupS3SecretKey == "" {
				errs = append(errs, errors.New("--backup-dir s3://...: needs ANTICOVID_BACKUP_S3_ACCESS_KEY and ANTICOVID_BACKUP_S3_SECRET_KEY (or their _FILE)"))
			}
		}
		if c.BackupEvery < time.Hour || c.BackupKeep < 1 {
			errs = append(errs, fmt.Errorf("--backup-every %v, --backup-keep %d: at least 1h and 1", c.BackupEvery, c.BackupKeep))
		}
	}
	if c.DBReplica != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, errors.New("--db-replica needs a PostgreSQL --db"))
	}
	if c.DBReplica != "" && !strings.HasPrefix(c.DBReplica, "postgres://") && !strings.HasPrefix(c.DBReplica, "postgresql://") {
		errs = append(errs, errors.New("--db-replica: want a postgres:// URL"))
	}
	if c.DBReplicaMaxLag <= 0 {
		errs = append(errs, fmt.Errorf("--db-replica-max-lag %v: more than 0", c.DBReplicaMaxLag))
	}
	if c.DBWait < 0 {
		errs = append(errs, fmt.Errorf("--db-wait %v: 0 or more", c.DBWait))
	}
	if c.JobLease < time.Second || c.JobLease > time.Hour {
		errs = append(errs, fmt.Errorf("--job-lease %v: between 1s and 1h", c.JobLease))
	}
	if c.ENAppBundleID != "" && !bundleRE.MatchString(c.ENAppBundleID) {
		errs = append(errs, fmt.Errorf("--en-app-bundle-id %q: want a reverse-DNS id such as vn.gov.bluezone", c.ENAppBundleID))
	}
	if c.ReportEmail != "" {
		if a, err := mail.ParseAddress(c.ReportEmail); err != nil || a.Address != c.ReportEmail {
			errs = append(errs, fmt.Errorf("--report-email %q: want one plain address, name@example.vn", c.ReportEmail))
		}
	}
	if c.MapTiles != "" {
		u, err := url.Parse(c.MapTiles)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			!strings.Contains(c.MapTiles, "{z}") || !strings.Contains(c.MapTiles, "{x}") || !strings.Contains(c.MapTiles, "{y}") {
			errs = append(errs, fmt.Errorf("--map-tiles %q: want an http(s) URL template with {z}, {x} and {y}", c.MapTiles))
		}
	}
	if len(c.MapAttribution) > 500 {
		errs = append(errs, errors.New("--map-attribution: at most 500 bytes"))
	}
	if c.PublicThreshold < 1 || c.PublicThreshold > 100 {
		errs = append(errs, fmt.Errorf("--public-threshold %d: want 1 to 100", c.PublicThreshold))
	}
	if c.InboxDigestHour < 0 || c.InboxDigestHour > 23 {
		errs = append(errs, fmt.Errorf("--inbox-digest-hour %d: want an hour from 0 to 23 (Vietnam time)", c.InboxDigestHour))
	}
	if c.CampaignMaxRate < 1 || c.CampaignMaxRate > 1_000_000 {
		errs = append(errs, fmt.Errorf("--campaign-max-rate %d: want 1 to 1000000 messages a minute", c.CampaignMaxRate))
	}
	errs = append(errs, c.SMS.validate("sms")...)
	errs = append(errs, c.OTT.validate("ott")...)
	if c.EmailRate <= 0 || c.EmailRate > 10000 {
		errs = append(errs, fmt.Errorf("--smtp-rate %v: want more than 0 and at most 10000 a second", c.EmailRate))
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: want host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: must differ from --addr (use ANTICOVID_METRICS_TOKEN to serve /metrics there)", c.MetricsAddr))
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("ANTICOVID_METRICS_TOKEN: at least 16 characters"))
	}
	errs = append(errs, c.meetingErrs()...)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	errs = append(errs, c.validateTLS()...)
	return errors.Join(errs...)
}

// Proxies are the --trusted-proxies as prefixes (a bare address is one
// host); Validate has refused a list that does not parse.
func (c *Config) Proxies() []netip.Prefix {
	ps, _ := parseProxies(c.TrustedProxies)
	return ps
}

func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("--trusted-proxies %q: want CIDRs such as 10.0.0.0/8, 2001:db8::/32 or single addresses", item)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// PublicURL is the base URL printed in QR codes.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	if d := c.Domains(); len(d) > 0 {
		if _, port, _ := net.SplitHostPort(c.TLSAddr); port != "443" && port != "" {
			return "https://" + net.JoinHostPort(d[0], port)
		}
		return "https://" + d[0]
	}
	return "http://" + c.Addr
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("ANTICOVID_" + name); ok {
		return v
	}
	return def
}

// checkSMTPURL checks what reports.ParseSMTPURL needs, so a typo stops the
// server at start instead of at the first Friday's email. The message shows
// the URL without its password.
func checkSMTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("--smtp-url: not a URL (want smtp://user:pass@host:587?from=addr)")
	}
	bad := func(why string) error { return fmt.Errorf("--smtp-url %q: %s", u.Redacted(), why) }
	switch {
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return bad("want smtp:// or smtps://")
	case u.Hostname() == "":
		return bad("needs a host")
	case !strings.Contains(u.Query().Get("from"), "@"):
		return bad("needs ?from=sender@address")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("bad port")
		}
	}
	switch u.Query().Get("tls") {
	case "", "starttls", "opportunistic", "none", "tls":
	default:
		return bad("tls= wants starttls, opportunistic, none or tls")
	}
	return nil
}

// lookup returns ANTICOVID_name when it is set to something.
func lookup(name string) (string, bool) {
	v, ok := os.LookupEnv("ANTICOVID_" + name)
	return v, ok && v != ""
}

// bad records an environment value that does not parse.
func (c *Config) bad(name, raw, want string) {
	c.envErrs = append(c.envErrs, fmt.Errorf("ANTICOVID_%s=%q: want %s", name, raw, want))
}

func (c *Config) envBool(name string) bool {
	raw, ok := lookup(name)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		c.bad(name, raw, "true or false (1 or 0)")
	}
	return b
}

func (c *Config) envInt(name string, def int64) int64 {
	raw, ok := lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		c.bad(name, raw, "a whole number")
		return def
	}
	return n
}

func (c *Config) envFloat(name string, def float64) float64 {
	raw, ok := lookup(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		c.bad(name, raw, "a number")
		return def
	}
	return f
}

func (c *Config) envDuration(name string, def time.Duration) time.Duration {
	raw, ok := lookup(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		c.bad(name, raw, "a duration such as 12h or 30m")
		return def
	}
	return d
}
