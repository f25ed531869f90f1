//! Indienen, terugsturen, toewijzing and signalen across real nodes over QUIC (issue #12): a draft
//! bemiddelingsverzoek stays at the zorgaanbieder — not a byte of it in the Transferpunt's files — until it is
//! submitted complete; sent back, the begeleider's node shows the ticked items; an assignment is one atomic step
//! that a concurrent second call cannot repeat, and a refusal moves it to the next corporatie; each partner's
//! signalen name its own deadlines.

use std::time::Duration;

use node::service::ServiceError;
use node::store::CaseId;
use policies::DocumentKind as D;
use policies::examples::{self as ex, Client};
use serde_json::{Value, json};
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::{TestNet, field, seed_for, wait_for};

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";

const WAIT: Duration = Duration::from_secs(40);

async fn start() -> TestNet {
    let net = TestNet::start(&[TP, ZA, GM, ELKIEN, ACCOLADE]).await;
    net.wait_connected().await;
    net
}

/// A case at the zorgaanbieder up to vervolg wonen, and a draft request with `zoekgedrag` (a canary) and no
/// woonwens.
async fn case_with_draft(net: &TestNet, client: &Client, zoekgedrag: &str) -> CaseId {
    net.request_case(client, zoekgedrag, None, false).await
}

/// Set `fields` in the request as the zorgaanbieder holds it, and write it.
async fn edit_request(net: &TestNet, case: &CaseId, fields: Value) {
    let mut held = net
        .holds(ZA, case)
        .await
        .remove("bemiddelingsverzoek")
        .expect("the request");
    for (k, v) in fields.as_object().into_iter().flatten() {
        held[k] = v.clone();
    }
    net.write(ZA, case, D::Bemiddelingsverzoek, None, &held)
        .await
        .expect("the begeleider edits the request");
}

async fn submit(net: &TestNet, case: &CaseId) -> Result<(), ServiceError> {
    let za = net.node(ZA);
    za.node().submit_request(&za.user, case).await.map(|_| ())
}

async fn soorten(net: &TestNet, at: &str) -> Vec<(String, &'static str)> {
    net.node(at)
        .node()
        .signalen()
        .await
        .expect("signalen")
        .into_iter()
        .map(|s| (s.casus, s.soort))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_draft_stays_at_its_writer_until_submitted_complete_and_a_send_back_reaches_the_begeleider()
 {
    let seed = seed_for("indienen");
    let net = start().await;
    let canary = format!("kanarie-concept-{seed}");
    let client = Client::new(&format!("Kanarie{seed}, K."), seed % 1_000_000);
    let case = case_with_draft(&net, &client, &canary).await;

    // The Transferpunt gets the case's forms, and a change written after the draft — but not the draft.
    let mut aanmelding = ex::aanmelding(&client, "2025-06-10");
    aanmelding["leefsituatie"] = json!("samenwonend");
    net.write(ZA, &case, D::Aanmelding, None, &aanmelding)
        .await
        .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "aanmelding",
        "leefsituatie",
        json!("samenwonend"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !net.holds(TP, &case)
            .await
            .contains_key("bemiddelingsverzoek")
    );
    assert!(
        !files_contain(net.node(TP).path(), &canary),
        "a byte of the draft reached the Transferpunt's files"
    );
    assert!(files_contain(net.node(ZA).path(), &canary));

    // Incomplete: refused, naming what is missing, nothing stored.
    match submit(&net, &case).await {
        Err(ServiceError::Incomplete(missing)) => {
            let named: Vec<&str> = missing.iter().map(|m| m.field.as_str()).collect();
            assert_eq!(named, ["woonwens"]);
        }
        other => panic!("an incomplete request is refused: {other:?}"),
    }
    let err = submit(&net, &case).await.unwrap_err().to_string();
    assert!(
        err.contains("Woonwens") && err.contains("kan nog niet worden ingediend"),
        "{err}"
    );
    assert_eq!(
        field(&net, ZA, &case, "bemiddelingsverzoek", "datum_ingediend").await,
        None
    );

    // Complete and submitted: at the Transferpunt.
    edit_request(&net, &case, json!({"woonwens": "Een woning"})).await;
    submit(&net, &case)
        .await
        .expect("a complete request is submitted");
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "toelichting_zoekgedrag",
        json!(canary),
    )
    .await;
    assert_eq!(
        field(
            &net,
            TP,
            &case,
            "bemiddelingsverzoek",
            "aantal_keer_ingediend"
        )
        .await,
        Some(json!(1))
    );
    assert!(files_contain(net.node(TP).path(), &canary));
    assert!(matches!(
        submit(&net, &case).await,
        Err(ServiceError::Conflict(_))
    ));

    // Sent back: the begeleider's node shows the ticked items, the explanation and the signal.
    let tp = net.node(TP);
    let ticked = vec![
        "bemiddelingsverzoek.woonwens".to_string(),
        "aanmelding.hoofdinkomen".to_string(),
    ];
    tp.node()
        .send_back(
            &tp.user,
            &case,
            &ticked,
            "Graag huurprijs, grootte en ligging",
        )
        .await
        .expect("the Transferpunt sends the request back");
    wait_for(
        &net,
        ZA,
        &case,
        "bemiddelingsverzoek",
        "ontbrekende_gegevens",
        json!(ticked),
    )
    .await;
    wait_for(
        &net,
        ZA,
        &case,
        "beoordeling",
        "status",
        json!("teruggestuurd_onvolledig"),
    )
    .await;
    assert_eq!(
        field(
            &net,
            ZA,
            &case,
            "bemiddelingsverzoek",
            "toelichting_transferpunt"
        )
        .await,
        Some(json!("Graag huurprijs, grootte en ligging"))
    );
    wait_for(
        &net,
        ZA,
        &case,
        "beoordeling",
        "aantal_keer_teruggestuurd",
        json!(1),
    )
    .await;
    assert!(
        soorten(&net, ZA)
            .await
            .contains(&(case.to_string(), "verzoek_aanvullen"))
    );
    let again = tp.node().send_back(&tp.user, &case, &ticked, "").await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    // Only the Transferpunt sends back; a malformed item is refused.
    let za = net.node(ZA);
    assert!(matches!(
        za.node().send_back(&za.user, &case, &ticked, "").await,
        Err(ServiceError::NotAllowed(_))
    ));

    // Resubmitted: counted, at the Transferpunt, and the signal is gone.
    edit_request(
        &net,
        &case,
        json!({"woonwens": "Eenpersoonswoning in Leeuwarden, tot 650 euro"}),
    )
    .await;
    submit(&net, &case).await.expect("resubmitted");
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "aantal_keer_ingediend",
        json!(2),
    )
    .await;
    assert!(
        !soorten(&net, ZA)
            .await
            .contains(&(case.to_string(), "verzoek_aanvullen"))
    );
    // The ticked items stay as the record of what was asked; the Transferpunt's next send-back replaces them.
    assert_eq!(
        field(
            &net,
            ZA,
            &case,
            "bemiddelingsverzoek",
            "ontbrekende_gegevens"
        )
        .await,
        Some(json!(ticked))
    );
}

