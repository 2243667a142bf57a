package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"anticovid/internal/auth"
	"anticovid/internal/campaign"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/notify"
)

// routesCampaigns registers messaging campaigns: form, dry run, delivery log.
func (s *Server) routesCampaigns() {
	if s.Ops == nil {
		return
	}
	s.page("GET /campaigns", true, s.campaignsPage)
	s.page("POST /campaigns", true, s.campaignCreatePage)
	s.page("POST /campaigns/dry-run", true, s.campaignDryRunFragment)
	s.page("GET /campaigns/{id}", true, s.campaignPage)
	s.page("POST /campaigns/{id}/cancel", true, s.campaignCancelPage)
	s.api("GET", "/api/v1/campaign-templates", s.apiCampaignTemplates)
	s.api("GET", "/api/v1/campaigns", s.apiCampaigns)
	s.api("POST", "/api/v1/campaigns/dry-run", s.apiCampaignDryRun)
	s.api("POST", "/api/v1/campaigns", s.apiCreateCampaign)
	s.api("GET", "/api/v1/campaigns/{id}", s.apiCampaign)
	s.api("POST", "/api/v1/campaigns/{id}/cancel", s.apiCancelCampaign)
}

// targetUnits are the units a caller may address: their own and below
// (districts and communes), within the deployment's province.
func (s *Server) targetUnits(p *auth.Principal) []geo.Unit {
	root := s.homeUnit(p)
	u, ok := geo.Get(root)
	if !ok {
		return nil
	}
	// The unit itself and the level below (a province's districts, a
	// district's communes): a province's 192 communes would make a useless list.
	out := append([]geo.Unit{u}, geo.Children(root)...)
	return out
}

func campaignInputFromForm(r *http.Request) campaign.Input {
	rate, _ := strconv.Atoi(r.PostFormValue("rate_per_min"))
	return campaign.Input{Name: r.PostFormValue("name"), Template: r.PostFormValue("template"), Channel: r.PostFormValue("channel"),
		Body: r.PostFormValue("body"), UnitCode: r.PostFormValue("unit_code"), Groups: r.PostForm["groups"], RatePerMin: rate}
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request) error {
	p := auth.From(r.Context())
	list, err := s.Ops.Campaigns.List(r.Context(), p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaigns", map[string]any{"Campaigns": list, "Templates": campaign.Templates,
		"Units": s.targetUnits(p), "Form": campaign.Input{Template: "install_bluezone", Channel: notify.SMS, UnitCode: p.Unit,
			Groups: []string{campaign.Residents}, RatePerMin: 600}, "Has": slices.Contains[[]string, string]})
	return nil
}

func (s *Server) campaignCreatePage(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("campaign form: %w", errs.ErrTooLarge)
	}
	p := auth.From(r.Context())
	in := campaignInputFromForm(r)
	c, err := s.Ops.Campaigns.Create(r.Context(), p, in)
	if errors.Is(err, errs.ErrInvalid) {
		list, lerr := s.Ops.Campaigns.List(r.Context(), p)
		if lerr != nil {
			return lerr
		}
		s.render(w, r, http.StatusBadRequest, "campaigns", map[string]any{"Campaigns": list, "Templates": campaign.Templates,
			"Units": s.targetUnits(p), "Form": in, "Errors": errs.FieldsOf(err), "Has": slices.Contains[[]string, string]})
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", c.ID), http.StatusSeeOther)
	return nil
}

var dryRunFragment = template.Must(template.New("dry").Parse(`<div class="dryrun{{if .Err}} error{{end}}" role="status">
{{- if .Err}}{{.Err}}{{range $k, $v := .Fields}}<br><b>{{$k}}</b>: {{$v}}{{end}}
{{- else}}<b>{{.Total}}</b> {{.L.recipients}} ({{.L.residents}}: {{.Residents}}; {{.L.managers}}: {{.Managers}}) · {{.Segments}} {{.L.segments}}
<blockquote>{{.Body}}</blockquote>{{end}}</div>`))

// campaignDryRunFragment answers the form's "count recipients" button
// (htmx) with a fragment that replaces the result box.
func (s *Server) campaignDryRunFragment(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("campaign form: %w", errs.ErrTooLarge)
	}
	l := lang(w, r)
	labels := map[string]string{"recipients": msg.T(l, "ops.recipients"), "residents": msg.T(l, "ops.group.residents"),
		"managers": msg.T(l, "ops.group.venue_managers"), "segments": msg.T(l, "ops.sms.segments")}
	d, err := s.Ops.Campaigns.DryRun(r.Context(), auth.From(r.Context()), campaignInputFromForm(r))
	data := map[string]any{"L": labels}
	status := http.StatusOK
	if err != nil {
		st, _, m := errs.HTTP(err)
		status = st
		data["Err"], data["Fields"] = msg.Local(l, m), localFields(l, err)
	} else {
		data["Total"], data["Residents"], data["Managers"] = n64(d.Recipients), n64(d.ByGroup[campaign.Residents]), n64(d.ByGroup[campaign.VenueManagers])
		data["Segments"], data["Body"] = d.Segments, d.Body
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if status != http.StatusOK {
		// htmx swaps only 2xx answers by default; the fragment carries the error.
		w.Header().Set("X-Dry-Run-Status", strconv.Itoa(status))
	}
	return dryRunFragment.Execute(w, data)
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request) error {
	c, log, err := s.campaign(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaigns_detail", map[string]any{"C": c, "Log": log, "N": n64})
	return nil
}

func (s *Server) campaignCancelPage(w http.ResponseWriter, r *http.Request) error {
	id, err := s.cancelCampaign(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", id), http.StatusSeeOther)
	return nil
}

func (s *Server) apiCampaignTemplates(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, templatesAnswer{Templates: campaign.Templates})
	return nil
}

func (s *Server) apiCampaigns(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Ops.Campaigns.List(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignsAnswer{Campaigns: list})
	return nil
}

func (s *Server) apiCampaignDryRun(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, s.Ops.Campaigns.DryRun)
}

func (s *Server) apiCreateCampaign(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusCreated, s.Ops.Campaigns.Create)
}

func (s *Server) apiCampaign(w http.ResponseWriter, r *http.Request) error {
	c, log, err := s.campaign(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, campaignAnswer{Campaign: c, Deliveries: log})
	return nil
}

func (s *Server) apiCancelCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := s.cancelCampaign(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusAnswer{ID: id, Status: campaign.Cancelled})
	return nil
}

// campaign reads the campaign of the path's {id} and its delivery log.
func (s *Server) campaign(r *http.Request) (campaign.Campaign, []campaign.Delivery, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return campaign.Campaign{}, nil, err
	}
	return s.Ops.Campaigns.Get(r.Context(), auth.From(r.Context()), id)
}

// cancelCampaign stops the campaign of the path's {id}.
func (s *Server) cancelCampaign(r *http.Request) (int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	return id, s.Ops.Campaigns.Cancel(r.Context(), auth.From(r.Context()), id)
}
