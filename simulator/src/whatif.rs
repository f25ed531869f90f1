//! `weerthuis-sim what-if --current A --proposed B`: the same population under two policies, for a privacy officer.
//!
//! Borrowed from Google's Policy Simulator and AWS Access Analyzer: every disclosure of the simulation is compared
//! between the two policies and grouped as **newly disclosed**, **no longer disclosed** or **uncertain** (the case
//! had not recorded an attribute the decision may depend on yet, such as the herkomstgemeente); a "no new
//! disclosure" gate; partners that would get data they did not get before; every invariant the proposal breaks
//! (over the whole request space, not only the simulated cases); fields a flow allows but the simulation never
//! sent (data minimisation); and graded findings — **blokkerend** (an invariant broken, or the policy's own
//! examples failing), **risico** (BSN or special personal data newly disclosed, or a partner newly receiving),
//! **waarschuwing** (other new disclosures, writes the proposal refuses, monitor figures lost), **suggestie**
//! (newly allowed but never used) — each with the rule, a fix and one example case told in plain words.
//!
//! The report names clients by number only; the population is synthetic, and no value of a field is printed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use policies::model::Category;
use policies::{FieldId, PartnerId, Policy, Role};

use crate::calibration::{self, Row};
use crate::federation::{self, CaseSummary, Disclosure, DisclosureInfo, Engine};
use crate::population::{self, Client, Population, Scale};
use crate::report::{Doc, n};
use crate::run::{calibration_table, describe_population, progress, read_policy};

/// Options of `weerthuis-sim what-if`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy in force.
    #[arg(long)]
    pub current: PathBuf,
    /// The proposed policy.
    #[arg(long)]
    pub proposed: PathBuf,
    /// The seed of the population: the same seed gives the same report, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Friesland or national.
    #[arg(long, value_enum, default_value_t = Scale::Friesland)]
    pub scale: Scale,
    /// Directory for `wat-als.md` and `wat-als.html`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also fail (exit status 1) when anything is newly disclosed: the "no new disclosure" gate.
    #[arg(long)]
    pub no_new_disclosure: bool,
    /// Simulate every N-th client only: a quick look (the calibration then no longer holds).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
}

/// How a disclosure changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Made under the proposal, not under the current policy.
    Newly,
    /// Made under the current policy, not under the proposal.
    NoLonger,
    /// Changed while the case lacked an attribute the decision may depend on.
    Uncertain,
}

impl Direction {
    /// In Dutch.
    pub fn label_nl(self) -> &'static str {
        match self {
            Direction::Newly => "nieuw verstrekt",
            Direction::NoLonger => "niet meer verstrekt",
            Direction::Uncertain => "onzeker",
        }
    }
}

/// A group of changed disclosures: direction, flow, receiving role, field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeKey {
    /// The direction.
    pub direction: Direction,
    /// The flow that allows it (under the policy that makes it).
    pub flow: String,
    /// The receiving role.
    pub role: Role,
    /// The field.
    pub field: FieldId,
}

/// One disclosure, enough to tell it as a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The client.
    pub client: u32,
    /// The disclosure.
    pub disclosure: Disclosure,
    /// What was known of it.
    pub info: DisclosureInfo,
    /// Newly or no longer made (also for an uncertain change).
    pub change: Direction,
}

/// The changed disclosures of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStats {
    /// How many disclosures (field × case × sender × receiver).
    pub disclosures: usize,
    /// In how many cases.
    pub cases: usize,
    /// The first example (lowest client number).
    pub example: Example,
}

/// The grade of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    /// An invariant broken: the proposal may not be signed.
    Blocking,
    /// New BSN or special personal data, or a partner newly receiving data.
    Risk,
    /// Other new disclosures, refused writes, monitor figures lost.
    Warning,
    /// Data minimisation.
    Suggestion,
}

