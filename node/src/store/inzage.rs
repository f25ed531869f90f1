//! The rows of the inzage (issue #13): the keyed-hash BSN index and the inzageverzoeken between partners.

use time::OffsetDateTime;

use super::{CaseId, Store, StoreError, on_pool};

/// An inzageverzoek this node sent (or is about to send) to a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The request's id (also inside the signed request).
    pub id: String,
    /// The partner it goes to.
    pub peer: String,
    /// The case it is about (the federation's shared case id; never the BSN).
    pub case_id: CaseId,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// The signed request as it goes on the wire.
    pub signed: Vec<u8>,
    /// When the partner confirmed it landed in its privacy officer's queue.
    pub delivered_at: Option<OffsetDateTime>,
}

/// An inzageverzoek a partner sent to this node: an item of the privacy officer's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRequest {
    /// The request's id.
    pub id: String,
    /// The partner that sent it (from its certificate, and signed).
    pub sender: String,
    /// The case it is about.
    pub case_id: CaseId,
    /// When the sender made it.
    pub requested_at: OffsetDateTime,
    /// When it arrived here.
    pub received_at: OffsetDateTime,
    /// The signed request as received.
    pub signed: Vec<u8>,
    /// When the privacy officer marked it handled.
    pub handled_at: Option<OffsetDateTime>,
    /// Who did (user id).
    pub handled_by: Option<String>,
}

fn case_id(s: String) -> Result<CaseId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt { what: "case id" })
}

type OutgoingRow = (
    String,
    String,
    String,
    OffsetDateTime,
    Vec<u8>,
    Option<OffsetDateTime>,
);
type QueueRow = (
    String,
    String,
    String,
    OffsetDateTime,
    OffsetDateTime,
    Vec<u8>,
    Option<OffsetDateTime>,
    Option<String>,
);

fn outgoing(row: OutgoingRow) -> Result<OutgoingRequest, StoreError> {
    let (id, peer, case, created_at, signed, delivered_at) = row;
    Ok(OutgoingRequest {
        id,
        peer,
        case_id: case_id(case)?,
        created_at,
        signed,
        delivered_at,
    })
}

fn queued(row: QueueRow) -> Result<QueuedRequest, StoreError> {
    let (id, sender, case, requested_at, received_at, signed, handled_at, handled_by) = row;
    Ok(QueuedRequest {
        id,
        sender,
        case_id: case_id(case)?,
        requested_at,
        received_at,
        signed,
        handled_at,
        handled_by,
    })
}

impl Store {
    /// Replace the BSN index entries of a case by `hashes` (keyed hashes, never BSNs), in one transaction.
    pub async fn set_bsn_index(
        &self,
        case: &CaseId,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        self.set_bsn_indexes(&[(case.clone(), hashes.to_vec())])
            .await
    }

