-- The federation directory's versions (issue #13 item 6). See the SQLite migration for the why.
CREATE TABLE federation_directories (
    version     BIGINT PRIMARY KEY,
    body        BYTEA NOT NULL,
    signature   BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