impl Grade {
    /// In Dutch.
    pub fn label_nl(self) -> &'static str {
        match self {
            Grade::Blocking => "blokkerend",
            Grade::Risk => "risico",
            Grade::Warning => "waarschuwing",
            Grade::Suggestion => "suggestie",
        }
    }
}

/// A finding for the privacy officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its grade.
    pub grade: Grade,
    /// What it is about, in one line.
    pub title: String,
    /// The rule: the invariant, flow or write rule concerned, with where it stands.
    pub rule: String,
    /// A fix in plain words.
    pub fix: String,
    /// One example case, told in plain words.
    pub example: String,
}

/// Everything the what-if found.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The changed disclosures, grouped.
    pub changes: BTreeMap<ChangeKey, ChangeStats>,
    /// Disclosures under the current policy and under the proposal.
    pub totals: (usize, usize),
    /// Per role, partners that would receive fields they never received before, with those fields; bystanders
    /// stand for every uninvolved partner of their role.
    pub new_receivers: BTreeMap<Role, (BTreeSet<PartnerId>, BTreeSet<FieldId>, bool)>,
    /// Invariants the proposal breaks.
    pub violations: Vec<policies::policy::space::Violation>,
    /// The proposal's own examples that fail.
    pub failing_examples: Vec<String>,
    /// Per flow of the proposal, fields it allows that the simulation never sent through it.
    pub unused: Vec<(String, Vec<FieldId>)>,
    /// The exact difference over the whole request space.
    pub diff: policies::policy::space::Diff,
    /// Writes refused under the current policy and under the proposal, with the first refusal under the proposal
    /// that the current policy accepted.
    pub refused: (usize, usize, Option<(u32, usize, String)>),
    /// Calibration under both policies.
    pub calibration: (Vec<Row>, Vec<Row>),
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// Whether any finding blocks the proposal.
    pub fn blocking(&self) -> bool {
        self.findings.iter().any(|f| f.grade == Grade::Blocking)
    }

    /// How many disclosures are newly made (including uncertain ones that are new).
    pub fn newly_disclosed(&self) -> usize {
        self.changes
            .iter()
            .filter(|(k, _)| k.direction == Direction::Newly)
            .map(|(_, s)| s.disclosures)
            .sum()
    }

    /// Findings of a grade.
    pub fn count(&self, grade: Grade) -> usize {
        self.findings.iter().filter(|f| f.grade == grade).count()
    }
}

/// What one client contributes.
struct ClientDiff {
    changes: Vec<(ChangeKey, Example)>,
    current: CaseSummary,
    proposed: CaseSummary,
}

