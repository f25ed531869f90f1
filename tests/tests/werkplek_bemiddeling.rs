//! The whole bemiddeling through the werkplek, in real headless Chromium, on five real nodes federating over QUIC
//! (issue #12): a zorgaanbieder, the Transferpunt, the uitstroomgemeente Leeuwarden and two corporaties in it.
//!
//! 1. The begeleider signs in (password, TOTP), registers a client — a mistyped BSN shows the elfproef's message
//!    at the field — fills the aanmelding and the bemiddelingsverzoek until "Indienen" enables, and submits.
//! 2. The Transferpunt's consultant sees it arrive, sends it back with one item ticked and a toelichting.
//! 3. The begeleider sees what was ticked (on the case and among her signalen), completes it and submits again.
//! 4. The consultant sees the new submission, approves it in the beoordeling (uitstroomgemeente Leeuwarden); the
//!    gemeente sees the request for its akkoord and gives it in its form.
//! 5. The consultant assigns a corporatie with one action (om en om: Accolade); Accolade sees the aanmeldbericht
//!    and refuses with a reason; the consultant sees the refusal and assigns again (Elkien), who never sees
//!    Accolade's reason, accepts and offers a woning; the consultant and the begeleider see the offer.
//!
//! One browser per person, each on their own node; every step is waited for on the other node's screen by
//! reloading it (bounded). Every screen is photographed and checked with axe-core (WCAG 2.1 A and AA):
//! `target/werkplek-screenshots/werkplek_bemiddeling-<person>/`. Skipped, loudly, without Chromium, chromedriver or
//! axe-core, unless `WEERTHUIS_REQUIRE_CHROMIUM` is set (CI).

use std::future::Future;
use std::time::{Duration, Instant};

use node::access::UserRole;
use node::harness::{LiveNet, LiveOptions};
use node::scenario::{ACCOLADE, ELKIEN, KWADRANT as ZA, LEEUWARDEN as GM, TRANSFERPUNT as TP};
use node::werkplek::auth::{create_account, totp_code_now};
use policies::DocumentKind as D;
use policies::bsn::BsnError;
use policies::examples::{self as ex, Client};
use policies::model::{FieldSpec, FieldType};
use serde_json::{Value, json};
use weerthuis_tests::browser::{Browser, Key};

/// The longest one step may take to show on another node's screen: connecting (QUIC, mutual TLS) and a sync or
/// two (a relay through the Transferpunt), on a loaded 2-core machine.
const SYNC_WAIT: Duration = Duration::from_secs(90);
/// How often a page that waits for the federation is reloaded.
const RELOAD_EVERY: Duration = Duration::from_millis(300);
/// The longest a live check may take to answer (debounce, one request, the node's validator).
const CHECK_WAIT: Duration = Duration::from_secs(15);

const PASSWORD: &str = "een lang wachtwoord voor de test";

/// A person at a node with a browser of their own.
struct Person {
    b: Browser,
    who: &'static str,
    login: &'static str,
    totp_secret: String,
    base: String,
}

