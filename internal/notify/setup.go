package notify

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/time/rate"

	"anticovid/internal/config"
)

// Configure gives o a sender, a rate limit and a delivery-report secret for
// each channel from cfg: the SMS and OTT gateways, SMTP for email. A channel
// without a provider gets the development recorder with --demo or
// --dev-messages; otherwise it gets nothing, said loudly once here, and its
// messages stay queued (never recorded as sent, never failed) until a server
// with a provider for it delivers them.
func Configure(o *Outbox, cfg *config.Config, log *slog.Logger) error {
	o.Senders = map[string]Sender{}
	o.Limits = map[string]*rate.Limiter{}
	o.CallbackSecrets = map[string]string{}
	o.Province = cfg.Province
	burst := func(r float64) int { return max(1, int(r)) }
	for ch, g := range map[string]config.Gateway{SMS: cfg.SMS, OTT: cfg.OTT} {
		if g.URL == "" {
			continue
		}
		gw, err := NewGateway(ch, g)
		if err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		o.Senders[ch] = gw
		o.Limits[ch] = rate.NewLimiter(rate.Limit(g.Rate), burst(g.Rate))
		if g.CallbackSecret != "" {
			o.CallbackSecrets[ch] = g.CallbackSecret
		}
	}
	if cfg.SMTPURL != "" {
		m, err := ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return fmt.Errorf("configuration: --smtp-url: %w", err)
		}
		o.Senders[Email] = m
		o.Limits[Email] = rate.NewLimiter(rate.Limit(cfg.EmailRate), burst(cfg.EmailRate))
	}
	var dev *Recorder
	if cfg.Demo || cfg.DevMessages {
		dev = &Recorder{Log: log, File: filepath.Join(cfg.DataDir, "dev-messages.txt")}
	}
	setting := map[string]string{SMS: "--sms-url", OTT: "--ott-url", Email: "--smtp-url"}
	for _, ch := range []string{SMS, OTT, Email} {
		if _, ok := o.Senders[ch]; ok {
			continue
		}
		if dev != nil {
			o.Senders[ch] = dev
			log.Warn("DEVELOPMENT: messages of this channel are recorded in a file, not sent", "channel", ch, "file", dev.File)
			continue
		}
		log.Error("NO PROVIDER: this server sends no messages of this channel; they stay queued until a server with a provider for it runs",
			"channel", ch, "setting", setting[ch])
	}
	return nil
}

// appendFile adds line to a file only its owner reads.
func appendFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("recorder: %w", err)
	}
	return f.Close()
}
