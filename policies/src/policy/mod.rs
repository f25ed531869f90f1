//! The policy: the covenant's data agreements as data, and its evaluator.
//!
//! A policy has four kinds of rule:
//! - **flows**: from a role to a role with a relation to the case, under conditions (consent, phase, BW/MO),
//!   which fields may travel, for which purpose and on which legal basis;
//! - **writes**: which role, in which relation to the case, may write which fields;
//! - **never**: invariants no policy version may break (the covenant's baseline invariants are built in);
//! - **examples**: described requests with the expected outcome, run as tests.
//!
//! All conditions range over finite domains ([`crate::Role`], [`Relation`], [`Fase`], consent, [`Voorziening`],
//! fields), so [`space`] can enumerate every request: an invariant checked over all of them is a proof, and two
//! policies compared over all of them give an exact diff.

mod explain;
mod parse;
pub mod space;

use std::fmt;

use time::Date;

use crate::case::CaseFacts;
use crate::model::{FieldId, FieldSet};
use crate::partner::{Fase, PartnerId, Relation, Role, Voorziening};

pub use explain::{Why, WhyRule};
pub use parse::PolicyError;
pub use space::{Access, Diff, DiffEntry, Request, Violation};

/// The covenant policy shipped with this release (`policies/covenant/policy.toml`).
pub const COVENANT_POLICY: &str = include_str!("../../covenant/policy.toml");

/// The baseline invariants every policy version must keep (`policies/covenant/invariants.toml`).
pub const BASELINE_INVARIANTS: &str = include_str!("../../covenant/invariants.toml");

/// A policy's identity and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// Its name.
    pub name: String,
    /// Its version (`2026.1`).
    pub version: String,
    /// The day it takes effect.
    pub effective_from: Date,
}

/// How long records are kept: a parameter, not a constant, and per role (Afspraak 8e: "Iedere Partij kent een eigen
/// bewaartermijn"). `years` and `basis` are the term for every role the policy names no term of its own for — in the
/// covenant the joint documents' 7 years; a policy text with only `[retention] years` (every version before per-role
/// terms) gives that term to every role, so signed versions already stored keep loading and mean what they meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Years after the case's last date, for every role without a term of its own.
    pub years: u32,
    /// The legal basis of that term.
    pub basis: String,
    /// The roles with a term of their own (`[[retention.role]]`), in file order, each role at most once.
    pub per_role: Vec<(Role, Term)>,
}

/// One role's retention term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Years after the case's last date.
    pub years: u32,
    /// The legal basis.
    pub basis: String,
}

impl Retention {
    /// The term a partner of `role` keeps a case for: its own when the policy names one, else the default.
    pub fn for_role(&self, role: Role) -> Term {
        self.per_role
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| Term {
                years: self.years,
                basis: self.basis.clone(),
            })
    }
}

/// What happens to data partners lawfully received once the client withdraws consent (AVG art. 7(3): the
/// withdrawal does not make earlier processing unlawful, so keeping is allowed; a covenant may choose to forget).
/// Either way no new field that needs consent travels after the withdrawal, and every receiver is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Withdrawal {
    /// Receivers keep what they received before; nothing new travels (`on_withdrawal = "keep"`, the default).
    #[default]
    Keep,
    /// Receivers are told to delete what they received that needed consent (`on_withdrawal = "forget"`).
    Forget,
}

impl Withdrawal {
    /// From the policy file's name.
    pub fn from_name(s: &str) -> Option<Withdrawal> {
        match s {
            "keep" => Some(Withdrawal::Keep),
            "forget" => Some(Withdrawal::Forget),
            _ => None,
        }
    }

    /// The policy file's name.
    pub fn name(self) -> &'static str {
        match self {
            Withdrawal::Keep => "keep",
            Withdrawal::Forget => "forget",
        }
    }
}

