package web

import (
	"anticovid/internal/msg"
	"io/fs"
	"regexp"
	"testing"
)

// Every message key a template uses exists, in Vietnamese and English: a
// missing key would show its raw name to the people using the page.
func TestTemplateKeysTranslated(t *testing.T) {
	key := regexp.MustCompile(`\.T "([^"]+)"`)
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(templateFS, n)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			m2, ok := msg.Lookup(m[1])
			if !ok || m2[0] == "" || m2[1] == "" {
				t.Errorf("%s: message %q missing or untranslated", n, m[1])
			}
		}
	}
}