impl Person {
    /// A browser and an account at `at` (role medewerker) for `who`.
    async fn new(
        net: &LiveNet,
        at: &str,
        who: &'static str,
        name: &str,
        login: &'static str,
    ) -> Option<Person> {
        let b = Browser::start_or_skip(&format!("werkplek_bemiddeling-{who}")).await?;
        let n = net.get(at);
        let new = create_account(n.node(), name, login, UserRole::Medewerker, Some(PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("account {login} at {at}: {e}"));
        Some(Person {
            b,
            who,
            login,
            totp_secret: new.totp_secret,
            base: format!("http://{}", n.api_addr().expect("the API is served")),
        })
    }

    /// Photograph the screen as `<who>-<name>` and check it with axe.
    async fn screen(&self, name: &str) {
        self.b.screen(&format!("{}-{name}", self.who)).await;
    }

    /// Sign in with password and code, checking both screens.
    async fn sign_in(&self) {
        let b = &self.b;
        b.goto(&format!("{}/werkplek", self.base)).await.unwrap();
        b.wait_for_text("Meld u aan met uw gebruikersnaam en wachtwoord")
            .await
            .unwrap();
        self.screen("aanmelden").await;
        b.fill("Gebruikersnaam", self.login).await.unwrap();
        b.fill("Wachtwoord", PASSWORD).await.unwrap();
        b.click_button("Aanmelden").await.unwrap();
        b.wait_for_text("Typ de zes cijfers").await.unwrap();
        self.screen("code").await;
        let code = totp_code_now(&self.totp_secret, 0).expect("a code");
        b.fill("Code", &code).await.unwrap();
        b.click_button("Bevestigen").await.unwrap();
        b.wait_for_text("Afmelden").await.unwrap();
        b.wait_for_text("Signalen").await.unwrap();
    }

    fn case_url(&self, case: &str) -> String {
        format!("{}/werkplek/casussen/{case}", self.base)
    }

    fn caseload_url(&self) -> String {
        format!("{}/werkplek/casussen", self.base)
    }

    /// Reload `url` until its text contains `want` — the federation bringing another node's step — at most
    /// [`SYNC_WAIT`]; answers the page's text.
    async fn reload_until(&self, url: &str, what: &str, want: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        let text = until(&format!("{}: {what}", self.who), SYNC_WAIT, || async {
            self.b.goto(url).await.map_err(|e| e.to_string())?;
            let text = self.b.body_text().await.map_err(|e| e.to_string())?;
            if want(&text) {
                Ok(text)
            } else {
                // Reloading at a human pace, not in a tight loop against the node.
                tokio::time::sleep(RELOAD_EVERY).await;
                Err(text)
            }
        })
        .await;
        eprintln!(
            "{} saw {what} after {:.1} s",
            self.who,
            started.elapsed().as_secs_f64()
        );
        text
    }

    /// The case page, once the caseload lists the case: reload the caseload until it does, then open the case
    /// from its row (the link to it in the table, not the one in a signaal).
    async fn open_from_caseload(&self, case: &str) -> String {
        let href = format!("/werkplek/casussen/{case}");
        let started = Instant::now();
        until(
            &format!("{}: the case's row", self.who),
            SYNC_WAIT,
            || async {
                self.b
                    .goto(&self.caseload_url())
                    .await
                    .map_err(|e| e.to_string())?;
                let found = self
                    .b
                    .client()
                    .execute(
                        "return !!document.querySelector(`table a[href='${arguments[0]}']`);",
                        vec![json!(href)],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                if found == json!(true) {
                    Ok(())
                } else {
                    tokio::time::sleep(RELOAD_EVERY).await;
                    Err("no row yet".to_string())
                }
            },
        )
        .await;
        eprintln!(
            "{} saw the case on the caseload after {:.1} s",
            self.who,
            started.elapsed().as_secs_f64()
        );
        self.screen("casussen").await;
        let name = self
            .b
            .client()
            .execute(
                "return document.querySelector(`table a[href='${arguments[0]}']`).textContent;",
                vec![json!(href)],
            )
            .await
            .expect("the row's link");
        let name = name.as_str().expect("a text").to_string();
        // The table's link and a signaal's may have the same text; the table's is the one clicked.
        self.b
            .client()
            .execute(
                "document.querySelector(`table a[href='${arguments[0]}']`).click();",
                vec![json!(href)],
            )
            .await
            .expect("opening the case");
        // Every partner's case page lists the forms (the voorwaarden only the zorgaanbieder's and the
        // Transferpunt's).
        self.b.wait_for_text("Formulieren").await.unwrap();
        name
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
                let last: String = last.chars().take(3000).collect();
                panic!("not done after {limit:?}: {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Type `value` into the field `label` (its label, or its `name` for a row of a list) as a person does, by the
/// field's type in the schema: a date typed in the browser's order, a choice picked by its words, a gemeente by
/// its name, yes or no in its group.
async fn type_value(b: &Browser, spec: &FieldSpec, label: &str, value: &Value) {
    match (spec.ty, value) {
        (FieldType::Date { .. }, Value::String(iso)) => {
            let keys = b.typed_date(iso).await.expect("the browser's date order");
            b.fill(label, &keys).await.unwrap();
            assert_eq!(
                b.value_of(label).await.unwrap(),
                *iso,
                "the date typed into {label:?}"
            );
        }
        (FieldType::Enum(_), Value::String(v)) => {
            b.fill(label, &v.replace('_', " ")).await.unwrap()
        }
        (FieldType::Gemeente, Value::String(code)) => {
            let gemeenten = policies::Gemeenten::friesland();
            let naam = gemeenten.name(code).expect("a Frisian gemeente");
            b.fill(label, &format!("{naam} ({code})")).await.unwrap();
        }
        (FieldType::Bool, Value::Bool(yes)) => b
            .choose(label, if *yes { "ja" } else { "nee" })
            .await
            .unwrap(),
        (FieldType::Records(fields), Value::Array(rows)) => {
            // The page offers one empty row more than the list holds: a new list, one row.
            let row = rows.first().and_then(Value::as_object).expect("a row");
            for (name, v) in row {
                let f = fields
                    .iter()
                    .find(|f| f.name == name)
                    .expect("a field of the row");
                Box::pin(type_value(b, f, &format!("{}[0].{name}", spec.name), v)).await;
            }
        }
        (_, Value::String(text)) => b.fill(label, text).await.unwrap(),
        (ty, v) => panic!("no way to type {v} into a {ty:?} field"),
    }
}

/// Type the fields `names` of `form` (an example form of `kind`) into its page, each found by its label.
async fn type_fields(b: &Browser, kind: D, form: &Value, names: &[&str]) {
    for name in names {
        let spec = kind
            .spec()
            .fields
            .iter()
            .find(|f| f.name == *name)
            .unwrap_or_else(|| panic!("{kind} has no field {name}"));
        let value = form
            .get(name)
            .unwrap_or_else(|| panic!("the example {kind} has no {name}"));
        type_value(b, spec, spec.label, value).await;
    }
}

/// The label of `kind`'s field `name` in the schema.
fn label(kind: D, name: &str) -> &'static str {
    kind.spec()
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.label)
        .expect("a field of the schema")
}

/// Wait until the live check of the form on screen has answered with `wanted` in its summary line.
async fn wait_for_summary(b: &Browser, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    until(what, CHECK_WAIT, || async {
        let text = b
            .text_of("#nog-nodig-aantal")
            .await
            .map_err(|e| e.to_string())?;
        if wanted(&text) { Ok(text) } else { Err(text) }
    })
    .await
}

/// Whether the button with id `id` is disabled.
async fn disabled(b: &Browser, id: &str) -> bool {
    let v = b
        .client()
        .execute(
            "const el = document.getElementById(arguments[0]); return el ? el.disabled : null;",
            vec![json!(id)],
        )
        .await
        .expect("reading the button");
    v.as_bool().unwrap_or_else(|| panic!("no button #{id}"))
}

/// Save the form on screen and check the case page says so.
async fn save(p: &Person, kind: D) {
    p.b.click_button("Opslaan").await.unwrap();
    p.b.wait_for_text(&format!("Opgeslagen: {}.", kind.name().replace('_', " ")))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bemiddeling_from_registratie_to_an_offer_through_the_werkplek() {
    let started = Instant::now();
    weerthuis_tests::init_logging();
    let net = LiveNet::start_with(
        &[ZA, TP, GM, ACCOLADE, ELKIEN],
        LiveOptions {
            api: true,
            ..LiveOptions::default()
        },
    )
    .await
    .expect("the federation starts");
    let Some(bea) = Person::new(&net, ZA, "begeleider", "Bea Begeleider", "bea").await else {
        return;
    };
    let tom = Person::new(&net, TP, "consulent", "Tom Consulent", "tom")
        .await
        .expect("a browser");
    let gea = Person::new(&net, GM, "gemeente", "Gea Gemeente", "gea")
        .await
        .expect("a browser");
    let ada = Person::new(&net, ACCOLADE, "accolade", "Ada Accolade", "ada")
        .await
        .expect("a browser");
    let eli = Person::new(&net, ELKIEN, "elkien", "Eli Elkien", "eli")
        .await
        .expect("a browser");
    let today = policies::form::format_date(net.get(ZA).node().clock_now().date());
    let client = Client::new("Hoekstra, W.J.", 4711);
    let registratie = ex::registratie(
        &client,
        ZA,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-06-01",
    );
    let aanmelding = ex::aanmelding(&client, "2025-06-10");
    let verzoek = ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Een woning"));
    let woonwens = "Eenpersoonswoning in Leeuwarden, huur tot 650 euro";
    let toelichting_tp = "Graag huurprijs, grootte en ligging";
    let weigering = "Huurachterstand bij een eerdere verhuurder, nog niet afgelost";
    let aanbod = ex::aanbod("2025-11-20", "Kerkstraat 9, Leeuwarden", true);

    // === 1. The begeleider: sign in, register a client, mistype the BSN.
    bea.sign_in().await;
    let b = &bea.b;
    b.wait_for_text("Er zijn nog geen casussen op deze node.")
        .await
        .unwrap();
    bea.screen("casussen-leeg").await;
    b.click_button("Nieuwe cliënt registreren").await.unwrap();
    b.wait_for_text("Het registratieformulier").await.unwrap();
    bea.screen("registratie-nieuw").await;
    type_fields(b, D::Registratie, &registratie, &["achternaam_voorletters"]).await;
    b.fill(label(D::Registratie, "bsn"), "123456789")
        .await
        .unwrap();
    let message = BsnError::Elfproef.to_string();
    until("the elfproef's message at the BSN", CHECK_WAIT, || async {
        let t = b.text_of("#fout-bsn").await.map_err(|e| e.to_string())?;
        if t.contains(&message) { Ok(()) } else { Err(t) }
    })
    .await;
    bea.screen("registratie-bsn-fout").await;
    type_fields(
        b,
        D::Registratie,
        &registratie,
        &[
            "bsn",
            "geboortedatum",
            "soort_voorziening",
            "herkomstgemeente",
            "start_verblijf_opvang",
            "verblijfgemeente",
            "reden_dakloosheid",
            "toestemming_gegevensdeling",
            "datum_toestemming",
        ],
    )
    .await;
    until("the BSN's message gone", CHECK_WAIT, || async {
        let t = b.text_of("#fout-bsn").await.map_err(|e| e.to_string())?;
        if t.is_empty() { Ok(()) } else { Err(t) }
    })
    .await;
    wait_for_summary(b, "the registratie without errors", |t| !t.contains("fout")).await;
    bea.screen("registratie-ingevuld").await;
    save(&bea, D::Registratie).await;
    let url = b.url().await.unwrap();
    let case = url
        .split("/werkplek/casussen/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .expect("the case's address")
        .to_string();
    let short = case.get(..8).unwrap().to_string();
    bea.screen("casus-na-registratie").await;

    // The aanmelding, as the example has it (its list of inschrijvingen aside: the request's tick says it).
    b.click_link("het aanmeldformulier").await.unwrap();
    b.wait_for_text("Het aanmeldformulier").await.unwrap();
    type_fields(
        b,
        D::Aanmelding,
        &aanmelding,
        &[
            "achternaam_voorletters",
            "datum_aanmelding",
            "leefsituatie",
            "hoofdinkomen",
            "schuldenproblematiek",
            "vorm_ondersteuning_schulden",
        ],
    )
    .await;
    wait_for_summary(b, "the aanmelding without errors", |t| !t.contains("fout")).await;
    bea.screen("aanmelding-ingevuld").await;
    save(&bea, D::Aanmelding).await;

    // The bemiddelingsverzoek, all but the woonwens: saved, the case page names what is missing and "Indienen"
    // stays disabled.
    b.click_link("het bemiddelingsverzoek").await.unwrap();
    b.wait_for_text("Het bemiddelingsverzoek").await.unwrap();
    bea.screen("verzoek-nieuw").await;
    type_fields(
        b,
        D::Bemiddelingsverzoek,
        &verzoek,
        &[
            "datum_verzoek",
            "achttien_jaar_of_ouder",
            "verblijf_mo_of_bw_indicatie",
            "ingeschreven_meerdere_corporaties",
            "documenten_in_portaal_corporatie",
            "actief_gezocht",
            "toelichting_zoekgedrag",
            "voldoende_zelfredzaam",
            "stabiele_daginvulling",
            "soort_daginvulling",
            "inkomen_en_schulden_in_beeld",
            "ondersteuningsprofiel",
            "contactpersonen",
        ],
    )
    .await;
    let woonwens_label = label(D::Bemiddelingsverzoek, "woonwens");
    wait_for_summary(b, "only the woonwens still needed", |t| {
        t == "Nog 1 gegeven(s) nodig voor indienen."
    })
    .await;
    bea.screen("verzoek-zonder-woonwens").await;
    save(&bea, D::Bemiddelingsverzoek).await;
    assert!(
        disabled(b, "indienen").await,
        "Indienen is disabled while the woonwens is missing"
    );
    assert!(
        b.body_text()
            .await
            .unwrap()
            .contains(&format!("{woonwens_label} (bemiddelingsverzoek)"))
    );
    bea.screen("casus-indienen-uit").await;

    // The woonwens: the live check finds nothing missing, and on the case page "Indienen" enables.
    b.click_link("het bemiddelingsverzoek").await.unwrap();
    b.wait_for_text("Het bemiddelingsverzoek").await.unwrap();
    type_fields(b, D::Bemiddelingsverzoek, &verzoek, &["woonwens"]).await;
    wait_for_summary(b, "nothing missing in the request", |t| {
        t.starts_with("Alles is ingevuld")
    })
    .await;
    bea.screen("verzoek-compleet").await;
    save(&bea, D::Bemiddelingsverzoek).await;
    b.wait_for_text("Alles is ingevuld: het verzoek kan worden ingediend.")
        .await
        .unwrap();
    assert!(
        !disabled(b, "indienen").await,
        "Indienen is enabled once nothing is missing"
    );
    bea.screen("casus-indienen-aan").await;
    b.click_button("Indienen").await.unwrap();
    b.wait_for_text("Opgeslagen: ingediend.").await.unwrap();
    b.wait_for_text("Ingediend bij het Transferpunt.")
        .await
        .unwrap();
    bea.screen("casus-ingediend").await;

    // === 2. The consultant: the submitted request arrives; sent back with one item ticked.
    tom.sign_in().await;
    let t = &tom.b;
    tom.screen("casussen-start").await;
    let name = tom.open_from_caseload(&case).await;
    assert_eq!(
        name, client.name,
        "the Transferpunt knows the client by name"
    );
    tom.reload_until(&tom.case_url(&case), "the submitted request", |t| {
        t.contains("Terugsturen voor aanvulling")
    })
    .await;
    tom.screen("casus-ingediend").await;
    t.keyboard_activate("Terugsturen voor aanvulling", Key::Enter)
        .await
        .unwrap();
    let ticked = format!("{woonwens_label} (bemiddelingsverzoek)");
    t.set_checked(&ticked, true).await.unwrap();
    t.fill("Toelichting voor de begeleider", toelichting_tp)
        .await
        .unwrap();
    tom.screen("terugsturen").await;
    t.click_button("Terugsturen").await.unwrap();
    t.wait_for_text("Opgeslagen: teruggestuurd.").await.unwrap();
    t.wait_for_text("Teruggestuurd voor aanvulling; wacht op de zorgaanbieder.")
        .await
        .unwrap();
    assert!(t.body_text().await.unwrap().contains(&ticked));
    tom.screen("casus-teruggestuurd").await;

    // === 3. The begeleider sees it — on the case and among her signalen — completes and resubmits.
    let text = bea
        .reload_until(&bea.case_url(&case), "the request sent back", |t| {
            t.contains("Teruggestuurd door het Transferpunt.")
        })
        .await;
    assert!(
        text.contains(&ticked),
        "the ticked item on the begeleider's screen: {text}"
    );
    assert!(
        text.contains(toelichting_tp),
        "the toelichting on the begeleider's screen: {text}"
    );
    bea.screen("casus-teruggestuurd").await;
    let text = bea
        .reload_until(
            &bea.caseload_url(),
            "the signaal to complete the request",
            |t| !t.contains("Geen open signalen"),
        )
        .await;
    assert!(text.contains(&format!("casus {short}")), "{text}");
    bea.screen("casussen-signaal").await;
    b.goto(&bea.case_url(&case)).await.unwrap();
    b.click_link("het bemiddelingsverzoek").await.unwrap();
    b.wait_for_text("Het bemiddelingsverzoek").await.unwrap();
    b.fill(woonwens_label, woonwens).await.unwrap();
    wait_for_summary(b, "nothing missing in the request", |t| {
        t.starts_with("Alles is ingevuld")
    })
    .await;
    bea.screen("verzoek-aangevuld").await;
    save(&bea, D::Bemiddelingsverzoek).await;
    assert!(!disabled(b, "indienen").await);
    b.click_button("Indienen").await.unwrap();
    b.wait_for_text("Opgeslagen: ingediend.").await.unwrap();
    b.wait_for_text("Ingediend bij het Transferpunt.")
        .await
        .unwrap();
    assert!(
        !b.body_text()
            .await
            .unwrap()
            .contains("Teruggestuurd door het Transferpunt.")
    );
    bea.screen("casus-opnieuw-ingediend").await;

    // === 4. The consultant sees the new submission and approves it; the gemeente gives its akkoord.
    tom.reload_until(&tom.case_url(&case), "the request submitted again", |t| {
        t.contains("Corporatie toewijzen") && !t.contains("wacht op de zorgaanbieder")
    })
    .await;
    tom.screen("casus-opnieuw-ingediend").await;
    t.click_link("het bemiddelingsverzoek").await.unwrap();
    t.wait_for_text(woonwens).await.unwrap();
    tom.screen("verzoek-aangevuld").await;
    t.click_link("← Terug naar de casus").await.unwrap();
    t.click_link("de beoordeling door het Transferpunt")
        .await
        .unwrap();
    t.wait_for_text("De beoordeling door het Transferpunt")
        .await
        .unwrap();
    tom.screen("beoordeling-teruggestuurd").await;
    // What Terugsturen wrote (and Corporatie toewijzen will write) is shown, not typed over.
    for step_field in [
        "aantal_keer_teruggestuurd",
        "toegewezen_corporatie",
        "ontbrekende_gegevens",
    ] {
        let input = t
            .client()
            .execute(
                "return document.querySelectorAll(`[name='${arguments[0]}']`).length;",
                vec![json!(step_field)],
            )
            .await
            .unwrap();
        assert_eq!(input, json!(0), "{step_field} is not a field to type in");
    }
    t.wait_for_text(&ticked).await.unwrap();
    let beoordeling = ex::beoordeling_goedgekeurd(&today, &today, "GM0080");
    type_fields(
        t,
        D::Beoordeling,
        &beoordeling,
        &["status", "datum_volledig", "gekozen_uitstroomgemeente"],
    )
    .await;
    wait_for_summary(t, "the beoordeling without errors", |s| !s.contains("fout")).await;
    tom.screen("beoordeling-goedgekeurd").await;
    save(&tom, D::Beoordeling).await;
    tom.screen("casus-goedgekeurd").await;

    gea.sign_in().await;
    let g = &gea.b;
    gea.screen("casussen-start").await;
    let gemeente_form = ex::gemeente_akkoord(&today, "Gebiedsteam Leeuwarden-Oost", &today);
    gea.open_from_caseload(&case).await;
    gea.reload_until(&gea.case_url(&case), "the request for an akkoord", |t| {
        t.contains("het gemeenteformulier")
    })
    .await;
    gea.screen("casus").await;
    let text = gea
        .reload_until(&gea.caseload_url(), "the signaal to give an akkoord", |t| {
            !t.contains("Geen open signalen")
        })
        .await;
    assert!(text.contains(&format!("casus {short}")), "{text}");
    gea.screen("casussen-signaal").await;
    g.goto(&gea.case_url(&case)).await.unwrap();
    g.click_link("het gemeenteformulier").await.unwrap();
    g.wait_for_text("Het gemeenteformulier").await.unwrap();
    gea.screen("gemeenteformulier-nieuw").await;
    type_fields(
        g,
        D::Gemeente,
        &gemeente_form,
        &[
            "akkoord_uitstroom",
            "datum_akkoord",
            "gebiedsteam_contactpersoon",
            "datum_contact_gebiedsteam",
        ],
    )
    .await;
    wait_for_summary(g, "the gemeenteformulier without errors", |s| {
        !s.contains("fout")
    })
    .await;
    gea.screen("gemeenteformulier-akkoord").await;
    save(&gea, D::Gemeente).await;
    gea.screen("casus-akkoord").await;

    // === 5. The consultant assigns with one action: om en om, Accolade first (the lowest id, neither asked yet).
    tom.reload_until(&tom.case_url(&case), "the gemeente's akkoord", |t| {
        t.contains(&format!("het gemeenteformulier ({GM})"))
    })
    .await;
    tom.screen("casus-akkoord").await;
    t.click_button("Corporatie toewijzen").await.unwrap();
    t.wait_for_text("Opgeslagen: toegewezen aan corporatie accolade.")
        .await
        .unwrap();
    tom.screen("casus-toegewezen-accolade").await;

    // Accolade: the aanmeldbericht arrives; she refuses with a reason.
    ada.sign_in().await;
    let a = &ada.b;
    ada.screen("casussen-start").await;
    ada.open_from_caseload(&case).await;
    ada.screen("casus").await;
    a.click_link(&format!("het aanmeldbericht ({ACCOLADE})"))
        .await
        .unwrap();
    a.wait_for_text(&client.bsn).await.unwrap();
    ada.screen("aanmeldbericht").await;
    a.click_link("← Terug naar de casus").await.unwrap();
    a.click_link("de reactie van de woningcorporatie")
        .await
        .unwrap();
    a.wait_for_text("De reactie van de woningcorporatie")
        .await
        .unwrap();
    ada.screen("reactie-nieuw").await;
    let refusal = ex::reactie_geweigerd(&today, weigering);
    type_fields(
        a,
        D::Reactie,
        &refusal,
        &[
            "besluit",
            "datum_besluit",
            "reden_weigering",
            "toelichting_weigering",
        ],
    )
    .await;
    wait_for_summary(a, "the refusal without errors", |s| !s.contains("fout")).await;
    ada.screen("reactie-geweigerd").await;
    save(&ada, D::Reactie).await;
    ada.screen("casus-geweigerd").await;

    // The consultant sees the refusal, and assigns the next corporatie.
    let reactie_accolade = format!("de reactie van de woningcorporatie ({ACCOLADE})");
    tom.reload_until(&tom.case_url(&case), "Accolade's reactie", |t| {
        t.contains(&reactie_accolade)
    })
    .await;
    t.click_link(&reactie_accolade).await.unwrap();
    t.wait_for_text(weigering).await.unwrap();
    t.wait_for_text("geweigerd").await.unwrap();
    tom.screen("reactie-accolade-geweigerd").await;
    t.click_link("← Terug naar de casus").await.unwrap();
    t.click_button("Corporatie toewijzen").await.unwrap();
    t.wait_for_text("Opgeslagen: toegewezen aan corporatie elkien.")
        .await
        .unwrap();
    tom.screen("casus-toegewezen-elkien").await;

    // Elkien: the aanmeldbericht, never Accolade's reason; she accepts and offers a woning.
    eli.sign_in().await;
    let e = &eli.b;
    eli.screen("casussen-start").await;
    eli.open_from_caseload(&case).await;
    let text = e.body_text().await.unwrap();
    assert!(
        !text.contains(weigering) && !text.contains("huurachterstand"),
        "{text}"
    );
    eli.screen("casus").await;
    e.click_link("de reactie van de woningcorporatie")
        .await
        .unwrap();
    e.wait_for_text("De reactie van de woningcorporatie")
        .await
        .unwrap();
    let mut acceptance = ex::reactie_geaccepteerd(&today, std::slice::from_ref(&aanbod));
    acceptance["aanbiedingen"][0]["datum_aanbod"] = json!(today);
    type_fields(
        e,
        D::Reactie,
        &acceptance,
        &["besluit", "datum_besluit", "aanbiedingen"],
    )
    .await;
    wait_for_summary(e, "the acceptance without errors", |s| !s.contains("fout")).await;
    eli.screen("reactie-geaccepteerd").await;
    save(&eli, D::Reactie).await;
    eli.screen("casus-geaccepteerd").await;

    // The consultant and the begeleider see the acceptance and the offer.
    let reactie_elkien = format!("de reactie van de woningcorporatie ({ELKIEN})");
    for p in [&tom, &bea] {
        p.reload_until(&p.case_url(&case), "Elkien's reactie", |t| {
            t.contains(&reactie_elkien)
        })
        .await;
        p.screen("casus-reactie-elkien").await;
        p.b.click_link(&reactie_elkien).await.unwrap();
        p.b.wait_for_text("geaccepteerd").await.unwrap();
        // The offer itself, not only that there is one.
        p.b.wait_for_text("Kerkstraat 9, Leeuwarden").await.unwrap();
        p.screen("reactie-elkien").await;
    }

    for p in [bea, tom, gea, ada, eli] {
        p.b.close().await;
    }
    let mut net = net;
    net.shutdown().await;
    eprintln!(
        "werkplek_bemiddeling: the whole bemiddeling took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
