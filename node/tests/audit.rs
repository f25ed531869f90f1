//! The audit log on both back ends: entries appended with the writes they record verify as a chain; a changed,
//! removed or reordered entry is found and named by its seq; the table refuses updates and deletes; a write whose
//! audit record cannot be stored stores nothing (fail closed); no field values reach the log.

mod common;

use common::{Db, registratie_json, validate};
use node::audit::{
    self, AuditEntry, AuditEntryError, AuditError, AuditRecord, ChainHead, Operation, Pseudonymiser,
};
use node::doc;
use node::store::{CaseId, Change, DocKey, Store, VerifyError, WriteError};
use policies::{DocumentKind, PartnerId};
use time::OffsetDateTime;

backend_tests!(
    appended_entries_verify,
    entries_hold_names_not_values,
    the_table_is_append_only,
    a_changed_entry_is_named,
    a_removed_entry_is_named,
    reordered_entries_are_named,
    a_write_whose_audit_fails_stores_nothing,
);

fn me() -> PartnerId {
    "zorgaanbieder:de-zijlen".parse().unwrap()
}

fn entry(case: &CaseId, name: Operation, fields: &[&str]) -> AuditEntry {
    let mut e = AuditEntry::new(
        name,
        "api.registratie",
        "registratie bij intake",
        OffsetDateTime::now_utc(),
    )
    .case(
        case.as_str(),
        Pseudonymiser::new([7; 32]).data_subject_id(case.as_str()),
    )
    .user(Some("u1".into()))
    .document(Some("registratie".into()));
    // As strings: some tests log names that are not fields of the model.
    e.fields = fields.iter().map(|f| format!("registratie.{f}")).collect();
    e
}

/// A store with one case, its registratie written with an audit entry, then `reads` audited reads: entries
/// 1..=1+reads.
async fn store_with_log(db: &Db, reads: usize) -> (Store, CaseId) {
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case.clone(), DocumentKind::Registratie);
    let mut d = doc::new_document(&me());
    doc::write_form(&mut d, &validate(key.kind, &registratie_json())).unwrap();
    let change = Change::since(&mut d, &[]).unwrap();
    let r = store
        .write_document_with_audit(
            &key,
            &change,
            &entry(&case, Operation::Write, &["bsn", "achternaam_voorletters"]),
        )
        .await
        .unwrap();
    assert_eq!(r.audit_seq, Some(1));
    for i in 0..reads {
        assert_eq!(
            store
                .append_audit(&entry(&case, Operation::Read, &["bsn"]))
                .await
                .unwrap(),
            i as u64 + 2
        );
    }
    (store, case)
}

/// Drop the append-only triggers, as an attacker with database access would.
async fn drop_guards(db: &Db) {
    db.raw(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        "DROP TRIGGER audit_log_no_change ON audit_log;",
    )
    .await
    .unwrap();
}

