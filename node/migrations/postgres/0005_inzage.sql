-- Inzage (AVG art. 15) and the federated inzage (issue #13). See the SQLite migration for the why.

CREATE TABLE bsn_index (
    hash    BYTEA NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    PRIMARY KEY (hash, case_id)
);
CREATE INDEX bsn_index_case ON bsn_index (case_id);

CREATE TABLE bsn_index_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    key_check BYTEA NOT NULL
);

CREATE TABLE inzage_outgoing (
    id           TEXT PRIMARY KEY,
    peer         TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    signed       BYTEA NOT NULL,
    delivered_at TIMESTAMPTZ
);

CREATE TABLE inzage_queue (
    id           TEXT PRIMARY KEY,
    sender       TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    signed       BYTEA NOT NULL,
    handled_at   TIMESTAMPTZ,
    handled_by   TEXT
);
