-- Vergetelheid: the partners to tell that a case was erased. See migrations/sqlite/0007_vergetelheid.sql.
CREATE TABLE erasure_notices (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, case_id)
);

-- A stored answer for a retried request (`Idempotency-Key`) may hold a form of the case: it names its case, so an
-- erasure deletes it too.
ALTER TABLE idempotency_keys ADD COLUMN case_id TEXT;
CREATE INDEX idempotency_keys_case ON idempotency_keys (case_id);
