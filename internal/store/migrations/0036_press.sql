-- Communication and the press (internal/press): the materials library the
-- province uploads and the communes use, and the weekly press releases.

-- File contents behind press.Storage's database default, in chunks of at
-- most 1 MiB, so a download streams and no statement carries a whole video.
CREATE TABLE press_blobs (
  blob_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data {{BLOB}} NOT NULL,
  PRIMARY KEY (blob_key, seq)
);

-- A material of the library: poster, leaflet, loudspeaker script or video.
-- content_type is the allow-list's type for what was sniffed, never what
-- the uploader's browser claimed; file_name is sanitised.
CREATE TABLE press_materials (
  id {{ID}},
  province_code TEXT NOT NULL,
  kind TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  file_name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE INDEX press_materials_province ON press_materials(province_code, created_at);

-- What a commune did with a material: printed (copies) or broadcast (times
-- on the loudspeakers), on a day; one row per mark.
CREATE TABLE press_material_uses (
  id {{ID}},
  material_id BIGINT NOT NULL REFERENCES press_materials(id),
  commune_code TEXT NOT NULL,
  district_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  use_kind TEXT NOT NULL,
  copies BIGINT NOT NULL,
  used_on TEXT NOT NULL,
  user_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX press_material_uses_material ON press_material_uses(material_id, commune_code);

-- The weekly press release: drafted by the system from live figures
-- (figures holds the snapshot, JSON), edited and approved by a province
-- role; published_at set means public at /bao-chi/{week}.
CREATE TABLE press_releases (
  id {{ID}},
  province_code TEXT NOT NULL,
  week TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  figures TEXT NOT NULL,
  drafted_at BIGINT NOT NULL,
  edited_by BIGINT,
  edited_at BIGINT,
  approved_by BIGINT,
  published_at BIGINT
);
CREATE UNIQUE INDEX press_releases_week ON press_releases(province_code, week);
