package msg

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// goFile is one parsed Go source outside tests.
type goFile struct {
	rel string
	pkg string // the file's directory, relative to the module root
	f   *ast.File
}

// sources parses every non-test Go file under internal/ and cmd/.
func sources(t *testing.T) (*token.FileSet, []goFile) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []goFile
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			out = append(out, goFile{rel: rel, pkg: filepath.ToSlash(filepath.Dir(rel)), f: f})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return fset, out
}

// callee names a call's function: "msg.T" for a call through the package,
// "T" for msg's own calls inside it, and ".Name" for any other method or
// qualified call, "Name" for a plain one elsewhere.
func callee(c *ast.CallExpr, inMsg bool) string {
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		if inMsg {
			return "msg." + fn.Name
		}
		return fn.Name
	case *ast.SelectorExpr:
		if x, ok := fn.X.(*ast.Ident); ok && x.Name == "msg" {
			return "msg." + fn.Sel.Name
		}
		return "." + fn.Sel.Name
	}
	return ""
}

// keyCalls finds where a call takes a catalog key: msg.T (its second
// argument), msg.Both and msg.Lookup (the first), and every function that
// hands one of its own parameters to one of those (view.T, option, mixed,
// ...), found here rather than listed, so a new wrapper is covered too.
func keyCalls(files []goFile) map[string][]int {
	takes := map[string][]int{"msg.T": {1}, "msg.Both": {0}, "msg.Lookup": {0}}
	for changed := true; changed; {
		changed = false
		for _, gf := range files {
			inMsg := gf.pkg == "internal/msg"
			for _, decl := range gf.f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				params := map[string]int{}
				i := 0
				for _, field := range fd.Type.Params.List {
					for _, n := range field.Names {
						params[n.Name] = i
						i++
					}
					if len(field.Names) == 0 {
						i++
					}
				}
				name := fd.Name.Name
				switch {
				case inMsg:
					name = "msg." + name
				case fd.Recv != nil:
					name = "." + name
				}
				eachKeyArg(fd.Body, takes, inMsg, func(arg ast.Expr) {
					if id, ok := arg.(*ast.Ident); ok {
						if p, ok := params[id.Name]; ok && !slices.Contains(takes[name], p) {
							takes[name] = append(takes[name], p)
							if !inMsg && fd.Recv == nil {
								takes["."+fd.Name.Name] = append(takes["."+fd.Name.Name], p) // called as pkg.Name elsewhere
							}
							changed = true
						}
					}
				})
			}
		}
	}
	return takes
}

// eachKeyArg calls fn with every argument under n that is passed where a
// call takes a key.
func eachKeyArg(n ast.Node, takes map[string][]int, inMsg bool, fn func(ast.Expr)) {
	ast.Inspect(n, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			for _, at := range takes[callee(c, inMsg)] {
				if at < len(c.Args) {
					fn(c.Args[at])
				}
			}
		}
		return true
	})
}

// Every key written as a literal in Go exists: in a call that takes a key
// (msg.T, msg.Both, msg.Lookup and their wrappers), and a value shaped like
// a key of a catalog area in a composite literal ("ops.checkins" in a
// table of labels).
// Templates' {{.T "key"}} are checked by web's catalog test.
func TestGoKeysExist(t *testing.T) {
	fset, files := sources(t)
	takes := keyCalls(files)
	if len(takes) < 6 {
		t.Fatalf("found only the wrappers %v", takes)
	}
	areas := map[string]bool{}
	for _, k := range Keys() {
		a, _, _ := strings.Cut(k, ".")
		areas[a] = true
	}
	shape := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
	checked := 0
	for _, gf := range files {
		inMsg := gf.pkg == "internal/msg"
		inCall := map[*ast.BasicLit]bool{}
		eachKeyArg(gf.f, takes, inMsg, func(arg ast.Expr) {
			lit, ok := arg.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return
			}
			inCall[lit] = true
			key, _ := strconv.Unquote(lit.Value)
			checked++
			if _, ok := catalog[key]; !ok {
				t.Errorf("%s:%d: key %q is not in the catalog", gf.rel, fset.Position(lit.Pos()).Line, key)
			}
		})
		if inMsg {
			continue // the catalog's own files: keys as map keys
		}
		// Values in composite literals (tables of labels); keys of a
		// composite literal are field names (errs.Fields), not texts.
		ast.Inspect(gf.f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, e := range cl.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || inCall[lit] {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				a, _, _ := strings.Cut(s, ".")
				if !shape.MatchString(s) || !areas[a] {
					continue
				}
				checked++
				if _, ok := catalog[s]; !ok {
					t.Errorf("%s:%d: %q looks like a key of area %s but is not in the catalog", gf.rel, fset.Position(lit.Pos()).Line, s, a)
				}
			}
			return true
		})
	}
	if checked < 500 {
		t.Errorf("checked only %d keys: the scan misses calls", checked)
	}
}
