-- Policy versions carry a sequence number inside the Transferpunt's signature; revocations; acceptance of a
-- widening version by this node's privacy officer; the versions put in force here (ARCHITECTURE.md, "Policy
-- versions").

-- Versions stored before were signed over their text alone. Such a signature says nothing about order, so they
-- cannot be checked under the new scheme: they are kept apart, never passed on and never put in force again (the
-- Transferpunt publishes its versions anew, each with a sequence number).
ALTER TABLE policy_versions RENAME TO policy_versions_unsequenced;

-- A policy version: `sequence` rises with every version the Transferpunt signs and decides which version is the
-- newest; `version` is the label audit records name, unique too.
CREATE TABLE policy_versions (
    sequence       INTEGER PRIMARY KEY NOT NULL CHECK (sequence > 0),
    version        TEXT NOT NULL UNIQUE,
    effective_from TEXT NOT NULL,
    body           TEXT NOT NULL,
    signature      BLOB NOT NULL,
    received_at    TEXT NOT NULL
) STRICT;

-- "Revoke sequence N", signed by the Transferpunt: that version is never (again) in force.
CREATE TABLE policy_revocations (
    sequence    INTEGER PRIMARY KEY NOT NULL CHECK (sequence > 0),
    signature   BLOB NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

-- This node's privacy officer agreed to a version that widens what this node discloses (Afspraak 8: every
-- partner is its own controller). Also in the audit log.
CREATE TABLE policy_acceptances (
    sequence    INTEGER PRIMARY KEY NOT NULL CHECK (sequence > 0),
    version     TEXT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL
) STRICT;

-- Every time a version was put in force at this node, in order (sequence 0: the node's own configured policy). The
-- last row is the version in force; a version in force before may be returned to when a later one is revoked.
CREATE TABLE policy_adoptions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    sequence   INTEGER NOT NULL CHECK (sequence >= 0),
    version    TEXT NOT NULL,
    adopted_at TEXT NOT NULL
) STRICT;
