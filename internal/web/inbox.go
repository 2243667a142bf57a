package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"anticovid/internal/auth"
	"anticovid/internal/errs"
	"anticovid/internal/inbox"
	"anticovid/internal/msg"
)

// routesInbox registers the officials' inbox: the page (no JavaScript
// needed: following a notice is a link that marks it read on the way, "mark
// all read" is a plain form), the preferences form of the account page, the
// JSON twin, and the bell every page's header shows (render.go).
func (s *Server) routesInbox() {
	if s.Inbox == nil {
		return
	}
	s.page("GET /inbox", true, s.inboxPage)
	s.page("GET /inbox/{id}", true, s.inboxOpen)
	s.page("POST /inbox/read", true, s.inboxReadAll)
	s.page("POST /inbox/settings", true, s.inboxSettings)
	s.api("GET", "/api/v1/inbox", s.apiInbox)
	s.api("POST", "/api/v1/inbox/read", s.apiInboxRead)
}

// inboxPageSize is how many notices the page shows at a time.
const inboxPageSize = 30

// inboxView is inbox.html.
type inboxView struct {
	Notices []inbox.Notice
	Next    string // the older page's link
	Unread  int
	Prefs   inbox.Prefs
	Marked  string // how many "mark all read" marked, when it just did
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), auth.From(r.Context())
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	ns, next, err := s.Inbox.List(ctx, p, int64(before), inboxPageSize)
	if err != nil {
		return err
	}
	v := inboxView{Notices: ns, Marked: r.URL.Query().Get("marked")}
	if _, err := strconv.Atoi(v.Marked); err != nil {
		v.Marked = ""
	}
	if next > 0 {
		v.Next = "/inbox?before=" + itoa64(next)
	}
	if v.Unread, err = s.Inbox.Unread(ctx, p); err != nil {
		return err
	}
	if v.Prefs, err = s.Inbox.Prefs(ctx, p); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "inbox", v)
	return nil
}

// inboxOpen marks the caller's notice read and sends them to its work. The
// link is the notice's own, a path on this site (never another host).
func (s *Server) inboxOpen(w http.ResponseWriter, r *http.Request) error {
	n, err := byID(r, s.Inbox.Open)
	if err != nil {
		return err
	}
	to := n.Href
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.Contains(to, `\`) {
		to = "/inbox"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *Server) inboxReadAll(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Inbox.MarkAllRead(r.Context(), auth.From(r.Context()))
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/inbox?marked=%d", n), http.StatusSeeOther)
	return nil
}

func (s *Server) inboxSettings(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("inbox settings: %w", errs.ErrTooLarge)
	}
	pr := inbox.Prefs{SMS: r.PostFormValue("sms"), Email: r.PostFormValue("email")}
	if _, err := s.Inbox.SetPrefs(r.Context(), auth.From(r.Context()), pr); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=inbox#inbox-settings", http.StatusSeeOther)
	return nil
}

// inboxAnswer is GET /api/v1/inbox: a page of the caller's notices, newest
// first, and the unread count (the bell).
type inboxAnswer struct {
	Unread  int           `json:"unread"`
	Notices []inboxNotice `json:"notices"`
	Next    int64         `json:"next,omitempty"` // ?before= of the next page; absent at the end
	Prefs   inbox.Prefs   `json:"prefs"`
}

// inboxNotice is one notice with its text in the caller's language.
type inboxNotice struct {
	inbox.Notice
	Text string `json:"text"`
}

func (s *Server) apiInbox(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), auth.From(r.Context())
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	ns, next, err := s.Inbox.List(ctx, p, int64(before), limit)
	if err != nil {
		return err
	}
	a := inboxAnswer{Next: next, Notices: []inboxNotice{}}
	l := lang(w, r)
	for _, n := range ns {
		a.Notices = append(a.Notices, inboxNotice{Notice: n, Text: n.Text(l)})
	}
	if a.Unread, err = s.Inbox.Unread(ctx, p); err != nil {
		return err
	}
	if a.Prefs, err = s.Inbox.Prefs(ctx, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// inboxReadInput is POST /api/v1/inbox/read: the notices to mark read, or
// all of them.
type inboxReadInput struct {
	IDs []int64 `json:"ids,omitempty"`
	All bool    `json:"all,omitempty"`
}

// inboxReadAnswer says how many notices were unread and are read now, and
// how many remain unread.
type inboxReadAnswer struct {
	Marked int `json:"marked"`
	Unread int `json:"unread"`
}

func (s *Server) apiInboxRead(w http.ResponseWriter, r *http.Request) error {
	return answerJSON(w, r, http.StatusOK, func(ctx context.Context, p *auth.Principal, in inboxReadInput) (inboxReadAnswer, error) {
		if len(in.IDs) > 1000 {
			return inboxReadAnswer{}, &errs.Invalid{Fields: map[string]string{"ids": msg.Both("inbox.too_many")}}
		}
		var a inboxReadAnswer
		var err error
		if in.All {
			a.Marked, err = s.Inbox.MarkAllRead(ctx, p)
		} else {
			a.Marked, err = s.Inbox.MarkRead(ctx, p, in.IDs)
		}
		if err != nil {
			return a, err
		}
		a.Unread, err = s.Inbox.Unread(ctx, p)
		return a, err
	})
}

// unread is the bell's count for the page's reader: one indexed count, or
// -1 (no bell) for a visitor, a venue manager, a server without the inbox,
// or a count that failed (the page still shows).
func (s *Server) unread(ctx context.Context, p *auth.Principal) int {
	if s.Inbox == nil || p == nil || p.Can(auth.VenueManager) {
		return -1
	}
	n, err := s.Inbox.Unread(ctx, p)
	if err != nil {
		s.log.ErrorContext(ctx, "inbox unread", "err", err)
		return -1
	}
	return n
}
