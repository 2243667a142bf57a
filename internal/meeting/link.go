package meeting

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"anticovid/internal/errs"
	"anticovid/internal/notify"
)

// linkTag is the vault tag purpose of personal meeting links.
const linkTag = "meeting-join/v1"

// Why a personal link does not open a room.
var (
	ErrBadLink    = errors.New("meeting link is not valid")
	ErrLinkExpire = errors.New("meeting link has expired")
	ErrNoProvider = errors.New("no conferencing system is configured")
)

// NotOpen is a personal link followed too early: the room opens at Opens.
type NotOpen struct{ Opens time.Time }

func (e *NotOpen) Error() string { return "meeting room not open yet" }

// linkLen is a token's bytes: meeting id, user id, expiry (8 each), tag (16).
const linkLen = 8 + 8 + 8 + 16

// Token is the personal link's token for an invitee: it names the meeting
// and the user and expires at the meeting's end + LinkGrace, under a vault
// tag only this server makes (54 characters).
func (s *Service) Token(m Meeting, userID int64) string {
	b := make([]byte, 24, linkLen)
	binary.BigEndian.PutUint64(b[0:], uint64(m.ID))
	binary.BigEndian.PutUint64(b[8:], uint64(userID))
	binary.BigEndian.PutUint64(b[16:], uint64(m.End.Add(LinkGrace).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.Vault.Tag(linkTag, b)...))
}

// Link is an invitee's personal link.
func (s *Service) Link(m Meeting, userID int64) string {
	return fmt.Sprintf("%s/meetings/%d/join/%s", s.BaseURL, m.ID, s.Token(m, userID))
}

// checkToken reads a token for meeting id: ErrBadLink when forged, altered
// or for another meeting, ErrLinkExpire when its time has passed.
func (s *Service) checkToken(id int64, tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != linkLen || !s.Vault.CheckTag(linkTag, b[:24], b[24:]) {
		return 0, ErrBadLink
	}
	if int64(binary.BigEndian.Uint64(b[0:])) != id {
		return 0, ErrBadLink
	}
	if s.now().Unix() >= int64(binary.BigEndian.Uint64(b[16:])) {
		return 0, ErrLinkExpire
	}
	return int64(binary.BigEndian.Uint64(b[8:])), nil
}

// Join checks a personal link and returns where the conferencing system
// lets its invitee in (as moderator for the chair). No login is needed:
// the link is the invitee's.
func (s *Service) Join(ctx context.Context, id int64, tok string) (string, error) {
	user, err := s.checkToken(id, tok)
	if err != nil {
		return "", err
	}
	m, inv, err := s.load(ctx, id)
	if errors.Is(err, errs.ErrNotFound) {
		return "", ErrBadLink
	}
	if err != nil {
		return "", err
	}
	var me *Invitee
	for k := range inv {
		if inv[k].UserID == user {
			me = &inv[k]
		}
	}
	if me == nil {
		return "", ErrBadLink
	}
	if s.Provider == nil {
		return "", ErrNoProvider
	}
	now := s.now()
	if opens := m.Start.Add(-OpenBefore); now.Before(opens) {
		return "", &NotOpen{Opens: opens}
	}
	u, err := s.Provider.JoinURL(m, Participant{ID: user, Name: me.Username, Moderator: me.Chair}, now)
	if err != nil {
		return "", err
	}
	s.log().Info("meeting joined through a personal link", "meeting", id, "user", user)
	return u, nil
}

// replayWindow is how long an applied report's nonce is kept: longer than a
// signed report stays acceptable (notify.ReportMaxAge + ReportMaxSkew).
const replayWindow = notify.ReportMaxAge + notify.ReportMaxSkew + time.Minute

// Apply records an attendance report from the conferencing system after
// its provider checked it. A report seen before (the same signature) is a
// conflict; a join of someone already marked changes nothing.
func (s *Service) Apply(ctx context.Context, h http.Header, body []byte) error {
	if s.Provider == nil {
		return fmt.Errorf("meeting report: %w", errs.ErrNotFound)
	}
	now := s.now()
	r, err := s.Provider.VerifyWebhook(h, body, now)
	if err != nil {
		s.log().Warn("meeting report refused", "err", err)
		return fmt.Errorf("meeting report: %w: %w", err, errs.ErrUnauthorized)
	}
	if _, err := s.DB.W.ExecContext(ctx, "DELETE FROM meeting_reports_seen WHERE seen_at < $1", now.Add(-replayWindow).Unix()); err != nil {
		return fmt.Errorf("meeting report: %w", err)
	}
	res, err := s.DB.W.ExecContext(ctx, "INSERT INTO meeting_reports_seen (sig_hash, seen_at) VALUES ($1, $2) ON CONFLICT (sig_hash) DO NOTHING", r.Nonce, now.Unix())
	if err != nil {
		return fmt.Errorf("meeting report: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		s.log().Warn("meeting report refused", "reason", "replayed")
		return fmt.Errorf("meeting report: replayed: %w", errs.ErrConflict)
	}
	if !r.Joined {
		return nil
	}
	var id int64
	if err := s.DB.R.QueryRowContext(ctx, "SELECT id FROM meetings WHERE room = $1", r.Room).Scan(&id); err != nil {
		return fmt.Errorf("meeting report: no such room: %w", errs.ErrNotFound)
	}
	res, err = s.DB.W.ExecContext(ctx, `UPDATE meeting_invitees SET attended = 1, joined_at = $1, source = 'system'
		WHERE meeting_id = $2 AND user_id = $3 AND attended IS NULL`, now.Unix(), id, r.UserID)
	if err != nil {
		return fmt.Errorf("meeting report: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var known int
		s.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM meeting_invitees WHERE meeting_id = $1 AND user_id = $2", id, r.UserID).Scan(&known)
		if known == 0 {
			return fmt.Errorf("meeting report: not invited: %w", errs.ErrNotFound)
		}
	}
	s.log().Info("meeting attendance reported", "meeting", id, "user", r.UserID)
	return nil
}
