package web

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// newBrowser starts headless Chromium with a phone-sized window (or skips, and
// fails under ANTICOVID_REQUIRE_ALL=1, when it is not installed).
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first run starts the browser; it must not carry the test timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// screenshot saves the page to dir/name.png when ANTICOVID_SCREENSHOTS names a
// directory (people look at them); it always takes one, so a broken page fails.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/"+name+".png", png, 0o644)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// evalJS runs js in the page and returns its string result.
func evalJS(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// viewport saves what the phone's screen shows (not the whole page) when
// ANTICOVID_SCREENSHOTS names a directory.
func viewport(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if dir := os.Getenv("ANTICOVID_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/"+name+".png", png, 0o644)
	}
}

// A commune officer logs in, sees Vietnamese pages with their commune's
// venues, and gets the 403 page for another commune's venue.
func TestBrowserCommuneOfficer(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := newBrowser(t, 390, 844)
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/venues"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "communea"),
		chromedp.SendKeys(`input[name=password]`, testPassword),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`table.list`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "commune-venues")
	heading := text(t, ctx, "h1")
	body := text(t, ctx, "main")
	if heading != "Địa điểm" || !strings.Contains(body, "Chợ Bến Lức") || !strings.Contains(body, "Đã duyệt") || strings.Contains(body, "Thạnh Lợi") {
		t.Fatalf("venue list: %q\n%s", heading, body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/venues/"+itoa64(e.venues["Trường THCS Thạnh Lợi"])), chromedp.WaitVisible(`p.error`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "commune-403")
	title, _ := chromedp.Run(ctx, chromedp.Title())
	body = text(t, ctx, "main")
	if !strings.Contains(title, "Lỗi 403") || !strings.Contains(body, "Không có quyền truy cập") || strings.Contains(body, "Thạnh Lợi") {
		t.Fatalf("403 page: %q %q", title, body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+"/venues?lang=en")); err != nil {
		t.Fatal(err)
	}
	if h := text(t, ctx, "h1"); h != "Venues" {
		t.Fatalf("English heading %q", h)
	}
}

// inMenu clicks sel in the site's menu, unfolding it first on a phone, as a
// person does.
func inMenu(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		folded, err := chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('label.menu-button')).display !== 'none' && !document.getElementById('menu-open').checked`)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		if folded {
			if _, err := chromedp.Click(`label.menu-button`)(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Click(sel)(ctx, t)
	}
}

// answerDialogs answers each question a page asks (data-confirm) with
// answer's next reply and returns the questions as they come.
func answerDialogs(ctx context.Context, answer func() bool) <-chan string {
	asked := make(chan string, 16)
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			asked <- ev.Message
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: answer()})
		}
	}()
	return asked
}

// acceptDialogs answers "yes" to every question a page asks.
func acceptDialogs(ctx context.Context) <-chan string {
	return answerDialogs(ctx, func() bool { return true })
}
