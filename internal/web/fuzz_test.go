package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// FuzzJSONBodies sends arbitrary bodies to every JSON POST, PUT and PATCH
// route the OpenAPI document lists, on a server with every service wired,
// as the province admin and as nobody. Whatever the body, the answer is
// never 5xx (a panic is answered 500 by the middleware, so it fails too),
// and an error answer is JSON with a message for a person.
func FuzzJSONBodies(f *testing.F) {
	oe, _ := fullServer(f, nil)
	resp, err := http.Get(oe.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		f.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		f.Fatal(err)
	}
	type route struct{ method, path string }
	var routes []route
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "post" || m == "put" || m == "patch" {
				routes = append(routes, route{strings.ToUpper(m), examplePath(p)})
			}
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].path+routes[i].method < routes[j].path+routes[j].method })
	if len(routes) < 20 {
		f.Fatalf("only %d JSON routes", len(routes))
	}
	for i := range routes {
		f.Add(uint16(i), true, []byte(`{}`))
	}
	for _, b := range []string{``, `null`, `[]`, `"x"`, `{"a":`, `{"id":-1,"name":"\u0000","phone":"+84 912 345 678","unit":"80"}`,
		`{"code":"27991","at":"2099-01-01T00:00:00Z","keys":[{}],"rows":[{}],"items":[null]}`, `{"from":"2021-13-45","limit":-9223372036854775808}`} {
		f.Add(uint16(0), false, []byte(b))
		f.Add(uint16(len(routes)/2), true, []byte(b))
	}
	f.Fuzz(func(t *testing.T, ri uint16, admin bool, body []byte) {
		r := routes[int(ri)%len(routes)]
		req, err := http.NewRequest(r.method, oe.srv.URL+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if admin {
			req.Header.Set("Authorization", "Bearer "+oe.tokens["admin"])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, resp.StatusCode, got)
		}
		if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(got) {
			t.Fatalf("%s %s with %q: %d, not JSON: %s", r.method, r.path, body, resp.StatusCode, got)
		}
	})
}
