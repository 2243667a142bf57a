-- Bluetooth tracing: one-time codes, the Bluezone device registry, resolved
-- contact logs, the decentralised key feed, Exposure Notification keys and
-- export files, and the adoption figures and targets of the directive.

-- One-time codes. Phone confirmations (bz_register, bz_unregister) are tied to
-- a phone hash; codes a health tracer issues for an F0 (bz_log, bz_feed, en)
-- and the EN verification certificates they unlock (en_cert) are tied to a
-- person. Only a keyed hash of the code is kept; used_at makes each single use.
CREATE TABLE bt_codes (
  id {{ID}},
  purpose TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  phone_hash TEXT NOT NULL DEFAULT '',
  person_id BIGINT,
  issued_by BIGINT NOT NULL DEFAULT 0,
  onset_at BIGINT,
  commune_code TEXT NOT NULL DEFAULT '',
  district_code TEXT NOT NULL DEFAULT '',
  province_code TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE UNIQUE INDEX bt_codes_hash ON bt_codes(code_hash);
CREATE INDEX bt_codes_phone ON bt_codes(phone_hash, purpose, created_at);
CREATE INDEX bt_codes_created ON bt_codes(created_at);

-- Registered Bluezone phones, one per phone number. key_enc is the vault-sealed
-- key of day key_day (the base key and base day at registration); token_hash
-- authenticates the phone's later calls (ping, delete).
CREATE TABLE bz_devices (
  id {{ID}},
  person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
  phone_hash TEXT NOT NULL,
  key_enc {{BLOB}} NOT NULL,
  key_day BIGINT NOT NULL,
  base_day BIGINT NOT NULL,
  platform TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX bz_devices_phone ON bz_devices(phone_hash);
CREATE UNIQUE INDEX bz_devices_token ON bz_devices(token_hash);
CREATE INDEX bz_devices_person ON bz_devices(person_id);
CREATE INDEX bz_devices_commune ON bz_devices(commune_code, last_seen_at);
CREATE INDEX bz_devices_province ON bz_devices(province_code, commune_code, last_seen_at);

-- Device ids come from this counter, never reused (SQLite reuses the largest
-- rowid after a delete): the ID index covers "every device up to id N", and a
-- reused id would inherit an erased phone's place in it.
CREATE TABLE bz_seq (
  id INTEGER PRIMARY KEY,
  n BIGINT NOT NULL
);
INSERT INTO bz_seq (id, n) VALUES (1, 0);

-- Devices erased (deleted or replaced by a re-registration): the ID index
-- files built before erase their link to the device from this list.
CREATE TABLE bz_erased (
  id {{ID}},
  device_id BIGINT NOT NULL,
  erased_at BIGINT NOT NULL
);

-- One F0 contact-log upload, and its resolved sightings: one row per contact
-- device and 10-minute slot, with the evidence. The raw log is not kept.
CREATE TABLE bz_uploads (
  id {{ID}},
  person_id BIGINT NOT NULL,
  code_id BIGINT NOT NULL,
  own_device_id BIGINT,
  rows_in INTEGER NOT NULL,
  ids_in INTEGER NOT NULL,
  ids_resolved INTEGER NOT NULL,
  candidates INTEGER NOT NULL,
  first_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX bz_uploads_person ON bz_uploads(person_id, created_at);
CREATE INDEX bz_uploads_created ON bz_uploads(created_at);

CREATE TABLE bz_sightings (
  id {{ID}},
  upload_id BIGINT NOT NULL REFERENCES bz_uploads(id) ON DELETE CASCADE,
  device_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL,
  slot_start BIGINT NOT NULL,
  first_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  max_rssi INTEGER NOT NULL,
  n INTEGER NOT NULL
);
CREATE INDEX bz_sightings_upload ON bz_sightings(upload_id, person_id);
CREATE INDEX bz_sightings_first ON bz_sightings(first_at);

-- The decentralised feed: an F0's daily keys, public by design, kept until
-- their day leaves the retention period.
CREATE TABLE bz_feed (
  id {{ID}},
  daily_key {{BLOB}} NOT NULL,
  day_start BIGINT NOT NULL,
  slots INTEGER NOT NULL,
  window_end BIGINT NOT NULL,
  code_id BIGINT NOT NULL,
  published_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX bz_feed_key ON bz_feed(daily_key);
CREATE INDEX bz_feed_day ON bz_feed(day_start);

-- Exposure Notification: uploaded Temporary Exposure Keys. available_at is
-- when a key may be exported (its arrival, or its end for a key still in use).
CREATE TABLE en_keys (
  id {{ID}},
  key_data {{BLOB}} NOT NULL,
  rolling_start BIGINT NOT NULL,
  rolling_period INTEGER NOT NULL,
  transmission_risk INTEGER NOT NULL,
  region TEXT NOT NULL,
  certificate_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  available_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX en_keys_data ON en_keys(key_data);
CREATE INDEX en_keys_available ON en_keys(region, available_at);
CREATE INDEX en_keys_created ON en_keys(created_at);

-- Export signing keys: phones are configured with (key_id, version) → public key.
CREATE TABLE en_signing_keys (
  id {{ID}},
  key_id TEXT NOT NULL,
  version TEXT NOT NULL,
  private_enc {{BLOB}} NOT NULL,
  public_pem TEXT NOT NULL,
  active INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (key_id, version)
);

-- Published export files, immutable once written.
CREATE TABLE en_exports (
  id {{ID}},
  region TEXT NOT NULL,
  start_at BIGINT NOT NULL,
  end_at BIGINT NOT NULL,
  batch_num INTEGER NOT NULL,
  batch_size INTEGER NOT NULL,
  filename TEXT NOT NULL UNIQUE,
  keys INTEGER NOT NULL,
  signing_key_id TEXT NOT NULL,
  signing_version TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX en_exports_region ON en_exports(region, end_at);

-- Adoption: smartphone users per commune (imported, editable) and the
-- directive's targets, editable by the province.
CREATE TABLE adoption_smartphones (
  commune_code TEXT PRIMARY KEY,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  users BIGINT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  updated_by BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE adoption_targets (
  due_date TEXT PRIMARY KEY,
  percent {{REAL}} NOT NULL
);
INSERT INTO adoption_targets (due_date, percent) VALUES ('2021-07-31', 40), ('2021-12-31', 60);
