//! Idempotency keys: the first answer to a POST or PUT sent with an `Idempotency-Key`, kept per API token until it
//! expires, so a retry gets that answer back instead of taking the step twice (`api::idempotency`).

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::backend::Transactions;
use super::{Store, StoreError, on_pool};

/// A finished request's answer, as stored for its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status.
    pub status: u16,
    /// Its `Content-Type`, if it had one.
    pub content_type: Option<String>,
    /// Its `Location`, if it had one (a created case).
    pub location: Option<String>,
    /// The body as sent.
    pub body: Vec<u8>,
}

/// What a key holds when a request claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// Unused (or expired): the request is now running under this key; finish it with
    /// [`Store::complete_idempotency_key`] or [`Store::release_idempotency_key`].
    Claimed,
    /// A request with the same fingerprint finished: its answer.
    Replay(StoredAnswer),
    /// A request with the same fingerprint is still running.
    InProgress,
    /// The key was used for another request (another method, path or body).
    Mismatch,
}

fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

type AnswerRow = (
    Vec<u8>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

impl Store {
    /// Claim `key` of `user_id` for a request with `fingerprint`, unless it is in use: a running claim expires at
    /// `running_until` (so a request whose process died does not block its key for good). Expired keys of every
    /// user are removed first.
    pub async fn claim_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
        fingerprint: &[u8; 32],
        running_until: OffsetDateTime,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = self.now();
        let hash = key_hash(key);
        on_pool!(self, p => {
            // Insert first, and look only when the key is taken: two requests with the same key cannot both
            // claim it (PostgreSQL's `ON CONFLICT` waits for the other's insert to commit; SQLite's writers are
            // serialised by `BEGIN IMMEDIATE`).
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key_hash, fingerprint, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key_hash) DO NOTHING",
            )
            .bind(user_id)
            .bind(&hash[..])
            .bind(&fingerprint[..])
            .bind(now)
            .bind(running_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let claim = if inserted == 1 {
                IdempotencyClaim::Claimed
            } else {
                let row: Option<AnswerRow> = sqlx::query_as(
                    "SELECT fingerprint, status, content_type, location, body FROM idempotency_keys \
                     WHERE user_id = $1 AND key_hash = $2",
                )
                .bind(user_id)
                .bind(&hash[..])
                .fetch_optional(&mut *tx)
                .await?;
                match row {
                    Some((stored, _, _, _, _)) if stored.as_slice() != fingerprint.as_slice() => {
                        IdempotencyClaim::Mismatch
                    }
                    Some((_, Some(status), content_type, location, body)) => {
                        IdempotencyClaim::Replay(StoredAnswer {
                            status: u16::try_from(status)
                                .map_err(|_| StoreError::Corrupt { what: "idempotency status" })?,
                            content_type,
                            location,
                            body: body.unwrap_or_default(),
                        })
                    }
                    // Still running, or given up by the first request a moment ago: the client tries again.
                    Some((_, None, _, _, _)) | None => IdempotencyClaim::InProgress,
                }
            };
            tx.commit().await?;
            Ok(claim)
        })
    }

    /// Store the answer of the request that claimed `key`, kept until `expires_at`, with the case it is about (an
    /// erasure of the case deletes it).
    pub async fn complete_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
        answer: &StoredAnswer,
        case: Option<&str>,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6, \
                 expires_at = $7, case_id = $8 WHERE user_id = $1 AND key_hash = $2",
            )
            .bind(user_id)
            .bind(&key_hash(key)[..])
            .bind(i32::from(answer.status))
            .bind(answer.content_type.as_deref())
            .bind(answer.location.as_deref())
            .bind(answer.body.as_slice())
            .bind(expires_at)
            .bind(case)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Give `key` up after a request that did not succeed: nothing was done, so a retry may run.
    pub async fn release_idempotency_key(
        &self,
        user_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key_hash = $2")
                .bind(user_id)
                .bind(&key_hash(key)[..])
                .execute(p)
                .await?;
        });
        Ok(())
    }
}
