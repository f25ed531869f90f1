//! The federation directory's signed versions, as this node took them. Which one is in force, and whether one may
//! be stored at all, is decided in `crate::directory`; this module only keeps the records.

use time::OffsetDateTime;

use super::{Store, StoreError, on_pool};

/// A signed federation directory as stored: the CA's signature over its exact JSON bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDirectory {
    /// Its version (inside the signed bytes).
    pub version: u64,
    /// The directory, as the JSON bytes that were signed.
    pub body: Vec<u8>,
    /// The federation CA's signature.
    pub signature: Vec<u8>,
}

impl Store {
    /// Store a signed directory. Returns `false` (and stores nothing) when its version is stored already.
    pub async fn put_directory(&self, d: &StoredDirectory) -> Result<bool, StoreError> {
        let now: OffsetDateTime = self.now();
        let n = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO federation_directories (version, body, signature, received_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(d.version as i64)
            .bind(d.body.as_slice())
            .bind(d.signature.as_slice())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The stored directory with this version, if any.
    pub async fn directory(&self, version: u64) -> Result<Option<StoredDirectory>, StoreError> {
        let row: Option<(i64, Vec<u8>, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT version, body, signature FROM federation_directories WHERE version = $1",
            )
            .bind(version as i64)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(version, body, signature)| StoredDirectory {
            version: version as u64,
            body,
            signature,
        }))
    }

    /// The highest stored directory version (0: none stored).
    pub async fn latest_directory_version(&self) -> Result<u64, StoreError> {
        let (n,): (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MAX(version) FROM federation_directories")
                .fetch_one(pool)
                .await?
        });
        Ok(n.unwrap_or(0) as u64)
    }

    /// The stored directory with the highest version, if any.
    pub async fn latest_directory(&self) -> Result<Option<StoredDirectory>, StoreError> {
        match self.latest_directory_version().await? {
            0 => Ok(None),
            v => self.directory(v).await,
        }
    }
}
