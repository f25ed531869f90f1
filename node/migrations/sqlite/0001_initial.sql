-- Weer Thuis node storage, SQLite. Times are RFC 3339 text in UTC; Automerge bytes are BLOBs.

-- A case (traject). Its id is random, never the BSN.
CREATE TABLE cases (
    id         TEXT PRIMARY KEY NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- One Automerge document per form or step of a case: a snapshot (`save()`, may be empty) plus the incremental
-- changes in doc_changes saved after it. `heads` is the concatenation of 32-byte change hashes.
CREATE TABLE documents (
    doc_id     TEXT PRIMARY KEY NOT NULL,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    kind       TEXT NOT NULL,
    instance   TEXT NOT NULL,
    snapshot   BLOB NOT NULL,
    heads      BLOB NOT NULL,
    last_seq   INTEGER NOT NULL,
    pending    INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (case_id, kind, instance)
) STRICT;

CREATE TABLE doc_changes (
    doc_id TEXT NOT NULL REFERENCES documents (doc_id),
    seq    INTEGER NOT NULL,
    change BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

-- Automerge sync::State per (peer, document), so a restart resumes without resending everything.
CREATE TABLE sync_state (
    peer       TEXT NOT NULL,
    doc_id     TEXT NOT NULL REFERENCES documents (doc_id),
    state      BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (peer, doc_id)
) STRICT;

-- API users. Only the SHA-256 of a token is kept.
CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The hash-chained audit log (node::audit). Append-only: updates and deletes are refused by the triggers below.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at        TEXT NOT NULL,
    entry     TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
