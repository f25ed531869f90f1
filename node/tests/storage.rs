//! The storage suite, run against SQLite and PostgreSQL alike: forms through Automerge and back, incremental
//! changes and compaction, reopening the store, sync state, users and tokens, concurrent audited writes.

mod common;

use std::sync::Arc;

use automerge::AutoCommit;
use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use common::{Db, aanmelding_json, beoordeling_json, registratie_json, validate};
use node::audit::{AuditEntry, Operation};
use node::doc;
use node::store::{CaseId, Change, DocKey, Store, StoreOptions, WriteError};
use policies::{DocumentKind, PartnerId};
use serde_json::Value as Json;
use time::OffsetDateTime;

backend_tests!(
    forms_round_trip_through_automerge,
    a_whole_form_write_is_exact,
    compaction_keeps_heads_and_content,
    reopening_keeps_everything,
    sync_state_round_trips,
    tokens_authenticate_until_revoked,
    cases_and_documents_are_listed,
    concurrent_audited_writes_all_land,
    projections_and_policy_versions_round_trip,
    policy_revocations_acceptances_and_adoptions_round_trip,
    cases_are_paged_newest_first,
    an_erased_case_leaves_only_its_tombstone_and_the_partners_to_tell,
    a_rewritten_document_keeps_no_earlier_change_and_its_partners_are_noted,
    new_cases_and_their_documents_land_together_or_not_at_all,
    a_reconnect_finds_the_cases_changed_since_its_mark_and_those_exchanged,
    a_cases_marks_read_at_once_are_what_each_read_alone_finds,
);

fn me() -> PartnerId {
    "zorgaanbieder:de-zijlen".parse().unwrap()
}

fn entry(case: &CaseId, kind: DocumentKind, fields: &[&str]) -> AuditEntry {
    let mut e = AuditEntry::new(
        Operation::Write,
        "api.formulier_schrijven",
        "registratie",
        OffsetDateTime::now_utc(),
    )
    .user(Some("u1".into()))
    .document(Some(kind.name().into()));
    e.case_id = Some(case.to_string());
    // As strings: some tests log names that are not fields of the model.
    e.fields = fields
        .iter()
        .map(|f| format!("{}.{f}", kind.name()))
        .collect();
    e
}

/// Write `json` as the form of `key` into `doc` and store the change.
async fn put_form(
    store: &Store,
    key: &DocKey,
    doc: &mut AutoCommit,
    json: &Json,
) -> Option<node::store::WriteReceipt> {
    let form = validate(key.kind, json);
    let base = doc.get_heads();
    doc::write_form(doc, &form).unwrap();
    doc::commit(doc, 1_767_225_600);
    let change = Change::since(doc, &base)?;
    Some(store.write_document(key, &change).await.unwrap())
}

async fn reload(store: &Store, key: &DocKey) -> AutoCommit {
    store
        .load_document(key)
        .await
        .unwrap()
        .expect("document exists")
        .to_automerge(&me())
        .unwrap()
}

async fn forms_round_trip_through_automerge(db: &Db) {
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    for (kind, json) in [
        (DocumentKind::Registratie, registratie_json()),
        (DocumentKind::Aanmelding, aanmelding_json()),
        (DocumentKind::Beoordeling, beoordeling_json()),
    ] {
        let key = DocKey::single(case.clone(), kind);
        let mut d = doc::new_document(&me());
        put_form(&store, &key, &mut d, &json)
            .await
            .expect("a change");
        let back = doc::read_json(&reload(&store, &key).await).unwrap();
        assert_eq!(validate(kind, &back), validate(kind, &json), "{kind}");
        assert_eq!(
            back,
            validate(kind, &json).to_json(),
            "{kind}: same JSON shape"
        );
    }
    store.close().await;
}

async fn a_whole_form_write_is_exact(db: &Db) {
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case, DocumentKind::Registratie);
    let mut d = doc::new_document(&me());
    put_form(&store, &key, &mut d, &registratie_json())
        .await
        .unwrap();

    // The same form again adds nothing.
    let mut d = reload(&store, &key).await;
    assert!(
        put_form(&store, &key, &mut d, &registratie_json())
            .await
            .is_none()
    );

    // A field left out is deleted, a changed one changed.
    let mut json = registratie_json();
    json.as_object_mut()
        .unwrap()
        .remove("eerste_aanmelding_opvang");
    json["achternaam_voorletters"] = "de Vries-Bakker, A.B.".into();
    put_form(&store, &key, &mut d, &json).await.unwrap();
    let back = doc::read_json(&reload(&store, &key).await).unwrap();
    assert_eq!(back, validate(key.kind, &json).to_json());
    assert!(back.get("eerste_aanmelding_opvang").is_none());
    store.close().await;
}

