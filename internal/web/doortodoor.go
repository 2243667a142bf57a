package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/doortodoor"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/poster"
	"anticovid/internal/sheet"
)

// routesDoorToDoor registers the door-to-door drive's officer pages: the
// coverage of a unit (hamlets of a commune, communes of a district), the
// commune's hamlets, households, teams and their one-day links, and the
// households still to visit. The volunteers' phone page is
// doortodoor_volunteer.go.
func (s *Server) routesDoorToDoor() {
	if s.DoorToDoor == nil {
		return
	}
	s.api("GET", "/api/v1/door-to-door/coverage", s.apiDoorCoverage)
	s.page("GET /door-to-door", true, s.doorPage)
	s.page("GET /door-to-door/todo", true, s.doorTodoPage)
	s.page("GET /door-to-door/cards", true, s.doorCardsPage)
	s.page("POST /door-to-door/cards/print", true, s.doorCardsPrint)
	s.page("POST /door-to-door/hamlets", true, s.doorHamletForm)
	s.page("POST /door-to-door/households", true, s.doorHouseholdForm)
	s.page("POST /door-to-door/import", true, s.doorImportForm)
	s.page("POST /door-to-door/teams", true, s.doorTeamForm)
	s.page("POST /door-to-door/teams/{id}/link", true, s.doorLinkForm)
	s.page("POST /door-to-door/teams/{id}/revoke", true, s.doorRevokeForm)
	s.routesDoorVolunteer()
}

// mayDoor is the menu's rule: officers of a commune or district (and the
// province's administrators) follow the drive.
func mayDoor(s *Server, p *auth.Principal) bool {
	return doortodoor.CanView(p, s.homeUnit(p))
}

func (s *Server) doorUnit(r *http.Request) string {
	if u := r.URL.Query().Get("unit"); u != "" {
		return u
	}
	return s.homeUnit(auth.From(r.Context()))
}

func (s *Server) apiDoorCoverage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.DoorToDoor.Coverage(r.Context(), auth.From(r.Context()), s.doorUnit(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// doorRow is one area of the coverage table, numbers formatted.
type doorRow struct {
	Key, Name, Code                                       string
	Households, Visited, Attempted, Installs, Decls, NoSP string
	Percent                                               int64
	Lat, Lng                                              string // "" without coordinates
}

func toDoorRow(a doortodoor.Area) doorRow {
	row := doorRow{Key: a.Key, Name: a.Name, Households: formatNumber(int(a.Households)), Visited: formatNumber(int(a.Visited)),
		Attempted: formatNumber(int(a.Attempted)), Installs: formatNumber(int(a.Installs)), Decls: formatNumber(int(a.Declarations)),
		NoSP: formatNumber(int(a.NoSmartphone)), Percent: a.Percent()}
	if _, ok := geo.Get(a.Key); ok {
		row.Code = a.Key
	}
	if a.Lat != nil && a.Lng != nil {
		row.Lat, row.Lng = strconv.FormatFloat(*a.Lat, 'f', 6, 64), strconv.FormatFloat(*a.Lng, 'f', 6, 64)
	}
	return row
}

func (s *Server) doorPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderDoor(w, r, http.StatusOK, nil)
}

// renderDoor renders the coverage page of the unit asked, with the
// commune's management forms for those who run its drive.
func (s *Server) renderDoor(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ctx, p := r.Context(), auth.From(r.Context())
	unit := s.doorUnit(r)
	c, err := s.DoorToDoor.Coverage(ctx, p, unit)
	if err != nil {
		return err
	}
	u, _ := geo.Get(unit)
	data := map[string]any{"UnitCode": unit, "UnitName": u.Name, "Path": openPath(p, unit), "Commune": u.Level == "commune",
		"Total": toDoorRow(doortodoor.Area{Figures: c.Total}), "Tiles": s.Config.MapTiles, "Attribution": s.Config.MapAttribution,
		"Done": r.URL.Query().Get("done"), "Cards": u.Level == "commune" || u.Level == "district"}
	var rows []doorRow
	mapped := false
	for _, a := range c.Parts {
		row := toDoorRow(a)
		mapped = mapped || row.Lat != ""
		rows = append(rows, row)
	}
	data["Rows"], data["Mapped"] = rows, mapped && s.Config.MapTiles != ""
	if doortodoor.CanManage(p, unit) {
		hamlets, err := s.DoorToDoor.Hamlets(ctx, p, unit)
		if err != nil {
			return err
		}
		teams, err := s.DoorToDoor.Teams(ctx, p, unit)
		if err != nil {
			return err
		}
		names := map[int64]string{}
		for _, h := range hamlets {
			names[h.ID] = h.Name
		}
		type teamRow struct {
			doortodoor.Team
			Hamlet string
		}
		var trs []teamRow
		for _, t := range teams {
			trs = append(trs, teamRow{t, names[t.HamletID]})
		}
		data["Manage"], data["Hamlets"], data["Teams"] = true, hamlets, trs
	}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, status, "doortodoor", data)
	return nil
}

