-- Rectificatie (AVG art. 16): correcting a value rewrites the documents that held it without their history, as a
-- new generation (a projection already rotates the same way). A document's generation is part of its name between
-- nodes (`c/<case>/<kind>[/<instance>]@<generation>`), so a message for an older generation is never merged into
-- the new one. 0 for every document written before.
ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- The partners to tell that a case was rectified here: those that received part of it. Until a partner confirms,
-- nothing of the case is synced with it, so it deletes what it received before the new generations reach it.
-- `origin`: the partner that rectified (this node, or the partner whose notice it passes on); `serial` numbers the
-- origin's rectifications, so a notice that comes round by another way is taken once.
-- `confirmed`: the partner took the notice; the row stays until it holds the new projection generation and has been
-- told to delete the old ones (told earlier, it could lose the data it decides on before the new one arrives).
-- `docs`: the rewritten documents it holds whole, by wire name at their new generation (newline-separated).
CREATE TABLE rectification_notices (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    serial     INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    docs       TEXT NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (peer, case_id)
) STRICT;

-- The rectifications this node took from a partner, so a notice told again (a confirmation lost with a
-- connection) is confirmed without deleting what came after it. `awaiting`: the documents named in the notice that
-- have not reached their new generation here yet; until they have, this node makes no new projection of the case
-- (it would pass on the old values still in its copy).
CREATE TABLE rectifications_taken (
    peer     TEXT NOT NULL,
    case_id  TEXT NOT NULL,
    serial   INTEGER NOT NULL,
    origin   TEXT NOT NULL,
    awaiting TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    PRIMARY KEY (peer, case_id)
) STRICT;
