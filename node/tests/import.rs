//! `weerthuis import --xlsx/--csv`: the Transferpunt's Excel uitstroommonitor into its node.
//!
//! The fixture is a workbook generated here with `rust_xlsxwriter` (as the jaarverslag writes its tables): three
//! years, 2022–2024, one row per client, whose figures are the evaluation's table (Tabel 1–3: requests,
//! bemiddelingen, lead time, share back to the herkomstgemeente, lease types). The import is checked by the
//! monitor's own figures and by the jaarverslag the real binary writes from the imported cases.

use std::path::Path;
use std::process::Command;

use node::audit::Operation;
use node::import::{Mapping, Options, Source};
use node::monitor::indicators::{Jaarcijfers, per_jaar};
use policies::examples::fictitious_bsn;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use time::{Date, Duration, Month};

// ---------------------------------------------------------------------------------------------------------------
// The fixture: the evaluation's three years as rows of the Excel monitor

/// A cell to write.
#[derive(Debug, Clone)]
enum V {
    S(String),
    N(f64),
    D(Date),
    E,
}

impl V {
    fn s(s: &str) -> V {
        V::S(s.to_string())
    }

    fn opt(s: Option<&str>) -> V {
        s.map_or(V::E, V::s)
    }

    fn date(d: Option<Date>) -> V {
        d.map_or(V::E, V::D)
    }

    /// As a CSV export writes it: dates as DD-MM-JJJJ.
    fn text(&self) -> String {
        match self {
            V::S(s) => s.clone(),
            V::N(n) => format!("{}", *n as i64),
            V::D(d) => format!("{:02}-{:02}-{}", d.day(), d.month() as u8, d.year()),
            V::E => String::new(),
        }
    }
}

/// The evaluation's layout.
const HEADERS: [&str; 17] = [
    "Naam",
    "BSN",
    "Geboortedatum",
    "Zorgaanbieder",
    "Voorziening",
    "Herkomstgemeente",
    "Start verblijf",
    "Datum verzoek",
    "Status verzoek",
    "Reden afwijzing",
    "Datum afgesloten",
    "Datum uitstroom",
    "Soort uitstroom",
    "Uitstroomgemeente",
    "Corporatie",
    "Huurcontract",
    "Type woning",
];

/// One client of the monitor.
#[derive(Debug, Clone)]
struct Row {
    naam: String,
    bsn: String,
    geboren: Date,
    zorgaanbieder: &'static str,
    voorziening: &'static str,
    herkomst: Option<&'static str>,
    start: Date,
    verzoek: Option<Date>,
    status: Option<&'static str>,
    reden: Option<&'static str>,
    afgesloten: Option<Date>,
    uitstroom: Option<Date>,
    soort: Option<&'static str>,
    gemeente: Option<&'static str>,
    corporatie: Option<&'static str>,
    huur: Option<&'static str>,
    woning: Option<&'static str>,
}

impl Row {
    fn client(n: u64, start: Date) -> Row {
        Row {
            naam: format!("Cliënt {n}, A."),
            bsn: fictitious_bsn(n),
            geboren: date(1980, 1, 1) + Duration::days((n * 37 % 7000) as i64),
            zorgaanbieder: ["Limor", "Kwadrant", "Leger des Heils", "De Zijlen"][(n % 4) as usize],
            voorziening: if n.is_multiple_of(3) { "MO" } else { "BW" },
            herkomst: Some(GEMEENTEN[(n % 4) as usize]),
            start,
            verzoek: None,
            status: None,
            reden: None,
            afgesloten: None,
            uitstroom: None,
            soort: None,
            gemeente: None,
            corporatie: None,
            huur: None,
            woning: None,
        }
    }

    /// The cells; the BSN of every other row as a number cell, as Excel keeps a number typed in.
    fn cells(&self, n: usize) -> Vec<V> {
        vec![
            V::s(&self.naam),
            if n.is_multiple_of(2) {
                V::N(self.bsn.parse().expect("digits"))
            } else {
                V::s(&self.bsn)
            },
            V::D(self.geboren),
            V::s(self.zorgaanbieder),
            V::s(self.voorziening),
            V::opt(self.herkomst),
            V::D(self.start),
            V::date(self.verzoek),
            V::opt(self.status),
            V::opt(self.reden),
            V::date(self.afgesloten),
            V::date(self.uitstroom),
            V::opt(self.soort),
            V::opt(self.gemeente),
            V::opt(self.corporatie),
            V::opt(self.huur),
            V::opt(self.woning),
        ]
    }
}

/// Gemeenten by name and by code, as a monitor has them both.
const GEMEENTEN: [&str; 4] = ["Leeuwarden", "GM0074", "Súdwest-Fryslân", "Smallingerland"];
const ELDERS: [&str; 4] = ["Heerenveen", "Leeuwarden", "GM0080", "Súdwest-Fryslân"];

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).expect("month"), d).expect("date")
}

