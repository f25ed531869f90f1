//! The replay proper: every recorded disclosure decided again under the proposed policy. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use policies::policy::space::Access;
use policies::{CaseFacts, FieldId, FieldSet, PartnerId, Policy, Role};
use time::OffsetDateTime;

use super::read::RecordedDisclosure;
use super::render::{field_nl, role_nl, source_name};

/// How a recorded field disclosure fares under the proposed policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Recorded, and still allowed.
    pub still_allowed: u64,
    /// Recorded, and no longer allowed.
    pub no_longer_allowed: u64,
    /// Not recorded, and newly disclosed: the proposed policy would have added it to the same disclosure.
    pub newly_disclosed: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.still_allowed += o.still_allowed;
        self.no_longer_allowed += o.no_longer_allowed;
        self.newly_disclosed += o.newly_disclosed;
    }
}

/// A kind of change, for the examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A recorded field the proposal would no longer allow.
    NoLongerAllowed,
    /// A field the proposal would have added.
    NewlyDisclosed,
}

/// One change, to be told as a story: names, roles, relations and facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The kind of change.
    pub kind: ChangeKind,
    /// The pseudonymous dossier number.
    pub case: u32,
    /// When the disclosure was made.
    pub at: OffsetDateTime,
    /// The sender.
    pub sender: PartnerId,
    /// The receiver.
    pub receiver: PartnerId,
    /// The field.
    pub field: FieldId,
    /// The flow that allowed it then (no longer allowed) or would allow it (newly disclosed).
    pub flow: String,
    /// The facts decided on.
    pub facts: CaseFacts,
    /// The policy version the disclosure was made under.
    pub policy_version: String,
}

/// An invariant the proposal breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The invariant.
    pub invariant: String,
    /// Its basis.
    pub basis: String,
    /// Whether it is one of the covenant's baseline invariants.
    pub baseline: bool,
    /// The rule that breaks it, and its line.
    pub rule: String,
    /// Its line in the proposed policy file.
    pub line: usize,
    /// The fields it lets through.
    pub fields: Vec<FieldId>,
    /// One offending request, in Dutch.
    pub example: String,
    /// How many requests of the space are affected.
    pub requests: usize,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The proposed policy's version.
    pub proposed_version: String,
    /// Disclosures replayed.
    pub disclosures: usize,
    /// Disclosures per source of their facts.
    pub by_source: BTreeMap<String, usize>,
    /// Disclosures not searched for new fields: their policy version is unknown here.
    pub version_unknown: usize,
    /// Distinct dossiers.
    pub cases: usize,
    /// Per (receiver role, flow, field).
    pub rows: BTreeMap<(Role, String, FieldId), Counts>,
    /// Distinct dossiers with a field no longer allowed / newly disclosed.
    pub cases_changed: (usize, usize),
    /// The first example of each kind of change.
    pub examples: Vec<Example>,
    /// Every invariant the proposal breaks.
    pub breaches: Vec<Breach>,
    /// The proposal's own examples that fail (a warning: `Policy::load` would refuse the file).
    pub failing_examples: Vec<String>,
}

impl ReplayReport {
    /// The totals over every row.
    pub fn totals(&self) -> Counts {
        let mut c = Counts::default();
        for r in self.rows.values() {
            c.add(*r);
        }
        c
    }

    /// The totals per receiver role.
    pub fn per_role(&self) -> BTreeMap<Role, Counts> {
        let mut m: BTreeMap<Role, Counts> = BTreeMap::new();
        for ((role, _, _), c) in &self.rows {
            m.entry(*role).or_default().add(*c);
        }
        m
    }

    /// The totals per (receiver role, flow).
    pub fn per_flow(&self) -> BTreeMap<(Role, String), Counts> {
        let mut m: BTreeMap<(Role, String), Counts> = BTreeMap::new();
        for ((role, flow, _), c) in &self.rows {
            m.entry((*role, flow.clone())).or_default().add(*c);
        }
        m
    }

    /// Whether the proposal breaks an invariant: it must not be signed.
    pub fn blocking(&self) -> bool {
        !self.breaches.is_empty()
    }
}

/// The activity of a whole document the receiver writes part of itself.
const JOINT: &str = "gezamenlijk document";