/// A submitted, approved case with the gemeente's akkoord, ready for assignment.
async fn ready_case(net: &TestNet, n: u64) -> CaseId {
    let client = Client::numbered(1000 + n);
    let case = net
        .case_with(
            ZA,
            &[
                (
                    D::Registratie,
                    ex::registratie(
                        &client,
                        ZA,
                        true,
                        "maatschappelijke_opvang",
                        "GM0080",
                        "2025-06-01",
                    ),
                ),
                (D::Aanmelding, ex::aanmelding(&client, "2025-06-10")),
                (
                    D::Bemiddelingsverzoek,
                    ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning")),
                ),
            ],
        )
        .await;
    submit(net, &case).await.expect("submitted");
    wait_for(
        net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Een woning"),
    )
    .await;
    let tp = net.node(TP);
    let not_ready = node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case).await;
    assert!(
        matches!(not_ready, Err(ServiceError::Conflict(_))),
        "{not_ready:?}"
    );
    net.write(
        TP,
        &case,
        D::Beoordeling,
        None,
        &ex::beoordeling_goedgekeurd("2025-10-02", "2025-10-02", "GM0080"),
    )
    .await
    .unwrap();
    wait_for(
        net,
        GM,
        &case,
        "beoordeling",
        "gekozen_uitstroomgemeente",
        json!("GM0080"),
    )
    .await;
    assert!(
        soorten(net, GM)
            .await
            .contains(&(case.to_string(), "akkoord_uitstroomgemeente"))
    );
    net.write(
        GM,
        &case,
        D::Gemeente,
        None,
        &ex::gemeente_akkoord("2025-10-03", "Gebiedsteam Oost", "2025-10-04"),
    )
    .await
    .unwrap();
    wait_for(
        net,
        TP,
        &case,
        "gemeente/gemeente:GM0080",
        "akkoord_uitstroom",
        json!("akkoord"),
    )
    .await;
    assert!(
        !soorten(net, GM)
            .await
            .contains(&(case.to_string(), "akkoord_uitstroomgemeente"))
    );
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_assignment_is_one_atomic_step_and_a_refusal_moves_it_on() {
    let net = start().await;
    let case = ready_case(&net, 1).await;
    let tp = net.node(TP);

    // Two at once: exactly one assigns.
    let (a, b) = tokio::join!(
        node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case),
        node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case),
    );
    let (chosen, refused) = match (a, b) {
        (Ok(c), Err(e)) | (Err(e), Ok(c)) => (c, e),
        other => panic!("exactly one of two concurrent assignments succeeds: {other:?}"),
    };
    assert!(matches!(refused, ServiceError::Conflict(_)), "{refused}");
    let chosen = chosen.to_string();
    let other = if chosen == ELKIEN { ACCOLADE } else { ELKIEN };
    let berichten: Vec<String> = net
        .documents(TP, &case)
        .await
        .into_keys()
        .filter(|s| s.starts_with("aanmeldbericht/"))
        .collect();
    assert_eq!(berichten, [format!("aanmeldbericht/{chosen}")]);
    let section = format!("aanmeldbericht/{chosen}");
    wait_for(&net, &chosen, &case, &section, "corporatie", json!(chosen)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        net.holds(other, &case).await.is_empty(),
        "{other} holds nothing of the case"
    );

    // The corporatie's signalen name its answer deadline: five werkdagen after today.
    let today = net.node(TP).node().clock_now().date();
    let deadline = policies::werkdagen::Werkdagen::new().add_werkdagen(today, 5);
    let signalen = net.node(&chosen).node().signalen().await.unwrap();
    let answer = signalen
        .iter()
        .find(|s| s.casus == case.to_string() && s.soort == "reactie_corporatie")
        .unwrap_or_else(|| panic!("the answer deadline at {chosen}: {signalen:?}"));
    assert_eq!(answer.termijn, deadline);
    assert!(!answer.verlopen);
    assert!(net.node(other).node().signalen().await.unwrap().is_empty());

    // Not refused: a third call is refused too.
    assert!(matches!(
        node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case).await,
        Err(ServiceError::Conflict(_))
    ));

    // The corporatie refuses; the next call picks the other one.
    net.write(
        &chosen,
        &case,
        D::Reactie,
        None,
        &ex::reactie_geweigerd("2025-10-06", "Huurachterstand"),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        &format!("reactie/{chosen}"),
        "besluit",
        json!("geweigerd"),
    )
    .await;
    let next = node::bemiddeling::assign_corporatie(tp.node(), &tp.user, &case)
        .await
        .expect("the next corporatie");
    assert_eq!(next.to_string(), other);
    wait_for(
        &net,
        other,
        &case,
        &format!("aanmeldbericht/{other}"),
        "corporatie",
        json!(other),
    )
    .await;
    wait_until(
        "the refusing corporatie loses the aanmeldbericht",
        WAIT,
        || async { !net.holds(&chosen, &case).await.contains_key(&section) },
    )
    .await;
}