/// One year of the evaluation's table, and what the fixture adds to reach it.
struct Year {
    jaar: i32,
    verzoeken: u32,
    bemiddelingen: u32,
    /// Mean lead time (months) — Figuur 3.
    maanden: f64,
    /// Bemiddelde clients whose herkomstgemeente the monitor does not know.
    herkomst_onbekend: u32,
    /// Of the others, back to the herkomstgemeente — Tabel 3.
    terug: u32,
    /// Regular outflow reported to the Transferpunt (the lease shares are over all uitstroom, as the monitor
    /// computes them).
    regulier: u32,
    /// 3-partijen and own-name leases among all uitstroom — Tabel 2; `None`: not registered (2024).
    huur: Option<(u32, u32)>,
}

/// The evaluation's Tabel 1–3 and Figuur 3.
const YEARS: [Year; 3] = [
    Year {
        jaar: 2022,
        verzoeken: 95,
        bemiddelingen: 45,
        maanden: 4.2,
        herkomst_onbekend: 0,
        terug: 24,
        regulier: 55,
        huur: Some((34, 61)),
    },
    Year {
        jaar: 2023,
        verzoeken: 135,
        bemiddelingen: 71,
        maanden: 6.1,
        herkomst_onbekend: 2,
        terug: 44,
        regulier: 29,
        huur: Some((25, 71)),
    },
    Year {
        jaar: 2024,
        verzoeken: 141,
        bemiddelingen: 52,
        maanden: 7.2,
        herkomst_onbekend: 2,
        terug: 35,
        regulier: 30,
        huur: None,
    },
];

const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// The rows of the three years.
fn evaluation_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut n = 1u64;
    for y in &YEARS {
        let jan1 = date(y.jaar, 1, 1);
        let b = y.bemiddelingen as usize;
        // Lead times around the year's mean, in pairs that cancel; the last one makes the sum exact.
        let base = (y.maanden * DAYS_PER_MONTH).round() as i64;
        let total = (y.maanden * DAYS_PER_MONTH * b as f64).round() as i64;
        let mut leads: Vec<i64> = (0..b)
            .map(|i| {
                let step = ((i / 2) % 12) as i64 * 5;
                if i % 2 == 0 { base + step } else { base - step }
            })
            .collect();
        let rest: i64 = leads[..b - 1].iter().sum();
        leads[b - 1] = total - rest;
        let longest = *leads.iter().max().expect("leads");
        let (drie, eigen) = y.huur.unwrap_or((0, 0));
        let mut eigen_left = eigen;
        let mut known = 0;
        for (i, lead) in leads.iter().enumerate() {
            // Moves spread over the rest of the year, each request in the same year.
            let move_day = longest + 1 + (i as i64) * (363 - longest) / b as i64;
            let uitstroom = jan1 + Duration::days(move_day);
            let verzoek = uitstroom - Duration::days(*lead);
            let mut r = Row::client(n, verzoek - Duration::days(200));
            r.verzoek = Some(verzoek);
            r.status = Some("Goedgekeurd");
            r.uitstroom = Some(uitstroom);
            r.soort = Some("Bemiddeling");
            r.corporatie = Some(["Elkien", "Accolade", "WoonFriesland", "Thús Wonen"][i % 4]);
            r.woning = Some("Sociale huur");
            if (i as u32) < y.herkomst_onbekend {
                r.herkomst = None;
                r.gemeente = Some("Leeuwarden");
            } else {
                r.gemeente = if known < y.terug {
                    r.herkomst
                } else {
                    Some(ELDERS[(n % 4) as usize])
                };
                known += 1;
            }
            if y.huur.is_some() {
                r.huur = if (i as u32) < drie {
                    Some(if i % 2 == 0 {
                        "3-partijen"
                    } else {
                        "Driepartijenhuurovereenkomst"
                    })
                } else {
                    eigen_left -= 1;
                    Some("Op eigen naam")
                };
            }
            rows.push(r);
            n += 1;
        }
        // Requests that did not end in a bemiddeling that year: refused, withdrawn, or (2024) still running.
        let others = (y.verzoeken - y.bemiddelingen) as i64;
        for j in 0..others {
            let verzoek = jan1 + Duration::days(5 + j * 300 / others);
            let mut r = Row::client(n, verzoek - Duration::days(120));
            r.verzoek = Some(verzoek);
            match j % 6 {
                0 => {
                    r.status = Some("Ingetrokken");
                    r.reden = Some("Cliënt trekt in");
                }
                1 | 2 => {
                    r.status = Some("Afgewezen");
                    r.reden = Some("Onvoldoende eigen inspanning");
                }
                5 if y.jaar == 2024 => r.status = Some("In behandeling"),
                _ => {
                    r.status = Some("Afgewezen");
                    r.reden = Some("Onvolledige informatie");
                }
            }
            if r.reden.is_some() {
                r.afgesloten = Some(verzoek + Duration::days(28));
            }
            rows.push(r);
            n += 1;
        }
        // Regular outflow, reported as the covenant asks; the leases not yet counted among the bemiddelde.
        for k in 0..y.regulier as i64 {
            let uitstroom = jan1 + Duration::days(20 + k * 320 / i64::from(y.regulier));
            let mut r = Row::client(n, uitstroom - Duration::days(150));
            r.uitstroom = Some(uitstroom);
            r.soort = Some("Regulier");
            r.gemeente = r.herkomst.or(Some("Leeuwarden"));
            r.woning = Some(if k % 2 == 0 {
                "Particuliere huur"
            } else {
                "Sociale huur"
            });
            if y.huur.is_some() {
                r.huur = if eigen_left > 0 {
                    eigen_left -= 1;
                    Some("Eigen naam")
                } else if k % 2 == 0 {
                    Some("Onbekend")
                } else {
                    None
                };
            }
            rows.push(r);
            n += 1;
        }
        assert_eq!(eigen_left, 0, "{}: every own-name lease placed", y.jaar);
    }
    rows
}

