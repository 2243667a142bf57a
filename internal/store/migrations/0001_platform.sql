-- Platform: accounts, sessions, audit, people, venues, visits.
-- Times are Unix seconds (UTC). Personal data (names, phones, ID numbers) is
-- stored only as AES-GCM ciphertext (*_enc) plus a keyed look-up hash (*_hash).
-- Every record that belongs to a place keeps its commune, district and province
-- codes, so jurisdiction filters are one indexed equality at any level.

CREATE TABLE users (
  id {{ID}},
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  unit_code TEXT NOT NULL,
  department TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);

-- Browser sessions and API tokens; only the SHA-256 of the secret is kept.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Who viewed or exported which personal records, when, and why.
CREATE TABLE audit_log (
  id {{ID}},
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  username TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  record_ids TEXT NOT NULL,
  purpose TEXT NOT NULL,
  request_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TABLE people (
  id {{ID}},
  name_enc {{BLOB}},
  phone_enc {{BLOB}},
  phone_hash TEXT,
  id_number_enc {{BLOB}},
  id_number_hash TEXT,
  birth_year INTEGER NOT NULL DEFAULT 0,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
-- A phone is one person, even when two servers see it first at the same time.
-- Hashes are NULL when the person gave no phone or ID number.
CREATE UNIQUE INDEX people_phone ON people(phone_hash);
CREATE INDEX people_id_number ON people(id_number_hash);

CREATE TABLE venues (
  id {{ID}},
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  lat {{REAL}},
  lon {{REAL}},
  contact_name TEXT NOT NULL DEFAULT '',
  contact_phone_enc {{BLOB}},
  capacity INTEGER NOT NULL DEFAULT 0,
  opening_hours TEXT NOT NULL DEFAULT '',
  starts_at BIGINT,
  ends_at BIGINT,
  plate TEXT NOT NULL DEFAULT '',
  route TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  qr_gen INTEGER NOT NULL DEFAULT 1,
  manager_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX venues_commune ON venues(commune_code, category);
CREATE INDEX venues_district ON venues(district_code);
CREATE INDEX venues_province ON venues(province_code);
CREATE INDEX venues_manager ON venues(manager_id);

-- One row per stay: the client's check-in id, and the check-out's id once it
-- arrives. (person_id, venue_id, t_in) finds a person's stays and the open
-- stay a check-out closes; t_in alone drives the purge; the tracing probe's
-- covering index on (venue_id, t_in, ...) comes with 0004. Few indexes: every
-- one costs on the ingest path.
CREATE TABLE visits (
  id TEXT PRIMARY KEY,
  venue_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL,
  t_in BIGINT NOT NULL,
  t_out BIGINT,
  out_id TEXT
);
CREATE UNIQUE INDEX visits_out ON visits(out_id) WHERE out_id IS NOT NULL;
CREATE INDEX visits_person ON visits(person_id, venue_id, t_in);
CREATE INDEX visits_time ON visits(t_in);
