-- Which cases a reconnect must reconcile with a peer (issue #14): those the node exchanged anything of with the peer
-- (its projections, sync states) and those changed since the peer's last clean session — not every case it holds.
-- `changed_seq` on a document or a projection takes the next value of one sequence for the whole store whenever the
-- row is written. Triggers set it, so no write path can forget to; each sets it on its own row, so writers of
-- different cases never wait for each other. A deleted row leaves no mark: what it changes matters only to a
-- partner that received something of the case, and those are reconciled anyway.
ALTER TABLE documents ADD COLUMN changed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE projections ADD COLUMN changed_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX documents_by_change ON documents (changed_seq);
CREATE INDEX projections_by_change ON projections (changed_seq);

CREATE SEQUENCE change_seq;

CREATE FUNCTION mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_seq := nextval('change_seq');
    RETURN NEW;
END
$$;

CREATE TRIGGER documents_changed BEFORE INSERT OR UPDATE OF heads, snapshot ON documents
    FOR EACH ROW EXECUTE FUNCTION mark_changed();
CREATE TRIGGER projections_changed BEFORE INSERT OR UPDATE OF snapshot, retired ON projections
    FOR EACH ROW EXECUTE FUNCTION mark_changed();

-- Per peer: the change sequence as it stood when a session with the peer began that ended with everything
-- reconciled, under which policy version. A new policy version makes the next session reconcile every case.
CREATE TABLE sync_marks (
    peer   TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL,
    policy TEXT NOT NULL
);

CREATE INDEX projections_by_sender ON projections (sender);
CREATE INDEX projections_by_receiver ON projections (receiver);
