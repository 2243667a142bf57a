-- The personal QR cards of door-to-door declarations (internal/doortodoor):
-- the cards page lists the unprinted cards still valid, and the printed
-- ones for a reprint. The declaration's QR expiry is kept here too, so the
-- list filters expired cards in SQL: filtered after a LIMIT, two hundred
-- expired cards hid every newer one. Expand-only: 0 is "not known" (a row
-- an older server wrote during a rolling upgrade); the list falls back to
-- received_at for those.
ALTER TABLE door_declarations ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE door_declarations SET expires_at = COALESCE((SELECT x.expires_at FROM declarations x WHERE x.id = door_declarations.declaration_id), 0);
CREATE INDEX door_declarations_commune_valid ON door_declarations(commune_code, expires_at);
CREATE INDEX door_declarations_district_valid ON door_declarations(district_code, expires_at);

-- A resident declared with help on a phone that already names someone else
-- (a family sharing one phone) is a person of their own, without a phone
-- key (people.Service.FindOrAdd); a later visit finds them again among the
-- people of their commune and birth year without one. Partial: only they
-- are in it.
CREATE INDEX people_unkeyed ON people(commune_code, birth_year) WHERE phone_hash IS NULL;
