-- A row's `changed_seq` moves only when its content does (issue #14). Storing a projection again with the same
-- snapshot — every sync message a receiver takes is stored with its sync state, an acknowledgement too — or
-- compacting a document (same heads, new snapshot) changed nothing a peer holds, but moved the mark: after a
-- restart, the cases re-synced by the first sessions then counted as changed for every later one, which
-- reconciled every case again.
DROP TRIGGER documents_updated;
DROP TRIGGER projections_updated;
CREATE TRIGGER documents_updated AFTER UPDATE OF heads, generation ON documents
    WHEN OLD.heads IS NOT NEW.heads OR OLD.generation IS NOT NEW.generation
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE documents SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE doc_id = NEW.doc_id;
END;
CREATE TRIGGER projections_updated AFTER UPDATE OF snapshot, retired ON projections
    WHEN OLD.snapshot IS NOT NEW.snapshot OR OLD.retired IS NOT NEW.retired
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE projections SET changed_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE wire_id = NEW.wire_id;
END;
