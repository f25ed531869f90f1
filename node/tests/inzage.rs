//! The inzage at one node (issue #13, AVG art. 15): the keyed-hash BSN index, the report a person can read and
//! its JSON, the audit record of the inzage (names, never values), and the command line's checks. Canary values
//! (seeded per test) are searched where values must not be. The federated inzage and the datalek report over
//! real nodes are in `tests/tests/inzage.rs`.

use std::sync::Arc;

use node::audit::Operation;
use node::inzage::{self, Subject, render};
use node::service::Node;
use node::store::{CaseId, User};
use policies::DocumentKind;
use policies::bsn::Bsn;
use policies::examples::{Client, fictitious_bsn, registratie};
use sha2::Digest;

const ZA: &str = "zorgaanbieder:kwadrant";

fn seed(name: &str) -> u64 {
    let s = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) % 100_000;
    eprintln!("{name}: seed {s}");
    s
}

fn client(seed: u64, n: u64) -> Client {
    Client {
        name: format!("Kanarie{seed}x{n}, K."),
        bsn: fictitious_bsn(seed * 10 + n),
        reden_dakloosheid: format!("kanarie-reden-{seed}-{n}"),
    }
}

async fn node_at(dir: &std::path::Path) -> (Arc<Node>, User) {
    node::app::init(dir, ZA.parse().unwrap(), None)
        .await
        .unwrap();
    let (_, node) = node::app::open(dir).await.unwrap();
    let user = node
        .store()
        .create_user("Anna", "begeleider")
        .await
        .unwrap()
        .user;
    (node, user)
}

async fn register(node: &Node, user: &User, c: &Client) -> CaseId {
    let case: CaseId = node.create_case().await.unwrap().id.parse().unwrap();
    let form = registratie(
        c,
        ZA,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2026-01-05",
    );
    node.write_form(user, &case, DocumentKind::Registratie, None, &form)
        .await
        .unwrap();
    case
}

