-- Held check-ins (issue #15): scans that cannot be physical (one phone at two
-- venues too far apart for the time between, more check-ins in a day than a
-- person makes, a burst of people at one venue from one client address) wait
-- here for a commune officer instead of entering visits, so automatic tracing,
-- which reads only visits, never sees them. Released rows are copied into
-- visits with their grade; rejected rows stay until retention purges them.
-- id is the hold's own key; visit_id is the scan's id (unique per person, as
-- in visits). client_hash is a keyed hash of the sender's address, never the
-- address itself. Jurisdiction columns are the venue's units.
CREATE TABLE visits_held (
  id {{ID}},
  visit_id TEXT NOT NULL,
  venue_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL,
  t_in BIGINT NOT NULL,
  t_out BIGINT,
  out_id TEXT,
  proof INTEGER NOT NULL DEFAULT 0,
  queued INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '',
  client_hash TEXT NOT NULL DEFAULT '',
  held_at BIGINT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'held',
  decided_by BIGINT,
  decided_at BIGINT
);
CREATE UNIQUE INDEX visits_held_visit ON visits_held(person_id, visit_id);
CREATE INDEX visits_held_commune ON visits_held(commune_code, status, held_at);
CREATE INDEX visits_held_time ON visits_held(t_in);
