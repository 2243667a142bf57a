package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestBenchVenues: bench venues prints one JSON line whose searches found
// what the dataset holds.
func TestBenchVenues(t *testing.T) {
	var out bytes.Buffer
	if err := benchVenues(context.Background(), []string{"--venues", "2000", "--n", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"words_province", "words_district", "phone_province", "status_district"} {
		c, ok := got[k].(map[string]any)
		if !ok || c["found"].(float64) < 1 || c["p95_ms"] == nil {
			t.Errorf("%s: %v", k, got[k])
		}
	}
}
