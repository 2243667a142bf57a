-- Many servers on one database (issue #17).
--
-- job_leases: a periodic job (campaign batches, report reminders, EN export
-- publishing, retention purges, camera probes, dashboard counting) runs on
-- the one server holding its lease. A lease is taken or renewed by one
-- conditional upsert (free, expired, or already ours); a server that dies
-- stops renewing, and another takes the job over once expires_at passes.
CREATE TABLE job_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL -- Unix milliseconds
);

-- The venue-token signing keys (Ed25519), shared by every server so a poster
-- printed from one verifies on all. The private seed is sealed with the data
-- key (which never sits in the database) and erased when the key is retired.
CREATE TABLE token_keys (
  kid TEXT PRIMARY KEY,
  public_key {{BLOB}} NOT NULL,
  seed_enc {{BLOB}},
  created_ns BIGINT NOT NULL, -- Unix nanoseconds: the newest active key signs
  retired_at BIGINT
);

-- A small value sealed with the data key when the database is first opened:
-- a server whose key does not open it refuses to start rather than write
-- rows no other server can read.
CREATE TABLE vault_check (
  id INTEGER PRIMARY KEY,
  sealed {{BLOB}} NOT NULL,
  created_at BIGINT NOT NULL
);

-- Exposure Notification export files live in the database with their row,
-- so any server serves them; the index is derived from the rows.
ALTER TABLE en_exports ADD COLUMN content {{BLOB}};
