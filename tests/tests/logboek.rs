//! Logboek Dataverwerkingen across two real nodes (issue #15 item 3): one edit at a zorgaanbieder travels to the
//! Transferpunt, and
//! - the zorgaanbieder's disclosure record and the Transferpunt's receipt record are linked: the receipt's
//!   `foreign_operation` is the disclosure's trace and span, with the zorgaanbieder's entity URI, and each side
//!   finds the other's record by those ids;
//! - every entry of both logs names (`processing_activity_id`) an activity that the node's register, served at
//!   `GET /api/v1/verwerkingsactiviteiten`, holds — and `/{id}` serves it too;
//! - the OTLP/JSON export, parsed back, has one span per entry, the receipt's link to the disclosure, the register
//!   URIs, and none of the client's values (canaries);
//! - both chains still verify.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use node::audit::{Operation, StoredEntry};
use policies::DocumentKind;
use policies::examples::{self as ex, Client};
use serde_json::Value;
use simulator::live::wait_until;
use tower::ServiceExt;
use weerthuis_tests::{TestNet, seed_for};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const WAIT: Duration = Duration::from_secs(60);

async fn entries(net: &TestNet, at: &str) -> Vec<StoredEntry> {
    net.audit(at)
        .await
        .iter()
        .map(|r| r.parse().expect("stored entries parse"))
        .collect()
}

