//! What differs between the back ends: migrations, how a write transaction starts, how a read sees one
//! consistent snapshot, and how appends to the audit chain are serialised.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{Database, SqlSafeStr, Transaction};

/// The SQLite migrations, embedded (`sqlx::migrate!` needs the `macros` feature, which we do without).
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "federation",
        include_str!("../../migrations/sqlite/0002_federation.sql"),
    ),
    (
        3,
        "policy sequence",
        include_str!("../../migrations/sqlite/0003_policy_sequence.sql"),
    ),
    (
        4,
        "werkplek",
        include_str!("../../migrations/sqlite/0004_werkplek.sql"),
    ),
    (
        5,
        "inzage",
        include_str!("../../migrations/sqlite/0005_inzage.sql"),
    ),
    (
        6,
        "idempotency",
        include_str!("../../migrations/sqlite/0006_idempotency.sql"),
    ),
    (
        7,
        "vergetelheid",
        include_str!("../../migrations/sqlite/0007_vergetelheid.sql"),
    ),
    (
        8,
        "rectificatie",
        include_str!("../../migrations/sqlite/0008_rectificatie.sql"),
    ),
    (
        9,
        "bewaartermijn",
        include_str!("../../migrations/sqlite/0009_bewaartermijn.sql"),
    ),
    (
        10,
        "directory",
        include_str!("../../migrations/sqlite/0010_directory.sql"),
    ),
    (
        11,
        "logboek",
        include_str!("../../migrations/sqlite/0011_logboek.sql"),
    ),
    (
        12,
        "bijzonder",
        include_str!("../../migrations/sqlite/0012_bijzonder.sql"),
    ),
    (
        13,
        "huurdermelding",
        include_str!("../../migrations/sqlite/0013_huurdermelding.sql"),
    ),
    (
        14,
        "change marks",
        include_str!("../../migrations/sqlite/0014_change_marks.sql"),
    ),
    (
        15,
        "change marks on content",
        include_str!("../../migrations/sqlite/0015_change_marks_on_content.sql"),
    ),
];

/// The PostgreSQL migrations, embedded.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "federation",
        include_str!("../../migrations/postgres/0002_federation.sql"),
    ),
    (
        3,
        "policy sequence",
        include_str!("../../migrations/postgres/0003_policy_sequence.sql"),
    ),
    (
        4,
        "werkplek",
        include_str!("../../migrations/postgres/0004_werkplek.sql"),
    ),
    (
        5,
        "inzage",
        include_str!("../../migrations/postgres/0005_inzage.sql"),
    ),
    (
        6,
        "idempotency",
        include_str!("../../migrations/postgres/0006_idempotency.sql"),
    ),
    (
        7,
        "vergetelheid",
        include_str!("../../migrations/postgres/0007_vergetelheid.sql"),
    ),
    (
        8,
        "rectificatie",
        include_str!("../../migrations/postgres/0008_rectificatie.sql"),
    ),
    (
        9,
        "bewaartermijn",
        include_str!("../../migrations/postgres/0009_bewaartermijn.sql"),
    ),
    (
        10,
        "directory",
        include_str!("../../migrations/postgres/0010_directory.sql"),
    ),
    (
        11,
        "logboek",
        include_str!("../../migrations/postgres/0011_logboek.sql"),
    ),
    (
        12,
        "bijzonder",
        include_str!("../../migrations/postgres/0012_bijzonder.sql"),
    ),
    (
        13,
        "huurdermelding",
        include_str!("../../migrations/postgres/0013_huurdermelding.sql"),
    ),
    (
        14,
        "change marks",
        include_str!("../../migrations/postgres/0014_change_marks.sql"),
    ),
    (
        15,
        "change marks on content",
        include_str!("../../migrations/postgres/0015_change_marks_on_content.sql"),
    ),
];

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(super) fn sqlite_migrator() -> Migrator {
    migrator(SQLITE_MIGRATIONS)
}

pub(super) fn postgres_migrator() -> Migrator {
    migrator(POSTGRES_MIGRATIONS)
}

/// Transactions as each back end needs them.
pub(super) trait Transactions {
    /// The driver.
    type Db: Database;

    /// Start a transaction that will write. SQLite: `BEGIN IMMEDIATE`, so the write lock is taken up front and
    /// two writers queue on the busy timeout instead of one failing when it upgrades a read lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;

    /// Start a read-only transaction whose statements all see the same snapshot (a document's snapshot and its
    /// changes must not straddle a compaction). SQLite gives that by default in WAL mode; PostgreSQL needs
    /// `REPEATABLE READ`.
    async fn begin_snapshot_read(&self) -> Result<Transaction<'static, Self::Db>, sqlx::Error>;

    /// The statement that serialises appends to the audit chain within a write transaction, if one is needed.
    /// SQLite writers are already serialised by `BEGIN IMMEDIATE`; PostgreSQL takes a table lock that readers
    /// do not wait for.
    fn lock_audit(&self) -> Option<&'static str>;
}

impl Transactions for SqlitePool {
    type Db = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }

    async fn begin_snapshot_read(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin().await
    }

    fn lock_audit(&self) -> Option<&'static str> {
        None
    }
}

impl Transactions for PgPool {
    type Db = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }

    async fn begin_snapshot_read(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
    }

    fn lock_audit(&self) -> Option<&'static str> {
        Some("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    }
}
