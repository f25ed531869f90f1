//! The werkplek's doors, through the real router: sign-in with password and TOTP, the session cookie's flags,
//! sign-out, lock-out, CSRF, and every role against every route — the werkplek's pages and the API's, with a
//! token of each role.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use node::access::UserRole;
use node::service::Node;
use node::werkplek::auth::{LOCK_AFTER, create_account, totp_code_now};
use tower::ServiceExt;

const PASSWORD: &str = "correct paard batterij nietje";

struct Werkplek {
    router: Router,
    node: Arc<Node>,
    _dir: tempfile::TempDir,
}

async fn werkplek(partner: &str) -> Werkplek {
    let dir = tempfile::tempdir().unwrap();
    node::app::init(dir.path(), partner.parse().unwrap(), None)
        .await
        .unwrap();
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    Werkplek {
        router: node::api::router(node.clone(), 64 * 1024),
        node,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_string())
        })
    }

    /// The value of the first hidden `_csrf` field on the page.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"_csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field on the page: {}", self.body));
        let rest = &self.body[at + "name=\"_csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

impl Werkplek {
    async fn send(
        &self,
        method: Method,
        uri: &str,
        cookies: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if !cookies.is_empty() {
            let c: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        for (n, v) in extra {
            req = req.header(*n, *v);
        }
        let body = match form {
            Some(pairs) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(pairs).unwrap())
            }
            None => Body::empty(),
        };
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let set_cookies = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            location,
            set_cookies,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A case at this zorgaanbieder, written by a begeleider: the client's registratie (with consent, MO in
    /// Leeuwarden), then `more` forms.
    async fn written_case(
        &self,
        client: &policies::examples::Client,
        more: Vec<(policies::DocumentKind, serde_json::Value)>,
    ) -> node::store::CaseId {
        let writer = self
            .node
            .store()
            .create_user("Anna", "begeleider")
            .await
            .unwrap()
            .user;
        let case: node::store::CaseId = self.node.create_case().await.unwrap().id.parse().unwrap();
        let registratie = policies::examples::registratie(
            client,
            &self.node.partner().to_string(),
            true,
            "maatschappelijke_opvang",
            "GM0080",
            "2026-01-05",
        );
        for (kind, form) in [(policies::DocumentKind::Registratie, registratie)]
            .into_iter()
            .chain(more)
        {
            self.node
                .write_form(&writer, &case, kind, None, &form)
                .await
                .unwrap();
        }
        case
    }

    /// A new person account (password [`PASSWORD`]) with this role, signed in: its session and CSRF token.
    async fn signed_in(&self, name: &str, login: &str, role: UserRole) -> (String, String) {
        let account = create_account(&self.node, name, login, role, Some(PASSWORD))
            .await
            .unwrap();
        self.sign_in(login, PASSWORD, &account.totp_secret, 0).await
    }

    async fn get(&self, uri: &str, session: &str) -> Reply {
        self.send(Method::GET, uri, &[("wt_sessie", session)], None, &[])
            .await
    }

    /// The sign-in form, fetched and posted with its double-submit token: the password step's reply.
    async fn post_password(&self, login: &str, password: &str) -> Reply {
        let page = self
            .send(Method::GET, "/werkplek/aanmelden", &[], None, &[])
            .await;
        let pre = page.cookie("wt_voor").expect("double-submit cookie");
        self.send(
            Method::POST,
            "/werkplek/aanmelden",
            &[("wt_voor", &pre)],
            Some(&[
                ("_csrf", &page.csrf()),
                ("gebruikersnaam", login),
                ("wachtwoord", password),
            ]),
            &[],
        )
        .await
    }

    /// Password, then code: returns the signed-in session cookie and its CSRF token.
    async fn sign_in(
        &self,
        login: &str,
        password: &str,
        totp: &str,
        ahead: u64,
    ) -> (String, String) {
        let after_password = self.post_password(login, password).await;
        assert_eq!(
            after_password.status,
            StatusCode::SEE_OTHER,
            "{}",
            after_password.body
        );
        assert_eq!(
            after_password.location.as_deref(),
            Some("/werkplek/tweede-factor")
        );
        let half = after_password.cookie("wt_sessie").unwrap();
        // Half signed in reaches nothing but the code step.
        let blocked = self.get("/werkplek/casussen", &half).await;
        assert_eq!(blocked.location.as_deref(), Some("/werkplek/aanmelden"));
        let code_page = self.get("/werkplek/tweede-factor", &half).await;
        let csrf = code_page.csrf();
        let code = totp_code_now(totp, ahead).unwrap();
        let done = self
            .send(
                Method::POST,
                "/werkplek/tweede-factor",
                &[("wt_sessie", &half)],
                Some(&[("_csrf", &csrf), ("code", &code)]),
                &[],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let session = done.cookie("wt_sessie").unwrap();
        assert_ne!(session, half, "a new session id after sign-in");
        let home = self.get("/werkplek", &session).await;
        assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        (session, home.csrf())
    }
}

#[tokio::test]
async fn a_begeleider_signs_in_with_password_and_code_and_signs_out() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let anna = create_account(
        &w.node,
        "Anna de Vries",
        "anna",
        UserRole::Medewerker,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let page = w
        .send(
            Method::GET,
            "/werkplek/aanmelden",
            &[],
            None,
            &[("x-forwarded-proto", "https")],
        )
        .await;
    let flags = &page.set_cookies[0];
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/werkplek"] {
        assert!(flags.contains(flag), "{flags} lacks {flag}");
    }

    let (session, csrf) = w.sign_in("anna", PASSWORD, &anna.totp_secret, 0).await;
    let cases = w.get("/werkplek/casussen", &session).await;
    assert_eq!(cases.status, StatusCode::OK);
    assert!(cases.body.contains("Nieuwe cliënt registreren"));

    let out = w
        .send(
            Method::POST,
            "/werkplek/afmelden",
            &[("wt_sessie", &session)],
            Some(&[("_csrf", &csrf)]),
            &[],
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.set_cookies
            .iter()
            .any(|c| c.starts_with("wt_sessie=;") && c.contains("Max-Age=0"))
    );
    // The old cookie, replayed after sign-out, reaches nothing.
    let after = w.get("/werkplek/casussen", &session).await;
    assert_eq!(after.location.as_deref(), Some("/werkplek/aanmelden"));

    // Every step is in the audit log, with the user and no password.
    let records = w.node.store().audit_records(0, 1000).await.unwrap();
    let text: Vec<String> = records
        .iter()
        .map(|r| r.parse().unwrap().entry.processing_activity_id)
        .collect();
    for step in ["aanmelden.wachtwoord", "aanmelden.geslaagd", "afmelden"] {
        assert!(text.iter().any(|t| t == step), "{step} not in {text:?}");
    }
    let raw: String = records.iter().map(|r| r.entry.clone()).collect();
    assert!(!raw.contains(PASSWORD));
}

#[tokio::test]
async fn a_code_is_accepted_once_and_a_wrong_one_not_at_all() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let anna = create_account(
        &w.node,
        "Anna",
        "anna",
        UserRole::Medewerker,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    w.sign_in("anna", PASSWORD, &anna.totp_secret, 0).await;

    // Password again, then the very same code: refused (RFC 6238 §5.2), and so is a made-up one.
    let step = w.post_password("anna", PASSWORD).await;
    let half = step.cookie("wt_sessie").unwrap();
    let csrf = w.get("/werkplek/tweede-factor", &half).await.csrf();
    for code in [
        totp_code_now(&anna.totp_secret, 0).unwrap(),
        "000000".to_string(),
    ] {
        let again = w
            .send(
                Method::POST,
                "/werkplek/tweede-factor",
                &[("wt_sessie", &half)],
                Some(&[("_csrf", &csrf), ("code", &code)]),
                &[],
            )
            .await;
        // A wrong or replayed code is answered on the page (200), not with a session.
        assert_eq!(again.status, StatusCode::OK);
        assert!(again.body.contains("role=\"alert\""), "{}", again.body);
        assert!(again.cookie("wt_sessie").is_none());
    }
}

#[tokio::test]
async fn an_account_locks_after_repeated_failures_even_for_the_right_password() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let anna = create_account(
        &w.node,
        "Anna",
        "anna",
        UserRole::Medewerker,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let mut last = String::new();
    for _ in 0..LOCK_AFTER {
        let reply = w.post_password("anna", "fout wachtwoord 123").await;
        assert!(reply.cookie("wt_sessie").is_none());
        last = reply.body;
    }
    assert!(last.contains("vergrendeld"), "{last}");
    let right = w.post_password("anna", PASSWORD).await;
    assert!(
        right.cookie("wt_sessie").is_none(),
        "a locked account does not sign in"
    );
    assert!(right.body.contains("vergrendeld"));
    let records = w.node.store().audit_records(0, 1000).await.unwrap();
    assert!(records.iter().any(
        |r| r.parse().unwrap().entry.processing_activity_id == "aanmelden.account_vergrendeld"
    ));
    drop(anna);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_stores_nothing() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let (session, csrf) = w.signed_in("Anna", "anna", UserRole::Medewerker).await;
    let before = w.node.list_cases(0, 100).await.unwrap().len();
    for form in [vec![], vec![("_csrf", "0000")]] {
        let reply = w
            .send(
                Method::POST,
                "/werkplek/casussen",
                &[("wt_sessie", &session)],
                Some(&form),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    }
    assert_eq!(w.node.list_cases(0, 100).await.unwrap().len(), before);
    // With the token it works: a new case, straight to its registratie.
    let ok = w
        .send(
            Method::POST,
            "/werkplek/casussen",
            &[("wt_sessie", &session)],
            Some(&[("_csrf", &csrf)]),
            &[],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(ok.location.unwrap().ends_with("/formulier/registratie"));
    // The sign-in form itself needs its double-submit token.
    let bare = w
        .send(
            Method::POST,
            "/werkplek/aanmelden",
            &[],
            Some(&[("gebruikersnaam", "anna"), ("wachtwoord", PASSWORD)]),
            &[],
        )
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
}

/// Every role against every route: the werkplek's pages with a signed-in session, the API with a token.
#[tokio::test]
async fn every_role_reaches_exactly_its_own_routes() {
    for partner in ["zorgaanbieder:kwadrant", "transferpunt:friesland"] {
        let w = werkplek(partner).await;
        let case = w.node.create_case().await.unwrap().id;
        let pages = [
            ("/werkplek/casussen".to_string(), UserRole::Medewerker),
            (format!("/werkplek/casussen/{case}"), UserRole::Medewerker),
            (
                format!("/werkplek/casussen/{case}/formulier/registratie"),
                UserRole::Medewerker,
            ),
            ("/werkplek/monitor".to_string(), UserRole::Analist),
            (
                "/werkplek/auditlog".to_string(),
                UserRole::Privacyfunctionaris,
            ),
            ("/werkplek/gebruikers".to_string(), UserRole::Beheerder),
            (
                "/werkplek/inzage".to_string(),
                UserRole::Privacyfunctionaris,
            ),
        ];
        let posts = [
            (
                format!("/werkplek/casussen/{case}/indienen"),
                UserRole::Medewerker,
            ),
            (
                format!("/werkplek/casussen/{case}/terugsturen"),
                UserRole::Medewerker,
            ),
            (
                format!("/werkplek/casussen/{case}/toewijzen"),
                UserRole::Medewerker,
            ),
            (
                format!("/werkplek/casussen/{case}/toestemming-intrekken"),
                UserRole::Medewerker,
            ),
            (
                format!("/werkplek/casussen/{case}/formulier/registratie"),
                UserRole::Medewerker,
            ),
            (
                format!("/werkplek/casussen/{case}/formulier/registratie/controle"),
                UserRole::Medewerker,
            ),
            ("/werkplek/gebruikers".to_string(), UserRole::Beheerder),
            (
                "/werkplek/inzage".to_string(),
                UserRole::Privacyfunctionaris,
            ),
            (
                "/werkplek/inzage/verzoeken/onbekend/afgehandeld".to_string(),
                UserRole::Privacyfunctionaris,
            ),
        ];
        let api = [
            ("/api/v1/casussen".to_string(), UserRole::Medewerker),
            (format!("/api/v1/casussen/{case}"), UserRole::Medewerker),
            (
                format!("/api/v1/casussen/{case}/historie"),
                UserRole::Medewerker,
            ),
            (
                format!("/api/v1/casussen/{case}/documenten/registratie"),
                UserRole::Medewerker,
            ),
            ("/api/v1/monitor".to_string(), UserRole::Analist),
            ("/api/v1/signalen".to_string(), UserRole::Medewerker),
        ];
        for role in UserRole::ALL {
            let login = format!("{}-1", role.name());
            let account = create_account(&w.node, "Iemand", &login, role, Some(PASSWORD))
                .await
                .unwrap();
            let (session, csrf) = w.sign_in(&login, PASSWORD, &account.totp_secret, 0).await;
            // The werkplek's steps: a role that does not work cases is refused before anything is done.
            for (route, owner) in &posts {
                let reply = w
                    .send(
                        Method::POST,
                        route,
                        &[("wt_sessie", &session)],
                        Some(&[("_csrf", &csrf)]),
                        &[],
                    )
                    .await;
                // A step may still be another partner's (only the Transferpunt assigns): that is a 403 too,
                // but it names the organisation, not the role.
                let role_refused = reply.status == StatusCode::FORBIDDEN
                    && reply.body.contains("Uw rol geeft geen toegang");
                assert_eq!(
                    role_refused,
                    role != *owner,
                    "{partner} {role} POST {route}: {}",
                    reply.body
                );
            }
            for (route, owner) in &pages {
                let reply = w.get(route, &session).await;
                let expected = if role != *owner {
                    StatusCode::FORBIDDEN
                } else if route.ends_with("/monitor") && partner.starts_with("zorgaanbieder") {
                    // The monitor exists only at the Transferpunt.
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::OK
                };
                assert_eq!(
                    reply.status, expected,
                    "{partner} {role} GET {route}: {}",
                    reply.body
                );
            }
            let token = w
                .node
                .store()
                .create_user_with_role("koppeling", "test", role)
                .await
                .unwrap()
                .token;
            for (route, owner) in &api {
                let reply = w
                    .send(
                        Method::GET,
                        route,
                        &[],
                        None,
                        &[("authorization", &format!("Bearer {token}"))],
                    )
                    .await;
                let expected = if role != *owner {
                    StatusCode::FORBIDDEN
                } else if route.ends_with("/monitor") && partner.starts_with("zorgaanbieder") {
                    StatusCode::NOT_FOUND
                } else if route.ends_with("/documenten/registratie") {
                    // Allowed, and the case has no registratie yet.
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::OK
                };
                assert_eq!(
                    reply.status, expected,
                    "{partner} token {role} GET {route}: {}",
                    reply.body
                );
            }
        }
        // No session at all: every page sends the browser to sign in.
        for (route, _) in &pages {
            let reply = w.send(Method::GET, route, &[], None, &[]).await;
            assert_eq!(
                reply.location.as_deref(),
                Some("/werkplek/aanmelden"),
                "{route}"
            );
        }
    }
}

#[tokio::test]
async fn a_person_account_has_no_api_token_and_a_revoked_one_cannot_sign_in() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let anna = create_account(
        &w.node,
        "Anna",
        "anna",
        UserRole::Medewerker,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let (session, _) = w.sign_in("anna", PASSWORD, &anna.totp_secret, 0).await;
    assert!(w.node.store().revoke_user(&anna.user.id).await.unwrap());
    let after = w.get("/werkplek/casussen", &session).await;
    assert_eq!(
        after.location.as_deref(),
        Some("/werkplek/aanmelden"),
        "revoking ends the session"
    );
    let reply = w.post_password("anna", PASSWORD).await;
    assert!(reply.cookie("wt_sessie").is_none());
}

#[tokio::test]
async fn a_privacy_officer_makes_an_inzage_in_the_werkplek() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let client = policies::examples::Client {
        name: "Kanarie-werkplek, K.".into(),
        bsn: policies::examples::fictitious_bsn(424_242),
        reden_dakloosheid: "kanarie-werkplek-reden".into(),
    };
    let case = w.written_case(&client, vec![]).await;
    let account = create_account(
        &w.node,
        "Pim de Privacyfunctionaris",
        "pim",
        UserRole::Privacyfunctionaris,
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let (session, csrf) = w.sign_in("pim", PASSWORD, &account.totp_secret, 0).await;
    let page = w.get("/werkplek/inzage", &session).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Inzage (AVG artikel 15)"),
        "{}",
        page.body
    );
    let post = |bsn: &'static str, formaat: &'static str| {
        let (session, csrf) = (session.clone(), csrf.clone());
        let w = &w;
        async move {
            w.send(
                Method::POST,
                "/werkplek/inzage",
                &[("wt_sessie", &session)],
                Some(&[
                    ("_csrf", &csrf),
                    ("bsn", bsn),
                    ("formaat", formaat),
                    ("actie", "inzage"),
                ]),
                &[],
            )
            .await
        }
    };
    // A BSN that fails the elfproef: a clear Dutch error naming the field and the rule, nothing recorded.
    let before = w.node.store().audit_len().await.unwrap();
    let bad = post("123456780", "html").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Burgerservicenummer") && bad.body.contains("elfproef"),
        "{}",
        bad.body
    );
    assert_eq!(w.node.store().audit_len().await.unwrap(), before);

    let bsn: &'static str = Box::leak(client.bsn.clone().into_boxed_str());
    let report = post(bsn, "html").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(report.body.contains("Inzage in uw gegevens"));
    assert!(report.body.contains(&client.name) && report.body.contains(&client.reden_dakloosheid));
    assert!(
        !report.body.contains("<script"),
        "the report carries no script"
    );
    let json = post(bsn, "json").await;
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v["casussen"][0]["casus"], case.to_string());
    // Both recorded, under the privacy officer's name, without values.
    let records = w.node.store().audit_records(before, 100).await.unwrap();
    let inzages: Vec<_> = records
        .iter()
        .map(|r| r.parse().unwrap())
        .filter(|e| e.entry.name == node::audit::Operation::DataSubjectRequest)
        .collect();
    assert_eq!(inzages.len(), 2);
    assert!(
        inzages
            .iter()
            .all(|e| e.entry.user.as_deref() == Some(account.user.id.as_str()))
    );
    let text: String = records.iter().map(|r| r.entry.clone()).collect();
    assert!(!text.contains(&client.bsn) && !text.contains(&client.name));
    // Without a federation there is no one to send a request to, and the page says why.
    let send = w
        .send(
            Method::POST,
            "/werkplek/inzage",
            &[("wt_sessie", &session)],
            Some(&[("_csrf", &csrf), ("bsn", bsn), ("actie", "verzoek")]),
            &[],
        )
        .await;
    assert_eq!(send.status, StatusCode::OK);
    assert!(
        send.body.contains("Geen partner kreeg gegevens"),
        "{}",
        send.body
    );
}