/// `method path` with `body` to `at`'s local API (its router, in process), as that node's user; status and JSON.
async fn call(
    net: &TestNet,
    at: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    use tower::ServiceExt;
    let n = net.node(at);
    let router = node::api::router(n.node().clone(), 1 << 20);
    let req = axum::http::Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header("Authorization", format!("Bearer {}", n.token))
        .header("Content-Type", "application/json")
        .body(match body {
            Some(b) => axum::body::Body::from(serde_json::to_vec(&b).unwrap()),
            None => axum::body::Body::empty(),
        })
        .unwrap();
    let res = router.oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_answers_the_steps_with_their_status_codes() {
    let net = start().await;
    let client = Client::numbered(77);
    let case = case_with_draft(&net, &client, "Reageert wekelijks").await;
    // Incomplete: 409 with the missing field named.
    let (status, problem) = call(
        &net,
        ZA,
        "POST",
        &format!("/casussen/{case}/indienen"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["invalidParams"][0]["name"],
        "bemiddelingsverzoek.woonwens"
    );
    // Not the Transferpunt's step: 403; an unknown case: 404.
    let (status, _) = call(
        &net,
        TP,
        "POST",
        &format!("/casussen/{case}/indienen"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &net,
        ZA,
        "POST",
        &format!("/casussen/{}/indienen", CaseId::random()),
        None,
    )
    .await;
    assert_eq!(status, 404);
    edit_request(&net, &case, json!({"woonwens": "Een woning"})).await;
    let (status, view) = call(
        &net,
        ZA,
        "POST",
        &format!("/casussen/{case}/indienen"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["velden"]["aantal_keer_ingediend"], 1);
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Een woning"),
    )
    .await;
    // Terugsturen: an unknown field or a malformed body is 400; a good one 200.
    let path = format!("/casussen/{case}/terugsturen");
    let (status, _) = call(
        &net,
        TP,
        "POST",
        &path,
        Some(json!({"ontbrekende_gegevens": ["x.y"]})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(&net, TP, "POST", &path, Some(json!({"items": []}))).await;
    assert_eq!(status, 400);
    let body = json!({"ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "toelichting": "Welke huurprijs?"});
    let (status, done) = call(&net, TP, "POST", &path, Some(body.clone())).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["beoordeling"]["velden"]["status"],
        "teruggestuurd_onvolledig"
    );
    let (status, _) = call(&net, TP, "POST", &path, Some(body)).await;
    assert_eq!(status, 409, "sent back twice");
    // Toewijzing before an akkoord: 409; not the zorgaanbieder's step: 403.
    let (status, _) = call(
        &net,
        TP,
        "POST",
        &format!("/casussen/{case}/toewijzing"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(
        &net,
        ZA,
        "POST",
        &format!("/casussen/{case}/toewijzing"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    // Signalen: the begeleider's request to complete, once the send-back has arrived.
    wait_until("the send-back reaches the begeleider", WAIT, || async {
        let (_, signalen) = call(&net, ZA, "GET", "/signalen", None).await;
        signalen
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["casus"] == json!(case.to_string()) && s["soort"] == "verzoek_aanvullen")
    })
    .await;
}
