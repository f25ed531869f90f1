-- Bewaartermijn (AVG art. 5(1)(e)): before the Transferpunt purges a case past its term, the case's contribution to
-- the monitor's yearly figures is added here, so the years it still reports on keep their figures. Counts, not
-- people: a year, an indicator (`monitor::bewaard`), the gemeente or corporatie it is counted under, a key (a
-- reason, a voorziening), a count and, for a mean, a sum. No case id, no BSN, no name. Rows add up
-- (`aantal = aantal + …` on conflict), so nothing here tells which case added what.
CREATE TABLE monitor_aggregates (
    jaar      INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    partij    TEXT NOT NULL,
    sleutel   TEXT NOT NULL,
    aantal    INTEGER NOT NULL,
    som       REAL NOT NULL,
    PRIMARY KEY (jaar, indicator, partij, sleutel)
) STRICT;

-- A partner that told this node it erased a case (`Erased`: its bewaartermijn passed, or an erasure under art.
-- 17) gets nothing of that case from this node any more: without this, the projection this node withdraws from it
-- would be made anew and sent back, undoing the partner's erasure at the next reconcile. Case ids are random.
CREATE TABLE erased_at_peer (
    peer       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (peer, case_id)
) STRICT;
