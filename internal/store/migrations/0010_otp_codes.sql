-- One table for every one-time code (internal/otp): the phone codes of 0003's
-- otp_codes (venue registration) and the codes and certificates of 0005's
-- bt_codes (Bluezone and Exposure Notification) now live in otp_codes, in
-- bt_codes' shape plus the attempts of a phone code. bt_codes is renamed, so
-- its rows keep their ids (bz_uploads.code_id, bz_feed.code_id and
-- en_keys.certificate_id name them) and its id sequence goes on; the rows of
-- the old otp_codes follow with new ids, in their order, so a phone's newest
-- code is still the one with the largest id. Their hashes are 16-byte tags
-- that internal/otp still recognises, so a code sent just before the upgrade
-- still works. Of two old rows with the same hash (the same code sent twice
-- to one phone) the newer is kept: the hash is unique.
ALTER TABLE otp_codes RENAME TO otp_codes_0003;
ALTER TABLE bt_codes RENAME TO otp_codes;
ALTER TABLE otp_codes ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
INSERT INTO otp_codes (purpose, code_hash, phone_hash, attempts, created_at, expires_at, used_at)
  SELECT o.purpose, o.code_hash, o.phone_hash, o.attempts, o.created_at, o.expires_at,
    CASE WHEN o.used <> 0 THEN o.created_at END
  FROM otp_codes_0003 o
  WHERE NOT EXISTS (SELECT 1 FROM otp_codes_0003 n WHERE n.code_hash = o.code_hash AND n.id > o.id)
  ORDER BY o.id;
DROP TABLE otp_codes_0003;
DROP INDEX bt_codes_hash;
DROP INDEX bt_codes_phone;
DROP INDEX bt_codes_created;
CREATE UNIQUE INDEX otp_codes_hash ON otp_codes(code_hash);
CREATE INDEX otp_codes_phone ON otp_codes(phone_hash, purpose, created_at);
CREATE INDEX otp_codes_created ON otp_codes(created_at);