/// The partners page lists every partner of the signed directory with its (at most two) contact persons and its
/// reachability — a 24-hour number only where the partner has one (Bijlage 2) — for every role, inside the page's
/// landmarks.
#[tokio::test]
async fn every_role_sees_the_partners_and_their_contact_persons() {
    use protocol::pki::{Contact, Directory, DirectoryEntry, FederationCa};
    let w = werkplek("gemeente:GM0080").await;
    let now = time::OffsetDateTime::now_utc();
    let ca = FederationCa::create(
        "test",
        now - time::Duration::days(1),
        now + time::Duration::days(1),
    )
    .unwrap();
    let entry = |id: &str, name: &str, contacts: Vec<Contact>| DirectoryEntry {
        id: id.parse().unwrap(),
        name: name.into(),
        endpoint: None,
        contacts,
        werkgebied: vec![],
        bereikbaar: None,
        telefoon_24_uur: None,
    };
    let dir = Directory {
        version: 7,
        partners: vec![
            entry(
                "transferpunt:sdf",
                "Transferpunt Friesland",
                vec![
                    Contact {
                        naam: "Tineke Transfer".into(),
                        email: "tineke@transferpunt.example".into(),
                        telefoon: Some("058 000 0000".into()),
                    },
                    Contact {
                        naam: "Piet Punt".into(),
                        email: "piet@transferpunt.example".into(),
                        telefoon: None,
                    },
                ],
            ),
            entry("gemeente:GM0080", "Gemeente Leeuwarden", vec![]),
        ],
        revoked: vec![],
    };
    let mut dir = dir;
    dir.partners[0].bereikbaar = Some("werkdagen 9:00-12:00".into());
    dir.partners[1].telefoon_24_uur = Some("+31 (0)58 233 8999".into());
    let signed = ca.sign_directory(&dir).unwrap();
    let verified = node::directory::verify(&signed, ca.cert_pem()).unwrap();
    assert!(
        node::directory::store(w.node.store(), &signed, &verified)
            .await
            .unwrap()
    );
    for (login, role) in [
        ("anna", UserRole::Medewerker),
        ("pim", UserRole::Privacyfunctionaris),
    ] {
        let account = create_account(&w.node, login, login, role, Some(PASSWORD))
            .await
            .unwrap();
        let (session, _) = w.sign_in(login, PASSWORD, &account.totp_secret, 0).await;
        let page = w.get("/werkplek/partners", &session).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for text in [
            "<main",
            "<nav aria-label=\"Hoofdmenu\"",
            "href=\"/werkplek/partners\"",
            "<caption>Partners in de federatie (2)</caption>",
            "versie 7",
            "Tineke Transfer",
            "mailto:piet@transferpunt.example",
            "Transferpunt Friesland",
            "Geen contactpersoon opgegeven",
            "werkdagen 9:00-12:00",
            "24 uur per dag: <a href=\"tel:+31582338999\">+31 (0)58 233 8999</a>",
            "Geen 24-uursnummer",
        ] {
            assert!(page.body.contains(text), "{text} in {}", page.body);
        }
    }
}

