-- Federation: projections and signed policy versions. See migrations/sqlite/0002_federation.sql.

CREATE TABLE projections (
    wire_id    TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    sender     TEXT NOT NULL,
    receiver   TEXT NOT NULL,
    generation BIGINT NOT NULL,
    snapshot   BYTEA NOT NULL,
    sync_state BYTEA,
    retired    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX projections_by_case ON projections (case_id);

CREATE TABLE policy_versions (
    version        TEXT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    body           TEXT NOT NULL,
    signature      BYTEA NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL
);
