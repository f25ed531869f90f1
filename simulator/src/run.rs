//! `weerthuis-sim run`: one policy over a population — what the simulated federation disclosed, and the
//! calibration report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use policies::{Policy, Role};

use crate::calibration::{self, Row};
use crate::federation::{self, CaseSummary};
use crate::population::{self, Population, Scale};
use crate::report::{Doc, n};

/// Options of `weerthuis-sim run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The seed: the same seed gives the same report, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Friesland (the evaluation's years 2022–2024) or national (one year at 25,400 clients).
    #[arg(long, value_enum, default_value_t = Scale::Friesland)]
    pub scale: Scale,
    /// The policy to run (default: the shipped covenant policy).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Directory for `simulatie.md` and `simulatie.html`.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Load a policy file as the what-if does: parsed and resolved, not refused for a broken invariant (that is what
/// the report is for).
pub fn read_policy(path: &std::path::Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Progress on stderr for long runs: every tenth.
pub fn progress(label: &str) -> impl Fn(usize, usize) + Sync + '_ {
    let step = std::sync::atomic::AtomicUsize::new(0);
    move |done, total| {
        let tenth = done * 10 / total.max(1);
        if tenth > step.load(std::sync::atomic::Ordering::Relaxed) {
            step.store(tenth, std::sync::atomic::Ordering::Relaxed);
            eprintln!("{label}: {} of {} clients", n(done), n(total));
        }
    }
}

/// Run `weerthuis-sim run`.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let policy = match &args.policy {
        Some(p) => read_policy(p)?,
        None => Policy::covenant(),
    };
    let started = Instant::now();
    let pop = population::generate(args.scale, args.seed);
    let outcomes = federation::run(&policy, &pop, &progress("simulated"));
    eprintln!(
        "simulated {} clients, {} events, {} plans in {:.1} s",
        n(pop.clients.len()),
        n(pop.clients.iter().map(|c| c.events.len()).sum()),
        n(outcomes.iter().map(|o| o.plans).sum()),
        started.elapsed().as_secs_f64()
    );
    let (doc, rows) = report(&policy, &pop, &outcomes);
    let md = doc.markdown();
    print!("{md}");
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("simulatie.md"), &md)?;
        std::fs::write(dir.join("simulatie.html"), doc.html())?;
    }
    Ok(if rows.iter().all(Row::met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The scenario's description, shared by every report.
pub fn describe_population(doc: &mut Doc, pop: &Population) {
    let events: usize = pop.clients.iter().map(|c| c.events.len()).sum();
    let p = &pop.partners;
    doc.p(format!(
        "Schaal **{}**, seed {}: {} cliënten met samen {} gebeurtenissen (formulieren opgeslagen door een partner), \
         bij {} gemeenten, {} woningcorporaties, {} zorgaanbieders, {} huurdersorganisatie(s) en het Transferpunt.",
        pop.scale.label_nl(),
        pop.seed,
        n(pop.clients.len()),
        n(events),
        n(p.gemeenten.len()),
        n(p.corporaties.len()),
        n(p.zorgaanbieders.len()),
        n(p.huurdersorganisaties.len()),
    ));
    if pop.every > 1 {
        doc.p(format!(
            "**Steekproef**: alleen elke {}e cliënt is gesimuleerd; de aantallen zijn daardoor kleiner en de \
             kalibratie geldt niet.",
            pop.every
        ));
    }
    let a = &pop.assumptions;
    let mut items = vec![
        format!(
            "{:.0} % van de bemiddelingsverzoeken gaat eerst onvolledig terug; aanvullen duurt gemiddeld {:.0} dagen.",
            a.sent_back * 100.0,
            a.days_to_complete
        ),
        format!(
            "Een corporatie weigert {:.0} % van de aanmeldberichten met een reden; de cliënt weigert {:.0} % van de eerste aanbiedingen.",
            a.corporatie_refusal * 100.0,
            a.first_offer_refused * 100.0
        ),
        format!(
            "Per bemiddeling {:.1} reguliere uitstroom en {:.1} uitval; {:.0} % van de cliënten geeft toestemming (bij een bemiddeling altijd).",
            a.regular_per_bemiddeling,
            a.uitval_per_bemiddeling,
            a.consent * 100.0
        ),
        format!(
            "{:.0} % van de registraties wordt eerst zonder herkomstgemeente opgeslagen; van {:.0} % van de \
             cliënten in zorg blijft die onbekend.",
            a.herkomst_unknown * 100.0,
            a.herkomst_never_known * 100.0
        ),
        format!(
            "Na een bemiddelde plaatsing: de oude zorgaanbieder loopt bij {:.0} % mee (altijd korter dan 3 maanden), \
             de ondersteuning wordt bij {:.0} % afgeschaald en bij {:.0} % opgeschaald; {:.0} % van de \
             3-partijen-huurovereenkomsten klapt na een jaar om (de rest een half jaar later); {:.0} % eindigt in \
             een huisuitzetting na overleg; bij {:.0} % loopt de ondersteuning af met een waakvlam.",
            a.meeloop * 100.0,
            a.afschaling * 100.0,
            a.opschaling * 100.0,
            a.omklap_na_een_jaar * 100.0,
            a.huisuitzetting * 100.0,
            a.einde_met_waakvlam * 100.0
        ),
    ];
    if pop.scale == Scale::National {
        items.push(format!(
            "Landelijk: geen gepubliceerd uitstroomcijfer. Aangenomen is dat de Friese cijfers van 2024 per cliënt \
             landelijk gelden: Friesland heeft {:.1} % van de inwoners, dus ~{:.0} van de {} cliënten; \
             de Friese aantallen zijn met {:.1} vermenigvuldigd.",
            population::FRIESLAND_SHARE * 100.0,
            f64::from(population::NATIONAL_CLIENTS) * population::FRIESLAND_SHARE,
            n(population::NATIONAL_CLIENTS as usize),
            population::national_factor()
        ));
    }
    doc.p("Aannames (niet gepubliceerd in de evaluatie):");
    doc.list(items);
}

/// The calibration table.
pub fn calibration_table(doc: &mut Doc, rows: &[Row]) {
    let met = rows.iter().filter(|r| r.met()).count();
    doc.p(format!(
        "{met} van de {} cijfers binnen de tolerantie. Gemeten met de monitor van het Transferpunt over wat het \
         gesimuleerde Transferpunt ontving.",
        rows.len()
    ));
    doc.table(
        &[
            "jaar",
            "cijfer",
            "evaluatie",
            "simulatie",
            "tolerantie",
            "binnen",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.year.to_string(),
                    r.figure.to_string(),
                    calibration::show(Some(r.target), r.unit),
                    calibration::show(r.simulated, r.unit),
                    calibration::show_tolerance(r),
                    if r.met() { "ja" } else { "**nee**" }.to_string(),
                ]
            })
            .collect(),
    );
}