fn audit_text(records: &[node::audit::AuditRecord]) -> String {
    records
        .iter()
        .map(|r| r.entry.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_bsn_index_finds_a_person_without_storing_the_bsn() {
    let s = seed("the_bsn_index_finds_a_person_without_storing_the_bsn");
    let dir = tempfile::tempdir().unwrap();
    let (node, user) = node_at(dir.path()).await;
    let (a, b) = (client(s, 1), client(s, 2));
    let case_a = register(&node, &user, &a).await;
    let case_b = register(&node, &user, &b).await;
    let bsn_a = Bsn::parse(&a.bsn).unwrap();
    let bsn_b = Bsn::parse(&b.bsn).unwrap();
    assert_eq!(
        node.cases_by_bsn(&bsn_a).await.unwrap(),
        vec![case_a.clone()]
    );
    assert_eq!(
        node.cases_by_bsn(&bsn_b).await.unwrap(),
        vec![case_b.clone()]
    );
    let other = Bsn::parse(&fictitious_bsn(s * 10 + 9)).unwrap();
    assert!(node.cases_by_bsn(&other).await.unwrap().is_empty());

    // The index holds neither the number nor its plain hash: only the keyed one.
    let entries = node.store().bsn_index_entries().await.unwrap();
    assert_eq!(entries.len(), 2);
    for (hash, _) in &entries {
        for bsn in [&a.bsn, &b.bsn] {
            assert!(
                !hash.windows(9).any(|w| w == bsn.as_bytes()),
                "BSN in the clear"
            );
            assert_ne!(
                hash.as_slice(),
                sha2::Sha256::digest(bsn.as_bytes()).as_slice()
            );
        }
    }
    // The key is the node's own secret, readable by its owner only.
    let key = dir.path().join(node::bsn_index::BSN_INDEX_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A corrected BSN moves the entry: the old number finds nothing any more.
    let corrected = Client {
        bsn: fictitious_bsn(s * 10 + 7),
        ..a.clone()
    };
    let form = registratie(
        &corrected,
        ZA,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2026-01-05",
    );
    node.write_form(&user, &case_a, DocumentKind::Registratie, None, &form)
        .await
        .unwrap();
    assert!(node.cases_by_bsn(&bsn_a).await.unwrap().is_empty());
    assert_eq!(
        node.cases_by_bsn(&Bsn::parse(&corrected.bsn).unwrap())
            .await
            .unwrap(),
        vec![case_a]
    );
}

#[tokio::test]
async fn an_older_data_directory_gets_a_key_and_a_whole_index_at_first_use() {
    let s = seed("an_older_data_directory_gets_a_key_and_a_whole_index_at_first_use");
    let dir = tempfile::tempdir().unwrap();
    let c = client(s, 1);
    let case = {
        let (node, user) = node_at(dir.path()).await;
        let case = register(&node, &user, &c).await;
        node.store().close().await;
        case
    };
    // As a data directory made before the index: no key file (and so no index under any key it has).
    let key = dir.path().join(node::bsn_index::BSN_INDEX_KEY_FILE);
    let old_key = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    assert!(key.exists(), "a key is made at first use");
    assert_ne!(std::fs::read(&key).unwrap(), old_key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        node.cases_by_bsn(&Bsn::parse(&c.bsn).unwrap())
            .await
            .unwrap(),
        vec![case],
        "every case is indexed under the new key"
    );
    // The next start finds the index complete and builds nothing.
    assert_eq!(node.ensure_bsn_index().await.unwrap(), 0);
}

#[tokio::test]
async fn the_report_holds_the_values_and_the_audit_log_only_names() {
    let s = seed("the_report_holds_the_values_and_the_audit_log_only_names");
    let dir = tempfile::tempdir().unwrap();
    let (node, user) = node_at(dir.path()).await;
    let c = client(s, 1);
    let case = register(&node, &user, &c).await;
    let _other = register(&node, &user, &client(s, 2)).await;
    let before = node.store().audit_len().await.unwrap();

    let rapport = inzage::inzage(
        &node,
        Some(&user),
        &Subject::Bsn(Bsn::parse(&c.bsn).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(rapport.casussen.len(), 1, "only this person's case");
    let casus = &rapport.casussen[0];
    assert_eq!(casus.casus, case.to_string());
    let registratie = casus
        .formulieren
        .iter()
        .find(|f| f.document == "registratie")
        .expect("the registratie");
    assert_eq!(registratie.geschreven_door, vec![ZA.to_string()]);
    let value = |name: &str| {
        registratie
            .velden
            .iter()
            .find(|v| v.veld == name)
            .map(|v| v.waarde.clone())
    };
    assert_eq!(
        value("registratie.achternaam_voorletters"),
        Some(c.name.clone())
    );
    assert_eq!(
        value("registratie.reden_dakloosheid"),
        Some(c.reden_dakloosheid.clone())
    );
    assert!(
        casus.verstrekkingen.is_empty() && rapport.ontvangers.is_empty(),
        "no federation here"
    );

    let html = render::html(&rapport);
    assert!(html.contains(&c.name) && html.contains(&c.reden_dakloosheid));
    assert!(html.contains("lang=\"nl\"") && html.contains("Inzage in uw gegevens"));
    assert!(html.contains("@media print"), "print-ready");
    assert!(!html.contains("<script"), "no script in a report");
    assert!(!html.contains(&client(s, 2).name), "nobody else's data");
    let json: serde_json::Value = serde_json::from_str(&render::json(&rapport)).unwrap();
    assert_eq!(json["casussen"][0]["casus"], case.to_string());

    // The inzage is recorded: who, which case, which fields — no value.
    let records = node.store().audit_records(before, 100).await.unwrap();
    let entries: Vec<_> = records.iter().map(|r| r.parse().unwrap()).collect();
    let inzage = entries
        .iter()
        .find(|e| e.entry.name == Operation::DataSubjectRequest)
        .expect("the inzage is audited");
    assert_eq!(inzage.entry.processing_activity_id, inzage::ACTIVITY_INZAGE);
    assert_eq!(inzage.entry.case_id.as_deref(), Some(case.as_str()));
    assert_eq!(inzage.entry.user.as_deref(), Some(user.id.as_str()));
    assert!(inzage.entry.fields.contains(&"registratie.bsn".to_string()));
    let all = audit_text(&node.store().audit_records(0, 10_000).await.unwrap());
    for canary in [&c.bsn, &c.name, &c.reden_dakloosheid] {
        assert!(!all.contains(canary.as_str()), "a value in the audit log");
    }
}

#[tokio::test]
async fn an_inzage_of_nobody_known_is_recorded_and_says_so() {
    let s = seed("an_inzage_of_nobody_known_is_recorded_and_says_so");
    let dir = tempfile::tempdir().unwrap();
    let (node, _) = node_at(dir.path()).await;
    let before = node.store().audit_len().await.unwrap();
    let rapport = inzage::inzage(
        &node,
        None,
        &Subject::Bsn(Bsn::parse(&fictitious_bsn(s)).unwrap()),
    )
    .await
    .unwrap();
    assert!(rapport.casussen.is_empty());
    assert!(render::html(&rapport).contains("Wij hebben geen gegevens over u."));
    assert_eq!(node.store().audit_len().await.unwrap(), before + 1);
}

/// The two commands as `weerthuis` parses them.
#[derive(clap::Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    Inzage(node::cli::inzage::InzageArgs),
    Datalek(node::cli::inzage::DatalekArgs),
}

#[tokio::test]
async fn the_command_line_refuses_a_bad_bsn_or_window_naming_the_rule_and_records_nothing() {
    let e = node::cli::inzage::parse_bsn("123456789")
        .unwrap_err()
        .to_string();
    assert!(e.contains("--bsn") && e.contains("elfproef"), "{e}");
    let e = node::cli::inzage::parse_bsn("12ab")
        .unwrap_err()
        .to_string();
    assert!(e.contains("--bsn") && e.contains("9 digits"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let (node, _) = node_at(dir.path()).await;
    let before = node.store().audit_len().await.unwrap();
    node.store().close().await;
    let args = |extra: &[&str]| {
        use clap::Parser;
        let mut argv = vec!["weerthuis".to_string()];
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv.push("--dir".into());
        argv.push(dir.path().display().to_string());
        Cli::try_parse_from(argv).unwrap().cmd
    };
    let mut out = Vec::new();
    let Cmd::Inzage(a) = args(&["inzage", "--bsn", "123456780"]) else {
        unreachable!()
    };
    let e = node::cli::inzage::inzage(a, &mut out)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("elfproef"), "{e}");
    let Cmd::Datalek(a) = args(&[
        "datalek",
        "--peer",
        "corporatie:elkien",
        "--van",
        "2026-02-01",
        "--tot",
        "2026-01-01",
    ]) else {
        unreachable!()
    };
    let e = node::cli::inzage::datalek(a, &mut out)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--tot"), "{e}");
    let Cmd::Datalek(a) = args(&[
        "datalek",
        "--peer",
        "corporatie:elkien",
        "--van",
        "2026-01-01",
        "--tot",
        "2026-02-01",
        "--veld",
        "registratie.geheim",
    ]) else {
        unreachable!()
    };
    let e = node::cli::inzage::datalek(a, &mut out)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--veld"), "{e}");
    let Cmd::Datalek(a) = args(&[
        "datalek",
        "--peer",
        "corporatie:elkien",
        "--van",
        "1-1-2026",
        "--tot",
        "2026-02-01",
    ]) else {
        unreachable!()
    };
    let e = node::cli::inzage::datalek(a, &mut out)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--van") && e.contains("YYYY-MM-DD"), "{e}");
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    assert_eq!(
        node.store().audit_len().await.unwrap(),
        before,
        "nothing recorded"
    );
}

mod common;

/// The index and the request tables on each back end (PostgreSQL when `WEERTHUIS_TEST_POSTGRES_URL` is set).
#[tokio::test]
async fn the_index_and_the_queues_work_on_both_back_ends() {
    let s = seed("the_index_and_the_queues_work_on_both_back_ends");
    let mut dbs = vec![common::sqlite()];
    dbs.extend(common::postgres("the_index_and_the_queues_work_on_both_back_ends").await);
    for db in dbs {
        let dir = tempfile::tempdir().unwrap();
        node::app::init(dir.path(), ZA.parse().unwrap(), Some(db.url()))
            .await
            .unwrap();
        let (_, node) = node::app::open(dir.path()).await.unwrap();
        let user = node
            .store()
            .create_user("Anna", "begeleider")
            .await
            .unwrap()
            .user;
        let c = client(s, 1);
        let case = register(&node, &user, &c).await;
        assert_eq!(
            node.cases_by_bsn(&Bsn::parse(&c.bsn).unwrap())
                .await
                .unwrap(),
            vec![case.clone()],
            "sqlite: {}",
            db.is_sqlite()
        );
        assert_eq!(node.store().bsn_index_entries().await.unwrap().len(), 1);

        let store = node.store();
        let now = node.clock_now();
        assert!(
            store
                .queue_request("r1", "transferpunt:sdf", &case, now, b"signed")
                .await
                .unwrap()
        );
        assert!(
            !store
                .queue_request("r1", "transferpunt:sdf", &case, now, b"signed")
                .await
                .unwrap(),
            "once"
        );
        let q = store.request_queue().await.unwrap();
        assert_eq!((q.len(), q[0].handled_at), (1, None));
        assert!(store.mark_request_handled("r1", &user.id).await.unwrap());
        assert!(!store.mark_request_handled("r1", &user.id).await.unwrap());
        assert_eq!(
            store.request_queue().await.unwrap()[0]
                .handled_by
                .as_deref(),
            Some(user.id.as_str())
        );

        let out = node::store::OutgoingRequest {
            id: "u1".into(),
            peer: "gemeente:GM0080".into(),
            case_id: case.clone(),
            created_at: now,
            signed: b"signed".to_vec(),
            delivered_at: None,
        };
        store.add_outgoing_request(&out).await.unwrap();
        assert_eq!(
            store
                .outgoing_requests(Some("gemeente:GM0080"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            !store
                .mark_request_delivered("u1", "corporatie:elkien")
                .await
                .unwrap(),
            "only its addressee confirms"
        );
        assert!(
            store
                .mark_request_delivered("u1", "gemeente:GM0080")
                .await
                .unwrap()
        );
        assert!(
            store
                .outgoing_requests(Some("gemeente:GM0080"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.outgoing_requests(None).await.unwrap().len(), 1);
        store.close().await;
        db.cleanup().await;
    }
}
