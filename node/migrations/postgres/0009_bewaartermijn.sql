-- Bewaartermijn: the monitor's aggregates of purged cases. See migrations/sqlite/0009_bewaartermijn.sql.
CREATE TABLE monitor_aggregates (
    jaar      INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    partij    TEXT NOT NULL,
    sleutel   TEXT NOT NULL,
    aantal    BIGINT NOT NULL,
    som       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (jaar, indicator, partij, sleutel)
);

-- A partner that told this node it erased a case (`Erased`: its bewaartermijn passed, or an erasure under art.
-- 17) gets nothing of that case from this node any more: without this, the projection this node withdraws from it
-- would be made anew and sent back, undoing the partner's erasure at the next reconcile. Case ids are random.
CREATE TABLE erased_at_peer (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (peer, case_id)
);
