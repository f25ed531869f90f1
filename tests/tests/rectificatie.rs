//! Rectificatie (AVG art. 16, issue #13) across real nodes over QUIC, shown with the canary method: a value the
//! zorgaanbieder corrects is gone from every node's files afterwards — its current state *and* every stored
//! history — while the corrected value reaches the partners that held the old one.
//!
//! The case: the zorgaanbieder's registratie (projected to the Transferpunt and the herkomstgemeente) and its
//! submitted bemiddelingsverzoek (held whole by the Transferpunt, which marked what is missing in it). The
//! zorgaanbieder corrects the client's name in the registratie and the zoekgedrag in the request. Afterwards:
//! - neither old value is in any node's files (documents, Automerge histories, projections, write-ahead logs);
//! - the Transferpunt holds the new name and zoekgedrag, the gemeente the new name;
//! - what the Transferpunt wrote into the request (its marks) is still there, at both ends;
//! - another client's case is untouched;
//! - each node's audit log records the rectification with field names, never a value.

use std::time::Duration;

use node::audit::Operation;
use node::rectificatie::Correction;
use policies::DocumentKind as D;
use serde_json::json;
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::{TestNet, canary_client, field, wait_for};

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rectified_value_is_gone_from_every_nodes_files_history_included_and_the_partners_hold_the_new_one()
 {
    let net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let (wrong, old_zoekgedrag) = canary_client("rectificatie", "Verkeerdenaam", 94_000, 1);
    let (other, other_zoekgedrag) = canary_client("rectificatie", "Verkeerdenaam", 94_000, 2);
    let case = net
        .request_case(&wrong, &old_zoekgedrag, Some("Een woning"), true)
        .await;
    let kept = net
        .request_case(&other, &other_zoekgedrag, Some("Een woning"), true)
        .await;

    // Before: the old values are where the flows took them, and the canary search finds them.
    wait_until(
        "the Transferpunt holds the request and the name",
        WAIT,
        || async {
            files_contain(net.node(TP).path(), &old_zoekgedrag)
                && files_contain(net.node(TP).path(), &wrong.name)
        },
    )
    .await;
    wait_until("the gemeente holds the name", WAIT, || async {
        files_contain(net.node(GM).path(), &wrong.name)
    })
    .await;
    // The Transferpunt writes into the zorgaanbieder's request: what it marks missing.
    let tp = net.node(TP);
    let ticked = vec!["bemiddelingsverzoek.woonwens".to_string()];
    tp.node()
        .send_back(&tp.user, &case, &ticked, "Graag de woonwens aanvullen")
        .await
        .expect("the Transferpunt marks what is missing");
    wait_for(
        &net,
        ZA,
        &case,
        "bemiddelingsverzoek",
        "ontbrekende_gegevens",
        json!(ticked),
    )
    .await;

    // The correction, at the zorgaanbieder, whose forms these are.
    let right_name = "Goedenaam, R.".to_string();
    let new_zoekgedrag = "zoekgedrag-nieuw-1-canary".to_string();
    let za = net.node(ZA);
    // The name is wrong in every form that holds it: corrected in all of them as one rectification.
    let name_everywhere: Vec<Correction> = [D::Registratie, D::Aanmelding, D::VervolgWonen]
        .into_iter()
        .map(|kind| Correction::of(kind, [("achternaam_voorletters", json!(right_name))]))
        .collect();
    let done = za
        .node()
        .rectify(&za.user, &case, &name_everywhere)
        .await
        .expect("the name is rectified");
    assert_eq!(
        done.fields,
        vec![
            "registratie.achternaam_voorletters".to_string(),
            "aanmelding.achternaam_voorletters".to_string(),
            "vervolg_wonen.achternaam_voorletters".to_string(),
        ]
    );
    assert_eq!(
        done.told,
        vec![GM.to_string(), TP.to_string()],
        "both partners that received part of the case are told"
    );
    assert!(
        done.documents.iter().all(|d| d.ends_with("@1")),
        "{:?}",
        done.documents
    );
    za.node()
        .rectify(
            &za.user,
            &case,
            &[Correction::of(
                D::Bemiddelingsverzoek,
                [("toelichting_zoekgedrag", json!(new_zoekgedrag))],
            )],
        )
        .await
        .expect("the request is rectified");

    // A field the form does not have is named, and nothing is written.
    let refused = za
        .node()
        .rectify(
            &za.user,
            &case,
            &[Correction::of(D::Registratie, [("schoenmaat", json!(44))])],
        )
        .await
        .expect_err("an unknown field is refused");
    assert!(
        refused.to_string().contains("registratie.schoenmaat"),
        "{refused}"
    );
    // A form another partner created is not this node's to rewrite: the Transferpunt's beoordeling.
    let not_mine = za
        .node()
        .rectify(
            &za.user,
            &case,
            &[Correction::of(
                D::Beoordeling,
                [("status", json!("goedgekeurd"))],
            )],
        )
        .await
        .expect_err("another partner's form is refused");
    assert!(not_mine.to_string().contains("beoordeling"), "{not_mine}");

    // The corrected values reach the partners that held the old ones.
    wait_for(
        &net,
        TP,
        &case,
        "registratie",
        "achternaam_voorletters",
        json!(right_name),
    )
    .await;
    wait_for(
        &net,
        GM,
        &case,
        "registratie",
        "achternaam_voorletters",
        json!(right_name),
    )
    .await;
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "toelichting_zoekgedrag",
        json!(new_zoekgedrag),
    )
    .await;
    // What the Transferpunt wrote into the request is carried into the new generation, at both ends.
    for at in [TP, ZA] {
        wait_for(
            &net,
            at,
            &case,
            "bemiddelingsverzoek",
            "ontbrekende_gegevens",
            json!(ticked),
        )
        .await;
        wait_for(
            &net,
            at,
            &case,
            "bemiddelingsverzoek",
            "toelichting_transferpunt",
            json!("Graag de woonwens aanvullen"),
        )
        .await;
    }

    // Not a byte of the old values in any node's files: documents, histories, projections, write-ahead logs.
    for old in [&wrong.name, &old_zoekgedrag] {
        for at in [ZA, TP, GM] {
            wait_until(&format!("{at} no longer holds {old:?}"), WAIT, || async {
                !files_contain(net.node(at).path(), old)
            })
            .await;
        }
    }
    // What was not corrected is still there: the BSN at every node that held it, the other case whole.
    for at in [ZA, TP] {
        assert!(
            files_contain(net.node(at).path(), &wrong.bsn),
            "{at} keeps the BSN"
        );
        for value in [&other.name, &other_zoekgedrag] {
            assert!(
                files_contain(net.node(at).path(), value),
                "{at} keeps the other case's {value:?}"
            );
        }
    }
    assert_eq!(
        field(
            &net,
            TP,
            &kept,
            "bemiddelingsverzoek",
            "toelichting_zoekgedrag"
        )
        .await,
        Some(json!(other_zoekgedrag))
    );
    // Still one federation: a new edit after the rectification reaches the Transferpunt as before.
    let mut aanvulling = net.holds(ZA, &case).await["bemiddelingsverzoek"].clone();
    aanvulling["woonwens"] = json!("Twee kamers in Leeuwarden");
    net.write(ZA, &case, D::Bemiddelingsverzoek, None, &aanvulling)
        .await
        .expect("the begeleider writes on");
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Twee kamers in Leeuwarden"),
    )
    .await;

    // Against the policy itself, not the code that decided what to send: what every node holds of both cases —
    // documents and projections with their whole Automerge history, new generations included — is what the
    // policy lets it hold; and no canary the oracle planted is where it may not be.
    let report = simulator::oracle::Oracle::covenant()
        .check_federation(&net)
        .await
        .expect("the oracle reads every node");
    assert!(
        report.values > 100,
        "the oracle checked {} values",
        report.values
    );
    assert!(
        report.violations.is_empty(),
        "{}",
        report
            .violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The audit logs: the rectification with field names and no value, at the source and at each partner told.
    let at_source: Vec<_> = net
        .audit(ZA)
        .await
        .iter()
        .filter_map(|r| r.parse().ok())
        .filter(|e| e.entry.name == Operation::Rectification)
        .collect();
    assert_eq!(
        at_source.len(),
        2,
        "two rectifications recorded at the source"
    );
    assert_eq!(at_source[0].entry.fields, done.fields);
    for at in [TP, GM] {
        let told = net
            .audit(at)
            .await
            .iter()
            .filter_map(|r| r.parse().ok())
            .filter(|e| e.entry.name == Operation::Rectification)
            .count();
        assert!(told >= 1, "{at} records the rectification it took");
    }
    for at in [ZA, TP, GM] {
        for r in net.audit(at).await {
            assert!(
                !r.entry.contains(&right_name),
                "no value in {at}'s audit log"
            );
        }
    }
}
