-- The notification outbox: every SMS, OTT message or email is written here
-- first (in the same flow as the event that causes it) and delivered by a
-- background worker, so a provider outage delays messages but loses none.
-- dedup_key makes "at most once per person per exposure" a unique constraint.
CREATE TABLE outbox (
  id {{ID}},
  channel TEXT NOT NULL,
  to_enc {{BLOB}} NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  dedup_key TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  next_at BIGINT NOT NULL,
  sent_at BIGINT
);
CREATE INDEX outbox_pending ON outbox(status, next_at);
