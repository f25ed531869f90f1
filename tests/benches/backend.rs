//! The storage back ends a benchmark runs on, side by side in one run (issue #14): SQLite always, and PostgreSQL
//! when a server is named in `WEERTHUIS_TEST_POSTGRES_URL` (a role that may create databases; each node gets a
//! database of its own, dropped afterwards). Included by the benches with `#[path]`.

// Each bench that includes this uses part of it (the floor's database URLs only the latency bench).
#![allow(dead_code)]

use std::sync::Arc;

use simulator::live::LiveOptions;
use sqlx::{AssertSqlSafe, Connection as _};

/// The environment variable naming the PostgreSQL server.
pub(crate) const POSTGRES_ENV: &str = "WEERTHUIS_TEST_POSTGRES_URL";

/// A storage back end.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// The embedded SQLite file (WAL, `synchronous = FULL`).
    Sqlite,
    /// A PostgreSQL server (`synchronous_commit = on`).
    Postgres {
        /// The server, as given.
        admin_url: String,
    },
}

impl Backend {
    /// Its name in a table.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// SQLite, and PostgreSQL when a server is named (a notice otherwise).
pub(crate) fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => out.push(Backend::Postgres { admin_url: url }),
        _ => eprintln!(
            "NOTICE: PostgreSQL not measured: set {POSTGRES_ENV} to measure it beside SQLite"
        ),
    }
    out
}

/// Databases made for one run, dropped by [`Databases::drop_all`].
pub(crate) struct Databases {
    admin_url: String,
    names: Vec<String>,
    urls: Vec<(String, String)>,
}

/// How to start a federation on `backend`: for PostgreSQL a fresh database for each of `partners` (any other node
/// of the federation keeps its SQLite file).
pub(crate) async fn options(
    backend: &Backend,
    partners: &[&str],
) -> (LiveOptions, Option<Databases>) {
    let Backend::Postgres { admin_url } = backend else {
        return (LiveOptions::default(), None);
    };
    let run = node::audit::hex(&rand_bytes());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL server");
    let mut urls = Vec::new();
    let mut names = Vec::new();
    for p in partners {
        let name = format!("wt_bench_{run}_{}", names.len());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a bench database");
        urls.push((p.to_string(), with_database(admin_url, &name)));
        names.push(name);
    }
    conn.close().await.ok();
    let by_partner = urls.clone();
    let options = LiveOptions {
        database: Some(Arc::new(move |partner: &str| {
            urls.iter()
                .find(|(p, _)| p == partner)
                .map(|(_, url)| url.clone())
        })),
        ..LiveOptions::default()
    };
    (
        options,
        Some(Databases {
            admin_url: admin_url.clone(),
            names,
            urls: by_partner,
        }),
    )
}

impl Databases {
    /// The database URL of a partner's node.
    pub(crate) fn url_of(&self, partner: &str) -> String {
        self.urls
            .iter()
            .find(|(p, _)| p == partner)
            .map(|(_, url)| url.clone())
            .expect("a database for every partner")
    }

    /// Drop the run's databases (after its federation has stopped).
    pub(crate) async fn drop_all(self) {
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await else {
            return;
        };
        for name in self.names {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

fn rand_bytes() -> [u8; 6] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 6];
    out.copy_from_slice(&(nanos as u64 ^ u64::from(std::process::id())).to_be_bytes()[2..]);
    out
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    match base[after_scheme..].rfind('/') {
        Some(slash) => format!("{}/{db}{query}", &base[..after_scheme + slash]),
        None => format!("{base}/{db}{query}"),
    }
}
