//! Storage: cases, Automerge documents, sync state, users and the audit log, over sqlx.
//!
//! **Architecture invariant:** only this module knows SQL. Nothing of sqlx appears in its API except the
//! opaque [`DbError`] inside error variants.
//!
//! Two back ends, each with its native types and its own migrations (`node/migrations/{sqlite,postgres}`,
//! embedded in the binary): an embedded SQLite file by default, PostgreSQL when the URL starts with
//! `postgres://`. The SQL text is shared where both accept it (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`); the differences (how a write transaction starts, locking) live in [`backend`].
//!
//! Durability: a write has been committed when the call returns. SQLite runs in WAL mode with
//! `synchronous = FULL`, so every commit is fsynced to the WAL: an acknowledged write survives a process crash
//! *and* a power cut (with `NORMAL` it would survive only the former). PostgreSQL commits with its default
//! `synchronous_commit = on`.
//!
//! Documents are stored as Automerge bytes: a snapshot plus incremental changes appended per write; once more than
//! [`StoreOptions::compact_after`] changes pile up they are folded into one snapshot in a single transaction.

mod backend;
mod bijzonder;
mod directory;
mod documents;
mod erasure;
mod huurdermelding;
mod idempotency;
mod inzage;
mod log;
mod marks;
mod policy;
mod projections;
mod rectificatie;
mod sessions;
mod users;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;

pub use bijzonder::StoredSpecialDisclosure;
pub use directory::StoredDirectory;
pub use documents::{Change, DocKey, DocumentMeta, StoredDocument, WriteReceipt};
pub use idempotency::{IdempotencyClaim, StoredAnswer};
pub use inzage::{OutgoingRequest, QueuedRequest};
pub use marks::{CaseMarks, HeldWhole};
pub use policy::{PolicyAcceptance, PolicyAdoption, StoredPolicy, StoredRevocation};
pub use projections::{ProjectionRecord, SyncStateWrite};
pub use rectificatie::RectificationNotice;
pub use sessions::{SessionStage, WebSession};
pub use users::{Credentials, NewUser, TOKEN_PREFIX, User};

use crate::audit::{AuditEntryError, AuditError};
use crate::doc::DocError;

/// Changes piled up per document before they are compacted into a snapshot, unless configured otherwise.
pub const DEFAULT_COMPACT_AFTER: u32 = 64;
/// How long a SQLite writer waits for another before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per pool.
pub const MAX_CONNECTIONS: u32 = 8;

/// Where "now" comes from: the system clock by default, a simulated one in the simulator.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// How a store behaves.
#[derive(Clone)]
pub struct StoreOptions {
    /// Compact a document once more than this many incremental changes are stored for it.
    pub compact_after: u32,
    /// The clock for `created_at`, `updated_at` and audit times.
    pub clock: Clock,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            compact_after: DEFAULT_COMPACT_AFTER,
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("compact_after", &self.compact_after)
            .finish_non_exhaustive()
    }
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run `$body` with `$pool` bound to the concrete pool of the store's back end. The body is compiled once per
/// back end, so each uses its own driver types.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The node's database. Cheap to clone; all clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    options: StoreOptions,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("options", &self.options)
            .finish()
    }
}

/// A database error, kept opaque so sqlx does not leak into callers.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DbError(#[from] sqlx::Error);

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database could not be reached or created.
    #[error("cannot open the database: {0}")]
    Connect(DbError),
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// Why a read or a simple write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A stored value is not what this version of the node writes.
    #[error("corrupt {what} in the database")]
    Corrupt {
        /// What.
        what: &'static str,
    },
    /// The case does not exist.
    #[error("no case {0}")]
    NoSuchCase(CaseId),
    /// The document does not exist.
    #[error("no document {0}")]
    NoSuchDocument(DocId),
    /// Other connections kept the database busy for longer than this step waits.
    #[error("{what} could not finish: the database stayed busy")]
    Busy {
        /// What could not finish.
        what: &'static str,
    },
}

/// How long [`Store::scrub`] keeps trying to finish the checkpoint while other connections read.
pub const SCRUB_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(DbError(e))
    }
}

/// Why a document write was refused. Nothing of it was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The case does not exist.
    #[error("no case {0}")]
    NoSuchCase(CaseId),
    /// The audit entry is not acceptable (it would put something other than field names in the log).
    #[error(transparent)]
    InvalidAuditEntry(#[from] AuditEntryError),
    /// The audit record could not be stored, so the write was refused (fail closed).
    #[error("the audit record could not be stored, so the write was refused: {0}")]
    AuditFailed(DbError),
    /// A stored value is not what this version of the node writes.
    #[error("corrupt {what} in the database")]
    Corrupt {
        /// What.
        what: &'static str,
    },
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Database(DbError(e))
    }
}

/// Why a compaction failed. The document is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
    /// The stored bytes do not load as an Automerge document.
    #[error("document {doc}: {cause}")]
    Document {
        /// The document.
        doc: DocId,
        /// What Automerge said.
        #[source]
        cause: DocError,
    },
    /// The document does not exist.
    #[error("no document {0}")]
    NoSuchDocument(DocId),
    /// The blocking task doing the Automerge work panicked or was cancelled.
    #[error("compaction task failed: {0}")]
    Task(String),
}

impl From<sqlx::Error> for CompactError {
    fn from(e: sqlx::Error) -> Self {
        CompactError::Database(DbError(e))
    }
}

/// Why the audit log could not be verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chain is broken.
    #[error(transparent)]
    Chain(#[from] AuditError),
}