async fn compaction_keeps_heads_and_content(db: &Db) {
    let options = StoreOptions {
        compact_after: 5,
        ..StoreOptions::default()
    };
    let store = Store::open_with(&db.url(), options).await.unwrap();
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case.clone(), DocumentKind::Registratie);
    let mut d = doc::new_document(&me());
    let mut compactions = 0;
    for i in 0..12 {
        let mut json = registratie_json();
        json["achternaam_voorletters"] = format!("de Vries {i}, A.").into();
        let r = put_form(&store, &key, &mut d, &json).await.unwrap();
        assert_eq!(r.seq, i + 1);
        compactions += usize::from(r.compacted);
    }
    assert_eq!(
        compactions, 2,
        "compacted after the 6th and the 12th change"
    );
    let stored = store.load_document(&key).await.unwrap().unwrap();
    assert_eq!(stored.meta.pending, 0);
    assert!(stored.changes.is_empty());

    // Two more changes pile up; compacting them by hand leaves the same document.
    for i in 12..14 {
        let mut json = registratie_json();
        json["achternaam_voorletters"] = format!("de Vries {i}, A.").into();
        put_form(&store, &key, &mut d, &json).await.unwrap();
    }
    let before = store.load_document(&key).await.unwrap().unwrap();
    assert_eq!(before.meta.pending, 2);
    assert_eq!(before.changes.len(), 2);
    let mut loaded_before = before.to_automerge(&me()).unwrap();
    assert!(store.compact(&before.meta.doc_id).await.unwrap());
    assert!(
        !store.compact(&before.meta.doc_id).await.unwrap(),
        "nothing left to compact"
    );
    let after = store.load_document(&key).await.unwrap().unwrap();
    assert!(after.changes.is_empty());
    let mut loaded_after = after.to_automerge(&me()).unwrap();
    assert_eq!(loaded_after.get_heads(), loaded_before.get_heads());
    assert_eq!(
        loaded_after.get_heads(),
        d.get_heads(),
        "same heads as the writer's document"
    );
    assert_eq!(after.meta.heads, d.get_heads());
    assert_eq!(
        doc::read_json(&loaded_after).unwrap(),
        doc::read_json(&d).unwrap()
    );
    assert_eq!(loaded_after.get_changes(&[]).len(), 14, "history kept");
    store.close().await;
}

async fn reopening_keeps_everything(db: &Db) {
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case.clone(), DocumentKind::Aanmelding);
    let mut d = doc::new_document(&me());
    let form = validate(key.kind, &aanmelding_json());
    doc::write_form(&mut d, &form).unwrap();
    let change = Change::since(&mut d, &[]).unwrap();
    let receipt = store
        .write_document_with_audit(&key, &change, &entry(&case, key.kind, &["leefsituatie"]))
        .await
        .unwrap();
    let peer: PartnerId = "transferpunt:sdf".parse().unwrap();
    store
        .put_sync_state(&peer, &receipt.doc_id, b"state")
        .await
        .unwrap();
    let user = store.create_user("Anna", "begeleider").await.unwrap();
    store.close().await;
    drop(store);

    let store = db.open().await;
    assert_eq!(store.list_cases().await.unwrap().len(), 1);
    let mut back = reload(&store, &key).await;
    assert_eq!(back.get_heads(), d.get_heads());
    assert_eq!(validate(key.kind, &doc::read_json(&back).unwrap()), form);
    assert_eq!(
        store
            .get_sync_state(&peer, &receipt.doc_id)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"state"[..])
    );
    assert_eq!(
        store.authenticate(&user.token).await.unwrap(),
        Some(user.user)
    );
    assert_eq!(store.verify_audit().await.unwrap().seq, 1);
    store.close().await;
}

