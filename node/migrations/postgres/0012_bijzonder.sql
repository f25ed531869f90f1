-- Bijzondere situaties (Afspraak 8f): see migrations/sqlite/0012_bijzonder.sql.
CREATE TABLE bijzondere_verstrekkingen (
    id              TEXT PRIMARY KEY NOT NULL,
    case_id         TEXT NOT NULL,
    ontvanger       TEXT NOT NULL,
    velden          TEXT NOT NULL,
    grond           TEXT NOT NULL,
    reden           TEXT NOT NULL,
    aangevraagd_door TEXT NOT NULL,
    aangevraagd_op  TIMESTAMPTZ NOT NULL,
    besluit         TEXT,
    besloten_door   TEXT,
    besloten_op     TIMESTAMPTZ
);
CREATE INDEX bijzondere_verstrekkingen_case ON bijzondere_verstrekkingen (case_id);
