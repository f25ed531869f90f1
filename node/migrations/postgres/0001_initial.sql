-- Weer Thuis node storage, PostgreSQL. Same tables as migrations/sqlite, in native types.

-- A case (traject). Its id is random, never the BSN.
CREATE TABLE cases (
    id         TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

-- One Automerge document per form or step of a case: a snapshot (`save()`, may be empty) plus the incremental
-- changes in doc_changes saved after it. `heads` is the concatenation of 32-byte change hashes.
CREATE TABLE documents (
    doc_id     TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    kind       TEXT NOT NULL,
    instance   TEXT NOT NULL,
    snapshot   BYTEA NOT NULL,
    heads      BYTEA NOT NULL,
    last_seq   BIGINT NOT NULL,
    pending    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, kind, instance)
);

CREATE TABLE doc_changes (
    doc_id TEXT NOT NULL REFERENCES documents (doc_id),
    seq    BIGINT NOT NULL,
    change BYTEA NOT NULL,
    PRIMARY KEY (doc_id, seq)
);

-- Automerge sync::State per (peer, document), so a restart resumes without resending everything.
CREATE TABLE sync_state (
    peer       TEXT NOT NULL,
    doc_id     TEXT NOT NULL REFERENCES documents (doc_id),
    state      BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, doc_id)
);

-- API users. Only the SHA-256 of a token is kept.
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);

-- The hash-chained audit log (node::audit). Append-only: updates, deletes and truncation are refused.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    entry     TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
