package web

import (
	"time"

	"anticovid/internal/adoption"
	"anticovid/internal/auth"
	"anticovid/internal/bluezone"
	"anticovid/internal/camera"
	"anticovid/internal/campaign"
	"anticovid/internal/cases"
	"anticovid/internal/checkin"
	"anticovid/internal/dashboard"
	"anticovid/internal/declaration"
	"anticovid/internal/exposure"
	"anticovid/internal/geo"
	"anticovid/internal/meeting"
	"anticovid/internal/notify"
	"anticovid/internal/press"
	"anticovid/internal/tracing"
	"anticovid/internal/venue"
)

// The request and answer bodies of API handlers that are not a domain type
// of their own: named so the route table can point at them and the OpenAPI
// schemas come from exactly what the handlers decode and encode.

type activityAnswer struct {
	Venues []checkin.VenueScans `json:"venues"`
}

type adoptionUsersInput struct {
	Users *int64 `json:"users" jsonschema:"required"`
}

type adoptionTargetsInput struct {
	Targets []adoption.Target `json:"targets" jsonschema:"required"`
}

type targetsAnswer struct {
	Targets []adoption.Target `json:"targets"`
}

type auditAnswer struct {
	Entries    []auth.AuditEntry `json:"entries"`
	NextBefore int64             `json:"next_before,omitempty"` // ?before= for the next, older page; absent on the last
}

type phoneCodeInput struct {
	Phone   string `json:"phone" jsonschema:"required"`
	Purpose string `json:"purpose,omitempty" jsonschema:"enum=bz_register,enum=bz_unregister"`
}

type expiresAnswer struct {
	ExpiresAt time.Time `json:"expires_at"`
}

type bzRegistered struct {
	Device bluezone.Device `json:"device"`
	Token  string          `json:"token"`
}

type phoneConfirmInput struct {
	Phone string `json:"phone" jsonschema:"required"`
	Code  string `json:"code" jsonschema:"required"`
}

type bzPublishInput struct {
	Code      string             `json:"code" jsonschema:"required"`
	Keys      []bluezone.FeedKey `json:"keys" jsonschema:"required"`
	WindowEnd int64              `json:"window_end"`
}

type publishedAnswer struct {
	Published int `json:"published"`
}

type btIssueInput struct {
	Who      string `json:"who"`
	PersonID int64  `json:"person_id"`
	Purpose  string `json:"purpose" jsonschema:"required,enum=bz_log,enum=bz_feed,enum=en"`
	Onset    string `json:"onset"`
}

type codeIssued struct {
	Code      string    `json:"code"`
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
}

type bzContactsAnswer struct {
	PersonID int64              `json:"person_id"`
	Contacts []bluezone.Contact `json:"contacts"`
}

type bzUploadsAnswer struct {
	Uploads []bluezone.Upload `json:"uploads"`
}

type zonesAnswer struct {
	Zones []camera.Zone `json:"zones"`
}

type deletedAnswer struct {
	ID      int64 `json:"id"`
	Deleted bool  `json:"deleted"`
}

type templatesAnswer struct {
	Templates []campaign.Template `json:"templates"`
}

type campaignsAnswer struct {
	Campaigns []campaign.Campaign `json:"campaigns"`
}

type campaignAnswer struct {
	Campaign   campaign.Campaign   `json:"campaign"`
	Deliveries []campaign.Delivery `json:"deliveries"`
}

type statusAnswer struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

type caseContactsAnswer struct {
	CaseID           int64               `json:"case_id"`
	InfectiousWindow tracing.Window      `json:"infectious_window"`
	New              int                 `json:"new"`
	Total            int                 `json:"total"`
	Contacts         []cases.ContactView `json:"contacts"`
}

type exposureVenuesAnswer struct {
	Venues []cases.ExposureVenue `json:"venues"`
}

type queuedAnswer struct {
	Queued int `json:"queued"`
}

type publicExposuresAnswer struct {
	Days   int                   `json:"days"`
	Venues []cases.ExposureVenue `json:"venues"`
}

type importDecisionsInput struct {
	Decisions map[string]string `json:"decisions"`
}

type caseStatusInput struct {
	Status string `json:"status" jsonschema:"required"`
	Note   string `json:"note"`
}

type declOptionsAnswer struct {
	Kinds           []declaration.Option `json:"kinds"`
	Sexes           []declaration.Option `json:"sexes"`
	Symptoms        []declaration.Option `json:"symptoms"`
	Modes           []declaration.Option `json:"modes"`
	MaxVaccineDoses int                  `json:"max_vaccine_doses"`
}

