package web

import (
	"time"

	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/declaration"
	"anticovid/internal/msg"
	"anticovid/internal/people"
)

// apiExamples are request examples of the operations an integrator starts
// with, in Vietnamese (names and texts from the catalog): values of the very
// types the handlers decode, so the validator checks them against their
// schemas like any request.
var apiExamples = map[string]func() any{
	"checkIn": func() any {
		at := time.Date(2021, 8, 1, 3, 15, 0, 0, time.UTC)
		return checkin.Request{ID: "6f1c1d2e-0b7a-4f5e-9a51-2d8c3e4f5a61", Token: "AQAAAAEAAAAB.3q2-7w", Direction: "in", At: &at,
			Person: &people.Person{Name: msg.T("vi", "api.example.name"), Phone: "0912000111", BirthYear: 1988, Commune: "27991"}}
	},
	"declareHealth": func() any {
		return declaration.Input{ID: "0b8e2d7c-5a41-4c3e-8f2b-7d6e5c4b3a29", Kind: declaration.KindResident, Name: msg.T("vi", "api.example.name"),
			BirthYear: 1988, Sex: "female", Nationality: "VN", IDNumber: "080188000123", Phone: "0912000111", CommuneCode: "27991",
			Street: msg.T("vi", "api.example.street"), Symptoms: []string{"fever"}, VaccineDoses: new(2)}
	},
	"createCase": func() any {
		var in caseInput
		in.Person.Phone, in.Status, in.SampleDate, in.IsolationKind = "0912000111", "F0", "2021-08-01", cases.IsolationFacility
		in.Note = msg.T("vi", "api.example.case_note")
		return in
	},
	"requestAccess": func() any {
		return cases.GrantRequest{CaseID: 42, Scope: cases.ScopeContacts, Purpose: msg.T("vi", "api.example.purpose"), Days: 3}
	},
	"recordContactCall": func() any {
		return callInput{Outcome: cases.OutcomeHome, Note: msg.T("vi", "api.example.call_note")}
	},
	"exportCaseContacts": func() any {
		return exportRequest{Format: "csv", Purpose: msg.T("vi", "api.example.purpose")}
	},
}
