//! A whole bemiddeling driven through the local API alone, as the partners' own systems would (a zorgaanbieder's
//! client file, the Transferpunt's, a gemeente's Wmo system, the corporaties' woonruimteverdeling), over five real
//! nodes federating over QUIC: create the case, registratie, aanmelding, vervolg wonen, the bemiddelingsverzoek,
//! indienen (refused while incomplete), terugsturen, resubmit, the beoordeling with the uitstroomgemeente, the
//! gemeente's akkoord, toewijzing (om en om), the corporatie's reactie with its offers and lease, and the
//! plaatsing — each step a POST or PUT with an `Idempotency-Key`, and the retried steps shown not to double.
//! Every answer is checked against the OpenAPI description (`node/tests/contract`). The API is called in process
//! on each node's own router (tower's `oneshot`): the whole HTTP stack of the node but the socket, which
//! `node/tests/api_contract.rs` covers.

#[path = "../../node/tests/contract/mod.rs"]
mod contract;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use contract::{Answer, Contract};
use policies::examples::{self as ex, Client};
use serde_json::{Value, json};
use simulator::live::wait_until;
use tower::ServiceExt;
use weerthuis_tests::TestNet;

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";

const WAIT: Duration = Duration::from_secs(40);

struct Api {
    net: TestNet,
    contract: Contract,
}

impl Api {
    /// `method path` at `at`'s API as its system's token, checked against the description (`template`).
    async fn call(
        &self,
        at: &str,
        method: &'static str,
        template: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Answer {
        let n = self.net.node(at);
        let router = node::api::router(n.node().clone(), 1 << 20);
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header("Authorization", format!("Bearer {}", n.token))
            .header("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let req = req
            .body(match body {
                Some(b) => Body::from(serde_json::to_vec(b).unwrap()),
                None => Body::empty(),
            })
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap()
            .to_vec();
        let answer = Answer {
            status,
            headers,
            body,
        };
        if let Err(e) = self.contract.check(method, template, &answer) {
            panic!("{at}: {e}\nbody: {}", String::from_utf8_lossy(&answer.body));
        }
        answer
    }

    /// A step that must succeed with `want`.
    async fn step(
        &self,
        at: &str,
        (method, template): (&'static str, &str),
        path: &str,
        body: Option<&Value>,
        key: &str,
        want: u16,
    ) -> Answer {
        let a = self.call(at, method, template, path, body, Some(key)).await;
        assert_eq!(
            a.status,
            want,
            "{at} {method} {path}: {}",
            String::from_utf8_lossy(&a.body)
        );
        a
    }

    /// PUT a whole form (`document` or `document/instantie`).
    async fn put(&self, at: &str, case: &str, document: &str, form: &Value, key: &str) -> Answer {
        let template = if document.contains('/') {
            "/casussen/{id}/documenten/{document}/{instantie}"
        } else {
            "/casussen/{id}/documenten/{document}"
        };
        let path = format!("/casussen/{case}/documenten/{document}");
        self.step(at, ("PUT", template), &path, Some(form), key, 200)
            .await
    }

    /// The form's fields as `at` holds it, if it does.
    async fn velden(&self, at: &str, case: &str, document: &str) -> Option<Value> {
        let template = if document.contains('/') {
            "/casussen/{id}/documenten/{document}/{instantie}"
        } else {
            "/casussen/{id}/documenten/{document}"
        };
        let a = self
            .call(
                at,
                "GET",
                template,
                &format!("/casussen/{case}/documenten/{document}"),
                None,
                None,
            )
            .await;
        (a.status == 200).then(|| a.json()["velden"].clone())
    }

    /// Wait until `at` holds `document.field == want`, asking its API.
    async fn wait_for(&self, at: &str, case: &str, document: &str, field: &str, want: Value) {
        wait_until(
            &format!("{at} holds {document}.{field} = {want}"),
            WAIT,
            || async {
                self.velden(at, case, document)
                    .await
                    .is_some_and(|v| v[field] == want)
            },
        )
        .await;
    }

    /// The kinds of this partner's open signalen for `case`.
    async fn signalen(&self, at: &str, case: &str) -> Vec<String> {
        let a = self
            .call(at, "GET", "/signalen", "/signalen", None, None)
            .await;
        assert_eq!(a.status, 200);
        a.json()
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["casus"] == case)
            .map(|s| s["soort"].as_str().unwrap().to_string())
            .collect()
    }

    /// How many writes of `document` `at`'s history of the case shows (its audit records, without values).
    async fn writes(&self, at: &str, case: &str, document: &str) -> usize {
        let a = self
            .call(
                at,
                "GET",
                "/casussen/{id}/historie",
                &format!("/casussen/{case}/historie"),
                None,
                None,
            )
            .await;
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["operation"] == "write"
                    && e["document"]
                        .as_str()
                        .is_some_and(|d| d.starts_with(document))
            })
            .count()
    }
}

