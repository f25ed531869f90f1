-- Federation: projections and signed policy versions.

-- A projection: a document written by `sender` for one `receiver`, holding only the fields the policy lets the
-- receiver have. Stored whole (projections are small); `generation` rises when a narrowed policy or relation
-- rotates it, and a retired one is no longer synced. `sync_state` is the Automerge sync state with the one peer.
CREATE TABLE projections (
    wire_id    TEXT PRIMARY KEY NOT NULL,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    sender     TEXT NOT NULL,
    receiver   TEXT NOT NULL,
    generation INTEGER NOT NULL,
    snapshot   BLOB NOT NULL,
    sync_state BLOB,
    retired    INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX projections_by_case ON projections (case_id);

-- Policy versions received, signed by the Transferpunt; adopted from their effective date.
CREATE TABLE policy_versions (
    version        TEXT PRIMARY KEY NOT NULL,
    effective_from TEXT NOT NULL,
    body           TEXT NOT NULL,
    signature      BLOB NOT NULL,
    received_at    TEXT NOT NULL
) STRICT;
