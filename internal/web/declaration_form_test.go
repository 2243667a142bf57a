package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"anticovid/internal/declaration"
	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// formValues is a complete form as a browser without JavaScript posts it.
func formValues(id string) url.Values {
	v := url.Values{"id": {id}, "kind": {"resident"}, "name": {"Nguyễn Văn An"}, "birth_year": {"1985"}, "sex": {"male"},
		"nationality": {"Việt Nam"}, "id_number": {"079085001234"}, "phone": {"0912 345 678"}, "province_code": {"80"},
		"district_code": {"803"}, "commune_code": {"27991"}, "street": {"123 Hùng Vương"}, "places": {"TP. Hồ Chí Minh"},
		"contact_case": {"no"}, "animal_market": {"no"}, "vaccine_doses": {"2"}, "confirm": {"1"}}
	for _, s := range declaration.Symptoms {
		v.Set("symptom_"+s.Code, "no")
	}
	return v
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDeclarationForm drives the form as a phone without JavaScript does.
func TestDeclarationForm(t *testing.T) {
	e, _ := declEnv(t, storetest.SQLite(t), 0)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	code, page := get(t, c, e.srv.URL+"/khai-bao")
	for _, want := range []string{"Khai báo y tế điện tử", "Họ và tên", "Khó thở", "Xuất huyết ngoài da", "Nổi ban ngoài da",
		"Buồn nôn, nôn", "Tiêu chảy", "chợ buôn bán động vật sống", "Số mũi vắc xin", "Huyện Bến Lức", "Thị trấn Bến Lức",
		`<option value="80" selected>`, "Thông tin di chuyển", `name="id" value="`} {
		if !strings.Contains(page, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if code != 200 {
		t.Fatalf("form: %d", code)
	}
	if code, page := get(t, c, e.srv.URL+"/declare?lang=en"); code != 200 || !strings.Contains(page, "Electronic health declaration") ||
		!strings.Contains(page, "Shortness of breath") || strings.Contains(page, "Khó thở") {
		t.Errorf("English form: %d", code)
	}
	get(t, c, e.srv.URL+"/khai-bao?lang=vi")

	// Errors come back beside their fields, with everything typed kept.
	bad := formValues("11111111-2222-4333-8444-555555555555")
	bad.Set("phone", "09123")
	bad.Set("birth_year", "19a5")
	bad.Del("symptom_rash")
	bad.Del("confirm")
	bad.Set("commune_code", "27685") // Tân An, not in district 803
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", bad)
	if code != 400 {
		t.Fatalf("bad form: %d", code)
	}
	for _, want := range []string{`id="phone-error">Số điện thoại không hợp lệ`, `value="09123"`, `value="19a5"`, `id="birth_year-error">Năm sinh từ`,
		"Hãy chọn Có hoặc Không", "Hãy đánh dấu cam kết", "Xã/phường không thuộc quận/huyện đã chọn", `value="Nguyễn Văn An"`,
		`value="123 Hùng Vương"`, ">TP. Hồ Chí Minh</textarea>", `name="symptom_fever" value="no" aria-label="Sốt: Không" checked`,
		`name="id" value="11111111-2222-4333-8444-555555555555"`} {
		if !strings.Contains(page, want) {
			t.Errorf("rejected form lacks %q", want)
		}
	}
	if n := count(t, e.db, "declarations"); n != 0 {
		t.Fatalf("rejected form stored %d declarations", n)
	}

	// Without JavaScript, a new province is listed after a refresh submit.
	refresh := formValues("")
	refresh.Set("province_code", "01")
	refresh.Set("refresh", "province")
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", refresh)
	if code != 200 || !strings.Contains(page, "Quận Ba Đình") || strings.Contains(page, "Huyện Bến Lức") || strings.Contains(page, "field-error") {
		t.Errorf("refresh: %d", code)
	}

	// A good form from a device that has not proved the phone: kept, no QR,
	// the proof step instead (a code to the phone stored for the person).
	code, page = postForm(t, c, e.srv.URL+"/khai-bao", formValues("22222222-2222-4333-8444-555555555555"))
	if code != 202 || !strings.Contains(page, "Xác minh số điện thoại") || strings.Contains(page, `src="data:image/svg`) {
		t.Fatalf("unproven result: %d\n%s", code, page)
	}
	pending := regexp.MustCompile(`name="pending" value="([^"]+)"`).FindStringSubmatch(page)
	if pending == nil {
		t.Fatal("no proof handle on the page")
	}
	e.otp.Reveal = true // demo mode: the page shows the code it sent
	code, page = postForm(t, c, e.srv.URL+"/khai-bao/xac-minh", url.Values{"pending": {pending[1]}, "action": {"send"}})
	demo := regexp.MustCompile(`mã là ([0-9]{6})`).FindStringSubmatch(page)
	if code != 200 || demo == nil {
		t.Fatalf("send code: %d\n%s", code, page)
	}
	if code, _ := postForm(t, c, e.srv.URL+"/khai-bao/xac-minh", url.Values{"pending": {pending[1]}, "action": {"check"}, "code": {"000000"}}); code != 400 && demo[1] != "000000" {
		t.Errorf("wrong code: %d", code)
	}
	// The right code proves this device: the QR page, with the name and an inline QR.
	code, page = postForm(t, c, e.srv.URL+"/khai-bao/xac-minh", url.Values{"pending": {pending[1]}, "action": {"check"}, "code": {demo[1]}})
	if code != 200 || !strings.Contains(page, "Đã gửi tờ khai y tế thành công") || !strings.Contains(page, "Nguyễn Văn An") ||
		!strings.Contains(page, `src="data:image/svg`) || !strings.Contains(page, "Hiệu lực đến") {
		t.Fatalf("result: %d\n%s", code, page)
	}
	// The same form posted twice (a double tap) records once.
	postForm(t, c, e.srv.URL+"/khai-bao", formValues("22222222-2222-4333-8444-555555555555"))
	if n := count(t, e.db, "declarations"); n != 1 {
		t.Errorf("%d declarations after a double submit", n)
	}
	// The phone remembers its QR.
	if _, page := get(t, c, e.srv.URL+"/khai-bao"); !strings.Contains(page, "Xem mã QR cá nhân của bạn") {
		t.Error("the form does not offer the remembered QR")
	}
	// A flagged declaration tells the person what happens next.
	sick := formValues("33333333-2222-4333-8444-555555555555")
	sick.Set("symptom_fever", "yes")
	if _, page := postForm(t, c, e.srv.URL+"/khai-bao", sick); !strings.Contains(page, "Trạm y tế xã/phường sẽ liên hệ") {
		t.Error("flagged result lacks the health station notice")
	}
}

// TestBrowserDeclaration: on a phone-sized screen, a resident fills the form
// (the district and commune lists follow the province), makes a mistake, fixes
// it, submits and sees the personal QR, which decodes to the right URL; then
// the commune officer finds the declaration on the worklist and handles it.
func TestBrowserDeclaration(t *testing.T) {
	e, decl := declEnv(t, storetest.SQLite(t), 0)
	ctx := newBrowser(t, 360, 740)
	shot := func(name string) string {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(os.TempDir(), "anticovid-decl-"+name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string { t.Helper(); return evalJS(t, ctx, js) }
	// waitEval polls js until it gives want: declare.js runs deferred, after
	// the elements a wait finds are already visible.
	waitEval := func(js, want string) bool {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if eval(js) == want {
				return true
			}
		}
		return false
	}
	run(chromedp.Navigate(e.srv.URL+"/khai-bao"), chromedp.WaitVisible(`#name`))
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("page is %spx wide on a 360px screen (sideways scrolling)", w)
	}
	if !waitEval(`String(document.getElementById("travel").hidden)`, "true") {
		t.Error("travel section shown for a resident declaration")
	}
	shot("form-empty")
	run(
		chromedp.SendKeys(`#name`, "Phạm Thị Dung"),
		chromedp.SendKeys(`#birth_year`, "1992"),
		chromedp.Click(`input[name=sex][value=female]`),
		chromedp.SendKeys(`#phone`, "0903 111 222"),
		chromedp.SendKeys(`#street`, "45 Nguyễn Huệ, khu phố 2"),
		// The province changes to Hồ Chí Minh City and back to Long An: the
		// lists are fetched for each.
		chromedp.SetValue(`#province_code`, "79"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("province_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions),
	)
	waitOptions := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(eval(`Array.from(document.querySelectorAll("`+sel+` option")).map(o => o.textContent).join("|")`), want) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s never listed %s", sel, want)
	}
	waitOptions("#district_code", "Quận 1")
	run(chromedp.SetValue(`#province_code`, "80"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("province_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions))
	waitOptions("#district_code", "Huyện Bến Lức")
	run(chromedp.SetValue(`#district_code`, "803"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("district_code").dispatchEvent(new Event("change"))`, chromedp.EvalIgnoreExceptions))
	waitOptions("#commune_code", "Xã Thạnh Lợi")
	if strings.Contains(eval(`Array.from(document.querySelectorAll("#commune_code option")).map(o => o.textContent).join("|")`), "Phường 5") {
		t.Error("commune list still holds another district's communes")
	}
	run(chromedp.SetValue(`#commune_code`, "27991"))
	// Travel: the section appears.
	run(chromedp.Click(`input[name=kind][value=travel]`))
	if eval(`String(document.getElementById("travel").hidden)`) != "false" {
		t.Fatal("travel section hidden for a travel declaration")
	}
	today := time.Now().In(hcm).Format("2006-01-02")
	run(
		chromedp.SetValue(`#mode`, "car"),
		chromedp.SendKeys(`#vehicle`, "62B-012.34"),
		chromedp.SendKeys(`#departure_place`, "TP. Hồ Chí Minh"),
		chromedp.SetValue(`#departure_date`, today),
		chromedp.SendKeys(`#arrival_place`, "Bến Lức, Long An"),
		chromedp.SetValue(`#arrival_date`, today),
	)
	for _, s := range declaration.Symptoms {
		answer := "no"
		if s.Code == "cough" {
			answer = "yes"
		}
		run(chromedp.Click(`input[name=symptom_` + s.Code + `][value=` + answer + `]`))
	}
	run(chromedp.Click(`input[name=contact_case][value=no]`), chromedp.Click(`input[name=animal_market][value=no]`),
		chromedp.SetValue(`#vaccine_doses`, "1"))
	shot("form-filled")
	// Submitted without the ID number a trip needs and without the pledge: the
	// page comes back with both errors, nothing lost.
	run(chromedp.Click(`#submit`), chromedp.WaitVisible(`#summary`))
	shot("form-error")
	if got := eval(`Array.from(document.querySelectorAll("#summary li a")).map(a => a.getAttribute("href")).join(" ")`); got != "#id_number #confirm" {
		t.Errorf("error summary links %q", got)
	}
	if !waitEval(`document.activeElement.id`, "id_number") {
		t.Errorf("focus on %q, want the first field with an error", eval(`document.activeElement.id`))
	}
	if v := eval(`document.getElementById("name").value + "|" + document.getElementById("vehicle").value + "|" + document.getElementById("commune_code").value`); v != "Phạm Thị Dung|62B-012.34|27991" {
		t.Errorf("values after a rejected submit: %q", v)
	}
	if got := eval(`document.querySelector(".pledge .field-error").textContent`); !strings.Contains(got, "cam kết") {
		t.Errorf("pledge error %q", got)
	}
	if n := count(t, e.db, "declarations"); n != 0 {
		t.Fatalf("rejected form stored %d", n)
	}
	e.otp.Reveal = true // demo mode: the proof step shows its code
	run(chromedp.SendKeys(`#id_number`, "080192001234"), chromedp.Click(`input[name=confirm]`), chromedp.Click(`#submit`), chromedp.WaitVisible(`#send`))
	run(chromedp.Click(`#send`), chromedp.WaitVisible(`#demo-code`))
	code := regexp.MustCompile(`[0-9]{6}`).FindString(eval(`document.getElementById("demo-code").textContent`))
	run(chromedp.SendKeys(`#code`, code), chromedp.Click(`button[value=check]`), chromedp.WaitVisible(`#qr`))
	path := shot("result")
	if h := eval(`document.querySelector("#qrcard h1").textContent + "|" + document.querySelector(".holder").textContent`); h != "Mã QR cá nhân|Phạm Thị Dung" {
		t.Errorf("result heading %q", h)
	}
	if eval(`String(document.getElementById("qr").naturalWidth > 0 && document.getElementById("qr").getBoundingClientRect().width >= 250)`) != "true" {
		t.Error("QR image not shown at a scannable size")
	}
	if !strings.Contains(eval(`document.querySelector(".warn").textContent`), "Trạm y tế") {
		t.Error("flagged result lacks the health station notice")
	}
	// The QR on the screen decodes to the URL of the stored declaration.
	zbar := testenv.Command(t, "zbarimg")
	out, err := exec.Command(zbar, "--quiet", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg on the screenshot: %v", err)
	}
	m := regexp.MustCompile(`/p/([A-Za-z0-9_-]+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("screenshot decodes to %q", out)
	}
	c, err := decl.Verify(m[1])
	var kind string
	var sym int
	e.db.R.QueryRow("SELECT kind, has_symptoms FROM declarations WHERE id = $1", c.DeclarationID).Scan(&kind, &sym)
	if err != nil || kind != "travel" || sym != 1 || strings.TrimSpace(string(out)) != e.srv.URL+"/p/"+m[1] {
		t.Fatalf("decoded %q: %+v %v, stored %s %d", out, c, err, kind, sym)
	}
	// Print view: header and buttons are hidden, the QR stays.
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	run(media("print"))
	if eval(`getComputedStyle(document.querySelector("header.top")).display + "|" + getComputedStyle(document.getElementById("qr")).display`) != "none|block" {
		t.Error("print view keeps the header or hides the QR")
	}
	shot("result-print")
	run(media(""))

	// The page behind the QR, as a phone's camera opens it: valid, no personal data.
	run(chromedp.Navigate(e.srv.URL+"/p/"+m[1]), chromedp.WaitVisible(`#qr`))
	shot("card")
	if got := eval(`document.querySelector("main").textContent`); !strings.Contains(got, "Hiệu lực đến") || strings.Contains(got, "Phạm Thị Dung") {
		t.Errorf("QR page: %q", got)
	}

	// Without JavaScript (a basic phone browser): the travel section and the
	// refresh buttons show, and the form is still usable.
	run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}), chromedp.Navigate(e.srv.URL+"/khai-bao?lang=en"), chromedp.WaitVisible(`#travel`), chromedp.WaitVisible(`button.refresh`))
	shot("form-nojs-en")
	if got := text(t, ctx, "h1"); got != "Electronic health declaration" {
		t.Errorf("English heading %q", got)
	}
	run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		return err
	}), chromedp.Navigate(e.srv.URL+"/khai-bao?lang=vi"))

	// The commune officer sees it on the worklist and handles it.
	run(chromedp.Navigate(e.srv.URL+"/login?next=/declarations/worklist"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"), chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`), chromedp.WaitVisible(`ol.worklist`))
	if got := eval(`document.querySelector("ol.worklist").textContent`); !strings.Contains(got, "Phạm Thị Dung") || !strings.Contains(got, "0903111222") ||
		!strings.Contains(got, "Ho") || !strings.Contains(got, "62B-012.34") {
		t.Errorf("worklist item: %q", got)
	}
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("worklist is %spx wide on a 360px screen", w)
	}
	shot("worklist")
	run(chromedp.SendKeys(`textarea[name=note]`, "Đã gọi điện, hẹn lấy mẫu xét nghiệm"), chromedp.Click(`form.handle button`),
		chromedp.WaitVisible(`p.ok`))
	shot("worklist-handled")
	var handledBy int64
	e.db.R.QueryRow("SELECT handled_by FROM declarations WHERE id = $1", c.DeclarationID).Scan(&handledBy)
	var who string
	e.db.R.QueryRow("SELECT username FROM users WHERE id = $1", handledBy).Scan(&who)
	if who != "communea" {
		t.Errorf("handled by %q", who)
	}
	if got := eval(`document.querySelector("main").textContent`); strings.Contains(got, "Phạm Thị Dung") {
		t.Error("handled declaration still on the open list")
	}
}
