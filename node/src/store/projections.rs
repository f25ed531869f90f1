//! Projections: what the federation sync stores besides the case documents.

use policies::PartnerId;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{CaseId, DocKey, Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;

/// Insert or replace projection `$p` within the open transaction `$tx` at `$now`, registering its case first.
/// Evaluates to `Result<(), sqlx::Error>` through `?`.
macro_rules! upsert {
    ($tx:expr, $p:expr, $now:expr) => {
        sqlx::query("INSERT INTO cases (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind($p.case.as_str())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO projections (wire_id, case_id, sender, receiver, generation, snapshot, sync_state, retired, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (wire_id) DO UPDATE SET snapshot = excluded.snapshot, sync_state = excluded.sync_state, \
             retired = excluded.retired, updated_at = excluded.updated_at",
        )
        .bind($p.wire_id.as_str())
        .bind($p.case.as_str())
        .bind($p.sender.as_str())
        .bind($p.receiver.as_str())
        .bind($p.generation as i64)
        .bind($p.snapshot.as_slice())
        .bind($p.sync_state.as_deref())
        .bind($p.retired)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    };
}

/// A sync session to store, of a case document or of a projection (`Store::put_sync_states`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStateWrite {
    /// Of a case document at a generation.
    Form {
        /// The document.
        key: DocKey,
        /// Its generation: the session is for this one only.
        generation: u64,
        /// `SyncSession::persist` bytes.
        state: Vec<u8>,
    },
    /// Of a projection.
    Projection {
        /// Its wire id.
        wire_id: String,
        /// `SyncSession::persist` bytes.
        state: Vec<u8>,
    },
}

/// A projection as stored, on the sending or the receiving node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionRecord {
    /// Its id on the wire (`p/<case>/<sender>/<receiver>/<generation>`).
    pub wire_id: String,
    /// The case.
    pub case: CaseId,
    /// Who writes it.
    pub sender: String,
    /// Whom it is for.
    pub receiver: String,
    /// Its generation: a rotation starts a new one.
    pub generation: u64,
    /// `AutoCommit::save` output.
    pub snapshot: Vec<u8>,
    /// The Automerge sync state with the other side.
    pub sync_state: Option<Vec<u8>>,
    /// No longer synced: replaced by a newer generation, or withdrawn.
    pub retired: bool,
}

type ProjectionRow = (
    String,
    String,
    String,
    String,
    i64,
    Vec<u8>,
    Option<Vec<u8>>,
    bool,
);

fn record(
    (wire_id, case, sender, receiver, generation, snapshot, sync_state, retired): ProjectionRow,
) -> Result<ProjectionRecord, StoreError> {
    Ok(ProjectionRecord {
        wire_id,
        case: case
            .parse()
            .map_err(|_| StoreError::Corrupt { what: "case id" })?,
        sender,
        receiver,
        generation: generation as u64,
        snapshot,
        sync_state,
        retired,
    })
}

