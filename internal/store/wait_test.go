package store

import "testing"

// Logged database URLs never carry a password, in the user part or as a
// parameter.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db1:5432/anticovid?sslmode=require":            "postgres://app:xxxxx@db1:5432/anticovid?sslmode=require",
		"postgres://app@db1/anticovid?password=s3cret&sslmode=disable":        "postgres://app@db1/anticovid?password=xxxxx&sslmode=disable",
		"postgres://db1:5432,db2:5432/anticovid?target_session_attrs=primary": "postgres://db1:5432,db2:5432/anticovid?target_session_attrs=primary",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
