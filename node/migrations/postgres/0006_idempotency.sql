-- Idempotent writes (issue #15): a client's system sends an Idempotency-Key with a POST or PUT, and a retry with
-- the same key gets the first answer back instead of taking the step twice. Keys are per API token (user), and
-- only the SHA-256 of the key is stored (a client might put anything in it). A row whose status is NULL is a
-- request still running; a finished one holds the answer until it expires (api::idempotency).
CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL REFERENCES users (id),
    key_hash     BYTEA NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint  BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    status       INTEGER,
    content_type TEXT,
    location     TEXT,
    body         BYTEA,
    PRIMARY KEY (user_id, key_hash)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