/// Run the population under both policies and compare.
pub fn analyse(
    current: &Policy,
    proposed: &Policy,
    population: &Population,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Analysis {
    let engine_a = Engine::new(current, &population.partners);
    let engine_b = Engine::new(proposed, &population.partners);
    let per_client = federation::run_with(population, progress, |client| {
        let a = engine_a.run_case(client);
        let b = engine_b.run_case(client);
        let mut changes = Vec::new();
        let mut note =
            |change: Direction, policy: &Policy, d: &Disclosure, info: &DisclosureInfo| {
                let direction = if info.missing.is_some() {
                    Direction::Uncertain
                } else {
                    change
                };
                changes.push((
                    ChangeKey {
                        direction,
                        flow: federation::flow_name(policy, info.flow).to_string(),
                        role: d.receiver.role(),
                        field: d.field,
                    },
                    Example {
                        client: client.number,
                        disclosure: d.clone(),
                        info: info.clone(),
                        change,
                    },
                ));
            };
        for (d, info) in &b.disclosures {
            if !a.disclosures.contains_key(d) {
                note(Direction::Newly, proposed, d, info);
            }
        }
        for (d, info) in &a.disclosures {
            if !b.disclosures.contains_key(d) {
                note(Direction::NoLonger, current, d, info);
            }
        }
        ClientDiff {
            changes,
            current: a.summarise(),
            proposed: b.summarise(),
        }
    });

    let mut changes: BTreeMap<ChangeKey, (usize, BTreeSet<u32>, Example)> = BTreeMap::new();
    let mut received_a: BTreeMap<PartnerId, BTreeSet<FieldId>> = BTreeMap::new();
    let mut received_b: BTreeMap<PartnerId, (BTreeSet<FieldId>, bool)> = BTreeMap::new();
    let mut used: BTreeSet<(federation::FlowIndex, FieldId)> = BTreeSet::new();
    let mut totals = (0, 0);
    let mut refused = (0, 0, None);
    for c in &per_client {
        for (key, ex) in &c.changes {
            let e = changes
                .entry(key.clone())
                .or_insert_with(|| (0, BTreeSet::new(), ex.clone()));
            e.0 += 1;
            e.1.insert(ex.client);
        }
        totals.0 += c.current.disclosures();
        totals.1 += c.proposed.disclosures();
        for (partner, (fields, _)) in &c.current.received {
            received_a
                .entry(partner.clone())
                .or_default()
                .extend(fields.iter());
        }
        for (partner, (fields, bystander)) in &c.proposed.received {
            let e = received_b.entry(partner.clone()).or_default();
            e.0.extend(fields.iter());
            e.1 |= *bystander;
        }
        for (flow, _, field) in c.proposed.per_flow.keys() {
            used.insert((*flow, *field));
        }
        refused.0 += c.current.refused.len();
        refused.1 += c.proposed.refused.len();
        if refused.2.is_none() {
            let before: BTreeSet<usize> = c.current.refused.iter().map(|r| r.event).collect();
            if let Some(r) = c
                .proposed
                .refused
                .iter()
                .find(|r| !before.contains(&r.event))
            {
                refused.2 = Some((c.proposed.client, r.event, r.reason.clone()));
            }
        }
    }
    let changes: BTreeMap<ChangeKey, ChangeStats> = changes
        .into_iter()
        .map(|(k, (disclosures, cases, example))| {
            (
                k,
                ChangeStats {
                    disclosures,
                    cases: cases.len(),
                    example,
                },
            )
        })
        .collect();

    let mut new_receivers: BTreeMap<Role, (BTreeSet<PartnerId>, BTreeSet<FieldId>, bool)> =
        BTreeMap::new();
    for (partner, (fields, bystander)) in &received_b {
        let before = received_a.get(partner);
        let new: BTreeSet<FieldId> = fields
            .iter()
            .filter(|f| before.is_none_or(|b| !b.contains(f)))
            .copied()
            .collect();
        if !new.is_empty() {
            let e = new_receivers.entry(partner.role()).or_default();
            e.0.insert(partner.clone());
            e.1.extend(new);
            e.2 |= *bystander;
        }
    }

    let unused = proposed
        .flows
        .iter()
        .enumerate()
        .map(|(i, flow)| {
            let never: Vec<FieldId> = flow
                .fields
                .iter()
                .filter(|f| !used.contains(&(Some(i as u16), *f)))
                .collect();
            (flow.name.clone(), never)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();

    let tp_a: Vec<_> = per_client
        .iter()
        .map(|c| c.current.transferpunt.clone())
        .collect();
    let tp_b: Vec<_> = per_client
        .iter()
        .map(|c| c.proposed.transferpunt.clone())
        .collect();
    let mut analysis = Analysis {
        changes,
        totals,
        new_receivers,
        violations: proposed.violations(),
        failing_examples: proposed
            .failing_examples()
            .iter()
            .map(|d| d.to_string())
            .collect(),
        unused,
        diff: current.diff(proposed),
        refused,
        calibration: (
            calibration::calibrate(population, &tp_a),
            calibration::calibrate(population, &tp_b),
        ),
        findings: Vec::new(),
    };
    analysis.findings = findings(&analysis, proposed, population);
    analysis
}

fn field_label(f: FieldId) -> String {
    format!("`{}` ({})", f.qualified_name(), f.spec().label)
}

/// "wijst het Transferpunt een woningcorporatie toe": after "Op <datum>" Dutch puts the verb before the subject.
fn clause(author: &PartnerId, step: &str, pop: &Population) -> String {
    let (verb, rest) = step.split_once(' ').unwrap_or((step, ""));
    format!("{verb} {} {rest}", partner_label(author, pop))
        .trim_end()
        .to_string()
}

fn partner_label(p: &PartnerId, pop: &Population) -> String {
    match p.role() {
        Role::Transferpunt => "het Transferpunt".to_string(),
        Role::Gemeente => pop
            .partners
            .register
            .name(p.code())
            .map(|n| format!("gemeente {n}"))
            .unwrap_or_else(|| p.to_string()),
        _ => p.to_string(),
    }
}

/// The example told as a story: who the client is, what happened, what the proposal would change.
pub fn story(ex: &Example, direction: Direction, flow: &str, pop: &Population) -> String {
    let client: &Client = pop
        .client(ex.client)
        .expect("examples name simulated clients");
    let event = &client.events[ex.info.event];
    let voorziening = client
        .events
        .iter()
        .find_map(|e| e.form.get("soort_voorziening").and_then(|v| v.as_str()))
        .map(|v| v.replace('_', " "))
        .unwrap_or_else(|| "opvang".into());
    let relations: Vec<String> = ex
        .info
        .relations
        .iter()
        .map(|r| r.label_nl(ex.disclosure.receiver.role()))
        .collect();
    let receiver = format!(
        "{} ({})",
        partner_label(&ex.disclosure.receiver, pop),
        if ex.info.bystander {
            format!(
                "zonder relatie tot de casus; staat voor alle {} zonder relatie",
                plural(ex.disclosure.receiver.role())
            )
        } else {
            relations.join(", ")
        }
    );
    let what = match (direction, ex.change) {
        (Direction::Newly, _) | (Direction::Uncertain, Direction::Newly) => {
            "ontvangt onder het voorgestelde beleid"
        }
        _ => "ontving onder het huidige beleid, maar onder het voorgestelde niet meer,",
    };
    let mut s = format!(
        "Cliënt {:05} verblijft in {voorziening}. Op {} {} (formulier {}). Daarna {what} {receiver} van {} het veld \
         {}",
        client.number,
        crate::report::date_nl(event.date),
        clause(&event.author, event.step, pop),
        event.kind.name(),
        partner_label(&ex.disclosure.sender, pop),
        field_label(ex.disclosure.field),
    );
    s.push_str(&format!(" (stroom \"{flow}\")."));
    if let Some(missing) = ex.info.missing {
        s.push_str(&format!(
            " De casus had op dat moment nog geen {missing}; als die bekend is, kan de beslissing anders uitvallen."
        ));
    }
    s
}

fn plural(role: Role) -> &'static str {
    match role {
        Role::Transferpunt => "Transferpunten",
        Role::Gemeente => "gemeenten",
        Role::Corporatie => "woningcorporaties",
        Role::Zorgaanbieder => "zorgaanbieders",
        Role::Huurdersorganisatie => "huurdersorganisaties",
    }
}

fn sensitive(f: FieldId) -> bool {
    let c = f.spec().categories;
    c.contains(Category::Bsn) || c.contains(Category::Bijzonder)
}

fn flow_rule(policy: &Policy, name: &str) -> String {
    policy
        .flows
        .iter()
        .find(|f| f.name == name)
        .map(|f| {
            format!(
                "stroom \"{}\" (regel {}), van {} naar {}; grondslag: {}",
                f.name,
                f.location.line,
                f.from.name(),
                f.to.name(),
                f.basis
            )
        })
        .unwrap_or_else(|| format!("stroom \"{name}\""))
}

fn findings(a: &Analysis, proposed: &Policy, pop: &Population) -> Vec<Finding> {
    let mut out = Vec::new();
    for v in &a.violations {
        let fields: Vec<String> = v.fields.iter().map(|f| field_label(*f)).collect();
        // An example from the simulation if a case reached it, else the request the proof found.
        let simulated = a.changes.iter().find(|(k, _)| {
            k.direction != Direction::NoLonger
                && k.role == v.example.role
                && v.fields.contains(&k.field)
        });
        let example = match simulated {
            Some((k, s)) => story(&s.example, k.direction, &k.flow, pop),
            None => format!(
                "Geen gesimuleerde casus kwam in deze situatie, maar het bewijs over alle situaties vond er één: \
                 {} met relatie \"{}\" in fase {}, {}, {}, zou {} ontvangen.",
                v.example.role.label_nl(),
                v.example.relation.name(),
                v.example.phase.name(),
                if v.example.consent {
                    "met toestemming"
                } else {
                    "zonder toestemming"
                },
                v.example.voorziening.name(),
                field_label(v.example.field)
            ),
        };
        out.push(Finding {
            grade: Grade::Blocking,
            title: format!("Invariant geschonden: {}", v.invariant),
            rule: format!(
                "Invariant \"{}\" ({}, {}regel {}); geschonden door regel \"{}\" (regel {}, kolom {}) in {} situaties. \
                 Grondslag: {}",
                v.invariant,
                if v.baseline { "basis van het convenant" } else { "uit het beleid" },
                if v.baseline { "invariants.toml " } else { "" },
                v.invariant_location.line,
                v.rule,
                v.rule_location.line,
                v.rule_location.column,
                n(v.requests),
                v.basis
            ),
            fix: format!(
                "Haal {} uit regel \"{}\" (regel {}), of beperk die regel tot de relaties en situaties die de \
                 invariant toelaat. Dit beleid kan niet ondertekend worden zolang het zo is.",
                fields.join(", "),
                v.rule,
                v.rule_location.line
            ),
            example,
        });
    }
    for e in &a.failing_examples {
        out.push(Finding {
            grade: Grade::Blocking,
            title: "Een voorbeeld in het beleid zelf faalt".into(),
            rule: e.clone(),
            fix: "Pas de stroom aan of, als de uitkomst bedoeld is, het voorbeeld — en leg uit waarom.".into(),
            example: "Het voorbeeld in het beleidsbestand beschrijft de casus.".into(),
        });
    }
    // New disclosures, grouped per flow and receiving role.
    type Group<'a> = Vec<(&'a ChangeKey, &'a ChangeStats)>;
    let mut groups: BTreeMap<(String, Role, bool), Group<'_>> = BTreeMap::new();
    for (k, s) in &a.changes {
        if k.direction == Direction::Newly {
            groups
                .entry((k.flow.clone(), k.role, sensitive(k.field)))
                .or_default()
                .push((k, s));
        }
    }
    for ((flow, role, is_sensitive), items) in &groups {
        let fields: Vec<String> = items.iter().map(|(k, _)| field_label(k.field)).collect();
        let disclosures: usize = items.iter().map(|(_, s)| s.disclosures).sum();
        let cases = items.iter().map(|(_, s)| s.cases).max().unwrap_or(0);
        out.push(Finding {
            grade: if *is_sensitive { Grade::Risk } else { Grade::Warning },
            title: format!(
                "Nieuw verstrekt aan {}: {} ({} verstrekkingen, ten minste {} casussen){}",
                role.label_nl(),
                fields.join(", "),
                n(disclosures),
                n(cases),
                if *is_sensitive { " — BSN of bijzondere persoonsgegevens" } else { "" }
            ),
            rule: flow_rule(proposed, flow),
            fix: format!(
                "Als {} deze velden niet nodig heeft voor het doel van de stroom, haal ze uit \"{flow}\". Zo niet: \
                 leg het doel en de grondslag vast en informeer de cliënten (AVG art. 13–14).",
                role.label_nl()
            ),
            example: story(&items[0].1.example, Direction::Newly, &items[0].0.flow, pop),
        });
    }
    for (role, (partners, fields, bystander)) in &a.new_receivers {
        if !*bystander {
            continue;
        }
        out.push(Finding {
            grade: Grade::Risk,
            title: format!(
                "Alle {} {} zonder relatie tot een casus zouden gegevens krijgen ({} velden)",
                n(pop.partners.count(*role)),
                plural(*role),
                fields.len()
            ),
            rule: "Afspraak 8b en Bijlage 3: gegevens alleen aan wie bij de casus betrokken is"
                .into(),
            fix: "Beperk de stroom tot relaties met de casus (niet \"geen\").".into(),
            example: format!(
                "Bijvoorbeeld {} ontvangt {}.",
                partners
                    .iter()
                    .next()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                fields
                    .iter()
                    .take(3)
                    .map(|f| field_label(*f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if let Some((client, event, reason)) = &a.refused.2 {
        let c = pop
            .client(*client)
            .expect("refusals name simulated clients");
        let e = &c.events[*event];
        out.push(Finding {
            grade: Grade::Warning,
            title: format!(
                "Het voorgestelde beleid weigert schrijfacties die nu mogen ({} in plaats van {})",
                n(a.refused.1),
                n(a.refused.0)
            ),
            rule: reason.lines().next().unwrap_or_default().to_string(),
            fix: "Geef de partner het schrijfrecht terug in een [[writes]]-regel, of regel dat een ander dit \
                  formulier invult."
                .into(),
            example: format!(
                "Cliënt {:05}: op {} {} (formulier {}); de node van {} weigert dat onder het voorgestelde beleid.",
                c.number,
                crate::report::date_nl(e.date),
                clause(&e.author, e.step, pop),
                e.kind.name(),
                partner_label(&e.author, pop)
            ),
        });
    }
    for (before, after) in a.calibration.0.iter().zip(&a.calibration.1) {
        if before.met() && !after.met() {
            out.push(Finding {
                grade: Grade::Warning,
                title: format!(
                    "De monitor kan \"{}\" over {} niet meer goed tellen ({} in plaats van {})",
                    after.figure,
                    after.year,
                    calibration::show(after.simulated, after.unit),
                    calibration::show(before.simulated, before.unit)
                ),
                rule: "Afspraak 3c–3d: het Transferpunt houdt de uitstroommonitor bij".into(),
                fix:
                    "Laat de velden die dit cijfer nodig heeft naar het Transferpunt blijven gaan."
                        .into(),
                example: "Zie de kalibratietabel onder beide beleidsversies.".into(),
            });
        }
    }
    // Newly allowed by the proposal, yet no simulated case needed it.
    let used_fields: BTreeSet<FieldId> = a
        .changes
        .keys()
        .filter(|k| k.direction != Direction::NoLonger)
        .map(|k| k.field)
        .collect();
    let mut unused_new: BTreeMap<Role, BTreeSet<FieldId>> = BTreeMap::new();
    for e in a.diff.entries.iter().filter(|e| e.added) {
        if e.access == policies::policy::space::Access::Receive && !used_fields.contains(&e.field) {
            unused_new.entry(e.role).or_default().insert(e.field);
        }
    }
    for (role, fields) in unused_new {
        out.push(Finding {
            grade: Grade::Suggestion,
            title: format!(
                "Nieuw toegestaan voor {}, maar in de simulatie nooit verstrekt: {}",
                role.label_nl(),
                fields.iter().map(|f| field_label(*f)).collect::<Vec<_>>().join(", ")
            ),
            rule: "AVG art. 5 lid 1c: dataminimalisatie".into(),
            fix: "Laat deze velden weg tot een concreet proces ze nodig heeft.".into(),
            example: "Geen: geen enkele gesimuleerde casus kwam in een situatie waarin ze verstrekt werden.".into(),
        });
    }
    out.sort_by_key(|f| f.grade);
    out
}

/// The report.
pub fn report(a: &Analysis, current: &Policy, proposed: &Policy, pop: &Population) -> Doc {
    let mut doc = Doc::new(format!(
        "Wat-als-analyse: {} {} → {} {}",
        current.meta.name, current.meta.version, proposed.meta.name, proposed.meta.version
    ));
    doc.h(1, "Samenvatting");
    let verdict = if a.blocking() {
        "**Blokkerend**: dit beleid schendt een invariant of faalt op een eigen voorbeeld en kan niet ondertekend worden."
    } else if a.findings.is_empty() {
        "Geen bevindingen."
    } else {
        "Niet blokkerend; lees de bevindingen voordat het beleid wordt ondertekend."
    };
    doc.p(verdict);
    doc.list(vec![
        format!(
            "Bevindingen: {} blokkerend, {} risico, {} waarschuwing, {} suggestie.",
            a.count(Grade::Blocking),
            a.count(Grade::Risk),
            a.count(Grade::Warning),
            a.count(Grade::Suggestion)
        ),
        format!(
            "Verstrekkingen in de simulatie: {} onder het huidige beleid, {} onder het voorgestelde.",
            n(a.totals.0),
            n(a.totals.1)
        ),
        format!(
            "Toets \"geen nieuwe verstrekking\": {} ({} nieuw verstrekt).",
            if a.newly_disclosed() == 0 { "geslaagd" } else { "**niet geslaagd**" },
            n(a.newly_disclosed())
        ),
        format!(
            "Verschil over alle situaties (niet alleen de gesimuleerde): {} verschil(len) per rol, relatie, \
             afzender en veld, in {} aanvragen.",
            n(a.diff.entries.len()),
            n(a.diff.changed_requests())
        ),
    ]);
    doc.h(1, "Scenario");
    describe_population(&mut doc, pop);

    doc.h(1, "Bevindingen");
    if a.findings.is_empty() {
        doc.p("Geen.");
    }
    for (i, f) in a.findings.iter().enumerate() {
        doc.h(
            2,
            format!("{}. [{}] {}", i + 1, f.grade.label_nl(), f.title),
        );
        doc.list(vec![
            format!("**Regel:** {}", f.rule),
            format!("**Oplossing:** {}", f.fix),
            format!("**Voorbeeld:** {}", f.example),
        ]);
    }

    doc.h(1, "Verstrekkingen per stroom, rol en veld");
    for direction in [Direction::Newly, Direction::NoLonger, Direction::Uncertain] {
        let rows: Vec<Vec<String>> = a
            .changes
            .iter()
            .filter(|(k, _)| k.direction == direction)
            .map(|(k, s)| {
                vec![
                    k.flow.clone(),
                    k.role.label_nl().to_string(),
                    field_label(k.field),
                    n(s.disclosures),
                    n(s.cases),
                ]
            })
            .collect();
        doc.h(
            2,
            format!("{} ({})", capitalise(direction.label_nl()), rows.len()),
        );
        if rows.is_empty() {
            doc.p("Geen.");
        } else {
            doc.table(
                &["stroom", "ontvanger", "veld", "verstrekkingen", "casussen"],
                rows,
            );
            if let Some((k, s)) = a.changes.iter().find(|(k, _)| k.direction == direction) {
                doc.p(format!(
                    "Voorbeeld: {}",
                    story(&s.example, k.direction, &k.flow, pop)
                ));
            }
        }
    }

    doc.h(1, "Partners die gegevens krijgen die ze eerder niet kregen");
    if a.new_receivers.is_empty() {
        doc.p("Geen.");
    } else {
        doc.table(
            &["rol", "partners", "nieuwe velden", "voorbeeld"],
            a.new_receivers
                .iter()
                .map(|(role, (partners, fields, bystander))| {
                    vec![
                        plural(*role).to_string(),
                        if *bystander {
                            format!("alle {} (ook zonder relatie)", n(pop.partners.count(*role)))
                        } else {
                            n(partners.len())
                        },
                        fields
                            .iter()
                            .map(|f| field_label(*f))
                            .collect::<Vec<_>>()
                            .join(", "),
                        partners
                            .iter()
                            .next()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }

    doc.h(1, "Schendingen van invarianten");
    if a.violations.is_empty() {
        doc.p("Geen: het voorgestelde beleid houdt zich aan alle invarianten, in elke situatie.");
    } else {
        doc.table(
            &["invariant", "regel", "velden", "situaties"],
            a.violations
                .iter()
                .map(|v| {
                    vec![
                        v.invariant.clone(),
                        format!("{} (regel {})", v.rule, v.rule_location.line),
                        v.fields
                            .iter()
                            .map(|f| field_label(*f))
                            .collect::<Vec<_>>()
                            .join(", "),
                        n(v.requests),
                    ]
                })
                .collect(),
        );
    }

    doc.h(1, "Toegestaan maar nooit gebruikt (dataminimalisatie)");
    doc.p(
        "Velden die een stroom van het voorgestelde beleid toestaat, maar die in de simulatie nooit via die stroom \
         gingen. Kandidaten om weg te laten — of een teken dat de gesimuleerde populatie een situatie mist.",
    );
    if a.unused.is_empty() {
        doc.p("Geen.");
    } else {
        doc.table(
            &["stroom", "aantal", "velden"],
            a.unused
                .iter()
                .map(|(flow, fields)| {
                    vec![
                        flow.clone(),
                        fields.len().to_string(),
                        fields
                            .iter()
                            .map(|f| format!("`{}`", f.qualified_name()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect(),
        );
    }

    doc.h(1, "Verschil in de beleidsruimte");
    doc.p(
        "Exact, over elke combinatie van rol, relatie, afzender, fase, toestemming en voorziening — ook situaties \
         die de simulatie niet bereikte.",
    );
    if a.diff.entries.is_empty() {
        doc.p("Geen verschil: beide beleidsversies beslissen in elke situatie hetzelfde.");
    } else {
        doc.table(
            &["", "rol", "relatie", "van", "toegang", "veld", "situaties"],
            a.diff
                .entries
                .iter()
                .map(|e| {
                    vec![
                        if e.added { "+" } else { "−" }.to_string(),
                        e.role.name().to_string(),
                        e.relation.name().to_string(),
                        e.from
                            .map(|(r, rel)| format!("{} ({})", r.name(), rel.name()))
                            .unwrap_or_else(|| "—".into()),
                        e.access.name().to_string(),
                        format!("`{}`", e.field.qualified_name()),
                        e.contexts_summary(),
                    ]
                })
                .collect(),
        );
    }

    doc.h(1, "Kalibratie onder beide beleidsversies");
    doc.h(2, "Huidig beleid");
    calibration_table(&mut doc, &a.calibration.0);
    doc.h(2, "Voorgesteld beleid");
    calibration_table(&mut doc, &a.calibration.1);
    doc
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Run `weerthuis-sim what-if`.
pub fn main(args: Args) -> anyhow::Result<ExitCode> {
    let current = read_policy(&args.current)?;
    let proposed = read_policy(&args.proposed)?;
    let pop = population::generate(args.scale, args.seed).sample(args.every);
    let a = analyse(&current, &proposed, &pop, &progress("compared"));
    let doc = report(&a, &current, &proposed, &pop);
    let md = doc.markdown();
    print!("{md}");
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("wat-als.md"), &md)?;
        std::fs::write(dir.join("wat-als.html"), doc.html())?;
    }
    let fail = a.blocking() || (args.no_new_disclosure && a.newly_disclosed() > 0);
    Ok(if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
