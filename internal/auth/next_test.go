package auth_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode"

	"anticovid/internal/auth"
)

// TestSafeNextRefusesOffSite covers the shapes browsers read as another
// site or as script: doubled, back- and mixed slashes, the same hidden
// behind tabs, newlines and percent-encoding (once or twice), absolute URLs
// (our own host included), schemes, control characters and nothing at all.
func TestSafeNextRefusesOffSite(t *testing.T) {
	for _, next := range []string{
		"", " ", "//evil.example", "///evil.example", "/\\evil.example", "\\/evil.example", "\\\\evil.example",
		"/%09/evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example",
		" //evil.example", "/ /evil.example", "%2F%2Fevil.example", "/%2F/evil.example", "/%2f%2fevil.example",
		"/%5Cevil.example", "/%5cevil.example", "%5C%5Cevil.example", "/%252F%252Fevil.example",
		"/%25252F/evil.example", "/%255Cevil.example", "/%2509/evil.example", "/%0d%0a/evil.example",
		"https://evil.example", "http://evil.example/", "HTTPS://evil.example", "https:evil.example",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "/javascript:alert(1)\x00", "data:text/html,<script>",
		"https://anticovid.invalid/cases", "//anticovid.invalid/cases", "http://127.0.0.1/",
		"/\x00", "/cases\x7f", "/cases\x1b", "/a\u0085b", "/a\u200eb", "/%E2%80%AE/x", "/%C2%85x",
		"evil.example", "cases", "./cases", "../cases", "?next=//evil", "#//evil",
		"/%", "/%zz", "/" + strings.Repeat("a", 3000),
	} {
		if got := auth.SafeNext(next); got != "/" {
			t.Errorf("SafeNext(%q) = %q, want /", next, got)
		}
	}
}

// TestSafeNextKeepsOwnPaths keeps what the login redirect itself writes:
// an escaped request URI of this site.
func TestSafeNextKeepsOwnPaths(t *testing.T) {
	for _, next := range []string{
		"/", "/cases", "/declarations/worklist", "/bluezone?person=5", "/venues?q=H%C3%A0+N%E1%BB%99i&page=2",
		"/reports?date=01%2F02%2F2021", "/cases/12#contacts", "/a/./b", "/a/../b",
	} {
		if got := auth.SafeNext(next); got != next {
			t.Errorf("SafeNext(%q) = %q, want it kept", next, got)
		}
	}
}

// FuzzNext checks that whatever arrives, the result is "/" or a path that
// starts with a single "/" not followed by "/" or "\", holds no control
// character, and resolves on the same host as the page that redirects.
func FuzzNext(f *testing.F) {
	for _, s := range []string{"/", "/cases", "//evil", "/\\evil", "/%09/evil", "%2F%2Fevil", "/%252F%252Fevil", "https://evil", "javascript:x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://tinh.example.vn/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := auth.SafeNext(next)
		if got == "/" {
			return
		}
		if got != next {
			t.Fatalf("SafeNext(%q) = %q: neither kept nor home", next, got)
		}
		if len(got) < 2 || got[0] != '/' || got[1] == '/' || got[1] == '\\' {
			t.Fatalf("SafeNext(%q) = %q: not a single-slash path", next, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\\' || r > unicode.MaxASCII {
				t.Fatalf("SafeNext(%q) = %q: holds %U", next, got, r)
			}
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("SafeNext(%q) = %q: does not parse: %v", next, got, err)
		}
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("SafeNext(%q) = %q: resolves to %s", next, got, r)
		}
	})
}
