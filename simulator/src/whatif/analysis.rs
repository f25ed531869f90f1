//! The comparison: every client's case played under both policies, disclosure by disclosure, merged into groups,
//! with the policies' own checks over the whole request space. Pure: no report, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use policies::{FieldId, PartnerId, Policy, Role};

use super::findings::{Finding, Grade, findings};
use crate::calibration::{self, Row};
use crate::federation::{self, CaseSummary, Disclosure, DisclosureInfo, Engine};
use crate::population::{Client, Population};

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
        compare_client(client, (current, &engine_a), (proposed, &engine_b))
    });
    let merged = Merged::of(&per_client);
    let tp_a: Vec<_> = per_client
        .iter()
        .map(|c| c.current.transferpunt.clone())
        .collect();
    let tp_b: Vec<_> = per_client
        .iter()
        .map(|c| c.proposed.transferpunt.clone())
        .collect();
    let mut analysis = Analysis {
        new_receivers: new_receivers(&merged.received_a, &merged.received_b),
        unused: unused(proposed, &merged.used),
        changes: merged.changes,
        totals: merged.totals,
        violations: proposed.violations(),
        failing_examples: proposed
            .failing_examples()
            .iter()
            .map(|d| d.to_string())
            .collect(),
        diff: current.diff(proposed),
        refused: merged.refused,
        calibration: (
            calibration::calibrate(population, &tp_a),
            calibration::calibrate(population, &tp_b),
        ),
        findings: Vec::new(),
    };
    analysis.findings = findings(&analysis, proposed, population);
    analysis
}

/// One client's case under both policies: every disclosure made under one and not the other.
fn compare_client(
    client: &Client,
    (current, engine_a): (&Policy, &Engine<'_>),
    (proposed, engine_b): (&Policy, &Engine<'_>),
) -> ClientDiff {
    let a = engine_a.run_case(client);
    let b = engine_b.run_case(client);
    let mut changes = Vec::new();
    let mut note = |change: Direction, policy: &Policy, d: &Disclosure, info: &DisclosureInfo| {
        // A change made while the case lacked an attribute the decision may depend on may not last.
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
}

/// Every client's contribution merged, in client order (so the first example of a group is the lowest client).
struct Merged {
    changes: BTreeMap<ChangeKey, ChangeStats>,
    /// What each partner received under the current policy.
    received_a: BTreeMap<PartnerId, BTreeSet<FieldId>>,
    /// What each partner received under the proposal, and whether it was a bystander.
    received_b: BTreeMap<PartnerId, (BTreeSet<FieldId>, bool)>,
    /// (flow, field) pairs the proposal used.
    used: BTreeSet<(federation::FlowIndex, FieldId)>,
    totals: (usize, usize),
    refused: (usize, usize, Option<(u32, usize, String)>),
}

impl Merged {
    fn of(per_client: &[ClientDiff]) -> Merged {
        let mut changes: BTreeMap<ChangeKey, (usize, BTreeSet<u32>, Example)> = BTreeMap::new();
        let mut m = Merged {
            changes: BTreeMap::new(),
            received_a: BTreeMap::new(),
            received_b: BTreeMap::new(),
            used: BTreeSet::new(),
            totals: (0, 0),
            refused: (0, 0, None),
        };
        for c in per_client {
            for (key, ex) in &c.changes {
                let e = changes
                    .entry(key.clone())
                    .or_insert_with(|| (0, BTreeSet::new(), ex.clone()));
                e.0 += 1;
                e.1.insert(ex.client);
            }
            m.totals.0 += c.current.disclosures();
            m.totals.1 += c.proposed.disclosures();
            for (partner, (fields, _)) in &c.current.received {
                m.received_a
                    .entry(partner.clone())
                    .or_default()
                    .extend(fields.iter());
            }
            for (partner, (fields, bystander)) in &c.proposed.received {
                let e = m.received_b.entry(partner.clone()).or_default();
                e.0.extend(fields.iter());
                e.1 |= *bystander;
            }
            for (flow, _, field) in c.proposed.per_flow.keys() {
                m.used.insert((*flow, *field));
            }
            m.add_refusals(c);
        }
        m.changes = changes
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
        m
    }

    /// Counts a client's refused writes, and keeps the first one the proposal refuses that the current policy
    /// accepted.
    fn add_refusals(&mut self, c: &ClientDiff) {
        let refused = &mut self.refused;
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
}

/// Per role, the partners that receive under the proposal fields they never received under the current policy,
/// those fields, and whether a bystander is among them.
fn new_receivers(
    received_a: &BTreeMap<PartnerId, BTreeSet<FieldId>>,
    received_b: &BTreeMap<PartnerId, (BTreeSet<FieldId>, bool)>,
) -> BTreeMap<Role, (BTreeSet<PartnerId>, BTreeSet<FieldId>, bool)> {
    let mut new_receivers: BTreeMap<Role, (BTreeSet<PartnerId>, BTreeSet<FieldId>, bool)> =
        BTreeMap::new();
    for (partner, (fields, bystander)) in received_b {
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
    new_receivers
}

/// Per flow of the proposal, the fields it allows that the simulation never sent through it.
fn unused(
    proposed: &Policy,
    used: &BTreeSet<(federation::FlowIndex, FieldId)>,
) -> Vec<(String, Vec<FieldId>)> {
    proposed
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
        .collect()
}
