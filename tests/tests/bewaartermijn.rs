//! The bewaartermijn (issue #13 item 3) across real nodes over QUIC, shown with the canary method. Each partner
//! keeps a case for its own term (the covenant's policy: the Transferpunt 7 years, the zorgaanbieder and the
//! gemeente 15, Afspraak 8e and Wmo 2015 art. 5.3.4), counted from the case's last date:
//!
//! 1. On a day 7 years after the case's last date, the Transferpunt's purge erases it as an erasure does: the
//!    canaries are gone from its files, the partners that received part of it from the Transferpunt are told, the
//!    zorgaanbieder keeps its own (its term has not ended), and the monitor keeps the case's counts, not the case.
//! 2. On a day 15 years after, the zorgaanbieder's purge erases its own and tells the gemeente, which deletes what
//!    it received: not a byte of the case in any node's files. A younger client's case stays everywhere.

use std::time::Duration;

use node::store::CaseId;
use policies::DocumentKind as D;
use policies::examples::{self as ex, Client};
use serde_json::json;
use simulator::live::{files_contain, wait_until};
use time::macros::date;
use weerthuis_tests::{TestNet, canaries, canary_client};

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";

const WAIT: Duration = Duration::from_secs(40);

/// A case at the zorgaanbieder with a submitted bemiddelingsverzoek, every date in `year` (`year` ≤ this year).
async fn submitted_case(net: &TestNet, client: &Client, zoekgedrag: &str, year: i32) -> CaseId {
    let d = |md: &str| format!("{year}-{md}");
    let mut verzoek = ex::bemiddelingsverzoek(&d("10-01"), "Kwadrant", Some("Een woning"));
    verzoek["toelichting_zoekgedrag"] = json!(zoekgedrag);
    // Submitted (indienen) on its own date, as it was that year: `submit_request` would date it today.
    let verzoek = ex::ingediend(verzoek, &d("10-01"), 1);
    let mut aanmelding = ex::aanmelding(client, &d("06-10"));
    aanmelding["inschrijvingen_woningcorporaties"] = json!([
        {"corporatie": "Elkien", "datum_inschrijving": d("06-02")},
        {"corporatie": "Accolade", "datum_inschrijving": d("06-03")}
    ]);
    net.case_with(
        ZA,
        &[
            (
                D::Registratie,
                ex::registratie(
                    client,
                    ZA,
                    true,
                    "maatschappelijke_opvang",
                    "GM0080",
                    &d("06-01"),
                ),
            ),
            (D::Aanmelding, aanmelding),
            (
                D::VervolgWonen,
                ex::vervolg_wonen(client, "GM0080", &d("09-01")),
            ),
            (D::Bemiddelingsverzoek, verzoek),
        ],
    )
    .await
}

