package msg

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// dataDirs hold data rather than interface: the demo dataset's names and
// places, administrative unit names, and this catalog itself.
var dataDirs = []string{"internal/msg", "internal/demo", "internal/geo"}

// allowed literals, by file and exact text: each is read from input or is
// synthetic data, never shown as a message.
var allowed = map[string]map[string]string{
	"internal/adoption/adoption.go": {
		"điện thoại": "header alias matched in an uploaded spreadsheet",
		"người dùng": "header alias matched in an uploaded spreadsheet",
		"mã":         "header alias matched in an uploaded spreadsheet",
	},
	"internal/declaration/token.go": {
		"nữ": "the sex as a chip ID card's QR writes it",
	},
	"internal/notify/gateway.go": {
		"Mã ": "a hostile value the gateway's template is tried with at start, never sent",
	},
	"internal/bluezone/simulate.go": {
		"Người thử nghiệm %d": "name of a simulated phone's owner (synthetic data)",
	},
	"internal/bench/ingest.go": {
		"Điểm kiểm tra %d": "name of a benchmark venue (synthetic data)",
		"Người thử nghiệm": "name of a benchmark person (synthetic data)",
	},
}

// vietnamese reports a letter with a Vietnamese diacritic (or đ), precomposed
// or as a combining mark.
func vietnamese(s string) bool {
	for _, r := range s {
		switch {
		case r >= 0x300 && r <= 0x323: // combining marks
			return true
		case !unicode.IsLetter(r):
		case r >= 0xC0 && r <= 0x24F, r >= 0x1EA0 && r <= 0x1EF9:
			return true
		}
	}
	return false
}

// twoLanguages reports the "Vietnamese / English" pattern: a letter somewhere
// before a " / " and a letter right after it (so "$1) / $2" in SQL is not one).
func twoLanguages(s string) bool {
	for i := strings.Index(s, sep); i >= 0; {
		rest := s[i+len(sep):]
		if strings.IndexFunc(s[:i], unicode.IsLetter) >= 0 && strings.IndexFunc(rest, unicode.IsLetter) == 0 {
			return true
		}
		j := strings.Index(rest, sep)
		if j < 0 {
			break
		}
		i += len(sep) + j
	}
	return false
}

// Every text a person sees comes from the catalog: no Go file outside it
// (tests and data packages aside) holds a Vietnamese or two-language literal.
func TestNoTextOutsideCatalog(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				for _, skip := range dataDirs {
					if rel == skip || d.Name() == "testdata" {
						return filepath.SkipDir
					}
				}
				return nil
			}
			if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || !(vietnamese(s) || twoLanguages(s)) {
					return true
				}
				if _, ok := allowed[rel][s]; ok {
					return true
				}
				pos := fset.Position(lit.Pos())
				t.Errorf("%s:%d: text outside the catalog: %q", rel, pos.Line, s)
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The allow-list names only literals that exist, so it cannot go stale.
func TestAllowListUsed(t *testing.T) {
	for file, texts := range allowed {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, filepath.Join("../..", file), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		seen := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				seen[s] = true
			}
			return true
		})
		for s := range texts {
			if !seen[s] {
				t.Errorf("%s: allowed %q is no longer in the file", file, s)
			}
		}
	}
}

func TestTextPatterns(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"Tên từ 2 đến 100 ký tự", true},
		{"đ", true},
		{"Name / Tên", true},
		{"Ma xac nhan / Your code", true},
		{"SELECT (a - $1) / $2 FROM t", false},
		{"a/b", false},
		{"plain English", false},
	} {
		if got := vietnamese(tc.s) || twoLanguages(tc.s); got != tc.want {
			t.Errorf("%q: flagged %v, want %v", tc.s, got, tc.want)
		}
	}
}
