//! The calibration report: the figures the Transferpunt's own monitor computes from what the simulated
//! Transferpunt received, next to the figures the evaluation published, with the tolerance each must meet.
//!
//! The population is built to the targets (see [`crate::population`]); measuring them back through the policy,
//! the projections and the `monitor` crate shows the whole path carries them. A policy that stops the plaatsing from
//! reaching the Transferpunt, for instance, makes the lease types fail here.

use monitor::MonitorCase;
use monitor::indicators::{self, Jaarcijfers};

use crate::population::{Population, YearTarget};

/// One figure: published, simulated, tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The year.
    pub year: i32,
    /// What is measured, in Dutch.
    pub figure: &'static str,
    /// The published (or, nationally, scaled) value.
    pub target: f64,
    /// The simulated value, as the monitor computes it; `None` when the monitor cannot compute it.
    pub simulated: Option<f64>,
    /// The largest accepted difference.
    pub tolerance: f64,
    /// How the value is written (`n`: a count, `%`: a share, `mnd`: months).
    pub unit: &'static str,
}

impl Row {
    /// Whether the simulated value is within the tolerance.
    pub fn met(&self) -> bool {
        self.simulated
            .is_some_and(|s| (s - self.target).abs() <= self.tolerance + 1e-9)
    }
}

/// Counts must match to 2 %, shares to 2 percentage points, the mean lead time to 0.2 months.
const COUNT_TOLERANCE: f64 = 0.02;
const SHARE_TOLERANCE: f64 = 0.02;
const MONTHS_TOLERANCE: f64 = 0.2;

/// Compare what the Transferpunt's monitor computes with the targets.
pub fn calibrate(population: &Population, transferpunt: &[MonitorCase]) -> Vec<Row> {
    let years = indicators::per_jaar(transferpunt);
    let mut rows = Vec::new();
    for t in &population.targets {
        let y = years.get(&t.year);
        rows.extend(rows_for(t, y, &bemiddelde_leases(transferpunt, t.year)));
    }
    rows
}

/// Lease types among the year's *bemiddelde* moves: the evaluation's breakdown. (The monitor's indicator 4 counts
/// 3-partijen leases among all uitstroom, as Afspraak 3d asks; regular moves would dilute the comparison.)
fn bemiddelde_leases(cases: &[MonitorCase], year: i32) -> [u32; 3] {
    let mut n = [0u32; 3];
    for c in cases {
        let Some(p) = c.form(policies::DocumentKind::Plaatsing) else {
            continue;
        };
        if p.text("wijze_van_toewijzing") != Some("bemiddeling")
            || p.date("datum_mutatie").map(|d| d.year()) != Some(year)
        {
            continue;
        }
        match p.text("soort_huurcontract") {
            Some("drie_partijen") => n[0] += 1,
            Some("eigen_naam") => n[1] += 1,
            _ => n[2] += 1,
        }
    }
    n
}

fn rows_for(t: &YearTarget, y: Option<&Jaarcijfers>, leases: &[u32; 3]) -> Vec<Row> {
    let count = |figure, target: u32, v: Option<u32>| Row {
        year: t.year,
        figure,
        target: f64::from(target),
        simulated: v.map(f64::from),
        tolerance: (f64::from(target) * COUNT_TOLERANCE).max(1.0),
        unit: "n",
    };
    let mut rows = vec![
        count("bemiddelingsverzoeken", t.requests, y.map(|y| y.verzoeken)),
        count("bemiddelingen", t.bemiddelingen, y.map(|y| y.bemiddeld)),
        Row {
            year: t.year,
            figure: "gemiddelde doorlooptijd",
            target: t.lead_time_months,
            simulated: y.and_then(Jaarcijfers::doorlooptijd_maanden),
            tolerance: MONTHS_TOLERANCE,
            unit: "mnd",
        },
        Row {
            year: t.year,
            figure: "terug naar herkomstgemeente",
            target: t.herkomst_share,
            simulated: y.and_then(Jaarcijfers::aandeel_herkomst),
            tolerance: SHARE_TOLERANCE,
            unit: "%",
        },
    ];
    if let Some(targets) = t.lease {
        let total: u32 = leases.iter().sum();
        let figures = [
            "3-partijenhuurovereenkomst",
            "huurcontract op eigen naam",
            "soort huurcontract onbekend",
        ];
        for i in 0..3 {
            rows.push(Row {
                year: t.year,
                figure: figures[i],
                target: targets[i],
                simulated: (total > 0).then(|| f64::from(leases[i]) / f64::from(total)),
                tolerance: SHARE_TOLERANCE,
                unit: "%",
            });
        }
    }
    rows
}

/// A value as the report writes it.
pub fn show(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "—".into(),
        Some(v) => match unit {
            "%" => format!("{:.1} %", v * 100.0),
            "mnd" => format!("{v:.2} mnd"),
            _ => format!("{v:.0}"),
        },
    }
}

/// The tolerance as the report writes it.
pub fn show_tolerance(row: &Row) -> String {
    match row.unit {
        "%" => format!("± {:.0} %-punt", row.tolerance * 100.0),
        "mnd" => format!("± {:.1} mnd", row.tolerance),
        _ => format!("± {:.0}", row.tolerance),
    }
}

/// Extra figures the evaluation did not publish but the simulation shows, per year (for the report).
pub fn extra_figures(transferpunt: &[MonitorCase]) -> Vec<(i32, Vec<(&'static str, String)>)> {
    indicators::per_jaar(transferpunt)
        .into_values()
        .map(|y| {
            (
                y.jaar,
                vec![
                    ("teruggestuurd als onvolledig", y.teruggestuurd.to_string()),
                    (
                        "gemiddeld dagen tot volledig",
                        y.dagen_tot_volledig
                            .value()
                            .map_or("—".into(), |d| format!("{d:.0}")),
                    ),
                    ("weigeringen door corporaties", y.weigeringen().to_string()),
                    ("reguliere uitstroom", y.regulier_totaal().to_string()),
                    ("uitval", y.uitval_totaal().to_string()),
                ],
            )
        })
        .collect()
}
