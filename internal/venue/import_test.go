package venue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/sheet/sheettest"
	"anticovid/internal/sqldb"
	"anticovid/internal/store/storetest"
	"anticovid/internal/vault"
)

func newService(t *testing.T, db *sqldb.DB) *Service {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &Service{DB: db, Vault: v, Province: "80"}
}

func countVenues(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.R.QueryRow("SELECT count(*) FROM venues").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	benluc   = &auth.Principal{UserID: 1, Username: "benluc", Role: auth.DistrictOfficer, Unit: "803"}
	communeA = &auth.Principal{UserID: 2, Username: "communea", Role: auth.CommuneOfficer, Unit: "27991"}
	trade    = &auth.Principal{UserID: 3, Username: "trade", Role: auth.DepartmentOfficer, Unit: "80", Department: "industry_trade"}
)

// A CSV written by Excel (byte order mark, Vietnamese) with one bad row among
// good ones stores nothing and reports exactly that row; fixed, it imports.
func TestImportCSVAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db)
		csv := "\ufeffname,category,commune_code,address,lat,lon,contact_name,contact_phone,capacity,opening_hours,starts_at,ends_at,plate,route\r\n" +
			"Chợ Bến Lức,market,27991,Quốc lộ 1A,10.6345,106.4801,Chị Lan,912345678,1.200,05:00–19:00,,,,\r\n" +
			"Đám cưới anh Tú,Đám cưới,27994,Ấp 3,,,,,300,,2021-08-01 17:00,01/08/2021 21:30,,\r\n" +
			"Xe buýt số 3,bus,27991,,,,,,40,,,,,Tân An – Bến Lức\r\n" + // no plate: bad
			",,,,,,,,,,,,,\r\n" + // blank: skipped
			"Tạp hóa Cô Ba,shop,27991,\"12, đường 30/4\",,,,,,,,,,\r\n"
		rows, err := ReadRows(strings.NewReader(csv))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || rows[3].Line != 6 || rows[0].Cells["name"] != "Chợ Bến Lức" {
			t.Fatalf("rows: %+v", rows)
		}
		_, err = s.Import(ctx, benluc, rows)
		var ie *ImportError
		if !errors.As(err, &ie) || !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("want an import report, got %v", err)
		}
		if len(ie.Rows) != 1 || ie.Rows[0].Row != 4 || ie.Rows[0].Fields["plate"] == "" || len(ie.Rows[0].Fields) != 1 {
			t.Fatalf("report: %+v", ie.Rows)
		}
		if n := countVenues(t, db); n != 0 {
			t.Fatalf("%d venues stored from a refused file", n)
		}

		fixed := strings.Replace(csv, ",,,,,Tân An", ",,,,62B-012.34,Tân An", 1)
		rows, err = ReadRows(strings.NewReader(fixed))
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Import(ctx, benluc, rows)
		if err != nil || n != 4 {
			t.Fatalf("import: %d %v", n, err)
		}
		list, err := s.List(ctx, benluc, Filter{})
		if err != nil || len(list) != 4 {
			t.Fatalf("list: %d %v", len(list), err)
		}
		m := list[0]
		if m.ContactPhone != "" {
			t.Fatalf("a list carries the contact's phone: %+v", m)
		}
		m, _ = s.Get(ctx, benluc, m.ID) // one venue's page shows it
		if m.Name != "Chợ Bến Lức" || m.Status != StatusApproved || m.ContactPhone != "0912345678" || m.Capacity != 1200 ||
			m.Lat == nil || *m.Lat != 10.6345 || m.DistrictCode != "803" || m.OpeningHours != "05:00–19:00" {
			t.Fatalf("market: %+v", m)
		}
		w := list[1]
		want := time.Date(2021, 8, 1, 10, 0, 0, 0, time.UTC) // 17:00 in Vietnam
		if w.Category != "wedding" || w.StartsAt == nil || !w.StartsAt.Equal(want) || !w.EndsAt.Equal(want.Add(4*time.Hour+30*time.Minute)) {
			t.Fatalf("wedding: %+v", w)
		}
		if list[2].Plate != "62B-012.34" || list[2].Route != "Tân An – Bến Lức" || list[3].Address != "12, đường 30/4" {
			t.Fatalf("bus/shop: %+v %+v", list[2], list[3])
		}
	})
}

