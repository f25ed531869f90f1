//! The contract: what a real node answers over HTTP matches the OpenAPI description it publishes — every
//! operation called, with answers that succeed and answers that refuse (400, 401, 403, 404, 409, 413, 422), each
//! checked by `contract::Contract` (status named for the operation, required headers such as `API-Version`
//! present, the body valid against the described schema, problem+json for every error). And idempotent writes:
//! a retry with the same `Idempotency-Key` gets the first answer without the step happening twice, on SQLite and
//! on PostgreSQL.

mod common;
mod contract;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use contract::{Answer, Contract};
use node::access::UserRole;
use node::service::Node;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const BODY_LIMIT: usize = 64 * 1024;
const TODAY: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

/// A node serving its API on 127.0.0.1:0, with a clock the test can move.
struct Served {
    node: Arc<Node>,
    base: String,
    medewerker: String,
    analist: String,
    offset_secs: Arc<AtomicI64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(partner: &str, database: Option<String>) -> Served {
        let dir = tempfile::tempdir().unwrap();
        node::app::init(dir.path(), partner.parse().unwrap(), database)
            .await
            .unwrap();
        let offset_secs = Arc::new(AtomicI64::new(0));
        let offset = offset_secs.clone();
        let clock =
            Arc::new(move || TODAY + time::Duration::seconds(offset.load(Ordering::SeqCst)));
        let (_, node) = node::app::open_with_clock(dir.path(), clock).await.unwrap();
        let medewerker = node
            .store()
            .create_user("Koppeling casussysteem", "api")
            .await
            .unwrap()
            .token;
        let analist = node
            .store()
            .create_user_with_role("Analist", "monitor", UserRole::Analist)
            .await
            .unwrap()
            .token;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(node::app::serve(
            listener,
            node.clone(),
            BODY_LIMIT,
            async {
                let _ = stopped.await;
            },
        ));
        Served {
            node,
            base,
            medewerker,
            analist,
            offset_secs,
            stop: Some(stop),
            task: Some(tokio::spawn(async move {
                task.await.unwrap().unwrap();
            })),
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// One real HTTP request.
#[derive(Clone, Default)]
struct Call {
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<Vec<u8>>,
    key: Option<String>,
}

async fn send(base: &str, call: Call) -> Answer {
    let url = format!("{base}{}", call.path);
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut req = ureq::http::Request::builder().method(call.method).uri(&url);
        if let Some(t) = &call.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(k) = &call.key {
            req = req.header("Idempotency-Key", k.as_str());
        }
        let res = match call.body {
            Some(b) => agent.run(
                req.header("Content-Type", "application/json")
                    .body(b)
                    .unwrap(),
            ),
            None => agent.run(req.body(()).unwrap()),
        };
        let mut res = res.expect("the node answers");
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = res.body_mut().read_to_vec().expect("a body");
        Answer {
            status: res.status().as_u16(),
            headers,
            body,
        }
    })
    .await
    .unwrap()
}

/// The same request to the node's router in process (tower's `oneshot`), without a socket.
async fn in_process(served: &Served, call: Call) -> Answer {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder()
        .method(call.method)
        .uri(format!("/api/v1{}", call.path));
    if let Some(t) = &call.token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("Content-Type", "application/json")
        .body(axum::body::Body::from(call.body.unwrap_or_default()))
        .unwrap();
    let res = node::api::router(served.node.clone(), BODY_LIMIT)
        .oneshot(req)
        .await
        .unwrap();
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
    Answer {
        status,
        headers,
        body,
    }
}

/// Send, check against the contract (panics on a mismatch), and return the answer.
async fn checked(contract: &Contract, base: &str, template: &str, call: Call) -> Answer {
    let method = call.method;
    let answer = send(base, call).await;
    if let Err(e) = contract.check(method, template, &answer) {
        panic!("{e}\nbody: {}", String::from_utf8_lossy(&answer.body));
    }
    answer
}

fn registratie() -> Value {
    policies::examples::registratie(
        &policies::examples::Client::new("Contract, C.", 3),
        "zorgaanbieder:kwadrant",
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_description_says() {
    let contract = Contract::new();
    let za = Served::start("zorgaanbieder:kwadrant", None).await;
    let tp = Served::start("transferpunt:sdf", None).await;
    let c = &contract;
    let (zb, tb) = (za.base.as_str(), tp.base.as_str());
    let mw = Some(za.medewerker.clone());
    let an = Some(za.analist.clone());
    let get = |path: String, token: &Option<String>| Call {
        method: "GET",
        path,
        token: token.clone(),
        ..Call::default()
    };
    let with_body =
        |method: &'static str, path: String, token: &Option<String>, body: Value| Call {
            method,
            path,
            token: token.clone(),
            body: Some(serde_json::to_vec(&body).unwrap()),
            key: None,
        };

    // Open to all: the description and the health check.
    checked(c, zb, "/openapi.json", get("/openapi.json".into(), &None)).await;
    checked(c, zb, "/health", get("/health".into(), &None)).await;
    // Open to all too: the register of processing activities the audit log names (Logboek Dataverwerkingen).
    let reg = "/verwerkingsactiviteiten/{id}";
    let r = checked(
        c,
        zb,
        "/verwerkingsactiviteiten",
        get("/verwerkingsactiviteiten".into(), &None),
    )
    .await;
    assert_eq!(r.status, 200);
    let api = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "api.v1")
        .cloned()
        .unwrap();
    let one = checked(
        c,
        zb,
        reg,
        get("/verwerkingsactiviteiten/api.v1".into(), &None),
    )
    .await;
    assert_eq!((one.status, one.json()), (200, api));
    let gone = get("/verwerkingsactiviteiten/stroom.onbekend".into(), &None);
    assert_eq!(checked(c, zb, reg, gone).await.status, 404);
    let bsn = get("/verwerkingsactiviteiten/123456782".into(), &None);
    assert_eq!(checked(c, zb, reg, bsn).await.status, 400);

    // Huurdermeldingen (Bijlage 2): made only at a corporatie (403 here, at a zorgaanbieder), listed anywhere.
    let melding = json!({
        "bsn": "123456782", "datum_melding": "2026-01-05", "soort": "signaal", "ave_niveau": 1,
        "omschrijving": "Zorgen om een huurder", "woongemeente": "GM0080",
        "contactpersoon": "Contactpersoon 1", "telefoonnummer": "0581234567"
    });
    let r = checked(
        c,
        zb,
        "/huurdermeldingen",
        with_body("POST", "/huurdermeldingen".into(), &mw, melding),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = checked(
        c,
        zb,
        "/huurdermeldingen",
        get("/huurdermeldingen".into(), &mw),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!([])));

    // The case list: 200, paging refused (400), no token (401), a role without cases (403).
    checked(c, zb, "/casussen", get("/casussen".into(), &mw)).await;
    let r = checked(c, zb, "/casussen", get("/casussen?limit=0".into(), &mw)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["invalidParams"][0]["name"], "limit");
    assert_eq!(
        checked(c, zb, "/casussen", get("/casussen".into(), &None))
            .await
            .status,
        401
    );
    assert_eq!(
        checked(c, zb, "/casussen", get("/casussen".into(), &an))
            .await
            .status,
        403
    );

    // A new case: 201 with its Location; 401 without a token; 400 for a malformed Idempotency-Key.
    let post = |path: String, token: &Option<String>| Call {
        method: "POST",
        path,
        token: token.clone(),
        ..Call::default()
    };
    let created = checked(c, zb, "/casussen", post("/casussen".into(), &mw)).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/casussen/{id}").as_str())
    );
    assert_eq!(
        checked(c, zb, "/casussen", post("/casussen".into(), &None))
            .await
            .status,
        401
    );
    let bad_key = Call {
        key: Some("met spatie".into()),
        ..post("/casussen".into(), &mw)
    };
    let r = checked(c, zb, "/casussen", bad_key).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["invalidParams"][0]["name"], "Idempotency-Key");

    // One case: 200, 404, and 400 for a BSN in the URL.
    checked(c, zb, "/casussen/{id}", get(format!("/casussen/{id}"), &mw)).await;
    let unknown = node::store::CaseId::random();
    assert_eq!(
        checked(
            c,
            zb,
            "/casussen/{id}",
            get(format!("/casussen/{unknown}"), &mw)
        )
        .await
        .status,
        404
    );
    let bsn = policies::examples::fictitious_bsn(7);
    assert_eq!(
        checked(
            c,
            zb,
            "/casussen/{id}",
            get(format!("/casussen/{bsn}"), &mw)
        )
        .await
        .status,
        400
    );

    // Forms: written (200), read (200), invalid (422), not JSON (400), too large (413), a field this role may
    // not write (403), an unknown document (404), a form not written yet (404).
    let doc = "/casussen/{id}/documenten/{document}";
    let reg = format!("/casussen/{id}/documenten/registratie");
    checked(
        c,
        zb,
        doc,
        with_body("PUT", reg.clone(), &mw, registratie()),
    )
    .await;
    checked(c, zb, doc, get(reg.clone(), &mw)).await;
    let mut wrong = registratie();
    wrong["bsn"] = json!("123456789");
    assert_eq!(
        checked(c, zb, doc, with_body("PUT", reg.clone(), &mw, wrong))
            .await
            .status,
        422
    );
    let not_json = Call {
        body: Some(b"{\"bsn\": ".to_vec()),
        ..with_body("PUT", reg.clone(), &mw, Value::Null)
    };
    assert_eq!(checked(c, zb, doc, not_json).await.status, 400);
    // Too large: in process, on the node's own router. Over a socket the node answers 413 and closes before the
    // client has sent the whole body, and whether the client reads the answer or a broken pipe first is a race.
    let huge = json!({"reden_dakloosheid": "x".repeat(BODY_LIMIT * 2)});
    let r = in_process(&za, with_body("PUT", reg.clone(), &mw, huge)).await;
    c.check("PUT", doc, &r).unwrap();
    assert_eq!(r.status, 413);
    let beoordeling = json!({"status": "ontvangen", "datum_ontvangen": "2025-11-04"});
    let r = checked(
        c,
        zb,
        doc,
        with_body(
            "PUT",
            format!("/casussen/{id}/documenten/beoordeling"),
            &mw,
            beoordeling,
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        checked(
            c,
            zb,
            doc,
            get(format!("/casussen/{id}/documenten/onbekend"), &mw)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        checked(
            c,
            zb,
            doc,
            get(format!("/casussen/{id}/documenten/plaatsing"), &mw)
        )
        .await
        .status,
        404
    );
    assert_eq!(checked(c, zb, doc, get(reg.clone(), &an)).await.status, 403);

    // A form with instances: written and read (200), unknown case (404).
    let inst = "/casussen/{id}/documenten/{document}/{instantie}";
    let melding = json!({"datum_melding": "2026-02-01", "melder": "omwonende", "soort": "signaal",
        "ave_niveau": 2, "omschrijving": "Geluidsoverlast in de nacht", "status": "open"});
    let m = format!("/casussen/{id}/documenten/melding/melding-1");
    checked(
        c,
        zb,
        inst,
        with_body("PUT", m.clone(), &mw, melding.clone()),
    )
    .await;
    checked(c, zb, inst, get(m, &mw)).await;
    let m = format!("/casussen/{unknown}/documenten/melding/melding-1");
    assert_eq!(
        checked(c, zb, inst, with_body("PUT", m.clone(), &mw, melding))
            .await
            .status,
        404
    );
    assert_eq!(checked(c, zb, inst, get(m, &mw)).await.status, 404);

    // The history: 200 and 404.
    checked(
        c,
        zb,
        "/casussen/{id}/historie",
        get(format!("/casussen/{id}/historie"), &mw),
    )
    .await;
    assert_eq!(
        checked(
            c,
            zb,
            "/casussen/{id}/historie",
            get(format!("/casussen/{unknown}/historie"), &mw)
        )
        .await
        .status,
        404
    );

    // Indienen: incomplete (409, what is missing named), an unknown case (404), not this partner's step (403).
    let ind = "/casussen/{id}/indienen";
    let r = checked(c, zb, ind, post(format!("/casussen/{id}/indienen"), &mw)).await;
    assert_eq!(r.status, 409);
    assert!(
        r.json()["invalidParams"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    assert_eq!(
        checked(
            c,
            zb,
            ind,
            post(format!("/casussen/{unknown}/indienen"), &mw)
        )
        .await
        .status,
        404
    );
    let tmw = Some(tp.medewerker.clone());
    let tp_case = checked(c, tb, "/casussen", post("/casussen".into(), &tmw))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        checked(
            c,
            tb,
            ind,
            post(format!("/casussen/{tp_case}/indienen"), &tmw)
        )
        .await
        .status,
        403
    );
    // Submitted once complete (200), and then not again (409).
    for (kind, form) in [
        (
            "aanmelding",
            policies::examples::aanmelding(
                &policies::examples::Client::new("Contract, C.", 3),
                "2025-09-10",
            ),
        ),
        (
            "bemiddelingsverzoek",
            policies::examples::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning")),
        ),
    ] {
        checked(
            c,
            zb,
            doc,
            with_body(
                "PUT",
                format!("/casussen/{id}/documenten/{kind}"),
                &mw,
                form,
            ),
        )
        .await;
    }
    let r = checked(c, zb, ind, post(format!("/casussen/{id}/indienen"), &mw)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        checked(c, zb, ind, post(format!("/casussen/{id}/indienen"), &mw))
            .await
            .status,
        409
    );

    // Terugsturen: a malformed body (400), not this partner's step (403), an unknown case (404), nothing
    // submitted at the Transferpunt (409).
    let ts = "/casussen/{id}/terugsturen";
    let items = json!({"ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"]});
    assert_eq!(
        checked(
            c,
            tb,
            ts,
            with_body(
                "POST",
                format!("/casussen/{tp_case}/terugsturen"),
                &tmw,
                json!({"items": []})
            )
        )
        .await
        .status,
        400
    );
    assert_eq!(
        checked(
            c,
            zb,
            ts,
            with_body(
                "POST",
                format!("/casussen/{id}/terugsturen"),
                &mw,
                items.clone()
            )
        )
        .await
        .status,
        403
    );
    assert_eq!(
        checked(
            c,
            tb,
            ts,
            with_body(
                "POST",
                format!("/casussen/{unknown}/terugsturen"),
                &tmw,
                items.clone()
            )
        )
        .await
        .status,
        404
    );
    assert_eq!(
        checked(
            c,
            tb,
            ts,
            with_body(
                "POST",
                format!("/casussen/{tp_case}/terugsturen"),
                &tmw,
                items
            )
        )
        .await
        .status,
        409
    );

    // Toewijzing: not this partner's step (403), unknown (404), not ready (409).
    let tw = "/casussen/{id}/toewijzing";
    assert_eq!(
        checked(c, zb, tw, post(format!("/casussen/{id}/toewijzing"), &mw))
            .await
            .status,
        403
    );
    assert_eq!(
        checked(
            c,
            tb,
            tw,
            post(format!("/casussen/{unknown}/toewijzing"), &tmw)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        checked(
            c,
            tb,
            tw,
            post(format!("/casussen/{tp_case}/toewijzing"), &tmw)
        )
        .await
        .status,
        409
    );

    // Signalen: 200 (and 401, 403).
    checked(c, zb, "/signalen", get("/signalen".into(), &mw)).await;
    assert_eq!(
        checked(c, zb, "/signalen", get("/signalen".into(), &None))
            .await
            .status,
        401
    );
    assert_eq!(
        checked(c, zb, "/signalen", get("/signalen".into(), &an))
            .await
            .status,
        403
    );

    // The monitor: the Transferpunt's analist (200, HTML); a medewerker (403); not at the zorgaanbieder (404).
    let tan = Some(tp.analist.clone());
    let r = checked(c, tb, "/monitor", get("/monitor".into(), &tan)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        checked(c, tb, "/monitor", get("/monitor".into(), &tmw))
            .await
            .status,
        403
    );
    assert_eq!(
        checked(c, zb, "/monitor", get("/monitor".into(), &an))
            .await
            .status,
        404
    );
    assert_eq!(
        checked(c, zb, "/monitor", get("/monitor".into(), &None))
            .await
            .status,
        401
    );

    // Every operation of the description was answered and checked; the errors the rules ask for were seen.
    let seen = contract.seen.lock().unwrap().clone();
    for (method, path) in contract.operations() {
        assert!(
            seen.iter().any(|(m, p, _)| *m == method && *p == path),
            "{method} {path} was not called"
        );
    }
    for status in [200, 201, 400, 401, 403, 404, 409, 413, 422] {
        assert!(
            seen.iter().any(|(_, _, s)| *s == status),
            "no answer {status} was checked"
        );
    }
    za.stop().await;
    tp.stop().await;
}

/// The same case twice? Not with an Idempotency-Key: every retry below is a real HTTP request.
async fn retries_are_not_done_twice(database: Option<String>) {
    let contract = Contract::new();
    let c = &contract;
    let za = Served::start("zorgaanbieder:kwadrant", database).await;
    let b = za.base.as_str();
    let mw = Some(za.medewerker.clone());
    let create = |key: &str, token: &Option<String>| Call {
        method: "POST",
        path: "/casussen".into(),
        token: token.clone(),
        key: Some(key.into()),
        ..Call::default()
    };
    let count = || async {
        send(
            b,
            Call {
                method: "GET",
                path: "/casussen".into(),
                token: mw.clone(),
                ..Call::default()
            },
        )
        .await
        .json()
        .as_array()
        .map(Vec::len)
        .unwrap()
    };

    // Created once, answered twice with the same body; the retry is marked.
    let first = checked(c, b, "/casussen", create("stap-1", &mw)).await;
    let retry = checked(c, b, "/casussen", create("stap-1", &mw)).await;
    assert_eq!((first.status, retry.status), (201, 201));
    assert_eq!(first.body, retry.body);
    assert_eq!(first.header("location"), retry.header("location"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(count().await, 1);

    // The same key with another request: 422, nothing done.
    let id = first.json()["id"].as_str().unwrap().to_string();
    let other = Call {
        method: "PUT",
        path: format!("/casussen/{id}/documenten/registratie"),
        token: mw.clone(),
        body: Some(serde_json::to_vec(&registratie()).unwrap()),
        key: Some("stap-1".into()),
    };
    let r = checked(c, b, "/casussen/{id}/documenten/{document}", other.clone()).await;
    assert_eq!(r.status, 422);
    assert!(
        r.json()["title"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    let unwritten = Call {
        method: "GET",
        path: format!("/casussen/{id}/documenten/registratie"),
        token: mw.clone(),
        ..Call::default()
    };
    assert_eq!(send(b, unwritten).await.status, 404, "nothing was written");

    // A form written with a key, retried: one write in the audit log, the same answer.
    let audit = za.node.store().audit_len().await.unwrap();
    let write = Call {
        key: Some("schrijf-registratie".into()),
        ..other
    };
    let w1 = checked(c, b, "/casussen/{id}/documenten/{document}", write.clone()).await;
    let after_first = za.node.store().audit_len().await.unwrap();
    let w2 = checked(c, b, "/casussen/{id}/documenten/{document}", write.clone()).await;
    assert_eq!((w1.status, w2.status), (200, 200));
    assert_eq!(w1.body, w2.body);
    assert!(after_first > audit);
    assert_eq!(
        za.node.store().audit_len().await.unwrap(),
        after_first,
        "the retry wrote nothing"
    );

    // Keys are per token: another system's same key is its own.
    let other_token = Some(
        za.node
            .store()
            .create_user("Ander systeem", "api")
            .await
            .unwrap()
            .token,
    );
    let theirs = checked(c, b, "/casussen", create("stap-1", &other_token)).await;
    assert_eq!(theirs.header("idempotent-replayed"), None);
    assert_ne!(theirs.json()["id"], first.json()["id"]);
    assert_eq!(count().await, 2);

    // A refused request keeps nothing: corrected, the same key runs.
    let mut wrong = registratie();
    wrong["bsn"] = json!("123456789");
    let refused = Call {
        key: Some("correctie".into()),
        body: Some(serde_json::to_vec(&wrong).unwrap()),
        ..write.clone()
    };
    assert_eq!(
        checked(
            c,
            b,
            "/casussen/{id}/documenten/{document}",
            refused.clone()
        )
        .await
        .status,
        422
    );
    let again = checked(
        c,
        b,
        "/casussen/{id}/documenten/{document}",
        refused.clone(),
    )
    .await;
    assert_eq!(again.status, 422);
    assert_eq!(
        again.header("idempotent-replayed"),
        None,
        "a refusal is not stored"
    );
    let corrected = Call {
        body: write.body.clone(),
        ..refused
    };
    assert_eq!(
        checked(c, b, "/casussen/{id}/documenten/{document}", corrected)
            .await
            .status,
        200
    );

    // Two at once with one key: the step happens once; the other gets the stored answer or 409 (still running).
    let (x, y) = tokio::join!(
        send(b, create("gelijktijdig", &mw)),
        send(b, create("gelijktijdig", &mw)),
    );
    for a in [&x, &y] {
        contract.check("POST", "/casussen", a).unwrap();
    }
    let mut statuses = [x.status, y.status];
    statuses.sort_unstable();
    assert!(
        statuses == [201, 201] || statuses == [201, 409],
        "{statuses:?}"
    );
    assert_eq!(count().await, 3);

    // After 24 hours the key is free again: a new case.
    za.offset_secs.store(24 * 3600 + 1, Ordering::SeqCst);
    let later = checked(c, b, "/casussen", create("stap-1", &mw)).await;
    assert_eq!(later.header("idempotent-replayed"), None);
    assert_ne!(later.json()["id"], first.json()["id"]);
    assert_eq!(count().await, 4);
    za.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_with_the_same_idempotency_key_is_done_once_sqlite() {
    retries_are_not_done_twice(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_with_the_same_idempotency_key_is_done_once_postgres() {
    let Some(db) = common::postgres("idempotency").await else {
        return;
    };
    retries_are_not_done_twice(Some(db.url())).await;
    db.cleanup().await;
}

/// The check itself can fail: answers that break the description in each way it looks at are caught.
#[test]
fn the_contract_check_catches_answers_that_break_the_description() {
    let contract = Contract::new();
    let version = (
        "api-version".to_string(),
        node::api::openapi::API_VERSION.to_string(),
    );
    let json_type = ("content-type".to_string(), "application/json".to_string());
    let problem_type = (
        "content-type".to_string(),
        "application/problem+json".to_string(),
    );
    let summary = json!({"id": "c", "created_at": "2026-03-02T10:00:00Z", "fase": "aanmelding",
        "documenten": [], "ontbrekend": []});
    let ok = Answer {
        status: 200,
        headers: vec![version.clone(), json_type.clone()],
        body: serde_json::to_vec(&summary).unwrap(),
    };
    contract
        .check("GET", "/casussen/{id}", &ok)
        .expect("a good answer passes");
    let broken = |a: Answer| contract.check("GET", "/casussen/{id}", &a).unwrap_err();
    // No API-Version.
    let e = broken(Answer {
        headers: vec![json_type.clone()],
        ..ok.clone()
    });
    assert!(e.contains("API-Version"), "{e}");
    // A status the operation does not name.
    let e = broken(Answer {
        status: 418,
        ..ok.clone()
    });
    assert!(e.contains("418"), "{e}");
    // A body that does not fit the schema (a phase that does not exist, an id that is a number).
    let mut wrong = summary.clone();
    wrong["fase"] = json!("verzonnen");
    wrong["id"] = json!(7);
    let e = broken(Answer {
        body: serde_json::to_vec(&wrong).unwrap(),
        ..ok.clone()
    });
    assert!(e.contains("does not fit"), "{e}");
    // An error that is not problem+json, and a problem whose status is not the answer's.
    let problem = json!({"type": "about:blank", "title": "Niet gevonden", "status": 404});
    let e = broken(Answer {
        status: 404,
        headers: vec![version.clone(), json_type],
        body: serde_json::to_vec(&problem).unwrap(),
    });
    assert!(e.contains("Content-Type"), "{e}");
    let e = broken(Answer {
        status: 403,
        headers: vec![version, problem_type],
        body: serde_json::to_vec(&problem).unwrap(),
    });
    assert!(e.contains("status"), "{e}");
    // An operation that is not described.
    assert!(contract.check("DELETE", "/casussen/{id}", &ok).is_err());
}
