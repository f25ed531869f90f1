//! The werkplek end to end, in real headless Chromium, on real nodes federating over QUIC.
//!
//! 1. A begeleider at a zorgaanbieder signs in (password, then TOTP code), registers a new client, sees the live
//!    check put the elfproef's Dutch message at the BSN she mistyped, corrects it, completes the registratie with
//!    the client's consent and saves it; on the aanmelding she watches "Nog nodig voor indienen" shrink as she
//!    fills fields in. The Transferpunt's consultant, signed in on the Transferpunt's own node, sees the new client
//!    on her caseload once the federation has synced it; an analist there sees the uitstroommonitor; a beheerder
//!    sees the users and makes an account.
//! 2. Every screen is photographed and checked with axe-core against WCAG 2.1 A and AA (`Browser::screen`).
//! 3. The begeleider's flow again by keyboard alone: Tab, typing, Space and Enter, no clicks.
//! 4. Signing out ends the session on the node: the old cookie, put back into the browser, no longer reaches the
//!    caseload.
//!
//! Skipped, loudly, without Chromium, chromedriver or axe-core, unless `WEERTHUIS_REQUIRE_CHROMIUM` is set (CI).
//! Screenshots: `target/werkplek-screenshots/<test>/`.

use std::future::Future;
use std::time::{Duration, Instant};

use node::access::UserRole;
use node::harness::{LiveNet, LiveOptions};
use node::scenario::{KWADRANT as ZA, TRANSFERPUNT as TP};
use node::werkplek::auth::{create_account, totp_code_now};
use policies::bsn::BsnError;
use policies::examples::fictitious_bsn;
use serde_json::json;
use weerthuis_tests::browser::{Browser, Cookie, Key};

/// The longest the Transferpunt may take to show a case registered at the zorgaanbieder: connecting (QUIC,
/// mutual TLS) and one sync, on a loaded 2-core machine.
const SYNC_WAIT: Duration = Duration::from_secs(60);
/// How often a page that waits for the federation is reloaded.
const RELOAD_EVERY: Duration = Duration::from_millis(250);
/// The longest a live check may take to answer (debounce, one request, the node's validator).
const CHECK_WAIT: Duration = Duration::from_secs(15);

const PASSWORD: &str = "een lang wachtwoord voor de test";
/// The session cookie's name (the werkplek's `SESSION_COOKIE`).
const SESSION_COOKIE: &str = "wt_sessie";

/// A person with an account at a node, and the node's werkplek.
struct Person {
    login: &'static str,
    totp_secret: String,
    base: String,
}

/// Start these nodes with their local APIs (the werkplek) served on 127.0.0.1, a port the system picks.
async fn federation(partners: &[&str]) -> LiveNet {
    weerthuis_tests::init_logging();
    LiveNet::start_with(
        partners,
        LiveOptions {
            api: true,
            ..LiveOptions::default()
        },
    )
    .await
    .expect("the federation starts")
}

/// An account at `at` with the test's password and a fresh TOTP secret.
async fn account(
    net: &LiveNet,
    at: &str,
    name: &str,
    login: &'static str,
    role: UserRole,
) -> Person {
    let n = net.get(at);
    let new = create_account(n.node(), name, login, role, Some(PASSWORD))
        .await
        .unwrap_or_else(|e| panic!("account {login} at {at}: {e}"));
    Person {
        login,
        totp_secret: new.totp_secret,
        base: format!("http://{}", n.api_addr().expect("the API is served")),
    }
}

