package notify

import (
	"slices"
	"strings"
)

// Kinds of message: what a message is. The OTT adapter picks the provider's
// approved template by it (--ott-templates) and the failed-messages page
// shows it. Enqueue refuses any other kind, so the callers, this list and
// the README's list of kinds stay one set.
const (
	KindOTP            = "otp"             // a one-time code (venue registration, phone proof, Bluezone registration): SMS
	KindF1             = "f1"              // an F1 told of their contact with an F0: SMS
	KindExposure       = "exposure"        // a visitor of a place while an F0 was there: SMS
	KindCampaign       = "campaign"        // a messaging campaign's message: SMS or OTT
	KindReportReminder = "report_reminder" // a unit reminded of its weekly report: email
	KindMeeting        = "meeting"         // an official invited to an online meeting: email with a calendar file, SMS
	KindVenue          = "venue"           // a venue's manager told of its approval, refusal, new poster or an F0's visit: SMS
	KindInbox          = "inbox"           // an official told of new work in their inbox, one notice or the daily digest (counts and links only): SMS or email
)

// Kinds is every kind, in the README's order.
var Kinds = []string{KindOTP, KindF1, KindExposure, KindCampaign, KindReportReminder, KindMeeting, KindVenue, KindInbox}

// storedKind is the kind of a row as read back. Rows queued before kinds
// were checked hold their dedup key's prefix as kind (or nothing, before
// migration 0011); those prefixes still name their kind.
func storedKind(kind, dedupKey string) string {
	if slices.Contains(Kinds, kind) {
		return kind
	}
	prefix, rest, _ := strings.Cut(dedupKey, ":")
	switch {
	case slices.Contains(Kinds, prefix):
		return prefix
	case prefix == "trace" && strings.HasPrefix(rest, "f1:"):
		return KindF1
	case prefix == "trace" && strings.HasPrefix(rest, "venue:"):
		return KindExposure
	case prefix == "report-reminder":
		return KindReportReminder
	}
	return kind
}
