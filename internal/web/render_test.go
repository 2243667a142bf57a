package web

import "testing"

// TestWeekName: weeks are shown as people say them, in the reader's language.
func TestWeekName(t *testing.T) {
	for _, c := range []struct{ lang, iso, want string }{
		{"vi", "2026-W50", "Tuần 50 (07/12–13/12/2026)"},
		{"en", "2026-W50", "Week 50 (07/12–13/12/2026)"},
		{"vi", "2021-W01", "Tuần 1 (04/01–10/01/2021)"},
		{"vi", "2020-W53", "Tuần 53 (28/12–03/01/2021)"},
		{"vi", "not a week", "not a week"},
	} {
		if got := (view{Lang: c.lang}).Week(c.iso); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.lang, c.iso, got, c.want)
		}
	}
}
