package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/reports"
	"anticovid/internal/venue"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

var hcm = time.FixedZone("ICT", 7*3600)

// assetHashes maps each static file (path under static/) to a short hash of
// its content: pages link to /static/FILE?v=HASH (assetURL), which a phone
// may cache for a year since a new build changes the URL.
var assetHashes = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:5])
		return nil
	})
	return m
}()

// assetURL is the cacheable URL of a static file; a name that is not one
// fails the page (every page is rendered by the tests), so a typo shows.
func assetURL(name string) (string, error) {
	h, ok := assetHashes[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + h, nil
}

// templateFuncs are the functions every page template may call.
var templateFuncs = template.FuncMap{
	"unitName": func(code string) string {
		u, ok := geo.Get(code)
		if !ok {
			return code
		}
		return u.Name
	},
	"localTime": func(t time.Time) string { return t.In(hcm).Format("15:04 02/01/2006") },
	// localDay shows a stored day ("2006-01-02") as people write it.
	"localDay": func(day string) string {
		if t, err := time.Parse("2006-01-02", day); err == nil {
			return t.Format("02/01/2006")
		}
		return day
	},
	"number": formatNumber,
	// minutes is the whole minutes from a to b, as contacts' overlaps are.
	"minutes":  func(a, b time.Time) int64 { return int64(b.Sub(a) / time.Minute) },
	"number64": n64,
	"asset":    assetURL,
}

func loadPages() *pages {
	names, _ := fs.Glob(templateFS, "templates/*.html")
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		p.sets[name] = template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return p
}

// view is what every template receives.
type view struct {
	Lang     string
	Province string // the deployment's province name, e.g. Tỉnh Long An
	User     *auth.Principal
	Path     string
	Nav      []navItem // the reader's menu
	// Unread is the bell's count of the reader's unread notices; -1: no
	// bell (a visitor, a venue manager, no inbox on this server).
	Unread int
	Title  string
	Data   any
}

// T translates a message key into the view's language.
func (v view) T(key string) string { return msg.T(v.Lang, key) }

// L narrows a message made in both languages (msg.Both: errors from the
// domain packages, recorded purposes) to the view's; other text is kept.
func (v view) L(s string) string { return msg.Local(v.Lang, s) }

// Tf is T with the text's arguments.
func (v view) Tf(key string, args ...any) string { return msg.T(v.Lang, key, args...) }

// Week names an ISO week ("2026-W50") as people say it: "Tuần 50
// (07/12–13/12/2026)"; anything else is kept as it is.
func (v view) Week(iso string) string {
	w, err := reports.ParseWeek(iso)
	if err != nil {
		return iso
	}
	mon := w.Monday()
	return msg.T(v.Lang, "ops.week.name", w.Num, mon.Format("02/01"), mon.AddDate(0, 0, 6).Format("02/01/2006"))
}

// Other is the language the switch offers.
func (v view) Other() string {
	if v.Lang == "en" {
		return "vi"
	}
	return "en"
}

// lang picks the language and remembers a ?lang= choice in a cookie.
func lang(w http.ResponseWriter, r *http.Request) string {
	l := langOf(r)
	if q := r.URL.Query().Get("lang"); q == l {
		http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", MaxAge: 365 * 86400, SameSite: http.SameSiteLaxMode})
	}
	return l
}

// langOf is the request's language: ?lang=, else the cookie, else Vietnamese.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "vi" || l == "en" {
		return l
	}
	if c, err := r.Cookie("lang"); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

// render writes a page; it renders into a buffer first so a template error
// never leaves half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	prov, _ := geo.Get(s.Config.Province)
	v := view{Lang: lang(w, r), Province: prov.Name, User: auth.From(r.Context()), Path: r.URL.Path, Data: data}
	v.Nav = s.nav(v.User)
	v.Unread = s.unread(r.Context(), v.User)
	var buf bytes.Buffer
	if err := s.pages.sets[name].Execute(&buf, v); err != nil {
		s.log.Error("template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// formatNumber writes an integer the Vietnamese way: 1.234.567.
func formatNumber(n int) string {
	digits := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var out []byte
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			out = append(out, '.')
		}
		out = append(out, digits[i])
	}
	return sign + string(out)
}

// n64 writes an int64 the Vietnamese way.
func n64(n int64) string { return formatNumber(int(n)) }

// pctVN writes a percentage with a decimal comma.
func pctVN(p float64) string { return strings.Replace(strconv.FormatFloat(p, 'f', 1, 64), ".", ",", 1) }

func percent(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', 1, 64), ".", ",", 1) + "%"
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func categoryName(lang string) func(string) string {
	return func(code string) string {
		c, ok := venue.CategoryOf(code)
		if !ok {
			return code
		}
		if lang == "en" {
			return c.NameEN
		}
		return c.Name
	}
}

// unitDisplayName is a unit's name, or its code when unknown.
func unitDisplayName(code string) string {
	if u, ok := geo.Get(code); ok {
		return u.Name
	}
	return code
}
