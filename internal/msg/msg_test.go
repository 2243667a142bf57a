package msg

import (
	"strings"
	"testing"
)

// Every message has both languages, and a format verb in one language is
// in the other too, so neither prints %!d(MISSING).
func TestCatalogComplete(t *testing.T) {
	for _, k := range Keys() {
		m := catalog[k]
		if strings.TrimSpace(m[0]) == "" || strings.TrimSpace(m[1]) == "" {
			t.Errorf("%s: missing a language: %q", k, m)
		}
		if strings.Count(m[0], "%") != strings.Count(m[1], "%") {
			t.Errorf("%s: format verbs differ between languages: %q", k, m)
		}
		if strings.Contains(m[0], sep) || strings.Contains(m[1], sep) {
			t.Errorf("%s: %q holds the language separator %q", k, m, sep)
		}
	}
}

func TestLookups(t *testing.T) {
	add(map[string]Text{"test.n": {"Có %d người", "%d people"}})
	defer delete(catalog, "test.n")
	if got := T("vi", "test.n", 3); got != "Có 3 người" {
		t.Errorf("T vi = %q", got)
	}
	if got := T("en", "test.n", 3); got != "3 people" {
		t.Errorf("T en = %q", got)
	}
	both := Both("test.n", 2)
	if both != "Có 2 người / 2 people" {
		t.Errorf("Both = %q", both)
	}
	if Local("en", both) != "2 people" || Local("vi", both) != "Có 2 người" || Local("en", "plain") != "plain" {
		t.Error("Local does not narrow")
	}
	if T("vi", "no.such.key") != "no.such.key" {
		t.Error("unknown key")
	}
	defer func() {
		if recover() == nil {
			t.Error("a key added twice did not panic")
		}
	}()
	add(map[string]Text{"test.n": {"a", "b"}})
}