/// Disclosures per flow and receiving role, with the number of cases.
pub fn disclosure_totals(
    policy: &Policy,
    outcomes: &[CaseSummary],
) -> BTreeMap<(String, Role), (usize, usize)> {
    let mut totals: BTreeMap<(String, Role), (usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let mut here: BTreeMap<(String, Role), usize> = BTreeMap::new();
        for ((flow, role, _), count) in &o.per_flow {
            *here
                .entry((federation::flow_name(policy, *flow).to_string(), *role))
                .or_default() += *count as usize;
        }
        for (k, count) in here {
            let e = totals.entry(k).or_default();
            e.0 += count;
            e.1 += 1;
        }
    }
    totals
}

/// The report of one run.
pub fn report(policy: &Policy, pop: &Population, outcomes: &[CaseSummary]) -> (Doc, Vec<Row>) {
    let mut doc = Doc::new(format!(
        "Simulatie van de federatie onder beleid {} ({})",
        policy.meta.name, policy.meta.version
    ));
    doc.h(1, "Scenario");
    describe_population(&mut doc, pop);
    let tp: Vec<_> = outcomes.iter().map(|o| o.transferpunt.clone()).collect();
    let rows = calibration::calibrate(pop, &tp);
    doc.h(1, "Kalibratie op de evaluatie");
    calibration_table(&mut doc, &rows);
    doc.h(2, "Overige cijfers van de monitor");
    doc.table(
        &["jaar", "cijfer", "simulatie"],
        calibration::extra_figures(&tp)
            .into_iter()
            .flat_map(|(year, figures)| {
                figures
                    .into_iter()
                    .map(move |(f, v)| vec![year.to_string(), f.to_string(), v])
            })
            .collect(),
    );
    doc.h(1, "Verstrekkingen");
    doc.p(
        "Eén verstrekking is één veld van één casus dat van de ene partner naar de andere gaat (de eerste keer).",
    );
    doc.table(
        &["stroom", "ontvanger", "verstrekkingen", "casussen"],
        disclosure_totals(policy, outcomes)
            .into_iter()
            .map(|((flow, role), (count, cases))| {
                vec![flow, role.label_nl().to_string(), n(count), n(cases)]
            })
            .collect(),
    );
    let pairs: std::collections::BTreeSet<_> =
        outcomes.iter().flat_map(|o| o.pairs.iter()).collect();
    let partners = pop.partners.all().count();
    doc.h(1, "Verbindingen");
    doc.p(format!(
        "{} paren van partners wisselden gegevens uit, van de {} paren die een volledig netwerk ({} partners, \
         ieder met ieder) zou verbinden ({:.2} %). Een node hoeft alleen verbinding te maken met partners die \
         een plan noemt.",
        n(pairs.len()),
        n(partners * (partners - 1) / 2),
        n(partners),
        100.0 * pairs.len() as f64 / (partners * (partners - 1) / 2) as f64
    ));
    let refused: usize = outcomes.iter().map(|o| o.refused.len()).sum();
    doc.h(1, "Geweigerde schrijfacties");
    doc.p(format!(
        "{} schrijfacties geweigerd door de node van de schrijvende partner.",
        n(refused)
    ));
    (doc, rows)
}
