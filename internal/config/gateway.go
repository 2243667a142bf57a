package config

import (
	"flag"
	"fmt"
	"net/textproto"
	"net/url"
	"strings"
)

// Gateway is one HTTP message provider's settings (--sms-* or --ott-*): where
// to post, what body to post (a template), how to authenticate, and how to
// read the answer. internal/notify builds the sender from it.
type Gateway struct {
	URL string // endpoint; empty: the channel has no provider
	// Body is a Go text/template for the request body: JSON when it starts
	// with '{', a URL-encoded form otherwise. notify documents its fields
	// and functions and refuses a template that does not escape them.
	Body      string
	Auth      string  // "Header-Name: value" sent with each request; a secret, so only ANTICOVID_<CH>_AUTH sets it
	Brand     string  // the registered brand name (SMS sender id), .Brand in the body
	Success   string  // "path=value" the JSON answer must hold besides a 2xx status (error=0, CodeResult=100); empty: any 2xx
	IDField   string  // dotted path of the provider's message id in the JSON answer, for delivery callbacks
	Templates string  // OTT: "kind=template_id,..." mapping our messages (otp, f1, exposure, campaign, report_reminder, *) to the provider's approved templates
	Rate      float64 // the most messages a second this server sends through the provider
	// CallbackSecret authenticates the provider's delivery reports (HMAC
	// signature or the secret in a header); only ANTICOVID_<CH>_CALLBACK_SECRET sets it.
	CallbackSecret string
}

// DefaultSMSBody is a plain JSON request; real gateways each want their own
// field names, set with --sms-body.
const DefaultSMSBody = `{"to":{{json .To}},"text":{{json .Text}},"id":{{json .ID}},"brand":{{json .Brand}}}`

// DefaultOTTBody is the shape of Zalo's notification service (ZNS): the
// phone in international form, an approved template id, its parameters and
// our id for tracking.
const DefaultOTTBody = `{"phone":{{json (intl .To)}},"template_id":{{json .Template}},"template_data":{{json .Params}},"tracking_id":{{json .ID}}}`

// register declares a gateway's flags under the channel's name.
func (g *Gateway) register(c *Config, fs *flag.FlagSet, ch string, def Gateway) {
	up := strings.ToUpper(ch)
	v := func(name string) string { return "ANTICOVID_" + up + "_" + name }
	fs.StringVar(&g.URL, ch+"-url", env(up+"_URL", ""), "the "+up+" gateway's endpoint; empty: no "+up+" provider ("+v("URL")+")")
	fs.StringVar(&g.Body, ch+"-body", env(up+"_BODY", def.Body), "the "+up+" request body, a Go template: JSON when it starts with {, else a form ("+v("BODY")+")")
	fs.StringVar(&g.Success, ch+"-success", env(up+"_SUCCESS", def.Success), "path=value the gateway's JSON answer holds on success, besides a 2xx status; empty: any 2xx ("+v("SUCCESS")+")")
	fs.StringVar(&g.IDField, ch+"-id-field", env(up+"_ID_FIELD", def.IDField), "dotted path of the gateway's message id in its JSON answer, for delivery reports ("+v("ID_FIELD")+")")
	fs.Float64Var(&g.Rate, ch+"-rate", c.envFloat(up+"_RATE", def.Rate), "the most "+up+" messages a second this server sends ("+v("RATE")+")")
	if ch == "sms" {
		fs.StringVar(&g.Brand, ch+"-brand", env(up+"_BRAND", ""), "the registered brand name, .Brand in the body ("+v("BRAND")+")")
	} else {
		fs.StringVar(&g.Templates, ch+"-templates", env(up+"_TEMPLATES", ""), "kind=template_id,... the provider's approved template for each message kind (otp, f1, exposure, campaign, report_reminder, * for the rest) ("+v("TEMPLATES")+")")
	}
	g.Auth = c.secret(up + "_AUTH") // secrets: environment or file only (secrets.go)
	g.CallbackSecret = c.secret(up + "_CALLBACK_SECRET")
}

// validate checks what can be checked without building the sender (notify
// checks the body template); messages name the flag and never show secrets.
func (g *Gateway) validate(ch string) []error {
	var out []error
	bad := func(format string, args ...any) { out = append(out, fmt.Errorf(format, args...)) }
	up := strings.ToUpper(ch)
	if g.URL == "" {
		if g.Auth != "" || g.CallbackSecret != "" {
			bad("ANTICOVID_%s_AUTH or ANTICOVID_%s_CALLBACK_SECRET is set but --%s-url is not", up, up, ch)
		}
		return out
	}
	if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("--%s-url: want an http(s):// URL", ch)
	}
	if strings.TrimSpace(g.Body) == "" {
		bad("--%s-body: must not be empty", ch)
	}
	if g.Auth != "" {
		name, value, ok := strings.Cut(g.Auth, ":")
		if !ok || strings.TrimSpace(value) == "" || textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)) == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			bad("ANTICOVID_%s_AUTH: want \"Header-Name: value\"", up)
		}
	}
	if g.Success != "" {
		if k, _, ok := strings.Cut(g.Success, "="); !ok || k == "" {
			bad("--%s-success %q: want path=value, e.g. error=0", ch, g.Success)
		}
	}
	if g.Templates != "" {
		for _, kv := range strings.Split(g.Templates, ",") {
			if k, v, ok := strings.Cut(kv, "="); !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
				bad("--%s-templates %q: want kind=template_id,...", ch, g.Templates)
				break
			}
		}
	}
	if g.Rate <= 0 || g.Rate > 10000 {
		bad("--%s-rate %v: want more than 0 and at most 10000 a second", ch, g.Rate)
	}
	if g.CallbackSecret != "" && len(g.CallbackSecret) < 16 {
		bad("ANTICOVID_%s_CALLBACK_SECRET: at least 16 characters", up)
	}
	return out
}
