package cases

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/people"
	"anticovid/internal/sheet"
)

// Row statuses of a laboratory import.
const (
	RowNew       = "new_person"         // nobody known with this phone or ID: a person is created
	RowExisting  = "existing_person"    // found by phone or ID number
	RowDuplicate = "duplicate_in_file"  // same phone or ID number as an earlier row
	RowAlready   = "already_case"       // the person is an F0 already
	RowPossible  = "possible_duplicate" // same name and year of birth in the commune: a person decides
	RowInvalid   = "invalid"
)

// ImportRow is one line of a laboratory's positive list and what will be
// done with it.
type ImportRow struct {
	Line       int               `json:"line"`
	Name       string            `json:"name"`
	Phone      string            `json:"phone,omitempty"`
	IDNumber   string            `json:"id_number,omitempty"`
	BirthYear  int               `json:"birth_year,omitempty"`
	Commune    string            `json:"commune_code,omitempty"`
	SampleDate string            `json:"sample_date,omitempty"`
	OnsetDate  string            `json:"onset_date,omitempty"`
	Status     string            `json:"status"`
	Errors     map[string]string `json:"errors,omitempty"`
	PersonID   int64             `json:"person_id,omitempty"`
	CaseID     int64             `json:"case_id,omitempty"`
	Candidates []Candidate       `json:"candidates,omitempty"`
}

// Candidate is a known person a row may be: shown to the tracer who decides.
type Candidate struct {
	PersonID  int64  `json:"person_id"`
	BirthYear int    `json:"birth_year"`
	Phone     string `json:"phone_masked"`
}

// Import is an uploaded list and its rows' analysis.
type Import struct {
	ID       int64          `json:"id"`
	Filename string         `json:"filename"`
	Status   string         `json:"status"`
	Rows     []ImportRow    `json:"rows"`
	Counts   map[string]int `json:"counts"`
}

// MaxImportBytes bounds an uploaded list (a day's positives of a province
// are a few thousand rows).
const MaxImportBytes = 5 << 20

// columns maps folded header names to fields.
var columns = map[string]string{
	"ho ten": "name", "ho va ten": "name", "name": "name", "full name": "name",
	"so dien thoai": "phone", "dien thoai": "phone", "sdt": "phone", "phone": "phone",
	"cccd": "id_number", "cmnd": "id_number", "cccd/cmnd": "id_number", "so cccd": "id_number", "so giay to": "id_number", "id_number": "id_number", "id number": "id_number",
	"nam sinh": "birth_year", "birth_year": "birth_year", "year of birth": "birth_year",
	"ma xa": "commune_code", "ma xa/phuong": "commune_code", "commune_code": "commune_code", "commune": "commune_code",
	"ngay lay mau": "sample_date", "sample_date": "sample_date", "sample date": "sample_date",
	"ngay khoi phat": "onset_date", "onset_date": "onset_date", "onset date": "onset_date",
}

