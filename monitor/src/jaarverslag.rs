//! The jaarverslag (Afspraak 3h): the monitor's figures for one year in Dutch, as Markdown, as HTML with inline SVG
//! charts, and as CSV and XLSX tables. Aggregate and not traceable to individuals: counts under the threshold are
//! suppressed with secondary suppression ([`crate::suppress`]); means and shares are shown only over at least the
//! threshold number of cases.
//!
//! Besides the evaluation's tables: the figures per zorgaanbieder (Bijlage 3: "op het niveau van Gemeenten,
//! Zorgaanbieder en Woningcorporatie"), the balance of in- and outflow per gemeente (Bijlage 1, 1d), and the
//! progress toward the 300 homes of Afspraak 1h over the covenant's term.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use policies::Gemeenten;

use crate::MonitorCase;
use crate::bewaard::{Cijfer, UnknownIndicator, per_jaar_met};
use crate::indicators::{Jaarcijfers, Mean, per_jaar};
use crate::suppress::{Published, Table};

/// The mark of a suppressed value.
pub const HIDDEN: &str = "*";

/// Afspraak 1h: "Richtinggevend is het aantal van 300 woningen verspreid over de provincie Friesland" — homes for
/// uitstromers aangemeld voor bemiddeling; the evaluation (§6.5) counts them as successful bemiddelingen "tot en met
/// 2025".
pub const DOEL_WONINGEN: u32 = 300;

/// The covenant's term in calendar years (Afspraak 10a: in force from 28 January 2022, "tot en met 31 december
/// 2025"). The figures are kept per calendar year, so 2022 counts whole; the monitor's bemiddelingen before 28
/// January 2022 belong to the pilot (Bijlage 1, 3: 2021 and 2022 are pilot years) and count in 2022 as the
/// evaluation's yearly table does.
pub const LOOPTIJD: (i32, i32) = (2022, 2025);

const VOORTGANG: &str =
    "Voortgang naar 300 woningen: bemiddelingen in de looptijd van het convenant (Afspraak 1h)";
const BALANS: &str = "Instroom en uitstroom per gemeente (Bijlage 1, 1d)";
const UITSTROOM_ZORGAANBIEDER: &str = "Uitstroom per zorgaanbieder";
const UITSTROOM_GEMEENTE: &str = "Uitstroom per gemeente";

/// One year of the evaluation's overview table (published: small values already hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewRow {
    /// The year.
    pub year: i32,
    /// Bemiddelingsverzoeken.
    pub verzoeken: Option<u32>,
    /// Bemiddelingen (bemiddelde uitstroom).
    pub bemiddelingen: Option<u32>,
    /// Mean lead time in months.
    pub doorlooptijd_maanden: Option<f64>,
    /// Share back to the herkomstgemeente (0..=1).
    pub aandeel_herkomst: Option<f64>,
    /// Shares of 3-partijen, own name and unknown leases among uitstroom (0..=1).
    pub huurcontracten: Option<(f64, f64, f64)>,
}

/// A mean or duration shown in the report (published: `None` when over fewer cases than the threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// What it is (Dutch, shown).
    pub name: String,
    /// The value, or `None` when over fewer cases than the threshold.
    pub value: Option<f64>,
    /// The unit (Dutch, shown).
    pub unit: String,
}

/// The jaarverslag of one year.
#[derive(Debug, Clone)]
pub struct Jaarverslag {
    /// The year.
    pub year: i32,
    /// The suppression threshold: the smallest count shown.
    pub threshold: u32,
    /// The overview over every year up to this one.
    pub overview: Vec<OverviewRow>,
    /// Means and durations of the year (figure 4 and indicator 9).
    pub measures: Vec<Measure>,
    /// The year's tables, suppressed.
    pub tables: Vec<Published>,
}

fn mean(name: &str, m: &Mean, threshold: u32, unit: &str, scale: f64) -> Measure {
    Measure {
        name: name.into(),
        value: (m.n >= threshold).then(|| m.value().unwrap_or(0.0) * scale),
        unit: unit.into(),
    }
}

fn count(n: u32, threshold: u32) -> Option<u32> {
    (n == 0 || n >= threshold).then_some(n)
}

fn label(code: &str) -> String {
    code.replace('_', " ")
}

fn corporatie(id: &str) -> String {
    id.strip_prefix("corporatie:").unwrap_or(id).to_string()
}

fn zorgaanbieder(id: &str) -> String {
    id.strip_prefix("zorgaanbieder:").unwrap_or(id).to_string()
}

/// A gemeente's name, or its code as a label when the register does not know it.
fn gemeente(gemeenten: &Gemeenten, code: &str) -> String {
    gemeenten
        .name(code)
        .map_or_else(|| label(code), str::to_string)
}

fn single(title: &str, row_heading: &str, rows: Vec<(String, u32)>) -> Table {
    let (rows, cells) = rows.into_iter().map(|(r, n)| (r, vec![n])).unzip();
    Table::new(
        title,
        row_heading,
        rows,
        vec!["Aantal".into()],
        cells,
        false,
    )
}

/// Build the jaarverslag of `year` from every case, with `threshold` as the smallest count shown.
pub fn build(
    cases: &[MonitorCase],
    year: i32,
    threshold: u32,
    gemeenten: &Gemeenten,
) -> Jaarverslag {
    from_years(per_jaar(cases), year, threshold, gemeenten)
}

/// Build the jaarverslag of `year` from every case held and the aggregates kept of cases purged after their
/// bewaartermijn ([`crate::bewaard`]), so a year's report does not change when its cases go.
pub fn build_met(
    cases: &[MonitorCase],
    bewaard: &[Cijfer],
    year: i32,
    threshold: u32,
    gemeenten: &Gemeenten,
) -> Result<Jaarverslag, UnknownIndicator> {
    Ok(from_years(
        per_jaar_met(cases, bewaard)?,
        year,
        threshold,
        gemeenten,
    ))
}

fn from_years(
    all: BTreeMap<i32, Jaarcijfers>,
    year: i32,
    threshold: u32,
    gemeenten: &Gemeenten,
) -> Jaarverslag {
    let y = all.get(&year).cloned().unwrap_or(Jaarcijfers {
        jaar: year,
        ..Default::default()
    });
    let mut tables: Vec<Published> = tables(&y, gemeenten)
        .into_iter()
        .filter(|t| !t.rows.is_empty() && !t.columns.is_empty())
        .map(|t| t.suppress(threshold))
        .collect();
    let uitstroom = tables.iter().find(|t| t.table.title == UITSTROOM_GEMEENTE);
    if let Some(balans) = balans_published(&y, gemeenten, threshold, uitstroom) {
        tables.push(balans);
    }
    let voortgang = voortgang_table(&all, year);
    let mut measures = measures(&y, threshold);
    if !voortgang.rows.is_empty() {
        let published = voortgang_published(&voortgang, threshold);
        let total = published.entries.last().and_then(|r| r[0]);
        measures.push(Measure {
            name: format!(
                "Voortgang naar {DOEL_WONINGEN} woningen (Afspraak 1h), t/m {}",
                year.min(LOOPTIJD.1)
            ),
            value: total.map(|n| f64::from(n) / f64::from(DOEL_WONINGEN) * 100.0),
            unit: format!("% van {DOEL_WONINGEN}"),
        });
        tables.push(published);
    }
    Jaarverslag {
        year,
        threshold,
        overview: overview(&all, year, threshold),
        measures,
        tables,
    }
}

