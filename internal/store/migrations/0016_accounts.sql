-- Accounts officials manage: a password reset an administrator forces, the
-- second factor (TOTP, RFC 6238) and its recovery codes, and the stage of a
-- login that is not finished yet (code, new password, enrolment).

-- 1 while the user must set a new password at the next login.
ALTER TABLE users ADD COLUMN must_reset INTEGER NOT NULL DEFAULT 0;
-- The TOTP secret, sealed with the vault; NULL means no second factor.
ALTER TABLE users ADD COLUMN totp_secret_enc {{BLOB}};
-- A secret shown on the enrolment page and not yet confirmed by a code.
ALTER TABLE users ADD COLUMN totp_pending_enc {{BLOB}};
-- The last 30-second step a code was accepted for: a code is never used twice.
ALTER TABLE users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;

-- For sessions of kind 'pending': the step of the login still to do.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT '';

-- Ten one-time recovery codes per user with a second factor; only a hash is
-- kept, and used_at marks a code spent.
CREATE TABLE recovery_codes (
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, code_hash)
);
