package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/dashboard"
	"anticovid/internal/notify"
	"anticovid/internal/reports"
	"anticovid/internal/web"
)

func init() {
	register("reports deadline", "print a week's report deadline in RFC 3339 (--week 2021-W30; default this week)", reportsDeadline)
}

// reportsDeadline prints one line: Friday 13:00 Asia/Ho_Chi_Minh of the week.
func reportsDeadline(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("anticovid reports deadline", flag.ContinueOnError)
	week := fs.String("week", "", "ISO week, YYYY-Www (e.g. 2021-W30); default: the week being reported now")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w := reports.Current(time.Now())
	if *week != "" {
		var err error
		if w, err = reports.ParseWeek(*week); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, w.Deadline().Format(time.RFC3339))
	return nil
}

// opsSettings are the operations centre's settings. They come from the
// environment only (the SMTP URL holds a password):
//
//	ANTICOVID_SMTP_URL            smtp://user:pass@host:587?from=addr (or smtps://…:465; &tls=none for a local relay)
//	ANTICOVID_REPORT_EMAIL        the province's address for the consolidated weekly report
//	ANTICOVID_CAMERA_ALLOW_LOCAL  1: cameras may be on loopback or this host's own addresses
//	ANTICOVID_CAMERA_ALLOW_LINK_LOCAL 1: cameras may be on link-local addresses (169.254/16, fe80::/10)
//	ANTICOVID_MAP_TILES           a tile URL template for the public map ({z}/{x}/{y}); default none
//	ANTICOVID_MAP_ATTRIBUTION     the tiles' attribution text
//	ANTICOVID_PUBLIC_THRESHOLD    public counts below it show as "< N" (default 3)
//	ANTICOVID_CAMPAIGN_MAX_RATE   the most messages a minute a campaign may send (default 6000)
type opsSettings struct {
	smtpURL, reportEmail, tiles, attribution string
	allowLocal, allowLinkLocal               bool
	threshold, maxRate                       int
}

func opsFromEnv() (opsSettings, error) {
	s := opsSettings{smtpURL: os.Getenv("ANTICOVID_SMTP_URL"), reportEmail: os.Getenv("ANTICOVID_REPORT_EMAIL"),
		tiles: os.Getenv("ANTICOVID_MAP_TILES"), attribution: os.Getenv("ANTICOVID_MAP_ATTRIBUTION"), threshold: 3, maxRate: 6000}
	s.allowLocal, _ = strconv.ParseBool(os.Getenv("ANTICOVID_CAMERA_ALLOW_LOCAL"))
	s.allowLinkLocal, _ = strconv.ParseBool(os.Getenv("ANTICOVID_CAMERA_ALLOW_LINK_LOCAL"))
	for _, v := range []struct {
		name string
		dst  *int
		min  int
	}{{"ANTICOVID_PUBLIC_THRESHOLD", &s.threshold, 1}, {"ANTICOVID_CAMPAIGN_MAX_RATE", &s.maxRate, 1}} {
		if raw := os.Getenv(v.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil || n < v.min {
				return s, fmt.Errorf("%s=%q: want a whole number ≥ %d", v.name, raw, v.min)
			}
			*v.dst = n
		}
	}
	if s.tiles != "" && !strings.HasPrefix(s.tiles, "https://") && !strings.HasPrefix(s.tiles, "http://") {
		return s, fmt.Errorf("ANTICOVID_MAP_TILES=%q: want an http(s) URL template", s.tiles)
	}
	return s, nil
}

// openOps wires the operations centre over the app's database, vault and
// outbox. With ANTICOVID_SMTP_URL set, email (reminders included) goes
// through that server instead of the development recorder.
func openOps(a *app) (*web.Ops, error) {
	set, err := opsFromEnv()
	if err != nil {
		return nil, err
	}
	dash := dashboard.New(a.db, a.cfg.Province, a.log)
	dash.Threshold = set.threshold
	dash.Hourly = append(dash.Hourly, dashboard.DeclarationSource{DB: a.db}, dashboard.CaseSource{DB: a.db})
	dash.Gauges = append(dash.Gauges, dashboard.QuarantineGauges{DB: a.db}, dashboard.BluezoneGauges{DB: a.db})
	dash.Places = dashboard.ExposureSource{DB: a.db}
	cams := &camera.Service{DB: a.db, Vault: a.vault, Guard: &camera.Guard{AllowLocal: set.allowLocal, AllowLinkLocal: set.allowLinkLocal}, Log: a.log}
	dash.Zones = cams
	rep := &reports.Service{DB: a.db, Province: a.cfg.Province, Live: dash, Outbox: a.outbox, ProvinceEmail: set.reportEmail, Log: a.log}
	if set.smtpURL != "" {
		m, err := reports.ParseSMTPURL(set.smtpURL)
		if err != nil {
			return nil, fmt.Errorf("ANTICOVID_SMTP_URL: %w", err)
		}
		rep.Mailer = m
		if a.outbox != nil {
			a.outbox.Senders[notify.Email] = m
		}
	}
	return &web.Ops{Dashboard: dash, Reports: rep, Cameras: cams,
		Campaigns: &campaign.Service{DB: a.db, Vault: a.vault, Outbox: a.outbox, BaseURL: a.cfg.PublicURL(), MaxRate: set.maxRate, Log: a.log},
		MapTiles:  set.tiles, MapAttribution: set.attribution}, nil
}