async fn holds_case(net: &TestNet, at: &str, case: &CaseId) -> bool {
    net.node(at)
        .node()
        .store()
        .list_cases()
        .await
        .unwrap()
        .iter()
        .any(|c| c.id == *case)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_past_each_partners_term_is_purged_from_every_nodes_files_and_the_partners_were_told()
 {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let (old_client, old_zoekgedrag) = canary_client("bewaartermijn", "Bewaarmij", 94000, 1);
    let (young_client, young_zoekgedrag) = canary_client("bewaartermijn", "Bewaarmij", 94000, 2);
    // The old case's last date is 2025-10-01 (its request); the young one's 2026-10-01.
    let old = submitted_case(&net, &old_client, &old_zoekgedrag, 2025).await;
    let young = submitted_case(&net, &young_client, &young_zoekgedrag, 2026).await;
    for (client, zoekgedrag) in [
        (&old_client, &old_zoekgedrag),
        (&young_client, &young_zoekgedrag),
    ] {
        wait_until("the Transferpunt holds the request", WAIT, || async {
            files_contain(net.node(TP).path(), zoekgedrag)
                && files_contain(net.node(TP).path(), &client.reden_dakloosheid)
        })
        .await;
        wait_until("the gemeente holds the client's name", WAIT, || async {
            files_contain(net.node(GM).path(), &client.name)
        })
        .await;
    }

    // 1. The Transferpunt, 7 years on: the old case is past its term there, the young one not.
    let tp = net.node(TP).node();
    let day = date!(2033 - 01 - 01);
    let expired = tp.expired_cases(day).await.unwrap();
    assert_eq!(
        expired.iter().map(|v| v.case.clone()).collect::<Vec<_>>(),
        vec![old.to_string()]
    );
    assert_eq!(expired[0].termijn_jaren, 7);
    let done = tp.purge_expired(day).await.unwrap();
    assert_eq!(
        done.verlopen, expired,
        "the purge takes what the dry run lists"
    );
    assert!(
        done.cijfers_bewaard > 0,
        "the monitor keeps the case's counts"
    );
    let told = &done.told[0].1;
    assert!(told.contains(&ZA.to_string()), "told: {told:?}");
    for value in canaries(&old_client, &old_zoekgedrag) {
        wait_until(&format!("{TP} no longer holds {value:?}"), WAIT, || async {
            !files_contain(net.node(TP).path(), &value)
        })
        .await;
    }
    assert!(!holds_case(&net, TP, &old).await);
    // What the Transferpunt erased does not come back: the zorgaanbieder, told, withdrew its projection and
    // plans nothing more for the Transferpunt in this case (`sync::plan::unless_erased_at`) ...
    wait_until(
        "the zorgaanbieder withdrew its projection",
        WAIT,
        || async {
            let za = net.node(ZA).node();
            za.store()
                .projections_of_case(&old)
                .await
                .unwrap()
                .iter()
                .filter(|p| p.receiver == TP)
                .all(|p| p.retired)
                && net.plan_differences(ZA, TP, &old).await.is_empty()
        },
    )
    .await;
    let plan = net
        .plan(ZA, TP, &old)
        .await
        .expect("the zorgaanbieder has the case");
    assert!(
        plan.full.is_empty() && plan.projection.is_empty(),
        "{plan:?}"
    );
    // ... and its sessions, having carried out later changes (a write to the young case reaches the Transferpunt),
    // did not send the old case back.
    net.write(
        ZA,
        &young,
        D::VervolgWonen,
        None,
        ex::vervolg_wonen(&young_client, "GM0080", "2026-10-02"),
    )
    .await
    .expect("the zorgaanbieder writes");
    wait_until(
        "the Transferpunt has the young case's change",
        WAIT,
        || async {
            net.holds(TP, &young)
                .await
                .get("vervolg_wonen")
                .and_then(|f| f.get("datum_formulier"))
                == Some(&json!("2026-10-02"))
        },
    )
    .await;
    assert!(!holds_case(&net, TP, &old).await, "the old case came back");
    assert!(!files_contain(
        net.node(TP).path(),
        &old_client.reden_dakloosheid
    ));
    // The zorgaanbieder keeps its own forms for its own term (15 years): it was told, and deleted only what came
    // from the Transferpunt.
    assert!(holds_case(&net, ZA, &old).await);
    assert!(files_contain(
        net.node(ZA).path(),
        &old_client.reden_dakloosheid
    ));
    // The monitor's counts: for the old case's year, and no personal data with them.
    let kept = tp.store().monitor_aggregates().await.unwrap();
    assert!(
        kept.iter()
            .any(|c| c.jaar == 2025 && c.indicator == "verzoeken" && c.aantal == 1)
    );

    // 2. The zorgaanbieder, 15 years on: it erases its own, and the gemeente, told, deletes what it received.
    let za = net.node(ZA).node();
    let day = date!(2041 - 01 - 01);
    let done = za.purge_expired(day).await.unwrap();
    assert_eq!(
        done.verlopen
            .iter()
            .map(|v| v.case.clone())
            .collect::<Vec<_>>(),
        vec![old.to_string()]
    );
    assert_eq!(done.verlopen[0].termijn_jaren, 15);
    assert!(done.told[0].1.contains(&GM.to_string()), "{:?}", done.told);
    for value in canaries(&old_client, &old_zoekgedrag) {
        for at in [ZA, TP, GM] {
            wait_until(&format!("{at} no longer holds {value:?}"), WAIT, || async {
                !files_contain(net.node(at).path(), &value)
            })
            .await;
        }
    }
    wait_until("the gemeente no longer has the case", WAIT, || async {
        !holds_case(&net, GM, &old).await
    })
    .await;

    // The young client's case is untouched everywhere, and the kept counts name no one.
    for value in canaries(&young_client, &young_zoekgedrag) {
        for at in [ZA, TP] {
            assert!(
                files_contain(net.node(at).path(), &value),
                "{at} still holds {value:?}"
            );
        }
    }
    assert!(files_contain(net.node(GM).path(), &young_client.name));
    for at in [ZA, TP, GM] {
        assert!(
            holds_case(&net, at, &young).await,
            "{at} keeps the young case"
        );
    }
    let kept = format!("{:?}", tp.store().monitor_aggregates().await.unwrap());
    for value in canaries(&old_client, &old_zoekgedrag) {
        assert!(!kept.contains(&value));
    }
    assert!(!kept.contains(old.as_str()));
}
