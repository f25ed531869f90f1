//! The finite request space: every (role, relation, phase, consent, voorziening, field, access). Because it is
//! finite and small (about a hundred thousand requests), checking an invariant over all of it is a proof, and
//! comparing two policies over all of it is an exact diff.

use std::collections::BTreeMap;
use std::fmt;

use super::{Diagnostic, Invariant, Location, Policy};
use crate::model::{FieldId, FieldSet};
use crate::partner::{Fase, Relation, Role, Voorziening};

/// Receiving a field, or writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// May a partner receive (and hold) this field?
    Receive,
    /// May a partner write this field?
    Write,
}

impl Access {
    /// Both.
    pub const ALL: [Access; 2] = [Access::Receive, Access::Write];

    /// The name in policies.
    pub fn name(self) -> &'static str {
        match self {
            Access::Receive => "receive",
            Access::Write => "write",
        }
    }
}

/// One point of the request space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Request {
    /// The partner's role.
    pub role: Role,
    /// Its relation to the case.
    pub relation: Relation,
    /// The case's phase.
    pub phase: Fase,
    /// Whether the client consented.
    pub consent: bool,
    /// BW or MO.
    pub voorziening: Voorziening,
    /// The field.
    pub field: FieldId,
    /// Receive or write.
    pub access: Access,
}

/// The facts of a request without the field: the unit the evaluator computes a [`FieldSet`] for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Context {
    /// The partner's role.
    pub role: Role,
    /// Its relation to the case.
    pub relation: Relation,
    /// The phase.
    pub phase: Fase,
    /// Consent.
    pub consent: bool,
    /// BW or MO.
    pub voorziening: Voorziening,
    /// Receive or write.
    pub access: Access,
}

impl Context {
    /// Every context of the space: each role with each relation it can have, every phase, consent and
    /// voorziening, both accesses.
    pub fn all() -> impl Iterator<Item = Context> {
        Role::ALL.into_iter().flat_map(|role| {
            role.relations().iter().flat_map(move |&relation| {
                Fase::ALL.into_iter().flat_map(move |phase| {
                    [false, true].into_iter().flat_map(move |consent| {
                        Voorziening::ALL.into_iter().flat_map(move |voorziening| {
                            Access::ALL.into_iter().map(move |access| Context {
                                role,
                                relation,
                                phase,
                                consent,
                                voorziening,
                                access,
                            })
                        })
                    })
                })
            })
        })
    }

    /// This context with a field.
    pub fn with(self, field: FieldId) -> Request {
        Request {
            role: self.role,
            relation: self.relation,
            phase: self.phase,
            consent: self.consent,
            voorziening: self.voorziening,
            field,
            access: self.access,
        }
    }
}

impl Request {
    /// The request without its field.
    pub fn context(&self) -> Context {
        Context {
            role: self.role,
            relation: self.relation,
            phase: self.phase,
            consent: self.consent,
            voorziening: self.voorziening,
            access: self.access,
        }
    }

    /// Every request of the space.
    pub fn all() -> impl Iterator<Item = Request> {
        Context::all().flat_map(|c| FieldId::all().map(move |f| c.with(f)))
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) {} {} [phase {}, {}, {}]",
            self.role,
            self.relation,
            match self.access {
                Access::Receive => "receives",
                Access::Write => "writes",
            },
            self.field,
            self.phase,
            if self.consent {
                "with consent"
            } else {
                "without consent"
            },
            self.voorziening
        )
    }
}

/// A rule of the policy that allows something: a flow or a write rule, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleRef {
    /// Index into [`Policy::flows`].
    Flow(usize),
    /// Index into [`Policy::writes`].
    Write(usize),
}

/// An invariant broken by a rule, with every field affected and one request as an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// Its basis.
    pub basis: String,
    /// Where it stands, and whether it is a baseline invariant.
    pub invariant_location: Location,
    /// Whether the invariant is one of the built-in baseline.
    pub baseline: bool,
    /// The rule's name.
    pub rule: String,
    /// Where the rule stands.
    pub rule_location: Location,
    /// The fields it lets through that the invariant forbids.
    pub fields: Vec<FieldId>,
    /// One offending request.
    pub example: Request,
    /// How many requests of the space are affected.
    pub requests: usize,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {:?} (line {}) breaks invariant {:?} ({}, line {}; basis: {}): {}; fields: {} ({} request(s) in all)",
            self.rule,
            self.rule_location.line,
            self.invariant,
            if self.baseline { "baseline" } else { "policy" },
            self.invariant_location.line,
            self.basis,
            self.example,
            self.fields
                .iter()
                .map(|f| f.qualified_name())
                .collect::<Vec<_>>()
                .join(", "),
            self.requests
        )
    }
}

