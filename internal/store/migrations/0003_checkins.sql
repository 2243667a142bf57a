-- Check-ins (rows of visits, 0001), one-time codes, and health declarations.

-- One-time codes sent by SMS: phone confirmation for venue registration and
-- device registration. Only a hash of the code is kept.
CREATE TABLE otp_codes (
  id {{ID}},
  purpose TEXT NOT NULL,
  phone_hash TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  used INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX otp_codes_phone ON otp_codes(phone_hash, purpose);

-- Electronic health declarations. The answers are one encrypted JSON document;
-- the flags the commune health station's worklist filters on are columns.
CREATE TABLE declarations (
  id {{ID}},
  person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  answers_enc {{BLOB}} NOT NULL,
  has_symptoms INTEGER NOT NULL,
  had_contact INTEGER NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  handled_at BIGINT,
  handled_by BIGINT,
  handled_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX declarations_worklist ON declarations(commune_code, handled_at, created_at);
CREATE INDEX declarations_person ON declarations(person_id, created_at);
CREATE INDEX declarations_created ON declarations(created_at);
