package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/backup"
	"anticovid/internal/bluezone"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/config"
	"anticovid/internal/dashboard"
	"anticovid/internal/declaration"
	"anticovid/internal/doortodoor"
	"anticovid/internal/exposure"
	"anticovid/internal/inbox"
	"anticovid/internal/jobs"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/otp"
	"anticovid/internal/people"
	"anticovid/internal/press"
	"anticovid/internal/reports"
	"anticovid/internal/retention"
	"anticovid/internal/sqldb"
	"anticovid/internal/store"
	"anticovid/internal/token"
	"anticovid/internal/vault"
	"anticovid/internal/venue"
	"anticovid/internal/web"
)

// This file is the one place a deployment is put together: open builds every
// service from the configuration, top to bottom in the order they depend on
// each other; webDeps hands them to the web server; runBackground starts the
// server's background work. Commands only parse flags and call services.

// app is a deployment's services, wired once for the server and every command.
type app struct {
	cfg   *config.Config
	log   *slog.Logger
	db    *sqldb.DB
	vault *vault.Vault
	keys  *token.Keyring
	// leases run each background job on one server at a time; stats
	// counts the runs of every job this server ran, for /metrics.
	leases *jobs.Leases
	stats  *jobs.Stats
	auth   *auth.Service
	people *people.Service
	venues *venue.Service
	outbox *notify.Outbox
	// otp is the one phone-code service: venue registration, Bluezone and
	// Exposure Notification codes.
	otp *otp.Service
	// checkins is started lazily (startCheckins): only the server and
	// bench ingest ingest, and the writer replays the journal when it starts.
	checkins *checkin.Service

	declarations *declaration.Service
	// cases is the case registry and contact tracing; Bluetooth contacts
	// join the QR ones through cases.Engine.Sources.
	cases *cases.Service

	// Bluetooth tracing: Bluezone server, EN key server, adoption figures.
	bluezone *bluezone.Service
	en       *exposure.Service
	adoption *adoption.Service

	// ops is the operations centre: dashboard and public map, weekly
	// reports, cameras, campaigns.
	ops *web.Ops
	// meetings are the online meetings (Jitsi per --meeting-url).
	meetings *meeting.Service
	press    *press.Service
	// inbox brings officials notices of new work (and sends them by SMS or
	// email as each chose).
	inbox *inbox.Service
	// door is the door-to-door drive: hamlets, households, volunteer teams.
	door *doortodoor.Service
	// rotation re-seals every owner's sealed values with the current data
	// key while an old one is configured (README, "Keys").
	rotation *vault.Rotation
}

