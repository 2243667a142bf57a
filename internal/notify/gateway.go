package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"anticovid/internal/config"
)

// Gateway is the HTTP adapter for SMS and OTT providers: it renders the
// request body from a template, adds one authentication header, posts, and
// reads the answer with a success rule. Vietnamese brand-name SMS gateways
// and Zalo's notification service (ZNS) differ only in those four things.
type Gateway struct {
	Channel   string
	URL       string
	Brand     string
	Client    *http.Client // nil: 15 s timeout
	body      *template.Template
	form      bool
	authName  string
	authValue string
	okPath    []string // success rule: the JSON answer's value at okPath equals okValue
	okValue   string
	idPath    []string          // the provider's message id in the answer
	templates map[string]string // OTT: message kind → provider template id
}

// Fields is what a body template sees.
type Fields struct {
	To       string            // the recipient's phone as stored, 0912345678 (intl gives 84912345678)
	Text     string            // the message text
	ID       string            // our message reference: the same across retries, new for each re-send; providers that dedup by a client id should get it
	Brand    string            // --sms-brand
	Template string            // OTT: the provider's template id for this message's kind
	Params   map[string]string // OTT: the template's parameters ({"text": Text} when the message has none)
	Subject  string
}

// templateFuncs escape values for the two body kinds and convert phones.
var templateFuncs = template.FuncMap{
	// json writes any value as JSON: a quoted, escaped string for text.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"query": url.QueryEscape,
	// intl turns a national number (0912345678) into the international form
	// without '+' (84912345678) that ZNS and many gateways want.
	"intl": func(phone string) string {
		if strings.HasPrefix(phone, "0") {
			return "84" + phone[1:]
		}
		return strings.TrimPrefix(phone, "+")
	},
}

// NewGateway builds channel's sender from its settings. The body template is
// tried once with values full of quotes, ampersands and newlines: one that
// would let a message break out of its JSON string or form field (a value
// placed without json or query) is refused here, at start.
func NewGateway(channel string, g config.Gateway) (*Gateway, error) {
	flag := "--" + channel + "-body"
	t, err := template.New(channel).Funcs(templateFuncs).Option("missingkey=error").Parse(g.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	gw := &Gateway{Channel: channel, URL: g.URL, Brand: g.Brand, body: t, form: !strings.HasPrefix(strings.TrimSpace(g.Body), "{")}
	if name, value, ok := strings.Cut(g.Auth, ":"); ok {
		gw.authName, gw.authValue = strings.TrimSpace(name), strings.TrimSpace(value)
	}
	if k, v, ok := strings.Cut(g.Success, "="); ok {
		gw.okPath, gw.okValue = strings.Split(k, "."), v
	}
	if g.IDField != "" {
		gw.idPath = strings.Split(g.IDField, ".")
	}
	if g.Templates != "" {
		gw.templates = map[string]string{}
		for _, kv := range strings.Split(g.Templates, ",") {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if k != "*" && !slices.Contains(Kinds, k) {
				return nil, fmt.Errorf("--%s-templates: %q is not a kind of message (%s, or * for the rest)", channel, k, strings.Join(Kinds, ", "))
			}
			gw.templates[k] = strings.TrimSpace(v)
		}
	}
	if err := gw.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return gw, nil
}

// check renders the template with hostile values and parses the result.
// A message's parameters are whatever its sender gave, so every name the
// template mentions (.Params.name, index .Params "name", .name inside
// with .Params) is filled with a hostile value: a template that works for a
// message carrying those parameters passes, and one that places any of them
// unescaped fails. Unknown fields of Fields still fail (missingkey=error
// covers map keys only).
func (g *Gateway) check() error {
	const evil = "x\"&injected=1\n"
	params := map[string]string{"text": evil}
	for _, name := range names(g.body) {
		params[name] = evil
	}
	f := Fields{To: "0912345678" + evil, Text: "Mã " + evil, ID: "7" + evil, Brand: "B" + evil, Template: "T" + evil,
		Params: params, Subject: evil}
	out, err := g.render(f)
	if err != nil {
		return err
	}
	if g.form {
		q, err := url.ParseQuery(string(out))
		if err != nil || q.Has("injected") {
			return errors.New("a form body must put each value through query, e.g. to={{query .To}}&text={{query .Text}}")
		}
		return nil
	}
	if !json.Valid(out) {
		return errors.New(`a JSON body must put each value through json, e.g. {"to":{{json .To}},"text":{{json .Text}}}`)
	}
	return nil
}

// names lists every field name and string constant in t's templates: the
// parameter names it may look up.
func names(t *template.Template) []string {
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
			out = append(out, n.Field...)
		case *parse.FieldNode:
			out = append(out, n.Ident...)
		case *parse.VariableNode:
			out = append(out, n.Ident[1:]...)
		case *parse.StringNode:
			out = append(out, n.Text)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root)
		}
	}
	return out
}

