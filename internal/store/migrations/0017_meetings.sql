-- Online meetings of the steering committees (internal/meeting): the video
-- itself runs on an existing conferencing system (Jitsi by default); these
-- tables keep the schedule, who is invited, attendance, the minutes and the
-- replay guard of the conferencing system's attendance reports.
-- unit_code is the organising unit (the province or a district); the
-- jurisdiction columns are its own, so Principal.Scope() filters them.
CREATE TABLE meetings (
  id {{ID}},
  title TEXT NOT NULL,
  agenda TEXT NOT NULL DEFAULT '',
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  room TEXT NOT NULL,
  unit_code TEXT NOT NULL,
  district_code TEXT NOT NULL DEFAULT '',
  province_code TEXT NOT NULL,
  chair_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  minutes TEXT NOT NULL DEFAULT '',
  decisions TEXT NOT NULL DEFAULT '',
  minutes_by BIGINT,
  minutes_at BIGINT,
  file_name TEXT NOT NULL DEFAULT '',
  file_type TEXT NOT NULL DEFAULT '',
  file_data {{BLOB}}
);
CREATE UNIQUE INDEX meetings_room ON meetings(room);
CREATE INDEX meetings_time ON meetings(province_code, starts_at);

-- The units invited (all district committees, chosen communes).
CREATE TABLE meeting_units (
  meeting_id BIGINT NOT NULL REFERENCES meetings(id),
  unit_code TEXT NOT NULL,
  PRIMARY KEY (meeting_id, unit_code)
);

-- Each invited official (the chair too) and their attendance: joined_at is
-- set by the conferencing system's report or by the chair (source says
-- which); attended 1 joined, 0 marked absent by the chair, NULL unknown.
CREATE TABLE meeting_invitees (
  meeting_id BIGINT NOT NULL REFERENCES meetings(id),
  user_id BIGINT NOT NULL,
  unit_code TEXT NOT NULL,
  chair INTEGER NOT NULL DEFAULT 0,
  attended INTEGER,
  joined_at BIGINT,
  source TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (meeting_id, user_id)
);
CREATE INDEX meeting_invitees_user ON meeting_invitees(user_id);

-- Where an official takes meeting invitations (sealed with the data key):
-- accounts hold no address of their own.
CREATE TABLE meeting_contacts (
  user_id BIGINT PRIMARY KEY,
  email_enc {{BLOB}},
  phone_enc {{BLOB}},
  updated_at BIGINT NOT NULL
);

-- Attendance reports already applied, by a hash of their signature, kept
-- for the window a signed report is accepted in: a captured report sent
-- again inside that window is refused, one outside it fails on its time.
CREATE TABLE meeting_reports_seen (
  sig_hash TEXT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
CREATE INDEX meeting_reports_seen_at ON meeting_reports_seen(seen_at);