/// A random id in UUID v4 form (`8-4-4-4-12` lowercase hex).
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = crate::audit::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_digit() || ('a'..='f').contains(&c)
            }
        })
}

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an id (expected 8-4-4-4-12 lowercase hex)")]
pub struct IdError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id from the operating system's randomness.
            pub fn random() -> Self {
                Self::from_bytes(rand::random())
            }

            /// The id made from 16 given bytes (for a seeded simulator).
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                $name(uuid_v4(bytes))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                if is_uuid(s) { Ok($name(s.to_string())) } else { Err(IdError) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A case's id: random, never derived from the BSN, safe in URLs.
    CaseId
);
id_type!(
    /// A document's id.
    DocId
);

/// Case rows as records.
fn case_records(rows: Vec<(String, OffsetDateTime)>) -> Result<Vec<CaseRecord>, StoreError> {
    rows.into_iter()
        .map(|(id, created_at)| {
            Ok(CaseRecord {
                id: id
                    .parse()
                    .map_err(|_| StoreError::Corrupt { what: "case id" })?,
                created_at,
            })
        })
        .collect()
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Its id.
    pub id: CaseId,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Store {
    /// Open (and create or migrate) the store at `url`: `postgres://…` or `postgresql://…` for PostgreSQL,
    /// anything else is a SQLite file path (optionally prefixed `sqlite://` or `sqlite:`).
    pub async fn open(url: &str) -> Result<Store, OpenError> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// [`Store::open`] with options.
    pub async fn open_with(url: &str, options: StoreOptions) -> Result<Store, OpenError> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect(url)
                .await
                .map_err(|e| OpenError::Connect(DbError(e)))?;
            backend::postgres_migrator()
                .run(&pool)
                .await
                .map_err(OpenError::Migrate)?;
            Pool::Postgres(pool)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            let connect = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // Deleted content (a withdrawn projection, an erased case) is overwritten, not left in free pages.
                .pragma("secure_delete", "on")
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect_with(connect)
                .await
                .map_err(|e| OpenError::Connect(DbError(e)))?;
            backend::sqlite_migrator()
                .run(&pool)
                .await
                .map_err(OpenError::Migrate)?;
            Pool::Sqlite(pool)
        };
        Ok(Store { pool, options })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> BackendKind {
        match self.pool {
            Pool::Sqlite(_) => BackendKind::Sqlite,
            Pool::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Close every connection, waiting for running queries. Every acknowledged write is on disk already.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// "Now", from the configured clock, truncated to microseconds (what PostgreSQL keeps), in UTC.
    pub(crate) fn now(&self) -> OffsetDateTime {
        let t = (self.options.clock)().to_offset(time::UtcOffset::UTC);
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
            .expect("a truncated nanosecond is in range")
    }

    /// Make deleted data unrecoverable from the database's files: SQLite's `secure_delete` overwrites freed pages
    /// in the database, but the write-ahead log still holds the pages as they were until it is checkpointed, so
    /// it is checkpointed and truncated here. PostgreSQL keeps old row versions until `VACUUM`, which the
    /// operator's autovacuum runs; nothing is done for it here.
    ///
    /// A checkpoint cannot finish while another connection reads from the write-ahead log: SQLite then answers
    /// "busy" (as a result row, not an error) and the old pages stay in the log. So the checkpoint is tried again
    /// until it finishes, for up to [`SCRUB_PATIENCE`]; a node under load (its sessions read all the time) left the
    /// rectified value in its log otherwise (found as a rare `rectificatie` failure under load).
    pub async fn scrub(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(p) = &self.pool {
            let started = std::time::Instant::now();
            loop {
                let (busy, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(p)
                        .await?;
                if busy == 0 {
                    break;
                }
                if started.elapsed() >= SCRUB_PATIENCE {
                    return Err(StoreError::Busy {
                        what: "the write-ahead log checkpoint",
                    });
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        Ok(())
    }

    /// Create a case.
    pub async fn create_case(&self, id: &CaseId) -> Result<CaseRecord, StoreError> {
        let now = self.now();
        on_pool!(self, p => {
            sqlx::query("INSERT INTO cases (id, created_at) VALUES ($1, $2)")
                .bind(id.as_str())
                .bind(now)
                .execute(p)
                .await?;
        });
        Ok(CaseRecord {
            id: id.clone(),
            created_at: now,
        })
    }

    /// Every case, oldest first.
    pub async fn list_cases(&self) -> Result<Vec<CaseRecord>, StoreError> {
        let rows: Vec<(String, OffsetDateTime)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, created_at FROM cases ORDER BY created_at, id")
                .fetch_all(p)
                .await?
        });
        case_records(rows)
    }

    /// A page of cases, newest first (ties by id), without loading the others.
    pub async fn list_cases_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let (offset, limit) = (offset as i64, limit as i64);
        let rows: Vec<(String, OffsetDateTime)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, created_at FROM cases ORDER BY created_at DESC, id LIMIT $1 OFFSET $2")
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await?
        });
        case_records(rows)
    }

    /// How many cases there are (cheap; also a health check that the database answers).
    pub async fn list_cases_count(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => {
            sqlx::query_as("SELECT COUNT(*) FROM cases").fetch_one(p).await?
        });
        Ok(n as u64)
    }

    /// One case, if it exists.
    pub async fn get_case(&self, id: &CaseId) -> Result<Option<CaseRecord>, StoreError> {
        let row: Option<(OffsetDateTime,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT created_at FROM cases WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(created_at,)| CaseRecord {
            id: id.clone(),
            created_at,
        }))
    }
}
