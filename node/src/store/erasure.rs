//! Vergetelheid (AVG art. 17) in the store: a case erased with everything this node holds of it (its BSN index
//! entry too), in one
//! transaction with its audit tombstone, and the notices that tell the partners who held part of it.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{CaseId, Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;
use crate::monitor::bewaard::Cijfer;

impl Store {
    /// Erase a case: every document with its whole history and sync states, every projection sent or received,
    /// and the case itself — with `tombstone` (no personal data: [`AuditEntry::check`]) appended to the audit
    /// log and a notice for every partner that received part of the case, all in one transaction. Returns those
    /// partners. Deleted pages are overwritten (SQLite `secure_delete`); call [`Store::scrub`] afterwards for the
    /// write-ahead log and PostgreSQL's old row versions.
    pub async fn erase_case(
        &self,
        case: &CaseId,
        me: &str,
        tombstone: &AuditEntry,
    ) -> Result<Vec<String>, WriteError> {
        self.erase_case_keeping(case, me, tombstone, &[]).await
    }

    /// [`Store::erase_case`], adding `kept` — the case's contribution to the monitor's yearly figures, counts
    /// without a case id — to the kept aggregates in the same transaction (the bewaartermijn at the Transferpunt):
    /// the figures never count the case twice, nor lose it.
    pub async fn erase_case_keeping(
        &self,
        case: &CaseId,
        me: &str,
        tombstone: &AuditEntry,
        kept: &[Cijfer],
    ) -> Result<Vec<String>, WriteError> {
        tombstone.check()?;
        let now = self.now();
        let notices = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            // Who received part of it: the receivers of every projection this node sent (a retired one too: its
            // history may still be there), and the partners that held a document whole (they have a sync state).
            let peers: Vec<(String,)> = sqlx::query_as(
                "SELECT receiver FROM projections WHERE case_id = $1 AND sender = $2 \
                 UNION SELECT s.peer FROM sync_state s JOIN documents d ON d.doc_id = s.doc_id WHERE d.case_id = $1 \
                 ORDER BY 1",
            )
            .bind(case.as_str())
            .bind(me)
            .fetch_all(&mut *tx)
            .await?;
            let peers: Vec<String> = peers.into_iter().map(|(p,)| p).collect();
            for peer in &peers {
                sqlx::query(
                    "INSERT INTO erasure_notices (peer, case_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (peer, case_id) DO NOTHING",
                )
                .bind(peer.as_str())
                .bind(case.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for statement in [
                "DELETE FROM sync_state WHERE doc_id IN (SELECT doc_id FROM documents WHERE case_id = $1)",
                "DELETE FROM doc_changes WHERE doc_id IN (SELECT doc_id FROM documents WHERE case_id = $1)",
                "DELETE FROM documents WHERE case_id = $1",
                "DELETE FROM projections WHERE case_id = $1",
                "DELETE FROM bsn_index WHERE case_id = $1",
                "DELETE FROM idempotency_keys WHERE case_id = $1",
                "DELETE FROM rectification_notices WHERE case_id = $1",
                "DELETE FROM bijzondere_verstrekkingen WHERE case_id = $1",
                "DELETE FROM rectifications_taken WHERE case_id = $1",
                "DELETE FROM erased_at_peer WHERE case_id = $1",
                "DELETE FROM cases WHERE id = $1",
            ] {
                sqlx::query(statement)
                    .bind(case.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            for c in kept {
                sqlx::query(
                    "INSERT INTO monitor_aggregates (jaar, indicator, partij, sleutel, aantal, som) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (jaar, indicator, partij, sleutel) \
                     DO UPDATE SET aantal = monitor_aggregates.aantal + excluded.aantal, \
                     som = monitor_aggregates.som + excluded.som",
                )
                .bind(c.jaar)
                .bind(c.indicator.as_str())
                .bind(c.partij.as_str())
                .bind(c.sleutel.as_str())
                .bind(i64::from(c.aantal))
                .bind(c.som)
                .execute(&mut *tx)
                .await?;
            }
            append_in_tx!(tx, tombstone, now).map_err(audit_failed)?;
            tx.commit().await?;
            peers
        });
        Ok(notices)
    }

    /// Record that `peer` erased `case` (it told this node with `Erased`): from now on it gets nothing of the case
    /// from this node ([`Store::erased_at_peer`]).
    pub async fn mark_erased_at_peer(&self, peer: &str, case: &CaseId) -> Result<(), StoreError> {
        let now = self.now();
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO erased_at_peer (peer, case_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (peer, case_id) DO NOTHING",
            )
            .bind(peer)
            .bind(case.as_str())
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Whether `peer` told this node it erased `case`.
    pub async fn erased_at_peer(&self, peer: &str, case: &CaseId) -> Result<bool, StoreError> {
        let row: Option<(i32,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT 1 FROM erased_at_peer WHERE peer = $1 AND case_id = $2")
                .bind(peer)
                .bind(case.as_str())
                .fetch_optional(p)
                .await?
        });
        Ok(row.is_some())
    }

    /// The monitor's aggregates kept of cases purged after their bewaartermijn, in key order.
    pub async fn monitor_aggregates(&self) -> Result<Vec<Cijfer>, StoreError> {
        let rows: Vec<(i32, String, String, String, i64, f64)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT jaar, indicator, partij, sleutel, aantal, som FROM monitor_aggregates \
                 ORDER BY jaar, indicator, partij, sleutel",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(jaar, indicator, partij, sleutel, aantal, som)| {
                Ok(Cijfer {
                    jaar,
                    indicator,
                    partij,
                    sleutel,
                    aantal: u32::try_from(aantal).map_err(|_| StoreError::Corrupt {
                        what: "monitor aggregate count",
                    })?,
                    som,
                })
            })
            .collect()
    }

    /// The cases erased here that one partner is to be told of, oldest first.
    pub async fn erasure_notices_for(&self, peer: &str) -> Result<Vec<CaseId>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT case_id FROM erasure_notices WHERE peer = $1 ORDER BY created_at, case_id")
                .bind(peer)
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().filter_map(|(c,)| c.parse().ok()).collect())
    }

    /// Remove erasure notices made before `before`: a partner that did not connect in all that time is told no more.
    pub async fn prune_erasure_notices(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query("DELETE FROM erasure_notices WHERE created_at < $1")
                .bind(before)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}
