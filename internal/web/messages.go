package web

import (
	"io"
	"net/http"

	"anticovid/internal/auth"
)

// The outbox for the province admin: failed messages and their re-send, and
// the providers' delivery reports (authenticated by a shared secret, not a
// session).

func (s *Server) routesMessages() {
	if s.Outbox == nil {
		return
	}
	s.page("GET /messages", true, s.messagesPage)
	s.page("POST /messages/{id}/resend", true, s.messagesResendPage)
	s.api("GET", "/api/v1/messages/failed", s.apiMessagesFailed)
	s.api("POST", "/api/v1/messages/{id}/resend", s.apiMessagesResend)
	s.api("POST", "/api/v1/message-reports/{channel}", s.apiMessagesReport)
}

func (s *Server) failedMessages(r *http.Request) (failedAnswer, error) {
	p := auth.From(r.Context())
	counts, err := s.Outbox.Counts(r.Context(), p)
	if err != nil {
		return failedAnswer{}, err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return failedAnswer{}, err
	}
	failed, err := s.Outbox.Failed(r.Context(), p, limit)
	if err != nil {
		return failedAnswer{}, err
	}
	return failedAnswer{Counts: counts, Failed: failed}, nil
}

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request) error {
	a, err := s.failedMessages(r)
	if err != nil {
		return err
	}
	data := map[string]any{"counts": a.Counts, "failed": a.Failed, "resent": r.URL.Query().Get("resent") != ""}
	s.render(w, r, http.StatusOK, "messages", data)
	return nil
}

// resendMessage re-sends the message the path names.
func (s *Server) resendMessage(r *http.Request) (int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, err
	}
	return id, s.Outbox.Resend(r.Context(), auth.From(r.Context()), id)
}

func (s *Server) messagesResendPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.resendMessage(r); err != nil {
		return err
	}
	http.Redirect(w, r, "/messages?resent=1", http.StatusSeeOther)
	return nil
}

func (s *Server) apiMessagesFailed(w http.ResponseWriter, r *http.Request) error {
	data, err := s.failedMessages(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, data)
	return nil
}

func (s *Server) apiMessagesResend(w http.ResponseWriter, r *http.Request) error {
	id, err := s.resendMessage(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusAnswer{ID: id, Status: "queued"})
	return nil
}

func (s *Server) apiMessagesReport(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return err
	}
	if err := s.Outbox.Callback(r.Context(), r.PathValue("channel"), r.Header, body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
