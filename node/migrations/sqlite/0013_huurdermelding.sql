-- Huurdermeldingen (issue #17 item 2; Bijlage 2): a corporatie's melding about a tenant it holds no case of, queued
-- for the Transferpunt until confirmed. `body` (the BSN and the text) is dropped once the Transferpunt confirmed it:
-- the corporatie keeps what it sent when, and the answer.
CREATE TABLE huurdermeldingen (
    id           TEXT PRIMARY KEY NOT NULL,
    aan          TEXT NOT NULL,
    soort        TEXT NOT NULL,
    body         TEXT,
    gedaan_op    TEXT NOT NULL,
    ontvangen_op TEXT,
    antwoord     TEXT
) STRICT;
