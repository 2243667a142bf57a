-- Purpose-bound access (issue #20, part 4): Police and Information &
-- Communications officers, and health officers reaching outside their own
-- jurisdiction, read a case's personal rows only through a grant a province
-- administrator approved. A grant names one case and either its contact list
-- (scope 'contacts') or named venue-days (scope 'venue_days': venue_days is
-- "venue_id:YYYY-MM-DD" items joined by commas). status is pending, approved,
-- refused or revoked; an approved grant past expires_at is expired (derived
-- when read, so no job has to flip it). Jurisdiction columns are the case's
-- units. A grant holds no citizen's personal data (the purpose is the
-- requester's own words about the case) and is kept as the audit log is: it
-- is what every audited read through it names.
CREATE TABLE access_grants (
  id {{ID}},
  requester_id BIGINT NOT NULL,
  requester_name TEXT NOT NULL,
  requester_role TEXT NOT NULL,
  requester_department TEXT NOT NULL DEFAULT '',
  case_id BIGINT NOT NULL,
  scope TEXT NOT NULL,
  venue_days TEXT NOT NULL DEFAULT '',
  purpose TEXT NOT NULL,
  days_asked INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  created_at BIGINT NOT NULL,
  decided_by BIGINT,
  decided_by_name TEXT NOT NULL DEFAULT '',
  decided_at BIGINT,
  reason TEXT NOT NULL DEFAULT '',
  expires_at BIGINT,
  revoked_by_name TEXT NOT NULL DEFAULT '',
  revoked_at BIGINT,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL
);
CREATE INDEX access_grants_requester ON access_grants (requester_id, case_id, status);
CREATE INDEX access_grants_province ON access_grants (province_code, status, id);
