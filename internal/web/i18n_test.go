package web

import (
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
			msg, ok := messages[m[1]]
			if !ok || msg[0] == "" || msg[1] == "" {
				t.Errorf("%s: message %q missing or untranslated", n, m[1])
			}
		}
	}
}