// open validates cfg, opens and migrates the database, loads the keys and
// builds the services. Logs go to logOut as JSON.
func open(ctx context.Context, cfg *config.Config, logOut io.Writer) (*app, error) {
	// Configuration and logging.
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))

	// Database and the personal-data vault (a PostgreSQL not reachable yet
	// is waited for, up to --db-wait); the key comes from the
	// configuration (ANTICOVID_DATA_KEY or DATA/data.key), never from the
	// database, and must open what the database already holds. The
	// venue-token keys live in the database, shared by every server (keys a
	// server kept in DATA/keys/ are imported once).
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	db, err := store.OpenWaiting(ctx, cfg.DB, cfg.DataDir, cfg.DBWait, log)
	if err != nil {
		return nil, err
	}
	// A read replica serves the reads that may lag a little (db.Reader()):
	// the dashboard and public map with their counting, report figures
	// (through the dashboard) and tracing's reads of check-ins.
	if cfg.DBReplica != "" {
		if err := store.AttachReplica(db, cfg.DB, cfg.DBReplica, cfg.DBReplicaMaxLag, log); err != nil {
			db.Close()
			return nil, err
		}
	}
	v, err := vault.Load(cfg.DataKey, cfg.DataKeyOld, cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	sample, err := people.PhonesAfter(ctx, db, "", "", 0, 1)
	if err == nil {
		var sealed []byte
		if len(sample) > 0 {
			sealed = sample[0].Phone
		}
		err = v.CheckDB(ctx, db, sealed)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	keys, err := token.Open(ctx, db, v, cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, err
	}

	// Accounts, people, venues and the outbox every message goes through.
	a := &app{cfg: cfg, log: log, db: db, vault: v, keys: keys, leases: jobs.New(db, cfg.JobLease, log), stats: &jobs.Stats{},
		auth:   auth.NewService(db, cfg.SessionTTL),
		people: people.NewService(db, v),
		venues: &venue.Service{DB: db, Vault: v, Signer: keys, BaseURL: cfg.PublicURL(), Province: cfg.Province},
		outbox: &notify.Outbox{DB: db, Vault: v, Log: log, Senders: map[string]notify.Sender{}},
	}
	a.leases.Stats = a.stats
	// The second factor's secrets are sealed with the vault; only a demo
	// lets officials skip enrolment (production sends them to it at login).
	a.auth.Vault, a.auth.EnrolOptional = v, cfg.Demo
	a.venues.Outbox = a.outbox // a venue's manager is told of its approval, poster and F0 visits
	// Venues stored before search existed get their search keys (once).
	if n, err := a.venues.FillSearch(ctx); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		log.Info("venue search keys filled", "venues", n)
	}

	// Each channel's provider comes from the configuration; the development
	// recorder only with --demo or --dev-messages.
	if err := notify.Configure(a.outbox, cfg, log); err != nil {
		db.Close()
		return nil, err
	}

	a.otp = otp.New(db, v, a.outbox)
	// A demo or development deployment records its SMS instead of sending
	// them: the pages that ask for a code show it too.
	a.otp.Reveal = cfg.Demo || cfg.DevMessages

	// Health declarations, and the case registry with contact tracing.
	a.declarations = declaration.NewService(db, a.people, v, cfg.PublicURL())
	a.cases = cases.NewService(db, a.people, a.outbox, log)
	// F2 jobs run under a lease named like this server's job leases: a job
	// whose server died is taken over by another once it lapses.
	a.cases.Jobs.Holder, a.cases.Jobs.TTL = a.leases.Holder, cfg.JobLease
	a.cases.Receivers = a.auth.HasProvinceAdmin // hand-offs in the system only to provinces with officials here
	a.cases.Engine.QR().DB = db.Reader()
	a.cases.Background = ctx

	// Bluetooth tracing: the Bluezone server and the EN key server share the
	// verification codes. Each server keeps its own Bluezone ID index in the
	// data directory, built from the database (a cache, not shared state);
	// EN export files live in the database. Bluetooth contacts join the QR
	// ones in every trace, F2 jobs included.
	codes := exposure.NewCodes(a.otp, a.people)
	a.bluezone, err = bluezone.NewService(db, v, a.people, a.outbox, codes, filepath.Join(cfg.DataDir, "bluezone-index"), cfg.Retention)
	if err != nil {
		db.Close()
		return nil, err
	}
	a.bluezone.Log = log
	a.en = exposure.NewService(db, v, codes)
	a.en.AppBundleID = cfg.ENAppBundleID
	// Export files published before they moved into the database.
	if n, err := a.en.ImportFiles(ctx, filepath.Join(cfg.DataDir, "en-export")); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		log.Info("en export files imported into the database", "files", n)
	}
	a.adoption = adoption.NewService(db, a.bluezone)
	a.cases.Engine.Sources = append(a.cases.Engine.Sources, a.bluezone.Source())

	// The operations centre, with the operations settings of the config
	// (--public-threshold, --camera-allow, --report-email, --smtp-url,
	// --campaign-max-rate, --map-tiles, ...).
	rdb := db.Reader()
	dash := dashboard.New(rdb, cfg.Province, log)
	dash.Threshold = cfg.PublicThreshold
	dash.Hourly = append(dash.Hourly, dashboard.DeclarationSource{DB: rdb}, dashboard.CaseSource{DB: rdb})
	dash.Gauges = append(dash.Gauges, dashboard.QuarantineGauges{DB: rdb}, dashboard.BluezoneGauges{DB: rdb})
	dash.Places = dashboard.ExposureSource{DB: rdb}
	camAllow, err := camera.ParseAllow(cfg.CameraAllow) // checked by cfg.Validate
	if err != nil {
		return nil, err
	}
	cams := &camera.Service{DB: db, Vault: v, Log: log, Guard: &camera.Guard{Allow: camAllow}}
	dash.Zones = cams
	rep := &reports.Service{DB: db, Province: cfg.Province, Live: dash, Outbox: a.outbox, ProvinceEmail: cfg.ReportEmail, Log: log}
	if cfg.SMTPURL != "" {
		m, err := reports.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		rep.Mailer = m // the consolidated report with its attachments; reminders go through the outbox
	}
	a.ops = &web.Ops{Dashboard: dash, Reports: rep, Cameras: cams,
		Campaigns: &campaign.Service{DB: db, Vault: v, Outbox: a.outbox, BaseURL: cfg.PublicURL(), MaxRate: cfg.CampaignMaxRate, Log: log},
		MapTiles:  cfg.MapTiles, MapAttribution: cfg.MapAttribution}

	// Online meetings: invitations go through the outbox, whose email
	// sender attaches each invitation's calendar file; the weekly report
	// links the week's minutes.
	a.meetings = &meeting.Service{DB: db, Vault: v, Outbox: a.outbox, Provider: meeting.FromConfig(cfg), Province: cfg.Province, BaseURL: cfg.PublicURL(), Log: log}
	if m, ok := a.outbox.Senders[notify.Email].(*notify.SMTP); ok {
		a.meetings.From = m.From
		a.outbox.Senders[notify.Email] = &meeting.InviteMailer{SMTP: m, Meetings: a.meetings}
	}
	rep.Meetings = a.meetings

	// The door-to-door drive: volunteer links signed with the vault's tag
	// key; its weekly figures join the reports.
	// Declarations filled in with a volunteer's help become declarations
	// through the declaration service; each team's private key is sealed.
	a.door = &doortodoor.Service{DB: db, Vault: v, Declarations: a.declarations}
	rep.DoorToDoor = a.door

	// Communication and the press: material files in the database (every
	// server serves them), releases drafted from the dashboard's counts.
	a.press = &press.Service{DB: db, Dash: dash, Province: cfg.Province, BaseURL: cfg.PublicURL(), MaxUpload: cfg.PressMaxUpload, Log: log}

	// Officials' inbox: the watch job counts each kind of work per scope of
	// officials through the same count functions as the home page's task
	// list; notices go by SMS or email to the addresses officials gave for
	// meeting invitations.
	a.inbox = &inbox.Service{DB: db, Outbox: a.outbox, BaseURL: cfg.PublicURL(), DigestHour: cfg.InboxDigestHour, Log: log,
		Sources: inboxSources(a.cases, a.declarations, a.venues, cams, rep),
		Contacts: func(ctx context.Context, ids []int64) (map[int64]inbox.Contact, error) {
			cs, err := a.meetings.Contacts(ctx, ids)
			out := make(map[int64]inbox.Contact, len(cs))
			for id, c := range cs {
				out[id] = inbox.Contact{Email: c.Email, Phone: c.Phone}
			}
			return out, err
		}}

	// Data-key rotation: each owner of sealed values re-seals its own table.
	a.rotation = &vault.Rotation{DB: db, Vault: v, Log: log, Tables: []vault.Resealer{
		a.people, a.venues, a.outbox, a.declarations, a.cases, a.bluezone, a.en, cams, a.auth, a.meetings, a.door, keys}}
	if v.Rotating() {
		log.Info("data key rotation: new values are sealed with the new key, both keys open", "key_id", v.KeyID())
	}
	return a, nil
}

