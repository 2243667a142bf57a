// Package testenv lets tests that need an outside service (PostgreSQL, Chromium,
// zbarimg) skip on a bare laptop and fail under CI, where ANTICOVID_REQUIRE_ALL=1
// promises that everything is installed.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Skip skips the test with reason, or fails it when ANTICOVID_REQUIRE_ALL=1.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("ANTICOVID_REQUIRE_ALL") == "1" {
		t.Fatalf("required by ANTICOVID_REQUIRE_ALL=1 but unavailable: %s", reason)
	}
	t.Skip("skipped: " + reason)
}

// Command returns the path of an executable, or skips (fails under CI) without it.
func Command(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, name+" is not installed")
	}
	return p
}

// Alter returns s with its i-th character replaced by another (A or B), so
// a test's tampering never leaves a base64 or base32 token unchanged by
// chance. Choose i away from the end: the last character of unpadded base64
// may carry bits the decoder ignores.
func Alter(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
