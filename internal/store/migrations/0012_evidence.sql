-- Evidence grades (issue #15): how sure we are that a record is the person
-- it names. proof: 0 unproven (details typed on a phone that has not proved
-- the number), 1 the phone proved the number with a one-time code on this
-- device, 2 staff saw a proven person's personal QR or a chip ID card.
-- queued: 1 when the phone sent the scan later from its offline queue (its
-- own clock gave the time, within the bounded window).
ALTER TABLE visits ADD COLUMN proof INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
-- The F1 probe reads the grade from its covering indexes.
DROP INDEX visits_venue_cover;
DROP INDEX visits_venue_long;
CREATE INDEX visits_venue_cover ON visits(venue_id, t_in, t_out, person_id, proof);
CREATE INDEX visits_venue_long ON visits(venue_id, t_in, t_out, person_id, proof) WHERE t_out - t_in > 3600;
ALTER TABLE declarations ADD COLUMN proof INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN proof INTEGER NOT NULL DEFAULT 0;