// doorFormErr renders the page with an invalid form's messages, or
// returns any other error.
func (s *Server) doorFormErr(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, errs.ErrInvalid) {
		return s.renderDoor(w, r, http.StatusBadRequest, map[string]any{"Errors": errs.FieldsOf(err)})
	}
	return err
}

// doorDone sends the browser back to the page it posted from (POST,
// redirect, GET), with a note for it to show.
func doorDone(w http.ResponseWriter, r *http.Request, unit, note string) error {
	http.Redirect(w, r, "/door-to-door?unit="+url.QueryEscape(unit)+"&done="+note+"#manage", http.StatusSeeOther)
	return nil
}

func optFloat(s string) (*float64, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if s == "" {
		return nil, true
	}
	f, err := strconv.ParseFloat(s, 64)
	return &f, err == nil
}

func (s *Server) doorHamletForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("door hamlet form: %w", errs.ErrTooLarge)
	}
	unit := s.doorUnit(r)
	lat, ok1 := optFloat(r.PostFormValue("lat"))
	lng, ok2 := optFloat(r.PostFormValue("lng"))
	if !ok1 || !ok2 {
		return s.doorFormErr(w, r, &errs.Invalid{Fields: map[string]string{"lat": msg.Both("door.coordinates")}})
	}
	if _, err := s.DoorToDoor.AddHamlet(r.Context(), auth.From(r.Context()), unit, r.PostFormValue("name"), lat, lng); err != nil {
		return s.doorFormErr(w, r, err)
	}
	return doorDone(w, r, unit, "hamlet")
}

func (s *Server) doorHouseholdForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("door household form: %w", errs.ErrTooLarge)
	}
	unit := s.doorUnit(r)
	n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("residents")))
	if err != nil && r.PostFormValue("residents") != "" {
		return s.doorFormErr(w, r, &errs.Invalid{Fields: map[string]string{"residents": msg.Both("door.residents")}})
	}
	h := doortodoor.NewHousehold{Hamlet: r.PostFormValue("hamlet"), Address: r.PostFormValue("address"), Residents: n}
	if _, err := s.DoorToDoor.AddHouseholds(r.Context(), auth.From(r.Context()), unit, []doortodoor.NewHousehold{h}); err != nil {
		return s.doorFormErr(w, r, err)
	}
	return doorDone(w, r, unit, "household")
}

func (s *Server) doorImportForm(w http.ResponseWriter, r *http.Request) error {
	file, _, err := r.FormFile("file")
	if err != nil {
		if errors.Is(err, http.ErrMissingFile) {
			return s.doorFormErr(w, r, &errs.Invalid{Fields: map[string]string{"file": msg.Both("web.upload.choose_file2")}})
		}
		return fmt.Errorf("door import form: %w", errs.ErrTooLarge)
	}
	defer file.Close()
	n, err := s.DoorToDoor.Import(r.Context(), auth.From(r.Context()), s.doorUnit(r), io.LimitReader(file, sheet.MaxUpload))
	if err != nil {
		return s.doorFormErr(w, r, err)
	}
	return s.renderDoor(w, r, http.StatusOK, map[string]any{"Added": n})
}