fn replayed(a: &Answer) -> bool {
    a.header("idempotent-replayed") == Some("true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_bemiddeling_through_the_api_alone_with_retries_that_do_not_double() {
    let net = TestNet::start(&[TP, ZA, GM, ELKIEN, ACCOLADE]).await;
    net.wait_connected().await;
    let api = Api {
        net,
        contract: Contract::new(),
    };
    let client = Client::new("Api, A.", 15);
    // The steps after the Transferpunt's receipt (dated today by the node) are dated today.
    let today = {
        let d = api.net.node(TP).node().clock_now().date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    };
    let casussen = |at: &'static str| {
        let api = &api;
        async move {
            api.call(at, "GET", "/casussen", "/casussen", None, None)
                .await
                .json()
                .as_array()
                .map(Vec::len)
                .unwrap()
        }
    };

    // The zorgaanbieder's system creates the case; its retry (a lost answer) creates nothing more.
    let created = api
        .step(
            ZA,
            ("POST", "/casussen"),
            "/casussen",
            None,
            "za-nieuw-1",
            201,
        )
        .await;
    let retry = api
        .step(
            ZA,
            ("POST", "/casussen"),
            "/casussen",
            None,
            "za-nieuw-1",
            201,
        )
        .await;
    assert!(replayed(&retry) && !replayed(&created));
    assert_eq!(created.body, retry.body);
    assert_eq!(casussen(ZA).await, 1);
    let case = created.json()["id"].as_str().unwrap().to_string();
    let c = case.as_str();

    // Intake: registratie (with consent), aanmelding, vervolg wonen, and a draft request without a woonwens.
    let registratie = ex::registratie(
        &client,
        ZA,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-06-01",
    );
    api.put(ZA, c, "registratie", &registratie, "za-reg").await;
    api.put(
        ZA,
        c,
        "aanmelding",
        &ex::aanmelding(&client, "2025-06-10"),
        "za-aanm",
    )
    .await;
    api.put(
        ZA,
        c,
        "vervolg_wonen",
        &ex::vervolg_wonen(&client, "GM0080", "2025-09-01"),
        "za-vw",
    )
    .await;
    let draft = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", None);
    api.put(ZA, c, "bemiddelingsverzoek", &draft, "za-bv-1")
        .await;

    // Indienen while incomplete: 409 naming the woonwens; then complete, submitted, and retried.
    let indienen = "/casussen/{id}/indienen";
    let path = format!("/casussen/{c}/indienen");
    let refused = api
        .step(ZA, ("POST", indienen), &path, None, "za-indienen-1", 409)
        .await;
    assert_eq!(
        refused.json()["invalidParams"][0]["name"],
        "bemiddelingsverzoek.woonwens"
    );
    let mut verzoek = draft.clone();
    verzoek["woonwens"] = json!("Een woning");
    api.put(ZA, c, "bemiddelingsverzoek", &verzoek, "za-bv-2")
        .await;
    // The refusal kept nothing: the same key now submits.
    let submitted = api
        .step(ZA, ("POST", indienen), &path, None, "za-indienen-1", 200)
        .await;
    let again = api
        .step(ZA, ("POST", indienen), &path, None, "za-indienen-1", 200)
        .await;
    assert!(replayed(&again));
    assert_eq!(submitted.json()["velden"]["aantal_keer_ingediend"], 1);
    assert_eq!(again.json()["velden"]["aantal_keer_ingediend"], 1);
    api.wait_for(
        TP,
        c,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Een woning"),
    )
    .await;
    assert_eq!(
        api.velden(ZA, c, "bemiddelingsverzoek").await.unwrap()["aantal_keer_ingediend"],
        1,
        "submitted once"
    );

    // The Transferpunt sends it back; its retry does not count a second send-back.
    let terug = json!({"ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"],
        "toelichting": "Graag huurprijs, grootte en ligging"});
    let ts = "/casussen/{id}/terugsturen";
    let path = format!("/casussen/{c}/terugsturen");
    let first = api
        .step(TP, ("POST", ts), &path, Some(&terug), "tp-terug-1", 200)
        .await;
    let retry = api
        .step(TP, ("POST", ts), &path, Some(&terug), "tp-terug-1", 200)
        .await;
    assert!(replayed(&retry));
    assert_eq!(first.body, retry.body);
    assert_eq!(
        api.velden(TP, c, "beoordeling").await.unwrap()["aantal_keer_teruggestuurd"],
        1
    );
    // The same key with another body is refused.
    let other = json!({"ontbrekende_gegevens": ["aanmelding.hoofdinkomen"]});
    let mismatch = api
        .call(TP, "POST", ts, &path, Some(&other), Some("tp-terug-1"))
        .await;
    assert_eq!(mismatch.status, 422);

    // The begeleider's system sees the ticked item and the signal, completes the request and resubmits.
    api.wait_for(
        ZA,
        c,
        "bemiddelingsverzoek",
        "ontbrekende_gegevens",
        json!(["bemiddelingsverzoek.woonwens"]),
    )
    .await;
    api.wait_for(
        ZA,
        c,
        "beoordeling",
        "status",
        json!("teruggestuurd_onvolledig"),
    )
    .await;
    assert!(
        api.signalen(ZA, c)
            .await
            .contains(&"verzoek_aanvullen".to_string())
    );
    let woonwens = "Eenpersoonswoning in Leeuwarden, tot 650 euro";
    let mut held = api.velden(ZA, c, "bemiddelingsverzoek").await.unwrap();
    held["woonwens"] = json!(woonwens);
    api.put(ZA, c, "bemiddelingsverzoek", &held, "za-bv-3")
        .await;
    let path = format!("/casussen/{c}/indienen");
    let resubmitted = api
        .step(ZA, ("POST", indienen), &path, None, "za-indienen-2", 200)
        .await;
    assert_eq!(resubmitted.json()["velden"]["aantal_keer_ingediend"], 2);
    api.wait_for(
        TP,
        c,
        "bemiddelingsverzoek",
        "aantal_keer_ingediend",
        json!(2),
    )
    .await;

    // The beoordeling: approved, with the uitstroomgemeente (the send-back's fields kept).
    let mut beoordeling = api.velden(TP, c, "beoordeling").await.unwrap();
    beoordeling["status"] = json!("goedgekeurd");
    beoordeling["datum_volledig"] = json!(today);
    beoordeling["gekozen_uitstroomgemeente"] = json!("GM0080");
    api.put(TP, c, "beoordeling", &beoordeling, "tp-beoordeling")
        .await;

    // The gemeente's system sees the request for its akkoord, and gives it.
    api.wait_for(
        GM,
        c,
        "beoordeling",
        "gekozen_uitstroomgemeente",
        json!("GM0080"),
    )
    .await;
    assert!(
        api.signalen(GM, c)
            .await
            .contains(&"akkoord_uitstroomgemeente".to_string())
    );
    api.put(
        GM,
        c,
        "gemeente",
        &ex::gemeente_akkoord(&today, "Gebiedsteam Leeuwarden-Oost", &today),
        "gm-akkoord",
    )
    .await;
    api.wait_for(
        TP,
        c,
        "gemeente/gemeente:GM0080",
        "akkoord_uitstroom",
        json!("akkoord"),
    )
    .await;

    // Toewijzing, retried: the same corporatie answered twice, one aanmeldbericht.
    let tw = "/casussen/{id}/toewijzing";
    let path = format!("/casussen/{c}/toewijzing");
    let assigned = api
        .step(TP, ("POST", tw), &path, None, "tp-toewijzing-1", 201)
        .await;
    let retry = api
        .step(TP, ("POST", tw), &path, None, "tp-toewijzing-1", 201)
        .await;
    assert!(replayed(&retry));
    assert_eq!(assigned.json(), retry.json());
    let chosen = assigned.json()["corporatie"].as_str().unwrap().to_string();
    let other_corporatie = if chosen == ELKIEN { ACCOLADE } else { ELKIEN };
    let detail = api
        .call(
            TP,
            "GET",
            "/casussen/{id}",
            &format!("/casussen/{c}"),
            None,
            None,
        )
        .await
        .json();
    let berichten: Vec<&str> = detail["documenten"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|d| d.starts_with("aanmeldbericht"))
        .collect();
    assert_eq!(berichten.len(), 1, "one aanmeldbericht: {berichten:?}");
    // A new step (a new key) is refused: the corporatie has not refused.
    assert_eq!(
        api.call(TP, "POST", tw, &path, None, Some("tp-toewijzing-2"))
            .await
            .status,
        409
    );

    // The corporatie's system gets the aanmeldbericht and its deadline, and refuses (a huurachterstand); the other
    // corporatie has held nothing of the case.
    let bericht = format!("aanmeldbericht/{chosen}");
    wait_until(
        "the aanmeldbericht reaches the corporatie",
        WAIT,
        || async { api.velden(&chosen, c, &bericht).await.is_some() },
    )
    .await;
    assert!(
        api.signalen(&chosen, c)
            .await
            .contains(&"reactie_corporatie".to_string())
    );
    assert_eq!(api.casussen_at(other_corporatie).await, 0);
    api.put(
        &chosen,
        c,
        "reactie",
        &ex::reactie_geweigerd(&today, "Huurachterstand"),
        "corp-weigering",
    )
    .await;
    api.wait_for(
        TP,
        c,
        &format!("reactie/{chosen}"),
        "besluit",
        json!("geweigerd"),
    )
    .await;

    // Om en om: the next toewijzing goes to the other corporatie.
    let next = api
        .step(TP, ("POST", tw), &path, None, "tp-toewijzing-3", 201)
        .await;
    assert_eq!(next.json()["corporatie"], other_corporatie);
    let bericht = format!("aanmeldbericht/{other_corporatie}");
    wait_until(
        "the aanmeldbericht reaches the other corporatie",
        WAIT,
        || async { api.velden(other_corporatie, c, &bericht).await.is_some() },
    )
    .await;

    // It accepts: two offers, the second taken, a 3-partijen lease. Its retry writes nothing more.
    let offer1 = ex::aanbod(&today, "Tuinstraat 5, Leeuwarden", false);
    let offer2 = ex::aanbod(&today, "Kerkstraat 9, Leeuwarden", true);
    let reactie = ex::reactie_gehuurd(&today, &[offer1, offer2], "drie_partijen", &today);
    let first = api
        .put(other_corporatie, c, "reactie", &reactie, "corp-reactie")
        .await;
    let logged = api.writes(other_corporatie, c, "reactie").await;
    assert!(logged >= 1);
    let retry = api
        .put(other_corporatie, c, "reactie", &reactie, "corp-reactie")
        .await;
    assert!(replayed(&retry));
    assert_eq!(first.body, retry.body);
    assert_eq!(
        api.writes(other_corporatie, c, "reactie").await,
        logged,
        "the retry wrote nothing"
    );
    let lease = format!("reactie/{other_corporatie}");
    api.wait_for(TP, c, &lease, "soort_huurcontract", json!("drie_partijen"))
        .await;
    api.wait_for(ZA, c, &lease, "soort_huurcontract", json!("drie_partijen"))
        .await;

    // The plaatsing, reported by the zorgaanbieder, reaches the Transferpunt.
    api.put(
        ZA,
        c,
        "plaatsing",
        &ex::plaatsing(
            &client,
            &today,
            "Kerkstraat 9, Leeuwarden",
            "GM0080",
            "drie_partijen",
        ),
        "za-plaatsing",
    )
    .await;
    api.wait_for(
        TP,
        c,
        "plaatsing",
        "mutatie_adres",
        json!("Kerkstraat 9, Leeuwarden"),
    )
    .await;
    let fase = api
        .call(
            ZA,
            "GET",
            "/casussen/{id}",
            &format!("/casussen/{c}"),
            None,
            None,
        )
        .await
        .json()["fase"]
        .clone();
    assert_eq!(fase, "plaatsing");
    assert_eq!(casussen(ZA).await, 1, "one case after every retry");
}