async fn sync_state_round_trips(db: &Db) {
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case, DocumentKind::Registratie);
    let mut d = doc::new_document(&me());
    let doc_id = put_form(&store, &key, &mut d, &registratie_json())
        .await
        .unwrap()
        .doc_id;

    let tp: PartnerId = "transferpunt:sdf".parse().unwrap();
    let gm: PartnerId = "gemeente:GM0080".parse().unwrap();
    assert_eq!(store.get_sync_state(&tp, &doc_id).await.unwrap(), None);
    let mut state = automerge::sync::State::new();
    let _ = d.sync().generate_sync_message(&mut state);
    let encoded = state.encode();
    store.put_sync_state(&tp, &doc_id, &encoded).await.unwrap();
    let back = store.get_sync_state(&tp, &doc_id).await.unwrap().unwrap();
    assert_eq!(back, encoded);
    automerge::sync::State::decode(&back).expect("decodes");
    store.put_sync_state(&tp, &doc_id, b"newer").await.unwrap();
    assert_eq!(
        store.get_sync_state(&tp, &doc_id).await.unwrap().unwrap(),
        b"newer"
    );
    assert_eq!(
        store.get_sync_state(&gm, &doc_id).await.unwrap(),
        None,
        "per peer"
    );
    store.close().await;
}

async fn tokens_authenticate_until_revoked(db: &Db) {
    let store = db.open().await;
    let anna = store
        .create_user("Anna de Vries", "begeleider")
        .await
        .unwrap();
    let bert = store.create_user("Bert", "import").await.unwrap();
    assert_ne!(anna.token, bert.token);
    assert_eq!(
        store.authenticate(&anna.token).await.unwrap(),
        Some(anna.user.clone())
    );
    assert_eq!(
        store.authenticate(&bert.token).await.unwrap().unwrap().name,
        "Bert"
    );

    let mut forged = anna.token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        store.authenticate(&forged).await.unwrap(),
        None,
        "one character off"
    );
    let other_id = format!(
        "wt1.{}.{}",
        bert.user.id,
        anna.token.rsplit('.').next().unwrap()
    );
    assert_eq!(
        store.authenticate(&other_id).await.unwrap(),
        None,
        "secret of another user"
    );
    for bad in ["", "wt1", "wt1..", "Bearer x", "wt1.a.b.c"] {
        assert_eq!(store.authenticate(bad).await.unwrap(), None, "{bad:?}");
    }

    assert!(store.revoke_user(&anna.user.id).await.unwrap());
    assert!(!store.revoke_user("nobody").await.unwrap());
    assert_eq!(
        store.authenticate(&anna.token).await.unwrap(),
        None,
        "revoked"
    );
    assert!(
        store.authenticate(&bert.token).await.unwrap().is_some(),
        "others unaffected"
    );
    let users = store.list_users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().any(|u| u.id == anna.user.id && u.revoked));
    store.close().await;
}

async fn cases_and_documents_are_listed(db: &Db) {
    let store = db.open().await;
    let a = CaseId::random();
    let b = CaseId::random();
    store.create_case(&a).await.unwrap();
    store.create_case(&b).await.unwrap();
    assert!(store.create_case(&a).await.is_err(), "ids are unique");
    let mut ids: Vec<_> = store
        .list_cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(store.get_case(&a).await.unwrap().unwrap().id, a);
    assert_eq!(store.get_case(&CaseId::random()).await.unwrap(), None);

    let mut d = doc::new_document(&me());
    put_form(
        &store,
        &DocKey::single(a.clone(), DocumentKind::Registratie),
        &mut d,
        &registratie_json(),
    )
    .await;
    let mut d = doc::new_document(&me());
    put_form(
        &store,
        &DocKey::single(a.clone(), DocumentKind::Beoordeling),
        &mut d,
        &beoordeling_json(),
    )
    .await;
    let docs = store.list_documents(&a).await.unwrap();
    assert_eq!(
        docs.iter().map(|m| m.key.kind).collect::<Vec<_>>(),
        [DocumentKind::Registratie, DocumentKind::Beoordeling]
    );
    assert!(
        docs.iter()
            .all(|m| m.pending == 1 && m.key.case == a && !m.heads.is_empty())
    );
    assert!(store.list_documents(&b).await.unwrap().is_empty());

    // A write to a case that does not exist stores nothing.
    let ghost = CaseId::random();
    let mut d = doc::new_document(&me());
    doc::write_form(
        &mut d,
        &validate(DocumentKind::Registratie, &registratie_json()),
    )
    .unwrap();
    let change = Change::since(&mut d, &[]).unwrap();
    let key = DocKey::single(ghost.clone(), DocumentKind::Registratie);
    assert!(
        matches!(store.write_document(&key, &change).await, Err(WriteError::NoSuchCase(c)) if c == ghost)
    );
    assert!(store.load_document(&key).await.unwrap().is_none());
    store.close().await;
}

