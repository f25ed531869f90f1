-- Vergetelheid (AVG art. 17): a case erased here leaves, besides an audit tombstone, only the partners to tell
-- (art. 17(2) and 19): those that received part of it. No personal data. Each is sent `Erased` once per connection
-- until the notice expires.
CREATE TABLE erasure_notices (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (peer, case_id)
) STRICT;

-- A stored answer for a retried request (`Idempotency-Key`) may hold a form of the case: it names its case, so an
-- erasure deletes it too.
ALTER TABLE idempotency_keys ADD COLUMN case_id TEXT;
CREATE INDEX idempotency_keys_case ON idempotency_keys (case_id);