impl Invariant {
    /// The fields this invariant forbids in a context (empty when it does not apply there).
    pub fn forbidden(&self, c: &Context) -> FieldSet {
        let applies = self.role.is_none_or(|r| r == c.role)
            && (self.relations.is_empty() || self.relations.contains(&c.relation))
            && self.when_consent.is_none_or(|v| v == c.consent)
            && (self.phases.is_empty() || self.phases.contains(&c.phase));
        if !applies {
            return FieldSet::EMPTY;
        }
        match c.access {
            Access::Receive => self.receive,
            Access::Write => self.write,
        }
    }
}

impl Policy {
    /// The fields allowed in a context.
    pub fn allowed_in(&self, c: &Context) -> FieldSet {
        match c.access {
            Access::Receive => self.receivable(
                c.role,
                &[c.relation],
                c.consent,
                c.phase,
                Some(c.voorziening),
            ),
            Access::Write => self.writable(c.role, &[c.relation]),
        }
    }

    /// The rules that allow a request (empty: denied).
    pub fn rules_allowing(&self, r: &Request) -> Vec<RuleRef> {
        match r.access {
            Access::Receive => self
                .flows
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    f.to == r.role
                        && f.relations.contains(&r.relation)
                        && f.conditions.hold(r.consent, r.phase, Some(r.voorziening))
                        && f.fields.contains(r.field)
                })
                .map(|(i, _)| RuleRef::Flow(i))
                .collect(),
            Access::Write => self
                .writes
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    w.role == r.role
                        && w.relations.contains(&r.relation)
                        && w.fields.contains(r.field)
                })
                .map(|(i, _)| RuleRef::Write(i))
                .collect(),
        }
    }

    /// Whether a request is allowed.
    pub fn decide(&self, r: &Request) -> bool {
        self.allowed_in(&r.context()).contains(r.field)
    }

    /// A rule's name and location.
    pub fn rule(&self, r: RuleRef) -> (&str, Location) {
        match r {
            RuleRef::Flow(i) => (&self.flows[i].name, self.flows[i].location),
            RuleRef::Write(i) => (&self.writes[i].name, self.writes[i].location),
        }
    }

    /// Every invariant broken anywhere in the request space, grouped per invariant and rule.
    pub fn violations(&self) -> Vec<Violation> {
        let mut found: BTreeMap<(usize, RuleRef), Violation> = BTreeMap::new();
        for c in Context::all() {
            let allowed = self.allowed_in(&c);
            for (ii, inv) in self.invariants.iter().enumerate() {
                let bad = allowed.intersection(inv.forbidden(&c));
                for field in bad.iter() {
                    let req = c.with(field);
                    for rule in self.rules_allowing(&req) {
                        let (name, loc) = self.rule(rule);
                        let v = found.entry((ii, rule)).or_insert_with(|| Violation {
                            invariant: inv.name.clone(),
                            basis: inv.basis.clone(),
                            invariant_location: inv.location,
                            baseline: inv.baseline,
                            rule: name.to_string(),
                            rule_location: loc,
                            fields: Vec::new(),
                            example: req,
                            requests: 0,
                        });
                        if !v.fields.contains(&field) {
                            v.fields.push(field);
                        }
                        v.requests += 1;
                    }
                }
            }
        }
        found.into_values().collect()
    }

    /// The examples whose outcome differs from what they expect.
    pub fn failing_examples(&self) -> Vec<Diagnostic> {
        self.examples
            .iter()
            .filter(|e| self.decide(&e.request) != e.expect_allowed)
            .map(|e| Diagnostic {
                location: e.location,
                message: format!(
                    "example {:?} expects {} but the policy {}: {}",
                    e.name,
                    if e.expect_allowed { "allow" } else { "deny" },
                    if e.expect_allowed { "denies" } else { "allows" },
                    e.request
                ),
            })
            .collect()
    }

    /// The fields `c.role` (as `c.relation`) may receive from a sender with this role and relation.
    pub fn receivable_from(&self, c: &Context, from: Role, from_relation: Relation) -> FieldSet {
        self.flows
            .iter()
            .filter(|f| {
                f.from == from
                    && (f.from_relations.is_empty() || f.from_relations.contains(&from_relation))
                    && f.to == c.role
                    && f.relations.contains(&c.relation)
                    && f.conditions.hold(c.consent, c.phase, Some(c.voorziening))
            })
            .fold(FieldSet::EMPTY, |acc, f| acc.union(f.fields))
    }

    /// The exact difference from `self` (old) to `new`, over the whole request space. Disclosures are compared
    /// per sender too, so moving a flow from one sender to another shows.
    pub fn diff(&self, new: &Policy) -> Diff {
        let mut entries: BTreeMap<DiffKey, Vec<DiffContext>> = BTreeMap::new();
        let senders: Vec<Sender> = Role::ALL
            .into_iter()
            .flat_map(|r| r.relations().iter().map(move |rel| (r, *rel)))
            .collect();
        for c in Context::all() {
            let pairs: Vec<(Option<Sender>, FieldSet, FieldSet)> = match c.access {
                Access::Write => vec![(None, self.allowed_in(&c), new.allowed_in(&c))],
                Access::Receive => senders
                    .iter()
                    .map(|&(r, rel)| {
                        (
                            Some((r, rel)),
                            self.receivable_from(&c, r, rel),
                            new.receivable_from(&c, r, rel),
                        )
                    })
                    .collect(),
            };
            for (from, old_set, new_set) in pairs {
                for (set, added) in [
                    (new_set.difference(old_set), true),
                    (old_set.difference(new_set), false),
                ] {
                    for field in set.iter() {
                        entries
                            .entry((c.role, c.relation, c.access, from, field, added))
                            .or_default()
                            .push((c.phase, c.consent, c.voorziening));
                    }
                }
            }
        }
        Diff {
            entries: entries
                .into_iter()
                .map(
                    |((role, relation, access, from, field, added), contexts)| DiffEntry {
                        role,
                        relation,
                        access,
                        from,
                        field,
                        added,
                        contexts,
                    },
                )
                .collect(),
        }
    }
}

