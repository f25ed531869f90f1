-- Vergetelheid: the partners to tell that a case was erased. See migrations/sqlite/0007_vergetelheid.sql.
CREATE TABLE erasure_notices (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, case_id)
);