/// Decide every recorded disclosure again under `proposed`; `in_force` holds the policy versions they were made
/// under (by version), to tell which fields the proposal adds.
pub fn replay(
    disclosures: &[RecordedDisclosure],
    proposed: &Policy,
    in_force: &BTreeMap<String, Policy>,
) -> ReplayReport {
    let mut report = ReplayReport {
        proposed_version: proposed.meta.version.clone(),
        disclosures: disclosures.len(),
        by_source: BTreeMap::new(),
        version_unknown: 0,
        cases: disclosures
            .iter()
            .map(|d| d.case)
            .collect::<BTreeSet<_>>()
            .len(),
        rows: BTreeMap::new(),
        cases_changed: (0, 0),
        examples: Vec::new(),
        breaches: breaches(proposed),
        failing_examples: proposed
            .failing_examples()
            .iter()
            .map(|d| d.to_string())
            .collect(),
    };
    let mut changed = (BTreeSet::new(), BTreeSet::new());
    for d in disclosures {
        *report
            .by_source
            .entry(source_name(d.facts_source).to_string())
            .or_default() += 1;
        if let Some(facts) = &d.facts {
            replay_one(&mut report, d, facts, proposed, in_force, &mut changed);
        }
    }
    report.cases_changed = (changed.0.len(), changed.1.len());
    report.examples.sort_by_key(|e| e.kind);
    report
}

/// One disclosure decided again on `facts`: every field it carried still allowed or not, and — for a projection
/// under a known policy version — every field the proposal would have added that the sender holds. Adds the
/// dossier to `changed` (no longer allowed, newly disclosed) and keeps the first example of each kind of change.
fn replay_one(
    report: &mut ReplayReport,
    d: &RecordedDisclosure,
    facts: &CaseFacts,
    proposed: &Policy,
    in_force: &BTreeMap<String, Policy>,
    (gone, added): &mut (BTreeSet<u32>, BTreeSet<u32>),
) {
    let role = d.receiver.role();
    let flows_of = |p: &Policy| -> BTreeMap<FieldId, String> {
        p.allowed_fields(facts, &d.sender, &d.receiver)
            .into_iter()
            .map(|a| (a.field, p.flows[a.flow].name.clone()))
            .collect()
    };
    let new = flows_of(proposed);
    let old = d
        .policy_version
        .as_ref()
        .and_then(|v| in_force.get(v))
        .map(flows_of);
    // A co-writer holds the fields it writes itself: a whole document echoed back needs no flow.
    let writes_new = proposed.writable(role, &facts.relations_of(&d.receiver));
    let recorded: FieldSet = d.fields.iter().copied().collect();
    let version = d.policy_version.clone().unwrap_or_default();
    let mut example = |kind: ChangeKind, field: FieldId, flow: &str| {
        if !report.examples.iter().any(|e| e.kind == kind) {
            report.examples.push(Example {
                kind,
                case: d.case,
                at: d.at,
                sender: d.sender.clone(),
                receiver: d.receiver.clone(),
                field,
                flow: flow.to_string(),
                facts: facts.clone(),
                policy_version: version.clone(),
            });
        }
    };
    for &f in &d.fields {
        let (flow, still) = match new.get(&f) {
            Some(flow) => (flow.clone(), true),
            None if d.whole.is_some() && writes_new.contains(f) => (JOINT.to_string(), true),
            None => {
                let then = old.as_ref().and_then(|o| o.get(&f).cloned());
                let flow = then.unwrap_or_else(|| match d.activity.split("; ").count() {
                    1 => d.activity.clone(),
                    _ => format!("een van: {}", d.activity),
                });
                (flow, false)
            }
        };
        let c = report.rows.entry((role, flow.clone(), f)).or_default();
        if still {
            c.still_allowed += 1;
        } else {
            c.no_longer_allowed += 1;
            gone.insert(d.case);
            example(ChangeKind::NoLongerAllowed, f, &flow);
        }
    }
    // New fields ride along in the projection; a whole document already carries all of its own.
    if d.whole.is_some() {
        return;
    }
    let Some(old) = &old else {
        report.version_unknown += 1;
        return;
    };
    for (f, flow) in &new {
        if !old.contains_key(f) && d.held.contains(*f) && !recorded.contains(*f) {
            report
                .rows
                .entry((role, flow.clone(), *f))
                .or_default()
                .newly_disclosed += 1;
            added.insert(d.case);
            example(ChangeKind::NewlyDisclosed, *f, flow);
        }
    }
}

/// Every invariant the proposal breaks, with one offending request in Dutch.
fn breaches(p: &Policy) -> Vec<Breach> {
    p.violations()
        .into_iter()
        .map(|v| {
            let r = &v.example;
            let what = match r.access {
                Access::Receive => "ontvangt",
                Access::Write => "schrijft",
            };
            let example = format!(
                "{} ({}) {what} ‘{}’ ({}), in de fase {}, {}, {}",
                role_nl(r.role),
                r.relation.label_nl(r.role),
                field_nl(r.field),
                r.field.document().spec().label,
                r.phase.label_nl(),
                if r.consent {
                    "met toestemming"
                } else {
                    "zonder toestemming"
                },
                r.voorziening.label_nl(),
            );
            Breach {
                invariant: v.invariant,
                basis: v.basis,
                baseline: v.baseline,
                rule: v.rule,
                line: v.rule_location.line,
                fields: v.fields,
                example,
                requests: v.requests,
            }
        })
        .collect()
}
