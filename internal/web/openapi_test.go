package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"

	"anticovid/internal/adoption"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/config"
	"anticovid/internal/exposure"
	"anticovid/internal/press"
	"anticovid/internal/venue"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestOpenAPIGolden keeps /api/v1/openapi.json, with every optional service
// present, byte for byte as testdata/openapi.json has it: moving a route to
// another file must not change the document clients are generated from.
func TestOpenAPIGolden(t *testing.T) {
	cfg := &config.Config{Province: "80", MaxBody: 64 << 10, CheckinRate: 20}
	s := New(Deps{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Bluezone: &bluezone.Service{}, Exposure: &exposure.Service{}, Adoption: &adoption.Service{}, Ops: &Ops{}, Venues: &venue.Service{}, Cases: &cases.Service{},
		Press: &press.Service{}})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
		t.Fatalf("openapi: %d %v", rec.Code, err)
	}
	const golden = "testdata/openapi.json"
	if *updateGolden {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("openapi.json differs from %s (run go test -run TestOpenAPIGolden -update to accept)", golden)
	}
}