func (g *Gateway) render(f Fields) ([]byte, error) {
	var b bytes.Buffer
	if err := g.body.Execute(&b, f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Send implements Sender.
func (g *Gateway) Send(ctx context.Context, m Message) error {
	_, err := g.SendRef(ctx, m)
	return err
}

// SendRef posts m and returns the provider's message id when its answer
// holds one (--<ch>-id-field). Errors never quote the request or answer
// bodies, which hold the recipient and the text: only statuses and the
// success field's value. A 4xx answer (other than 408 and 429) is permanent.
func (g *Gateway) SendRef(ctx context.Context, m Message) (string, error) {
	f := Fields{To: m.To, Text: m.Body, ID: m.Ref, Brand: g.Brand, Subject: m.Subject, Params: m.Params}
	if f.Params == nil {
		f.Params = map[string]string{"text": m.Body}
	}
	if g.templates != nil {
		kind := m.Kind
		var ok bool
		if f.Template, ok = g.templates[kind]; !ok {
			if f.Template, ok = g.templates["*"]; !ok {
				return "", Permanent(fmt.Errorf("no %s template for messages of kind %q (--%s-templates)", g.Channel, kind, g.Channel))
			}
		}
	}
	body, err := g.render(f)
	if err != nil {
		return "", Permanent(fmt.Errorf("%s body template: %w", g.Channel, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return "", Permanent(fmt.Errorf("%s gateway request: %w", g.Channel, err))
	}
	if g.form {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	if g.authName != "" {
		req.Header.Set(g.authName, g.authValue)
	}
	c := g.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text would repeat the URL, which may carry a key
			if ue.Timeout() {
				return "", fmt.Errorf("%s gateway: no answer in time", g.Channel)
			}
			return "", fmt.Errorf("%s gateway: %w", g.Channel, ue.Err)
		}
		return "", fmt.Errorf("%s gateway: %w", g.Channel, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("%s gateway answered %s", g.Channel, resp.Status)
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return "", Permanent(err)
		}
		return "", err
	}
	if g.okPath == nil && g.idPath == nil {
		return "", nil
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return "", fmt.Errorf("%s gateway answered %s without JSON", g.Channel, resp.Status)
	}
	if g.okPath != nil {
		if got, _ := lookupPath(doc, g.okPath); got != g.okValue {
			return "", fmt.Errorf("%s gateway answered %s=%q, not %q", g.Channel, strings.Join(g.okPath, "."), clip(got, 40), g.okValue)
		}
	}
	id, _ := lookupPath(doc, g.idPath)
	return clip(id, 200), nil
}

// lookupPath follows a dotted path through decoded JSON and returns the
// leaf as text (numbers as written, true/false, null).
func lookupPath(doc any, path []string) (string, bool) {
	if path == nil {
		return "", false
	}
	for _, k := range path {
		obj, ok := doc.(map[string]any)
		if !ok {
			return "", false
		}
		if doc, ok = obj[k]; !ok {
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return fmt.Sprint(v), true
	case nil:
		return "null", true
	}
	return "", false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
