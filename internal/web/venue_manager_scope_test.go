package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"anticovid/internal/auth"
)

// TestVenueManagerSeesOnlyOwnVenues: a venue manager reaches only their own
// venues' records. A second manager in the same commune as "managera" walks
// every GET route (pages, API, exports, counts), with the other manager's
// venue id and their shared commune in the path and the query: no answer
// names the other manager's venue.
func TestVenueManagerSeesOnlyOwnVenues(t *testing.T) {
	oe, s := fullServer(t, nil)
	ctx := context.Background()
	if _, err := oe.auth.CreateUser(ctx, auth.NewUser{Username: "managerb", Role: auth.VenueManager, Unit: "27991", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	tok, err := oe.auth.CreateToken(ctx, "managerb", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oe.tokens["managerb"] = tok
	code, body := oe.do("POST", "/api/v1/venues", "managerb", map[string]any{"name": "Quán cà phê Mai", "category": "restaurant",
		"commune_code": "27991", "address": "5 Đường 30/4", "contact_name": "Anh Mai", "contact_phone": "0912000111"})
	if code != http.StatusCreated {
		t.Fatalf("managerb's venue: %d %s", code, body)
	}
	own := between(body, `"id":`, ",")
	if code, body := oe.do("POST", "/api/v1/venues/"+own+"/status", "communea", map[string]string{"status": "approved"}); code != http.StatusOK {
		t.Fatalf("approve: %d %s", code, body)
	}
	other := itoa64(oe.venues["Chợ Bến Lức"])
	// The other manager's venue has visits (newOpsEnv), so counts would show.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	seen := 0
	for _, pattern := range s.mux.patterns {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || method != "GET" || strings.HasPrefix(path, "/static/") || strings.HasSuffix(path, "/stream") {
			continue
		}
		for _, q := range []string{"", "?unit=27991", "?commune=27991", "?unit=803&venue=" + other} {
			u := strings.ReplaceAll(examplePath(path), "/1", "/"+other) + q
			req, _ := http.NewRequest(method, oe.srv.URL+u, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				seen++
			}
			if leaks(string(b), other) && !leaks(publicBody(t, oe.srv.URL+u), other) { // what anyone may read is no leak
				t.Errorf("GET %s (%d) shows the other manager's venue", u, resp.StatusCode)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d answers were 200: the walk did not reach the manager's pages", seen)
	}
	// And the manager does see their own venue's activity.
	if code, body := oe.do("GET", "/api/v1/activity?unit=27991", "managerb", nil); code != http.StatusOK || !strings.Contains(body, "Quán cà phê Mai") {
		t.Fatalf("own activity: %d %s", code, body)
	}
}

// leaks reports whether an answer names managera's venue.
func leaks(body, id string) bool {
	return strings.Contains(body, "Chợ Bến Lức") || strings.Contains(body, `"venue_id":`+id+`,`)
}

// publicBody is what an anonymous visitor gets at u.
func publicBody(t *testing.T, u string) string {
	t.Helper()
	_, b := get(t, http.DefaultClient, u)
	return b
}

// between returns the text of s after the first start and up to the next end.
func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(after, end)
	return v
}