func (s *Server) doorTeamForm(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("door team form: %w", errs.ErrTooLarge)
	}
	unit := s.doorUnit(r)
	hamlet, _ := strconv.ParseInt(r.PostFormValue("hamlet_id"), 10, 64)
	if _, err := s.DoorToDoor.AddTeam(r.Context(), auth.From(r.Context()), unit, r.PostFormValue("name"), hamlet); err != nil {
		return s.doorFormErr(w, r, err)
	}
	return doorDone(w, r, unit, "team")
}

// doorLinkForm makes a team's one-day link and shows it once (it is not
// stored: a lost link is replaced by a new one, a leaked one by revoking
// the team).
func (s *Server) doorLinkForm(w http.ResponseWriter, r *http.Request) error {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	tok, exp, err := s.DoorToDoor.Link(r.Context(), auth.From(r.Context()), id)
	if err != nil {
		return err
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	return s.renderDoor(w, r, http.StatusOK, map[string]any{"Link": s.Config.PublicURL() + "/di-tung-nha/" + tok, "LinkTeam": id, "LinkUntil": localTimeOf(exp)})
}

func (s *Server) doorRevokeForm(w http.ResponseWriter, r *http.Request) error {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err := s.DoorToDoor.RevokeTeam(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	return doorDone(w, r, s.doorUnit(r), "revoked")
}

func (s *Server) doorTodoPage(w http.ResponseWriter, r *http.Request) error {
	unit := s.doorUnit(r)
	list, err := s.DoorToDoor.ToVisit(r.Context(), auth.From(r.Context()), unit)
	if err != nil {
		return err
	}
	u, _ := geo.Get(unit)
	s.render(w, r, http.StatusOK, "doortodoor_todo", map[string]any{"UnitCode": unit, "UnitName": u.Name, "Households": list, "Count": len(list)})
	return nil
}

// doorCardsPage lists the personal QR cards of declarations filled in with
// help whose QR is still valid: those not yet printed, or with ?printed=1
// those printed already, to print again (a hamlet's or a team's when
// asked). The names are read, and the read audited, by doortodoor.Cards.
func (s *Server) doorCardsPage(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), auth.From(r.Context())
	unit := s.doorUnit(r)
	var f doortodoor.CardFilter
	f.Hamlet, _ = strconv.ParseInt(r.URL.Query().Get("hamlet"), 10, 64)
	f.Team, _ = strconv.ParseInt(r.URL.Query().Get("team"), 10, 64)
	f.Printed = r.URL.Query().Get("printed") == "1"
	cards, err := s.DoorToDoor.Cards(ctx, p, unit, f)
	if err != nil {
		return err
	}
	u, _ := geo.Get(unit)
	data := map[string]any{"UnitCode": unit, "UnitName": u.Name, "Cards": cards, "Count": len(cards), "Hamlet": f.Hamlet, "Team": f.Team, "Printed": f.Printed}
	if u.Level == "commune" {
		hamlets, err := s.DoorToDoor.Hamlets(ctx, p, unit)
		if err != nil {
			return err
		}
		teams, err := s.DoorToDoor.Teams(ctx, p, unit)
		if err != nil {
			return err
		}
		data["Hamlets"], data["Teams"] = hamlets, teams
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "doortodoor_cards", data)
	return nil
}

// doorCardsPrint prints the cards the officer saw as one PDF, eight to an
// A4 page: new cards, or printed ones again. The PDF is made first; only
// then does doortodoor.PrintCards mark the new ones printed, so a failed
// render loses none (and a download lost after that is printed again from
// the printed list).
func (s *Server) doorCardsPrint(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("door cards print: %w", errs.ErrTooLarge)
	}
	var buf bytes.Buffer
	err := s.DoorToDoor.PrintCards(r.Context(), auth.From(r.Context()), r.PostForm["id"], func(cards []doortodoor.Card) error {
		out := make([]poster.Card, len(cards))
		for i, c := range cards {
			out[i] = poster.Card{URL: c.URL, Name: c.Name, Hamlet: c.Hamlet, Expires: c.Expires.In(hcm).Format("02/01/2006")}
		}
		return poster.Cards(&buf, out)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="the-qr-ca-nhan.pdf"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
	return nil
}