// startCheckins starts the check-in writer.
func (a *app) startCheckins(ctx context.Context) (*checkin.Service, error) {
	var err error
	a.checkins, err = checkin.NewService(ctx, a.db, a.people, a.vault, a.keys, a.cfg.Retention)
	return a.checkins, err
}

// webDeps is what the web server is built from, over the check-in writer.
func (a *app) webDeps(checkins *checkin.Service) web.Deps {
	return web.Deps{Config: a.cfg, DB: a.db, Auth: a.auth, People: a.people, Venues: a.venues,
		Checkins: checkins, Keys: a.keys, Outbox: a.outbox, Log: a.log, Declarations: a.declarations,
		Bluezone: a.bluezone, Exposure: a.en, Adoption: a.adoption, Cases: a.cases, Ops: a.ops, OTP: a.otp, Meetings: a.meetings, Press: a.press,
		Inbox: a.inbox, DoorToDoor: a.door, Jobs: a.stats, Rotation: a.rotation}
}

// runBackground starts the server's background work until ctx ends. Work
// every server does for itself: message delivery (the outbox claims each
// row under a lease, so servers share the queue without sending twice),
// reloading the venue-token keys other servers made or retired, and the
// Bluezone daily ID index (each server's own, built from the database every
// 10 minutes; new registrations become deltas within that time). Every
// other job runs on one server at a time, the holder of its lease
// (internal/jobs); when that server dies another takes the job over once
// the lease expires (--job-lease). Every server also takes over F2 tracing
// jobs whose server died or stopped (their own leases, in trace_jobs). The returned group ends when every
// loop has returned, so a stopping server closes the database after them.
func (a *app) runBackground(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() { a.outbox.Run(ctx, 5*time.Second) })
	wg.Go(func() { jobs.Local(ctx, "qr-keys-reload", time.Minute, a.keys.Reload, a.stats, a.log) })
	wg.Go(func() { a.cases.Jobs.Run(ctx, 5*time.Second) })
	wg.Go(func() { a.bluezone.Run(ctx, 10*time.Minute) })
	l, o := a.leases, a.ops
	every := func(name string, d time.Duration, tick func(context.Context) error, idle func()) {
		wg.Go(func() { l.Every(ctx, name, d, tick, idle) })
	}
	every("retention", time.Hour, func(ctx context.Context) error {
		return retention.Tick(ctx, a.db, a.days(), a.cfg.Retention, a.log)
	}, nil)
	// Day partitions (PostgreSQL): made at start and, by the one server
	// holding the lease, every hour for the next store.PartitionsAhead days,
	// so the ingest never waits on DDL (rows of a day without one go to the
	// DEFAULT partition, never refused).
	every("partitions", time.Hour, func(ctx context.Context) error {
		n, err := store.EnsurePartitions(ctx, a.db, time.Now())
		if n > 0 {
			a.log.Info("day partitions made", "n", n)
		}
		return err
	}, nil)
	every("en-export", 10*time.Minute, func(ctx context.Context) error {
		return a.en.Tick(ctx, func(msg string, args ...any) { a.log.Info(msg, args...) })
	}, nil)
	// The operations centre: a server not counting drops its cached figures
	// each turn, since the holder writes counts it is not told about.
	every("dashboard", 5*time.Second, o.Dashboard.Tick, o.Dashboard.Invalidate)
	every("camera-probes", 30*time.Second, o.Cameras.Tick, nil)
	every("report-reminders", 15*time.Minute, o.Reports.Tick, nil)
	every("campaigns", 10*time.Second, o.Campaigns.Tick, nil)
	every("data-key-reseal", time.Minute, a.rotation.Tick, nil)
	// Officials' inbox: notices of new work every minute, the daily digest
	// checked every five (sent once a day from --inbox-digest-hour).
	every("inbox-watch", time.Minute, a.inbox.Watch, nil)
	every("inbox-digest", 5*time.Minute, a.inbox.Digest, nil)
	if c := a.cfg; c.BackupDir != "" {
		st, err := backup.OpenStorage(c.BackupDir, backup.S3Options{Endpoint: c.BackupS3Endpoint, Region: c.BackupS3Region,
			AccessKey: c.BackupS3AccessKey, SecretKey: c.BackupS3SecretKey})
		if err != nil {
			a.log.Error("backups", "err", err)
		} else {
			wg.Go(func() {
				runBackups(ctx, a.db, c.DataDir, st, c.BackupRecipient, c.BackupEvery, c.BackupKeep, a.stats, a.log)
			})
		}
	}
	return &wg
}

