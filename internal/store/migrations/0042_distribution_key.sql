-- The distribution key (issue #17, docs/SCALING.md "Distribution key, table
-- by table"): every large table gets the province its rows belong to, so a
-- distributed engine (Citus) or one database per group of provinces can
-- keep a province's rows together. Expand-only: columns with a default, so a
-- server of the previous release, which writes none of them, keeps working
-- (its rows get '' and are filled by nothing: a later cleanup may backfill).
--
-- visits: the venue's province, written by the check-in writer; old rows are
-- filled on PostgreSQL by the day-partition swap (0043, one pass) and left ''
-- on SQLite, which serves one province (the column is not read yet).
ALTER TABLE visits ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
-- venue_words: co-located with its venue.
ALTER TABLE venue_words ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
UPDATE venue_words SET province_code = COALESCE((SELECT v.province_code FROM venues v WHERE v.id = venue_words.venue_id), '');
-- contact_calls and exposures: co-located with their case.
ALTER TABLE contact_calls ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
UPDATE contact_calls SET province_code = COALESCE((SELECT c.province_code FROM contacts k JOIN cases c ON c.id = k.case_id
  WHERE k.id = contact_calls.contact_id), '');
ALTER TABLE exposures ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
UPDATE exposures SET province_code = COALESCE((SELECT c.province_code FROM cases c WHERE c.id = exposures.case_id), '');
-- bz_sightings: the upload's province (old rows: as visits).
ALTER TABLE bz_sightings ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
-- Messages: the sending unit's province, for rows written from now on
-- (campaign deliveries: the campaign's unit; the outbox: set by callers
-- that know it, '' otherwise).
ALTER TABLE outbox ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_deliveries ADD COLUMN province_code TEXT NOT NULL DEFAULT '';
-- audit_log: the acting official's province, from now on.
ALTER TABLE audit_log ADD COLUMN province_code TEXT NOT NULL DEFAULT '';

-- F2 tracing jobs run under a lease (internal/tracing): the server running a
-- job renews lease_until (Unix milliseconds); once it lapses another server
-- takes the job over. Rows of the previous release have no holder.
ALTER TABLE trace_jobs ADD COLUMN holder TEXT NOT NULL DEFAULT '';
ALTER TABLE trace_jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX trace_jobs_open ON trace_jobs(status, lease_until);