    /// Replace the BSN index entries of several cases, in one transaction. A case whose entries are already
    /// exactly these is left as it is: when no case changed nothing is written, so nothing is committed on the
    /// sync path (a BSN rarely changes, the case around it often).
    pub async fn set_bsn_indexes(
        &self,
        cases: &[(CaseId, Vec<[u8; 32]>)],
    ) -> Result<(), StoreError> {
        let mut changed = Vec::new();
        for (case, hashes) in cases {
            let held: Vec<(Vec<u8>,)> = on_pool!(self, p => {
                sqlx::query_as("SELECT hash FROM bsn_index WHERE case_id = $1")
                    .bind(case.as_str())
                    .fetch_all(p)
                    .await?
            });
            let held: std::collections::BTreeSet<&[u8]> =
                held.iter().map(|(h,)| h.as_slice()).collect();
            let wanted: std::collections::BTreeSet<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
            if held != wanted {
                changed.push((case, hashes));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for (case, hashes) in &changed {
                sqlx::query("DELETE FROM bsn_index WHERE case_id = $1")
                    .bind(case.as_str())
                    .execute(&mut *tx)
                    .await?;
                for h in hashes.iter() {
                    sqlx::query("INSERT INTO bsn_index (hash, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(&h[..])
                        .bind(case.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every entry of the BSN index (keyed hash, case): what an auditor checks holds no BSN.
    pub async fn bsn_index_entries(&self) -> Result<Vec<(Vec<u8>, CaseId)>, StoreError> {
        let rows: Vec<(Vec<u8>, String)> = on_pool!(self, p => {
            sqlx::query_as("SELECT hash, case_id FROM bsn_index ORDER BY case_id, hash")
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|(h, c)| Ok((h, case_id(c)?)))
            .collect()
    }

    /// The cases indexed under a keyed hash.
    pub async fn cases_by_bsn_hash(&self, hash: &[u8; 32]) -> Result<Vec<CaseId>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT case_id FROM bsn_index WHERE hash = $1 ORDER BY case_id")
                .bind(&hash[..])
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(|(c,)| case_id(c)).collect()
    }

    /// The key check the index was built under, if it was built.
    pub async fn bsn_index_key_check(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT key_check FROM bsn_index_state WHERE id = 1")
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(k,)| k))
    }

    /// Record that the index is complete under the key with this check.
    pub async fn set_bsn_index_key_check(&self, check: &[u8]) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO bsn_index_state (id, key_check) VALUES (1, $1) \
                 ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check",
            )
            .bind(check)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Empty the index (before a rebuild under another key).
    pub async fn clear_bsn_index(&self) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM bsn_index").execute(p).await?;
            sqlx::query("DELETE FROM bsn_index_state").execute(p).await?;
        });
        Ok(())
    }

    /// Store an inzageverzoek to send.
    pub async fn add_outgoing_request(&self, r: &OutgoingRequest) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO inzage_outgoing (id, peer, case_id, created_at, signed, delivered_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(r.id.as_str())
                .bind(r.peer.as_str())
                .bind(r.case_id.as_str())
                .bind(r.created_at)
                .bind(r.signed.as_slice())
                .bind(r.delivered_at)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Every inzageverzoek sent, oldest first; only the undelivered ones to `peer` with `undelivered_to`.
    pub async fn outgoing_requests(
        &self,
        undelivered_to: Option<&str>,
    ) -> Result<Vec<OutgoingRequest>, StoreError> {
        let rows: Vec<OutgoingRow> = on_pool!(self, p => {
            match undelivered_to {
                Some(peer) => sqlx::query_as("SELECT id, peer, case_id, created_at, signed, delivered_at FROM inzage_outgoing WHERE peer = $1 AND delivered_at IS NULL ORDER BY created_at, id")
                    .bind(peer)
                    .fetch_all(p)
                    .await?,
                None => sqlx::query_as("SELECT id, peer, case_id, created_at, signed, delivered_at FROM inzage_outgoing ORDER BY created_at, id")
                    .fetch_all(p)
                    .await?,
            }
        });
        rows.into_iter().map(outgoing).collect()
    }

    /// The peer confirmed it queued the request: it is not sent again. Only the peer it went to can confirm.
    pub async fn mark_request_delivered(&self, id: &str, peer: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE inzage_outgoing SET delivered_at = $1 WHERE id = $2 AND peer = $3 AND delivered_at IS NULL")
                .bind(now)
                .bind(id)
                .bind(peer)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Put a verified request from a partner in the privacy officer's queue. A repeat (same id, same sender) is
    /// not queued twice; returns whether it is new.
    pub async fn queue_request(
        &self,
        id: &str,
        sender: &str,
        case: &CaseId,
        requested_at: OffsetDateTime,
        signed: &[u8],
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let n = on_pool!(self, p => {
            sqlx::query("INSERT INTO inzage_queue (id, sender, case_id, requested_at, received_at, signed) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING")
                .bind(id)
                .bind(sender)
                .bind(case.as_str())
                .bind(requested_at)
                .bind(now)
                .bind(signed)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// The privacy officer's queue: open requests first, each group oldest first.
    pub async fn request_queue(&self) -> Result<Vec<QueuedRequest>, StoreError> {
        let rows: Vec<QueueRow> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, sender, case_id, requested_at, received_at, signed, handled_at, handled_by FROM inzage_queue ORDER BY handled_at IS NOT NULL, received_at, id")
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(queued).collect()
    }

    /// Mark a queued request handled by `user`. False when there is no such open request.
    pub async fn mark_request_handled(&self, id: &str, user: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let n = on_pool!(self, p => {
            sqlx::query("UPDATE inzage_queue SET handled_at = $1, handled_by = $2 WHERE id = $3 AND handled_at IS NULL")
                .bind(now)
                .bind(user)
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}
