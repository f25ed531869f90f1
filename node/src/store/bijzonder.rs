//! Bijzondere situaties (Afspraak 8f) in the store: disclosures outside the flows, asked for and decided on, each
//! step in one transaction with its audit record.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{CaseId, Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;

/// A disclosure outside the flows, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSpecialDisclosure {
    /// Its id.
    pub id: String,
    /// The case.
    pub case: CaseId,
    /// Who receives it (a partner or a third party, by name).
    pub recipient: String,
    /// The fields, `form.field`.
    pub fields: Vec<String>,
    /// The ground (`noodsituatie`, `wettelijke-verplichting`).
    pub ground: String,
    /// Why, in the medewerker's words.
    pub reason: String,
    /// The user who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: OffsetDateTime,
    /// The decision (`goedgekeurd`, `afgewezen`), once taken.
    pub decision: Option<String>,
    /// The privacy officer who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<OffsetDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    OffsetDateTime,
    Option<String>,
    Option<String>,
    Option<OffsetDateTime>,
);

fn of_row(r: Row) -> Result<StoredSpecialDisclosure, StoreError> {
    let (id, case, recipient, fields, ground, reason, by, at, decision, decided_by, decided_at) = r;
    Ok(StoredSpecialDisclosure {
        id,
        case: case
            .parse()
            .map_err(|_| StoreError::Corrupt { what: "case id" })?,
        recipient,
        fields: fields.lines().map(str::to_string).collect(),
        ground,
        reason,
        requested_by: by,
        requested_at: at,
        decision,
        decided_by,
        decided_at,
    })
}

impl Store {
    /// Record a request for a disclosure outside the flows, with its audit record, in one transaction.
    pub async fn request_special_disclosure(
        &self,
        d: &StoredSpecialDisclosure,
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
                "INSERT INTO bijzondere_verstrekkingen \
                 (id, case_id, ontvanger, velden, grond, reden, aangevraagd_door, aangevraagd_op) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(d.id.as_str())
            .bind(d.case.as_str())
            .bind(d.recipient.as_str())
            .bind(d.fields.join("\n"))
            .bind(d.ground.as_str())
            .bind(d.reason.as_str())
            .bind(d.requested_by.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Record the decision on a request that has none yet, with its audit record, in one transaction. Returns
    /// `false` (and stores nothing) when it was decided already.
    pub async fn decide_special_disclosure(
        &self,
        id: &str,
        decision: &str,
        decided_by: &str,
        entry: &AuditEntry,
    ) -> Result<bool, WriteError> {
        entry.check()?;
        let now = self.now();
        let done = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            if let Some(lock) = p.lock_audit() {
                sqlx::query(lock).execute(&mut *tx).await.map_err(audit_failed)?;
            }
            let n = sqlx::query(
                "UPDATE bijzondere_verstrekkingen SET besluit = $1, besloten_door = $2, besloten_op = $3 \
                 WHERE id = $4 AND besluit IS NULL",
            )
            .bind(decision)
            .bind(decided_by)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 1 {
                append_in_tx!(tx, entry, now).map_err(audit_failed)?;
                tx.commit().await?;
            }
            n == 1
        });
        Ok(done)
    }

    /// One request, by id.
    pub async fn special_disclosure(
        &self,
        id: &str,
    ) -> Result<Option<StoredSpecialDisclosure>, StoreError> {
        let row: Option<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, case_id, ontvanger, velden, grond, reden, aangevraagd_door, aangevraagd_op, besluit, \
                 besloten_door, besloten_op FROM bijzondere_verstrekkingen WHERE id = $1",
            )
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        row.map(of_row).transpose()
    }

    /// Every request, oldest first.
    pub async fn special_disclosures(&self) -> Result<Vec<StoredSpecialDisclosure>, StoreError> {
        let rows: Vec<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, case_id, ontvanger, velden, grond, reden, aangevraagd_door, aangevraagd_op, besluit, \
                 besloten_door, besloten_op FROM bijzondere_verstrekkingen ORDER BY aangevraagd_op, id",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(of_row).collect()
    }
}
