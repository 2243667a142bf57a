-- The door-to-door drive ("Đi từng ngõ, gõ từng nhà", internal/doortodoor):
-- a commune's hamlets and households, the volunteer teams it sends house to
-- house (each reached through one-day signed links) and their visits.
-- Expand-only: four new tables. Households are addresses, never names.
CREATE TABLE door_hamlets (
  id {{ID}},
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  name TEXT NOT NULL,
  lat {{REAL}},
  lng {{REAL}},
  created_at BIGINT NOT NULL,
  UNIQUE (commune_code, name)
);

-- state is the household's most advanced outcome (visited > refused >
-- nobody_home), the latest among equals; state_rank orders it.
CREATE TABLE door_households (
  id {{ID}},
  hamlet_id BIGINT NOT NULL REFERENCES door_hamlets(id),
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  address TEXT NOT NULL,
  residents INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT '',
  state_rank INTEGER NOT NULL DEFAULT 0,
  state_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  UNIQUE (hamlet_id, address)
);
CREATE INDEX door_households_commune ON door_households(commune_code, state_rank);

-- A team of volunteers (a mass organisation's group), optionally sent to
-- one hamlet; a revoked team's links stop working at once.
CREATE TABLE door_teams (
  id {{ID}},
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  name TEXT NOT NULL,
  hamlet_id BIGINT REFERENCES door_hamlets(id),
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX door_teams_commune ON door_teams(commune_code);

-- One visit as a volunteer's phone recorded it; id is made on the phone,
-- so a visit sent twice (offline queue, retries) is stored once.
CREATE TABLE door_visits (
  id TEXT PRIMARY KEY,
  household_id BIGINT NOT NULL REFERENCES door_households(id),
  hamlet_id BIGINT NOT NULL,
  team_id BIGINT NOT NULL REFERENCES door_teams(id),
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  outcome TEXT NOT NULL,
  people INTEGER NOT NULL DEFAULT 0,
  no_smartphone INTEGER NOT NULL DEFAULT 0,
  installs INTEGER NOT NULL DEFAULT 0,
  declarations INTEGER NOT NULL DEFAULT 0,
  visited_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX door_visits_commune ON door_visits(commune_code, visited_at);
CREATE INDEX door_visits_district ON door_visits(district_code, visited_at);
CREATE INDEX door_visits_household ON door_visits(household_id);