/// Bijlage 2: the case page says whom to call — the contact persons the case's forms name, the partners involved
/// with their directory entries (a 24-hour number only where a partner has one, and a word on what to do without),
/// the Transferpunt for when contact fails — and offers a melding.
#[tokio::test]
async fn the_case_page_says_whom_to_call() {
    let w = werkplek("zorgaanbieder:kwadrant").await;
    let client = policies::examples::Client {
        name: "Bellen, W.".into(),
        bsn: policies::examples::fictitious_bsn(4711),
        reden_dakloosheid: "huisuitzetting".into(),
    };
    let mut verzoek = policies::examples::bemiddelingsverzoek(
        "2026-02-01",
        "Kwadrant",
        Some("Eenpersoonswoning"),
    );
    verzoek["contactpersonen"] = serde_json::json!([{
        "naam": "Bea Begeleider", "organisatie": "Kwadrant", "functie": "woonbegeleider",
        "telefoonnummer": "058 123 4567", "mailadres": "bea@kwadrant.example"
    }]);
    let case = w
        .written_case(
            &client,
            vec![(policies::DocumentKind::Bemiddelingsverzoek, verzoek)],
        )
        .await;
    let (session, _) = w.signed_in("Anna", "anna", UserRole::Medewerker).await;
    let page = w.get(&format!("/werkplek/casussen/{case}"), &session).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "<h2>Wie bel ik?</h2>",
        "<caption>Contactpersonen in de formulieren</caption>",
        "Bea Begeleider",
        "href=\"tel:0581234567\"",
        "mailto:bea@kwadrant.example",
        "<caption>Betrokken partners</caption>",
        "gemeente:GM0080",
        "Niet in het adresboek van de federatie",
        "Geen van deze partners heeft een 24-uursnummer",
        "Melding maken over deze cliënt",
    ] {
        assert!(page.body.contains(text), "{text} in {}", page.body);
    }
    // The read is in the audit log, by the fields it showed.
    let records = w.node.store().audit_records(0, u32::MAX).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.entry.contains("bemiddelingsverzoek.contactpersonen")),
        "the contact persons' read is audited"
    );
}
