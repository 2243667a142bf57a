package web

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"anticovid/internal/store/storetest"
	"anticovid/internal/testenv"
)

// docBlock matches the examples of docs/API.md: fenced "sh" blocks run as
// they are; "sh error" blocks must fail (curl --fail-with-body on an error).
var docBlock = regexp.MustCompile("(?s)```sh( error)?\n(.*?)```")

// TestAPIDocExamples runs every curl example of docs/API.md, in order and in
// one shell (a later example uses what an earlier one read), against a test
// server whose every answer the contract checks: the guide an integrator
// reads cannot fall behind the API.
func TestAPIDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := docBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 6 {
		t.Fatalf("docs/API.md has %d runnable examples", len(blocks))
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, b := range blocks {
		fmt.Fprintf(&script, "echo '--- example %d' >&2\n", i+1)
		if b[1] != "" {
			fmt.Fprintf(&script, "if ( %s ) >&2; then echo 'example %d should have failed' >&2; exit 1; fi\n", strings.TrimSpace(b[2]), i+1)
			continue
		}
		script.WriteString(b[2])
	}
	e := newEnv(t, storetest.SQLite(t))
	cmd := exec.Command(testenv.Command(t, "bash"), "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "API="+e.srv.URL, "TOKEN="+e.tokens["admin"])
	for _, tool := range []string{"curl", "jq"} {
		testenv.Command(t, tool)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/API.md examples: %v\n%s", err, out)
	}
	for _, want := range []string{`"username":"admin"`, `"not_found"`, `{"created":true,"venue_name":"Chợ Bến Lức"}`, `{"created":false,"venue_name":"Chợ Bến Lức"}`,
		`"total":1`, "ef bb bf"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %s:\n%s", want, out)
		}
	}
}
