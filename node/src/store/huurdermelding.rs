//! Huurdermeldingen in the store (`crate::huurdermelding`): queued with the record of their disclosure in one
//! transaction, offered until the Transferpunt confirms, then kept without their body.

use time::OffsetDateTime;

use super::backend::Transactions;
use super::log::{append_in_tx, audit_failed};
use super::{Store, StoreError, WriteError, on_pool};
use crate::audit::AuditEntry;
use crate::huurdermelding::Verzonden;

type Row = (
    String,
    String,
    String,
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<String>,
);

impl Store {
    /// Queue a huurdermelding (`body`: its JSON as it travels) with the record of its disclosure.
    pub async fn queue_huurdermelding(
        &self,
        m: &Verzonden,
        body: &str,
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
                "INSERT INTO huurdermeldingen (id, aan, soort, body, gedaan_op) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(m.id.as_str())
            .bind(m.aan.as_str())
            .bind(m.soort.as_str())
            .bind(body)
            .bind(m.gedaan_op)
            .execute(&mut *tx)
            .await?;
            append_in_tx!(tx, entry, now).map_err(audit_failed)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The huurdermeldingen waiting for `aan`'s confirmation: id and body.
    pub async fn pending_huurdermeldingen(
        &self,
        aan: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, body FROM huurdermeldingen WHERE aan = $1 AND ontvangen_op IS NULL ORDER BY gedaan_op, id",
            )
            .bind(aan)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(id, body)| Some((id, body?)))
            .collect())
    }

    /// Record `aan`'s confirmation of a huurdermelding and drop its body. `false` when none waited for it.
    pub async fn confirm_huurdermelding(
        &self,
        id: &str,
        aan: &str,
        antwoord: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let n = on_pool!(self, p => {
            sqlx::query(
                "UPDATE huurdermeldingen SET ontvangen_op = $1, antwoord = $2, body = NULL \
                 WHERE id = $3 AND aan = $4 AND ontvangen_op IS NULL",
            )
            .bind(now)
            .bind(antwoord)
            .bind(id)
            .bind(aan)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Every huurdermelding this node made, newest first.
    pub async fn huurdermeldingen(&self) -> Result<Vec<Verzonden>, StoreError> {
        let rows: Vec<Row> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, aan, soort, gedaan_op, ontvangen_op, antwoord FROM huurdermeldingen \
                 ORDER BY gedaan_op DESC, id",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, aan, soort, gedaan_op, ontvangen_op, antwoord)| Verzonden {
                    id,
                    aan,
                    soort,
                    gedaan_op,
                    ontvangen_op,
                    antwoord,
                },
            )
            .collect())
    }
}
