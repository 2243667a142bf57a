package web

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"anticovid/internal/cases"
	"anticovid/internal/msg"
	"anticovid/internal/store/storetest"
	"anticovid/internal/tracing"
)

// TestCasesPages: the tracer's pages render, in Vietnamese, within jurisdiction.
func TestCasesPages(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	f := newTraceFixture(t, e)
	c := e.browser(t, "tracera")
	code, body := get(t, c, e.srv.URL+"/cases")
	if code != 200 || !strings.Contains(body, `href="/cases">Truy vết</a>`) || !strings.Contains(body, "Xác nhận ca bệnh") {
		t.Fatalf("cases page: %d", code)
	}
	// The form: an error is shown next to its field, then a good submit redirects.
	resp, err := c.PostForm(e.srv.URL+"/cases", url.Values{"phone": {"0977777777"}, "status": {"F0"}, "sample_date": {day(f.now, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "Không tìm thấy người này") || !strings.Contains(string(b), `value="0977777777"`) {
		t.Fatalf("bad form: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(e.srv.URL+"/cases", url.Values{"phone": {"0911000001"}, "status": {"F0"}, "sample_date": {day(f.now, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/cases/") {
		t.Fatalf("after submit: %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{"Nguyễn Văn Tâm", "Trần Thị Hạnh", "0911000002", "Ngoài địa bàn: không hiện thông tin", "Chợ Bến Lức", "Mở rộng F2", "Lịch sử trạng thái"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	if strings.Contains(page, "Lê Văn Khánh") || strings.Contains(page, "0911000003") {
		t.Error("case page shows a contact outside the tracer's commune")
	}
	caseURL := resp.Request.URL.String()
	for _, p := range []string{"/tracing/worklist", "/cases/import", "/tracing/rules", strings.TrimPrefix(caseURL, e.srv.URL) + "/chain"} {
		if code, body := get(t, c, e.srv.URL+p); code != 200 || !strings.Contains(body, "Truy vết") && !strings.Contains(body, "<svg") {
			t.Errorf("%s: %d", p, code)
		}
	}
	if _, body := get(t, c, caseURL+"/chain"); !strings.Contains(body, "<svg") || !strings.Contains(body, "F0") {
		t.Error("chain page lacks its drawing")
	}
	// Others: no nav link, and the page is refused.
	m := e.browser(t, "managera")
	if code, body := get(t, m, e.srv.URL+"/cases"); code != 403 || strings.Contains(body, `href="/cases"`) {
		t.Errorf("venue manager: %d", code)
	}
	if code, _ := get(t, m, caseURL); code != 403 {
		t.Errorf("venue manager on a case: %d", code)
	}
}

// TestBrowserTracer: a tracer confirms an F0 on a phone-sized screen, sees
// the contacts at once, records a call outcome and exports the XLSX.
func TestBrowserTracer(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	f := newTraceFixture(t, e)
	ctx := newBrowser(t, 412, 915)
	dir := t.TempDir()
	shots := os.Getenv("ANTICOVID_SCREENSHOTS")
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/cases"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "tracera"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`#case-search`),
		// The list comes first; registering opens its fold.
		chromedp.Click(`#register summary`),
		chromedp.WaitVisible(`#confirm`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-cases")
	if h := text(t, ctx, "h1"); h != "Truy vết · Ca bệnh" {
		t.Fatalf("heading %q", h)
	}
	sample := f.now.In(hcm).AddDate(0, 0, -1)
	start := time.Now()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#confirm input[name=phone]`, "0911000001"),
		chromedp.SetValue(`#confirm input[name=sample_date]`, sample.Format("2006-01-02")),
		chromedp.Click(`#confirm button[type=submit]`),
		chromedp.WaitVisible(`#contacts-table`),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("confirm → contacts shown in %v", time.Since(start).Round(time.Millisecond))
	screenshot(t, ctx, "tracer-case")
	contacts := text(t, ctx, "#contacts")
	if !strings.Contains(contacts, "Trần Thị Hạnh") || !strings.Contains(contacts, "0911000002") || !strings.Contains(contacts, "45 phút") ||
		!strings.Contains(contacts, "Ngoài địa bàn") || strings.Contains(contacts, "Lê Văn Khánh") {
		t.Fatalf("contacts section: %s", contacts)
	}
	// The worklist: record that Hạnh is quarantined at home.
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/tracing/worklist"),
		chromedp.WaitVisible(`#worklist`),
		chromedp.SetValue(`#worklist form.call select[name=outcome]`, "quarantined_home"),
		chromedp.SendKeys(`#worklist form.call input[name=note]`, "Đã dán thông báo cách ly"),
		chromedp.Click(`#worklist form.call button`),
		chromedp.WaitVisible(`p.ok`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-worklist")
	if row := text(t, ctx, "#worklist tbody tr"); !strings.Contains(row, "Cách ly tại nhà (1)") {
		t.Fatalf("worklist row after the call: %s", row)
	}
	var outcome string
	e.db.R.QueryRow("SELECT outcome FROM contacts WHERE person_id = $1", f.people["0911000002"]).Scan(&outcome)
	if outcome != "quarantined_home" {
		t.Fatalf("stored outcome %q", outcome)
	}
	// Export the worklist as XLSX, with a purpose.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#export input[name=purpose]`, "Gửi Trạm Y tế xã để theo dõi"),
		chromedp.Click(`#export button`),
	)
	if err != nil {
		t.Fatal(err)
	}
	var file string
	for i := 0; i < 100 && file == ""; i++ {
		time.Sleep(100 * time.Millisecond)
		m, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
		if len(m) == 1 {
			file = m[0]
		}
	}
	if file == "" {
		t.Fatal("no XLSX downloaded")
	}
	data, _ := os.ReadFile(file)
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Danh sách")
	x.Close()
	all := fmt.Sprint(rows)
	if !strings.Contains(all, "Trần Thị Hạnh") || !strings.Contains(all, "Cách ly tại nhà") || !strings.Contains(all, "Gửi Trạm Y tế xã để theo dõi") || strings.Contains(all, "Lê Văn Khánh") {
		t.Fatalf("XLSX rows: %s", all)
	}
	if filepath.Base(file) != "theo-doi-27991.xlsx" {
		t.Errorf("file name %s", filepath.Base(file))
	}
	if shots != "" {
		os.WriteFile(filepath.Join(shots, "tracer-export.xlsx"), data, 0o644)
	}
	// Hạnh tests positive: her case links to Tâm's, and the chain page draws both.
	code, body := e.do("POST", "/api/v1/cases", "tracera", map[string]any{"person": map[string]string{"phone": "0911000002"}, "status": "F0", "sample_date": day(f.now, 0)})
	if code != 201 || !strings.Contains(body, `"source_case_id":1`) {
		t.Fatalf("second case: %d %s", code, body)
	}
	err = chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/cases"), chromedp.Click(`table.list a`), chromedp.WaitVisible(`#contacts`),
		chromedp.Click(`a[href$="/chain"]`), chromedp.WaitVisible(`.chain svg`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-chain")
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".chain g.node").length + 10 * document.querySelectorAll(".chain line").length`))
	if err != nil || nodes != 12 {
		t.Fatalf("chain drawing: %d (nodes + 10 × edges), want 2 nodes and 1 edge: %v", nodes, err)
	}
	// The rules page: read-only for a tracer.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/tracing/rules"), chromedp.WaitVisible(`#rules`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracer-rules")
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#rules fieldset").disabled`)); err != nil || !disabled {
		t.Fatalf("a tracer may edit the rules form: %v %v", disabled, err)
	}
	if _, err := http.Get(e.srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	}
}

// TestCasesMessages: every text of the tracing pages has a Vietnamese and
// an English message, including the keys built from statuses and outcomes.
func TestCasesMessages(t *testing.T) {
	re := regexp.MustCompile(`T "([a-z_.0-9]+)"`)
	var keys []string
	for _, pattern := range []string{"templates/cases*.html", "templates/tracing*.html", "templates/chain.html"} {
		names, _ := fs.Glob(templateFS, pattern)
		for _, n := range names {
			b, _ := templateFS.ReadFile(n)
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				keys = append(keys, m[1])
			}
		}
	}
	for _, s := range cases.Statuses {
		keys = append(keys, "case."+s)
	}
	for _, o := range append(cases.Outcomes, "", "confirmed_f0") {
		keys = append(keys, "outcome."+o)
	}
	for _, j := range []string{tracing.JobQueued, tracing.JobRunning, tracing.JobDone, tracing.JobFailed} {
		keys = append(keys, "job."+j)
	}
	for _, r := range []string{cases.RowNew, cases.RowExisting, cases.RowDuplicate, cases.RowAlready, cases.RowPossible, cases.RowInvalid, "created"} {
		keys = append(keys, "row."+r)
	}
	keys = append(keys, "work.open", "work.overdue", "work.closed", "work.all", "cases.isolation.home", "cases.isolation.facility")
	if len(keys) < 100 {
		t.Fatalf("only %d keys found: the templates moved?", len(keys))
	}
	for _, k := range keys {
		m, ok := msg.Lookup(k)
		if !ok || m[0] == "" || m[1] == "" {
			t.Errorf("message %q missing or empty", k)
		}
	}
}