/// Write rows as a workbook with the monitor's sheet: dates as date cells, as Excel keeps them.
fn write_workbook(
    path: &Path,
    sheet: &str,
    title: Option<&str>,
    headers: &[&str],
    rows: &[Vec<V>],
) {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).expect("sheet name");
    let datum = Format::new().set_num_format("dd-mm-yyyy");
    let mut r = 0u32;
    if let Some(t) = title {
        ws.write_string(r, 0, t).expect("title");
        r += 2;
    }
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(r, c as u16, *h).expect("header");
    }
    for row in rows {
        r += 1;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                V::S(s) => {
                    ws.write_string(r, c, s).expect("text");
                }
                V::N(x) => {
                    ws.write_number(r, c, *x).expect("number");
                }
                V::D(d) => {
                    let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day())
                        .expect("date");
                    ws.write_datetime_with_format(r, c, &dt, &datum)
                        .expect("date");
                }
                V::E => {}
            }
        }
    }
    book.save(path).expect("save workbook");
}

/// Write rows as Excel's Dutch CSV export: `;`, dates as DD-MM-JJJJ, Windows-1252.
fn write_csv(path: &Path, headers: &[&str], rows: &[Vec<V>]) {
    let mut text = headers.join(";");
    text.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(V::text).collect();
        text.push_str(&line.join(";"));
        text.push_str("\r\n");
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    std::fs::write(path, bytes).expect("write csv");
}

