-- Logboek Dataverwerkingen: each audit record's trace context, and for a receipt the sender's record of the same
-- exchange (`foreign_operation`), as columns, so a record can be found by either side's ids. They repeat what the
-- hashed entry JSON says; `Store::verify_audit` checks that they still do, so they are as tamper-evident as the
-- chain. Entries written before this migration get their trace context from their JSON here, once; the triggers
-- that keep the log append-only are lifted for that one statement and put back as they were.
ALTER TABLE audit_log ADD COLUMN trace_id TEXT;
ALTER TABLE audit_log ADD COLUMN span_id TEXT;
ALTER TABLE audit_log ADD COLUMN foreign_trace_id TEXT;
ALTER TABLE audit_log ADD COLUMN foreign_operation_id TEXT;
ALTER TABLE audit_log ADD COLUMN foreign_entity TEXT;

DROP TRIGGER audit_log_no_update;
UPDATE audit_log
    SET trace_id = json_extract(entry, '$.trace_id'),
        span_id = json_extract(entry, '$.span_id'),
        foreign_trace_id = json_extract(entry, '$.foreign_operation.trace_id'),
        foreign_operation_id = json_extract(entry, '$.foreign_operation.operation_id'),
        foreign_entity = json_extract(entry, '$.foreign_operation.entity');
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE INDEX audit_log_span ON audit_log (span_id);
CREATE INDEX audit_log_foreign_operation ON audit_log (foreign_operation_id);
