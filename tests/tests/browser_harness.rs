//! The browser harness tested on a page of its own: a tiny Dutch form served on 127.0.0.1:0, driven in headless
//! Chromium by mouse and by keyboard alone, photographed, and checked with axe-core — which must pass the good
//! page and catch the broken one (the negative control: a check that never fails shows nothing).
//!
//! Skipped, loudly, when Chromium, chromedriver or axe-core is missing, unless `WEERTHUIS_REQUIRE_CHROMIUM` is set
//! (`.ci/run` installs them and sets it).

use std::time::{Duration, Instant};

use axum::Form;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde::Deserialize;
use weerthuis_tests::browser::{Browser, Key};

/// The pages' policy: nothing inline, as the werkplek's will be. axe must still get in (WebDriver's scripts are
/// not subject to a page's CSP).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'";

const STYLE: &str = "body { font-family: sans-serif; margin: 2rem; color: #1a1a1a; background: #fff; }
label { display: block; margin: 1rem 0 .25rem; font-weight: bold; }
label.naast { display: inline; font-weight: normal; margin-left: .5rem; }
input[type=text] { font-size: 1rem; padding: .4rem; border: 2px solid #555; }
button { margin-top: 1rem; font-size: 1rem; padding: .5rem 1rem; background: #004b87; color: #fff; border: 0; }
:focus { outline: 3px solid #c75300; outline-offset: 2px; }
.fout { color: #a4000f; font-weight: bold; margin: 1rem 0; }";

/// The form's fields as posted.
#[derive(Deserialize)]
struct Aanmelding {
    #[serde(default)]
    naam: String,
    #[serde(default)]
    toestemming: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, main: &str) -> impl IntoResponse + use<> {
    let html = format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{title} – Weer Thuis</title>\
         <link rel=\"stylesheet\" href=\"/stijl.css\"></head><body><header><p>Weer Thuis — werkplek</p></header>\
         <main>{main}</main></body></html>"
    );
    ([(header::CONTENT_SECURITY_POLICY, CSP)], Html(html))
}

/// The form; with `fout`, the error announced (`role="alert"`) and tied to the field (`aria-describedby`).
fn formulier(naam: &str, fout: Option<&str>) -> String {
    let (alert, invalid) = match fout {
        Some(fout) => (
            format!(
                "<div id=\"fout\" class=\"fout\" role=\"alert\" aria-live=\"assertive\">{fout}</div>"
            ),
            " aria-invalid=\"true\" aria-describedby=\"fout\"",
        ),
        None => (String::new(), ""),
    };
    format!(
        "<h1>Aanmelding</h1>{alert}<form method=\"post\" action=\"/aanmelden\" novalidate>\
         <label for=\"naam\">Naam van de cliënt <span aria-hidden=\"true\">*</span></label>\
         <input id=\"naam\" name=\"naam\" type=\"text\" autocomplete=\"name\" value=\"{}\"{invalid}>\
         <div><input id=\"toestemming\" name=\"toestemming\" type=\"checkbox\" value=\"ja\">\
         <label class=\"naast\" for=\"toestemming\">Cliënt geeft toestemming</label></div>\
         <button type=\"submit\">Opslaan</button></form>",
        escape(naam)
    )
}

async fn aanmelden(Form(a): Form<Aanmelding>) -> axum::response::Response {
    let naam = a.naam.trim();
    if naam.is_empty() {
        return page(
            "Fout in aanmelding",
            &formulier(naam, Some("Vul de naam van de cliënt in.")),
        )
        .into_response();
    }
    let toestemming = if a.toestemming.is_some() { "ja" } else { "nee" };
    let main = format!(
        "<h1>Opgeslagen</h1><p role=\"status\">Opgeslagen: {}. Toestemming: {toestemming}.</p>\
         <p><a href=\"/aanmelden\">Nieuwe aanmelding</a></p>",
        escape(naam)
    );
    (
        [(
            header::SET_COOKIE,
            "wt_sessie=proef; HttpOnly; SameSite=Strict; Path=/",
        )],
        page("Opgeslagen", &main),
    )
        .into_response()
}

/// Serve the pages on a port the system picks; answer the base address.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/aanmelden",
            get(|| async { page("Aanmelding", &formulier("", None)) }).post(aanmelden),
        )
        // Deliberately broken: a field without a label (axe's rule `label`, WCAG 1.3.1 and 4.1.2).
        .route(
            "/kapot",
            get(|| async {
                page(
                    "Kapot",
                    "<h1>Kapot</h1><form><input type=\"text\" name=\"zonder_label\"></form>",
                )
            }),
        )
        .route(
            "/stijl.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn fill_click_and_wait_for_text() {
    let Some(browser) = Browser::start_or_skip("browser_harness_fill_click").await else {
        return;
    };
    let base = serve().await;
    browser.goto(&format!("{base}/aanmelden")).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Aanmelding – Weer Thuis");
    browser.screen("formulier").await;

    // Saved empty: the error is announced and the field says it is wrong.
    browser.click_button("Opslaan").await.unwrap();
    browser
        .wait_for_text("Vul de naam van de cliënt in.")
        .await
        .unwrap();
    assert_eq!(
        browser.text_of("[role=alert]").await.unwrap(),
        "Vul de naam van de cliënt in."
    );
    browser.screen("foutmelding").await;

    // The label's hidden "*" is not part of the name; the field is found by its label, as a person finds it.
    browser
        .fill("Naam van de cliënt", "Jan de Vries")
        .await
        .unwrap();
    assert_eq!(
        browser.value_of("naam").await.unwrap(),
        "Jan de Vries",
        "found by its name attribute too"
    );
    browser
        .set_checked("Cliënt geeft toestemming", true)
        .await
        .unwrap();
    browser.click_button("Opslaan").await.unwrap();
    browser
        .wait_for_text("Opgeslagen: Jan de Vries. Toestemming: ja.")
        .await
        .unwrap();
    browser.screen("opgeslagen").await;

    let cookies = browser.cookies().await.unwrap();
    let sessie = cookies
        .iter()
        .find(|c| c.name() == "wt_sessie")
        .unwrap_or_else(|| panic!("no wt_sessie cookie in {cookies:?}"));
    assert_eq!(sessie.value(), "proef");
    assert_eq!(sessie.http_only(), Some(true));

    // A clear error for what is not there: it names what the page has instead.
    let err = browser
        .click_button("Versturen")
        .await
        .err()
        .map(|e| e.to_string());
    let err = err.expect("there is no button Versturen");
    assert!(
        err.contains("\"Versturen\"") && err.contains("there are"),
        "{err}"
    );
    browser.close().await;
}

#[tokio::test]
async fn keyboard_only_run() {
    let Some(browser) = Browser::start_or_skip("browser_harness_keyboard").await else {
        return;
    };
    let base = serve().await;
    browser.goto(&format!("{base}/aanmelden")).await.unwrap();

    let focus = browser.tab_to("Naam van de cliënt").await.unwrap();
    assert_eq!(focus.id.as_deref(), Some("naam"));
    browser.type_text("Anna Jansen").await.unwrap();
    browser
        .keyboard_activate("Cliënt geeft toestemming", Key::Space)
        .await
        .unwrap();
    browser.screenshot("toetsenbord-ingevuld").await.unwrap();
    browser
        .keyboard_activate("Opslaan", Key::Enter)
        .await
        .unwrap();
    browser
        .wait_for_text("Opgeslagen: Anna Jansen. Toestemming: ja.")
        .await
        .unwrap();
    browser.screen("toetsenbord-opgeslagen").await;

    // The link on the saved page is reachable too; a name Tab never reaches fails with the focus order it saw.
    browser
        .keyboard_activate("Nieuwe aanmelding", Key::Enter)
        .await
        .unwrap();
    browser.wait_for_text("Aanmelding").await.unwrap();
    let err = browser
        .tab_to("Bestaat niet")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Tab did not reach") && err.contains("\"Opslaan\""),
        "{err}"
    );
    browser.close().await;
}

