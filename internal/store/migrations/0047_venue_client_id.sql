-- An officer's "add one venue" form (/venues/new) carries a random id, as
-- the declaration and check-in forms do, so a double submit or a reloaded
-- page adds the venue once and shows the first. NULL for venues made any
-- other way. The key is the form's id with the user's (venue.CreateOnce).
-- The province, the distribution key, leads the index so a distributed
-- engine can enforce it on one shard. Partial: it holds only the forms'
-- venues, so building it on a large table writes nothing and the
-- migration's lock on venues is short.
ALTER TABLE venues ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX venues_client ON venues(province_code, client_id) WHERE client_id IS NOT NULL;
