package bluezone

import (
	"context"
	"time"

	"anticovid/internal/tracing"
)

// Source is the Bluetooth source of the tracing engine: the F1 candidates
// resolved from the contact logs an F0's phone uploaded. Add it with
// cases.Service.Engine.Sources = append(..., svc.Source()).
//
// Unlike ContactsOf it checks no caller: the tracing engine runs it for the
// case a tracer opened (already authorised) and, for F2, for that case's
// contacts wherever they live, in background jobs without a caller.
type Source struct{ S *Service }

// Source returns the tracing source over this service.
func (s *Service) Source() Source { return Source{S: s} }

// Name implements tracing.Source.
func (Source) Name() string { return tracing.SourceBluetooth }

// Contacts implements tracing.Source: one contact per person sighted, with
// Overlap the time of the 10-minute slots they were sighted in, and the first
// and last sightings. The RSSI evidence is in ContactsOf (tracing.Contact has
// no field for it).
func (b Source) Contacts(ctx context.Context, personID int64, w tracing.Window) ([]tracing.Contact, error) {
	cs, err := b.S.contactsOf(ctx, personID, w.From, w.To)
	if err != nil {
		return nil, err
	}
	out := make([]tracing.Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, tracing.Contact{PersonID: c.PersonID, Source: tracing.SourceBluetooth,
			Overlap: time.Duration(c.Slots) * SlotDuration, FirstShared: c.FirstSeen, LastShared: c.LastSeen})
	}
	return out, nil
}
