-- Officials' inbox (internal/inbox): notices of new work in their
-- jurisdiction, what each official wants sent by SMS or email, and the
-- counts the watch job compares from one run to the next. Notices hold
-- counts and links only, never personal data.

-- The last count of each kind of work per scope (role, unit, department:
-- every official of a scope sees the same count) and the link of that work.
-- gen moves on with each change; a notice's dedup key names the scope, kind
-- and gen, so the server that wins the compare-and-set writes the notices
-- and a second one writes nothing.
CREATE TABLE inbox_watch (
  scope TEXT NOT NULL,
  kind TEXT NOT NULL,
  count BIGINT NOT NULL,
  gen BIGINT NOT NULL,
  href TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (scope, kind)
);

-- One notice per official and event. sent = 1 once its each-event messages
-- were queued (or there was nothing to send).
CREATE TABLE inbox_notices (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  added BIGINT NOT NULL,
  total BIGINT NOT NULL,
  href TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  read_at BIGINT,
  sent INTEGER NOT NULL DEFAULT 0,
  UNIQUE (user_id, dedup_key)
);
-- The bell: one indexed count of a user's unread notices per page view.
CREATE INDEX inbox_notices_unread ON inbox_notices(user_id) WHERE read_at IS NULL;
-- The inbox page, newest first, paged by id; the digest's window.
CREATE INDEX inbox_notices_user ON inbox_notices(user_id, id);
CREATE INDEX inbox_notices_created ON inbox_notices(created_at);
-- The notices whose each-event messages are not queued yet.
CREATE INDEX inbox_notices_unsent ON inbox_notices(id) WHERE sent = 0;

-- What an official wants sent, per channel: off, each (one message per
-- notice) or daily (one digest a day). No row: off.
CREATE TABLE inbox_prefs (
  user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  sms TEXT NOT NULL DEFAULT 'off',
  email TEXT NOT NULL DEFAULT 'off',
  updated_at BIGINT NOT NULL
);

-- The days (Vietnam dates) whose digests are queued; each digest's outbox
-- dedup key names its day, user and channel, so a repeated run sends none twice.
CREATE TABLE inbox_digest_days (
  day TEXT PRIMARY KEY,
  done_at BIGINT NOT NULL
);