type declWorklistAnswer struct {
	Declarations []declaration.Item `json:"declarations"`
	Total        int                `json:"total"`            // declarations matching the filter in all
	Capped       bool               `json:"capped,omitempty"` // a search by name looked at the first 5,000 only
}

type noteInput struct {
	Note string `json:"note"`
}

type handledAnswer struct {
	ID      int64 `json:"id"`
	Handled bool  `json:"handled"`
}

type codeInput struct {
	Code string `json:"code" jsonschema:"required"`
}

type certificateAnswer struct {
	Certificate string    `json:"certificate"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// enKey is one Temporary Exposure Key as the Exposure Notification apps
// send it (their field names).
type enKey struct {
	Key                string `json:"key" jsonschema:"required,contentEncoding=base64"`
	RollingStartNumber int32  `json:"rollingStartNumber" jsonschema:"required"`
	RollingPeriod      int32  `json:"rollingPeriod"`
	TransmissionRisk   int32  `json:"transmissionRisk"`
}

type enPublishInput struct {
	Certificate string  `json:"certificate" jsonschema:"required"`
	Keys        []enKey `json:"temporaryExposureKeys" jsonschema:"required"`
}

type signingKeysAnswer struct {
	Region string                   `json:"region"`
	Keys   []exposure.PublicKeyInfo `json:"keys"`
}

type grantsAnswer struct {
	Requests []cases.Grant `json:"requests"`
}

type reasonInput struct {
	Reason string `json:"reason"`
}

type visitorsAnswer struct {
	GrantID  int64           `json:"grant_id"`
	VenueID  int64           `json:"venue_id"`
	Day      string          `json:"day"`
	Visitors []cases.Visitor `json:"visitors"`
}

type heldAnswer struct {
	Held []checkin.HeldScan `json:"held"`
}

type decisionAnswer struct {
	ID       int64  `json:"id"`
	Decision string `json:"decision"`
}

type unitChildrenAnswer struct {
	Unit     geo.Unit   `json:"unit"`
	Children []geo.Unit `json:"children"`
}

type areasAnswer struct {
	Areas []dashboard.Area `json:"areas"`
}

type endedAnswer struct {
	ID    int64 `json:"id"`
	Ended bool  `json:"ended"`
}

type meetingsAnswer struct {
	Meetings   []meeting.Meeting `json:"meetings"`
	Configured bool              `json:"configured"`
}

type attendanceInput struct {
	Attended bool `json:"attended"`
}

type minutesInput struct {
	Minutes   string `json:"minutes"`
	Decisions string `json:"decisions"`
}

// jsonObject is a body the handler hands on unread to a verifier (signed
// webhooks): the document can only say it is a JSON object.
type jsonObject map[string]any

type failedAnswer struct {
	Counts map[string]int `json:"counts"`
	Failed []notify.Entry `json:"failed"`
}

type provenAnswer struct {
	Proven      bool   `json:"proven"`
	PersonToken string `json:"person_token"`
}

type materialsAnswer struct {
	Materials []press.Material `json:"materials"`
}

type materialAnswer struct {
	Material press.Material `json:"material"`
	Uses     []press.Use    `json:"uses"`
	// Coverage is there for everyone but commune officers.
	Coverage []press.CommuneUse `json:"coverage,omitempty"`
}

type releasesAnswer struct {
	Releases []press.Release `json:"releases"`
}

type refreshInput struct {
	Refresh bool `json:"refresh"`
}

type reportSentAnswer struct {
	Week   string `json:"week"`
	SentTo string `json:"sent_to"`
}

type reportEmailInput struct {
	Email *string `json:"email" jsonschema:"required"`
}

type reportEmailAnswer struct {
	Unit  string `json:"unit"`
	Email string `json:"email"`
}

type worklistAnswer struct {
	Contacts []cases.WorkItem `json:"contacts"`
	Total    int              `json:"total"`            // contacts matching the filter in all
	Capped   bool             `json:"capped,omitempty"` // a search by name looked at the first 5,000 only
}

type callInput struct {
	Outcome string `json:"outcome" jsonschema:"required,enum=reached,enum=unreachable,enum=quarantined_home,enum=sent_to_facility,enum=tested"`
	Note    string `json:"note"`
}

type createdAnswer struct {
	Created int `json:"created"`
}

// venueImportErrors is the error of a refused venue import: the one error
// shape, with the faults of each row when rows were at fault.
type venueImportErrors struct {
	apiError
	Errors []venue.RowError `json:"errors,omitempty"`
}

type venuesAnswer struct {
	Venues []venue.Venue `json:"venues"`
	Total  int           `json:"total"` // venues matching the filter, all pages
}

type venueStatusInput struct {
	Status string `json:"status" jsonschema:"required,enum=approved,enum=suspended,enum=closed,enum=pending"`
}
