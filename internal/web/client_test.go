package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"anticovid/internal/apiclient"
	"anticovid/internal/store/storetest"
)

// TestGeneratedClient does what an integrator does with a client generated
// from the document alone (internal/apiclient, by oapi-codegen): a phone
// declares its health, checks in at a market, another visitor checks in
// beside it; a tracer registers the first as an F0 and reads the case's
// contacts. Every call also passes the contract middleware.
func TestGeneratedClient(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	ctx := context.Background()
	public, err := apiclient.NewClientWithResponses(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tracer, err := apiclient.NewClientWithResponses(e.srv.URL, apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+e.tokens["tracera"])
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }

	decl, err := public.DeclareHealthWithResponse(ctx, apiclient.DeclareHealthJSONRequestBody{
		Id: str("c0ffee00-0001"), Kind: str("resident"), Name: str("Nguyễn Thị Mai"), BirthYear: num(1988), Sex: str("female"),
		Nationality: str("VN"), IdNumber: str("080188000123"), Phone: str("0912000111"), CommuneCode: str("27991"), Street: str("12 Đường 30/4"),
		Symptoms: &[]string{"fever"}, ContactCase: new(bool), AnimalMarket: new(bool), VaccineDoses: num(2),
	})
	if err != nil || decl.JSON201 == nil {
		t.Fatalf("declare: %v %d %s", err, decl.StatusCode(), decl.Body)
	}

	market := e.keys.Sign(e.venues["Chợ Bến Lức"], 1)
	// Scanned two hours ago and sent now (a phone that was offline): the
	// "at" field says when.
	at := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	var tokens []string
	for i, p := range []struct{ name, phone string }{{"Nguyễn Thị Mai", "0912000111"}, {"Phạm Văn Hùng", "0912000222"}} {
		in, err := public.CheckInWithResponse(ctx, apiclient.CheckInJSONRequestBody{
			Id: str("c0ffee00-010" + string(rune('0'+i))), Token: &market, Direction: str("in"), At: &at,
			Person: &apiclient.PeoplePersonRequest{Name: str(p.name), Phone: str(p.phone), BirthYear: num(1985), CommuneCode: str("27991")},
		})
		if err != nil || in.JSON201 == nil || in.JSON201.VenueName != "Chợ Bến Lức" {
			t.Fatalf("check-in %s: %v %d %s", p.name, err, in.StatusCode(), in.Body)
		}
		tokens = append(tokens, in.JSON201.PersonToken)
	}
	// A retry of the same id is the same check-in: 200, nothing new.
	again, err := public.CheckInWithResponse(ctx, apiclient.CheckInJSONRequestBody{Id: str("c0ffee00-0100"), Token: &market, Direction: str("in"), PersonToken: &tokens[0]})
	if err != nil || again.JSON200 == nil || again.JSON200.Created {
		t.Fatalf("retry: %v %d %s", err, again.StatusCode(), again.Body)
	}

	today := time.Now().In(hcm).Format("2006-01-02")
	c, err := tracer.CreateCaseWithResponse(ctx, apiclient.CreateCaseJSONRequestBody{
		Person: &struct {
			Id       *int    `json:"id,omitempty"`
			IdNumber *string `json:"id_number,omitempty"`
			Phone    *string `json:"phone,omitempty"`
		}{Phone: str("0912000111")},
		Status: str("F0"), SampleDate: &today,
	})
	if err != nil || c.JSON201 == nil {
		t.Fatalf("case: %v %d %s", err, c.StatusCode(), c.Body)
	}
	contacts, err := tracer.ListCaseContactsWithResponse(ctx, c.JSON201.Id, &apiclient.ListCaseContactsParams{})
	if err != nil || contacts.JSON200 == nil {
		t.Fatalf("contacts: %v %d %s", err, contacts.StatusCode(), contacts.Body)
	}
	if cs := contacts.JSON200.Contacts; contacts.JSON200.Total != 1 || cs == nil || len(*cs) != 1 || (*cs)[0].Phone == nil || *(*cs)[0].Phone != "0912000222" {
		t.Fatalf("contacts of the F0: %s", contacts.Body)
	}
	// An error comes back in the one error shape the document names.
	none, err := tracer.ListCaseContactsWithResponse(ctx, 424242, nil)
	if err != nil || none.JSON404 == nil || none.JSON404.Error.Code != "not_found" {
		t.Fatalf("unknown case: %v %d %s", err, none.StatusCode(), none.Body)
	}
}

// TestGeneratedClientUpToDate regenerates the client from the committed
// document and compares: a document change without go generate fails here.
func TestGeneratedClientUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "client.gen.go")
	cfg := filepath.Join(dir, "oapi-codegen.yaml")
	base, err := os.ReadFile("../apiclient/oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.Replace(base, []byte("output: client.gen.go"), []byte("output: "+out), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "oapi-codegen", "-config", cfg, "testdata/openapi.json")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	want, err := os.ReadFile("../apiclient/client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/apiclient/client.gen.go is not what the document generates: run go generate ./internal/apiclient")
	}
}

// TestExportsAsCSV: a case's contacts and a worklist come as CSV too (UTF-8
// with a byte order mark), beside XLSX and PDF, as the document says.
func TestExportsAsCSV(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	f := newTraceFixture(t, e)
	code, body := e.do("POST", "/api/v1/cases", "admin", map[string]any{"person": map[string]string{"phone": "0911000001"}, "status": "F0", "sample_date": day(f.now, 1)})
	if code != 201 {
		t.Fatalf("case: %d %s", code, body)
	}
	var c struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal([]byte(body), &c)
	for _, path := range []string{fmt.Sprintf("/api/v1/cases/%d/contacts/export", c.ID), "/api/v1/worklist/export"} {
		b, _ := json.Marshal(map[string]string{"format": "csv", "purpose": "Gửi Công an tỉnh", "state": "all"})
		req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasSuffix(resp.Header.Get("Content-Disposition"), `.csv"`) {
			t.Fatalf("%s: %d %s %s", path, resp.StatusCode, resp.Header, got)
		}
		data, ok := bytes.CutPrefix(got, []byte("\ufeff"))
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if !ok || err != nil || len(rows) < 2 || rows[0][1] != "Họ và tên" || !strings.Contains(string(data), "0911000002") {
			t.Errorf("%s: %v %q", path, err, got)
		}
	}
}
