//! The monitor page on the Transferpunt's local API (`GET /api/v1/monitor`, token-protected): the open alerts,
//! then the current year's figures with their charts. For the Transferpunt's own staff, so counts are not
//! suppressed (as the Excel monitor before it); the jaarverslag for others is.

use std::fmt::Write as _;

use policies::Gemeenten;
use policies::werkdagen::Werkdagen;
use time::Date;

use crate::MonitorCase;
use crate::alerts::open_alerts;
use crate::jaarverslag::{self, esc, html_page, html_table};

/// The page for `today`: open alerts and the figures of `today`'s year.
pub fn render(
    cases: &[MonitorCase],
    today: Date,
    cal: &Werkdagen,
    gemeenten: &Gemeenten,
) -> String {
    html_page(
        &format!(
            "Uitstroommonitor {}",
            esc(&policies::form::format_date(today))
        ),
        &body(cases, today, cal, gemeenten),
    )
}

/// The page's content without the document around it, for a page that has its own (the werkplek's).
pub fn body(cases: &[MonitorCase], today: Date, cal: &Werkdagen, gemeenten: &Gemeenten) -> String {
    let alerts = open_alerts(cases, today, cal);
    let overdue = alerts.iter().filter(|a| a.overdue).count();
    let mut body = format!(
        "<h1>Uitstroommonitor Transferpunt Weer Thuis</h1>\n<p>Stand op {}: {} casussen, {} open signalen \
         waarvan {} over de termijn.</p>\n<h2>Open signalen</h2>\n",
        policies::form::format_date(today),
        cases.len(),
        alerts.len(),
        overdue
    );
    if alerts.is_empty() {
        body.push_str("<p>Geen open signalen.</p>\n");
    } else {
        let header = ["Termijn", "Signaal", "Aan", "Casus", "Status"].map(String::from);
        let rows: Vec<Vec<String>> = alerts
            .iter()
            .map(|a| {
                vec![
                    policies::form::format_date(a.deadline),
                    a.kind.description().to_string(),
                    a.addressee.clone(),
                    a.case.clone(),
                    if a.overdue { "verlopen" } else { "binnenkort" }.to_string(),
                ]
            })
            .collect();
        html_table(&mut body, &header, &rows);
    }
    let report = jaarverslag::build(cases, today.year(), 1, gemeenten);
    let _ = write!(
        body,
        "<h2>Cijfers {}</h2>\n{}",
        today.year(),
        report.html_sections()
    );
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_tests::fixture;
    use time::macros::date;

    #[test]
    fn page_shows_alerts_and_figures() {
        let html = render(
            &fixture(),
            date!(2025 - 12 - 01),
            &Werkdagen::new(),
            &Gemeenten::friesland(),
        );
        assert!(html.contains("<html lang=\"nl\">"));
        assert!(html.contains("6 casussen, 0 open signalen"), "{html}");
        assert!(
            html.contains("<th>Leeuwarden</th><td>2</td><td>0</td><td>2</td>"),
            "{html}"
        );
        assert!(html.contains("<svg"));
        let later = render(
            &fixture(),
            date!(2027 - 03 - 01),
            &Werkdagen::new(),
            &Gemeenten::friesland(),
        );
        assert!(
            later.contains("3-partijenhuurovereenkomst loopt af"),
            "{later}"
        );
        assert!(later.contains("corporatie:elkien"));
    }

    /// The alerts of issue 17 reach the page like every rule, in Dutch, addressed to the partner who must act.
    #[test]
    fn page_shows_the_new_deadline_alerts_in_dutch() {
        let cases = vec![
            crate::fixture_tests::case(
                "u",
                &[(
                    "plaatsing",
                    serde_json::json!({"soort_mutatie": "uitstroom_zelfstandig", "datum_mutatie": "2025-06-10", "definitieve_uitstroomgemeente": "GM0080"}),
                )],
            ),
            crate::fixture_tests::case(
                "bw",
                &[
                    (
                        "registratie",
                        serde_json::json!({"soort_voorziening": "beschermd_wonen", "start_verblijf_opvang": "2024-01-01", "verblijfgemeente": "GM0090", "datum_aanmelding_transferpunt": "2025-05-01", "betrokken_zorgaanbieder": "zorgaanbieder:limor"}),
                    ),
                    (
                        "gemeente/gemeente:GM0090",
                        serde_json::json!({"soort_beschikking": "beschermd_wonen", "beschikking_startdatum": "2024-01-01", "beschikking_einddatum": "2025-12-01"}),
                    ),
                ],
            ),
        ];
        let html = render(
            &cases,
            date!(2025 - 06 - 20),
            &Werkdagen::new(),
            &Gemeenten::friesland(),
        );
        assert!(
            html.contains("2 casussen, 3 open signalen waarvan 3 over de termijn"),
            "{html}"
        );
        for (tekst, aan) in [
            (
                "Uitgestroomd zonder Wmo-beschikking of startdatum ondersteuning",
                "gemeente:GM0080",
            ),
            (
                "Aanmelding bij het gebiedsteam van de nieuwe gemeente uiterlijk een half jaar voor einde BW-beschikking",
                "gemeente:GM0090",
            ),
            (
                "Aanmeldformulier binnen 2 weken na registratie (BW)",
                "zorgaanbieder:limor",
            ),
        ] {
            assert!(
                html.contains(&format!("<td>{tekst}</td><td>{aan}</td>")),
                "{tekst}: {html}"
            );
        }
    }

    /// The page in headless Chromium (Debian's `chromium`): it parses, and the DOM holds the numbers and the
    /// charts. Skipped when Chromium is not installed, unless `WEERTHUIS_REQUIRE_CHROMIUM` is set (CI sets it).
    #[test]
    fn page_renders_in_headless_chromium() {
        let required = std::env::var_os("WEERTHUIS_REQUIRE_CHROMIUM").is_some();
        let html = render(
            &fixture(),
            date!(2027 - 03 - 01),
            &Werkdagen::new(),
            &Gemeenten::friesland(),
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("monitor.html");
        std::fs::write(&file, html).unwrap();
        // Bounded: a browser that hangs must not hang the test run.
        let out = std::process::Command::new("timeout")
            .args([
                "60",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--dump-dom",
            ])
            .arg(format!("file://{}", file.display()))
            .output()
            .expect("coreutils timeout runs");
        // 127: chromium is not installed.
        if out.status.code() == Some(127) {
            assert!(!required, "chromium is required but not installed");
            eprintln!("chromium not installed: skipped");
            return;
        }
        assert!(
            out.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains("Uitstroommonitor Transferpunt Weer Thuis"),
            "{dom}"
        );
        assert!(dom.contains("<th>2025</th><td>3</td><td>2</td>"), "{dom}");
        assert!(dom.contains("3-partijenhuurovereenkomst loopt af"));
        assert!(dom.matches("<svg").count() >= 2, "{dom}");
    }
}