/// Where a rule stands in its file, so messages can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a policy file, with where it is: what parsing reports, and what an example that fails over the
/// request space reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.location.line, self.location.column, self.message
        )
    }
}

/// Which cases a rule applies to. An empty list means: any value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// Only with the client's consent.
    pub consent: bool,
    /// Only in these phases (empty: every phase).
    pub phases: Vec<Fase>,
    /// Only for these kinds of shelter (empty: both).
    pub voorziening: Vec<Voorziening>,
}

impl Conditions {
    /// Whether a case with these facts meets the conditions. An unknown voorziening meets only "both".
    pub fn hold(&self, consent: bool, phase: Fase, voorziening: Option<Voorziening>) -> bool {
        (!self.consent || consent)
            && (self.phases.is_empty() || self.phases.contains(&phase))
            && (self.voorziening.is_empty()
                || voorziening.is_some_and(|v| self.voorziening.contains(&v)))
    }
}

/// A flow: which fields may travel from whom to whom, when, why and on which basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Its name.
    pub name: String,
    /// The sending role.
    pub from: Role,
    /// The sender's relation to the case (empty: any).
    pub from_relations: Vec<Relation>,
    /// The receiving role.
    pub to: Role,
    /// The receiver's relations for which the flow applies.
    pub relations: Vec<Relation>,
    /// When it applies.
    pub conditions: Conditions,
    /// The fields.
    pub fields: FieldSet,
    /// Why (doelbinding).
    pub purpose: String,
    /// The legal or covenant basis.
    pub basis: String,
    /// Where it stands.
    pub location: Location,
}

/// A write rule: who may write which fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRule {
    /// Its name.
    pub name: String,
    /// The writing role.
    pub role: Role,
    /// The writer's relations to the case for which it applies.
    pub relations: Vec<Relation>,
    /// The fields.
    pub fields: FieldSet,
    /// The basis.
    pub basis: String,
    /// Where it stands.
    pub location: Location,
}

/// A `never` invariant: requests that no policy version may allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invariant {
    /// Its name.
    pub name: String,
    /// The role it protects against (`None`: every role).
    pub role: Option<Role>,
    /// Only for these relations (empty: all).
    pub relations: Vec<Relation>,
    /// Only when the client did not consent (`Some(false)`), only with consent (`Some(true)`), or always.
    pub when_consent: Option<bool>,
    /// Only in these phases (empty: all).
    pub phases: Vec<Fase>,
    /// Fields that may never be received.
    pub receive: FieldSet,
    /// Fields that may never be written.
    pub write: FieldSet,
    /// The basis.
    pub basis: String,
    /// Where it stands (in the policy file, or in the baseline file).
    pub location: Location,
    /// Whether it comes from the built-in baseline rather than the policy itself.
    pub baseline: bool,
}

/// A described request with its expected outcome, run as a test of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Its name.
    pub name: String,
    /// The request.
    pub request: Request,
    /// Whether it should be allowed.
    pub expect_allowed: bool,
    /// Where it stands.
    pub location: Location,
}

/// A checked policy: parsed, every name resolved, every invariant kept, every example passing.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Identity and date.
    pub meta: PolicyMeta,
    /// Retention.
    pub retention: Retention,
    /// What receivers do with what they hold when consent is withdrawn.
    pub on_withdrawal: Withdrawal,
    /// The flows, in file order.
    pub flows: Vec<Flow>,
    /// The write rules, in file order.
    pub writes: Vec<WriteRule>,
    /// The policy's own invariants and the baseline's.
    pub invariants: Vec<Invariant>,
    /// The examples.
    pub examples: Vec<Example>,
}

/// A flow that lets a field travel: the field and the index of the flow in [`Policy::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// The field.
    pub field: FieldId,
    /// The first flow (in file order) that allows it.
    pub flow: usize,
}