impl Api {
    /// How many cases `at` holds.
    async fn casussen_at(&self, at: &str) -> usize {
        self.call(at, "GET", "/casussen", "/casussen", None, None)
            .await
            .json()
            .as_array()
            .map(Vec::len)
            .unwrap()
    }
}

/// Bijlage 2: a corporatie's huurdermelding through its API — refused with each field named, refused at a partner
/// that is not a corporatie, accepted and answered by the Transferpunt; every answer checked against the
/// description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huurdermelding_through_the_api_is_checked_sent_and_answered() {
    let net = TestNet::start(&[TP, ZA, ELKIEN]).await;
    net.wait_connected().await;
    let api = Api {
        net,
        contract: Contract::new(),
    };
    let today = api.net.node(ELKIEN).node().clock_now().date().to_string();
    let melding = |bsn: &str| {
        json!({
            "bsn": bsn, "datum_melding": today, "soort": "signaal", "ave_niveau": 1,
            "omschrijving": "Zorgen om een huurder", "woongemeente": "GM0080",
            "contactpersoon": node::harness::vaste_contactpersoon(ELKIEN, 2), "telefoonnummer": "0581234567"
        })
    };
    let path = ("POST", "/huurdermeldingen");
    let refused = api
        .step(
            ELKIEN,
            path,
            "/huurdermeldingen",
            Some(&melding("123456789")),
            "h-1",
            400,
        )
        .await;
    let detail = refused.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("bsn") && detail.contains("elfproef"),
        "{detail}"
    );
    let not_a_corporatie = api
        .step(
            ZA,
            path,
            "/huurdermeldingen",
            Some(&melding(&ex::fictitious_bsn(680_001))),
            "h-2",
            403,
        )
        .await;
    assert!(!not_a_corporatie.body.is_empty());
    let made = api
        .step(
            ELKIEN,
            path,
            "/huurdermeldingen",
            Some(&melding(&ex::fictitious_bsn(680_001))),
            "h-3",
            201,
        )
        .await
        .json();
    assert_eq!(made["aan"], json!(TP));
    wait_until("the Transferpunt answers", WAIT, || async {
        let list = api
            .call(
                ELKIEN,
                "GET",
                "/huurdermeldingen",
                "/huurdermeldingen",
                None,
                None,
            )
            .await
            .json();
        list[0]["id"] == made["id"]
            && list[0]["antwoord"].as_str() == Some(node::huurdermelding::ANTWOORD)
    })
    .await;
}
