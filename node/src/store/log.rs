//! The audit log's rows: appending to the hash chain inside a transaction, reading it back, verifying it.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::{DbError, Store, StoreError, VerifyError, WriteError, on_pool};
use crate::audit::{AuditEntry, AuditError, AuditRecord, ChainHead, ChainVerifier};

/// Records read per query when verifying.
const VERIFY_PAGE: u32 = 1_000;

/// Append `$entry` (an `&AuditEntry`, already checked) to the chain within the open transaction `$tx`, recorded
/// at `$now`. The caller has serialised appends (`Transactions::lock_audit`). Evaluates to
/// `Result<u64, sqlx::Error>` with the new seq.
macro_rules! append_in_tx {
    ($tx:expr, $entry:expr, $now:expr) => {
        async {
            let head: Option<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *$tx)
                    .await?;
            let (last, prev_hash) = head.unwrap_or((0, $crate::audit::GENESIS.to_vec()));
            let seq = last as u64 + 1;
            let json = $entry.stored_json(seq, $now);
            let hash = $crate::audit::chain_hash(&prev_hash, &json, seq);
            let foreign = $entry.foreign_operation.as_ref();
            sqlx::query(
                "INSERT INTO audit_log (seq, at, entry, prev_hash, hash, trace_id, span_id, foreign_trace_id, \
                 foreign_operation_id, foreign_entity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
                .bind(seq as i64)
                .bind($now)
                .bind(json)
                .bind(prev_hash)
                .bind(&hash[..])
                .bind(&$entry.trace_id)
                .bind(&$entry.span_id)
                .bind(foreign.map(|f| f.trace_id.as_str()))
                .bind(foreign.map(|f| f.operation_id.as_str()))
                .bind(foreign.map(|f| f.entity.as_str()))
                .execute(&mut *$tx)
                .await?;
            Ok::<u64, sqlx::Error>(seq)
        }
        .await
    };
}
pub(super) use append_in_tx;

pub(super) fn audit_failed(e: sqlx::Error) -> WriteError {
    WriteError::AuditFailed(DbError(e))
}

impl Store {
    /// Append one audit entry on its own (a read, a disclosure). Returns its seq. The caller must not go on with
    /// the processing when this fails (fail closed): a read whose record cannot be stored is not answered.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<u64, WriteError> {
        entry.check()?;
        let now = self.now();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await.map_err(audit_failed)?;
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            let seq = append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await.map_err(audit_failed)?;
            Ok(seq)
        })
    }

    /// Up to `limit` audit records with seq above `after_seq`, in seq order.
    pub async fn audit_records(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self
            .audit_rows(Select::After(after_seq), limit)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }

    /// The records whose `foreign_operation` names the other party's operation (span) `operation_id` in trace
    /// `trace_id`: at a receiver, the receipts of what a sender's disclosure record sent.
    pub async fn audit_by_foreign_operation(
        &self,
        trace_id: &str,
        operation_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self
            .audit_rows(
                Select::Foreign {
                    trace_id,
                    operation_id,
                },
                VERIFY_PAGE,
            )
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }

    /// The record of operation (span) `span_id` in trace `trace_id`, if this node wrote one.
    pub async fn audit_by_span(
        &self,
        trace_id: &str,
        span_id: &str,
    ) -> Result<Option<AuditRecord>, StoreError> {
        Ok(self
            .audit_rows(Select::Span { trace_id, span_id }, 1)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .next())
    }

    /// Records and their trace columns, in seq order, at most `limit`.
    async fn audit_rows(
        &self,
        select: Select<'_>,
        limit: u32,
    ) -> Result<Vec<(AuditRecord, TraceColumns)>, StoreError> {
        type Row = (
            i64,
            OffsetDateTime,
            String,
            Vec<u8>,
            Vec<u8>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        const COLUMNS: &str = "SELECT seq, at, entry, prev_hash, hash, trace_id, span_id, foreign_trace_id, \
                               foreign_operation_id, foreign_entity FROM audit_log WHERE ";
        let rows: Vec<Row> = on_pool!(self, p => {
            match select {
                Select::After(seq) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS}seq > $1 ORDER BY seq LIMIT $2")))
                        .bind(seq as i64)
                        .bind(i64::from(limit))
                        .fetch_all(p)
                        .await?
                }
                Select::Foreign { trace_id, operation_id } => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{COLUMNS}foreign_operation_id = $1 AND foreign_trace_id = $2 ORDER BY seq LIMIT $3"
                    )))
                    .bind(operation_id)
                    .bind(trace_id)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await?
                }
                Select::Span { trace_id, span_id } => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{COLUMNS}span_id = $1 AND trace_id = $2 ORDER BY seq LIMIT $3"
                    )))
                    .bind(span_id)
                    .bind(trace_id)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await?
                }
            }
        });
        Ok(rows
            .into_iter()
            .map(|(seq, at, entry, prev_hash, hash, t, s, ft, fo, fe)| {
                (
                    AuditRecord {
                        seq: seq as u64,
                        at,
                        entry,
                        prev_hash,
                        hash,
                    },
                    TraceColumns {
                        trace_id: t,
                        span_id: s,
                        foreign_trace_id: ft,
                        foreign_operation_id: fo,
                        foreign_entity: fe,
                    },
                )
            })
            .collect())
    }

    /// Verify the whole audit chain, page by page. Returns its head, or the first broken entry.
    pub async fn verify_audit(&self) -> Result<ChainHead, VerifyError> {
        let mut v = ChainVerifier::new();
        let mut after = 0;
        loop {
            let page = self.audit_rows(Select::After(after), VERIFY_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.seq;
            for (r, columns) in &page {
                v.push(r)?;
                // The columns repeat the hashed JSON: one that no longer does was changed after the fact.
                if !columns.agree_with(r) {
                    return Err(AuditError::Changed { seq: r.seq }.into());
                }
            }
        }
        Ok(v.head().clone())
    }

    /// Number of entries in the audit log.
    pub async fn audit_len(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => {
            sqlx::query_as("SELECT COUNT(*) FROM audit_log").fetch_one(p).await?
        });
        Ok(n as u64)
    }
}

/// An audit row's trace columns (migration 0011): copies of ids in the hashed entry JSON, for finding a record.
#[derive(Debug)]
struct TraceColumns {
    trace_id: Option<String>,
    span_id: Option<String>,
    foreign_trace_id: Option<String>,
    foreign_operation_id: Option<String>,
    foreign_entity: Option<String>,
}

impl TraceColumns {
    /// Whether the columns say what the record's hashed JSON says (both absent counts as agreeing).
    fn agree_with(&self, r: &AuditRecord) -> bool {
        let Ok(e) = r.parse() else { return false };
        let f = e.entry.foreign_operation.as_ref();
        self.trace_id.as_deref() == Some(e.entry.trace_id.as_str())
            && self.span_id.as_deref() == Some(e.entry.span_id.as_str())
            && self.foreign_trace_id.as_deref() == f.map(|f| f.trace_id.as_str())
            && self.foreign_operation_id.as_deref() == f.map(|f| f.operation_id.as_str())
            && self.foreign_entity.as_deref() == f.map(|f| f.entity.as_str())
    }
}

/// Which audit rows to read.
#[derive(Debug, Clone, Copy)]
enum Select<'a> {
    /// Those after this seq.
    After(u64),
    /// Those whose `foreign_operation` names this operation.
    Foreign {
        trace_id: &'a str,
        operation_id: &'a str,
    },
    /// The one of this span.
    Span { trace_id: &'a str, span_id: &'a str },
}