/// A write refused: the first field no rule lets this author write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{author} ({relations}) may not write {field}: no write rule of policy {version} allows it"
)]
pub struct WriteDenied {
    /// Who tried.
    pub author: String,
    /// Its relations to the case, comma separated.
    pub relations: String,
    /// The field.
    pub field: String,
    /// The policy version that decided.
    pub version: String,
}

impl Policy {
    /// Parse, resolve and check a policy against its own invariants and the built-in baseline; run its examples.
    pub fn load(text: &str) -> Result<Policy, PolicyError> {
        let policy = Policy::parse(text)?;
        let violations = policy.violations();
        if !violations.is_empty() {
            return Err(PolicyError::Invariants(violations));
        }
        let failures = policy.failing_examples();
        if !failures.is_empty() {
            return Err(PolicyError::Examples(failures));
        }
        Ok(policy)
    }

    /// The shipped covenant policy.
    pub fn covenant() -> Policy {
        Policy::load(COVENANT_POLICY).expect("the shipped covenant policy is valid (tested)")
    }

    /// Parse and resolve a policy without checking invariants or examples: for the what-if, which must be able
    /// to show what a broken proposal would do.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        parse::parse(text)
    }

    /// Every field `receiver` may receive from `sender` for a case with these facts, each with the first flow
    /// that allows it.
    pub fn allowed_fields(
        &self,
        facts: &CaseFacts,
        sender: &PartnerId,
        receiver: &PartnerId,
    ) -> Vec<Allowed> {
        let from_rel = facts.relations_of(sender);
        let to_rel = facts.relations_of(receiver);
        let mut seen = FieldSet::EMPTY;
        let mut out = Vec::new();
        for (i, flow) in self.flows.iter().enumerate() {
            let applies = flow.from == sender.role()
                && (flow.from_relations.is_empty()
                    || from_rel.iter().any(|r| flow.from_relations.contains(r)))
                && flow.to == receiver.role()
                && to_rel.iter().any(|r| flow.relations.contains(r))
                && flow
                    .conditions
                    .hold(facts.consent, facts.phase, facts.voorziening);
            if !applies {
                continue;
            }
            for field in flow.fields.difference(seen).iter() {
                out.push(Allowed { field, flow: i });
            }
            seen = seen.union(flow.fields);
        }
        out.sort_by_key(|a| a.field);
        out
    }

    /// Every field a partner with this role and these relations may hold for a case with these facts, from any
    /// sender: what a receiver re-checks incoming data against.
    pub fn receivable(
        &self,
        role: Role,
        relations: &[Relation],
        consent: bool,
        phase: Fase,
        voorziening: Option<Voorziening>,
    ) -> FieldSet {
        self.flows
            .iter()
            .filter(|f| {
                f.to == role
                    && relations.iter().any(|r| f.relations.contains(r))
                    && f.conditions.hold(consent, phase, voorziening)
            })
            .fold(FieldSet::EMPTY, |acc, f| acc.union(f.fields))
    }

    /// The fields a role with these relations may write.
    pub fn writable(&self, role: Role, relations: &[Relation]) -> FieldSet {
        self.writes
            .iter()
            .filter(|w| w.role == role && relations.iter().any(|r| w.relations.contains(r)))
            .fold(FieldSet::EMPTY, |acc, w| acc.union(w.fields))
    }

    /// Whether `author` may write every one of `fields` of a case with these facts; the first refused field
    /// otherwise.
    pub fn check_write(
        &self,
        facts: &CaseFacts,
        author: &PartnerId,
        fields: impl IntoIterator<Item = FieldId>,
    ) -> Result<(), WriteDenied> {
        let relations = facts.relations_of(author);
        let allowed = self.writable(author.role(), &relations);
        match fields.into_iter().find(|f| !allowed.contains(*f)) {
            None => Ok(()),
            Some(field) => Err(WriteDenied {
                author: author.to_string(),
                relations: relations
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                field: field.qualified_name(),
                version: self.meta.version.clone(),
            }),
        }
    }
}
