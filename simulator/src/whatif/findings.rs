//! The graded findings for a privacy officer, each with the rule, a fix and one example told in plain words.

use std::collections::{BTreeMap, BTreeSet};

use policies::model::Category;
use policies::{FieldId, Policy, Role};

use super::analysis::{Analysis, ChangeKey, ChangeStats, Direction};
use super::story::{clause, field_label, partner_label, plural, story};
use crate::calibration;
use crate::population::Population;
use crate::report::n;

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

/// Every finding of an analysis, most severe first (within a grade, in the order of the kinds below).
pub(super) fn findings(a: &Analysis, proposed: &Policy, pop: &Population) -> Vec<Finding> {
    let mut out = invariants_broken(a, pop);
    out.extend(failing_examples(a));
    out.extend(new_disclosures(a, proposed, pop));
    out.extend(bystanders(a, pop));
    out.extend(refused_writes(a, pop));
    out.extend(monitor_figures_lost(a));
    out.extend(allowed_but_unused(a));
    out.sort_by_key(|f| f.grade);
    out
}

/// Blocking: every invariant the proposal breaks, with a simulated case that reached it if there is one.
fn invariants_broken(a: &Analysis, pop: &Population) -> Vec<Finding> {
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
    out
}

/// Blocking: the proposal's own examples that fail.
fn failing_examples(a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in &a.failing_examples {
        out.push(Finding {
            grade: Grade::Blocking,
            title: "Een voorbeeld in het beleid zelf faalt".into(),
            rule: e.clone(),
            fix: "Pas de stroom aan of, als de uitkomst bedoeld is, het voorbeeld — en leg uit waarom.".into(),
            example: "Het voorbeeld in het beleidsbestand beschrijft de casus.".into(),
        });
    }
    out
}

/// Risk (BSN or special personal data) or warning: new disclosures, grouped per flow and receiving role.
fn new_disclosures(a: &Analysis, proposed: &Policy, pop: &Population) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// Risk: every partner of a role without a relation to a case would receive data.
fn bystanders(a: &Analysis, pop: &Population) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// Warning: writes the proposal refuses that the current policy accepted, with the first such write.
fn refused_writes(a: &Analysis, pop: &Population) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// Warning: figures of the monitor that the calibration met under the current policy and no longer does.
fn monitor_figures_lost(a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// Suggestion: fields newly allowed by the proposal that no simulated case needed (data minimisation).
fn allowed_but_unused(a: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
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
    out
}

/// Whether a field is a BSN or special personal data.
fn sensitive(f: FieldId) -> bool {
    let c = f.spec().categories;
    c.contains(Category::Bsn) || c.contains(Category::Bijzonder)
}

/// A flow of the policy named with its line, parties and basis.
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
