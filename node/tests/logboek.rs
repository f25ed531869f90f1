//! The Logboek Dataverwerkingen's storage and export, on both back ends and through the real binary:
//! - a log written before migration 0011 (by the migrations up to 0007 and the old insert) still verifies after
//!   it, and its entries are found by their trace ids;
//! - the trace columns are covered by the chain: one changed behind the store's back is named;
//! - a `foreign_operation` of the wrong shape is refused before anything is stored;
//! - `weerthuis audit export --format otlp-json` writes one span per entry with no field value in it, and
//!   refuses a bad `--van`/`--tot`.

mod common;

use std::borrow::Cow;
use std::path::Path;
use std::process::Command;

use common::Db;
use node::audit::{
    self, AuditEntry, AuditEntryError, AuditError, ForeignOperation, Operation, Pseudonymiser,
};
use node::store::{VerifyError, WriteError};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};
use time::OffsetDateTime;

backend_tests!(
    a_log_from_before_migration_0011_still_verifies,
    a_changed_trace_column_is_named,
    a_malformed_foreign_operation_is_refused,
);

/// The migrations as they were before 0011, with their versions and descriptions as the store registers them.
fn migrations_before_0011(sqlite: bool) -> Migrator {
    const SQLITE: [&str; 7] = [
        include_str!("../migrations/sqlite/0001_initial.sql"),
        include_str!("../migrations/sqlite/0002_federation.sql"),
        include_str!("../migrations/sqlite/0003_policy_sequence.sql"),
        include_str!("../migrations/sqlite/0004_werkplek.sql"),
        include_str!("../migrations/sqlite/0005_inzage.sql"),
        include_str!("../migrations/sqlite/0006_idempotency.sql"),
        include_str!("../migrations/sqlite/0007_vergetelheid.sql"),
    ];
    const POSTGRES: [&str; 7] = [
        include_str!("../migrations/postgres/0001_initial.sql"),
        include_str!("../migrations/postgres/0002_federation.sql"),
        include_str!("../migrations/postgres/0003_policy_sequence.sql"),
        include_str!("../migrations/postgres/0004_werkplek.sql"),
        include_str!("../migrations/postgres/0005_inzage.sql"),
        include_str!("../migrations/postgres/0006_idempotency.sql"),
        include_str!("../migrations/postgres/0007_vergetelheid.sql"),
    ];
    const NAMES: [&str; 7] = [
        "initial",
        "federation",
        "policy sequence",
        "werkplek",
        "inzage",
        "idempotency",
        "vergetelheid",
    ];
    let texts = if sqlite { SQLITE } else { POSTGRES };
    Migrator::with_migrations(
        texts
            .iter()
            .zip(NAMES)
            .enumerate()
            .map(|(i, (sql, name))| {
                Migration::new(
                    i as i64 + 1,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn entry(op: Operation, case: &str) -> AuditEntry {
    AuditEntry::new(
        op,
        "api.v1",
        "registratie bij intake",
        OffsetDateTime::now_utc(),
    )
    .case(case, Pseudonymiser::new([3; 32]).data_subject_id(case))
    .document(Some("registratie".into()))
}

async fn a_log_from_before_migration_0011_still_verifies(db: &Db) {
    // A node of the earlier release: its migrations, and its entries appended as it appended them.
    let old: Vec<AuditEntry> = (0..3)
        .map(|i| entry(Operation::Read, &format!("case-{i}")))
        .collect();
    let mut prev = audit::GENESIS.to_vec();
    let mut rows = Vec::new();
    for (i, e) in old.iter().enumerate() {
        let seq = i as u64 + 1;
        let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let json = e.stored_json(seq, at);
        let hash = audit::chain_hash(&prev, &json, seq).to_vec();
        rows.push((seq as i64, at, json, prev.clone(), hash.clone()));
        prev = hash;
    }
    const INSERT: &str =
        "INSERT INTO audit_log (seq, at, entry, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)";
    match db {
        Db::Sqlite { path, .. } => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            migrations_before_0011(true).run(&pool).await.unwrap();
            for r in &rows {
                sqlx::query(AssertSqlSafe(INSERT))
                    .bind(r.0)
                    .bind(r.1)
                    .bind(&r.2)
                    .bind(&r.3)
                    .bind(&r.4)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }
        Db::Postgres { url, .. } => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            migrations_before_0011(false).run(&pool).await.unwrap();
            for r in &rows {
                sqlx::query(AssertSqlSafe(INSERT))
                    .bind(r.0)
                    .bind(r.1)
                    .bind(&r.2)
                    .bind(&r.3)
                    .bind(&r.4)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }
    }
    // This release opens it: migration 0011 runs, the old entries keep their hashes and verify.
    let store = db.open().await;
    assert_eq!(store.verify_audit().await.unwrap().seq, 3);
    let found = store
        .audit_by_span(&old[1].trace_id, &old[1].span_id)
        .await
        .unwrap()
        .expect("an old entry is found by its trace ids");
    assert_eq!(found.seq, 2);
    // New entries, one with a foreign_operation, join the same chain.
    let linked = entry(Operation::Receipt, "case-9").foreign_operation(Some(ForeignOperation {
        trace_id: audit::new_trace_id(),
        operation_id: audit::new_span_id(),
        entity: "weerthuis://transferpunt/sdf".into(),
    }));
    assert_eq!(store.append_audit(&linked).await.unwrap(), 4);
    assert_eq!(store.verify_audit().await.unwrap().seq, 4);
    let f = linked.foreign_operation.as_ref().unwrap();
    let by_foreign = store
        .audit_by_foreign_operation(&f.trace_id, &f.operation_id)
        .await
        .unwrap();
    assert_eq!(by_foreign.iter().map(|r| r.seq).collect::<Vec<_>>(), [4]);
    // The foreign_operation is in the hashed JSON, so part of the chain.
    assert!(by_foreign[0].entry.contains(&f.operation_id));
    // The old entries' JSON is as it was: no foreign_operation key was added to them.
    let first = store.audit_records(0, 1).await.unwrap();
    assert_eq!(first[0].entry, rows[0].2);
    assert!(!first[0].entry.contains("foreign_operation"));
    store.close().await;
}

async fn a_changed_trace_column_is_named(db: &Db) {
    let store = db.open().await;
    for i in 0..3 {
        let e =
            entry(Operation::Receipt, &format!("c{i}")).foreign_operation(Some(ForeignOperation {
                trace_id: audit::new_trace_id(),
                operation_id: audit::new_span_id(),
                entity: "weerthuis://zorgaanbieder/kwadrant".into(),
            }));
        store.append_audit(&e).await.unwrap();
    }
    assert_eq!(store.verify_audit().await.unwrap().seq, 3);
    // An attacker re-points entry 2's link at another disclosure, leaving the hashed JSON alone.
    db.raw(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET foreign_operation_id = 'aaaaaaaaaaaaaaaa' WHERE seq = 2",
        "DROP TRIGGER audit_log_no_change ON audit_log; UPDATE audit_log SET foreign_operation_id = 'aaaaaaaaaaaaaaaa' WHERE seq = 2",
    )
    .await
    .unwrap();
    match store.verify_audit().await {
        Err(VerifyError::Chain(AuditError::Changed { seq: 2 })) => {}
        other => panic!("expected entry 2 named as changed, got {other:?}"),
    }
    store.close().await;
}

async fn a_malformed_foreign_operation_is_refused(db: &Db) {
    let store = db.open().await;
    let good = || ForeignOperation {
        trace_id: audit::new_trace_id(),
        operation_id: audit::new_span_id(),
        entity: "weerthuis://transferpunt/sdf".into(),
    };
    for bad in [
        ForeignOperation {
            trace_id: "ABC".into(),
            ..good()
        },
        ForeignOperation {
            operation_id: "0000000000000000".into(),
            ..good()
        },
        ForeignOperation {
            entity: "https://example.org/x".into(),
            ..good()
        },
        ForeignOperation {
            entity: format!("weerthuis://{}", "x".repeat(300)),
            ..good()
        },
        ForeignOperation {
            entity: "weerthuis://a b".into(),
            ..good()
        },
    ] {
        let e = entry(Operation::Receipt, "c").foreign_operation(Some(bad));
        assert!(matches!(
            store.append_audit(&e).await,
            Err(WriteError::InvalidAuditEntry(
                AuditEntryError::ForeignOperation
            ))
        ));
    }
    assert_eq!(store.audit_len().await.unwrap(), 0, "nothing stored");
    store.close().await;
}

fn weerthuis(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(args)
        .env_remove("WEERTHUIS_DIR")
        .output()
        .expect("the weerthuis binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn files_contain(dir: &Path, needle: &str) -> bool {
    node::harness::files_contain(dir, needle)
}

#[test]
fn audit_export_writes_one_otlp_span_per_entry_without_values() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let dir_s = dir.to_str().unwrap();
    let (code, out, err) = weerthuis(&[
        "init",
        "--dir",
        dir_s,
        "--partner",
        "zorgaanbieder:kwadrant",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // A case imported with a canary value: audited as writes, by field name.
    let canary = "logboek-export-kanarie-4711";
    let mut reg = policies::examples::registratie_bij_intake();
    reg["betrokken_zorgaanbieder"] = "zorgaanbieder:kwadrant".into();
    reg["reden_dakloosheid"] = canary.into();
    let bsn = reg["bsn"].as_str().unwrap().to_string();
    let file = tmp.path().join("casus.json");
    std::fs::write(&file, serde_json::json!({ "registratie": reg }).to_string()).unwrap();
    let (code, out, err) = weerthuis(&["import", "--dir", dir_s, file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, list, _) = weerthuis(&["case", "list", "--dir", dir_s]);
    assert_eq!(code, 0);
    let case = list.split('\t').next().unwrap().to_string();
    // A read too.
    assert_eq!(weerthuis(&["case", "show", "--dir", dir_s, &case]).0, 0);
    assert!(
        files_contain(&dir, canary),
        "the canary is in the node's files"
    );

    let export = tmp.path().join("export.json");
    let (code, out, err) = weerthuis(&[
        "audit",
        "export",
        "--dir",
        dir_s,
        "--format",
        "otlp-json",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&export).unwrap();
    for needle in [canary, bsn.as_str(), case.as_str(), "de Vries"] {
        assert!(!text.contains(needle), "the export holds {needle}");
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let spans = json["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap();
    let (code, verify, _) = weerthuis(&["audit", "verify", "--dir", dir_s]);
    assert_eq!(code, 0);
    let entries: usize = verify
        .split("intact, ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(spans.len(), entries, "one span per entry");
    assert!(out.contains(&format!("({entries} spans)")), "{out}");
    assert!(
        spans
            .iter()
            .all(|s| s["attributes"].as_array().unwrap().iter().any(|kv| {
                kv["key"] == "dpl.core.processing_activity_id"
                    && kv["value"]["stringValue"]
                        .as_str()
                        .unwrap()
                        .starts_with("weerthuis://zorgaanbieder/kwadrant/verwerkingsactiviteiten/")
            }))
    );
    assert!(
        spans.iter().any(|s| s["name"] == "write"),
        "the import's writes are exported"
    );
    assert!(
        spans.iter().any(|s| s["name"] == "read"),
        "the read is exported"
    );

    // Days outside the log: no spans; to standard output.
    let (code, out, _) = weerthuis(&[
        "audit",
        "export",
        "--dir",
        dir_s,
        "--van",
        "2000-01-01",
        "--tot",
        "2000-12-31",
    ]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["resourceSpans"][0]["scopeSpans"][0]["spans"],
        serde_json::json!([])
    );

    // Bad days are named.
    let (code, _, err) = weerthuis(&["audit", "export", "--dir", dir_s, "--van", "1-2-2026"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--van: expected a date as YYYY-MM-DD"),
        "{err}"
    );
    let (code, _, err) = weerthuis(&[
        "audit",
        "export",
        "--dir",
        dir_s,
        "--van",
        "2026-02-01",
        "--tot",
        "2026-01-01",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--tot (2026-01-01) lies before --van (2026-02-01)"),
        "{err}"
    );
}
