-- Data-key rotation (internal/vault, README "Keys"). Expand-only: two new
-- tables, nothing an older server reads changes.

-- The look-up (hash) and tag keys, sealed with the current data key: they
-- were derived from the first data key, and stay the same across rotations
-- so every stored hash (phones, ID numbers) and issued tag stays valid.
CREATE TABLE vault_lookup (
  id INTEGER PRIMARY KEY,
  sealed {{BLOB}} NOT NULL,
  created_at BIGINT NOT NULL
);

-- The re-seal job's progress toward one data key (key_id), per owner's
-- table: the last row key done, so a job taken over by another server goes on.
CREATE TABLE vault_reseal (
  name TEXT NOT NULL,
  key_id TEXT NOT NULL,
  after_id BIGINT NOT NULL,
  resealed BIGINT NOT NULL,
  done INTEGER NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name, key_id)
);
