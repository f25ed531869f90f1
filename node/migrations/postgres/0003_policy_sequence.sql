-- Policy versions carry a sequence number inside the Transferpunt's signature; revocations; acceptance of a
-- widening version by this node's privacy officer; the versions put in force here (ARCHITECTURE.md, "Policy
-- versions").

-- Versions stored before were signed over their text alone. Such a signature says nothing about order, so they
-- cannot be checked under the new scheme: they are kept apart, never passed on and never put in force again (the
-- Transferpunt publishes its versions anew, each with a sequence number).
ALTER TABLE policy_versions RENAME TO policy_versions_unsequenced;
ALTER TABLE policy_versions_unsequenced RENAME CONSTRAINT policy_versions_pkey TO policy_versions_unsequenced_pkey;

-- A policy version: `sequence` rises with every version the Transferpunt signs and decides which version is the
-- newest; `version` is the label audit records name, unique too.
CREATE TABLE policy_versions (
    sequence       BIGINT PRIMARY KEY NOT NULL CHECK (sequence > 0),
    version        TEXT NOT NULL UNIQUE,
    effective_from TEXT NOT NULL,
    body           TEXT NOT NULL,
    signature      BYTEA NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL
);

-- "Revoke sequence N", signed by the Transferpunt: that version is never (again) in force.
CREATE TABLE policy_revocations (
    sequence    BIGINT PRIMARY KEY NOT NULL CHECK (sequence > 0),
    signature   BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

-- This node's privacy officer agreed to a version that widens what this node discloses (Afspraak 8: every
-- partner is its own controller). Also in the audit log.
CREATE TABLE policy_acceptances (
    sequence    BIGINT PRIMARY KEY NOT NULL CHECK (sequence > 0),
    version     TEXT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TIMESTAMPTZ NOT NULL
);

-- Every time a version was put in force at this node, in order (sequence 0: the node's own configured policy). The
-- last row is the version in force; a version in force before may be returned to when a later one is revoked.
CREATE TABLE policy_adoptions (
    id         BIGSERIAL PRIMARY KEY,
    sequence   BIGINT NOT NULL CHECK (sequence >= 0),
    version    TEXT NOT NULL,
    adopted_at TIMESTAMPTZ NOT NULL
);
