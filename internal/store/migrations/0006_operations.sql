-- The operations centre: dashboard aggregates, public map areas, weekly
-- reports, quarantine zones and their cameras, messaging campaigns.

-- Event counts per hour (the Unix time of the hour's start, UTC), already
-- rolled up to every level (commune, district, province, country) and sector
-- ('' = every sector, else the department code responsible for the venue's
-- category). A dashboard request reads a few dozen of these rows by primary
-- key and never scans visits or declarations.
CREATE TABLE dash_hourly (
  unit_code TEXT NOT NULL,
  sector TEXT NOT NULL,
  metric TEXT NOT NULL,
  hour BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (unit_code, sector, metric, hour)
);
CREATE INDEX dash_hourly_hour ON dash_hourly(hour);

-- The same counts by local day (Unix day number in Asia/Ho_Chi_Minh), kept
-- in step with dash_hourly: a 14-day chart or a district table reads 14
-- rows per unit instead of 336.
CREATE TABLE dash_daily (
  unit_code TEXT NOT NULL,
  sector TEXT NOT NULL,
  metric TEXT NOT NULL,
  day BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (unit_code, sector, metric, day)
);
CREATE INDEX dash_daily_day ON dash_daily(day);

-- Current values (venues registered, venues scanning, people in quarantine,
-- Bluezone installs, ...), recomputed by the background refresher.
CREATE TABLE dash_gauges (
  unit_code TEXT NOT NULL,
  sector TEXT NOT NULL,
  metric TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (unit_code, sector, metric)
);

-- The last day (Unix day number, local time) each venue was scanned: "share
-- of venues with recent scans" without counting distinct venues over visits.
CREATE TABLE dash_venue_seen (
  venue_id BIGINT PRIMARY KEY,
  day BIGINT NOT NULL
);

-- Quarantine and lockdown areas shown on the public map.
CREATE TABLE map_areas (
  id {{ID}},
  kind TEXT NOT NULL,
  label TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  unit_code TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX map_areas_province ON map_areas(province_code, ends_at);

-- Where each reporting unit's reminder goes ("dept:health", "district:803").
CREATE TABLE report_units (
  unit_key TEXT PRIMARY KEY,
  email TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);

-- One weekly report per unit and ISO week. late is fixed by the first
-- submission: a correction after the deadline does not turn a punctual
-- report into a late one, nor the reverse.
CREATE TABLE weekly_reports (
  id {{ID}},
  week TEXT NOT NULL,
  unit_key TEXT NOT NULL,
  venues_registered BIGINT NOT NULL,
  venues_scanning BIGINT NOT NULL,
  checkins BIGINT NOT NULL,
  declarations BIGINT NOT NULL,
  bluezone_installs BIGINT NOT NULL,
  smartphone_users BIGINT NOT NULL,
  work_done TEXT NOT NULL,
  difficulties TEXT NOT NULL,
  proposals TEXT NOT NULL,
  submitted_by BIGINT NOT NULL,
  submitted_by_name TEXT NOT NULL,
  first_submitted_at BIGINT NOT NULL,
  submitted_at BIGINT NOT NULL,
  deadline BIGINT NOT NULL,
  late INTEGER NOT NULL,
  UNIQUE (week, unit_key)
);

-- Every consolidated report emailed to the province.
CREATE TABLE report_sends (
  id {{ID}},
  week TEXT NOT NULL,
  to_addr TEXT NOT NULL,
  sent_by TEXT NOT NULL,
  sent_at BIGINT NOT NULL
);

-- Quarantine zones (facilities) and the cameras that watch them.
CREATE TABLE quarantine_zones (
  id {{ID}},
  name TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  capacity INTEGER NOT NULL DEFAULT 0,
  held INTEGER NOT NULL DEFAULT 0,
  public INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);
CREATE INDEX quarantine_zones_district ON quarantine_zones(district_code);

-- Stream and snapshot URLs are stored without their credentials; the
-- credentials are sealed with the vault and only the server uses them.
CREATE TABLE cameras (
  id {{ID}},
  zone_id BIGINT NOT NULL REFERENCES quarantine_zones(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  stream_kind TEXT NOT NULL,
  stream_url TEXT NOT NULL DEFAULT '',
  snapshot_url TEXT NOT NULL DEFAULT '',
  secret_enc {{BLOB}},
  online INTEGER NOT NULL DEFAULT 0,
  last_seen_at BIGINT,
  last_probe_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX cameras_zone ON cameras(zone_id);

-- Messaging campaigns. The target unit's codes are kept like any record's so
-- one equality limits a list to a viewer's jurisdiction.
CREATE TABLE campaigns (
  id {{ID}},
  name TEXT NOT NULL,
  template TEXT NOT NULL,
  channel TEXT NOT NULL,
  body TEXT NOT NULL,
  unit_code TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  groups TEXT NOT NULL,
  rate_per_min INTEGER NOT NULL,
  status TEXT NOT NULL,
  recipients BIGINT NOT NULL DEFAULT 0,
  queued BIGINT NOT NULL DEFAULT 0,
  cursor_person BIGINT NOT NULL DEFAULT 0,
  cursor_venue BIGINT NOT NULL DEFAULT 0,
  created_by BIGINT NOT NULL,
  created_by_name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX campaigns_status ON campaigns(status);

-- The delivery log: one row per message a campaign queued; its state is the
-- outbox row with the same dedup key.
CREATE TABLE campaign_deliveries (
  id {{ID}},
  campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,
  dedup_key TEXT NOT NULL UNIQUE,
  queued_at BIGINT NOT NULL
);
CREATE INDEX campaign_deliveries_campaign ON campaign_deliveries(campaign_id, id);
CREATE INDEX campaign_deliveries_queued ON campaign_deliveries(queued_at);
