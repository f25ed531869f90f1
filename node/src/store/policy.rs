//! Policy versions, revocations, this node's acceptances of widening versions, and the versions put in force here.
//! Which version is in force is decided in `crate::distribution`; this module only keeps the records.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;

/// A policy version as received: the text and the Transferpunt's signature over its sequence number and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// Its sequence number: rises with every version the Transferpunt signs; part of the signed payload.
    pub sequence: u64,
    /// Its version label (what audit records name).
    pub version: String,
    /// When it takes effect (`YYYY-MM-DD`).
    pub effective_from: String,
    /// The policy text (TOML).
    pub body: String,
    /// The Transferpunt's signature over the sequence number and the text.
    pub signature: Vec<u8>,
}

/// A revocation as received: the Transferpunt's signature over "revoke sequence N".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRevocation {
    /// The sequence number of the revoked version.
    pub sequence: u64,
    /// The Transferpunt's signature.
    pub signature: Vec<u8>,
}

/// This node's privacy officer agreed to a version that widens what this node discloses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAcceptance {
    /// The accepted version's sequence number.
    pub sequence: u64,
    /// Its version label.
    pub version: String,
    /// Who accepted it.
    pub accepted_by: String,
    /// When.
    pub accepted_at: OffsetDateTime,
}

/// A version put in force at this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAdoption {
    /// Its sequence number; 0 for the node's own configured policy.
    pub sequence: u64,
    /// Its version label.
    pub version: String,
    /// When it was put in force.
    pub adopted_at: OffsetDateTime,
}

impl Store {
    /// Store a policy version. Returns `false` (and stores nothing) when its sequence number or its label is
    /// taken already; whether that is a harmless repeat or a conflict is the caller's to decide.
    pub async fn put_policy(&self, p: &StoredPolicy) -> Result<bool, StoreError> {
        let now: OffsetDateTime = self.now();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO policy_versions (sequence, version, effective_from, body, signature, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(p.sequence as i64)
            .bind(p.version.as_str())
            .bind(p.effective_from.as_str())
            .bind(p.body.as_str())
            .bind(p.signature.as_slice())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Every policy version stored, by sequence number.
    pub async fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        let rows: Vec<(i64, String, String, String, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT sequence, version, effective_from, body, signature FROM policy_versions ORDER BY sequence",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(sequence, version, effective_from, body, signature)| StoredPolicy {
                    sequence: sequence as u64,
                    version,
                    effective_from,
                    body,
                    signature,
                },
            )
            .collect())
    }

    /// Store a revocation. Returns `false` when that sequence number was revoked before.
    pub async fn put_revocation(&self, r: &StoredRevocation) -> Result<bool, StoreError> {
        let now: OffsetDateTime = self.now();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO policy_revocations (sequence, signature, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(r.sequence as i64)
            .bind(r.signature.as_slice())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Every revocation stored, by sequence number.
    pub async fn revocations(&self) -> Result<Vec<StoredRevocation>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT sequence, signature FROM policy_revocations ORDER BY sequence")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(sequence, signature)| StoredRevocation {
                sequence: sequence as u64,
                signature,
            })
            .collect())
    }

    /// Record the privacy officer's acceptance of a version together with its audit entry, in one transaction:
    /// an acceptance that is not in the audit log is not recorded. Returns `false` (nothing recorded) when the
    /// version was accepted before.
    pub async fn accept_policy_with_audit(
        &self,
        a: &PolicyAcceptance,
        entry: &AuditEntry,
    ) -> Result<bool, WriteError> {
        entry.check()?;
        let now = self.now();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "INSERT INTO policy_acceptances (sequence, version, accepted_by, accepted_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(a.sequence as i64)
            .bind(a.version.as_str())
            .bind(a.accepted_by.as_str())
            .bind(a.accepted_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Every acceptance recorded, by sequence number.
    pub async fn policy_acceptances(&self) -> Result<Vec<PolicyAcceptance>, StoreError> {
        let rows: Vec<(i64, String, String, OffsetDateTime)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT sequence, version, accepted_by, accepted_at FROM policy_acceptances ORDER BY sequence",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(sequence, version, accepted_by, accepted_at)| PolicyAcceptance {
                    sequence: sequence as u64,
                    version,
                    accepted_by,
                    accepted_at,
                },
            )
            .collect())
    }

    /// Record that a version was put in force here, together with its audit entry, in one transaction.
    pub async fn record_adoption_with_audit(
        &self,
        sequence: u64,
        version: &str,
        entry: &AuditEntry,
    ) -> Result<(), WriteError> {
        entry.check()?;
        let now = self.now();
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO policy_adoptions (sequence, version, adopted_at) VALUES ($1, $2, $3)")
                .bind(sequence as i64)
                .bind(version)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every version put in force here, oldest first; the last is the one in force.
    pub async fn policy_adoptions(&self) -> Result<Vec<PolicyAdoption>, StoreError> {
        let rows: Vec<(i64, String, OffsetDateTime)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT sequence, version, adopted_at FROM policy_adoptions ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(sequence, version, adopted_at)| PolicyAdoption {
                sequence: sequence as u64,
                version,
                adopted_at,
            })
            .collect())
    }
}
