//! Rectificatie (AVG art. 16) in the store: the partners to tell that a case was rectified here, and what this
//! node took from a partner's rectification. The documents themselves are rewritten by
//! [`Store::rewrite_documents`], in the same transaction as the notices.

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{CaseId, Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;

/// A partner to tell that a case was rectified here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationNotice {
    /// The partner.
    pub peer: String,
    /// The case.
    pub case: CaseId,
    /// The partner that rectified: this node, or the one whose notice this node passes on.
    pub origin: String,
    /// Which of the origin's rectifications: rises with every one (a notice told again, or come round by another
    /// partner, is recognised by it).
    pub serial: i64,
    /// The rewritten documents the partner holds whole, by wire name at their new generation.
    pub docs: Vec<String>,
    /// The partner took the notice (see [`Store::confirm_rectification`]).
    pub confirmed: bool,
}

/// Insert or replace a notice inside a transaction (a newer rectification of the case replaces an unconfirmed one).
macro_rules! insert_notice {
    ($tx:expr, $n:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO rectification_notices (peer, case_id, origin, serial, docs, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (peer, case_id) DO UPDATE SET origin = excluded.origin, serial = excluded.serial, \
             docs = excluded.docs, confirmed = FALSE, created_at = excluded.created_at",
        )
        .bind($n.peer.as_str())
        .bind($n.case.as_str())
        .bind($n.origin.as_str())
        .bind($n.serial)
        .bind($n.docs.join("\n"))
        .bind($now)
        .execute(&mut *$tx)
        .await?
    };
}
pub(super) use insert_notice;

pub(super) fn lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// The unconfirmed rectification notice for a partner and a case, if any.
    pub async fn rectification_notice(
        &self,
        peer: &str,
        case: &CaseId,
    ) -> Result<Option<RectificationNotice>, StoreError> {
        let row: Option<(String, i64, String, bool)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT origin, serial, docs, confirmed FROM rectification_notices WHERE peer = $1 AND case_id = $2",
            )
                .bind(peer)
                .bind(case.as_str())
                .fetch_optional(p)
                .await?
        });
        Ok(
            row.map(|(origin, serial, docs, confirmed)| RectificationNotice {
                peer: peer.to_string(),
                case: case.clone(),
                origin,
                serial,
                docs: lines(&docs),
                confirmed,
            }),
        )
    }

    /// The partner confirmed a rectification notice, if it is still that one (returns whether it was): the case is
    /// synced with it again. The notice stays until [`Store::rectification_done`].
    pub async fn confirm_rectification(
        &self,
        peer: &str,
        case: &CaseId,
        serial: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE rectification_notices SET confirmed = TRUE \
                 WHERE peer = $1 AND case_id = $2 AND serial = $3 AND NOT confirmed",
            )
                .bind(peer)
                .bind(case.as_str())
                .bind(serial)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// The partners that hold a document whole (this node keeps a sync state with them for it).
    pub async fn document_holders(&self, doc: &super::DocId) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT peer FROM sync_state WHERE doc_id = $1 ORDER BY peer")
                .bind(doc.as_str())
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// A confirmed rectification is done with the partner: it holds the new projection generation and was told to
    /// delete the old ones.
    pub async fn rectification_done(
        &self,
        peer: &str,
        case: &CaseId,
        serial: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "DELETE FROM rectification_notices WHERE peer = $1 AND case_id = $2 AND serial = $3 AND confirmed",
            )
            .bind(peer)
            .bind(case.as_str())
            .bind(serial)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Whether this node took this notice from `notice.peer` already (or a later one of the same origin).
    pub async fn rectification_taken(
        &self,
        notice: &RectificationNotice,
    ) -> Result<bool, StoreError> {
        let row: Option<(String, i64)> = on_pool!(self, p => {
            sqlx::query_as("SELECT origin, serial FROM rectifications_taken WHERE peer = $1 AND case_id = $2")
                .bind(notice.peer.as_str())
                .bind(notice.case.as_str())
                .fetch_optional(p)
                .await?
        });
        Ok(row.is_some_and(|(o, s)| o == notice.origin && s >= notice.serial))
    }

    /// Whether this node passed on the origin's rectification already (it took it from another partner): a
    /// notice comes round by several ways, and is passed on once.
    pub async fn rectification_passed_on(
        &self,
        notice: &RectificationNotice,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT serial FROM rectifications_taken WHERE case_id = $1 AND origin = $2 AND serial >= $3 LIMIT 1",
            )
            .bind(notice.case.as_str())
            .bind(notice.origin.as_str())
            .bind(notice.serial)
            .fetch_optional(p)
            .await?
        });
        Ok(row.is_some())
    }

    /// Record a partner's rectification as taken — with the documents still awaited at their new generation, the
    /// notices that pass it on to this node's own receivers, and `entry` — in one transaction.
    pub async fn record_rectification_taken(
        &self,
        taken: &RectificationNotice,
        forward: &[RectificationNotice],
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        entry.check()?;
        let now = self.now();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            sqlx::query(
                "INSERT INTO rectifications_taken (peer, case_id, origin, serial, awaiting, taken_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (peer, case_id) DO UPDATE SET origin = excluded.origin, serial = excluded.serial, \
                 awaiting = excluded.awaiting, taken_at = excluded.taken_at",
            )
            .bind(taken.peer.as_str())
            .bind(taken.case.as_str())
            .bind(taken.origin.as_str())
            .bind(taken.serial)
            .bind(taken.docs.join("\n"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for n in forward {
                insert_notice!(tx, n, now);
            }
            append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The documents of `case` still awaited at a new generation after partners' rectifications, by partner.
    pub async fn awaited_rewrites(
        &self,
        case: &CaseId,
    ) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let rows: Vec<(String, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT peer, awaiting FROM rectifications_taken WHERE case_id = $1 AND awaiting <> ''")
                .bind(case.as_str())
                .fetch_all(p)
                .await?
        });
        Ok(rows.into_iter().map(|(p, a)| (p, lines(&a))).collect())
    }

    /// Every document a partner's rectification of `case` named has reached its new generation here (or is gone).
    pub async fn rewrites_arrived(&self, peer: &str, case: &CaseId) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE rectifications_taken SET awaiting = '' WHERE peer = $1 AND case_id = $2")
                .bind(peer)
                .bind(case.as_str())
                .execute(p)
                .await?;
        });
        Ok(())
    }
}
