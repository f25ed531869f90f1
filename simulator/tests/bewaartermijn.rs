//! The bewaartermijn on the simulator's population of three years (2022–2024, Friesland scale, sampled): every
//! client's forms written into one Transferpunt node's store as an import writes them, then the purge on a day 7
//! years after mid-2024. The cases whose last date lies before that go, the others stay, and the monitor's figures
//! for every year — every indicator, per gemeente and corporatie — and the published jaarverslag are the same
//! before and after.

use std::collections::BTreeMap;

use node::audit::{AuditEntry, Operation};
use node::bewaartermijn::last_date;
use node::monitor::indicators::Jaarcijfers;
use node::service::Node;
use node::store::{CaseId, Change, DocKey};
use policies::{Gemeenten, Role, Validator};
use simulator::population::{self, Scale};
use time::macros::date;

async fn figures(node: &Node) -> BTreeMap<i32, Jaarcijfers> {
    let cases = node::monitor::load_cases(node).await.unwrap();
    let kept = node.store().monitor_aggregates().await.unwrap();
    node::monitor::bewaard::per_jaar_met(&cases, &kept).unwrap()
}

async fn jaarverslagen(node: &Node) -> BTreeMap<i32, String> {
    let cases = node::monitor::load_cases(node).await.unwrap();
    let kept = node.store().monitor_aggregates().await.unwrap();
    (2021..=2026)
        .map(|y| {
            let r = node::monitor::jaarverslag::build_met(&cases, &kept, y, 1, node.gemeenten())
                .unwrap();
            (y, r.markdown())
        })
        .collect()
}

/// Every count equal; every mean's count equal and its sum to rounding (sums of fractions depend on their order).
fn same(a: &BTreeMap<i32, Jaarcijfers>, b: &BTreeMap<i32, Jaarcijfers>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (year, x) in a {
        let (mut x, mut y) = (x.clone(), b[year].clone());
        for (m, n) in [
            (&mut x.inschrijfduur_maanden, &mut y.inschrijfduur_maanden),
            (&mut x.doorlooptijd_dagen, &mut y.doorlooptijd_dagen),
            (&mut x.dagen_tot_volledig, &mut y.dagen_tot_volledig),
        ] {
            assert_eq!(m.n, n.n, "{year}");
            assert!((m.sum - n.sum).abs() < 1e-6, "{year}");
            n.sum = m.sum;
        }
        assert_eq!(x, y, "the figures of {year} changed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_on_a_population_of_three_years_keeps_every_years_figures() {
    let pop = population::generate(Scale::Friesland, 11).sample(8);
    let tp = pop.partners.of_role(Role::Transferpunt)[0].clone();
    let dir = tempfile::tempdir().unwrap();
    node::cli::admin::init(dir.path(), tp, None, &mut Vec::new())
        .await
        .unwrap();
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    let gemeenten = Gemeenten::friesland();
    let validator = Validator::new(&gemeenten, date!(2030 - 01 - 01));

    // Each client's forms as they stand after its last write: the Transferpunt's monitor holds all of them.
    let mut cases = Vec::new();
    let mut writes = Vec::new();
    let mut last_dates = BTreeMap::new();
    for client in &pop.clients {
        let case = CaseId::random();
        let mut forms = BTreeMap::new();
        for e in &client.events {
            forms.insert((e.kind, e.instance.clone()), e.form.clone());
        }
        let mut docs = policies::CaseDocuments::default();
        for ((kind, instance), json) in forms {
            let form = validator
                .form(kind, &json)
                .expect("the population is valid");
            docs.insert(form.clone());
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
        last_dates.insert(case.to_string(), last_date(&docs).expect("dated forms"));
        cases.push(case);
    }
    node.store()
        .create_cases_with_documents(&cases, &writes)
        .await
        .unwrap();

    let before = figures(&node).await;
    let reports = jaarverslagen(&node).await;
    assert!((2022..=2024).all(|y| before.get(&y).is_some_and(|c| c.verzoeken > 0)));

    // 7 years after 2024-07-01: what ended on or before 2024-07-01 goes.
    let today = date!(2031 - 07 - 01);
    let cutoff = date!(2024 - 07 - 01);
    let done = node.purge_expired(today).await.unwrap();
    let gone: Vec<&String> = done.verlopen.iter().map(|v| &v.case).collect();
    let expected: Vec<&String> = last_dates
        .iter()
        .filter(|(_, d)| **d <= cutoff)
        .map(|(c, _)| c)
        .collect();
    let differ: Vec<_> = gone
        .iter()
        .filter(|c| !expected.contains(c))
        .chain(expected.iter().filter(|c| !gone.contains(c)))
        .map(|c| (c, last_dates[*c]))
        .collect();
    assert!(differ.is_empty(), "purged and expected differ: {differ:?}");
    assert!(
        !gone.is_empty() && gone.len() < cases.len(),
        "some go ({}), some stay ({})",
        gone.len(),
        cases.len() - gone.len()
    );
    let left: Vec<String> = node
        .store()
        .list_cases()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(left.len(), cases.len() - gone.len());
    assert!(left.iter().all(|c| last_dates[c] > cutoff));

    same(&before, &figures(&node).await);
    assert_eq!(reports, jaarverslagen(&node).await);
    node.store().close().await;
}
