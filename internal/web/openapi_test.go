package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"anticovid/internal/adoption"
	"anticovid/internal/bluezone"
	"anticovid/internal/cases"
	"anticovid/internal/config"
	"anticovid/internal/doortodoor"
	"anticovid/internal/exposure"
	"anticovid/internal/inbox"
	"anticovid/internal/meeting"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/press"
	"anticovid/internal/venue"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestOpenAPIGolden keeps /api/v1/openapi.json, with every optional service
// present, byte for byte as testdata/openapi.json has it: moving a route to
// another file must not change the document clients are generated from.
func TestOpenAPIGolden(t *testing.T) {
	s := everyService()
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

// everyService is a server with every optional service present, so every
// operation of the route table is registered.
func everyService() *Server {
	cfg := &config.Config{Province: "80", MaxBody: 64 << 10, CheckinRate: 20}
	return New(Deps{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Bluezone: &bluezone.Service{}, Exposure: &exposure.Service{}, Adoption: &adoption.Service{}, Ops: &Ops{}, Venues: &venue.Service{}, Cases: &cases.Service{},
		Press: &press.Service{}, Meetings: &meeting.Service{}, Outbox: &notify.Outbox{}, Inbox: &inbox.Service{}, DoorToDoor: &doortodoor.Service{}})
}

// TestOpenAPIValid checks the document with kin-openapi's validator (the
// OpenAPI 3.1 rules, every $ref resolved, examples and defaults against
// their schemas), and that the route table and the registered routes are
// the same set: an entry no route uses would document an operation that
// does not exist.
func TestOpenAPIValid(t *testing.T) {
	s := everyService()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(s.openAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	ids := map[string]string{}
	for _, rt := range s.routes {
		key := rt.Method + " " + rt.Path
		registered[key] = true
		if other, dup := ids[rt.Op.ID]; dup {
			t.Errorf("operationId %s is both %s and %s", rt.Op.ID, other, key)
		}
		ids[rt.Op.ID] = key
		for _, k := range []string{"api.op." + rt.Op.ID, "api.tag." + rt.Op.Tag} {
			if _, ok := msg.Lookup(k); !ok {
				t.Errorf("%s: catalog key %s missing", key, k)
			}
		}
	}
	for key := range apiOps {
		if !registered[key] {
			t.Errorf("route table entry %s is registered by no feature", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || len(op.Tags) == 0 || op.Summary == "" || op.Security == nil {
				t.Errorf("%s %s: operationId, tag, summary and security are all needed", method, path)
			}
		}
	}
}

// TestUndeclaredRoutePanics: an API route without its contract in the route
// table stops the server at start, so it can never be served undocumented.
func TestUndeclaredRoutePanics(t *testing.T) {
	s := &Server{mux: &routeMux{ServeMux: http.NewServeMux()}}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "no entry in the route table") {
			t.Fatalf("registering an undeclared route: %v", r)
		}
	}()
	s.api("GET", "/api/v1/undeclared", func(http.ResponseWriter, *http.Request) error { return nil })
}
