-- An officer's "add one venue" form (/venues/new) carries a random id, as
-- the declaration and check-in forms do, so a double submit or a reloaded
-- page adds the venue once and shows the first. NULL for venues made any
-- other way (both engines let a UNIQUE index hold many NULLs); the
-- province, the distribution key, leads the index so a distributed engine
-- can enforce it on one shard.
ALTER TABLE venues ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX venues_client ON venues(province_code, client_id);
