package people

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold is text as searches compare it (venues, people's names, import headers): lower case, without
// diacritics (đ as d), spaces collapsed, so "cho ben luc" finds "Chợ Bến
// Lức" and "CHỢ BẾN LỨC" alike.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.Map(func(r rune) rune {
		if r == 0x111 || r == 0x110 { // đ and Đ have no decomposition: d
			return 'd'
		}
		return r
	}, strings.ToLower(out))
	return strings.Join(strings.Fields(out), " ")
}

// Words is text split into the folded words searches compare: letters and
// digits, everything else a separator.
func Words(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
