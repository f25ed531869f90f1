//! From TOML text to a resolved [`Policy`]: every role, relation, phase and field name checked, every error
//! pointing at its line.

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::space::{Access, Request, Violation};
use super::{
    BASELINE_INVARIANTS, Conditions, Diagnostic, Example, Flow, Invariant, Location, Policy,
    PolicyMeta, Retention, Term, Withdrawal, WriteRule,
};
use crate::form::parse_date;
use crate::model::{Category, DocumentKind, FieldId, FieldSet};
use crate::partner::{Fase, Relation, Role, Voorziening};

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML, or not the shape of a policy.
    #[error("policy does not parse: {0}")]
    Syntax(Diagnostic),
    /// Unknown names or impossible combinations.
    #[error("policy has {} error(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Diagnostic>),
    /// A flow or write rule breaks an invariant.
    #[error("policy breaks {} invariant(s):\n{}", .0.len(), list(.0))]
    Invariants(Vec<Violation>),
    /// An example does not give its expected outcome.
    #[error("{} example(s) fail:\n{}", .0.len(), list(.0))]
    Examples(Vec<Diagnostic>),
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    policy: RawMeta,
    retention: RawRetention,
    #[serde(default)]
    consent: RawConsent,
    #[serde(default)]
    writes: Vec<Spanned<RawWrite>>,
    #[serde(default)]
    flows: Vec<Spanned<RawFlow>>,
    #[serde(default)]
    never: Vec<Spanned<RawNever>>,
    #[serde(default)]
    examples: Vec<Spanned<RawExample>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInvariantFile {
    #[serde(default)]
    never: Vec<Spanned<RawNever>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    version: String,
    effective_from: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    years: u32,
    basis: String,
    /// Terms of their own, per role (`[[retention.role]]`); none in policy texts before per-role terms.
    #[serde(default)]
    role: Vec<Spanned<RawTerm>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerm {
    role: Spanned<String>,
    years: u32,
    basis: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    #[serde(default)]
    on_withdrawal: Option<Spanned<String>>,
}

type Names = Vec<Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWrite {
    name: String,
    role: Spanned<String>,
    #[serde(default)]
    relations: Option<Names>,
    fields: Names,
    #[serde(default)]
    except: Names,
    basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    name: String,
    from: Spanned<String>,
    #[serde(default)]
    from_relations: Names,
    to: Spanned<String>,
    #[serde(default)]
    relations: Option<Names>,
    #[serde(default)]
    requires: Names,
    #[serde(default)]
    phases: Names,
    #[serde(default)]
    voorziening: Names,
    fields: Names,
    #[serde(default)]
    except: Names,
    purpose: String,
    basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNever {
    name: String,
    role: Spanned<String>,
    #[serde(default)]
    relations: Names,
    #[serde(default)]
    when: Option<RawWhen>,
    #[serde(default)]
    receive: Names,
    #[serde(default)]
    write: Names,
    basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    #[serde(default)]
    toestemming: Option<bool>,
    #[serde(default)]
    phases: Names,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    name: String,
    role: Spanned<String>,
    relation: Spanned<String>,
    #[serde(default = "default_phase")]
    phase: Spanned<String>,
    #[serde(default)]
    toestemming: bool,
    #[serde(default = "default_voorziening")]
    voorziening: Spanned<String>,
    field: Spanned<String>,
    #[serde(default = "default_access")]
    access: Spanned<String>,
    expect: Spanned<String>,
}

fn default_phase() -> Spanned<String> {
    Spanned::new(0..0, "bemiddeling".into())
}
fn default_voorziening() -> Spanned<String> {
    Spanned::new(0..0, "maatschappelijke_opvang".into())
}
fn default_access() -> Spanned<String> {
    Spanned::new(0..0, "receive".into())
}

/// Turns spans into line and column, and collects diagnostics.
struct Resolver<'t> {
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
}

impl<'t> Resolver<'t> {
    fn location(&self, span: Range<usize>) -> Location {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = self.location(span);
        self.diagnostics.push(Diagnostic {
            location,
            message: message.into(),
        });
    }

    fn role(&mut self, s: &Spanned<String>) -> Option<Role> {
        let r = Role::from_name(s.get_ref());
        if r.is_none() {
            self.error(
                s.span(),
                format!(
                    "unknown role {:?}; roles are: {}",
                    s.get_ref(),
                    Role::ALL.map(|r| r.name()).join(", ")
                ),
            );
        }
        r
    }

    fn relations(&mut self, role: Option<Role>, names: &Names) -> Vec<Relation> {
        let mut out = Vec::new();
        for n in names {
            match Relation::from_name(n.get_ref()) {
                None => self.error(
                    n.span(),
                    format!(
                        "unknown relation {:?}; relations are: {}",
                        n.get_ref(),
                        Relation::ALL.map(|r| r.name()).join(", ")
                    ),
                ),
                Some(rel) => {
                    if let Some(role) = role
                        && !role.relations().contains(&rel)
                    {
                        self.error(
                            n.span(),
                            format!(
                                "a {role} cannot be {:?} to a case; a {role} can be: {}",
                                rel.name(),
                                role.relations()
                                    .iter()
                                    .map(|r| r.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    } else if !out.contains(&rel) {
                        out.push(rel);
                    }
                }
            }
        }
        out
    }

    /// A receiver's or writer's relations: given explicitly, except for the Transferpunt, which always relates.
    fn required_relations(
        &mut self,
        role: Option<Role>,
        names: &Option<Names>,
        span: Range<usize>,
    ) -> Vec<Relation> {
        match (role, names) {
            (_, Some(names)) => self.relations(role, names),
            (Some(Role::Transferpunt), None) => vec![Relation::Transferpunt],
            (Some(role), None) => {
                self.error(
                    span,
                    format!(
                        "a rule for a {role} must say for which relations to the case it applies (relations = [...]); \
                         a {role} can be: {}",
                        role.relations().iter().map(|r| r.name()).collect::<Vec<_>>().join(", ")
                    ),
                );
                Vec::new()
            }
            (None, None) => Vec::new(),
        }
    }

    fn phases(&mut self, names: &Names) -> Vec<Fase> {
        names
            .iter()
            .filter_map(|n| {
                let p = Fase::from_name(n.get_ref());
                if p.is_none() {
                    self.error(
                        n.span(),
                        format!(
                            "unknown phase {:?}; phases are: {}",
                            n.get_ref(),
                            Fase::ALL.map(|p| p.name()).join(", ")
                        ),
                    );
                }
                p
            })
            .collect()
    }

    fn voorziening(&mut self, names: &Names) -> Vec<Voorziening> {
        names
            .iter()
            .filter_map(|n| {
                let v = Voorziening::from_name(n.get_ref());
                if v.is_none() {
                    self.error(
                        n.span(),
                        format!("unknown voorziening {:?}; expected beschermd_wonen or maatschappelijke_opvang", n.get_ref()),
                    );
                }
                v
            })
            .collect()
    }

    /// Resolve field selectors: `document.field`, `document.*`, `*` (every field), `@category`.
    fn fields(&mut self, names: &Names) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        for n in names {
            let s = n.get_ref().as_str();
            let resolved = if s == "*" {
                Some(FieldSet::all())
            } else if let Some(cat) = s.strip_prefix('@') {
                match Category::from_name(cat) {
                    Some(c) => Some(FieldSet::category(c)),
                    None => {
                        self.error(
                            n.span(),
                            format!(
                                "unknown field category {s:?}; categories are: {}",
                                Category::ALL.map(|c| format!("@{}", c.name())).join(", ")
                            ),
                        );
                        continue;
                    }
                }
            } else if let Some((doc, field)) = s.split_once('.') {
                match DocumentKind::from_name(doc) {
                    None => {
                        self.error(
                            n.span(),
                            format!(
                                "unknown document {doc:?} in {s:?}; documents are: {}",
                                DocumentKind::ALL.map(|d| d.name()).join(", ")
                            ),
                        );
                        continue;
                    }
                    Some(kind) if field == "*" => Some(FieldSet::document(kind)),
                    Some(kind) => kind.field(field).map(|f| [f].into_iter().collect()),
                }
            } else {
                None
            };
            match resolved {
                Some(fs) => set = set.union(fs),
                None => self.error(
                    n.span(),
                    format!(
                        "unknown field {s:?}; write document.field, document.*, * or @category"
                    ),
                ),
            }
        }
        set
    }

    fn field(&mut self, s: &Spanned<String>) -> Option<FieldId> {
        let f = FieldId::parse(s.get_ref());
        if f.is_none() {
            self.error(
                s.span(),
                format!("unknown field {:?}; write document.field", s.get_ref()),
            );
        }
        f
    }

    fn invariant(&mut self, raw: &Spanned<RawNever>, baseline: bool) -> Invariant {
        let n = raw.get_ref();
        let role = if n.role.get_ref() == "*" {
            None
        } else {
            self.role(&n.role)
        };
        let relations = self.relations(role, &n.relations);
        let (when_consent, phases) = match &n.when {
            Some(w) => (w.toestemming, self.phases(&w.phases)),
            None => (None, Vec::new()),
        };
        let receive = self.fields(&n.receive);
        let write = self.fields(&n.write);
        if receive.is_empty() && write.is_empty() {
            self.error(
                raw.span(),
                "a never rule must name fields in receive = [...] or write = [...]",
            );
        }
        Invariant {
            name: n.name.clone(),
            role,
            relations,
            when_consent,
            phases,
            receive,
            write,
            basis: n.basis.clone(),
            location: self.location(raw.span()),
            baseline,
        }
    }
}

fn syntax_error(text: &str, e: toml::de::Error) -> PolicyError {
    let r = Resolver {
        text,
        diagnostics: Vec::new(),
    };
    let location = e.span().map(|s| r.location(s)).unwrap_or_default();
    PolicyError::Syntax(Diagnostic {
        location,
        message: e.message().to_string(),
    })
}

/// The built-in baseline invariants.
pub(crate) fn baseline_invariants() -> Vec<Invariant> {
    let raw: RawInvariantFile =
        toml::from_str(BASELINE_INVARIANTS).expect("baseline invariants parse (tested)");
    let mut r = Resolver {
        text: BASELINE_INVARIANTS,
        diagnostics: Vec::new(),
    };
    let out = raw.never.iter().map(|n| r.invariant(n, true)).collect();
    assert!(
        r.diagnostics.is_empty(),
        "baseline invariants resolve: {:?}",
        r.diagnostics
    );
    out
}

pub(super) fn parse(text: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| syntax_error(text, e))?;
    let mut r = Resolver {
        text,
        diagnostics: Vec::new(),
    };

    // The sections are resolved in file order, so the diagnostics come out in
    // the order an author reads the policy; keep this sequence when adding one.
    let effective_from = r.effective_from(&raw.policy.effective_from);
    if raw.retention.years == 0 {
        r.error(0..0, "retention.years must be at least 1");
    }
    let per_role = r.retention_terms(&raw.retention.role);
    let on_withdrawal = r.on_withdrawal(raw.consent.on_withdrawal.as_ref());
    let writes = raw.writes.iter().map(|w| r.write_rule(w)).collect();
    let flows = raw.flows.iter().map(|f| r.flow(f)).collect();
    let mut invariants: Vec<Invariant> = raw.never.iter().map(|n| r.invariant(n, false)).collect();
    invariants.extend(baseline_invariants());
    let examples = raw.examples.iter().filter_map(|e| r.example(e)).collect();

    // Every section is resolved before giving up, so one run reports every
    // mistake in the file rather than only the first.
    if !r.diagnostics.is_empty() {
        return Err(PolicyError::Invalid(r.diagnostics));
    }
    Ok(Policy {
        meta: PolicyMeta {
            name: raw.policy.name,
            version: raw.policy.version,
            effective_from,
        },
        retention: Retention {
            years: raw.retention.years,
            basis: raw.retention.basis,
            per_role,
        },
        on_withdrawal,
        flows,
        writes,
        invariants,
        examples,
    })
}

/// One method per section of the policy file. Each records its mistakes as
/// diagnostics and returns a placeholder, so `parse` can carry on and report
/// the rest of the file too; the placeholders never escape, because `parse`
/// returns the diagnostics instead of the policy when there are any.
impl Resolver<'_> {
    /// The per-role terms: every role known, named once, with at least one year.
    fn retention_terms(&mut self, raw: &[Spanned<RawTerm>]) -> Vec<(Role, Term)> {
        let mut out: Vec<(Role, Term)> = Vec::new();
        for t in raw {
            let Some(role) = self.role(&t.get_ref().role) else {
                continue;
            };
            if t.get_ref().years == 0 {
                self.error(t.span(), "retention.role.years must be at least 1");
            }
            if out.iter().any(|(r, _)| *r == role) {
                self.error(
                    t.get_ref().role.span(),
                    format!(
                        "retention.role: role {:?} has a term already; name each role once",
                        role.name()
                    ),
                );
                continue;
            }
            out.push((
                role,
                Term {
                    years: t.get_ref().years,
                    basis: t.get_ref().basis.clone(),
                },
            ));
        }
        out
    }

    fn effective_from(&mut self, s: &Spanned<String>) -> time::Date {
        parse_date(s.get_ref()).unwrap_or_else(|| {
            self.error(s.span(), "effective_from must be a date like 2026-01-01");
            time::Date::MIN
        })
    }

    fn on_withdrawal(&mut self, s: Option<&Spanned<String>>) -> Withdrawal {
        match s {
            None => Withdrawal::default(),
            Some(s) => Withdrawal::from_name(s.get_ref()).unwrap_or_else(|| {
                self.error(
                    s.span(),
                    format!(
                        "consent.on_withdrawal must be \"keep\" or \"forget\", not {:?}",
                        s.get_ref()
                    ),
                );
                Withdrawal::default()
            }),
        }
    }

    fn write_rule(&mut self, w: &Spanned<RawWrite>) -> WriteRule {
        let span = w.span();
        let w = w.get_ref();
        let role = self.role(&w.role);
        let relations = self.required_relations(role, &w.relations, span.clone());
        let fields = self.fields(&w.fields).difference(self.fields(&w.except));
        WriteRule {
            name: w.name.clone(),
            role: role.unwrap_or(Role::Huurdersorganisatie),
            relations,
            fields,
            basis: w.basis.clone(),
            location: self.location(span),
        }
    }

    fn flow(&mut self, f: &Spanned<RawFlow>) -> Flow {
        let span = f.span();
        let f = f.get_ref();
        let from = self.role(&f.from);
        let to = self.role(&f.to);
        let from_relations = self.relations(from, &f.from_relations);
        let relations = self.required_relations(to, &f.relations, span.clone());
        let conditions = Conditions {
            consent: self.requires_consent(&f.requires),
            phases: self.phases(&f.phases),
            voorziening: self.voorziening(&f.voorziening),
        };
        let fields = self.fields(&f.fields).difference(self.fields(&f.except));
        Flow {
            name: f.name.clone(),
            from: from.unwrap_or(Role::Huurdersorganisatie),
            from_relations,
            to: to.unwrap_or(Role::Huurdersorganisatie),
            relations,
            conditions,
            fields,
            purpose: f.purpose.clone(),
            basis: f.basis.clone(),
            location: self.location(span),
        }
    }

    /// A flow's `requires` list: "toestemming" is the only condition there is.
    fn requires_consent(&mut self, requires: &Names) -> bool {
        let mut consent = false;
        for req in requires {
            match req.get_ref().as_str() {
                "toestemming" => consent = true,
                other => self.error(
                    req.span(),
                    format!("unknown condition {other:?}; the only condition is \"toestemming\""),
                ),
            }
        }
        consent
    }

    /// `None` when any part of the example did not resolve; its diagnostics
    /// are already recorded, so the example is dropped rather than guessed.
    fn example(&mut self, e: &Spanned<RawExample>) -> Option<Example> {
        let span = e.span();
        let e = e.get_ref();
        // Resolve every part before the first `?`, so one bad example reports
        // all of its mistakes.
        let role = self.role(&e.role);
        let relation = self
            .relations(role, &vec![e.relation.clone()])
            .first()
            .copied();
        let phase = self.phases(&vec![e.phase.clone()]).first().copied();
        let voorziening = self
            .voorziening(&vec![e.voorziening.clone()])
            .first()
            .copied();
        let field = self.field(&e.field);
        let access = self.example_access(&e.access);
        let expect_allowed = self.example_expect(&e.expect);
        Some(Example {
            name: e.name.clone(),
            request: Request {
                role: role?,
                relation: relation?,
                phase: phase?,
                consent: e.toestemming,
                voorziening: voorziening?,
                field: field?,
                access: access?,
            },
            expect_allowed: expect_allowed?,
            location: self.location(span),
        })
    }

    fn example_access(&mut self, s: &Spanned<String>) -> Option<Access> {
        match s.get_ref().as_str() {
            "receive" => Some(Access::Receive),
            "write" => Some(Access::Write),
            other => {
                self.error(
                    s.span(),
                    format!("access must be \"receive\" or \"write\", not {other:?}"),
                );
                None
            }
        }
    }

    /// `Some(true)` for "allow", `Some(false)` for "deny".
    fn example_expect(&mut self, s: &Spanned<String>) -> Option<bool> {
        match s.get_ref().as_str() {
            "allow" => Some(true),
            "deny" => Some(false),
            other => {
                self.error(
                    s.span(),
                    format!("expect must be \"allow\" or \"deny\", not {other:?}"),
                );
                None
            }
        }
    }
}
