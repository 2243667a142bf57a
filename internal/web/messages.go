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
	s.api("GET", "/api/v1/messages/failed", "Failed SMS, OTT and email messages, newest first, without their text and with the recipient masked; counts by status (province admin; ?limit=).", true, s.apiMessagesFailed)
	s.api("POST", "/api/v1/messages/{id}/resend", "Queue a failed message again (province admin; audited). 409 when it is not failed.", true, s.apiMessagesResend)
	s.api("POST", "/api/v1/message-reports/{channel}", `A provider's delivery report for channel sms or ott: {"id", "status": "delivered"|"failed", "error"?}, signed with X-Signature: sha256=<hex HMAC-SHA-256 of the body> or X-Callback-Token.`, false, s.apiMessagesReport)
}

func (s *Server) failedMessages(r *http.Request) (map[string]any, error) {
	p := auth.From(r.Context())
	counts, err := s.Outbox.Counts(r.Context(), p)
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return nil, err
	}
	failed, err := s.Outbox.Failed(r.Context(), p, limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"counts": counts, "failed": failed}, nil
}

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request) error {
	data, err := s.failedMessages(r)
	if err != nil {
		return err
	}
	data["resent"] = r.URL.Query().Get("resent") != ""
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
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "queued"})
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
