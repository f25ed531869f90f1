-- A row's `changed_seq` moves only when its content does (issue #14). Storing a projection again with the same
-- snapshot — every sync message a receiver takes is stored with its sync state, an acknowledgement too — or
-- compacting a document (same heads, new snapshot) changed nothing a peer holds, but moved the mark: after a
-- restart, the cases re-synced by the first sessions then counted as changed for every later one, which
-- reconciled every case again.
DROP TRIGGER documents_changed ON documents;
DROP TRIGGER projections_changed ON projections;
CREATE TRIGGER documents_inserted BEFORE INSERT ON documents
    FOR EACH ROW EXECUTE FUNCTION mark_changed();
CREATE TRIGGER documents_changed BEFORE UPDATE OF heads, generation ON documents
    FOR EACH ROW
    WHEN (OLD.heads IS DISTINCT FROM NEW.heads OR OLD.generation IS DISTINCT FROM NEW.generation)
    EXECUTE FUNCTION mark_changed();
CREATE TRIGGER projections_inserted BEFORE INSERT ON projections
    FOR EACH ROW EXECUTE FUNCTION mark_changed();
CREATE TRIGGER projections_changed BEFORE UPDATE OF snapshot, retired ON projections
    FOR EACH ROW
    WHEN (OLD.snapshot IS DISTINCT FROM NEW.snapshot OR OLD.retired IS DISTINCT FROM NEW.retired)
    EXECUTE FUNCTION mark_changed();