// Rows outside the importer's commune, province or sector are reported, not
// stored; callers without an officer role may not import at all.
func TestImportJurisdiction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db)
		csv := "name;category;commune_code\n" + // semicolons, as some locales save
			"Chợ Thạnh Lợi;market;27994\n" + // another commune than communea's
			"Chợ Hàng Da;market;00004\n" + // Hà Nội
			"Trường THCS Bến Lức;school;27991\n" + // not trade's sector
			"Chợ mới;market;27991\n"
		rows, err := ReadRows(strings.NewReader(csv))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Import(ctx, communeA, rows)
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 2 {
			t.Fatalf("communea: %v", err)
		}
		for i, want := range []string{"ngoài địa bàn", "không thuộc tỉnh"} {
			if got := ie.Rows[i].Fields["commune_code"]; ie.Rows[i].Row != i+2 || !strings.Contains(got, want) {
				t.Errorf("row %d: %q, want %q", ie.Rows[i].Row, got, want)
			}
		}
		_, err = s.Import(ctx, trade, rows)
		if !errors.As(err, &ie) || len(ie.Rows) != 2 || ie.Rows[1].Row != 4 || !strings.Contains(ie.Rows[1].Fields["category"], "lĩnh vực") {
			t.Fatalf("trade: %v %+v", err, ie)
		}
		manager := &auth.Principal{UserID: 9, Role: auth.VenueManager, Unit: "27991"}
		if _, err := s.Import(ctx, manager, rows[3:]); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("manager import: %v", err)
		}
		if n := countVenues(t, db); n != 0 {
			t.Fatalf("%d venues stored", n)
		}
	})
}

func TestReadFileErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, field string }{
		"empty":            {"", "Tệp trống"},
		"header only":      {"\ufeffname,category,commune_code\n", "không có dòng dữ liệu"},
		"unknown column":   {"name,category,commune_code,ward\nA,market,27991,x\n", "Cột không rõ “ward”"},
		"missing required": {"name,category\nA,market\n", "commune_code"},
		"duplicate column": {"name,name,category,commune_code\n", "hai lần"},
		"not UTF-8":        {"name,category,commune_code\nCh\xe1 B\xe9n,market,27991\n", "UTF-8"},
		"stray cell":       {"name,category,commune_code\nA,market,27991,extra\n", "không có tiêu đề"},
		"bad quotes":       {"name,category,commune_code\n\"A,market,27991\n", "CSV"},
		"bad xlsx":         {"PK\x03\x04garbage", "Excel"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRows(strings.NewReader(tc.in))
			if msg := errs.FieldsOf(err)["file"]; !strings.Contains(msg, tc.field) {
				t.Fatalf("got %v, want file error with %q", err, tc.field)
			}
		})
	}
}

// The downloadable XLSX template, filled in as a person would in Excel (a
// real date cell, a number that lost its leading zero), imports.
func TestImportXLSXTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db)
		var tmpl bytes.Buffer
		if err := WriteTemplateXLSX(&tmpl, "80"); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadRows(bytes.NewReader(tmpl.Bytes())); !strings.Contains(errs.FieldsOf(err)["file"], "không có dòng dữ liệu") {
			t.Fatalf("empty template: %v", err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(tmpl.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		sheets := f.GetSheetList()
		if len(sheets) != 4 || sheets[0] != "Địa điểm" {
			t.Fatalf("sheets %v", sheets)
		}
		if code, _ := f.GetCellValue("Xã phường", "A2"); code == "" {
			t.Fatal("no communes listed")
		}
		if dvs, _ := f.GetDataValidations("Địa điểm"); len(dvs) != 2 {
			t.Fatalf("%d drop-down lists", len(dvs))
		}
		sh := sheets[0]
		f.SetSheetRow(sh, "A2", &[]any{"Hội nghị tập huấn phòng dịch", "meeting", "27991", "Hội trường UBND"})
		f.SetCellValue(sh, "H2", 983111222)                                     // typed as a number
		f.SetCellValue(sh, "K2", time.Date(2021, 8, 2, 8, 0, 0, 0, time.UTC))   // a date cell
		f.SetCellValue(sh, "L2", time.Date(2021, 8, 2, 11, 30, 0, 0, time.UTC)) // (wall-clock time)
		f.SetSheetRow(sh, "A3", &[]any{"Phà Mỹ Lợi", "ferry", "27994", "Bến phà", 10.5, 106.5})
		f.SetCellValue(sh, "M3", "62-PT-001")
		var filled bytes.Buffer
		if err := f.Write(&filled); err != nil {
			t.Fatal(err)
		}
		rows, err := ReadRows(&filled)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Import(ctx, benluc, rows); err != nil || n != 2 {
			t.Fatalf("import: %d %v", n, err)
		}
		list, _ := s.List(ctx, benluc, Filter{})
		m, _ := s.Get(ctx, benluc, list[0].ID)
		start := time.Date(2021, 8, 2, 1, 0, 0, 0, time.UTC) // 08:00 Vietnam time
		if m.ContactPhone != "0983111222" || m.StartsAt == nil || !m.StartsAt.Equal(start) || !m.EndsAt.Equal(start.Add(210*time.Minute)) {
			t.Fatalf("meeting: %+v", m)
		}
		if list[1].Plate != "62-PT-001" || list[1].Lon == nil || *list[1].Lon != 106.5 {
			t.Fatalf("ferry: %+v", list[1])
		}
	})
}

func TestTemplateCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTemplateCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "\ufeffname,category,commune_code,address,lat,lon,contact_name,contact_phone,capacity,opening_hours,starts_at,ends_at,plate,route") {
		t.Fatalf("template %q", b.String())
	}
}

// Reissue moves the venue to its next QR generation within the caller's
// jurisdiction only; its manager may reissue their own venue.
func TestReissue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := newService(t, db)
		s.Signer, s.BaseURL = genSigner{}, "https://qr.test"
		users := auth.NewService(db, time.Hour)
		u, err := users.CreateUser(ctx, auth.NewUser{Username: "0912345678", Password: "mật khẩu dài đủ", Role: auth.VenueManager, Unit: "27991"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Create(ctx, &u.Principal, Venue{Name: "Tạp hóa Cô Ba", Category: "shop", CommuneCode: "27991"})
		if err != nil || v.QRGen != 1 || v.QRURL != "https://qr.test/c/v1g1" {
			t.Fatalf("create: %+v %v", v, err)
		}
		other := &auth.Principal{UserID: 99, Role: auth.CommuneOfficer, Unit: "27994"}
		if _, err := s.Reissue(ctx, other, v.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("other commune: %v", err)
		}
		tracer := &auth.Principal{UserID: 98, Role: auth.HealthTracer, Unit: "27991"}
		if _, err := s.Reissue(ctx, tracer, v.ID); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("tracer: %v", err)
		}
		r, err := s.Reissue(ctx, communeA, v.ID)
		if err != nil || r.QRGen != 2 || r.QRURL != "https://qr.test/c/v1g2" {
			t.Fatalf("reissue: %+v %v", r, err)
		}
		if r, err = s.Reissue(ctx, &u.Principal, v.ID); err != nil || r.QRGen != 3 {
			t.Fatalf("manager reissue: %+v %v", r, err)
		}
		if got, _ := s.Lookup(ctx, v.ID); got.QRGen != 3 || got.Status != StatusPending {
			t.Fatalf("stored: %+v", got)
		}
		if _, err := s.Reissue(ctx, communeA, 999999); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("missing venue: %v", err)
		}
	})
}

// genSigner makes readable tokens naming the venue and generation.
type genSigner struct{}

func (genSigner) Sign(id int64, gen int) string { return fmt.Sprintf("v%dg%d", id, gen) }

// BenchmarkImport reads and imports a 5,000-row CSV (a large district's
// list) in one transaction on SQLite.
func BenchmarkImport(b *testing.B) {
	db := storetest.SQLite(b)
	v, _ := vault.New(bytes.Repeat([]byte{3}, 32))
	s := &Service{DB: db, Vault: v, Province: "80"}
	var csv strings.Builder
	csv.WriteString("name,category,commune_code,address,contact_phone,capacity\n")
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&csv, "Cửa hàng số %d,shop,27991,Số %d đường 30/4,09%08d,%d\n", i, i, i, i%200)
	}
	data := csv.String()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := ReadRows(strings.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if got, err := s.Import(context.Background(), benluc, rows); err != nil || got != n {
			b.Fatalf("%d %v", got, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// FuzzReadRows: any upload reads into rows, each of which ParseRow checks,
// or is refused with a message on the file; nothing panics.
func FuzzReadRows(f *testing.F) {
	for _, s := range []string{
		"name,category,commune_code\nChợ Bến Thành,market,26734\n",
		"\ufeffname;category;commune_code;opens_at\nA;market;26734;01/02/2021 07:00\n",
		"name,category,commune_code\n\"A,market,27991\n",
		"PK\x03\x04garbage",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadRows(bytes.NewReader(data))
		if err != nil {
			if len(errs.FieldsOf(err)) == 0 {
				var ie *ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("refusal without a message: %v", err)
				}
			}
			return
		}
		for _, r := range rows {
			ParseRow(r)
		}
	})
}

// TestTemplatesHoldNoFormulas: the import templates go through the same
// cell guard as every other workbook the server writes.
func TestTemplatesHoldNoFormulas(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTemplateXLSX(&b, "80"); err != nil {
		t.Fatal(err)
	}
	if n := sheettest.NoFormulas(t, b.Bytes()); n < 100 {
		t.Fatalf("read only %d cells", n)
	}
	b.Reset()
	if err := WriteTemplateCSV(&b); err != nil || !strings.HasPrefix(b.String(), "\ufeffname,") {
		t.Fatalf("csv template: %q %v", b.String(), err)
	}
}