/// A sender's role and relation to the case.
pub type Sender = (Role, Relation);

/// (role, relation, access, sender, field, newly allowed?): how diff entries are grouped.
type DiffKey = (Role, Relation, Access, Option<Sender>, FieldId, bool);

/// (phase, consent, voorziening): a context in which a diff entry changed.
pub type DiffContext = (Fase, bool, Voorziening);

/// One field newly allowed or no longer allowed for a role and relation, with the exact contexts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    /// The role.
    pub role: Role,
    /// The relation.
    pub relation: Relation,
    /// Receive or write.
    pub access: Access,
    /// For receiving: the sender's role and relation to the case. `None` for writing.
    pub from: Option<Sender>,
    /// The field.
    pub field: FieldId,
    /// Newly allowed (`true`) or no longer allowed (`false`).
    pub added: bool,
    /// Every (phase, consent, voorziening) where it changed.
    pub contexts: Vec<DiffContext>,
}

impl DiffEntry {
    /// The contexts in words: the product of phases, consent and voorziening when they form one, else each.
    pub fn contexts_summary(&self) -> String {
        let mut phases: Vec<Fase> = self.contexts.iter().map(|c| c.0).collect();
        let mut consents: Vec<bool> = self.contexts.iter().map(|c| c.1).collect();
        let mut kinds: Vec<Voorziening> = self.contexts.iter().map(|c| c.2).collect();
        phases.sort();
        phases.dedup();
        consents.sort();
        consents.dedup();
        kinds.sort();
        kinds.dedup();
        let is_product = phases.len() * consents.len() * kinds.len() == self.contexts.len();
        let consent_words = |c: &[bool]| match c {
            [false, true] => None,
            [true] => Some("met toestemming"),
            _ => Some("zonder toestemming"),
        };
        if is_product {
            let mut parts = Vec::new();
            if phases.len() < Fase::ALL.len() {
                parts.push(format!(
                    "fase {}",
                    phases
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join("/")
                ));
            }
            if let Some(w) = consent_words(&consents) {
                parts.push(w.into());
            }
            if kinds.len() == 1 {
                parts.push(kinds[0].name().into());
            }
            if parts.is_empty() {
                "altijd".into()
            } else {
                parts.join(", ")
            }
        } else {
            self.contexts
                .iter()
                .map(|(p, c, v)| {
                    format!(
                        "{}/{}/{}",
                        p.name(),
                        if *c {
                            "toestemming"
                        } else {
                            "geen toestemming"
                        },
                        v.name()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

/// The exact difference between two policies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Per role, relation, access and field: what changed, in which contexts.
    pub entries: Vec<DiffEntry>,
}

impl Diff {
    /// Whether the two policies decide every request alike.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of requests that changed.
    pub fn changed_requests(&self) -> usize {
        self.entries.iter().map(|e| e.contexts.len()).sum()
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return writeln!(
                f,
                "Geen verschil: beide beleidsversies beslissen elk verzoek gelijk."
            );
        }
        let mut current = None;
        for e in &self.entries {
            let key = (e.role, e.relation, e.access, e.from);
            if current != Some(key) {
                current = Some(key);
                match e.from {
                    Some((from, from_rel)) => writeln!(
                        f,
                        "\n{} ({}) — ontvangen van {from} ({from_rel}):",
                        e.role, e.relation
                    )?,
                    None => writeln!(f, "\n{} ({}) — schrijven:", e.role, e.relation)?,
                }
            }
            writeln!(
                f,
                "  {} {:<55} {}",
                if e.added {
                    "+ nieuw toegestaan   "
                } else {
                    "- niet meer toegestaan"
                },
                e.field.qualified_name(),
                e.contexts_summary()
            )?;
        }
        writeln!(f, "\n{} verzoek(en) gewijzigd.", self.changed_requests())
    }
}
