-- Logboek Dataverwerkingen: each audit record's trace context, and for a receipt the sender's record of the same
-- exchange (`foreign_operation`), as columns, so a record can be found by either side's ids. They repeat what the
-- hashed entry JSON says; `Store::verify_audit` checks that they still do, so they are as tamper-evident as the
-- chain. Entries written before this migration get their trace context from their JSON here, once; the trigger
-- that keeps the log append-only is disabled for that one statement and enabled again.
ALTER TABLE audit_log
    ADD COLUMN trace_id TEXT,
    ADD COLUMN span_id TEXT,
    ADD COLUMN foreign_trace_id TEXT,
    ADD COLUMN foreign_operation_id TEXT,
    ADD COLUMN foreign_entity TEXT;

ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;
UPDATE audit_log
    SET trace_id = entry::jsonb ->> 'trace_id',
        span_id = entry::jsonb ->> 'span_id',
        foreign_trace_id = entry::jsonb -> 'foreign_operation' ->> 'trace_id',
        foreign_operation_id = entry::jsonb -> 'foreign_operation' ->> 'operation_id',
        foreign_entity = entry::jsonb -> 'foreign_operation' ->> 'entity';
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;

CREATE INDEX audit_log_span ON audit_log (span_id);
CREATE INDEX audit_log_foreign_operation ON audit_log (foreign_operation_id);
