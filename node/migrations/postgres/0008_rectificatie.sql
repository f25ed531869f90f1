-- Rectificatie: see migrations/sqlite/0008_rectificatie.sql.
ALTER TABLE documents ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;

CREATE TABLE rectification_notices (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    serial     BIGINT NOT NULL,
    origin     TEXT NOT NULL,
    docs       TEXT NOT NULL,
    confirmed  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, case_id)
);

CREATE TABLE rectifications_taken (
    peer     TEXT NOT NULL,
    case_id  TEXT NOT NULL,
    serial   BIGINT NOT NULL,
    origin   TEXT NOT NULL,
    awaiting TEXT NOT NULL,
    taken_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, case_id)
);