/// Poll `check` until it answers `Some`, at most `limit`; panic naming `what` (and the last answer) after it.
async fn until<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if Instant::now() > deadline => {
                panic!("not done after {limit:?}: {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The text of the element `css` (which must exist), once `wanted` holds for it.
async fn wait_for_element(
    b: &Browser,
    css: &str,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    until(what, CHECK_WAIT, || async {
        let text = b.text_of(css).await.map_err(|e| e.to_string())?;
        if wanted(&text) {
            Ok(text)
        } else {
            Err(format!("{css}: {text:?}"))
        }
    })
    .await
}

/// What "Nog nodig voor indienen" lists now.
async fn still_needed(b: &Browser) -> Vec<String> {
    let items = b
        .client()
        .execute(
            "return Array.from(document.querySelectorAll('#nog-nodig-lijst li')).map((li) => li.textContent);",
            Vec::new(),
        )
        .await
        .expect("reading the list of what is still needed");
    serde_json::from_value(items).expect("a list of texts")
}

/// Wait until the live check has answered with a list that no longer names `label`; answer the list.
async fn wait_until_not_needed(b: &Browser, label: &str) -> Vec<String> {
    until(
        &format!("\"Nog nodig voor indienen\" drops {label:?}"),
        CHECK_WAIT,
        || async {
            let list = still_needed(b).await;
            if list.iter().any(|item| item.starts_with(label)) {
                Err(format!("{list:?}"))
            } else {
                Ok(list)
            }
        },
    )
    .await
}

/// The session cookie's value, if the browser holds one.
async fn session_cookie(b: &Browser) -> Option<String> {
    b.cookies()
        .await
        .expect("cookies")
        .into_iter()
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// Fill a date field by typing, as a person does, and check the browser understood it as `iso`.
async fn fill_date(b: &Browser, label: &str, iso: &str) {
    let keys = b.typed_date(iso).await.expect("the browser's date order");
    b.fill(label, &keys).await.unwrap();
    assert_eq!(
        b.value_of(label).await.unwrap(),
        iso,
        "the date typed into {label:?}"
    );
}

/// Sign in with password and code, photographing (and axe-checking) both steps as `<who>-…`.
async fn sign_in(b: &Browser, p: &Person, who: &str) {
    b.goto(&format!("{}/werkplek", p.base)).await.unwrap();
    // Not signed in: the werkplek sends the browser to its sign-in page.
    b.wait_for_text("Meld u aan met uw gebruikersnaam en wachtwoord")
        .await
        .unwrap();
    assert!(b.url().await.unwrap().ends_with("/werkplek/aanmelden"));
    b.screen(&format!("{who}-aanmelden")).await;
    b.fill("Gebruikersnaam", p.login).await.unwrap();
    b.fill("Wachtwoord", PASSWORD).await.unwrap();
    b.click_button("Aanmelden").await.unwrap();
    b.wait_for_text("Typ de zes cijfers").await.unwrap();
    b.screen(&format!("{who}-code")).await;
    let code = totp_code_now(&p.totp_secret, 0).expect("a code");
    b.fill("Code", &code).await.unwrap();
    b.click_button("Bevestigen").await.unwrap();
    b.wait_for_text("Afmelden").await.unwrap();
}

/// Sign out, then show the node no longer knows the session: the old cookie, put back into the browser as
/// someone who copied it would, is sent to the caseload and answered with the sign-in page.
async fn sign_out_and_check(b: &Browser, p: &Person) {
    let old = session_cookie(b)
        .await
        .expect("signed in: a session cookie");
    b.click_button("Afmelden").await.unwrap();
    b.wait_for_text("Meld u aan met uw gebruikersnaam en wachtwoord")
        .await
        .unwrap();
    assert_eq!(
        session_cookie(b).await,
        None,
        "signing out removes the cookie"
    );
    // As the werkplek set it; chromedriver wants the domain named.
    let replay = Cookie::parse(format!(
        "{SESSION_COOKIE}={old}; Domain=127.0.0.1; Path=/werkplek; HttpOnly; SameSite=Strict"
    ))
    .expect("a cookie");
    b.client()
        .add_cookie(replay)
        .await
        .expect("putting the old session cookie back");
    let caseload = format!("{}/werkplek/casussen", p.base);
    b.goto(&caseload).await.unwrap();
    b.wait_for_text("Meld u aan met uw gebruikersnaam en wachtwoord")
        .await
        .unwrap();
    assert!(
        b.url().await.unwrap().ends_with("/werkplek/aanmelden"),
        "the old session cookie still reaches {caseload}"
    );
    assert!(!b.body_text().await.unwrap().contains("Casussen"));
    b.client()
        .delete_cookie(SESSION_COOKIE)
        .await
        .expect("removing the replayed cookie");
}

/// The elfproef's Dutch message, as the node's validator words it.
fn elfproef_message() -> String {
    BsnError::Elfproef.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begeleider_registers_a_client_and_the_transferpunt_sees_it() {
    let Some(b) = Browser::start_or_skip("werkplek_begeleider_en_transferpunt").await else {
        return;
    };
    let started = Instant::now();
    let net = federation(&[ZA, TP]).await;
    let begeleider = account(&net, ZA, "Bea Begeleider", "bea", UserRole::Medewerker).await;
    let consulent = account(&net, TP, "Tom Consulent", "tom", UserRole::Medewerker).await;
    let analist = account(&net, TP, "Ada Analist", "ada", UserRole::Analist).await;
    let beheerder = account(&net, TP, "Ben Beheerder", "ben", UserRole::Beheerder).await;
    let client = "Hoekstra, W.J.";

    // --- The begeleider, at the zorgaanbieder's node.
    sign_in(&b, &begeleider, "begeleider").await;
    b.wait_for_text("Er zijn nog geen casussen op deze node.")
        .await
        .unwrap();
    b.screen("begeleider-casussen-leeg").await;

    b.click_button("Nieuwe cliënt registreren").await.unwrap();
    b.wait_for_text("Het registratieformulier").await.unwrap();
    b.screen("registratie-nieuw").await;
    b.fill("Achternaam en voorletters", client).await.unwrap();

    // A mistyped BSN: the live check (the node's own validator) puts the elfproef's message at the field.
    b.fill("Burgerservicenummer", "123456789").await.unwrap();
    let message = elfproef_message();
    let shown = wait_for_element(&b, "#fout-bsn", "the elfproef's message at the BSN", |t| {
        t.contains(&message)
    })
    .await;
    assert!(shown.contains("elfproef"), "a Dutch message: {shown}");
    let invalid = b
        .client()
        .execute(
            "return document.getElementById('veld-bsn').getAttribute('aria-invalid');",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(invalid, json!("true"), "the BSN field is marked invalid");
    b.screen("registratie-bsn-fout").await;

    // Corrected: the message goes.
    b.fill("Burgerservicenummer", &fictitious_bsn(4711))
        .await
        .unwrap();
    wait_for_element(&b, "#fout-bsn", "the BSN's message gone", str::is_empty).await;

    fill_date(&b, "Geboortedatum", "1986-03-14").await;
    b.fill("Soort voorziening", "maatschappelijke opvang")
        .await
        .unwrap();
    b.fill("Herkomstgemeente", "Leeuwarden (GM0080)")
        .await
        .unwrap();
    fill_date(&b, "Start verblijf opvang", "2025-06-02").await;
    b.fill("Gemeente van verblijf", "Leeuwarden (GM0080)")
        .await
        .unwrap();
    b.fill("Reden dakloosheid", "Huisuitzetting na relatiebreuk")
        .await
        .unwrap();
    // The client consents to sharing with the Transferpunt (`toestemming_gegevensdeling`), and when.
    b.set_checked("ja", true).await.unwrap();
    fill_date(&b, "Datum toestemming", "2025-06-02").await;
    // Every field as the live check sees it: nothing wrong any more.
    until("the registratie without errors", CHECK_WAIT, || async {
        let text = b.body_text().await.map_err(|e| e.to_string())?;
        let summary = b
            .text_of("#nog-nodig-aantal")
            .await
            .map_err(|e| e.to_string())?;
        if summary.contains("fout") || text.contains("verplicht") {
            Err(summary)
        } else {
            Ok(())
        }
    })
    .await;
    b.screen("registratie-ingevuld").await;
    b.click_button("Opslaan").await.unwrap();
    b.wait_for_text("Opgeslagen: registratie").await.unwrap();
    assert!(b.body_text().await.unwrap().contains(client));
    b.screen("casus-na-registratie").await;

    // The aanmelding: what is still needed shrinks as she fills it in.
    b.click_link("het aanmeldformulier").await.unwrap();
    b.wait_for_text("Het aanmeldformulier").await.unwrap();
    b.screen("aanmelding-nieuw").await;
    b.fill("Achternaam en voorletters", client).await.unwrap();
    fill_date(&b, "Datum aanmelding", "2025-06-10").await;
    let mut before = until(
        "the aanmelding's required fields accepted",
        CHECK_WAIT,
        || async {
            let summary = b
                .text_of("#nog-nodig-aantal")
                .await
                .map_err(|e| e.to_string())?;
            if summary.contains("fout") {
                Err(summary)
            } else {
                Ok(still_needed(&b).await)
            }
        },
    )
    .await;
    assert!(
        !before.is_empty(),
        "an aanmelding with only its required fields is not complete"
    );
    for (label, value) in [
        ("Leefsituatie", "alleenstaand"),
        ("Hoofdinkomen", "participatiewet"),
        ("Bestaan schuldenproblematiek", "nee"),
        ("Herkomstgemeente", "Leeuwarden (GM0080)"),
    ] {
        assert!(
            before.iter().any(|item| item.starts_with(label)),
            "{label} is listed as still needed: {before:?}"
        );
        b.fill(label, value).await.unwrap();
        let after = wait_until_not_needed(&b, label).await;
        assert!(
            after.len() < before.len(),
            "the list shrinks: {before:?} → {after:?}"
        );
        before = after;
    }
    b.screen("aanmelding-deels-ingevuld").await;
    b.click_button("Opslaan").await.unwrap();
    b.wait_for_text("Opgeslagen: aanmelding").await.unwrap();
    b.screen("casus-na-aanmelding").await;
    sign_out_and_check(&b, &begeleider).await;

    // --- The Transferpunt's consultant, on the Transferpunt's own node: the client arrives by sync.
    sign_in(&b, &consulent, "consulent").await;
    let caseload = format!("{}/werkplek/casussen", consulent.base);
    let synced = Instant::now();
    until(
        "the new client on the Transferpunt's caseload",
        SYNC_WAIT,
        || async {
            b.goto(&caseload).await.map_err(|e| e.to_string())?;
            let text = b.body_text().await.map_err(|e| e.to_string())?;
            if text.contains(client) {
                Ok(())
            } else {
                // Reloading at a human pace, not in a tight loop against the node.
                tokio::time::sleep(RELOAD_EVERY).await;
                Err(text)
            }
        },
    )
    .await;
    eprintln!(
        "the Transferpunt showed the case {:.1} s after the consultant's first look",
        synced.elapsed().as_secs_f64()
    );
    b.screen("transferpunt-casussen").await;
    b.click_link(client).await.unwrap();
    b.wait_for_text("Voorwaarden voor bemiddeling")
        .await
        .unwrap();
    b.screen("transferpunt-casus").await;
    sign_out_and_check(&b, &consulent).await;

    // --- The analist: the uitstroommonitor is her start page.
    sign_in(&b, &analist, "analist").await;
    b.wait_for_text("Uitstroommonitor Transferpunt Weer Thuis")
        .await
        .unwrap();
    b.screen("monitor").await;
    sign_out_and_check(&b, &analist).await;

    // --- The beheerder: the users, and a new account.
    sign_in(&b, &beheerder, "beheerder").await;
    b.wait_for_text("Accounts en koppelingen van deze node")
        .await
        .unwrap();
    b.screen("gebruikers").await;
    b.fill("Naam", "Nina Nieuw").await.unwrap();
    b.fill("Gebruikersnaam", "nina").await.unwrap();
    let role = format!("medewerker — {}", UserRole::Medewerker.description_nl());
    b.fill("Rol", &role).await.unwrap();
    b.click_button("Account aanmaken").await.unwrap();
    b.wait_for_text("Account nina aangemaakt").await.unwrap();
    b.screen("gebruiker-aangemaakt").await;
    let made = net
        .get(TP)
        .node()
        .store()
        .credentials("nina")
        .await
        .unwrap()
        .expect("the account exists");
    assert_eq!(made.user.role, UserRole::Medewerker);
    sign_out_and_check(&b, &beheerder).await;

    b.close().await;
    let mut net = net;
    net.shutdown().await;
    eprintln!(
        "werkplek_browser: the federation run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Tab to the field named `label` and type `text` into it.
async fn type_into(b: &Browser, label: &str, text: &str) {
    b.tab_to(label).await.unwrap();
    b.type_text(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begeleider_by_keyboard_only() {
    let Some(b) = Browser::start_or_skip("werkplek_toetsenbord").await else {
        return;
    };
    let started = Instant::now();
    let net = federation(&[ZA]).await;
    let begeleider = account(&net, ZA, "Kees Toetsenbord", "kees", UserRole::Medewerker).await;
    let client = "Visser, K.";

    // Only the address is not typed into the page: a person types it in the browser's address bar.
    b.goto(&format!("{}/werkplek", begeleider.base))
        .await
        .unwrap();
    b.wait_for_text("Meld u aan").await.unwrap();
    // The first Tab reaches the skip link, which takes focus to the content.
    b.press(Key::Tab).await.unwrap();
    let first = b.focused().await.unwrap().expect("something has focus");
    assert_eq!(
        first.name, "Direct naar de inhoud",
        "the skip link comes first"
    );
    b.press(Key::Enter).await.unwrap();
    type_into(&b, "Gebruikersnaam", begeleider.login).await;
    type_into(&b, "Wachtwoord", PASSWORD).await;
    b.press(Key::Enter).await.unwrap();
    b.wait_for_text("Typ de zes cijfers").await.unwrap();
    type_into(
        &b,
        "Code",
        &totp_code_now(&begeleider.totp_secret, 0).unwrap(),
    )
    .await;
    b.press(Key::Enter).await.unwrap();
    b.wait_for_text("Afmelden").await.unwrap();

    b.keyboard_activate("Nieuwe cliënt registreren", Key::Enter)
        .await
        .unwrap();
    b.wait_for_text("Het registratieformulier").await.unwrap();
    type_into(&b, "Achternaam en voorletters", client).await;
    type_into(&b, "Burgerservicenummer", &fictitious_bsn(815)).await;
    type_into(
        &b,
        "Geboortedatum",
        &b.typed_date("1979-11-23").await.unwrap(),
    )
    .await;
    // A closed select takes typed letters as a search.
    type_into(&b, "Soort voorziening", "beschermd").await;
    // Tab reaches a radio group once, on its first button; Space ticks it.
    b.keyboard_activate("ja", Key::Space).await.unwrap();
    type_into(
        &b,
        "Datum toestemming",
        &b.typed_date("2025-07-01").await.unwrap(),
    )
    .await;
    for (label, iso) in [
        ("Geboortedatum", "1979-11-23"),
        ("Datum toestemming", "2025-07-01"),
    ] {
        assert_eq!(b.value_of(label).await.unwrap(), iso, "{label} typed");
    }
    assert_eq!(
        b.value_of("Soort voorziening").await.unwrap(),
        "beschermd_wonen"
    );
    b.screen("toetsenbord-registratie").await;
    b.keyboard_activate("Opslaan", Key::Enter).await.unwrap();
    b.wait_for_text("Opgeslagen: registratie").await.unwrap();
    assert!(b.body_text().await.unwrap().contains(client));
    b.screen("toetsenbord-casus").await;

    // What the keyboard saved is what the node holds.
    let node = net.get(ZA).node();
    let cases = node.list_cases(0, 10).await.unwrap();
    assert_eq!(cases.len(), 1);
    let case = cases[0].id.parse().unwrap();
    let user = node
        .store()
        .credentials("kees")
        .await
        .unwrap()
        .unwrap()
        .user;
    let held = node
        .read_form(&user, &case, policies::DocumentKind::Registratie, None)
        .await
        .unwrap()
        .velden;
    assert_eq!(held["achternaam_voorletters"], json!(client));
    assert_eq!(held["bsn"], json!(fictitious_bsn(815)));
    assert_eq!(held["toestemming_gegevensdeling"], json!(true));
    assert_eq!(held["soort_voorziening"], json!("beschermd_wonen"));

    // Signing out by keyboard too.
    b.keyboard_activate("Afmelden", Key::Enter).await.unwrap();
    b.wait_for_text("Meld u aan met uw gebruikersnaam en wachtwoord")
        .await
        .unwrap();
    assert_eq!(session_cookie(&b).await, None);

    b.close().await;
    let mut net = net;
    net.shutdown().await;
    eprintln!(
        "werkplek_browser (keyboard): took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Bijlage 2: a corporatie's medewerker tells the Transferpunt about a tenant the corporatie holds no case of. A
/// mistyped BSN is named with its rule and nothing is sent; corrected, the melding goes out and the Transferpunt's
/// answer appears — the same answer whether or not it knows the tenant. Every screen axe-checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corporatie_sends_a_huurdermelding_and_sees_the_transferpunts_answer() {
    use node::scenario::ELKIEN;
    let Some(b) = Browser::start_or_skip("werkplek_huurdermelding").await else {
        return;
    };
    let net = federation(&[TP, ELKIEN]).await;
    let medewerker = account(
        &net,
        ELKIEN,
        "Wim Wijkconsulent",
        "wim",
        UserRole::Medewerker,
    )
    .await;
    sign_in(&b, &medewerker, "corporatie").await;
    b.click_link("Melding over een huurder zonder casus")
        .await
        .unwrap();
    b.wait_for_text("Wie belt u nu?").await.unwrap();
    b.screen("huurdermelding-leeg").await;

    b.fill("Burgerservicenummer van de huurder", "123456789")
        .await
        .unwrap();
    b.fill("Soort melding", "signaal").await.unwrap();
    b.fill(
        "Wat is er aan de hand?",
        "Zorgen om de huurder: de buren horen hem 's nachts roepen.",
    )
    .await
    .unwrap();
    b.fill("Gemeente waar de woning staat", "Leeuwarden")
        .await
        .unwrap();
    b.fill("Telefoonnummer om terug te bellen", "058 123 4567")
        .await
        .unwrap();
    b.click_button("Melding versturen").await.unwrap();
    b.wait_for_text("De melding is niet verstuurd")
        .await
        .unwrap();
    assert!(b.body_text().await.unwrap().contains("elfproef"));
    b.screen("huurdermelding-fout").await;

    b.fill(
        "Burgerservicenummer van de huurder",
        &fictitious_bsn(690_001),
    )
    .await
    .unwrap();
    b.click_button("Melding versturen").await.unwrap();
    b.wait_for_text("De melding staat klaar voor het Transferpunt")
        .await
        .unwrap();
    let page = format!("{}/werkplek/huurdermeldingen", medewerker.base);
    until("the Transferpunt's answer is shown", SYNC_WAIT, || async {
        b.goto(&page).await.map_err(|e| e.to_string())?;
        let text = b.body_text().await.map_err(|e| e.to_string())?;
        if text.contains(node::huurdermelding::ANTWOORD) {
            Ok(())
        } else {
            Err("no answer yet".to_string())
        }
    })
    .await;
    b.screen("huurdermelding-beantwoord").await;
}
