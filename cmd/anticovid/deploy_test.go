package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"anticovid/internal/testenv"
)

// The systemd unit passes `systemd-analyze verify` without a warning (its
// ExecStart pointed at a freshly built binary) and keeps the hardening the
// README promises; the Dockerfile builds statically onto distroless and
// checks health with the binary itself.
func TestDeployFiles(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/anticovid.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/anticovid",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "Restart=on-failure", "EnvironmentFile=/etc/anticovid/anticovid.env",
		"ExecReload=/bin/kill -HUP $MAINPID", "TimeoutStopSec=45", "NoNewPrivileges=yes"} {
		if !strings.Contains(string(unit), "\n"+want+"\n") {
			t.Errorf("anticovid.service lacks %q", want)
		}
	}
	docker, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM golang:1.26 AS build", "CGO_ENABLED=0", "FROM gcr.io/distroless/static-debian12:nonroot",
		"VOLUME /data", "EXPOSE 8080 8443", `CMD ["/anticovid", "healthcheck"]`, "USER nonroot:nonroot"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	analyze := testenv.Command(t, "systemd-analyze") // Debian's systemd package
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "anticovid.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/anticovid", bin)), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
