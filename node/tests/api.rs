//! The local API end to end through the real router: every endpoint with good input, and every kind of bad input
//! the issue names — each answered with problem+json naming the field and the rule, and nothing stored.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use node::service::Node;
use serde_json::{Value, json};
use time::macros::datetime;
use tower::ServiceExt;

const BODY_LIMIT: usize = 64 * 1024;

struct Api {
    router: Router,
    node: Arc<Node>,
    token: String,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    node::app::init(dir.path(), "zorgaanbieder:kwadrant".parse().unwrap(), None)
        .await
        .unwrap();
    let clock = Arc::new(|| datetime!(2026-03-02 10:00 UTC));
    let (_, node) = node::app::open_with_clock(dir.path(), clock).await.unwrap();
    let token = node
        .store()
        .create_user("Anna de Vries", "begeleider")
        .await
        .unwrap()
        .token;
    Api {
        router: node::api::router(node.clone(), BODY_LIMIT),
        node,
        token,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    content_type: String,
    api_version: String,
    location: Option<String>,
    body: Value,
}

impl Api {
    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let req = req
            .header("Content-Type", "application/json")
            .body(match body {
                Some(b) => Body::from(b),
                None => Body::empty(),
            });
        let res = self.router.clone().oneshot(req.unwrap()).await.unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (status, content_type, api_version, location) = (
            res.status(),
            header("content-type").unwrap_or_default(),
            header("api-version").unwrap_or_default(),
            header("location"),
        );
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            content_type,
            api_version,
            location,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, Some(&self.token.clone()), None)
            .await
    }

    async fn put(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            Method::PUT,
            uri,
            Some(&self.token.clone()),
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    async fn new_case(&self) -> String {
        let r = self
            .send(
                Method::POST,
                "/api/v1/casussen",
                Some(&self.token.clone()),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn audit_len(&self) -> u64 {
        self.node.store().audit_len().await.unwrap()
    }
}

/// The client of these tests (a fictitious BSN).
fn client() -> policies::examples::Client {
    policies::examples::Client::new("Jansen, P.", 1)
}

fn registratie() -> Value {
    policies::examples::registratie(
        &client(),
        "zorgaanbieder:kwadrant",
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    )
}

/// The (name, code) pairs of a problem's invalidParams.
fn invalid(r: &Reply) -> Vec<(String, String)> {
    r.body["invalidParams"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["code"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn assert_problem(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["status"], json!(status.as_u16()));
    assert!(r.body["title"].is_string());
    assert_eq!(r.api_version, node::api::openapi::API_VERSION);
}

#[tokio::test]
async fn openapi_is_served_and_matches_the_copy_in_the_repository() {
    let a = api().await;
    let r = a
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.0.3");
    let committed: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
    assert_eq!(
        r.body, committed,
        "node/openapi.json is stale: regenerate it with `cargo run -p node -- api openapi > node/openapi.json`"
    );
    // Every route of the router is described.
    for path in [
        "/casussen",
        "/casussen/{id}",
        "/casussen/{id}/historie",
        "/casussen/{id}/documenten/{document}",
    ] {
        assert!(r.body["paths"][path].is_object(), "{path}");
    }
}

#[tokio::test]
async fn health_needs_no_token() {
    let a = api().await;
    let r = a.send(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["partner"], "zorgaanbieder:kwadrant");
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let a = api().await;
    let r = a.send(Method::GET, "/api/v1/casussen", None, None).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    let r = a
        .send(
            Method::GET,
            "/api/v1/casussen",
            Some("wt1.0000000000000000.00"),
            None,
        )
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    let other = a
        .node
        .store()
        .create_user("Oud", "begeleider")
        .await
        .unwrap();
    let r = a
        .send(Method::GET, "/api/v1/casussen", Some(&other.token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(a.node.store().revoke_user(&other.user.id).await.unwrap());
    let r = a
        .send(Method::GET, "/api/v1/casussen", Some(&other.token), None)
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_case_is_created_written_read_listed_and_its_history_shown() {
    let a = api().await;
    let r = a
        .send(
            Method::POST,
            "/api/v1/casussen",
            Some(&a.token.clone()),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/api/v1/casussen/{id}").as_str())
    );
    assert_eq!(r.api_version, node::api::openapi::API_VERSION);

    let uri = format!("/api/v1/casussen/{id}/documenten/registratie");
    let r = a.put(&uri, &registratie()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["velden"]["bsn"], client().bsn);
    let missing: Vec<&str> = r.body["ontbrekend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&"identiteit_vastgesteld_met"),
        "{missing:?}"
    );

    let r = a.get(&uri).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["velden"], {
        let mut expected = registratie();
        expected
            .as_object_mut()
            .unwrap()
            .retain(|_, v| !v.is_null());
        expected
    });

    // An aanmelding moves the case on; the list shows phase and what is missing.
    let aanmelding = json!({"achternaam_voorletters": "Jansen, P.", "datum_aanmelding": "2025-09-10", "schuldenproblematiek": "ja"});
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/aanmelding"),
            &aanmelding,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = a.get("/api/v1/casussen").await;
    assert_eq!(r.status, StatusCode::OK);
    let case = &r.body[0];
    assert_eq!(case["id"], id.as_str());
    assert_eq!(case["fase"], "aanmelding");
    assert!(case["ontbrekend"].as_array().unwrap().iter().any(|m| {
        m["field"] == "vorm_ondersteuning_schulden"
            && m["because"]
                .as_str()
                .unwrap()
                .contains("schuldenproblematiek")
    }));

    let r = a.get(&format!("/api/v1/casussen/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["voorwaarden_bemiddeling"].as_array().unwrap().len(),
        8
    );
    assert_eq!(
        r.body["voorwaarden_bemiddeling"][0]["status"], "voldaan",
        "{}",
        r.body
    );

    let r = a.get(&format!("/api/v1/casussen/{id}/historie")).await;
    assert_eq!(r.status, StatusCode::OK);
    let ops: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["write", "read", "write", "read"]);
    let text = r.body.to_string();
    assert!(
        !text.contains(&client().bsn) && !text.contains("Jansen"),
        "the history holds names of fields, never values"
    );
    assert!(text.contains("registratie.bsn"));
}

#[tokio::test]
async fn every_bad_input_is_refused_with_field_and_rule_and_nothing_is_stored() {
    let a = api().await;
    let id = a.new_case().await;
    let uri = format!("/api/v1/casussen/{id}/documenten/registratie");
    let before = a.audit_len().await;

    let with = |patch: Value| {
        let mut v = registratie();
        for (k, x) in patch.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (
            with(json!({"bsn": "123456789"})),
            vec![("registratie.bsn", "bsn_elfproef")],
        ),
        (
            with(json!({"bsn": "12345"})),
            vec![("registratie.bsn", "bsn_formaat")],
        ),
        (
            with(json!({"herkomstgemeente": "GM0363"})),
            vec![("registratie.herkomstgemeente", "onbekende_gemeente")],
        ),
        (
            with(json!({"start_verblijf_opvang": "1980-01-01"})),
            vec![("registratie.start_verblijf_opvang", "datum_volgorde")],
        ),
        (
            with(json!({"geboortedatum": "2027-01-01"})),
            vec![("registratie.geboortedatum", "datum_in_toekomst")],
        ),
        (
            with(json!({"bloedgroep": "A"})),
            vec![("registratie.bloedgroep", "onbekend_veld")],
        ),
        (
            with(json!({"toestemming_gegevensdeling": "ja"})),
            vec![("registratie.toestemming_gegevensdeling", "verkeerd_type")],
        ),
        (
            with(json!({"geboortedatum": 19900412})),
            vec![("registratie.geboortedatum", "verkeerd_type")],
        ),
        (
            with(json!({"soort_voorziening": "hotel"})),
            vec![("registratie.soort_voorziening", "onbekende_waarde")],
        ),
        (
            with(json!({"bsn": null})),
            vec![("registratie.bsn", "verplicht")],
        ),
        (
            // Everything at once: all errors of a form are listed.
            with(
                json!({"bsn": "123456789", "herkomstgemeente": "GM0363", "x": 1, "geboortedatum": "1990-13-01"}),
            ),
            vec![
                ("registratie.x", "onbekend_veld"),
                ("registratie.bsn", "bsn_elfproef"),
                ("registratie.geboortedatum", "datum"),
                ("registratie.herkomstgemeente", "onbekende_gemeente"),
            ],
        ),
        (json!([1, 2]), vec![("registratie", "geen_object")]),
    ];
    for (body, expected) in cases {
        let r = a.put(&uri, &body).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        let mut got = invalid(&r);
        got.sort();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want, "for {body}");
        for p in r.body["invalidParams"].as_array().unwrap() {
            assert!(!p["reason"].as_str().unwrap().is_empty());
        }
    }

    // Malformed JSON.
    let r = a
        .send(
            Method::PUT,
            &uri,
            Some(&a.token.clone()),
            Some(b"{\"bsn\": ".to_vec()),
        )
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert!(r.body["detail"].as_str().unwrap().contains("JSON"));

    // Oversized body.
    let huge = json!({"reden_dakloosheid": "x".repeat(BODY_LIMIT * 2)});
    let r = a.put(&uri, &huge).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);

    // A field this partner's role may not write.
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/beoordeling"),
            &json!({"status": "ontvangen", "datum_ontvangen": "2025-11-04"}),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    assert_eq!(invalid(&r)[0].1, "schrijfrecht");

    // A registratie for another zorgaanbieder's client.
    let r = a
        .put(
            &uri,
            &with(json!({"betrokken_zorgaanbieder": "zorgaanbieder:limor"})),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        invalid(&r),
        vec![(
            "registratie.betrokken_zorgaanbieder".to_string(),
            "partner".to_string()
        )]
    );

    // Nothing of it was stored or logged.
    assert_problem(&a.get(&uri).await, StatusCode::NOT_FOUND);
    assert_eq!(a.audit_len().await, before);
    assert!(
        a.node
            .store()
            .list_documents(&id.parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // And the node still serves: a good write goes through.
    assert_eq!(a.put(&uri, &registratie()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn dates_across_forms_are_checked_no_outflow_before_intake() {
    let a = api().await;
    let id = a.new_case().await;
    assert_eq!(
        a.put(
            &format!("/api/v1/casussen/{id}/documenten/registratie"),
            &registratie()
        )
        .await
        .status,
        StatusCode::OK
    );
    let plaatsing = json!({"achternaam_voorletters": "Jansen, P.", "soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-08-01"});
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/plaatsing"),
            &plaatsing,
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        invalid(&r),
        vec![(
            "plaatsing.datum_mutatie".to_string(),
            "datum_volgorde".to_string()
        )]
    );
    assert!(
        r.body["invalidParams"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("registratie.start_verblijf_opvang")
    );
}

#[tokio::test]
async fn urls_never_carry_a_bsn_and_unknown_things_are_not_found() {
    let a = api().await;
    let id = a.new_case().await;
    let bsn = client().bsn;
    let r = a.get(&format!("/api/v1/casussen/{bsn}")).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["title"], "Geen BSN in een URL");
    let r = a.get(&format!("/api/v1/casussen?bsn={bsn}")).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);

    assert_problem(
        &a.get("/api/v1/casussen/00000000-0000-4000-8000-000000000000")
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &a.get("/api/v1/casussen/geen-id").await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &a.get(&format!("/api/v1/casussen/{id}/documenten/paspoort"))
            .await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(&a.get("/api/v1/casussen/").await, StatusCode::NOT_FOUND);
    assert_problem(&a.get("/api/v2/casussen").await, StatusCode::NOT_FOUND);
    let r = a
        .send(
            Method::DELETE,
            &format!("/api/v1/casussen/{id}"),
            Some(&a.token.clone()),
            None,
        )
        .await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED);
    assert_problem(
        &a.get("/api/v1/casussen?limit=0").await,
        StatusCode::BAD_REQUEST,
    );
    assert_problem(
        &a.get("/api/v1/casussen?pagina=2").await,
        StatusCode::BAD_REQUEST,
    );
}

#[tokio::test]
async fn documents_a_case_holds_several_of_need_an_instance() {
    let a = api().await;
    let id = a.new_case().await;
    assert_eq!(
        a.put(
            &format!("/api/v1/casussen/{id}/documenten/registratie"),
            &registratie()
        )
        .await
        .status,
        StatusCode::OK
    );
    let melding = json!({"datum_melding": "2026-02-01", "melder": "omwonende", "soort": "signaal", "ave_niveau": 2,
        "omschrijving": "Geluidsoverlast in de nacht", "status": "open"});
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/melding"),
            &melding,
        )
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/melding/melding-1"),
            &melding,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["instantie"], "melding-1");
    let r = a
        .get(&format!(
            "/api/v1/casussen/{id}/documenten/melding/melding-1"
        ))
        .await;
    assert_eq!(r.body["velden"]["ave_niveau"], 2);
    let r = a
        .put(
            &format!("/api/v1/casussen/{id}/documenten/registratie/x"),
            &registratie(),
        )
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_whole_form_put_empties_fields_left_out() {
    let a = api().await;
    let id = a.new_case().await;
    let uri = format!("/api/v1/casussen/{id}/documenten/registratie");
    assert_eq!(a.put(&uri, &registratie()).await.status, StatusCode::OK);
    let mut less = registratie();
    less.as_object_mut().unwrap().remove("reden_dakloosheid");
    assert_eq!(a.put(&uri, &less).await.status, StatusCode::OK);
    let r = a.get(&uri).await;
    assert!(
        r.body["velden"].get("reden_dakloosheid").is_none(),
        "{}",
        r.body
    );
    let hist = a.get(&format!("/api/v1/casussen/{id}/historie")).await;
    let last_write = hist
        .body
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|h| h["operation"] == "write")
        .unwrap();
    assert_eq!(
        last_write["fields"],
        json!(["registratie.reden_dakloosheid"]),
        "only the emptied field was written"
    );
}
