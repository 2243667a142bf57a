-- Cases and contact tracing: the case registry with its status history, the
-- contacts found for each case (the tracers' worklist) with their call
-- outcomes, the venues an F0 exposed (for the public map), background tracing
-- jobs (F2), and laboratory imports waiting for a person's decision.
-- Dates (sample, onset, isolation) are Unix seconds of the day's start in
-- Asia/Ho_Chi_Minh. A case belongs to the commune of its person.

-- The F0 → F1 probe reads (venue_id, t_in) ranges and needs t_out and
-- person_id of every row it meets: with them in the index, a probe is one
-- sequential index read and never touches the table.
CREATE INDEX visits_venue_cover ON visits(venue_id, t_in, t_out, person_id);
-- Stays longer than an hour (a fifth of them): a probe reads every visit only
-- as far back as a short stay reaches, and the long ones further back, up to
-- the stay cap, from this much smaller index (internal/tracing longStay).
CREATE INDEX visits_venue_long ON visits(venue_id, t_in, t_out, person_id) WHERE t_out - t_in > 3600;

CREATE TABLE cases (
  id {{ID}},
  person_id BIGINT NOT NULL REFERENCES people(id),
  status TEXT NOT NULL,
  sample_date BIGINT,
  onset_date BIGINT,
  isolation_kind TEXT NOT NULL DEFAULT '',
  isolation_place TEXT NOT NULL DEFAULT '',
  isolation_start BIGINT,
  isolation_end BIGINT,
  confirmed_by BIGINT,
  confirmed_by_name TEXT NOT NULL DEFAULT '',
  source_case_id BIGINT REFERENCES cases(id),
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX cases_person ON cases(person_id);
CREATE INDEX cases_source ON cases(source_case_id);
CREATE INDEX cases_commune ON cases(commune_code, status, created_at);
CREATE INDEX cases_district ON cases(district_code, status, created_at);
CREATE INDEX cases_province ON cases(province_code, status, created_at);

-- Every status change (F1 → F0 when positive, F0 → recovered, ...).
CREATE TABLE case_history (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  at BIGINT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  user_id BIGINT NOT NULL,
  username TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_history_case ON case_history(case_id, at);

-- Contacts of a case: one row per (case, person), the level (F1, F2), the
-- main exposure (longest overlap) in columns and every exposure as JSON
-- evidence. The commune is the contact's own, so each commune's tracers get
-- their worklist with one equality. due_at is when the next call is due.
CREATE TABLE contacts (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  person_id BIGINT NOT NULL,
  level TEXT NOT NULL,
  via_person_id BIGINT,
  source TEXT NOT NULL,
  venue_id BIGINT NOT NULL DEFAULT 0,
  overlap_seconds BIGINT NOT NULL,
  first_shared BIGINT NOT NULL,
  last_shared BIGINT NOT NULL,
  vulnerable INTEGER NOT NULL DEFAULT 0,
  evidence TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  outcome_at BIGINT,
  calls INTEGER NOT NULL DEFAULT 0,
  quarantine_until BIGINT,
  closed INTEGER NOT NULL DEFAULT 0,
  notified_at BIGINT,
  UNIQUE (case_id, person_id)
);
CREATE INDEX contacts_person ON contacts(person_id);
CREATE INDEX contacts_commune ON contacts(commune_code, closed, due_at);
CREATE INDEX contacts_district ON contacts(district_code, closed, due_at);
CREATE INDEX contacts_province ON contacts(province_code, closed, due_at);
CREATE INDEX contacts_created ON contacts(created_at);

-- Each call a tracer made to a contact, and what came of it.
CREATE TABLE contact_calls (
  id {{ID}},
  contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  username TEXT NOT NULL,
  outcome TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contact_calls_contact ON contact_calls(contact_id, at);
CREATE INDEX contact_calls_at ON contact_calls(at);

-- Places and times an F0 was at while infectious: the public map reads them
-- without personal data; case_id stays server-side.
CREATE TABLE exposures (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  venue_id BIGINT NOT NULL,
  t_from BIGINT NOT NULL,
  t_to BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX exposures_case ON exposures(case_id);
CREATE INDEX exposures_time ON exposures(t_to);
CREATE INDEX exposures_from ON exposures(t_from);

-- Background tracing jobs (F2 and beyond) with their bounds and progress.
CREATE TABLE trace_jobs (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  total INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  found INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX trace_jobs_case ON trace_jobs(case_id, id);

-- A laboratory's uploaded positive list (sealed: it holds names and phones),
-- kept until a person has decided on its flagged rows.
CREATE TABLE case_imports (
  id {{ID}},
  user_id BIGINT NOT NULL,
  filename TEXT NOT NULL,
  data_enc {{BLOB}} NOT NULL,
  status TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX case_imports_created ON case_imports(created_at);

-- The province's tracing rules (overlap threshold, the within-an-hour rule,
-- default stays), changed by an administrator at run time: one row, JSON.
CREATE TABLE trace_settings (
  id INTEGER PRIMARY KEY,
  rules TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
