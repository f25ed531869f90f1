-- Bijzondere situaties (Afspraak 8f): a disclosure outside the policy's flows — to a third party in an emergency,
-- or for a legal duty — asked for with its ground and reason, and decided on by the privacy officer (another person
-- than the one who asked). The reason is free text the medewerker writes and may name the person: it stays in this
-- table, never in the audit log, which records field names, the ground and the decision.
CREATE TABLE bijzondere_verstrekkingen (
    id              TEXT PRIMARY KEY NOT NULL,
    case_id         TEXT NOT NULL,
    ontvanger       TEXT NOT NULL,
    velden          TEXT NOT NULL,
    grond           TEXT NOT NULL,
    reden           TEXT NOT NULL,
    aangevraagd_door TEXT NOT NULL,
    aangevraagd_op  TEXT NOT NULL,
    besluit         TEXT,
    besloten_door   TEXT,
    besloten_op     TEXT
) STRICT;
CREATE INDEX bijzondere_verstrekkingen_case ON bijzondere_verstrekkingen (case_id);