async fn concurrent_audited_writes_all_land(db: &Db) {
    let store = Arc::new(db.open().await);
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let case = case.clone();
        tasks.push(tokio::spawn(async move {
            let key = DocKey::instance(case.clone(), DocumentKind::Melding, format!("m{i}"));
            let mut d = doc::new_document(&me());
            for j in 0..3 {
                let base = d.get_heads();
                d.put(automerge::ROOT, "omschrijving", format!("melding {i}.{j}"))
                    .unwrap();
                let change = Change::since(&mut d, &base).unwrap();
                store
                    .write_document_with_audit(
                        &key,
                        &change,
                        &entry(&case, DocumentKind::Melding, &["omschrijving"]),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.list_documents(&case).await.unwrap().len(), 8);
    assert_eq!(store.verify_audit().await.unwrap().seq, 24);
    store.close().await;
}

async fn projections_and_policy_versions_round_trip(db: &Db) {
    use node::store::{ProjectionRecord, StoredPolicy};
    let store = db.open().await;
    // A projection for a case this node has not seen yet creates the case.
    let case = CaseId::random();
    let wire = format!("p/{case}/transferpunt:sdf/corporatie:elkien/1");
    let mut p = ProjectionRecord {
        wire_id: wire.clone(),
        case: case.clone(),
        sender: "transferpunt:sdf".into(),
        receiver: "corporatie:elkien".into(),
        generation: 1,
        snapshot: b"snapshot".to_vec(),
        sync_state: None,
        retired: false,
    };
    store.put_projection(&p).await.unwrap();
    assert!(store.get_case(&case).await.unwrap().is_some());
    assert_eq!(store.load_projection(&wire).await.unwrap().unwrap(), p);
    store
        .put_projection_sync_state(&wire, b"state")
        .await
        .unwrap();
    p.sync_state = Some(b"state".to_vec());
    assert_eq!(store.load_projection(&wire).await.unwrap().unwrap(), p);
    // Rotation: a retired generation and its successor, in generation order.
    p.retired = true;
    store.put_projection(&p).await.unwrap();
    let next = ProjectionRecord {
        wire_id: format!("p/{case}/transferpunt:sdf/corporatie:elkien/2"),
        generation: 2,
        retired: false,
        sync_state: None,
        ..p.clone()
    };
    store.put_projection(&next).await.unwrap();
    let all = store.projections_of_case(&case).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (r.generation, r.retired))
            .collect::<Vec<_>>(),
        vec![(1, true), (2, false)]
    );
    assert!(store.delete_projection(&wire).await.unwrap());
    assert!(store.load_projection(&wire).await.unwrap().is_none());

    let v = StoredPolicy {
        sequence: 2,
        version: "2026.2".into(),
        effective_from: "2026-02-01".into(),
        body: "[policy]".into(),
        signature: vec![1, 2, 3],
    };
    assert!(store.put_policy(&v).await.unwrap());
    assert!(!store.put_policy(&v).await.unwrap(), "once per sequence");
    let same_label = StoredPolicy {
        sequence: 3,
        ..v.clone()
    };
    assert!(
        !store.put_policy(&same_label).await.unwrap(),
        "once per label"
    );
    let v1 = StoredPolicy {
        sequence: 1,
        version: "2026.10".into(),
        ..v.clone()
    };
    assert!(store.put_policy(&v1).await.unwrap());
    assert_eq!(
        store.policies().await.unwrap(),
        vec![v1, v],
        "in sequence order"
    );
    store.close().await;
}

async fn policy_revocations_acceptances_and_adoptions_round_trip(db: &Db) {
    use node::store::{PolicyAcceptance, StoredRevocation};
    let store = db.open().await;
    let r = StoredRevocation {
        sequence: 4,
        signature: vec![9],
    };
    assert!(store.put_revocation(&r).await.unwrap());
    assert!(!store.put_revocation(&r).await.unwrap());
    assert_eq!(store.revocations().await.unwrap(), vec![r]);

    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let decision = |purpose: &str| {
        AuditEntry::new(Operation::PolicyDecision, "beleid.aanvaard", purpose, now)
            .user(Some("privacy officer".into()))
            .policy_version("2026.3")
    };
    let a = PolicyAcceptance {
        sequence: 3,
        version: "2026.3".into(),
        accepted_by: "privacy officer".into(),
        accepted_at: now,
    };
    assert!(
        store
            .accept_policy_with_audit(&a, &decision("aanvaard"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_policy_with_audit(&a, &decision("nog eens"))
            .await
            .unwrap(),
        "accepted once"
    );
    assert_eq!(store.policy_acceptances().await.unwrap(), vec![a]);
    store
        .record_adoption_with_audit(3, "2026.3", &decision("in werking"))
        .await
        .unwrap();
    store
        .record_adoption_with_audit(0, "2026.1", &decision("terug"))
        .await
        .unwrap();
    let adopted: Vec<(u64, String)> = store
        .policy_adoptions()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.sequence, a.version))
        .collect();
    assert_eq!(adopted, vec![(3, "2026.3".into()), (0, "2026.1".into())]);
    // Three records: the repeated acceptance left none.
    assert_eq!(store.verify_audit().await.unwrap().seq, 3);
    store.close().await;
}

async fn cases_are_paged_newest_first(db: &Db) {
    let store = db.open().await;
    for _ in 0..5 {
        store.create_case(&CaseId::random()).await.unwrap();
    }
    let mut all = store.list_cases().await.unwrap();
    all.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    let first = store.list_cases_page(0, 2).await.unwrap();
    let rest = store.list_cases_page(2, 10).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(rest.len(), 3);
    assert_eq!(first.into_iter().chain(rest).collect::<Vec<_>>(), all);
    assert!(store.list_cases_page(5, 10).await.unwrap().is_empty());
    store.close().await;
}

/// Vergetelheid: erasing a case removes its documents, changes, sync states, projections and the case itself in one
/// transaction, appends the tombstone, and records every partner that received part of it — the receivers of the
/// projections this node sent and the partners that held a document whole — and nobody else.
async fn an_erased_case_leaves_only_its_tombstone_and_the_partners_to_tell(db: &Db) {
    use node::store::ProjectionRecord;
    let store = db.open().await;
    let (case, other) = (CaseId::random(), CaseId::random());
    let mut keys = Vec::new();
    for c in [&case, &other] {
        store.create_case(c).await.unwrap();
        let key = DocKey::single(c.clone(), DocumentKind::Registratie);
        let mut d = doc::new_document(&me());
        put_form(&store, &key, &mut d, &registratie_json())
            .await
            .unwrap();
        keys.push(key);
    }
    let held = store.load_document(&keys[0]).await.unwrap().unwrap();
    let tp: PartnerId = "transferpunt:sdf".parse().unwrap();
    store
        .put_sync_state(&tp, &held.meta.doc_id, b"state")
        .await
        .unwrap();
    for (sender, receiver) in [
        ("zorgaanbieder:de-zijlen", "gemeente:GM0080"),
        ("transferpunt:sdf", "zorgaanbieder:de-zijlen"),
    ] {
        store
            .put_projection(&ProjectionRecord {
                wire_id: format!("p/{case}/{sender}/{receiver}/1"),
                case: case.clone(),
                sender: sender.into(),
                receiver: receiver.into(),
                generation: 1,
                snapshot: b"snapshot".to_vec(),
                sync_state: None,
                retired: false,
            })
            .await
            .unwrap();
    }
    let mut tombstone = AuditEntry::new(
        Operation::Erasure,
        "avg.art17",
        "AVG art. 17 lid 1 sub b",
        OffsetDateTime::now_utc(),
    );
    tombstone.case_id = Some(case.to_string());
    let before = store.audit_len().await.unwrap();
    let told = store
        .erase_case(&case, &me().to_string(), &tombstone)
        .await
        .unwrap();
    assert_eq!(told, vec!["gemeente:GM0080", "transferpunt:sdf"]);
    assert!(store.get_case(&case).await.unwrap().is_none());
    assert!(store.load_document(&keys[0]).await.unwrap().is_none());
    assert!(store.projections_of_case(&case).await.unwrap().is_empty());
    assert!(
        store
            .get_sync_state(&tp, &held.meta.doc_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.audit_len().await.unwrap(),
        before + 1,
        "the tombstone"
    );
    assert_eq!(
        store.erasure_notices_for("transferpunt:sdf").await.unwrap(),
        vec![case.clone()]
    );
    // The other case is untouched.
    assert!(store.get_case(&other).await.unwrap().is_some());
    assert!(store.load_document(&keys[1]).await.unwrap().is_some());
    store.close().await;
}

/// `create_cases_with_documents` (the Excel import's one transaction): every case with every document and audit
/// record, or — when one case cannot be created — none of them, not even the cases before it.
async fn new_cases_and_their_documents_land_together_or_not_at_all(db: &Db) {
    let store = db.open().await;
    let write = |case: &CaseId| {
        let key = DocKey::single(case.clone(), DocumentKind::Registratie);
        let mut d = doc::new_document(&me());
        doc::write_form(
            &mut d,
            &validate(DocumentKind::Registratie, &registratie_json()),
        )
        .unwrap();
        doc::commit(&mut d, 1_767_225_600);
        let change = Change::take(&mut d).unwrap();
        (
            key,
            change,
            entry(case, DocumentKind::Registratie, &["bsn"]),
        )
    };
    let (a, b) = (CaseId::random(), CaseId::random());
    store
        .create_cases_with_documents(&[a.clone(), b.clone()], &[write(&a), write(&b)])
        .await
        .unwrap();
    assert_eq!(store.list_cases_count().await.unwrap(), 2);
    assert_eq!(store.list_documents(&b).await.unwrap().len(), 1);
    assert_eq!(store.verify_audit().await.unwrap().seq, 2);

    // A case that exists already fails the whole batch: the new case before it is not there either.
    let c = CaseId::random();
    let refused = store
        .create_cases_with_documents(&[c.clone(), a.clone()], &[write(&c), write(&a)])
        .await;
    assert!(refused.is_err());
    assert!(store.get_case(&c).await.unwrap().is_none());
    assert_eq!(store.list_cases_count().await.unwrap(), 2);
    assert_eq!(store.list_documents(&a).await.unwrap().len(), 1);
    assert_eq!(store.verify_audit().await.unwrap().seq, 2);
    store.close().await;
}

/// Rectificatie in the store (AVG art. 16): a document rewritten as its next generation keeps none of its earlier
/// changes or sync states, and the notice for the partner that held it is stored in the same transaction — the
/// same on SQLite and PostgreSQL.
async fn a_rewritten_document_keeps_no_earlier_change_and_its_partners_are_noted(db: &Db) {
    use node::store::RectificationNotice;
    const WRONG: &str = "Verkeerd-canary, A.";
    const RIGHT: &str = "Goed-canary, A.";
    let store = db.open().await;
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    let key = DocKey::single(case.clone(), DocumentKind::Registratie);
    let mut d = doc::new_document(&me());
    let mut json = registratie_json();
    json["achternaam_voorletters"] = serde_json::json!(WRONG);
    put_form(&store, &key, &mut d, &json).await.unwrap();
    json["achternaam_voorletters"] = serde_json::json!(RIGHT);
    put_form(&store, &key, &mut d, &json).await.unwrap();
    let old = store.load_document(&key).await.unwrap().unwrap();
    assert_eq!(old.meta.generation, 0);
    let tp: PartnerId = "transferpunt:sdf".parse().unwrap();
    store
        .put_sync_state(&tp, &old.meta.doc_id, b"state")
        .await
        .unwrap();

    // The rewrite: the current content in one fresh change, as generation 1.
    let mut fresh = doc::new_document(&me());
    doc::write_form(&mut fresh, &validate(DocumentKind::Registratie, &json)).unwrap();
    doc::commit(&mut fresh, 1_767_225_600);
    let change = Change::take(&mut fresh).unwrap();
    let notice = RectificationNotice {
        peer: tp.to_string(),
        case: case.clone(),
        origin: me().to_string(),
        serial: 1,
        docs: vec![format!("c/{case}/registratie@1")],
        confirmed: false,
    };
    let mut entry = AuditEntry::new(
        Operation::Rectification,
        "avg.art16",
        "AVG art. 16",
        OffsetDateTime::now_utc(),
    );
    entry.case_id = Some(case.to_string());
    let before = store.audit_len().await.unwrap();
    store
        .rewrite_documents(
            &[(key.clone(), 1, change)],
            std::slice::from_ref(&notice),
            &entry,
        )
        .await
        .unwrap();

    let new = store.load_document(&key).await.unwrap().unwrap();
    assert_eq!(new.meta.generation, 1);
    let bytes: Vec<u8> = new
        .snapshot
        .iter()
        .chain(new.changes.iter().flatten())
        .copied()
        .collect();
    let held = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!held(WRONG), "the wrong value is in no stored change");
    let mut am = new.to_automerge(&me()).unwrap();
    assert_eq!(
        doc::read_json(&am).unwrap()["achternaam_voorletters"],
        serde_json::json!(RIGHT)
    );
    assert_eq!(am.get_changes(&[]).len(), 1, "one change: no history");
    assert!(
        store
            .get_sync_state(&tp, &old.meta.doc_id)
            .await
            .unwrap()
            .is_none(),
        "the old generation's sync state is gone"
    );
    assert_eq!(
        store
            .rectification_notice(&tp.to_string(), &case)
            .await
            .unwrap(),
        Some(notice)
    );
    assert_eq!(store.audit_len().await.unwrap(), before + 1);
    store.close().await;
}

/// Migration 0014: every write of a document or a projection moves the change counter (triggers, so no write path
/// can forget); a peer's reconnect after a mark finds the cases changed since and the cases exchanged with it, and
/// not the others.
async fn a_reconnect_finds_the_cases_changed_since_its_mark_and_those_exchanged(db: &Db) {
    use node::store::ProjectionRecord;
    let store = db.open().await;
    let gm = "gemeente:GM0080";
    let [quiet, exchanged, changed] = [CaseId::random(), CaseId::random(), CaseId::random()];
    // The projection of `exchanged` this node sends the gemeente, with this snapshot and sync state.
    let sent = |snapshot: &[u8], sync_state: Option<Vec<u8>>| ProjectionRecord {
        wire_id: format!("p/{exchanged}/{}/{gm}/1", me()),
        case: exchanged.clone(),
        sender: me().to_string(),
        receiver: gm.into(),
        generation: 1,
        snapshot: snapshot.to_vec(),
        sync_state,
        retired: false,
    };
    for case in [&quiet, &exchanged, &changed] {
        store.create_case(case).await.unwrap();
        let key = DocKey::single(case.clone(), DocumentKind::Registratie);
        put_form(
            &store,
            &key,
            &mut doc::new_document(&me()),
            &registratie_json(),
        )
        .await
        .unwrap();
    }
    // A projection sent to the gemeente: the case is exchanged with it.
    store
        .put_projection(&sent(b"snapshot", None))
        .await
        .unwrap();
    let mark = store.change_mark().await.unwrap();
    assert!(mark >= 4, "four writes moved the counter to {mark}");
    // After the mark only `changed` is written again.
    let key = DocKey::single(changed.clone(), DocumentKind::Aanmelding);
    put_form(
        &store,
        &key,
        &mut doc::new_document(&me()),
        &aanmelding_json(),
    )
    .await
    .unwrap();
    assert!(store.change_mark().await.unwrap() > mark);

    let mut expected = vec![exchanged.clone(), changed.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(store.cases_to_reconcile(gm, mark).await.unwrap(), expected);
    // Another partner exchanged nothing: only what changed.
    assert_eq!(
        store
            .cases_to_reconcile("gemeente:GM0074", mark)
            .await
            .unwrap(),
        vec![changed.clone()]
    );
    // From before every write: every case.
    assert_eq!(store.cases_to_reconcile(gm, 0).await.unwrap().len(), 3);

    // Migration 0015: storing the projection again with the same snapshot (a sync message taken, its sync state
    // with it) and compacting a document change nothing a peer holds, and move no mark.
    let after = store.change_mark().await.unwrap();
    store
        .put_projection(&sent(b"snapshot", Some(b"state".to_vec())))
        .await
        .unwrap();
    let quiet_doc = store
        .list_documents(&quiet)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .doc_id;
    store.compact(&quiet_doc).await.unwrap();
    assert_eq!(store.change_mark().await.unwrap(), after);
    assert_eq!(
        store
            .cases_to_reconcile("gemeente:GM0074", mark)
            .await
            .unwrap(),
        vec![changed.clone()]
    );
    // Its content changing does.
    store
        .put_projection(&sent(b"another snapshot", Some(b"state".to_vec())))
        .await
        .unwrap();
    assert!(store.change_mark().await.unwrap() > after);

    assert_eq!(store.sync_mark(gm).await.unwrap(), None);
    store.put_sync_mark(gm, mark, "2026.1").await.unwrap();
    store.put_sync_mark(gm, mark + 1, "2026.2").await.unwrap();
    assert_eq!(
        store.sync_mark(gm).await.unwrap(),
        Some((mark + 1, "2026.2".to_string()))
    );
    store
        .put_sync_marks(&[(gm.to_string(), mark + 2, "2026.2".to_string())])
        .await
        .unwrap();
    assert_eq!(
        store.sync_mark(gm).await.unwrap(),
        Some((mark + 2, "2026.2".to_string()))
    );
    store.close().await;
}

/// `case_marks` reads in one statement what the rectification notice, the erasure by the peer, the awaited rewrites
/// and the documents held whole are when each is read alone: for a case with none, and a case with each.
async fn a_cases_marks_read_at_once_are_what_each_read_alone_finds(db: &Db) {
    use node::store::{CaseMarks, RectificationNotice};
    let store = db.open().await;
    let tp: PartnerId = "transferpunt:sdf".parse().unwrap();
    let gm: PartnerId = "gemeente:GM0080".parse().unwrap();
    let case = CaseId::random();
    store.create_case(&case).await.unwrap();
    assert_eq!(
        store.case_marks(&tp, &case).await.unwrap(),
        CaseMarks::default()
    );

    let reg = DocKey::single(case.clone(), DocumentKind::Registratie);
    let aan = DocKey::single(case.clone(), DocumentKind::Aanmelding);
    let reg_id = put_form(
        &store,
        &reg,
        &mut doc::new_document(&me()),
        &registratie_json(),
    )
    .await
    .unwrap()
    .doc_id;
    put_form(
        &store,
        &aan,
        &mut doc::new_document(&me()),
        &aanmelding_json(),
    )
    .await
    .unwrap();
    // Held whole by the Transferpunt: the registratie only; the gemeente holds nothing whole.
    store.put_sync_state(&tp, &reg_id, b"state").await.unwrap();
    store
        .mark_erased_at_peer(&tp.to_string(), &case)
        .await
        .unwrap();
    let notice = RectificationNotice {
        peer: tp.to_string(),
        case: case.clone(),
        origin: me().to_string(),
        serial: 7,
        docs: vec![
            format!("c/{case}/registratie@1"),
            format!("c/{case}/aanmelding@1"),
        ],
        confirmed: false,
    };
    let taken = RectificationNotice {
        peer: gm.to_string(),
        origin: gm.to_string(),
        serial: 3,
        docs: vec![format!("c/{case}/beoordeling@2")],
        ..notice.clone()
    };
    let mut e = AuditEntry::new(
        Operation::Rectification,
        "avg.art16",
        "AVG art. 16",
        OffsetDateTime::now_utc(),
    );
    e.case_id = Some(case.to_string());
    store
        .record_rectification_taken(&taken, std::slice::from_ref(&notice), &e)
        .await
        .unwrap();

    let marks = store.case_marks(&tp, &case).await.unwrap();
    assert_eq!(
        marks.notice,
        store
            .rectification_notice(&tp.to_string(), &case)
            .await
            .unwrap()
    );
    assert_eq!(marks.notice.as_ref(), Some(&notice));
    assert!(marks.erased_at_peer);
    assert_eq!(
        marks.erased_at_peer,
        store.erased_at_peer(&tp.to_string(), &case).await.unwrap()
    );
    assert_eq!(marks.awaited, store.awaited_rewrites(&case).await.unwrap());
    assert_eq!(marks.awaited, vec![(gm.to_string(), taken.docs.clone())]);
    for (key, generation) in [(&reg, 0), (&aan, 0), (&reg, 1)] {
        assert_eq!(
            marks.held_whole(key, generation),
            store
                .has_sync_state(&tp, key, generation)
                .await
                .unwrap()
                .as_ref(),
            "{key:?} at generation {generation}"
        );
    }
    assert_eq!(marks.held_whole(&reg, 0), Some(&reg_id));

    // Another peer: none of the peer-bound marks, the case-bound one (rewrites awaited here) all the same.
    let other = store.case_marks(&gm, &case).await.unwrap();
    assert_eq!(other.notice, None);
    assert!(!other.erased_at_peer);
    assert!(other.held_whole.is_empty());
    assert_eq!(other.awaited, marks.awaited);
    store.close().await;
}
