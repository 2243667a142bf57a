-- Venue search (internal/venue). venue_words indexes each word of a venue's
-- name, address, plate and route, folded (lower case, no diacritics: "cho
-- ben luc" finds "Chợ Bến Lức"), under every prefix of 2 to 12 letters, so
-- a word typed in part is an equality look-up on the primary key on both
-- engines (no LIKE '%...%', no collation-dependent range). search_key is
-- the same text whole, to sort by name; contact_phone_hash finds a venue by
-- the phone it registered with. Venues stored before this migration are
-- indexed by the venue service at start (FillSearch).
ALTER TABLE venues ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
ALTER TABLE venues ADD COLUMN contact_phone_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX venues_phone ON venues(contact_phone_hash);
CREATE INDEX venues_province_status ON venues(province_code, status, category);
CREATE INDEX venues_district_status ON venues(district_code, status, category);
CREATE TABLE venue_words (
  word TEXT NOT NULL,
  venue_id BIGINT NOT NULL REFERENCES venues(id) ON DELETE CASCADE,
  PRIMARY KEY (word, venue_id)
);
CREATE INDEX venue_words_venue ON venue_words(venue_id);
