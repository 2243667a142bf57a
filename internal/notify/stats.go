package notify

import (
	"context"
	"fmt"
)

// ChannelCount is how many messages of one channel are in one status.
type ChannelCount struct {
	Channel, Status string
	N               int64
}

// Stats counts the outbox by channel and status, for monitoring: no
// principal, no personal data, a handful of rows.
func (o *Outbox) Stats(ctx context.Context) ([]ChannelCount, error) {
	rows, err := o.DB.R.QueryContext(ctx, "SELECT channel, status, count(*) FROM outbox GROUP BY channel, status")
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	var out []ChannelCount
	for rows.Next() {
		var c ChannelCount
		if err := rows.Scan(&c.Channel, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
