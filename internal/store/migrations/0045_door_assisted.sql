-- Health declarations filled in with help during door-to-door visits
-- (internal/doortodoor). Expand-only: two columns and one table.
--
-- Each team gets a P-256 key pair when its first link is made: the
-- volunteer's page encrypts each declaration to the public key before it
-- is queued on the phone, so no name or phone sits readable in a
-- volunteer's browser. The private key is sealed with the data key (vault)
-- and re-sealed by the data-key rotation like every sealed column.
ALTER TABLE door_teams ADD COLUMN key_public TEXT;
ALTER TABLE door_teams ADD COLUMN key_private_enc {{BLOB}};

-- One declaration made with help: id is made on the phone (a resent sync
-- stores it once); the declaration itself is declaration's (its row, its
-- person); this row ties it to the household, hamlet and team for coverage
-- and says whether its personal QR card was printed. No personal data.
CREATE TABLE door_declarations (
  id TEXT PRIMARY KEY,
  declaration_id BIGINT NOT NULL,
  household_id BIGINT NOT NULL REFERENCES door_households(id),
  hamlet_id BIGINT NOT NULL,
  team_id BIGINT NOT NULL REFERENCES door_teams(id),
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  made_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  printed_at BIGINT,
  printed_by TEXT
);
CREATE INDEX door_declarations_commune ON door_declarations(commune_code, printed_at);
CREATE INDEX door_declarations_district ON door_declarations(district_code, made_at);
