package reports

import "anticovid/internal/notify"

// Mailer sends email through an SMTP server: the consolidated report with
// its attachments, and (as the outbox's email sender) the reminders. It is
// notify's SMTP sender, which the outbox's configuration also builds.
type Mailer = notify.SMTP

// Attachment is a file sent with a message.
type Attachment = notify.Attachment

// ParseSMTPURL reads config's --smtp-url (notify.ParseSMTPURL).
func ParseSMTPURL(raw string) (*Mailer, error) { return notify.ParseSMTPURL(raw) }
