package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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

// openOps wires the operations centre over the app's database, vault and
// outbox, with the operations settings of the config (--smtp-url,
// --report-email, --camera-allow-local, --map-tiles, ...). With an SMTP URL,
// email (reminders included) goes through that server instead of the
// development recorder.
func openOps(a *app) (*web.Ops, error) {
	set := a.cfg
	dash := dashboard.New(a.db, a.cfg.Province, a.log)
	dash.Threshold = set.PublicThreshold
	dash.Hourly = append(dash.Hourly, dashboard.DeclarationSource{DB: a.db}, dashboard.CaseSource{DB: a.db})
	dash.Gauges = append(dash.Gauges, dashboard.QuarantineGauges{DB: a.db}, dashboard.BluezoneGauges{DB: a.db})
	dash.Places = dashboard.ExposureSource{DB: a.db}
	cams := &camera.Service{DB: a.db, Vault: a.vault, Guard: &camera.Guard{AllowLocal: set.CameraAllowLocal, AllowLinkLocal: set.CameraAllowLinkLocal}, Log: a.log}
	dash.Zones = cams
	rep := &reports.Service{DB: a.db, Province: a.cfg.Province, Live: dash, Outbox: a.outbox, ProvinceEmail: set.ReportEmail, Log: a.log}
	if set.SMTPURL != "" {
		m, err := reports.ParseSMTPURL(set.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		rep.Mailer = m
		if a.outbox != nil {
			a.outbox.Senders[notify.Email] = m
		}
	}
	return &web.Ops{Dashboard: dash, Reports: rep, Cameras: cams,
		Campaigns: &campaign.Service{DB: a.db, Vault: a.vault, Outbox: a.outbox, BaseURL: a.cfg.PublicURL(), MaxRate: set.CampaignMaxRate, Log: a.log},
		MapTiles:  set.MapTiles, MapAttribution: set.MapAttribution}, nil
}