fn chain_error(r: Result<ChainHead, VerifyError>) -> AuditError {
    match r {
        Err(VerifyError::Chain(e)) => e,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

async fn appended_entries_verify(db: &Db) {
    let (store, case) = store_with_log(db, 3).await;
    let head = store.verify_audit().await.unwrap();
    assert_eq!(head.seq, 4);
    assert_eq!(store.audit_len().await.unwrap(), 4);
    let records = store.audit_records(0, 100).await.unwrap();
    assert_eq!(audit::verify(&records).unwrap(), head);
    assert_eq!(audit::verify_with_anchor(&records, &head).unwrap(), head);
    let first = records[0].parse().unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.entry.name, Operation::Write);
    assert_eq!(first.entry.case_id.as_deref(), Some(case.as_str()));
    assert_eq!(records[1].prev_hash, records[0].hash);
    assert_eq!(store.audit_records(2, 1).await.unwrap()[0].seq, 3, "paging");
    store.close().await;
}

async fn entries_hold_names_not_values(db: &Db) {
    let (store, case) = store_with_log(db, 0).await;
    let log: String = store
        .audit_records(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.entry.clone())
        .collect();
    let c = common::client();
    for value in [c.bsn.as_str(), "de Vries", "1988-05-17"] {
        assert!(!log.contains(value), "the log holds a value: {value}");
    }
    assert!(log.contains("registratie.bsn"));

    // Something other than a field name in `fields` is refused, and nothing is stored.
    let mut bad = entry(&case, Operation::Read, &[]);
    bad.fields = vec!["registratie.bsn".into(), c.bsn.clone()];
    assert!(matches!(
        store.append_audit(&bad).await,
        Err(WriteError::InvalidAuditEntry(
            AuditEntryError::NotAFieldName { index: 1 }
        ))
    ));
    let mut bad = entry(&case, Operation::Read, &["bsn"]);
    bad.trace_id = "not a trace".into();
    assert!(matches!(
        store.append_audit(&bad).await,
        Err(WriteError::InvalidAuditEntry(AuditEntryError::TraceId))
    ));
    assert_eq!(store.audit_len().await.unwrap(), 1);
    store.close().await;
}

async fn the_table_is_append_only(db: &Db) {
    let (store, _) = store_with_log(db, 2).await;
    assert!(
        db.raw_both("UPDATE audit_log SET entry = '{}' WHERE seq = 2")
            .await
            .is_err()
    );
    assert!(
        db.raw_both("DELETE FROM audit_log WHERE seq = 3")
            .await
            .is_err()
    );
    if !db.is_sqlite() {
        assert!(db.raw_both("TRUNCATE audit_log").await.is_err());
    }
    assert_eq!(store.verify_audit().await.unwrap().seq, 3);
    store.close().await;
}

async fn a_changed_entry_is_named(db: &Db) {
    let (store, _) = store_with_log(db, 3).await;
    drop_guards(db).await;
    db.raw_both(
        "UPDATE audit_log SET entry = replace(entry, '\"read\"', '\"write\"') WHERE seq = 3",
    )
    .await
    .unwrap();
    assert_eq!(
        chain_error(store.verify_audit().await),
        AuditError::Changed { seq: 3 }
    );
    store.close().await;
}

async fn a_removed_entry_is_named(db: &Db) {
    let (store, _) = store_with_log(db, 3).await;
    drop_guards(db).await;
    db.raw_both("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        chain_error(store.verify_audit().await),
        AuditError::Removed { seq: 2 }
    );
    store.close().await;
}

async fn reordered_entries_are_named(db: &Db) {
    let (store, _) = store_with_log(db, 3).await;
    drop_guards(db).await;
    db.raw_both(
        "UPDATE audit_log SET seq = -3 WHERE seq = 3; \
         UPDATE audit_log SET seq = 3 WHERE seq = 2; \
         UPDATE audit_log SET seq = 2 WHERE seq = -3;",
    )
    .await
    .unwrap();
    assert_eq!(
        chain_error(store.verify_audit().await),
        AuditError::Reordered {
            seq: 2,
            written_as: 3
        }
    );
    store.close().await;
}

async fn a_write_whose_audit_fails_stores_nothing(db: &Db) {
    let (store, case) = store_with_log(db, 0).await;
    let key = DocKey::single(case.clone(), DocumentKind::Registratie);
    let before = store.load_document(&key).await.unwrap().unwrap();
    db.raw(
        "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        "CREATE FUNCTION audit_log_full() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'disk full'; END $$; \
         CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
         FOR EACH ROW EXECUTE FUNCTION audit_log_full();",
    )
    .await
    .unwrap();

    // An existing document is left as it was.
    let mut d = before.to_automerge(&me()).unwrap();
    let mut json = registratie_json();
    json["achternaam_voorletters"] = "Bakker, C.".into();
    doc::write_form(&mut d, &validate(key.kind, &json)).unwrap();
    let change = Change::take(&mut d).unwrap();
    let refused = store
        .write_document_with_audit(
            &key,
            &change,
            &entry(&case, Operation::Write, &["achternaam_voorletters"]),
        )
        .await;
    assert!(
        matches!(refused, Err(WriteError::AuditFailed(_))),
        "{refused:?}"
    );
    assert_eq!(store.load_document(&key).await.unwrap().unwrap(), before);

    // A new document is not created.
    let new_key = DocKey::single(case.clone(), DocumentKind::Aanmelding);
    let mut d = doc::new_document(&me());
    doc::write_form(&mut d, &validate(new_key.kind, &common::aanmelding_json())).unwrap();
    let change = Change::take(&mut d).unwrap();
    let refused = store
        .write_document_with_audit(&new_key, &change, &entry(&case, Operation::Write, &[]))
        .await;
    assert!(
        matches!(refused, Err(WriteError::AuditFailed(_))),
        "{refused:?}"
    );
    assert!(store.load_document(&new_key).await.unwrap().is_none());
    assert_eq!(store.list_documents(&case).await.unwrap().len(), 1);

    // Reads are refused the same way.
    assert!(matches!(
        store
            .append_audit(&entry(&case, Operation::Read, &["bsn"]))
            .await,
        Err(WriteError::AuditFailed(_))
    ));
    assert_eq!(store.verify_audit().await.unwrap().seq, 1);
    store.close().await;
}

fn record(seq: u64, prev: &[u8], name: &str) -> AuditRecord {
    let at = OffsetDateTime::UNIX_EPOCH;
    let json = format!(r#"{{"seq":{seq},"name":"{name}"}}"#);
    AuditRecord {
        seq,
        at,
        hash: audit::chain_hash(prev, &json, seq).to_vec(),
        entry: json,
        prev_hash: prev.to_vec(),
    }
}

fn chain(n: u64) -> Vec<AuditRecord> {
    let mut out: Vec<AuditRecord> = Vec::new();
    for seq in 1..=n {
        let prev = out
            .last()
            .map_or(audit::GENESIS.to_vec(), |r| r.hash.clone());
        out.push(record(seq, &prev, "read"));
    }
    out
}

#[test]
fn verify_names_the_broken_seq_in_memory() {
    let good = chain(5);
    assert_eq!(audit::verify(&good).unwrap().seq, 5);
    assert_eq!(
        audit::verify(&[]).unwrap(),
        ChainHead {
            seq: 0,
            hash: audit::GENESIS
        }
    );

    let mut changed = good.clone();
    changed[3].entry = changed[3].entry.replace("read", "wrote");
    assert_eq!(audit::verify(&changed), Err(AuditError::Changed { seq: 4 }));

    let mut rehashed = good.clone();
    rehashed[3].hash[0] ^= 1;
    assert_eq!(
        audit::verify(&rehashed),
        Err(AuditError::Changed { seq: 4 })
    );

    let removed_first: Vec<_> = good[1..].to_vec();
    assert_eq!(
        audit::verify(&removed_first),
        Err(AuditError::Removed { seq: 1 })
    );

    // An entry rewritten consistently in itself but not linked to its predecessor.
    let mut relinked = good.clone();
    relinked[2] = record(3, &[9; 32], "read");
    assert_eq!(
        audit::verify(&relinked),
        Err(AuditError::BrokenLink { seq: 3 })
    );

    // Cutting off the end leaves a valid chain: only an anchor recorded earlier shows it.
    let head = audit::verify(&good).unwrap();
    assert_eq!(head.to_string().split(':').next(), Some("5"));
    let cut = &good[..4];
    assert!(audit::verify(cut).is_ok());
    assert!(matches!(
        audit::verify_with_anchor(cut, &head),
        Err(AuditError::Truncated { seq: 4, .. })
    ));
}