/// The bemiddelingen of each year of the covenant's term up to `year` (none before it began); the totals row is the
/// cumulative count toward the 300 homes.
fn voortgang_table(all: &BTreeMap<i32, Jaarcijfers>, year: i32) -> Table {
    let jaren: Vec<i32> = (LOOPTIJD.0..=year.min(LOOPTIJD.1)).collect();
    Table::new(
        VOORTGANG,
        "Jaar",
        jaren.iter().map(i32::to_string).collect(),
        vec!["Bemiddelingen".into()],
        jaren
            .iter()
            .map(|j| vec![all.get(j).map_or(0, |c| c.bemiddeld)])
            .collect(),
        false,
    )
}

/// The progress table suppressed, and its cumulative total hidden too whenever a year is: the overview publishes
/// each year's bemiddelingen on its own, so a year this table hides by secondary suppression is still shown there,
/// and a published total would then give the small year away.
fn voortgang_published(t: &Table, threshold: u32) -> Published {
    let mut p = t.suppress(threshold);
    let rows = t.rows.len();
    if p.entries[..rows].iter().any(|r| r[0].is_none()) {
        p.entries[rows][0] = None;
    }
    p
}

/// The overview rows of every year up to `year` that had requests or uitstroom.
fn overview(all: &BTreeMap<i32, Jaarcijfers>, year: i32, threshold: u32) -> Vec<OverviewRow> {
    all.values()
        .filter(|c| c.jaar <= year && (c.verzoeken > 0 || c.uitstroom() > 0))
        .map(|c| {
            let u = c.uitstroom();
            OverviewRow {
                year: c.jaar,
                verzoeken: count(c.verzoeken, threshold),
                bemiddelingen: count(c.bemiddeld, threshold),
                doorlooptijd_maanden: (c.doorlooptijd_dagen.n >= threshold)
                    .then(|| c.doorlooptijd_maanden().unwrap_or(0.0)),
                aandeel_herkomst: (c.herkomst_bekend >= threshold)
                    .then(|| c.aandeel_herkomst().unwrap_or(0.0)),
                huurcontracten: (u >= threshold).then(|| {
                    let f = |n: u32| f64::from(n) / f64::from(u);
                    (
                        f(c.drie_partijen),
                        f(c.eigen_naam),
                        f(c.huurcontract_onbekend),
                    )
                }),
            }
        })
        .collect()
}

/// The step durations of the evaluation's figure 4 and the registration time of indicator 9.
fn measures(y: &Jaarcijfers, threshold: u32) -> Vec<Measure> {
    let mut besluit = Mean::default();
    let mut aanbod = Mean::default();
    for c in y.per_corporatie.values() {
        besluit.sum += c.dagen_tot_besluit.sum;
        besluit.n += c.dagen_tot_besluit.n;
        aanbod.sum += c.dagen_tot_aanbod.sum;
        aanbod.n += c.dagen_tot_aanbod.n;
    }
    let mut out = vec![
        mean(
            "Verzoek compleet maken (ontvangen → volledig)",
            &y.dagen_tot_volledig,
            threshold,
            "dagen",
            1.0,
        ),
        mean(
            "Corporatie beoordeelt (aanmeldbericht → besluit)",
            &besluit,
            threshold,
            "dagen",
            1.0,
        ),
        mean(
            "Corporatie doet een aanbod (aanmeldbericht → eerste aanbod)",
            &aanbod,
            threshold,
            "dagen",
            1.0,
        ),
        mean(
            "Doorlooptijd bemiddeling (verzoek → verhuizing)",
            &y.doorlooptijd_dagen,
            threshold,
            "maanden",
            12.0 / 365.25,
        ),
        mean(
            "Inschrijfduur bij een corporatie bij uitstroom",
            &y.inschrijfduur_maanden,
            threshold,
            "maanden",
            1.0,
        ),
    ];
    // Bijlage 3: the lead time per zorgaanbieder, over its own bemiddelde uitstroom.
    out.extend(
        y.per_zorgaanbieder
            .iter()
            .filter(|(_, z)| z.doorlooptijd_dagen.n > 0)
            .map(|(k, z)| {
                mean(
                    &format!("Doorlooptijd bemiddeling, {}", zorgaanbieder(k)),
                    &z.doorlooptijd_dagen,
                    threshold,
                    "maanden",
                    12.0 / 365.25,
                )
            }),
    );
    out
}

/// The year's tables, in the report's order, before suppression (empty ones included).
fn tables(y: &Jaarcijfers, gemeenten: &Gemeenten) -> Vec<Table> {
    vec![
        uitstroom_per_gemeente_table(y, gemeenten),
        verzoeken_per_herkomstgemeente_table(y, gemeenten),
        uitstroom_soort_table(y),
        huurcontracten_table(y),
        weigeringen_table(y),
        reacties_table(y),
        single(
            "Uitval",
            "Soort mutatie",
            y.uitval.iter().map(|(k, n)| (label(k), *n)).collect(),
        ),
        verblijf_table(y),
        single(
            "Afgewezen of ingetrokken verzoeken, naar reden",
            "Reden",
            y.afwijzingen.iter().map(|(k, n)| (label(k), *n)).collect(),
        ),
        gebiedsteam_table(y),
        uitstroom_per_zorgaanbieder_table(y),
        meldingen_table(y),
        single(
            "Incidenten en calamiteiten gemeld bij de Toezichthouder Sociaal Domein",
            "Melding",
            vec![("Gemeld (Afspraak 7h)".into(), y.meldingen_toezichthouder)],
        ),
        single(
            "Meldingen naar uitkomst",
            "Uitkomst",
            y.meldingen_uitkomst
                .iter()
                .map(|(k, n)| (label(k), *n))
                .collect(),
        ),
        single(
            "Evaluaties van de omklap van 3-partijenhuurovereenkomsten, naar uitkomst (Afspraak 2f)",
            "Uitkomst",
            y.omklap.iter().map(|(k, n)| (label(k), *n)).collect(),
        ),
        single(
            "Ondersteuning na plaatsing: meeloop, op- en afschalen en waakvlam (Afspraak 4e, 5 en 6)",
            "Verandering",
            y.ondersteuning
                .iter()
                .map(|(k, n)| (label(k), *n))
                .collect(),
        ),
        single(
            "Bemiddelingsverzoeken per zorgaanbieder",
            "Zorgaanbieder",
            y.per_zorgaanbieder
                .iter()
                .filter(|(_, z)| z.verzoeken > 0)
                .map(|(k, z)| (zorgaanbieder(k), z.verzoeken))
                .collect(),
        ),
    ]
}