// analyse validates every row and classifies it. Nothing is written.
func (s *Service) analyse(ctx context.Context, p *auth.Principal, filename string, data []byte) ([]ImportRow, error) {
	table, err := sheet.Read(ctx, data, sheet.Options{MaxRows: 5002}) // one past the limit below, which says it in this import's words
	if err != nil {
		return nil, fmt.Errorf("read import: %w", err)
	}
	if len(table) < 2 {
		return nil, &errs.Invalid{Fields: map[string]string{"file": msg.Both("cases.file_has_no_data")}}
	}
	idx := map[string]int{}
	for i, h := range table[0] {
		if f, ok := columns[people.Fold(strings.TrimPrefix(h, "\ufeff"))]; ok {
			idx[f] = i
		}
	}
	var missing []string
	for _, need := range []string{"name", "birth_year", "commune_code", "sample_date"} {
		if _, ok := idx[need]; !ok {
			missing = append(missing, need)
		}
	}
	_, hasPhone := idx["phone"]
	_, hasID := idx["id_number"]
	if !hasPhone && !hasID {
		missing = append(missing, "phone/id_number")
	}
	if len(missing) > 0 {
		return nil, &errs.Invalid{Fields: map[string]string{"file": msg.Both("cases.missing_columns") + ": " + strings.Join(missing, ", ") +
			" (" + msg.T("vi", "cases.import_columns") + ")"}}
	}
	if len(table) > 5001 {
		return nil, &errs.Invalid{Fields: map[string]string{"file": msg.Both("cases.at_most_5_000")}}
	}
	get := func(rec []string, field string) string {
		i, ok := idx[field]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	now := s.Now()
	seenPhone, seenID := map[string]int{}, map[string]int{}
	var rows []ImportRow
	for n, rec := range table[1:] {
		empty := true
		for _, c := range rec {
			if strings.TrimSpace(c) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		r := ImportRow{Line: n + 2, Name: strings.Join(strings.Fields(get(rec, "name")), " "), Commune: get(rec, "commune_code"),
			SampleDate: get(rec, "sample_date"), OnsetDate: get(rec, "onset_date")}
		f := errs.Fields{}
		if n := len([]rune(r.Name)); n < 2 || n > 100 {
			f.Add("name", msg.Both("cases.name_2_to_100"))
		}
		if ph := get(rec, "phone"); ph != "" {
			if normalized, err := people.NormalizePhone(ph); err != nil {
				f.Add("phone", msg.Both("cases.invalid_phone_number"))
			} else {
				r.Phone = normalized
			}
		}
		if idn, ok := people.NormalizeIDNumber(get(rec, "id_number")); !ok {
			f.Add("id_number", msg.Both("cases.invalid_id_number"))
		} else {
			r.IDNumber = idn
		}
		if r.Phone == "" && r.IDNumber == "" && f["phone"] == "" && f["id_number"] == "" {
			f.Add("phone", msg.Both("cases.phone_or_id_number"))
		}
		if y, err := strconv.Atoi(get(rec, "birth_year")); err != nil || y < now.Year()-120 || y > now.Year() {
			f.Add("birth_year", msg.Both("cases.invalid_year_birth"))
		} else {
			r.BirthYear = y
		}
		if u, ok := geo.Get(r.Commune); !ok || u.Level != "commune" {
			f.Add("commune_code", msg.Both("cases.unknown_commune_code"))
		} else if !p.InJurisdiction(r.Commune) {
			f.Add("commune_code", msg.Both("cases.commune_outside_jurisdiction"))
		}
		nc := NewCase{Status: F0, SampleDate: r.SampleDate, OnsetDate: r.OnsetDate}
		_, df := s.validate(&nc)
		for k, v := range df {
			f.Add(k, v)
		}
		if len(f) > 0 {
			r.Status, r.Errors = RowInvalid, f
			rows = append(rows, r)
			continue
		}
		if line, ok := seenPhone[r.Phone]; ok && r.Phone != "" {
			r.Status, r.Errors = RowDuplicate, map[string]string{"phone": msg.Both("cases.same_phone_as_line", line)}
		} else if line, ok := seenID[r.IDNumber]; ok && r.IDNumber != "" {
			r.Status, r.Errors = RowDuplicate, map[string]string{"id_number": msg.Both("cases.same_id_number_as", line)}
		}
		if r.Phone != "" {
			seenPhone[r.Phone] = r.Line
		}
		if r.IDNumber != "" {
			seenID[r.IDNumber] = r.Line
		}
		if r.Status == "" {
			if err := s.classify(ctx, &r); err != nil {
				return nil, err
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// classify finds a valid row's person: by phone or ID number, else by the
// same name and year of birth in the same commune (a person decides).
func (s *Service) classify(ctx context.Context, r *ImportRow) error {
	var ids []int64
	if r.Phone != "" {
		ids = s.idsBy(ctx, "phone_hash", s.Vault.Hash(r.Phone))
	}
	if len(ids) == 0 && r.IDNumber != "" {
		ids = s.idsBy(ctx, "id_number_hash", s.Vault.Hash(r.IDNumber))
	}
	if len(ids) > 0 {
		r.PersonID, r.Status = ids[0], RowExisting
		var caseID int64
		err := s.DB.R.QueryRowContext(ctx, "SELECT id FROM cases WHERE person_id = $1 AND status = 'F0' ORDER BY id DESC LIMIT 1", r.PersonID).Scan(&caseID)
		if err == nil {
			r.Status, r.CaseID = RowAlready, caseID
			r.Errors = map[string]string{"person": msg.Both("cases.already_f0_case", caseID)}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("import: %w", err)
		}
		return nil
	}
	found, err := s.People.BornIn(ctx, r.Commune, r.BirthYear, 2000)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	want := people.Fold(r.Name)
	for _, n := range found {
		if people.Fold(n.Name) == want {
			r.Candidates = append(r.Candidates, Candidate{PersonID: n.ID, BirthYear: r.BirthYear, Phone: people.MaskPhone(n.Phone)})
		}
	}
	if len(r.Candidates) > 0 {
		r.Status = RowPossible
	} else {
		r.Status = RowNew
	}
	return nil
}

func counts(rows []ImportRow) map[string]int {
	c := map[string]int{}
	for _, r := range rows {
		c[r.Status]++
	}
	return c
}

// PreviewImport checks an uploaded list and keeps it (sealed: it holds names
// and phones) until CommitImport; nothing else is written.
func (s *Service) PreviewImport(ctx context.Context, p *auth.Principal, filename string, data []byte) (Import, error) {
	if !CanTrace(p) {
		return Import{}, fmt.Errorf("import: %w", errs.ErrForbidden)
	}
	if len(data) > MaxImportBytes {
		return Import{}, fmt.Errorf("import: %w", errs.ErrTooLarge)
	}
	rows, err := s.analyse(ctx, p, filename, data)
	if err != nil {
		return Import{}, fmt.Errorf("import: %w", err)
	}
	if len([]rune(filename)) > 200 {
		filename = string([]rune(filename)[:200])
	}
	imp := Import{Filename: filename, Status: "preview", Rows: rows, Counts: counts(rows)}
	err = s.DB.W.QueryRowContext(ctx, `INSERT INTO case_imports (user_id, filename, data_enc, status, created_at) VALUES ($1, $2, $3, 'preview', $4) RETURNING id`,
		p.UserID, filename, s.Vault.Seal(string(data)), s.Now().Unix()).Scan(&imp.ID)
	if err != nil {
		return Import{}, fmt.Errorf("import: %w", err)
	}
	return imp, nil
}

// loadImport returns an upload of p's, with its file.
func (s *Service) loadImport(ctx context.Context, p *auth.Principal, id int64) (Import, []byte, error) {
	var imp Import
	var user int64
	var sealed []byte
	err := s.DB.R.QueryRowContext(ctx, "SELECT id, user_id, filename, data_enc, status FROM case_imports WHERE id = $1", id).
		Scan(&imp.ID, &user, &imp.Filename, &sealed, &imp.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return Import{}, nil, fmt.Errorf("import %d: %w", id, errs.ErrNotFound)
	}
	if err != nil {
		return Import{}, nil, fmt.Errorf("import %d: %w", id, err)
	}
	if user != p.UserID {
		return Import{}, nil, fmt.Errorf("import %d: %w", id, errs.ErrForbidden)
	}
	data, err := s.Vault.Open(sealed)
	if err != nil {
		return Import{}, nil, fmt.Errorf("import %d: %w", id, err)
	}
	return imp, []byte(data), nil
}

// GetImport analyses a kept upload again (the registry may have changed).
func (s *Service) GetImport(ctx context.Context, p *auth.Principal, id int64) (Import, error) {
	if !CanTrace(p) {
		return Import{}, fmt.Errorf("import: %w", errs.ErrForbidden)
	}
	imp, data, err := s.loadImport(ctx, p, id)
	if err != nil {
		return Import{}, err
	}
	if imp.Rows, err = s.analyse(ctx, p, imp.Filename, data); err != nil {
		return Import{}, fmt.Errorf("import: %w", err)
	}
	imp.Counts = counts(imp.Rows)
	return imp, nil
}

// Decision on a possibly duplicated row: "new" (a different person),
// "same:ID" (one of the candidates), or "skip".
const (
	DecideNew  = "new"
	DecideSkip = "skip"
)

// CommitImport registers the F0 of every row that can be: new people are
// created, known ones linked; possible duplicates follow decisions (by line)
// and are skipped without one. Each row is its own transaction (a bad row
// does not undo the others), and the outcome is reported per row.
func (s *Service) CommitImport(ctx context.Context, p *auth.Principal, id int64, decisions map[int]string) (Import, error) {
	imp, err := s.GetImport(ctx, p, id)
	if err != nil {
		return Import{}, err
	}
	if imp.Status == "committed" {
		return Import{}, fmt.Errorf("import %d: %w", id, &errs.Invalid{Fields: map[string]string{"import": msg.Both("cases.list_was_imported_already")}})
	}
	for i := range imp.Rows {
		r := &imp.Rows[i]
		var person int64
		switch r.Status {
		case RowExisting:
			person = r.PersonID
		case RowNew:
		case RowPossible:
			d := decisions[r.Line]
			switch {
			case d == DecideNew:
			case strings.HasPrefix(d, "same:"):
				want, _ := strconv.ParseInt(strings.TrimPrefix(d, "same:"), 10, 64)
				for _, c := range r.Candidates {
					if c.PersonID == want {
						person = want
					}
				}
				if person == 0 {
					r.Errors = map[string]string{"decision": msg.Both("cases.chosen_person_not_candidate")}
					continue
				}
			default:
				r.Errors = map[string]string{"decision": msg.Both("cases.undecided_skipped")}
				continue
			}
		default:
			continue
		}
		if person == 0 {
			person, err = s.People.FindOrCreate(ctx, people.Person{Name: r.Name, Phone: r.Phone, IDNumber: r.IDNumber, BirthYear: r.BirthYear, Commune: r.Commune})
			if err != nil {
				r.Errors = errs.FieldsOf(err)
				if r.Errors == nil {
					return Import{}, fmt.Errorf("import row %d: %w", r.Line, err)
				}
				continue
			}
		}
		c, err := s.Create(ctx, p, NewCase{PersonID: person, Status: F0, SampleDate: r.SampleDate, OnsetDate: r.OnsetDate, Note: msg.T("vi", "cases.imported_from_test_list") + imp.Filename})
		if err != nil {
			if r.Errors = errs.FieldsOf(err); r.Errors == nil {
				r.Errors = map[string]string{"case": msg.Both("cases.could_not_create_case")}
				s.Log.Error("import row", "line", r.Line, "err", err)
			}
			continue
		}
		r.PersonID, r.CaseID, r.Status = person, c.ID, "created"
	}
	imp.Counts = counts(imp.Rows)
	imp.Status = "committed"
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE case_imports SET status = 'committed', result = $1 WHERE id = $2",
		fmt.Sprint(imp.Counts), id); err != nil {
		return Import{}, fmt.Errorf("import %d: %w", id, err)
	}
	return imp, nil
}

// ImportTemplate is an empty CSV with the expected columns (UTF-8 with a
// BOM, so Excel shows the Vietnamese headers). Dates are DD/MM/YYYY or
// YYYY-MM-DD; the commune is its GSO code.
var ImportTemplate = func() string {
	var b strings.Builder
	sheet.WriteCSV(&b, [][]string{strings.Split(msg.T("vi", "cases.import_header"), ",")})
	return b.String()
}()
