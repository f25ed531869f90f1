-- The federation directory's versions (issue #13 item 6): every signed directory this node took, as signed by the
-- federation CA (its exact JSON bytes and the signature), by version. The highest is the one in force; a lower or
-- a second text under a stored version is refused before it gets here.
CREATE TABLE federation_directories (
    version     INTEGER PRIMARY KEY NOT NULL,
    body        BLOB NOT NULL,
    signature   BLOB NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
