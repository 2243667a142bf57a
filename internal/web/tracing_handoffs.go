package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"

	"anticovid/internal/auth"
	"anticovid/internal/cases"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
)

// routesTracingHandoffs registers the hand-off of F1s who live in another
// province (province administrators): the case's province hands them over,
// in the system or as a file, and the province where they live confirms.
func (s *Server) routesTracingHandoffs() {
	s.page("GET /tracing/handoffs", true, s.handoffsPage)
	s.page("POST /tracing/handoffs/{province}/system", true, s.handoffSystemForm)
	s.page("POST /tracing/handoffs/{province}/export", true, s.handoffExport)
	s.page("POST /tracing/handoffs/contacts/{id}/receive", true, s.handoffReceiveForm)
	s.api("GET", "/api/v1/handoffs", s.apiHandoffs)
	s.api("POST", "/api/v1/handoffs", s.apiHandOff)
	s.api("POST", "/api/v1/handoffs/export", s.handoffExport)
	s.api("POST", "/api/v1/handoffs/{id}/receive", s.apiHandoffReceive)
}

type handoffsAnswer struct {
	Contacts []cases.Handoff `json:"contacts"`
}

type handOffInput struct {
	ContactIDs []int64 `json:"contact_ids" jsonschema:"required"`
}

type handedAnswer struct {
	Handed int `json:"handed"` // contacts newly handed over (0 for a repeat)
}

type handoffExportInput struct {
	Province string `json:"province" jsonschema:"required"`
	Format   string `json:"format" jsonschema:"required,enum=xlsx,enum=pdf,enum=csv"`
	Purpose  string `json:"purpose" jsonschema:"required"`
}

// handoffGroup is the outgoing contacts living in one province.
type handoffGroup struct {
	Province string
	Items    []cases.Handoff
	Pending  int  // not handed yet
	InSystem bool // the province has an administrator here
}

func (s *Server) handoffsPage(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), auth.From(r.Context())
	out, err := s.Cases.Handoffs(ctx, p, cases.Outgoing, "")
	if err != nil {
		return err
	}
	in, err := s.Cases.Handoffs(ctx, p, cases.Incoming, "")
	if err != nil {
		return err
	}
	byProvince := map[string]*handoffGroup{}
	var groups []*handoffGroup
	for _, h := range out {
		g := byProvince[h.ToProvince]
		if g == nil {
			g = &handoffGroup{Province: h.ToProvince}
			if g.InSystem, err = s.Auth.HasProvinceAdmin(ctx, h.ToProvince); err != nil {
				return err
			}
			byProvince[h.ToProvince] = g
			groups = append(groups, g)
		}
		g.Items = append(g.Items, h)
		g.Pending += boolCount(h.HandedAt == nil)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Province < groups[j].Province })
	s.render(w, r, http.StatusOK, "tracing_handoffs", map[string]any{"Out": groups, "In": in, "Done": r.URL.Query().Get("done")})
	return nil
}

func (s *Server) handoffSystemForm(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), auth.From(r.Context())
	to := r.PathValue("province")
	if u, ok := geo.Get(to); !ok || u.Level != "province" {
		return fmt.Errorf("hand off to %q: %w", to, errs.ErrNotFound)
	}
	ids, err := s.Cases.PendingHandoffs(ctx, p, to)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("hand off to %s: nothing pending: %w", to, errs.ErrNotFound)
	}
	if _, err := s.Cases.HandOff(ctx, p, ids); err != nil {
		return err
	}
	http.Redirect(w, r, "/tracing/handoffs?done=handed", http.StatusSeeOther)
	return nil
}

// handoffExport answers the file of one province's contacts (page form:
// the province in the path; API: in the body).
func (s *Server) handoffExport(w http.ResponseWriter, r *http.Request) error {
	var in handoffExportInput
	if r.PathValue("province") != "" {
		if err := r.ParseForm(); err != nil {
			return err
		}
		in.Province, in.Format, in.Purpose = r.PathValue("province"), r.PostFormValue("format"), r.PostFormValue("purpose")
	} else if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var buf bytes.Buffer
	name, err := s.Cases.ExportHandoff(r.Context(), auth.From(r.Context()), in.Province, in.Format, in.Purpose, &buf)
	if err != nil {
		return err
	}
	sendFile(w, name, buf.Bytes())
	return nil
}

func (s *Server) handoffReceiveForm(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Cases.Receive(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/tracing/handoffs?done=received", http.StatusSeeOther)
	return nil
}

func (s *Server) apiHandoffs(w http.ResponseWriter, r *http.Request) error {
	dir := r.URL.Query().Get("direction")
	if dir == "" {
		dir = cases.Outgoing
	}
	list, err := s.Cases.Handoffs(r.Context(), auth.From(r.Context()), dir, msg.Both("web.purpose.worklist_api"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, handoffsAnswer{Contacts: orEmpty(list)})
	return nil
}

func (s *Server) apiHandOff(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in handOffInput) (handedAnswer, error) {
		n, err := s.Cases.HandOff(ctx, p, in.ContactIDs)
		return handedAnswer{Handed: n}, err
	})
}

func (s *Server) apiHandoffReceive(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Cases.Receive(r.Context(), auth.From(r.Context()), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
