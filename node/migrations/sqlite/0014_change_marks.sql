-- Which cases a reconnect must reconcile with a peer (issue #14): those the node exchanged anything of with the peer
-- (its projections, sync states) and those changed since the peer's last clean session — not every case it holds.
-- `changed_seq` on a document or a projection takes the next value of one counter for the whole store whenever the
-- row is written. Triggers set it, so no write path can forget to; each sets it on its own row, so writers of
-- different cases never wait for each other. A deleted row leaves no mark: what it changes matters only to a
-- partner that received something of the case, and those are reconciled anyway.
ALTER TABLE documents ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projections ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX documents_by_change ON documents (changed_seq);
CREATE INDEX projections_by_change ON projections (changed_seq);

CREATE TABLE change_counter (
    id  INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO change_counter (id, seq) VALUES (1, 0);

CREATE TRIGGER documents_inserted AFTER INSERT ON documents BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE documents SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE doc_id = NEW.doc_id;
END;
CREATE TRIGGER documents_updated AFTER UPDATE OF heads, snapshot ON documents BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE documents SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE doc_id = NEW.doc_id;
END;
CREATE TRIGGER projections_inserted AFTER INSERT ON projections BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE projections SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE wire_id = NEW.wire_id;
END;
CREATE TRIGGER projections_updated AFTER UPDATE OF snapshot, retired ON projections BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE projections SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE wire_id = NEW.wire_id;
END;

-- Per peer: the change counter as it stood when a session with the peer began that ended with everything
-- reconciled, under which policy version. A new policy version makes the next session reconcile every case.
CREATE TABLE sync_marks (
    peer   TEXT PRIMARY KEY NOT NULL,
    seq    INTEGER NOT NULL,
    policy TEXT NOT NULL
) STRICT;

CREATE INDEX projections_by_sender ON projections (sender);
CREATE INDEX projections_by_receiver ON projections (receiver);
