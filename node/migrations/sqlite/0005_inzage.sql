-- Inzage (AVG art. 15) and the federated inzage (issue #13).

-- Finding a person by BSN without storing the BSN: HMAC-SHA-256 of the BSN under the node's own secret
-- (`bsn-index.key` in the data directory), one row per (hash, case) this node holds a registratie BSN for.
CREATE TABLE bsn_index (
    hash    BLOB NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    PRIMARY KEY (hash, case_id)
) STRICT;
CREATE INDEX bsn_index_case ON bsn_index (case_id);

-- Which key the index was built under (an HMAC of a fixed text, not the key): a missing row (a data directory
-- from before this migration) or another key means the index is rebuilt from the cases.
CREATE TABLE bsn_index_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    key_check BLOB NOT NULL
) STRICT;

-- Inzageverzoeken this node sends to partners that received data about a person: signed, kept until the peer
-- confirmed receipt.
CREATE TABLE inzage_outgoing (
    id           TEXT PRIMARY KEY NOT NULL,
    peer         TEXT NOT NULL,
    case_id      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    signed       BLOB NOT NULL,
    delivered_at TEXT
) STRICT;

-- Inzageverzoeken received from partners: the privacy officer's queue. The signed request is kept as received.
CREATE TABLE inzage_queue (
    id          TEXT PRIMARY KEY NOT NULL,
    sender      TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    signed      BLOB NOT NULL,
    handled_at  TEXT,
    handled_by  TEXT
) STRICT;