fn fixture_cells(rows: &[Row]) -> Vec<Vec<V>> {
    rows.iter().enumerate().map(|(i, r)| r.cells(i)).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

fn weerthuis(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(args)
        .env_remove("WEERTHUIS_DIR")
        .output()
        .expect("the weerthuis binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

fn init(dir: &Path, partner: &str) {
    let (code, out, err) =
        weerthuis(&["init", "--dir", dir.to_str().unwrap(), "--partner", partner]);
    assert_eq!(code, 0, "{out}{err}");
}

fn pct(n: u32, of: u32) -> String {
    format!("{:.0}%", f64::from(n) * 100.0 / f64::from(of))
}

/// The evaluation's figures of a year, as the monitor computes them from the cases.
fn check_year(y: &Jaarcijfers, e: &Year) {
    let j = e.jaar;
    assert_eq!(y.verzoeken, e.verzoeken, "{j}: bemiddelingsverzoeken");
    assert_eq!(y.bemiddeld, e.bemiddelingen, "{j}: bemiddelingen");
    let maanden = y.doorlooptijd_maanden().expect("lead time");
    assert_eq!(
        format!("{maanden:.1}"),
        format!("{:.1}", e.maanden),
        "{j}: lead time"
    );
    assert_eq!(
        y.herkomst_bekend,
        e.bemiddelingen - e.herkomst_onbekend,
        "{j}"
    );
    assert_eq!(
        y.terug_naar_herkomst, e.terug,
        "{j}: back to the herkomstgemeente"
    );
    assert_eq!(
        y.uitstroom(),
        e.bemiddelingen + e.regulier,
        "{j}: uitstroom"
    );
    match e.huur {
        Some((drie, eigen)) => {
            assert_eq!(
                (y.drie_partijen, y.eigen_naam),
                (drie, eigen),
                "{j}: leases"
            );
        }
        None => assert_eq!(
            y.huurcontract_onbekend,
            y.uitstroom(),
            "{j}: leases not registered"
        ),
    }
}

async fn open(dir: &Path) -> std::sync::Arc<node::service::Node> {
    node::app::open(dir).await.expect("open the node").1
}

async fn import_entries(node: &node::service::Node) -> Vec<node::audit::AuditEntry> {
    node.store()
        .audit_records(0, 100_000)
        .await
        .expect("audit")
        .iter()
        .filter_map(|r| r.parse().ok())
        .map(|e| e.entry)
        .filter(|e| e.name == Operation::Import)
        .collect()
}

fn user() -> node::store::User {
    node::store::User {
        id: "test:import".into(),
        name: "import test".into(),
        purpose: "import".into(),
        role: node::access::UserRole::Medewerker,
        login: None,
        created_at: time::OffsetDateTime::now_utc(),
        revoked: false,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests

/// The generated monitor of 2022–2024 through `weerthuis import --xlsx`, then the monitor's figures and the
/// jaarverslag the binary writes: the evaluation's table, year by year.
#[tokio::test(flavor = "multi_thread")]
async fn three_years_of_the_excel_monitor_reproduce_the_evaluations_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("transferpunt");
    init(&dir, "transferpunt:sdf");
    let rows = evaluation_rows();
    let xlsx = tmp.path().join("monitor.xlsx");
    write_workbook(&xlsx, "Monitor", None, &HEADERS, &fixture_cells(&rows));

    let d = dir.to_str().unwrap();
    let (code, out, err) = weerthuis(&["import", "--dir", d, "--xlsx", xlsx.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("Blad 'Monitor': {} rij(en) gelezen.", rows.len())),
        "{out}"
    );
    assert!(
        out.contains(&format!("Geïmporteerd: {} cliënt(en)", rows.len())),
        "{out}"
    );

    let node = open(&dir).await;
    let cases = node::monitor::load_cases(&node).await.unwrap();
    assert_eq!(cases.len(), rows.len());
    let years = per_jaar(&cases);
    for e in &YEARS {
        check_year(&years[&e.jaar], e);
    }
    let totaal: u32 = YEARS.iter().map(|e| years[&e.jaar].verzoeken).sum();
    let bemiddeld: u32 = YEARS.iter().map(|e| years[&e.jaar].bemiddeld).sum();
    assert_eq!((totaal, bemiddeld), (371, 168), "Tabel 1, Totaal");

    // Audited as imports: one record per form, field names only.
    let entries = import_entries(&node).await;
    let forms: usize = rows
        .iter()
        .map(|r| 1 + 2 * usize::from(r.verzoek.is_some()) + usize::from(r.uitstroom.is_some()))
        .sum();
    assert_eq!(entries.len(), forms);
    assert!(
        entries
            .iter()
            .all(|e| e.processing_activity_id == node::import::ACTIVITY
                && e.user.as_deref() == Some("cli:import"))
    );
    let log = serde_json::to_string(&entries).unwrap();
    for r in &rows {
        assert!(
            !log.contains(&r.bsn) && !log.contains(&r.naam),
            "no personal data in the log"
        );
    }
    node.store().close().await;
    let (code, out, _) = weerthuis(&["audit", "verify", "--dir", d]);
    assert_eq!(code, 0, "{out}");

    // The jaarverslag the binary writes from the imported cases: the evaluation's rows.
    let verslag = tmp.path().join("verslag");
    let (code, out, err) = weerthuis(&[
        "jaarverslag",
        "--dir",
        d,
        "--jaar",
        "2024",
        "--out",
        verslag.to_str().unwrap(),
        "--drempel",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let md = std::fs::read_to_string(verslag.join("jaarverslag-2024.md")).unwrap();
    for line in [
        "| 2022 | 95 | 45 | 4,2 | 53% | 34% / 61% / 5% |",
        "| 2023 | 135 | 71 | 6,1 | 64% | 25% / 71% / 4% |",
        // 2024: the evaluation has no lease figures; the monitor shows them all as unknown.
        "| 2024 | 141 | 52 | 7,2 | 70% | 0% / 0% / 100% |",
    ] {
        assert!(md.contains(line), "{line} not in\n{md}");
    }
    assert_eq!(
        pct(44, 69),
        "64%",
        "Tabel 3, 2023: two herkomstgemeenten unknown"
    );
}

/// The same monitor saved as CSV by a Dutch Excel (`;`, DD-MM-JJJJ, Windows-1252) gives the same figures.
#[tokio::test(flavor = "multi_thread")]
async fn the_monitor_as_csv_gives_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("transferpunt");
    init(&dir, "transferpunt:sdf");
    let rows = evaluation_rows();
    let csv = tmp.path().join("monitor.csv");
    write_csv(&csv, &HEADERS, &fixture_cells(&rows));
    let node = open(&dir).await;
    let options = Options {
        source: Source::Csv(csv),
        mapping: Mapping::standard(),
        skip_invalid: false,
    };
    let report = node::import::import(&node, &user(), &options)
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.problems);
    assert_eq!(report.place, "Bestand 'monitor.csv'");
    let years = per_jaar(&node::monitor::load_cases(&node).await.unwrap());
    for e in &YEARS {
        check_year(&years[&e.jaar], e);
    }
    // Súdwest-Fryslân survived Windows-1252: clients from there count under its code.
    assert!(years[&2022].per_gemeente.contains_key("GM1900"));
}

/// A workbook with mistakes: every problem named by sheet, row and column in Dutch, nothing imported; with
/// `--skip-invalid` the valid row is imported and the others are listed; importing again doubles nothing.
#[tokio::test(flavor = "multi_thread")]
async fn every_problem_is_named_by_sheet_row_and_cell_and_nothing_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("transferpunt");
    init(&dir, "transferpunt:sdf");
    let good = {
        let mut r = Row::client(1, date(2022, 1, 10));
        r.verzoek = Some(date(2022, 3, 1));
        r.uitstroom = Some(date(2022, 8, 1));
        r.soort = Some("Bemiddeling");
        r.gemeente = Some("Leeuwarden");
        r.huur = Some("Eigen naam");
        r
    };
    let mut rows: Vec<Vec<V>> = vec![good.cells(1)];
    // Row 3: a BSN that fails the elfproef, typed as a number.
    let mut r = good.clone().cells(1);
    r[1] = V::N(123_456_789.0);
    rows.push(r);
    // Row 4: a birth date that is no date, a voorziening not in the list.
    let mut r = Row::client(4, date(2022, 1, 10)).cells(1);
    r[2] = V::s("31-02-1990");
    r[4] = V::s("Kliniek");
    rows.push(r);
    // Row 5: an outflow in the future.
    let mut r = Row::client(5, date(2022, 1, 10));
    r.uitstroom = Some(date(2099, 1, 1));
    rows.push(r.cells(1));
    // Row 6: a refusal without a request date.
    let mut r = Row::client(6, date(2022, 1, 10));
    r.status = Some("Afgewezen");
    r.reden = Some("Onvolledige informatie");
    rows.push(r.cells(1));
    // Row 7: row 2 again.
    rows.push(good.cells(1));
    // Row 8: a request before the stay began.
    let mut r = Row::client(8, date(2022, 5, 1));
    r.verzoek = Some(date(2022, 4, 1));
    rows.push(r.cells(1));
    // Row 9: refused, no reason; an Excel error in the corporatie.
    let mut r = Row::client(9, date(2022, 1, 10));
    r.verzoek = Some(date(2022, 3, 1));
    r.status = Some("Afgewezen");
    let mut cells = r.cells(1);
    cells[14] = V::s("#N/A");
    rows.push(cells);
    let xlsx = tmp.path().join("monitor.xlsx");
    write_workbook(&xlsx, "Monitor", None, &HEADERS, &rows);
    let d = dir.to_str().unwrap();
    let x = xlsx.to_str().unwrap();

    let (code, out, err) = weerthuis(&["import", "--dir", d, "--xlsx", x]);
    assert_eq!(code, 1, "{out}{err}");
    for line in [
        "- Blad 'Monitor', rij 3, kolom 'BSN': 123456789 — dit BSN klopt niet: het voldoet niet aan de elfproef",
        "- Blad 'Monitor', rij 4, kolom 'Geboortedatum': 31-02-1990 — geen datum;",
        "- Blad 'Monitor', rij 4, kolom 'Voorziening': Kliniek — onbekende waarde; kies één van: beschermd_wonen, \
         maatschappelijke_opvang",
        "- Blad 'Monitor', rij 5, kolom 'Datum uitstroom': 01-01-2099 — deze datum ligt in de toekomst",
        "- Blad 'Monitor', rij 6, kolom 'Status verzoek': Afgewezen — hoort bij een bemiddelingsverzoek, maar kolom \
         'Datum verzoek' is leeg",
        "- Blad 'Monitor', rij 7, kolom 'Datum verzoek': 01-03-2022 — deze cliënt staat met dezelfde datum ook in rij 2",
        "- Blad 'Monitor', rij 8, kolom 'Datum verzoek': 01-04-2022 — deze datum ligt vóór \
         registratie.start_verblijf_opvang",
        "- Blad 'Monitor', rij 9, kolom 'Reden afwijzing': dit veld is verplicht omdat status 'afgewezen' is",
        "- Blad 'Monitor', rij 9, kolom 'Corporatie': #N/A — de cel bevat een Excel-fout",
        "Niets geïmporteerd: 7 rij(en) hebben een probleem.",
    ] {
        assert!(out.contains(line), "missing:\n{line}\nin:\n{out}");
    }
    // A row whose birth date could not be read is not also told the birth date is missing.
    assert!(
        !out.contains("rij 4, kolom 'Geboortedatum': dit veld is verplicht"),
        "{out}"
    );
    let node = open(&dir).await;
    assert_eq!(
        node.store().list_cases_count().await.unwrap(),
        0,
        "nothing imported"
    );
    assert!(
        import_entries(&node).await.is_empty(),
        "nothing audited as imported"
    );
    node.store().close().await;

    let (code, out, err) = weerthuis(&["import", "--dir", d, "--xlsx", x, "--skip-invalid"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Weggelaten: 7 rij(en): 3, 4, 5, 6, 7, 8, 9."),
        "{out}"
    );
    assert!(out.contains("Geïmporteerd: 1 cliënt(en)"), "{out}");
    let node = open(&dir).await;
    assert_eq!(node.store().list_cases_count().await.unwrap(), 1);
    node.store().close().await;

    // Importing again: the client is there already and is not counted twice.
    let (code, out, _) = weerthuis(&["import", "--dir", d, "--xlsx", x, "--skip-invalid"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rij 2, kolom 'Datum verzoek': 01-03-2022 — deze cliënt staat met dezelfde datum al in de node"), "{out}");
    assert!(out.contains("Geïmporteerd: 0 cliënt(en)"), "{out}");
    let node = open(&dir).await;
    assert_eq!(node.store().list_cases_count().await.unwrap(), 1);
}

/// A workbook of its own making: another sheet, a title above the header, other headers and spellings, read
/// through a mapping file; without it the missing column is named.
#[tokio::test(flavor = "multi_thread")]
async fn a_mapping_file_reads_other_headers_sheets_and_spellings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("transferpunt");
    init(&dir, "transferpunt:sdf");
    let headers = [
        "Cliënt",
        "Sofinummer",
        "Geboortedatum",
        "Aanbieder",
        "BW/MO",
        "Herkomstgemeente",
        "Aanvraag",
        "Verhuisd op",
        "Bemiddeld of regulier",
        "Uitstroomgemeente",
        "Huurvorm",
        "Opmerkingen",
    ];
    let rows = vec![
        vec![
            V::s("Hoekstra, T."),
            V::s(&fictitious_bsn(70)),
            V::D(date(1990, 2, 3)),
            V::s("Limor Wonen"),
            V::s("BW"),
            V::s("Leeuwarden"),
            V::D(date(2023, 2, 1)),
            V::D(date(2023, 9, 1)),
            V::s("bemiddeld"),
            V::s("GM0080"),
            V::s("3P"),
            V::s("vrije tekst die niet wordt gelezen"),
        ],
        vec![
            V::s("Bakker, S."),
            V::s(&fictitious_bsn(71)),
            V::D(date(1985, 6, 7)),
            V::s("Limor Wonen"),
            V::s("MO"),
            V::s("Heerenveen"),
            V::E,
            V::D(date(2023, 5, 1)),
            V::s("regulier"),
            V::s("Heerenveen"),
            V::s("EN"),
            V::E,
        ],
    ];
    let xlsx = tmp.path().join("eigen.xlsx");
    write_workbook(
        &xlsx,
        "Uitstroom",
        Some("Uitstroommonitor Transferpunt 2023"),
        &headers,
        &rows,
    );
    let d = dir.to_str().unwrap();
    let x = xlsx.to_str().unwrap();

    // Without the mapping: the sheet is not called Monitor, so the first is read; its first row is a title.
    let (code, out, err) = weerthuis(&["import", "--dir", d, "--xlsx", x]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(
            "Blad 'Uitstroom': in de kopregel (rij 1) ontbreekt: 'Naam', 'BSN', 'Geboortedatum', \
         'Zorgaanbieder', 'Voorziening'"
        ),
        "{err}"
    );
    assert!(err.contains("--mapping"), "{err}");

    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "blad = \"Uitstroom\"\nkopregel = 3\n\n[kolommen]\nbsn = \"Sofinummer\"\nzorgaanbieder = \"Aanbieder\"\n\
         datum_verzoek = \"Aanvraag\"\ndatum_uitstroom = \"Verhuisd op\"\nsoort_huurcontract = \"Huurvorm\"\n\n\
         [waarden.soort_huurcontract]\n\"3P\" = \"drie_partijen\"\n\"EN\" = \"eigen_naam\"\n\n\
         [zorgaanbieders]\n\"Limor Wonen\" = \"zorgaanbieder:limor\"\n",
    )
    .unwrap();
    let (code, out, err) = weerthuis(&[
        "import",
        "--dir",
        d,
        "--xlsx",
        x,
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Niet gelezen kolommen (geen kolom van de monitor): 'Opmerkingen'"),
        "{out}"
    );
    assert!(out.contains("Geïmporteerd: 2 cliënt(en)"), "{out}");
    let node = open(&dir).await;
    let cases = node::monitor::load_cases(&node).await.unwrap();
    let y = per_jaar(&cases).remove(&2023).unwrap();
    assert_eq!((y.verzoeken, y.bemiddeld, y.regulier_totaal()), (1, 1, 1));
    assert_eq!(
        (y.drie_partijen, y.eigen_naam, y.terug_naar_herkomst),
        (1, 1, 1)
    );
    for c in &cases {
        let reg = c.form(policies::DocumentKind::Registratie).unwrap();
        assert_eq!(
            reg.text("betrokken_zorgaanbieder"),
            Some("zorgaanbieder:limor")
        );
        assert_eq!(
            reg.bool("toestemming_gegevensdeling"),
            Some(false),
            "no consent taken over"
        );
    }

    // A mapping file with a mistake is named with its file and key.
    std::fs::write(&mapping, "[kolommen]\nbns = \"Sofinummer\"\n").unwrap();
    let (code, _, err) = weerthuis(&[
        "import",
        "--dir",
        d,
        "--xlsx",
        x,
        "--mapping",
        mapping.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("mapping.toml") && err.contains("'bns'"),
        "{err}"
    );
}

/// Only the Transferpunt keeps the monitor: another partner's node refuses the import before reading a row.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_transferpunt_imports_the_monitor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gemeente");
    init(&dir, "gemeente:GM0080");
    let xlsx = tmp.path().join("monitor.xlsx");
    write_workbook(
        &xlsx,
        "Monitor",
        None,
        &HEADERS,
        &fixture_cells(&evaluation_rows()[..3]),
    );
    let (code, _, err) = weerthuis(&[
        "import",
        "--dir",
        dir.to_str().unwrap(),
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("de uitstroommonitor is van het Transferpunt; deze node is gemeente:GM0080"),
        "{err}"
    );
}

/// The figures of the evaluation's table and the nine indicators the monitor derives from what the Excel monitor
/// holds (not the step durations it never recorded: when a request became complete, registrations at corporaties).
/// The figures with the instroom per gemeente left out (and a gemeente with nothing else dropped).
fn without_instroom(y: &Jaarcijfers) -> Jaarcijfers {
    let mut y = y.clone();
    for g in y.per_gemeente.values_mut() {
        g.instroom = 0;
    }
    y.per_gemeente
        .retain(|_, g| *g != node::monitor::indicators::GemeenteCijfers::default());
    y
}

fn table_figures(y: &Jaarcijfers) -> String {
    format!(
        "verzoeken {} bemiddeld {} doorlooptijd {:?} herkomst {}/{} huur {}/{}/{} regulier {:?} gemeenten {:?} \
         uitval {:?} gestart {:?} beeindigd {:?} afwijzingen {:?}",
        y.verzoeken,
        y.bemiddeld,
        y.doorlooptijd_dagen,
        y.terug_naar_herkomst,
        y.herkomst_bekend,
        y.drie_partijen,
        y.eigen_naam,
        y.huurcontract_onbekend,
        y.regulier,
        y.per_gemeente,
        y.uitval,
        y.gestart,
        y.beeindigd,
        y.afwijzingen,
    )
}

/// One client through the federation (the zorgaanbieder's forms with consent, the Transferpunt's beoordeling, the
/// plaatsing) and one like it from the Excel monitor, at the same Transferpunt: the monitor counts them alike. The
/// imported client reaches no partner: no plan shares anything of it, and after the Transferpunt has sent a later
/// change of the native case, neither partner's files hold its name or BSN.
#[tokio::test(flavor = "multi_thread")]
async fn imported_cases_count_like_native_ones_and_reach_no_partner() {
    use node::harness::{LiveNet, files_contain, wait_until};
    use policies::DocumentKind as D;
    use policies::examples as ex;
    use serde_json::json;

    let (tp, za, gm) = ("transferpunt:sdf", "zorgaanbieder:limor", "gemeente:GM0074");
    let mut net = LiveNet::start(&[tp, za, gm]).await.expect("federation");
    let limit = std::time::Duration::from_secs(60);

    // Native: through the federation.
    let native_client = ex::Client::new("Inheems, N.", 601);
    let case = net.new_case(za).await.unwrap();
    let verzoek = ex::ingediend(
        ex::bemiddelingsverzoek(
            "2023-03-10",
            "Limor",
            Some("Eenpersoonswoning in Heerenveen"),
        ),
        "2023-03-10",
        1,
    );
    for (kind, form) in [
        (
            D::Registratie,
            ex::registratie(
                &native_client,
                za,
                true,
                "beschermd_wonen",
                "GM0074",
                "2023-01-05",
            ),
        ),
        (D::Aanmelding, ex::aanmelding(&native_client, "2023-01-12")),
        (
            D::VervolgWonen,
            ex::vervolg_wonen(&native_client, "GM0074", "2023-03-01"),
        ),
        (D::Bemiddelingsverzoek, verzoek),
    ] {
        net.write(za, &case, kind, None, form).await.unwrap();
    }
    wait_until("the Transferpunt holds the request", limit, || async {
        net.holds(tp, &case)
            .await
            .get("bemiddelingsverzoek")
            .and_then(|v| v.get("datum_verzoek"))
            == Some(&json!("2023-03-10"))
    })
    .await;
    net.write(
        tp,
        &case,
        D::Beoordeling,
        None,
        ex::beoordeling_goedgekeurd("2023-03-11", "2023-03-11", "GM0074"),
    )
    .await
    .unwrap();
    let mut plaatsing = ex::plaatsing(
        &native_client,
        "2023-09-01",
        "Molenweg 12, Heerenveen",
        "GM0074",
        "eigen_naam",
    );
    plaatsing["naam_verhuurder"] = json!("Elkien");
    net.write(za, &case, D::Plaatsing, None, plaatsing)
        .await
        .unwrap();
    wait_until("the Transferpunt holds the plaatsing", limit, || async {
        net.holds(tp, &case)
            .await
            .get("plaatsing")
            .and_then(|v| v.get("datum_mutatie"))
            == Some(&json!("2023-09-01"))
    })
    .await;

    // Imported: the same trajectory, as a row of the Excel monitor.
    let canary = "Importkanarie, Q.";
    let canary_bsn = fictitious_bsn(602);
    let tmp = tempfile::tempdir().unwrap();
    let xlsx = tmp.path().join("monitor.xlsx");
    let row = vec![
        V::s(canary),
        V::s(&canary_bsn),
        V::D(date(1988, 5, 17)),
        V::s("Limor"),
        V::s("Beschermd wonen"),
        V::s("Heerenveen"),
        V::D(date(2023, 1, 5)),
        V::D(date(2023, 3, 10)),
        V::s("Goedgekeurd"),
        V::E,
        V::E,
        V::D(date(2023, 9, 1)),
        V::s("Bemiddeling"),
        V::s("GM0074"),
        V::s("Elkien"),
        V::s("Eigen naam"),
        V::s("Sociale huur"),
    ];
    write_workbook(&xlsx, "Monitor", None, &HEADERS, &[row]);
    let tp_node = net.get(tp).node().clone();
    let options = Options {
        source: Source::Workbook(xlsx),
        mapping: Mapping::standard(),
        skip_invalid: false,
    };
    let report = node::import::import(&tp_node, &user(), &options)
        .await
        .unwrap();
    assert!(report.complete(), "{:?}", report.problems);
    let imported = report.imported[0].1.clone();

    let cases = node::monitor::load_cases(&tp_node).await.unwrap();
    let of = |id: &node::store::CaseId| {
        let c: Vec<_> = cases
            .iter()
            .filter(|c| c.id == id.as_str())
            .cloned()
            .collect();
        assert_eq!(c.len(), 1);
        per_jaar(&c).remove(&2023).expect("2023")
    };
    let (native, from_excel) = (of(&case), of(&imported));
    assert_eq!(
        (native.verzoeken, native.bemiddeld),
        (1, 1),
        "the native case counts"
    );
    // The Excel monitor does not record where a client stayed, so an imported stay starts in no known gemeente: its
    // instroom counts under "onbekend", the native one's under its verblijfgemeente. Everything else is the same.
    let instroom = |y: &Jaarcijfers| -> Vec<(String, u32)> {
        y.per_gemeente
            .iter()
            .filter(|(_, g)| g.instroom > 0)
            .map(|(k, g)| (k.clone(), g.instroom))
            .collect()
    };
    assert_eq!(instroom(&native), vec![("GM0080".to_string(), 1)]);
    assert_eq!(instroom(&from_excel), vec![("onbekend".to_string(), 1)]);
    assert_eq!(
        table_figures(&without_instroom(&from_excel)),
        table_figures(&without_instroom(&native))
    );

    // Nothing of the imported client is for a partner: no document whole, no projection, not even its facts (a
    // notice that consent is missing goes only to a partner that received the case before: none did).
    for peer in [za, gm] {
        let plan = net.plan(tp, peer, &imported).await.expect("a plan");
        assert!(
            plan.full.is_empty() && plan.projection.is_empty(),
            "{peer}: {plan:?}"
        );
        assert!(!plan.consent, "{peer}");
    }
    // A later change of the native case travels; by then the imported cases had their turn.
    let mut afgesloten = ex::beoordeling_goedgekeurd("2023-03-11", "2023-03-11", "GM0074");
    afgesloten["datum_afgesloten"] = json!("2023-09-02");
    net.write(tp, &case, D::Beoordeling, None, afgesloten)
        .await
        .unwrap();
    wait_until(
        "the zorgaanbieder learns the case is closed",
        limit,
        || async {
            net.holds(za, &case)
                .await
                .values()
                .any(|v| v.get("datum_afgesloten") == Some(&json!("2023-09-02")))
        },
    )
    .await;
    let sent = tp_node
        .store()
        .projections_of_case(&imported)
        .await
        .unwrap();
    assert!(
        sent.is_empty(),
        "the Transferpunt made no projection of the imported case"
    );
    for peer in [za, gm] {
        assert!(
            net.holds(peer, &imported).await.is_empty(),
            "{peer} holds the imported case"
        );
        let dir = net.get(peer).path().to_path_buf();
        assert!(
            !files_contain(&dir, canary) && !files_contain(&dir, &canary_bsn),
            "{peer}'s files hold the canary"
        );
    }
    // The native client's name did reach the zorgaanbieder's files (it wrote them): the search looks where data is.
    assert!(files_contain(net.get(za).path(), &native_client.bsn));
    net.shutdown().await;
}
