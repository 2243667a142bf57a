// Package msg is the one catalog of every text a person sees, in Vietnamese
// (the default) and English. Pages look texts up by key in the reader's
// language (T); domain packages, whose errors travel to pages and to the
// JSON API alike, carry both languages in one string (Both) that the page
// later narrows to the reader's language (Local).
//
// The catalog is split into one file per area; each adds its texts in init,
// and a key added twice stops the program at start.
//
// What is checked that a key exists, and what is not: tests fail on a
// literal key missing from the catalog in Go (keys_test.go: calls to T,
// Both and Lookup, every function that passes its parameter on to them, and
// key-shaped values in tables) and in templates ({{.T "key"}},
// web/catalog_test.go). A key built at run time ("status." + v.Status) is
// checked by nothing but the tests that render it; a missing one shows as
// the key itself.
package msg

import (
	"fmt"
	"sort"
	"strings"
)

// Text is one message: Vietnamese, then English.
type Text [2]string

// sep joins the two languages in a string from Both.
const sep = " / "

var catalog = map[string]Text{}

// add puts an area's texts in the catalog.
func add(m map[string]Text) {
	for k, v := range m {
		if _, dup := catalog[k]; dup {
			panic("msg: key " + k + " added twice")
		}
		catalog[k] = v
	}
}

// T returns the message key in lang ("en" for English, anything else for
// Vietnamese), formatted with args when there are any. An unknown key
// comes back as itself (for literal keys, the tests keep that from
// happening; see the package comment).
func T(lang, key string, args ...any) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == "en" {
		s = m[1]
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// Both returns the message in both languages, "Vietnamese / English", for
// errors that reach the JSON API and pages alike.
func Both(key string, args ...any) string {
	return T("vi", key, args...) + sep + T("en", key, args...)
}

// Local narrows a string made by Both to lang; other strings come back as
// they are.
func Local(lang, s string) string {
	vi, en, ok := strings.Cut(s, sep)
	if !ok {
		return s
	}
	if lang == "en" {
		return en
	}
	return vi
}

// Lookup returns key's texts.
func Lookup(key string) (Text, bool) {
	m, ok := catalog[key]
	return m, ok
}

// Keys lists every key, sorted.
func Keys() []string {
	out := make([]string, 0, len(catalog))
	for k := range catalog {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
