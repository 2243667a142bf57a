package meeting

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"anticovid/internal/config"
	"anticovid/internal/notify"
)

// Provider is a conferencing system: it turns an invitee into a link that
// lets them into the meeting's room, and checks the attendance reports it
// sends back. Jitsi is the one built in; README ("Online meetings") says how
// BigBlueButton or LiveKit fit behind the same two methods.
type Provider interface {
	// JoinURL is where the invitee's browser goes to join the room, valid
	// from now until the meeting's end + LinkGrace.
	JoinURL(m Meeting, p Participant, now time.Time) (string, error)
	// VerifyWebhook checks an attendance report's authenticity and time and
	// reads it. Nonce names this very report for the replay guard.
	VerifyWebhook(h http.Header, body []byte, now time.Time) (Report, error)
}

// Participant is who joins, as the conferencing system shows them.
type Participant struct {
	ID        int64
	Name      string
	Moderator bool // the chair
}

// Report is one attendance event from the conferencing system.
type Report struct {
	Room   string
	UserID int64
	Joined bool // false: an event that is not a join (left, room destroyed)
	Nonce  string
}

// ErrBadReport is an attendance report whose signature or time is wrong.
var ErrBadReport = errors.New("meeting report refused")

// DemoURL is the conferencing address --demo uses without --meeting-url: it
// resolves nowhere (.invalid), but the links and tokens made for it are real.
const DemoURL = "https://meet.demo.invalid"

// demoSecret signs the demo's links; never used with a real --meeting-url.
const demoSecret = "demo-only-meeting-secret-not-for-production-use"

// Jitsi is Jitsi Meet with token authentication (prosody's token auth): the
// link carries an HS256 JWT signed with the app secret that names the room,
// the user and whether they moderate. Its attendance reports are signed
// like the outbox's delivery reports (notify.SignedHeaders).
type Jitsi struct {
	BaseURL string // e.g. https://meet.longan.gov.vn
	AppID   string // the token's iss, prosody's app_id
	Secret  string // prosody's app_secret; also signs attendance reports
}

// FromConfig returns the configured conferencing system: Jitsi at
// --meeting-url, the demo placeholder under --demo, or nil (no conferencing
// system: pages say so).
func FromConfig(cfg *config.Config) Provider {
	switch {
	case cfg.MeetingURL != "":
		return &Jitsi{BaseURL: strings.TrimRight(cfg.MeetingURL, "/"), AppID: cfg.MeetingAppID, Secret: cfg.MeetingSecret}
	case cfg.Demo:
		return &Jitsi{BaseURL: DemoURL, AppID: "anticovid-demo", Secret: demoSecret}
	}
	return nil
}

// jitsiClaims are the claims prosody's token auth reads.
type jitsiClaims struct {
	jwt.RegisteredClaims
	Room    string       `json:"room"`
	Context jitsiContext `json:"context"`
}

type jitsiContext struct {
	User jitsiUser `json:"user"`
}

type jitsiUser struct {
	Name      string `json:"name"`
	ID        string `json:"id"`
	Moderator bool   `json:"moderator"`
}

// clockSkew is how far the conferencing server's clock may be behind ours.
const clockSkew = time.Minute

// JoinURL is BaseURL/room?jwt=TOKEN.
func (j *Jitsi) JoinURL(m Meeting, p Participant, now time.Time) (string, error) {
	u, err := url.Parse(j.BaseURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("jitsi: bad base URL")
	}
	claims := jitsiClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Audience:  jwt.ClaimStrings{"jitsi"},
			Issuer:    j.AppID,
			Subject:   u.Hostname(),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-clockSkew)),
			ExpiresAt: jwt.NewNumericDate(m.End.Add(LinkGrace)),
		},
		Room:    m.Room,
		Context: jitsiContext{User: jitsiUser{Name: p.Name, ID: strconv.FormatInt(p.ID, 10), Moderator: p.Moderator}},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(j.Secret))
	if err != nil {
		return "", fmt.Errorf("jitsi token: %w", err)
	}
	return j.BaseURL + "/" + url.PathEscape(m.Room) + "?jwt=" + tok, nil
}

// jitsiEvent is what prosody's event-sync module posts (through a relay
// that signs it): muc-occupant-joined, muc-occupant-left, ...
type jitsiEvent struct {
	Event    string `json:"event_name"`
	Room     string `json:"room_name"`
	Occupant struct {
		ID string `json:"id"` // the token's context.user.id
	} `json:"occupant"`
}

// VerifyWebhook accepts only reports signed with X-Timestamp and
// X-Signature (the HMAC-SHA-256 of the timestamp, '.', the body) under the
// secret, within notify's time window.
func (j *Jitsi) VerifyWebhook(h http.Header, body []byte, now time.Time) (Report, error) {
	if why := notify.VerifySignature(j.Secret, h, body, now); why != "" {
		return Report{}, fmt.Errorf("%w: %s", ErrBadReport, why)
	}
	var ev jitsiEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.Room == "" {
		return Report{}, fmt.Errorf("%w: not an event", ErrBadReport)
	}
	id, _ := strconv.ParseInt(ev.Occupant.ID, 10, 64)
	sum := sha256.Sum256([]byte("jitsi\x00" + h.Get(notify.SignatureHeader)))
	return Report{Room: ev.Room, UserID: id, Joined: ev.Event == "muc-occupant-joined", Nonce: hex.EncodeToString(sum[:])}, nil
}