// days drops whole day partitions for retention on PostgreSQL (nothing on
// SQLite, where retention deletes rows).
func (a *app) days() retention.Days { return store.DayDropper{DB: a.db} }

// inboxSources are the kinds of work the inbox watches, counted by their
// owners the way the home page's task list counts them.
func inboxSources(cs *cases.Service, decl *declaration.Service, venues *venue.Service, cams *camera.Service, rep *reports.Service) []inbox.Source {
	count := func(href string, f func(context.Context, *auth.Principal) (int, error)) func(context.Context, *auth.Principal) (int, string, error) {
		return func(ctx context.Context, p *auth.Principal) (int, string, error) {
			n, err := f(ctx, p)
			return n, href, err
		}
	}
	report := func(state string) func(context.Context, *auth.Principal) (int, string, error) {
		return func(ctx context.Context, p *auth.Principal) (int, string, error) {
			t, err := rep.Task(ctx, p)
			if err != nil || t.UnitKey == "" {
				return 0, "", err
			}
			if t.State != state {
				return 0, "", nil
			}
			return 1, "/reports/" + t.Week + "/" + t.UnitKey, nil
		}
	}
	return []inbox.Source{
		{Kind: inbox.KindWorklist, Count: count("/tracing/worklist", cs.ContactsCount)},
		{Kind: inbox.KindDeclarations, Count: count("/declarations/worklist", decl.OpenCount)},
		{Kind: inbox.KindVenues, Count: count("/venues?status=pending", venues.PendingCount)},
		{Kind: inbox.KindReportDue, Count: report(reports.Pending)},
		{Kind: inbox.KindReportLate, Count: report(reports.Missing)},
		{Kind: inbox.KindCameras, Count: count("/cameras", cams.OfflineCount)},
		{Kind: inbox.KindHandoffs, Count: count("/tracing/handoffs", func(ctx context.Context, p *auth.Principal) (int, error) {
			_, in, err := cs.HandoffCounts(ctx, p)
			return in, err
		})},
	}
}

func (a *app) close() {
	if a.checkins != nil {
		a.checkins.Close()
	}
	a.db.Close()
}
