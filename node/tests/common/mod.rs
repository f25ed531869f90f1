//! Shared by the storage and audit tests: a fresh database per test on each back end, raw SQL on it (to tamper
//! with it the way an attacker with database access would), and sample forms.
//!
//! PostgreSQL tests read the server's URL from `WEERTHUIS_TEST_POSTGRES_URL` (a role that may create
//! databases). Without it they fail when `CI` is set and are skipped with a notice otherwise.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use node::store::Store;
use policies::{DocumentKind, Form, Gemeenten, Validator};
use serde_json::{Value as Json, json};
use sqlx::{AssertSqlSafe, Connection};
use time::macros::date;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "WEERTHUIS_TEST_POSTGRES_URL";

/// A fresh, empty database for one test.
pub enum Db {
    /// A SQLite file in its own temporary directory.
    Sqlite {
        /// Removed when dropped.
        _dir: tempfile::TempDir,
        /// The database file.
        path: PathBuf,
    },
    /// A database of its own on the test server.
    Postgres {
        /// The server, as given.
        admin_url: String,
        /// The test's database.
        url: String,
        /// Its name.
        name: String,
    },
}

/// A fresh SQLite database.
pub fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.db");
    Db::Sqlite { _dir: dir, path }
}

/// A fresh PostgreSQL database, or `None` (with a notice) when no server is configured outside CI.
pub async fn postgres(test: &str) -> Option<Db> {
    let admin_url = match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "{POSTGRES_ENV} is not set, but CI is: the PostgreSQL storage tests must run in CI"
                );
            }
            eprintln!("NOTICE: skipping PostgreSQL test {test}: set {POSTGRES_ENV} to run it");
            return None;
        }
    };
    let name = format!("wt_test_{}", node::audit::hex(&rand::random::<[u8; 8]>()));
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to the test server");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    conn.close().await.ok();
    let url = with_database(&admin_url, &name);
    Some(Db::Postgres {
        admin_url,
        url,
        name,
    })
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(after_scheme);
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{head}{authority}/{db}{query}")
}

impl Db {
    /// The URL to give `Store::open`.
    pub fn url(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => path.display().to_string(),
            Db::Postgres { url, .. } => url.clone(),
        }
    }

    /// Whether this is the SQLite back end.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Db::Sqlite { .. })
    }

    /// Open the store.
    pub async fn open(&self) -> Store {
        Store::open(&self.url()).await.expect("open store")
    }

    /// Run raw SQL on the database behind the store's back; the first text for SQLite, the second for PostgreSQL.
    pub async fn raw(&self, sqlite: &str, postgres: &str) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite { path, .. } => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
                sqlx::raw_sql(AssertSqlSafe(sqlite.to_string()))
                    .execute(&mut c)
                    .await?;
                c.close().await
            }
            Db::Postgres { url, .. } => {
                let mut c = sqlx::PgConnection::connect(url).await?;
                sqlx::raw_sql(AssertSqlSafe(postgres.to_string()))
                    .execute(&mut c)
                    .await?;
                c.close().await
            }
        }
    }

    /// Run the same raw SQL on either back end.
    pub async fn raw_both(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.raw(sql, sql).await
    }

    /// Drop a PostgreSQL test database (SQLite's directory goes when dropped).
    pub async fn cleanup(self) {
        if let Db::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await;
            let _ = c.close().await;
        }
    }
}

/// Run an async test body against SQLite and against PostgreSQL: `backend_tests!(name, name2, …)` makes
/// `sqlite::name` and `postgres::name`, each calling `name(&Db)` on a fresh database.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::sqlite();
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::common::postgres(stringify!($name)).await else { return };
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

/// The validator the tests use, with a fixed "today".
pub fn validate(kind: DocumentKind, json: &Json) -> Form {
    static G: std::sync::LazyLock<Gemeenten> = std::sync::LazyLock::new(Gemeenten::friesland);
    Validator::new(&G, date!(2026 - 03 - 01))
        .form(kind, json)
        .unwrap_or_else(|e| panic!("{kind} refused: {e}"))
}

/// The client of the storage and audit tests (a fictitious BSN).
pub fn client() -> policies::examples::Client {
    policies::examples::client_bij_intake()
}

/// A registratie (the example form at intake, at this node's zorgaanbieder): text, BSN, dates, gemeenten, enums,
/// a partner id, a bool.
pub fn registratie_json() -> Json {
    policies::examples::registratie_bij_intake()
}

/// An aanmelding with records (the example form).
pub fn aanmelding_json() -> Json {
    policies::examples::aanmelding(&client(), "2025-09-10")
}

/// A beoordeling with a field list and an integer.
pub fn beoordeling_json() -> Json {
    let mut b = policies::examples::beoordeling_teruggestuurd(
        "2026-01-10",
        "2026-01-12",
        "registratie.huidig_adres",
    );
    b["ontbrekende_gegevens"] = json!(["registratie.huidig_adres", "aanmelding.mailadres"]);
    b["aantal_keer_teruggestuurd"] = json!(2);
    b
}
