-- Hand-offs of contacts who live in another province (internal/cases): the
-- case's province hands each such F1 to the province where they live, in
-- the system (one national database: that province's officials already see
-- the contact) or as a file, and the receiving province confirms it. One row
-- per contact; purged with the contacts.
CREATE TABLE contact_handoffs (
  id {{ID}},
  contact_id BIGINT NOT NULL UNIQUE REFERENCES contacts(id) ON DELETE CASCADE,
  from_province TEXT NOT NULL,
  to_province TEXT NOT NULL,
  method TEXT NOT NULL,
  handed_by TEXT NOT NULL,
  handed_at BIGINT NOT NULL,
  received_by TEXT NOT NULL DEFAULT '',
  received_at BIGINT
);
CREATE INDEX contact_handoffs_to ON contact_handoffs(to_province, received_at);
