//! The bewaartermijn at a Transferpunt's node, on SQLite and PostgreSQL: cases of several years, the purge on a
//! given day takes exactly those whose term ended, the jaarverslag of every year computes the same figures before
//! and after (the kept aggregates stand in for the purged cases), a dry run changes nothing and lists exactly what
//! the purge then takes, and the daily task purges by itself.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Db, validate};
use node::audit::{AuditEntry, Operation};
use node::bewaartermijn::{Daily, Verlopen};
use node::cli::admin::DirArg;
use node::cli::bewaartermijn::{BewaartermijnArgs, run};
use node::monitor::indicators::Jaarcijfers;
use node::service::Node;
use node::store::{CaseId, Change, DocKey};
use policies::DocumentKind as K;
use policies::examples as ex;
use serde_json::Value as Json;
use time::Date;
use time::macros::date;

backend_tests!(
    the_purge_takes_the_cases_past_their_term_and_the_jaarverslag_keeps_its_figures,
    a_dry_run_changes_nothing_and_lists_what_the_purge_takes,
    the_daily_task_purges_by_itself,
);

/// The day the tests judge on. The Transferpunt's term is 7 years (Afspraak 8e): cases whose last date is before
/// 2019-06-01 go.
const TODAY: Date = date!(2026 - 06 - 01);

/// One client's case: a year's bemiddeling, or a request that ended with a refusal.
struct Casus {
    /// The forms, dated in `year`.
    forms: Vec<(K, String, Json)>,
}

fn d(year: i32, md: &str) -> String {
    format!("{year}-{md}")
}

/// A case whose every date lies in `year` (the plaatsing in `end_year`), for client number `n`.
fn casus(n: u64, year: i32, end_year: i32, herkomst: &str, gemeente: &str) -> Casus {
    let client = ex::Client::numbered(n);
    let registratie = ex::registratie(
        &client,
        "zorgaanbieder:de-zijlen",
        true,
        "beschermd_wonen",
        herkomst,
        &d(year, "01-10"),
    );
    let mut aanmelding = ex::aanmelding(&client, &d(year, "01-20"));
    // Registered at a corporatie since the year before (indicator 9), not on the example's own dates.
    aanmelding["inschrijvingen_woningcorporaties"] = serde_json::json!([
        {"corporatie": "Elkien", "datum_inschrijving": d(year - 1, "03-0") + &(n % 9 + 1).to_string()}
    ]);
    let verzoek = ex::ingediend(
        ex::bemiddelingsverzoek(&d(year, "02-01"), "De Zijlen", None),
        &d(year, "02-01"),
        1,
    );
    let beoordeling = ex::beoordeling_goedgekeurd(&d(year, "02-03"), &d(year, "02-10"), gemeente);
    let plaatsing = ex::plaatsing(
        &client,
        &d(end_year, "09-15"),
        "Voorstraat 1",
        gemeente,
        if n.is_multiple_of(2) {
            "drie_partijen"
        } else {
            "eigen_naam"
        },
    );
    Casus {
        forms: vec![
            (K::Registratie, String::new(), registratie),
            (K::Aanmelding, String::new(), aanmelding),
            (K::Bemiddelingsverzoek, String::new(), verzoek),
            (K::Beoordeling, String::new(), beoordeling),
            (K::Plaatsing, String::new(), plaatsing),
        ],
    }
}

/// The population: (client, first year, last year). Last dates before 2019-06-01 are past the term on `TODAY`.
const POPULATION: &[(u64, i32, i32)] = &[
    (1, 2014, 2014),
    (2, 2015, 2016),
    (3, 2016, 2016),
    (4, 2017, 2018),
    (5, 2018, 2018),
    // The stay ended 2019-09-15: within the term, though its request is of 2018.
    (6, 2018, 2019),
    (7, 2019, 2019),
    (8, 2021, 2022),
    (9, 2024, 2024),
];