/// Afspraak 7 and Bijlage 2: meldingen per soort (rows, with their total) and the AVE level they reached
/// (columns). Incidents and calamiteiten reported to the Toezichthouder are a table of their own, not a column: a
/// column of a subset would add an equation inside this table that its suppression does not know (across tables
/// the known limit of `suppress` applies, as for the uitstroom totals).
fn meldingen_table(y: &Jaarcijfers) -> Table {
    let mut soorten: Vec<String> = policies::model::SOORT_MELDING
        .iter()
        .map(|s| s.to_string())
        .collect();
    let levels = ["1", "2", "3", "4"];
    for k in y.meldingen.keys() {
        let soort = k.split_once(':').map_or(k.as_str(), |(s, _)| s);
        if !soorten.iter().any(|s| s == soort) {
            soorten.push(soort.to_string());
        }
    }
    let cells: Vec<Vec<u32>> = soorten
        .iter()
        .map(|s| {
            levels
                .iter()
                .map(|l| y.meldingen.get(&format!("{s}:{l}")).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    Table::new(
        "Meldingen naar soort en AVE-niveau",
        "Soort melding",
        soorten.iter().map(|s| label(s)).collect(),
        levels.iter().map(|l| format!("AVE {l}")).collect(),
        cells,
        true,
    )
}

/// Bijlage 3: the uitstroom of each zorgaanbieder's clients, bemiddeld and regulier (the row total: placements).
fn uitstroom_per_zorgaanbieder_table(y: &Jaarcijfers) -> Table {
    let rows: Vec<_> = y
        .per_zorgaanbieder
        .iter()
        .filter(|(_, z)| z.uitstroom() > 0)
        .collect();
    Table::new(
        UITSTROOM_ZORGAANBIEDER,
        "Zorgaanbieder",
        rows.iter().map(|(k, _)| zorgaanbieder(k)).collect(),
        vec!["Bemiddeld".into(), "Regulier".into()],
        rows.iter()
            .map(|(_, z)| vec![z.uitstroom_bemiddeld, z.uitstroom_regulier])
            .collect(),
        true,
    )
}

/// The balance table published. Without row totals its two columns are separate equations, so each is published
/// on its own: the instroom as a single column suppressed here, the uitstroom exactly as the "Uitstroom per gemeente"
/// table publishes its row totals (hidden there, hidden here) — the same figure suppressed twice in two ways could
/// otherwise give away what one of the tables hides. A gemeente that table does not list had no uitstroom.
fn balans_published(
    y: &Jaarcijfers,
    gemeenten: &Gemeenten,
    threshold: u32,
    uitstroom: Option<&Published>,
) -> Option<Published> {
    let table = balans_table(y, gemeenten);
    if table.rows.is_empty() {
        return None;
    }
    let instroom = Table::new(
        BALANS,
        "Gemeente",
        table.rows.clone(),
        vec![table.columns[0].clone()],
        table.cells.iter().map(|r| vec![r[0]]).collect(),
        false,
    )
    .suppress(threshold);
    let (by_gemeente, total): (BTreeMap<&str, Option<u32>>, Option<u32>) = match uitstroom {
        Some(u) => {
            let col = u.table.columns.len() + usize::from(u.table.row_totals) - 1;
            let rows = u.table.rows.iter().map(String::as_str);
            (
                rows.zip(u.entries.iter().map(|e| e[col])).collect(),
                u.entries.last().map(|e| e[col]).unwrap_or(Some(0)),
            )
        }
        None => (BTreeMap::new(), Some(0)),
    };
    let mut entries: Vec<Vec<Option<u32>>> = table
        .rows
        .iter()
        .zip(&instroom.entries)
        .map(|(label, i)| {
            let u = by_gemeente.get(label.as_str()).copied().unwrap_or(Some(0));
            vec![i[0], u]
        })
        .collect();
    entries.push(vec![
        instroom.entries.last().expect("a totals row")[0],
        total,
    ]);
    Some(Published { table, entries })
}

/// Bijlage 1, 1d ("instroom = uitstroom"; "of op regioniveau de spreiding van in- en uitstroom in balans is"): per
/// gemeente the stays started in its voorzieningen against the uitstroom to a home in it, and the saldo. In and out
/// do not add up to anything, so no row total.
fn balans_table(y: &Jaarcijfers, gemeenten: &Gemeenten) -> Table {
    let rows: Vec<_> = y
        .per_gemeente
        .iter()
        .filter(|(_, g)| g.instroom + g.uitstroom() > 0)
        .collect();
    Table::new(
        BALANS,
        "Gemeente",
        rows.iter().map(|(k, _)| gemeente(gemeenten, k)).collect(),
        vec![
            "Instroom (gemeente van verblijf)".into(),
            "Uitstroom naar een woning (uitstroomgemeente)".into(),
        ],
        rows.iter()
            .map(|(_, g)| vec![g.instroom, g.uitstroom()])
            .collect(),
        false,
    )
    .with_saldo("Saldo (uitstroom − instroom)", 1, 0)
}

fn uitstroom_per_gemeente_table(y: &Jaarcijfers, gemeenten: &Gemeenten) -> Table {
    let uitstroom: Vec<_> = y
        .per_gemeente
        .iter()
        .filter(|(_, g)| g.uitstroom() > 0)
        .collect();
    Table::new(
        UITSTROOM_GEMEENTE,
        "Gemeente",
        uitstroom
            .iter()
            .map(|(k, _)| gemeente(gemeenten, k))
            .collect(),
        vec!["Bemiddeld".into(), "Regulier".into()],
        uitstroom
            .iter()
            .map(|(_, g)| vec![g.uitstroom_bemiddeld, g.uitstroom_regulier])
            .collect(),
        true,
    )
}

fn verzoeken_per_herkomstgemeente_table(y: &Jaarcijfers, gemeenten: &Gemeenten) -> Table {
    single(
        "Bemiddelingsverzoeken per herkomstgemeente",
        "Herkomstgemeente",
        y.per_gemeente
            .iter()
            .filter(|(_, g)| g.verzoeken_herkomst > 0)
            .map(|(k, g)| (gemeente(gemeenten, k), g.verzoeken_herkomst))
            .collect(),
    )
}

fn uitstroom_soort_table(y: &Jaarcijfers) -> Table {
    let mut soort = vec![("Bemiddeld".to_string(), y.bemiddeld)];
    soort.extend(
        y.regulier
            .iter()
            .map(|(t, n)| (format!("Regulier, {}", label(t)), *n)),
    );
    single(
        "Uitstroom naar wijze en soort verhuurder",
        "Uitstroom",
        soort,
    )
}

fn huurcontracten_table(y: &Jaarcijfers) -> Table {
    single(
        "Huurcontracten bij uitstroom",
        "Huurcontract",
        vec![
            ("3-partijenhuurovereenkomst".into(), y.drie_partijen),
            ("Op eigen naam".into(), y.eigen_naam),
            ("Onbekend".into(), y.huurcontract_onbekend),
        ],
    )
}

fn weigeringen_table(y: &Jaarcijfers) -> Table {
    let redenen: Vec<String> = y.weigeringen_per_reden().into_keys().collect();
    let weigerend: Vec<_> = y
        .per_corporatie
        .iter()
        .filter(|(_, c)| c.weigeringen_totaal() > 0)
        .collect();
    Table::new(
        "Weigeringen door corporaties, naar reden",
        "Corporatie",
        weigerend.iter().map(|(k, _)| corporatie(k)).collect(),
        redenen.iter().map(|r| label(r)).collect(),
        weigerend
            .iter()
            .map(|(_, c)| {
                redenen
                    .iter()
                    .map(|r| c.weigeringen.get(r).copied().unwrap_or(0))
                    .collect()
            })
            .collect(),
        true,
    )
}

fn reacties_table(y: &Jaarcijfers) -> Table {
    Table::new(
        "Reacties van corporaties",
        "Corporatie",
        y.per_corporatie.keys().map(|k| corporatie(k)).collect(),
        [
            "Aanmeldberichten",
            "Geaccepteerd",
            "Informatie gevraagd",
            "Geweigerd",
            "Aanbiedingen",
            "Aanbod door cliënt geweigerd",
        ]
        .map(String::from)
        .to_vec(),
        y.per_corporatie
            .values()
            .map(|c| {
                vec![
                    c.aanmeldberichten,
                    c.geaccepteerd,
                    c.informatie_gevraagd,
                    c.weigeringen_totaal(),
                    c.aanbiedingen,
                    c.aanbiedingen_geweigerd_door_client,
                ]
            })
            .collect(),
        false,
    )
}

fn verblijf_table(y: &Jaarcijfers) -> Table {
    let voorzieningen: Vec<String> = y
        .gestart
        .keys()
        .chain(y.beeindigd.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Table::new(
        "Start en einde verblijf",
        "Voorziening",
        voorzieningen.iter().map(|v| label(v)).collect(),
        vec!["Gestart".into(), "Beëindigd".into()],
        voorzieningen
            .iter()
            .map(|v| {
                vec![
                    y.gestart.get(v).copied().unwrap_or(0),
                    y.beeindigd.get(v).copied().unwrap_or(0),
                ]
            })
            .collect(),
        false,
    )
}

fn gebiedsteam_table(y: &Jaarcijfers) -> Table {
    single(
        "Zachte landing: contact gebiedsteam bij uitstroom",
        "Eerste contact gebiedsteam",
        vec![
            (
                "Vóór of op de verhuisdatum".into(),
                y.gebiedsteam_voor_verhuizing,
            ),
            (
                "Na de verhuizing of onbekend".into(),
                y.gebiedsteam_na_of_onbekend,
            ),
        ],
    )
}

fn show(v: Option<u32>) -> String {
    v.map_or_else(|| HIDDEN.to_string(), |n| n.to_string())
}

fn dec(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(
        || HIDDEN.to_string(),
        |x| format!("{x:.digits$}").replace('.', ","),
    )
}

fn signed(v: Option<i64>) -> String {
    match v {
        None => HIDDEN.to_string(),
        Some(0) => "0".to_string(),
        Some(n) => format!("{n:+}"),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| HIDDEN.to_string(), |x| format!("{:.0}%", x * 100.0))
}

/// A published table as text rows: the header, then each row and the totals row.
pub fn text_rows(p: &Published) -> (Vec<String>, Vec<Vec<String>>) {
    let t = &p.table;
    let mut header = vec![t.row_heading.clone()];
    header.extend(t.columns.iter().cloned());
    if t.row_totals {
        header.push("Totaal".into());
    }
    if let Some(s) = &t.saldo {
        header.push(s.label.clone());
    }
    let saldo = p.saldo();
    let rows = t
        .rows
        .iter()
        .chain(std::iter::once(&"Totaal".to_string()))
        .zip(&p.entries)
        .enumerate()
        .map(|(i, (label, entries))| {
            let mut row = vec![label.clone()];
            row.extend(entries.iter().map(|e| show(*e)));
            if let Some(s) = saldo.get(i) {
                row.push(signed(*s));
            }
            row
        })
        .collect();
    (header, rows)
}

impl OverviewRow {
    fn cells(&self) -> Vec<String> {
        let (d, e, o) = match self.huurcontracten {
            Some((d, e, o)) => (Some(d), Some(e), Some(o)),
            None => (None, None, None),
        };
        vec![
            self.year.to_string(),
            show(self.verzoeken),
            show(self.bemiddelingen),
            dec(self.doorlooptijd_maanden, 1),
            pct(self.aandeel_herkomst),
            format!("{} / {} / {}", pct(d), pct(e), pct(o)),
        ]
    }
}

const OVERVIEW_HEADER: [&str; 6] = [
    "Jaar",
    "Bemiddelingsverzoeken",
    "Bemiddelingen",
    "Gem. doorlooptijd (maanden)",
    "Terug naar herkomstgemeente",
    "3-partijen / eigen naam / onbekend",
];

fn md_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// A whole Dutch HTML page around `body`, with the report's style and no external resources.
pub fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}\
         th,td{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}th:first-child{{text-align:left}}figure{{margin:1.5em 0}}</style>\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML table from a header and rows of text.
pub fn html_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    out.push_str("<table>\n<thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            let _ = write!(out, "<{tag}>{}</{tag}>", esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A horizontal bar chart as inline SVG; a bar without a value is marked as suppressed.
pub fn bar_chart(
    title: &str,
    bars: &[(String, Option<f64>)],
    fmt: impl Fn(f64) -> String,
) -> String {
    let (label_w, chart_w, bar_h, gap) = (220.0, 360.0, 18.0, 6.0);
    let max = bars
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = 30.0 + bars.len() as f64 * (bar_h + gap) + 10.0;
    let width = label_w + chart_w + 80.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{t}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><title>{t}</title><text x="0" y="16" font-weight="bold">{t}</text>"#,
        t = esc(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 30.0 + i as f64 * (bar_h + gap);
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty}" text-anchor="end">{l}</text>"#,
            x = label_w - 8.0,
            ty = y + bar_h * 0.75,
            l = esc(label)
        );
        match value {
            Some(v) => {
                let w = (v / max * chart_w).max(1.0);
                let _ = write!(
                    s,
                    r##"<rect x="{label_w}" y="{y}" width="{w:.1}" height="{bar_h}" fill="#2a6f97"/><text x="{tx:.1}" y="{ty}">{v}</text>"##,
                    tx = label_w + w + 4.0,
                    ty = y + bar_h * 0.75,
                    v = esc(&fmt(*v))
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<text x="{tx}" y="{ty}" fill="#666">{HIDDEN} (klein aantal)</text>"##,
                    tx = label_w + 4.0,
                    ty = y + bar_h * 0.75
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// A diverging horizontal bar chart as inline SVG around a zero line (a saldo can be negative); a bar without a value
/// is marked as suppressed.
pub fn saldo_chart(title: &str, bars: &[(String, Option<i64>)]) -> String {
    let (label_w, chart_w, bar_h, gap) = (220.0, 360.0, 18.0, 6.0);
    let max = bars
        .iter()
        .filter_map(|(_, v)| v.map(|n| n.unsigned_abs()))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let zero = label_w + chart_w / 2.0;
    let height = 30.0 + bars.len() as f64 * (bar_h + gap) + 10.0;
    let width = label_w + chart_w + 80.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{t}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12"><title>{t}</title><text x="0" y="16" font-weight="bold">{t}</text><line x1="{zero}" y1="24" x2="{zero}" y2="{y2}" stroke="#999"/>"##,
        t = esc(title),
        y2 = height - 6.0
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 30.0 + i as f64 * (bar_h + gap);
        let ty = y + bar_h * 0.75;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{ty}" text-anchor="end">{l}</text>"#,
            x = label_w - 8.0,
            l = esc(label)
        );
        match value {
            Some(v) => {
                let w = (v.unsigned_abs() as f64 / max * chart_w / 2.0).max(1.0);
                let (x, fill, tx, anchor) = if *v < 0 {
                    (zero - w, "#b5651d", zero - w - 4.0, "end")
                } else {
                    (zero, "#2a6f97", zero + w + 4.0, "start")
                };
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{fill}"/><text x="{tx:.1}" y="{ty}" text-anchor="{anchor}">{v}</text>"#,
                    v = signed(Some(*v))
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<text x="{tx}" y="{ty}" fill="#666">{HIDDEN} (klein aantal)</text>"##,
                    tx = zero + 4.0
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

impl Jaarverslag {
    fn intro(&self) -> String {
        format!(
            "Dit jaarverslag van het Transferpunt Weer Thuis geeft de cijfers van de uitstroommonitor over {} \
             (Afspraak 3d en 3h van het convenant). Het is geaggregeerd en niet herleidbaar tot personen: aantallen \
             kleiner dan {} worden niet getoond ({HIDDEN}), en waar een verborgen aantal uit een totaal te \
             herleiden zou zijn, is ook een tweede cel of het totaal verborgen. Gemiddelden en percentages staan er \
             alleen bij als ze over minstens {} casussen gaan.",
            self.year, self.threshold, self.threshold
        )
    }

    fn overview_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        (
            OVERVIEW_HEADER.map(String::from).to_vec(),
            self.overview.iter().map(OverviewRow::cells).collect(),
        )
    }

    fn measure_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        (
            vec!["Stap".into(), "Gemiddeld".into(), "Eenheid".into()],
            self.measures
                .iter()
                .map(|m| vec![m.name.clone(), dec(m.value, 1), m.unit.clone()])
                .collect(),
        )
    }

    const DEFINITIONS: &'static str = "Uitstroom is een afmelding met soort mutatie ‘uitstroom zelfstandig’; bemiddeld \
        als de woning via bemiddeling is toegewezen, anders regulier. Uitval is elke andere mutatie. De doorlooptijd \
        loopt van de datum van het bemiddelingsverzoek tot de verhuisdatum; een maand is 365,25/12 dagen. Jaren \
        volgen de datum van de gebeurtenis (verzoek, afmelding, besluit). Per zorgaanbieder telt de betrokken \
        zorgaanbieder uit de registratie. Instroom is de start van een verblijf in beschermd wonen of \
        maatschappelijke opvang, geteld bij de gemeente van verblijf; het saldo is de uitstroom naar een woning in de \
        gemeente min die instroom (Bijlage 1, 1d: instroom = uitstroom). De voortgang naar de richtinggevende 300 \
        woningen (Afspraak 1h) telt de bemiddelingen in de kalenderjaren 2022 tot en met 2025, de looptijd van het \
        convenant (Afspraak 10a); is een jaar te klein om te tonen, dan ook het totaal.";

    /// The report in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# Jaarverslag Transferpunt Weer Thuis {}\n\n{}\n\n",
            self.year,
            self.intro()
        );
        out.push_str("## Overzicht per jaar\n\n");
        let (h, r) = self.overview_rows();
        md_table(&mut out, &h, &r);
        out.push_str("## Duur van de stappen\n\n");
        let (h, r) = self.measure_rows();
        md_table(&mut out, &h, &r);
        for t in &self.tables {
            let _ = writeln!(out, "## {}\n", t.table.title);
            let (h, r) = text_rows(t);
            md_table(&mut out, &h, &r);
        }
        let _ = writeln!(out, "## Definities\n\n{}", Self::DEFINITIONS);
        out
    }

    fn charts(&self) -> Vec<String> {
        let mut charts = Vec::new();
        let jaren = |f: &dyn Fn(&OverviewRow) -> Option<f64>| -> Vec<(String, Option<f64>)> {
            self.overview
                .iter()
                .map(|r| (r.year.to_string(), f(r)))
                .collect()
        };
        charts.push(bar_chart(
            "Gemiddelde doorlooptijd per jaar (maanden)",
            &jaren(&|r| r.doorlooptijd_maanden),
            |v| format!("{v:.1}").replace('.', ","),
        ));
        charts.push(bar_chart(
            "Terug naar de herkomstgemeente",
            &jaren(&|r| r.aandeel_herkomst),
            |v| format!("{:.0}%", v * 100.0),
        ));
        let by_title = |title: &str| self.tables.iter().find(|t| t.table.title == title);
        // The row totals (the column after the last named one) of the tables of uitstroom per gemeente and per
        // zorgaanbieder, as published.
        for (title, chart) in [
            (UITSTROOM_GEMEENTE, "Uitstroom per gemeente"),
            (UITSTROOM_ZORGAANBIEDER, "Uitstroom per zorgaanbieder"),
        ] {
            if let Some(t) = by_title(title) {
                let col = t.table.columns.len();
                let bars: Vec<_> = t
                    .table
                    .rows
                    .iter()
                    .zip(&t.entries)
                    .map(|(r, e)| (r.clone(), e[col].map(f64::from)))
                    .collect();
                charts.push(bar_chart(&format!("{chart}, {}", self.year), &bars, |v| {
                    format!("{v:.0}")
                }));
            }
        }
        if let Some(t) = by_title(BALANS) {
            let saldo = t.saldo();
            let bars: Vec<_> = t
                .table
                .rows
                .iter()
                .zip(&saldo)
                .map(|(r, s)| (r.clone(), *s))
                .collect();
            charts.push(saldo_chart(
                &format!("Saldo uitstroom − instroom per gemeente, {}", self.year),
                &bars,
            ));
        }
        if let Some(t) = by_title(VOORTGANG) {
            // Cumulative up to each year, from the published years only: unknown from the first hidden year on.
            let mut cumulatief = Some(0u32);
            let mut bars: Vec<_> = t
                .table
                .rows
                .iter()
                .zip(&t.entries)
                .map(|(r, e)| {
                    cumulatief = cumulatief.zip(e[0]).map(|(a, b)| a + b);
                    (format!("t/m {r}"), cumulatief.map(f64::from))
                })
                .collect();
            bars.push((
                "Richtinggevend (Afspraak 1h)".into(),
                Some(f64::from(DOEL_WONINGEN)),
            ));
            charts.push(bar_chart(
                &format!("Voortgang naar {DOEL_WONINGEN} woningen, cumulatief"),
                &bars,
                |v| format!("{v:.0}"),
            ));
        }
        if let Some(t) = by_title("Weigeringen door corporaties, naar reden") {
            let totals = t.entries.last().expect("a totals row");
            let bars: Vec<_> = t
                .table
                .columns
                .iter()
                .zip(totals)
                .map(|(k, e)| (k.clone(), e.map(f64::from)))
                .collect();
            charts.push(bar_chart(
                &format!("Weigeringen door corporaties naar reden, {}", self.year),
                &bars,
                |v| format!("{v:.0}"),
            ));
        }
        charts
    }

    /// The report in HTML, with inline SVG charts and no external resources.
    pub fn html(&self) -> String {
        let title = format!("Jaarverslag Transferpunt Weer Thuis {}", self.year);
        let body = format!(
            "<h1>{}</h1>\n<p>{}</p>\n{}",
            esc(&title),
            esc(&self.intro()),
            self.html_sections()
        );
        html_page(&title, &body)
    }

    /// The charts, tables and definitions as HTML (no page around them).
    pub fn html_sections(&self) -> String {
        let mut out = String::from("<h2>Grafieken</h2>\n");
        for c in self.charts() {
            let _ = writeln!(out, "<figure>{c}</figure>");
        }
        out.push_str("<h2>Overzicht per jaar</h2>\n");
        let (h, r) = self.overview_rows();
        html_table(&mut out, &h, &r);
        out.push_str("<h2>Duur van de stappen</h2>\n");
        let (h, r) = self.measure_rows();
        html_table(&mut out, &h, &r);
        for t in &self.tables {
            let _ = writeln!(out, "<h2>{}</h2>", esc(&t.table.title));
            let (h, r) = text_rows(t);
            html_table(&mut out, &h, &r);
        }
        let _ = writeln!(
            out,
            "<h2>Definities</h2>\n<p>{}</p>",
            esc(Self::DEFINITIONS)
        );
        out
    }

    /// The tables as CSV documents, by file name.
    pub fn csv(&self) -> Result<BTreeMap<String, String>, csv::Error> {
        let mut files = BTreeMap::new();
        let mut put =
            |name: String, (h, r): (Vec<String>, Vec<Vec<String>>)| -> Result<(), csv::Error> {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(&h)?;
                for row in r {
                    w.write_record(&row)?;
                }
                let bytes = w.into_inner().map_err(|e| e.into_error())?;
                files.insert(name, String::from_utf8(bytes).expect("CSV of UTF-8 text"));
                Ok(())
            };
        put(
            format!("jaarverslag-{}-overzicht.csv", self.year),
            self.overview_rows(),
        )?;
        put(
            format!("jaarverslag-{}-stappen.csv", self.year),
            self.measure_rows(),
        )?;
        for t in &self.tables {
            put(
                format!("jaarverslag-{}-{}.csv", self.year, slug(&t.table.title)),
                text_rows(t),
            )?;
        }
        Ok(files)
    }

    /// The tables as one XLSX workbook, a sheet per table: counts as numbers, suppressed cells as `*`.
    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let mut sheets = vec![
            ("Overzicht".to_string(), self.overview_rows()),
            ("Duur van de stappen".to_string(), self.measure_rows()),
        ];
        sheets.extend(
            self.tables
                .iter()
                .map(|t| (t.table.title.clone(), text_rows(t))),
        );
        for (i, (title, (header, rows))) in sheets.into_iter().enumerate() {
            let ws = book.add_worksheet();
            // Sheet names: at most 31 characters, unique.
            let name: String = format!("{} {}", i + 1, title)
                .chars()
                .filter(|c| !"[]:*?/\\".contains(*c))
                .take(31)
                .collect();
            ws.set_name(name.trim_end())?;
            ws.set_column_width(0, 40)?;
            for (c, h) in header.iter().enumerate() {
                ws.write_string(0, c as u16, h)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (r as u32 + 1, c as u16);
                    match cell.parse::<f64>() {
                        Ok(n) if c > 0 => ws.write_number(r, c, n)?,
                        _ => ws.write_string(r, c, cell)?,
                    };
                }
            }
        }
        book.save_to_buffer()
    }

    /// Write the Markdown, HTML, CSV and XLSX files into `dir` (created when missing); returns the paths written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
        std::fs::create_dir_all(dir)?;
        let mut files = vec![
            (format!("jaarverslag-{}.md", self.year), self.markdown()),
            (format!("jaarverslag-{}.html", self.year), self.html()),
        ];
        files.extend(self.csv()?);
        let mut written = Vec::new();
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::write(&path, content)?;
            written.push(path);
        }
        let path = dir.join(format!("jaarverslag-{}.xlsx", self.year));
        std::fs::write(&path, self.xlsx()?)?;
        written.push(path);
        Ok(written)
    }
}

/// Why the jaarverslag's files could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Creating the directory or writing a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A CSV table could not be written.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// The XLSX workbook could not be written.
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ë' | 'é' => 'e',
            'ó' => 'o',
            'ï' => 'i',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_tests::fixture;
    use crate::suppress::recoverable;

    #[test]
    fn threshold_one_shows_the_hand_counted_figures() {
        let r = build(&fixture(), 2025, 1, &Gemeenten::friesland());
        assert_eq!(r.overview.len(), 2);
        let y = &r.overview[1];
        assert_eq!(
            (y.year, y.verzoeken, y.bemiddelingen),
            (2025, Some(3), Some(2))
        );
        assert_eq!(y.aandeel_herkomst, Some(0.5));
        let md = r.markdown();
        assert!(md.contains("# Jaarverslag Transferpunt Weer Thuis 2025"));
        assert!(md.contains("| Leeuwarden | 2 | 0 | 2 |"), "{md}");
        assert!(md.contains("| Smallingerland | 0 | 1 | 1 |"), "{md}");
        assert!(md.contains("| accolade | 1 | 0 | 0 | 1 | 0 | 0 |"), "{md}");
        assert!(
            md.contains("| 2025 | 3 | 2 | 3,4 | 50% | 33% / 67% / 0% |"),
            "{md}"
        );
        let html = r.html();
        assert!(html.contains("<svg") && html.contains("Gemiddelde doorlooptijd per jaar"));
        assert!(html.contains("lang=\"nl\""));
        let csv = r.csv().unwrap();
        assert_eq!(
            csv["jaarverslag-2025-uitstroom-per-gemeente.csv"],
            "Gemeente,Bemiddeld,Regulier,Totaal\nLeeuwarden,2,0,2\nSmallingerland,0,1,1\nTotaal,2,1,3\n"
        );
    }

    #[test]
    fn default_threshold_hides_small_counts_and_nothing_is_recoverable() {
        let r = build(&fixture(), 2025, 5, &Gemeenten::friesland());
        for t in &r.tables {
            assert_eq!(recoverable(t), None, "{}", t.table.title);
            for (row, pub_row) in t.table.extended().iter().zip(&t.entries) {
                for (v, e) in row.iter().zip(pub_row) {
                    if (1..5).contains(v) {
                        assert_eq!(*e, None, "{}", t.table.title);
                    }
                }
            }
        }
        // Means over fewer than 5 cases are not shown.
        assert!(r.measures.iter().all(|m| m.value.is_none()));
        assert!(r.overview.iter().all(|o| o.doorlooptijd_maanden.is_none()));
        let md = r.markdown();
        assert!(md.contains("| Leeuwarden | * | 0 | * |"), "{md}");
        let html = r.html();
        assert!(html.contains("* (klein aantal)"));
        let dir = tempfile::tempdir().unwrap();
        let written = r.write(dir.path()).unwrap();
        assert!(written.len() > 5);
        assert!(dir.path().join("jaarverslag-2025.html").exists());
        let xlsx = std::fs::read(dir.path().join("jaarverslag-2025.xlsx")).unwrap();
        assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip archive");
    }

    /// Bijlage 3 (per zorgaanbieder), Bijlage 1, 1d (in- and outflow per gemeente) and Afspraak 1h (the 300 homes)
    /// on the fixture, counted by hand: uitstroom 2025 A bemiddeld (limor), B bemiddeld and C regulier (kwadrant);
    /// requests A (limor), B and E (kwadrant); instroom B in Leeuwarden, E in Heerenveen; uitstroom into Leeuwarden
    /// A and B, into Smallingerland C; bemiddelingen 2024 F, 2025 A and B.
    #[test]
    fn bijlage_3_afspraak_1h_and_bijlage_1_1d_tables_show_the_hand_counted_figures() {
        let r = build(&fixture(), 2025, 1, &Gemeenten::friesland());
        let csv = r.csv().unwrap();
        assert_eq!(
            csv["jaarverslag-2025-uitstroom-per-zorgaanbieder.csv"],
            "Zorgaanbieder,Bemiddeld,Regulier,Totaal\nkwadrant,1,1,2\nlimor,1,0,1\nTotaal,2,1,3\n"
        );
        assert_eq!(
            csv["jaarverslag-2025-bemiddelingsverzoeken-per-zorgaanbieder.csv"],
            "Zorgaanbieder,Aantal\nkwadrant,2\nlimor,1\nTotaal,3\n"
        );
        // Heerenveen 1 in, 0 out; Leeuwarden 1 in, 2 out; Smallingerland 0 in, 1 out.
        assert_eq!(
            csv["jaarverslag-2025-instroom-en-uitstroom-per-gemeente-bijlage-1-1d.csv"],
            "Gemeente,Instroom (gemeente van verblijf),Uitstroom naar een woning (uitstroomgemeente),\
             Saldo (uitstroom − instroom)\nHeerenveen,1,0,-1\nLeeuwarden,1,2,+1\nSmallingerland,0,1,+1\n\
             Totaal,2,3,+1\n"
        );
        // 2022 and 2023 had none; 3 of 300 is 1%.
        assert_eq!(
            csv["jaarverslag-2025-voortgang-naar-300-woningen-bemiddelingen-in-de-looptijd-van-het-convenant-afspraak-1h.csv"],
            "Jaar,Bemiddelingen\n2022,0\n2023,0\n2024,1\n2025,2\nTotaal,3\n"
        );
        let measure = |name: &str| {
            r.measures
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{name}"))
                .value
        };
        assert_eq!(
            measure("Voortgang naar 300 woningen (Afspraak 1h), t/m 2025"),
            Some(1.0)
        );
        // Lead time per zorgaanbieder: limor 151 days, kwadrant 59 days, in months of 365.25/12 days.
        let limor = measure("Doorlooptijd bemiddeling, limor").unwrap();
        assert!((limor - 151.0 * 12.0 / 365.25).abs() < 1e-9, "{limor}");
        let kwadrant = measure("Doorlooptijd bemiddeling, kwadrant").unwrap();
        assert!((kwadrant - 59.0 * 12.0 / 365.25).abs() < 1e-9, "{kwadrant}");
        let md = r.markdown();
        assert!(md.contains("## Uitstroom per zorgaanbieder"), "{md}");
        assert!(md.contains("| Leeuwarden | 1 | 2 | +1 |"), "{md}");
        assert!(
            md.contains("| Doorlooptijd bemiddeling, limor | 5,0 | maanden |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| Voortgang naar 300 woningen (Afspraak 1h), t/m 2025 | 1,0 | % van 300 |"
            ),
            "{md}"
        );
        let html = r.html();
        assert!(html.contains("Saldo uitstroom − instroom per gemeente, 2025"));
        assert!(html.contains("Voortgang naar 300 woningen, cumulatief"));
        assert!(html.contains("Uitstroom per zorgaanbieder, 2025"));
        // Cumulative bars: t/m 2024 is 1, t/m 2025 is 3, against the 300.
        assert!(html.contains(">t/m 2025</text>"));
        let dir = tempfile::tempdir().unwrap();
        r.write(dir.path()).unwrap();
        let xlsx = std::fs::read(dir.path().join("jaarverslag-2025.xlsx")).unwrap();
        // One sheet per table plus the overview and the steps.
        let sheets = xlsx
            .windows(b"xl/worksheets/sheet".len())
            .filter(|w| *w == b"xl/worksheets/sheet")
            .count();
        assert!(sheets >= r.tables.len() + 2, "{sheets}");
    }

    fn jaar_met(jaar: i32, bemiddeld: u32) -> (i32, Jaarcijfers) {
        (
            jaar,
            Jaarcijfers {
                jaar,
                bemiddeld,
                ..Default::default()
            },
        )
    }

    /// Afspraak 1h over the term of Afspraak 10a: only 2022–2025 count, and a small year hides the cumulative total
    /// too (the overview shows the other years on their own).
    #[test]
    fn afspraak_1h_progress_counts_the_covenant_years_and_hides_the_total_with_a_small_year() {
        let all: BTreeMap<i32, Jaarcijfers> = [
            jaar_met(2021, 7),
            jaar_met(2022, 40),
            jaar_met(2023, 3),
            jaar_met(2024, 60),
            jaar_met(2025, 50),
            jaar_met(2026, 9),
        ]
        .into();
        let g = Gemeenten::friesland();
        let voortgang = |r: &Jaarverslag| {
            r.tables
                .iter()
                .find(|t| t.table.title == VOORTGANG)
                .cloned()
        };
        let pct = |r: &Jaarverslag| {
            r.measures
                .iter()
                .find(|m| m.name.starts_with("Voortgang"))
                .map(|m| m.value)
        };
        // 40 + 3 + 60 + 50 = 153 of 300: 51%; 2021 and 2026 lie outside the term.
        let r = from_years(all.clone(), 2026, 1, &g);
        let t = voortgang(&r).unwrap();
        assert_eq!(t.table.rows, ["2022", "2023", "2024", "2025"]);
        assert_eq!(t.entries.last().unwrap()[0], Some(153));
        assert_eq!(pct(&r), Some(Some(51.0)));
        // Up to 2023: 43 of 300.
        let r = from_years(all.clone(), 2023, 1, &g);
        assert_eq!(voortgang(&r).unwrap().entries.last().unwrap()[0], Some(43));
        assert!((pct(&r).unwrap().unwrap() - 43.0 / 3.0).abs() < 1e-9);
        // Before the covenant: no progress at all.
        let r = from_years(all.clone(), 2021, 1, &g);
        assert!(voortgang(&r).is_none());
        assert_eq!(pct(&r), None);
        // Threshold 5: 2023's 3 is hidden, and so is the total, which would give it away with the overview.
        let r = from_years(all, 2026, 5, &g);
        let t = voortgang(&r).unwrap();
        assert_eq!(t.entries[1][0], None);
        assert_eq!(t.entries.last().unwrap()[0], None);
        assert_eq!((t.entries[2][0], t.entries[3][0]), (Some(60), Some(50)));
        assert_eq!(recoverable(&t), None);
        assert_eq!(pct(&r), Some(None));
        let overview_2023 = r.overview.iter().find(|o| o.year == 2023).unwrap();
        assert_eq!(overview_2023.bemiddelingen, None);
        assert!(r.html().contains("* (klein aantal)"));
    }

    /// The new tables on many generated years: every count under the threshold hidden, nothing hidden recoverable,
    /// and the saldo shown only where both its columns are.
    #[test]
    fn new_tables_hide_small_counts_and_nothing_is_recoverable_on_many_years() {
        use crate::indicators::{GemeenteCijfers, ZorgaanbiederCijfers};
        let mut seed: u64 = 0x1d_300;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n) as u32
        };
        let g = Gemeenten::friesland();
        let codes = ["GM0080", "GM0090", "GM0074", "GM0086"];
        let mut checked = 0;
        for round in 0..200 {
            let mut all = BTreeMap::new();
            for jaar in 2022..=2025 {
                let mut y = Jaarcijfers {
                    jaar,
                    bemiddeld: next(12),
                    ..Default::default()
                };
                for code in codes.iter().take(1 + next(4) as usize) {
                    y.per_gemeente.insert(
                        code.to_string(),
                        GemeenteCijfers {
                            instroom: next(12),
                            uitstroom_bemiddeld: next(8),
                            uitstroom_regulier: next(8),
                            ..Default::default()
                        },
                    );
                }
                for z in ["zorgaanbieder:limor", "zorgaanbieder:kwadrant", "onbekend"]
                    .iter()
                    .take(1 + next(3) as usize)
                {
                    y.per_zorgaanbieder.insert(
                        z.to_string(),
                        ZorgaanbiederCijfers {
                            verzoeken: next(12),
                            uitstroom_bemiddeld: next(10),
                            uitstroom_regulier: next(10),
                            ..Default::default()
                        },
                    );
                }
                all.insert(jaar, y);
            }
            let r = from_years(all, 2025, 5, &g);
            for t in r.tables.iter().filter(|t| {
                [
                    VOORTGANG,
                    BALANS,
                    UITSTROOM_ZORGAANBIEDER,
                    "Bemiddelingsverzoeken per zorgaanbieder",
                ]
                .contains(&t.table.title.as_str())
            }) {
                checked += 1;
                assert_eq!(recoverable(t), None, "round {round}: {}", t.table.title);
                for (row, pub_row) in t.table.extended().iter().zip(&t.entries) {
                    for (v, e) in row.iter().zip(pub_row) {
                        if (1..5).contains(v) {
                            assert_eq!(*e, None, "round {round}: {}", t.table.title);
                        }
                    }
                }
                if t.table.title == BALANS {
                    let u = r
                        .tables
                        .iter()
                        .find(|t| t.table.title == UITSTROOM_GEMEENTE);
                    for (i, label) in t.table.rows.iter().enumerate() {
                        let there = u.and_then(|u| {
                            let k = u.table.rows.iter().position(|l| l == label)?;
                            Some(u.entries[k][2])
                        });
                        assert_eq!(
                            t.entries[i][1],
                            there.unwrap_or(Some(0)),
                            "round {round}: {label}: published as in the uitstroom table"
                        );
                    }
                }
                if let Some(s) = &t.table.saldo {
                    for (e, saldo) in t.entries.iter().zip(t.saldo()) {
                        let both = e[s.plus].zip(e[s.minus]);
                        assert_eq!(saldo, both.map(|(p, m)| i64::from(p) - i64::from(m)));
                    }
                }
            }
        }
        assert!(checked > 600, "{checked}");
    }
}
