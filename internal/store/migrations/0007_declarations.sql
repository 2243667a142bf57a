-- Health declarations (table in 0003): a client-generated id so a retried or
-- double-tapped submission records once, and the worklist's indexes.

-- NULL for submissions without an id; both engines let a UNIQUE index hold
-- many NULLs.
ALTER TABLE declarations ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX declarations_client ON declarations(client_id);

-- The commune health station's worklist reads only flagged declarations
-- (symptoms or a contact with a case), a few in a hundred: partial indexes
-- hold just those, one per level a reader's jurisdiction can sit at, so a
-- page of the open list is one short range read however many unflagged
-- declarations the area made. Queries must repeat the predicate verbatim for
-- the planners to use them.
CREATE INDEX declarations_flagged_commune ON declarations(commune_code, handled_at, created_at)
  WHERE (has_symptoms = 1 OR had_contact = 1);
CREATE INDEX declarations_flagged_district ON declarations(district_code, handled_at, created_at)
  WHERE (has_symptoms = 1 OR had_contact = 1);
CREATE INDEX declarations_flagged_province ON declarations(province_code, handled_at, created_at)
  WHERE (has_symptoms = 1 OR had_contact = 1);
CREATE INDEX declarations_flagged_all ON declarations(handled_at, created_at)
  WHERE (has_symptoms = 1 OR had_contact = 1);
