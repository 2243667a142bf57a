package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"
	"unicode"

	"anticovid/internal/msg"
)

// Every message key a template uses exists, in Vietnamese and English: a
// missing key would show its raw name to the people using the page.
func TestTemplateKeysTranslated(t *testing.T) {
	key := regexp.MustCompile(`\.Tf? "([^"]+)"`)
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

// allowedWords may stand in a template outside the catalog: names that are
// the same in both languages (brands, standards, file formats, units and
// codes people know them by).
var allowedWords = map[string]bool{
	"anticovid": true, "COVID": true, "QR": true, "F0": true, "F1": true, "F2": true, "F3": true, "Bluezone": true,
	"CSV": true, "XLSX": true, "PDF": true, "PNG": true, "SVG": true, "SMS": true, "OTT": true, "API": true,
	"RTSP": true, "HLS": true, "MJPEG": true, "GSO": true, "ID": true, "EN": true, "ETag": true, "JSON": true,
	"km": true, "dBm": true, "Zalo": true, "Excel": true, "Bluetooth": true, "m": true, "px": true, "x": true, "Leaflet": true, "OpenStreetMap": true, "HTTPS": true,
}

var urlRE = regexp.MustCompile(`[a-z]+://\S*`)

// visibleAttrs are the attributes whose values a person reads or hears.
var visibleAttrs = map[string]bool{"placeholder": true, "title": true, "alt": true, "aria-label": true, "label": true}

// TestTemplatesUseCatalog fails when a template writes a word a person sees
// instead of taking it from the catalog with {{.T "key"}}: the text between
// tags and the visible attributes, with every action blanked out, may hold
// only numbers, punctuation and the allowed words above.
func TestTemplatesUseCatalog(t *testing.T) {
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(templateFS, n)
		trees, err := parse.Parse(n, string(b), "{{", "}}", templateFuncNames())
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		var text strings.Builder
		for _, tr := range trees {
			collectText(tr.Root, &text)
			text.WriteByte(0)
		}
		for _, chunk := range visibleText(text.String()) {
			chunk = urlRE.ReplaceAllString(chunk, "") // an example address reads the same in every language
			for _, w := range regexp.MustCompile(`[\pL][\pL\pN]*`).FindAllString(chunk, -1) {
				if !allowedWords[w] {
					t.Errorf("%s: %q is not from the catalog (in %q)", n, w, strings.TrimSpace(chunk))
					break
				}
			}
		}
	}
}

// templateFuncNames lists, for the parser, the functions templates may call:
// the built-in ones and those loadPages adds.
func templateFuncNames() map[string]any {
	m := map[string]any{}
	for _, f := range []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice", "print", "printf",
		"println", "html", "js", "urlquery", "call"} {
		m[f] = true
	}
	for f := range templateFuncs {
		m[f] = true
	}
	return m
}

// collectText writes a tree's text nodes, each action standing as a NUL.
func collectText(n parse.Node, out *strings.Builder) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectText(c, out)
		}
	case *parse.TextNode:
		out.Write(n.Text)
	case *parse.IfNode:
		collectBranch(&n.BranchNode, out)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, out)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, out)
	default:
		out.WriteByte(0)
	}
}

func collectBranch(n *parse.BranchNode, out *strings.Builder) {
	out.WriteByte(0)
	collectText(n.List, out)
	out.WriteByte(0)
	collectText(n.ElseList, out)
	out.WriteByte(0)
}

// visibleText returns the text between tags (outside script and style) and
// the values of visible attributes of an HTML fragment.
func visibleText(h string) []string {
	var out []string
	h = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`).ReplaceAllString(h, "")
	h = regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(h, "")
	attr := regexp.MustCompile(`([a-zA-Z-]+)\s*=\s*"([^"]*)"`)
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			out = append(out, h)
			return out
		}
		out = append(out, h[:i])
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			return out
		}
		for _, m := range attr.FindAllStringSubmatch(h[i:i+j], -1) {
			if visibleAttrs[strings.ToLower(m[1])] {
				out = append(out, m[2])
			}
		}
		h = h[i+j+1:]
	}
}

// TestGoUsesCatalog fails when a Go file of the package writes a text in
// Vietnamese, or in both languages ("Vietnamese / English"), instead of
// taking it from internal/msg.
func TestGoUsesCatalog(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if vietnamese(s) || strings.Contains(s, " / ") {
				t.Errorf("%s: %q belongs in the catalog", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}

// vietnamese reports whether s holds a letter outside ASCII (a diacritic, đ).
func vietnamese(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}
