package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"anticovid/internal/config"
	"anticovid/internal/msg"
	"anticovid/internal/store/storetest"
)

// rawGet asks path with the headers given and returns the answer with its
// body as sent (not decompressed).
func rawGet(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var assetRE = regexp.MustCompile(`(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]{10})"`)

// Pages and assets reach a slow phone compressed; the assets a page links
// carry their content hash and may be kept a year, other asset URLs an hour;
// images are not compressed twice; every compressed answer carries padding
// of a length keyed to its content (BREACH).
func TestCompressedAndCached(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	resp, body := rawGet(t, e.srv.URL+"/map", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/map: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(zr)
	if !strings.Contains(string(page), "Huyện Bến Lức") {
		t.Fatalf("decompressed map page: %.300s", page)
	}
	// gzhttp pads with 1 to 33 bytes of "Padding-Padding-…".
	if c := zr.Header.Comment; c == "" || !strings.HasPrefix(strings.Repeat("Padding-", 5), c) {
		t.Errorf("no padding in the gzip header: %q", zr.Header.Comment)
	}
	if resp, _ := rawGet(t, e.srv.URL+"/map"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("compressed for a client that did not ask: %q", resp.Header.Get("Content-Encoding"))
	}

	links := assetRE.FindAllStringSubmatch(string(page), -1)
	if len(links) < 4 {
		t.Fatalf("the map page links %d hashed assets: %.2000s", len(links), page)
	}
	for _, l := range links {
		resp, _ := rawGet(t, e.srv.URL+l[1]+"?v="+l[2], "Accept-Encoding", "gzip")
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s?v=%s: %d %q", l[1], l[2], resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if strings.HasSuffix(l[1], ".js") && resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s not compressed", l[1])
		}
		for _, other := range []string{l[1], l[1] + "?v=0000000000"} { // a stale or missing hash: an hour
			if resp, _ := rawGet(t, e.srv.URL+other); resp.Header.Get("Cache-Control") != "public, max-age=3600" {
				t.Errorf("%s: %q", other, resp.Header.Get("Cache-Control"))
			}
		}
	}
	resp, ico := rawGet(t, e.srv.URL+"/favicon.ico", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || len(ico) < 100 || !strings.Contains(resp.Header.Get("Content-Type"), "icon") {
		t.Errorf("favicon: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(ico))
	}
	if !strings.Contains(string(page), `rel="icon"`) {
		t.Error("no icon link in the layout")
	}
	// A QR image is already compressed: sent as it is.
	resp, png := rawGet(t, e.srv.URL+"/api/v1/venues/"+itoa64(e.venues["Chợ Bến Lức"])+"/qr.png", "Accept-Encoding", "gzip",
		"Authorization", "Bearer "+e.tokens["admin"])
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("QR PNG: %d %q, starts %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), png[:min(4, len(png))])
	}
}

// Unknown pages, refusals and bad input get the site's styled page in the
// reader's language alone (no "Vietnamese / English" pair); the API keeps
// its JSON.
func TestStyledErrorPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	for _, c := range []struct {
		path, lang string
		status     int
		key        string
	}{
		{"/khong-co-trang-nay", "", 404, "errs.not_found"},
		{"/khong-co-trang-nay?lang=en", "en", 404, "errs.not_found"},
		{"/static/khong-co.css/../../x", "", 404, "errs.not_found"},
	} {
		resp, b := rawGet(t, e.srv.URL+c.path)
		body := string(b)
		l, other := "vi", "en"
		if c.lang == "en" {
			l, other = "en", "vi"
		}
		if resp.StatusCode != c.status || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, msg.T(l, c.key)) || strings.Contains(body, msg.T(other, c.key)) || !strings.Contains(body, `rel="stylesheet"`) {
			t.Errorf("%s: %d %q\n%.1500s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// A commune officer opening an administrator's page: 403 in Vietnamese only.
	c := e.browser(t, "communea")
	resp, err := c.Get(e.srv.URL + "/accounts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), msg.T("vi", "errs.forbidden")) || strings.Contains(string(b), msg.T("en", "errs.forbidden")) {
		t.Errorf("403 page: %d %.1500s", resp.StatusCode, b)
	}
	resp, b = rawGet(t, e.srv.URL+"/api/v1/khong-co")
	if resp.StatusCode != 404 || !strings.HasPrefix(string(b), `{"error":{"code":"not_found"`) {
		t.Errorf("API 404: %d %s", resp.StatusCode, b)
	}
}

// The check-in page says what it stores and for how long, from the
// deployment's retention setting.
func TestCheckinPageStatesRetention(t *testing.T) {
	for _, days := range []int{21, 14} {
		e := newEnvConfig(t, storetest.SQLite(t), func(c *config.Config) { c.Retention = time.Duration(days) * 24 * time.Hour })
		tok := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
		for _, l := range []string{"vi", "en"} {
			_, b := rawGet(t, e.srv.URL+"/c/"+tok+"?lang="+l)
			want := msg.T(l, "checkin.privacy", days)
			if !strings.Contains(string(b), want) || !strings.Contains(want, strconv.Itoa(days)) {
				t.Errorf("%d days, %s: the page does not say %q", days, l, want)
			}
		}
	}
}

// The public map on a phone over Chromium's "Slow 3G" (2 s latency,
// 50 KB/s): the lists and the chart are in the first answer (so its first
// paint shows them), the district names do not stay on the map, and the
// whole first view weighs under 150 KB as sent. The times are logged, not
// asserted (the machine is shared and noisy).
func TestBrowserPublicMapSlow3G(t *testing.T) {
	e := newOpsEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 360, 740)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Latency: 2000, DownloadThroughput: 50000, UploadThroughput: 50000}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/map"), chromedp.WaitVisible(`.leaflet-interactive`), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	drawn := time.Since(start)
	// The lists come in the first answer, so its first paint shows them.
	readable := evalJS(t, ctx, `String(Math.round(performance.getEntriesByType("paint").filter(function (e) { return e.name === "first-contentful-paint"; })[0].startTime))`)
	viewport(t, ctx, "public-map-phone")
	screenshot(t, ctx, "public-map-phone-full")
	total, err := strconv.Atoi(evalJS(t, ctx, `String(performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).reduce(function (n, e) { return n + e.transferSize; }, 0))`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("public map on Slow 3G at 360×740: first paint with the lists after %s ms, map drawn after %v, %d bytes transferred", readable, drawn.Round(10*time.Millisecond), total)
	if total <= 0 || total > 150_000 {
		t.Errorf("first view transferred %d bytes (budget 150,000)", total)
	}
	if n := evalJS(t, ctx, `String(document.querySelectorAll(".leaflet-tooltip.dlabel").length)`); n != "0" {
		t.Errorf("%s district labels stay on a phone's map", n)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "Huyện Bến Lức") || !strings.Contains(body, "Chợ Bến Lức") {
		t.Errorf("public map lists: %.500s", body)
	}
	if n := evalJS(t, ctx, `String(document.querySelectorAll("svg#cases rect").length)`); n == "0" {
		t.Error("no bars in the cases chart")
	}
}
