-- Outbox delivery that two servers can share: a deliverer claims rows with a
-- lease (claim, lease_until) before sending, so a message is handed to a
-- provider once; 'sending' marks the one row in a provider's hands, and a
-- 'sending' row whose lease ran out (its deliverer died mid-send) is failed
-- for a person to re-send rather than sent again. provider_ref is the id a
-- delivery callback names (ours, or the provider's own when it answers one).
-- kind and params feed OTT templates; resends counts re-sends by an admin.
-- Statuses: queued, sending, sent, delivered, failed ('pending' is now 'queued').
ALTER TABLE outbox ADD COLUMN claim TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN provider_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN delivered_at BIGINT;
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN params TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET status = 'queued' WHERE status = 'pending';
CREATE INDEX outbox_ref ON outbox(channel, provider_ref);
CREATE INDEX outbox_failed ON outbox(status, failed_at);
