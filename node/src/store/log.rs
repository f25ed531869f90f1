//! The audit log's rows: appending to the hash chain inside a transaction, reading it back, verifying it.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::{DbError, Store, StoreError, VerifyError, WriteError, on_pool};
use crate::audit::{AuditEntry, AuditRecord, ChainHead, ChainVerifier};

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
            sqlx::query("INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)")
                .bind(seq as i64)
                .bind($now)
                .bind(json)
                .bind(prev_hash)
                .bind(&hash[..])
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
        type Row = (i64, OffsetDateTime, String, Vec<u8>, Vec<u8>);
        let rows: Vec<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT seq, at, entry, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after_seq as i64)
            .bind(i64::from(limit))
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(seq, at, entry, prev_hash, hash)| AuditRecord {
                seq: seq as u64,
                at,
                entry,
                prev_hash,
                hash,
            })
            .collect())
    }

    /// Verify the whole audit chain, page by page. Returns its head, or the first broken entry.
    pub async fn verify_audit(&self) -> Result<ChainHead, VerifyError> {
        let mut v = ChainVerifier::new();
        let mut after = 0;
        loop {
            let page = self.audit_records(after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for r in &page {
                v.push(r)?;
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