/// A Transferpunt's node in `dir` on `db`, with the population written as an import writes (every case and form in
/// one transaction, each with its audit entry). Returns the node and the case ids by client number.
async fn transferpunt(dir: &Path, db: &Db) -> (std::sync::Arc<Node>, BTreeMap<u64, CaseId>) {
    node::cli::admin::init(
        dir,
        "transferpunt:sdf".parse().unwrap(),
        Some(db.url()),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let (_, node) = node::app::open(dir).await.unwrap();
    let gemeenten = ["GM0080", "GM0086", "GM0090"];
    let mut ids = BTreeMap::new();
    let mut cases = Vec::new();
    let mut writes = Vec::new();
    for &(n, year, end) in POPULATION {
        let case = CaseId::random();
        let herkomst = gemeenten[n as usize % 3];
        let naar = gemeenten[(n as usize / 2) % 3];
        for (kind, instance, json) in casus(n, year, end, herkomst, naar).forms {
            let form = validate(kind, &json);
            let mut am = node::doc::new_document(node.partner());
            node::doc::write_form(&mut am, &form).unwrap();
            node::doc::commit(&mut am, 1_767_225_600);
            let change = Change::take(&mut am).unwrap();
            let fields: Vec<_> = form.field_ids().collect();
            let entry = AuditEntry::new(
                Operation::Import,
                "import.uitstroommonitor",
                "test",
                time::OffsetDateTime::now_utc(),
            )
            .case(
                case.as_str(),
                node.pseudonymiser().data_subject_id(case.as_str()),
            )
            .document(Some(kind.name().into()))
            .fields(&fields);
            let key = if instance.is_empty() {
                DocKey::single(case.clone(), kind)
            } else {
                DocKey::instance(case.clone(), kind, instance)
            };
            writes.push((key, change, entry));
        }
        ids.insert(n, case.clone());
        cases.push(case);
    }
    node.store()
        .create_cases_with_documents(&cases, &writes)
        .await
        .unwrap();
    (node, ids)
}

/// The figures of every year as the jaarverslag computes them: the cases held plus the kept aggregates.
async fn figures(node: &Node) -> BTreeMap<i32, Jaarcijfers> {
    let cases = node::monitor::load_cases(node).await.unwrap();
    let kept = node.store().monitor_aggregates().await.unwrap();
    node::monitor::bewaard::per_jaar_met(&cases, &kept).unwrap()
}

/// Every year's jaarverslag as published (Markdown and CSV tables, threshold 1 so no cell is hidden).
async fn jaarverslagen(node: &Node) -> BTreeMap<i32, String> {
    let cases = node::monitor::load_cases(node).await.unwrap();
    let kept = node.store().monitor_aggregates().await.unwrap();
    (2013..=2026)
        .map(|y| {
            let r = node::monitor::jaarverslag::build_met(&cases, &kept, y, 1, node.gemeenten())
                .unwrap();
            let csv: Vec<String> = r.csv().unwrap().into_iter().map(|(k, v)| k + &v).collect();
            (y, format!("{}\n{}", r.markdown(), csv.join("\n")))
        })
        .collect()
}

/// Two years' figures are the same: every count exactly, every mean's count exactly and its sum to rounding (a sum
/// of fractions of months depends on the order it is added in).
fn assert_same_figures(a: &BTreeMap<i32, Jaarcijfers>, b: &BTreeMap<i32, Jaarcijfers>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (year, x) in a {
        let y = &b[year];
        let mut x = x.clone();
        let mut y = y.clone();
        for (m, n) in [
            (&mut x.inschrijfduur_maanden, &mut y.inschrijfduur_maanden),
            (&mut x.doorlooptijd_dagen, &mut y.doorlooptijd_dagen),
            (&mut x.dagen_tot_volledig, &mut y.dagen_tot_volledig),
        ] {
            assert_eq!(m.n, n.n, "{year}");
            assert!(
                (m.sum - n.sum).abs() < 1e-6,
                "{year}: {} vs {}",
                m.sum,
                n.sum
            );
            n.sum = m.sum;
        }
        assert_eq!(x, y, "the figures of {year} changed");
    }
}

fn expected_gone(ids: &BTreeMap<u64, CaseId>) -> Vec<String> {
    let mut gone: Vec<String> = [1, 2, 3, 4, 5].iter().map(|n| ids[n].to_string()).collect();
    gone.sort();
    gone
}

async fn the_purge_takes_the_cases_past_their_term_and_the_jaarverslag_keeps_its_figures(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let (node, ids) = transferpunt(dir.path(), db).await;
    let before = figures(&node).await;
    let reports_before = jaarverslagen(&node).await;
    assert_eq!(before[&2016].verzoeken, 1);
    assert_eq!(before[&2016].bemiddeld, 2, "clients 2 and 3 moved in 2016");

    let done = node.purge_expired(TODAY).await.unwrap();
    let purged: Vec<String> = done.verlopen.iter().map(|v| v.case.clone()).collect();
    assert_eq!(purged, expected_gone(&ids));
    assert!(done.cijfers_bewaard > 0);
    for v in &done.verlopen {
        assert_eq!(v.termijn_jaren, 7, "the Transferpunt's term (Afspraak 8e)");
        assert!(v.verlopen_op <= TODAY && v.laatste_datum < date!(2019 - 06 - 01));
    }

    // The right cases went, the others stayed.
    let left: Vec<CaseId> = node
        .store()
        .list_cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (n, id) in &ids {
        assert_eq!(left.contains(id), *n >= 6, "client {n}");
        if *n < 6 {
            assert!(node.store().list_documents(id).await.unwrap().is_empty());
        }
    }
    // Each went with a tombstone on the retention ground (no personal data: the audit check refuses any).
    let log = node.store().audit_records(0, 10_000).await.unwrap();
    let tombstones = log
        .iter()
        .filter(|r| {
            r.entry.contains("\"erasure\"")
                && r.entry.contains("avg.art5.bewaartermijn")
                && r.entry.contains("art. 5 lid 1 sub e")
        })
        .count();
    assert_eq!(tombstones, 5);

    // The jaarverslag of every year is what it was, figure for figure, though five of its cases are gone.
    let after = figures(&node).await;
    assert_same_figures(&before, &after);
    assert_eq!(reports_before, jaarverslagen(&node).await);
    // The kept rows carry no case id, no name, no BSN.
    let kept = format!("{:?}", node.store().monitor_aggregates().await.unwrap());
    for (n, id) in &ids {
        assert!(!kept.contains(id.as_str()));
        assert!(!kept.contains(&ex::Client::numbered(*n).bsn));
        assert!(!kept.contains(&ex::Client::numbered(*n).name));
    }

    // A second purge on the same day finds nothing, and counts nothing twice.
    assert!(node.purge_expired(TODAY).await.unwrap().verlopen.is_empty());
    assert_same_figures(&before, &figures(&node).await);
    node.store().close().await;
}

/// Every row of the tables a purge changes, as text: what a dry run must leave as it was.
async fn rows(node: &Node) -> String {
    let mut out = String::new();
    for c in node.store().list_cases().await.unwrap() {
        out += &format!("{c:?}\n");
        for d in node.store().list_documents(&c.id).await.unwrap() {
            let doc = node.store().load_document(&d.key).await.unwrap().unwrap();
            out += &format!(
                "{:?} {:?}\n",
                d,
                doc.to_automerge(node.partner())
                    .map(|mut a| a.save())
                    .unwrap()
            );
        }
    }
    out += &format!("{:?}\n", node.store().monitor_aggregates().await.unwrap());
    let log = node.store().audit_records(0, 100_000).await.unwrap();
    out += &format!(
        "audit {} {:?}\n",
        log.len(),
        log.last().map(|r| r.hash.clone())
    );
    out
}

async fn a_dry_run_changes_nothing_and_lists_what_the_purge_takes(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let (node, ids) = transferpunt(dir.path(), db).await;
    let before = rows(&node).await;
    node.store().close().await;
    drop(node);

    let args = |dry_run| BewaartermijnArgs {
        dir: DirArg {
            dir: dir.path().to_path_buf(),
        },
        dry_run,
        op: None,
    };
    let mut proef = Vec::new();
    run(&args(true), TODAY, &mut proef).await.unwrap();
    let proef = String::from_utf8(proef).unwrap();
    assert!(
        proef.contains("5 casussen zijn de bewaartermijn voorbij (proefdraai"),
        "{proef}"
    );
    let listed = listed_cases(&proef);
    assert_eq!(listed, expected_gone(&ids), "{proef}");
    // Nothing of the person in the report: no name, no BSN.
    for n in ids.keys() {
        assert!(!proef.contains(&ex::Client::numbered(*n).bsn));
        assert!(!proef.contains(&ex::Client::numbered(*n).name));
    }

    let (_, node) = node::app::open(dir.path()).await.unwrap();
    assert_eq!(before, rows(&node).await, "the dry run changed a row");
    node.store().close().await;
    drop(node);

    let mut echt = Vec::new();
    run(&args(false), TODAY, &mut echt).await.unwrap();
    let echt = String::from_utf8(echt).unwrap();
    assert_eq!(listed_cases(&echt), listed, "{echt}");
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    let mut left: Vec<String> = node
        .store()
        .list_cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    left.sort();
    let mut expected: Vec<String> = ids
        .values()
        .map(|c| c.to_string())
        .filter(|c| !listed.contains(c))
        .collect();
    expected.sort();
    assert_eq!(
        left, expected,
        "the purge took exactly what the dry run listed"
    );
    node.store().close().await;
}

/// The case ids a report lists (`- casus ID (pseudoniem …)`), sorted.
fn listed_cases(report: &str) -> Vec<String> {
    let mut out: Vec<String> = report
        .lines()
        .filter_map(|l| l.strip_prefix("- casus "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

async fn the_daily_task_purges_by_itself(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let (node, ids) = transferpunt(dir.path(), db).await;
    // The node's clock says 2026 or later: the cases whose last date is 2016 or before are past 7 years by then.
    let expected: Vec<Verlopen> = node.expired_cases(node.clock_now().date()).await.unwrap();
    assert!(expected.iter().any(|v| v.case == ids[&1].to_string()));
    let daily = Daily::start(node.clone(), std::time::Duration::from_secs(24 * 60 * 60));
    let mut rounds = daily.rounds();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        rounds.wait_for(|n| *n >= 1),
    )
    .await
    .expect("the first round runs at start")
    .unwrap();
    daily.shutdown().await;
    let left: Vec<String> = node
        .store()
        .list_cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    for v in &expected {
        assert!(!left.contains(&v.case), "{} was past its term", v.case);
    }
    assert_eq!(left.len(), ids.len() - expected.len());
    node.store().close().await;
}
