package venue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"anticovid/internal/msg"
	"anticovid/internal/notify"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// tellStatus tells a venue's manager, by SMS to the phone the venue was
// registered with, that an official approved, refused (closed while
// pending), suspended or closed it.
func (s *Service) tellStatus(ctx context.Context, v Venue, was string) error {
	key := "venue.sms." + v.Status
	if v.Status == StatusClosed && was == StatusPending {
		key = "venue.sms.refused"
	}
	dedup := fmt.Sprintf("venue:%d:%s:%d", v.ID, v.Status, time.Now().UnixNano())
	return s.tell(ctx, v, dedup, key, v.Name, s.BaseURL+"/venues/"+strconv.FormatInt(v.ID, 10))
}

// tell queues one SMS to v's contact phone (none without an outbox or a
// phone); dedup makes a retried request send it once.
func (s *Service) tell(ctx context.Context, v Venue, dedup, key string, args ...any) error {
	if s.Outbox == nil || v.ContactPhone == "" {
		return nil
	}
	_, err := s.Outbox.Enqueue(ctx, notify.Message{Channel: notify.SMS, Kind: notify.KindVenue, To: v.ContactPhone,
		Body: msg.T("vi", key, args...), DedupKey: dedup, Province: v.ProvinceCode})
	if err != nil {
		return fmt.Errorf("tell venue %d: %w", v.ID, err)
	}
	return nil
}

// ContactPhones returns the contact phones of venues, by id (for the case
// service, which tells a venue an F0 was there); venues without one are
// absent.
func ContactPhones(ctx context.Context, db *sqldb.DB, v *vault.Vault, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	err := sqldb.Chunks(ids, nil, func(in string, args []any) error {
		rows, err := db.R.QueryContext(ctx, "SELECT id, contact_phone_enc FROM venues WHERE id IN ("+in+")", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var sealed []byte
			if err := rows.Scan(&id, &sealed); err != nil {
				return err
			}
			if len(sealed) == 0 {
				continue
			}
			phone, err := v.Open(sealed)
			if err != nil {
				return err
			}
			if phone != "" {
				out[id] = phone
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("venue contact phones: %w", err)
	}
	return out, nil
}