#[tokio::test]
async fn screenshots_are_png_files_under_target() {
    let Some(mut browser) = Browser::start_or_skip("browser_harness_screenshot").await else {
        return;
    };
    let base = serve().await;
    browser.goto(&format!("{base}/aanmelden")).await.unwrap();
    let first = browser.screenshot("formulier").await.unwrap();
    let second = browser.screenshot("nog een").await.unwrap();
    assert_eq!(
        first.file_name().unwrap().to_str(),
        Some("01-formulier.png")
    );
    assert_eq!(second.file_name().unwrap().to_str(), Some("02-nog_een.png"));
    assert!(
        first.starts_with(browser.screenshot_dir()),
        "{}",
        first.display()
    );
    let png = std::fs::read(&first).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        width >= 800 && height >= 500,
        "a whole viewport: {width}×{height}"
    );
    assert!(
        png.len() > 5_000,
        "a page with text, not a blank: {} bytes",
        png.len()
    );

    // A wait is bounded: it gives up, shows what the page had and saves a screenshot of it.
    browser.set_wait_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let err = browser
        .wait_for_text("Tekst die nooit komt")
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(20), "bounded");
    assert!(
        err.contains("Naam van de cliënt") && err.contains("03-timeout.png"),
        "{err}"
    );
    eprintln!("screenshots in {}", browser.screenshot_dir().display());
    browser.close().await;
}

#[tokio::test]
async fn axe_passes_the_good_page_and_catches_a_missing_label() {
    let Some(browser) = Browser::start_or_skip("browser_harness_axe").await else {
        return;
    };
    let base = serve().await;
    browser.goto(&format!("{base}/aanmelden")).await.unwrap();
    let violations = browser.axe().await.unwrap();
    assert!(
        violations.is_empty(),
        "{}",
        weerthuis_tests::browser::describe(&violations)
    );

    // The negative control: the same check on a field without a label finds it.
    browser.goto(&format!("{base}/kapot")).await.unwrap();
    let violations = browser.axe().await.unwrap();
    let label = violations
        .iter()
        .find(|v| v.id == "label")
        .unwrap_or_else(|| panic!("axe missed the unlabelled field: {violations:?}"));
    assert!(label.impact.is_some() && !label.help.is_empty());
    assert!(
        label
            .nodes
            .iter()
            .any(|n| n.html.contains("zonder_label") && !n.target.is_empty()),
        "{label}"
    );

    // And assert_accessible fails, listing it. In a task of its own, so its panic can be looked at.
    eprintln!("expected: a panic of assert_accessible on the broken page follows");
    let outcome = tokio::spawn(async move {
        browser.assert_accessible("kapot").await;
    })
    .await;
    let panic = outcome.expect_err("assert_accessible passed a page without a label");
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(
        message.contains("violation") && message.contains("label (critical)"),
        "{message}"
    );
}