/// `GET /api/v1{path}` on `at`'s own router, without a token: status and JSON body.
async fn get(net: &TestNet, at: &str, path: &str) -> (u16, Value) {
    let router = node::api::router(net.node(at).node().clone(), 1 << 20);
    let res = router
        .oneshot(
            Request::builder()
                .uri(format!("/api/v1{path}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disclosure_and_receipt_of_one_edit_are_linked_across_two_nodes() {
    let seed = seed_for("the_disclosure_and_receipt_of_one_edit_are_linked_across_two_nodes");
    let mut net = TestNet::start(&[ZA, TP]).await;
    net.wait_connected().await;
    let canary = Client {
        name: format!("Logboekkanarie{seed}, L."),
        bsn: ex::fictitious_bsn(seed % 10_000_000 + 500),
        reden_dakloosheid: format!("logboek-kanarie-reden-{seed}"),
    };
    // The one edit: the zorgaanbieder registers a client who consented, so the registratie flows to the
    // Transferpunt.
    let case = net
        .case_with(
            ZA,
            &[(
                DocumentKind::Registratie,
                ex::registratie(
                    &canary,
                    ZA,
                    true,
                    "maatschappelijke_opvang",
                    "GM0074",
                    "2026-01-05",
                ),
            )],
        )
        .await;
    let receipt_linked = |e: &StoredEntry| {
        e.entry.name == Operation::Receipt
            && e.entry.peer.as_deref() == Some(ZA)
            && e.entry.case_id.as_deref() == Some(case.as_str())
            && e.entry.fields.iter().any(|f| f == "registratie.bsn")
            && e.entry.foreign_operation.is_some()
    };
    wait_until(
        "the Transferpunt records a linked receipt",
        WAIT,
        || async { entries(&net, TP).await.iter().any(receipt_linked) },
    )
    .await;
    // Both federation sides stopped, so the logs hold still while they are compared with their exports.
    net.stop(ZA).await;
    net.stop(TP).await;

    // 1. Every receipt of data from the zorgaanbieder names the zorgaanbieder's disclosure record of it.
    let za_store = net.node(ZA).node().store().clone();
    let tp_store = net.node(TP).node().store().clone();
    let tp_log = entries(&net, TP).await;
    let receipts: Vec<&StoredEntry> = tp_log
        .iter()
        .filter(|e| {
            e.entry.name == Operation::Receipt
                && e.entry.peer.as_deref() == Some(ZA)
                && !e.entry.fields.is_empty()
        })
        .collect();
    assert!(!receipts.is_empty());
    for r in &receipts {
        let f = r
            .entry
            .foreign_operation
            .as_ref()
            .unwrap_or_else(|| panic!("receipt {} has no foreign_operation", r.seq));
        assert_eq!(f.entity, "weerthuis://zorgaanbieder/kwadrant");
        assert_ne!(
            (&f.trace_id, &f.operation_id),
            (&r.entry.trace_id, &r.entry.span_id),
            "the receipt is a record of its own"
        );
        let disclosure = za_store
            .audit_by_span(&f.trace_id, &f.operation_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no disclosure at {ZA} with span {}", f.operation_id))
            .parse()
            .unwrap();
        assert_eq!(disclosure.entry.name, Operation::Disclosure);
        assert_eq!(disclosure.entry.peer.as_deref(), Some(TP));
        assert_eq!(disclosure.entry.case_id, r.entry.case_id);
        assert_eq!(disclosure.entry.document, r.entry.document);
        assert_eq!(disclosure.entry.trace_id, f.trace_id);
        assert_eq!(disclosure.entry.span_id, f.operation_id);
        // And the other way: the receiver finds its receipt by the sender's ids.
        let found = tp_store
            .audit_by_foreign_operation(&disclosure.entry.trace_id, &disclosure.entry.span_id)
            .await
            .unwrap();
        assert!(
            found.iter().any(|x| x.seq == r.seq),
            "receipt {} found by the sender's ids",
            r.seq
        );
    }
    let registratie_receipt = receipts.iter().find(|e| receipt_linked(e)).unwrap();
    let link = registratie_receipt.entry.foreign_operation.clone().unwrap();

    // 2. The register: every entry of each log resolves to an activity the node serves.
    for at in [ZA, TP] {
        let (status, list) = get(&net, at, "/verwerkingsactiviteiten").await;
        assert_eq!(status, 200);
        let served: BTreeMap<String, Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["uri"].as_str().unwrap().to_string(), a.clone()))
            .collect();
        let register = node::logboek::register_of(net.node(at).node())
            .await
            .unwrap();
        let entity = node::audit::entity_uri(net.node(at).node().partner());
        for e in entries(&net, at).await {
            let a = register
                .resolve(e.entry.name, &e.entry.processing_activity_id)
                .unwrap_or_else(|| panic!("{at}: entry {} resolves to no activity", e.seq));
            assert!(
                a.uri
                    .starts_with(&format!("{entity}/verwerkingsactiviteiten/"))
            );
            assert!(served.contains_key(&a.uri), "{at}: {} is served", a.uri);
            let (status, one) = get(&net, at, &format!("/verwerkingsactiviteiten/{}", a.id)).await;
            assert_eq!(status, 200);
            assert_eq!(one["uri"], a.uri.as_str());
            assert!(
                !one["legalBasis"].as_array().unwrap().is_empty(),
                "{}: a legal basis",
                a.id
            );
        }
        let (status, problem) = get(&net, at, "/verwerkingsactiviteiten/stroom.bestaat-niet").await;
        assert_eq!((status, problem["status"].as_u64()), (404, Some(404)));
    }
    // The disclosure names the policy's flow, with the policy's purpose and basis.
    let flow = node::logboek::register_of(net.node(ZA).node())
        .await
        .unwrap()
        .get("stroom.formulieren-naar-het-transferpunt")
        .cloned()
        .expect("the flow is in the zorgaanbieder's register");
    assert!(flow.active);
    assert_eq!(
        flow.uri,
        "weerthuis://zorgaanbieder/kwadrant/verwerkingsactiviteiten/stroom.formulieren-naar-het-transferpunt"
    );
    assert_eq!(flow.legal_basis, ["Bijlage 3; Afspraak 1f, 3b, 3c en 3d"]);

    // 3. The OTLP/JSON export, parsed back.
    let mut exported = BTreeMap::new();
    for at in [ZA, TP] {
        let request = node::logboek::export_otlp(net.node(at).node(), None, None)
            .await
            .unwrap();
        let text = serde_json::to_string(&request).unwrap();
        for needle in [
            canary.name.as_str(),
            canary.bsn.as_str(),
            canary.reden_dakloosheid.as_str(),
            case.as_str(),
        ] {
            assert!(!text.contains(needle), "{at}: the export holds {needle}");
        }
        let json: Value = serde_json::from_str(&text).unwrap();
        let rs = &json["resourceSpans"][0];
        let spans = rs["scopeSpans"][0]["spans"].as_array().unwrap().clone();
        let log = entries(&net, at).await;
        assert_eq!(spans.len(), log.len(), "{at}: one span per entry");
        for (span, e) in spans.iter().zip(&log) {
            assert_eq!(span["traceId"], e.entry.trace_id.as_str());
            assert_eq!(span["spanId"], e.entry.span_id.as_str());
            assert_eq!(span["parentSpanId"], "");
            let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
            let end: u128 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
            assert!(start <= end && start > 1_700_000_000_000_000_000);
            let attrs: BTreeMap<&str, &Value> = span["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|kv| (kv["key"].as_str().unwrap(), &kv["value"]))
                .collect();
            assert!(
                attrs["dpl.core.processing_activity_id"]["stringValue"]
                    .as_str()
                    .unwrap()
                    .contains("/verwerkingsactiviteiten/")
            );
            assert_eq!(
                attrs["weerthuis.audit.seq"]["intValue"],
                e.seq.to_string().as_str()
            );
        }
        exported.insert(at, (rs.clone(), spans));
    }
    let (_, tp_spans) = &exported[TP];
    let linked: Vec<&Value> = tp_spans
        .iter()
        .filter(|s| s["spanId"] == registratie_receipt.entry.span_id.as_str())
        .collect();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0]["kind"], 5, "a receipt is a consumer span");
    assert_eq!(linked[0]["links"][0]["traceId"], link.trace_id.as_str());
    assert_eq!(linked[0]["links"][0]["spanId"], link.operation_id.as_str());
    assert_eq!(
        linked[0]["links"][0]["attributes"][0]["value"]["stringValue"],
        "weerthuis://zorgaanbieder/kwadrant"
    );
    let (za_resource, za_spans) = &exported[ZA];
    let disclosure_span = za_spans
        .iter()
        .find(|s| s["spanId"] == link.operation_id.as_str())
        .expect("the disclosure is exported too");
    assert_eq!(
        disclosure_span["kind"], 4,
        "a disclosure is a producer span"
    );
    assert_eq!(disclosure_span["traceId"], link.trace_id.as_str());
    assert!(
        za_resource["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kv| kv["value"]["stringValue"] == "weerthuis://zorgaanbieder/kwadrant")
    );

    // 4. Both chains still verify, trace columns and all.
    for at in [ZA, TP] {
        net.node(at).node().store().verify_audit().await.unwrap();
    }
}
