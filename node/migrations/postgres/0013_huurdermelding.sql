-- Huurdermeldingen (issue #17 item 2): see migrations/sqlite/0013_huurdermelding.sql.
CREATE TABLE huurdermeldingen (
    id           TEXT PRIMARY KEY NOT NULL,
    aan          TEXT NOT NULL,
    soort        TEXT NOT NULL,
    body         TEXT,
    gedaan_op    TIMESTAMPTZ NOT NULL,
    ontvangen_op TIMESTAMPTZ,
    antwoord     TEXT
);