impl Store {
    /// Store (insert or replace) a projection. The case is created if this node has not seen it yet.
    pub async fn put_projection(&self, p: &ProjectionRecord) -> Result<(), StoreError> {
        let now = self.now();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            upsert!(tx, p, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Store a projection together with the audit entries that record it — the disclosure of what a sync message
    /// carries of it, or the receipt of what one brought — in one transaction: one durable commit per side per
    /// edit (issue #14), and never the projection without its record or the record without it.
    pub async fn put_projection_with_audit(
        &self,
        p: &ProjectionRecord,
        entries: &[AuditEntry],
    ) -> Result<(), WriteError> {
        self.put_projections_with_audit(std::slice::from_ref(p), entries)
            .await
    }

    /// Store several projections and audit entries in one transaction ([`Store::put_projection_with_audit`] for a
    /// chunk of a reconcile: its projections and the records of the disclosures that carry them).
    pub async fn put_projections_with_audit(
        &self,
        projections: &[ProjectionRecord],
        entries: &[AuditEntry],
    ) -> Result<(), WriteError> {
        if projections.is_empty() && entries.is_empty() {
            return Ok(());
        }
        for entry in entries {
            entry.check()?;
        }
        let now = self.now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if !entries.is_empty()
                && let Some(lock) = pool.lock_audit()
            {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            for p in projections {
                upsert!(tx, p, now);
            }
            for entry in entries {
                append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Store the sync sessions a connection kept in memory, in one transaction (see [`SyncStateWrite`]). A
    /// document or projection that is gone, or whose generation changed, is skipped: its session means nothing
    /// any more.
    pub async fn put_sync_states(
        &self,
        peer: &PartnerId,
        states: &[SyncStateWrite],
    ) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let peer = peer.to_string();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for s in states {
                match s {
                    SyncStateWrite::Form { key, generation, state } => {
                        // `WHERE` after the `SELECT` also keeps SQLite from reading `ON CONFLICT` as a join.
                        sqlx::query(
                            "INSERT INTO sync_state (peer, doc_id, state, updated_at)                              SELECT $1, doc_id, $2, $3 FROM documents                              WHERE case_id = $4 AND kind = $5 AND instance = $6 AND generation = $7                              ON CONFLICT (peer, doc_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                        )
                        .bind(peer.as_str())
                        .bind(state.as_slice())
                        .bind(now)
                        .bind(key.case.as_str())
                        .bind(key.kind.name())
                        .bind(key.instance.as_str())
                        .bind(*generation as i64)
                        .execute(&mut *tx)
                        .await?;
                    }
                    SyncStateWrite::Projection { wire_id, state } => {
                        sqlx::query("UPDATE projections SET sync_state = $1 WHERE wire_id = $2 AND NOT retired")
                            .bind(state.as_slice())
                            .bind(wire_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Only the sync state of a projection.
    pub async fn put_projection_sync_state(
        &self,
        wire_id: &str,
        state: &[u8],
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE projections SET sync_state = $1 WHERE wire_id = $2")
                .bind(state)
                .bind(wire_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A projection by its wire id.
    pub async fn load_projection(
        &self,
        wire_id: &str,
    ) -> Result<Option<ProjectionRecord>, StoreError> {
        let row: Option<ProjectionRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT wire_id, case_id, sender, receiver, generation, snapshot, sync_state, retired FROM projections WHERE wire_id = $1")
                .bind(wire_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(record).transpose()
    }

    /// Every projection of a case, retired ones included, in generation order.
    pub async fn projections_of_case(
        &self,
        case: &CaseId,
    ) -> Result<Vec<ProjectionRecord>, StoreError> {
        let rows: Vec<ProjectionRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT wire_id, case_id, sender, receiver, generation, snapshot, sync_state, retired FROM projections WHERE case_id = $1 ORDER BY generation, wire_id")
                .bind(case.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(record).collect()
    }

    /// Delete a projection this node received, when its sender withdraws it.
    pub async fn delete_projection(&self, wire_id: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM projections WHERE wire_id = $1")
                .bind(wire_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

impl Store {
    /// The partners this node exchanged anything of `case` with — or, for `None`, of any case: the other side of
    /// every projection sent or received, the peer of every stored sync session, and the partners still to be
    /// told of an erasure (or, for `None`, to be handed an inzageverzoek). Whom the federation side must
    /// reach again should the case change, even where no relation names the partner any more (a projection to
    /// withdraw, a document it held whole to take back). Holds this node's own id too.
    pub async fn exchanged_with(
        &self,
        case: Option<&CaseId>,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            match case {
                Some(case) => sqlx::query_as(
                    "SELECT sender FROM projections WHERE case_id = $1 \
                     UNION SELECT receiver FROM projections WHERE case_id = $1 \
                     UNION SELECT s.peer FROM sync_state s JOIN documents d ON d.doc_id = s.doc_id WHERE d.case_id = $1 \
                     UNION SELECT peer FROM erasure_notices WHERE case_id = $1",
                )
                .bind(case.as_str())
                .fetch_all(p)
                .await?,
                None => sqlx::query_as(
                    "SELECT sender FROM projections UNION SELECT receiver FROM projections \
                     UNION SELECT peer FROM sync_state UNION SELECT peer FROM erasure_notices \
                     UNION SELECT peer FROM inzage_outgoing WHERE delivered_at IS NULL",
                )
                .fetch_all(p)
                .await?,
            }
        });
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }
}

impl Store {
    /// The change counter as it stands: the highest `changed_seq` of any document or projection (see migration
    /// 0014). Read after subscribing to the node's changes, so a write that commits later is seen either way.
    pub async fn change_mark(&self) -> Result<u64, StoreError> {
        let (seq,): (i64,) = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT MAX(m) FROM (SELECT COALESCE(MAX(changed_seq), 0) AS m FROM documents \
                 UNION ALL SELECT COALESCE(MAX(changed_seq), 0) FROM projections) AS marks",
            )
            .fetch_one(p)
            .await?
        });
        Ok(seq.max(0) as u64)
    }

    /// The mark of the last session with `peer` that ended with everything reconciled, and the policy version it
    /// was made under.
    pub async fn sync_mark(&self, peer: &str) -> Result<Option<(u64, String)>, StoreError> {
        let row: Option<(i64, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT seq, policy FROM sync_marks WHERE peer = $1")
                .bind(peer)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(seq, policy)| (seq.max(0) as u64, policy)))
    }

    /// Keep the mark a session with `peer` began at, once it ended with everything reconciled.
    pub async fn put_sync_mark(
        &self,
        peer: &str,
        seq: u64,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.put_sync_marks(&[(peer.to_string(), seq, policy.to_string())])
            .await
    }

    /// Keep several sessions' marks in one transaction: `(peer, seq, policy)` each (see [`Store::put_sync_mark`]).
    /// A running session's mark is kept this way now and then, so a crash loses only the last few seconds of it.
    pub async fn put_sync_marks(&self, marks: &[(String, u64, String)]) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (peer, seq, policy) in marks {
                sqlx::query(
                    "INSERT INTO sync_marks (peer, seq, policy) VALUES ($1, $2, $3) \
                     ON CONFLICT (peer) DO UPDATE SET seq = excluded.seq, policy = excluded.policy",
                )
                .bind(peer.as_str())
                .bind(*seq as i64)
                .bind(policy.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The cases a session with `peer` reconciles when it begins after a mark: those whose documents or
    /// projections changed since, and those this node exchanged anything of with the peer.
    pub async fn cases_to_reconcile(
        &self,
        peer: &str,
        since: u64,
    ) -> Result<Vec<CaseId>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT case_id FROM documents WHERE changed_seq > $2 \
                 UNION SELECT case_id FROM projections WHERE changed_seq > $2 \
                 UNION SELECT case_id FROM projections WHERE sender = $1 \
                 UNION SELECT case_id FROM projections WHERE receiver = $1 \
                 UNION SELECT d.case_id FROM sync_state s JOIN documents d ON d.doc_id = s.doc_id WHERE s.peer = $1 \
                 ORDER BY 1",
            )
            .bind(peer)
            .bind(since as i64)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().filter_map(|(c,)| c.parse().ok()).collect())
    }
}
