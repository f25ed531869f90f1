//! The policy read back in plain Dutch, for a privacy officer: one sentence per rule, a table per role, and why a
//! partner does or does not get a field.

use std::fmt::{self, Write as _};

use super::space::{Access, Context, Request};
use super::{Conditions, Flow, Invariant, Policy, WriteRule};
use crate::model::{DocumentKind, FieldSet};
use crate::partner::{Relation, Role};

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Lower-case the first letter of a label, but leave acronyms ("AVE-niveau", "BSN") alone.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), c.clone().next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

/// "a, b en c".
fn join_nl(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// A field set in words: whole forms by name, otherwise the fields per form.
pub(crate) fn describe_fields_nl(set: FieldSet) -> String {
    if set == FieldSet::all() {
        return "alle gegevens van de casus".into();
    }
    let mut parts = Vec::new();
    for kind in DocumentKind::ALL {
        let in_doc: Vec<_> = kind.fields().filter(|f| set.contains(*f)).collect();
        if in_doc.is_empty() {
            continue;
        }
        if set.covers_document(kind) {
            parts.push(format!("{} (volledig)", kind.spec().label));
        } else {
            let names: Vec<String> = in_doc.iter().map(|f| lower_first(f.spec().label)).collect();
            parts.push(format!(
                "uit {}: {}",
                kind.spec().label,
                join_nl(&names, "en")
            ));
        }
    }
    join_nl(&parts, "en")
}

fn relations_nl(role: Role, relations: &[Relation]) -> String {
    if relations.is_empty()
        || (relations.len() == role.relations().len() && role != Role::Transferpunt)
    {
        return role.label_nl().to_string();
    }
    let names: Vec<String> = relations.iter().map(|r| r.label_nl(role)).collect();
    join_nl(&names, "of")
}

fn conditions_nl(c: &Conditions) -> String {
    let mut s = String::new();
    if c.consent {
        s.push_str(", als de cliënt toestemming heeft gegeven");
    }
    if !c.phases.is_empty() {
        let names: Vec<String> = c.phases.iter().map(|p| p.label_nl().to_string()).collect();
        let _ = write!(s, ", in de fase {}", join_nl(&names, "of"));
    }
    if !c.voorziening.is_empty() {
        let names: Vec<String> = c
            .voorziening
            .iter()
            .map(|v| v.label_nl().to_string())
            .collect();
        let _ = write!(s, ", alleen bij {}", join_nl(&names, "of"));
    }
    s
}

impl Flow {
    /// The flow as one plain Dutch sentence.
    pub fn sentence_nl(&self) -> String {
        format!(
            "{} ontvangt van {} {}{}. Doel: {}. Grondslag: {}.",
            capitalise(&relations_nl(self.to, &self.relations)),
            relations_nl(self.from, &self.from_relations),
            describe_fields_nl(self.fields),
            conditions_nl(&self.conditions),
            self.purpose.trim_end_matches('.'),
            self.basis.trim_end_matches('.')
        )
    }
}

impl WriteRule {
    /// The write rule as one plain Dutch sentence.
    pub fn sentence_nl(&self) -> String {
        format!(
            "{} mag {} invullen en wijzigen. Grondslag: {}.",
            capitalise(&relations_nl(self.role, &self.relations)),
            describe_fields_nl(self.fields),
            self.basis.trim_end_matches('.')
        )
    }
}

impl Invariant {
    /// The invariant as one plain Dutch sentence.
    pub fn sentence_nl(&self) -> String {
        // "Geen enkele partner ontvangt ..." already says "never"; a role-bound rule says "ontvangt nooit".
        let (who, never) = match self.role {
            None if self.relations.is_empty() => ("Geen enkele partner".to_string(), ""),
            None => (
                format!(
                    "Geen enkele partner in de rol van {}",
                    join_nl(
                        &self
                            .relations
                            .iter()
                            .map(|r| r.name().replace('_', " "))
                            .collect::<Vec<_>>(),
                        "of"
                    )
                ),
                "",
            ),
            Some(role) => (capitalise(&relations_nl(role, &self.relations)), " nooit"),
        };
        let fields_nl = |set: FieldSet| {
            if set == FieldSet::all() {
                "enig gegeven van de casus".to_string()
            } else {
                describe_fields_nl(set)
            }
        };
        let mut when = String::new();
        match self.when_consent {
            Some(false) => when.push_str(" zonder toestemming van de cliënt"),
            Some(true) => when.push_str(" met toestemming van de cliënt"),
            None => {}
        }
        if !self.phases.is_empty() {
            let names: Vec<String> = self
                .phases
                .iter()
                .map(|p| p.label_nl().to_string())
                .collect();
            let _ = write!(when, " in de fase {}", join_nl(&names, "of"));
        }
        let mut parts = Vec::new();
        if !self.receive.is_empty() {
            parts.push(format!("ontvangt{never}{when} {}", fields_nl(self.receive)));
        }
        if !self.write.is_empty() {
            parts.push(format!("schrijft{never}{when} {}", fields_nl(self.write)));
        }
        format!(
            "{who} {}. Grondslag: {}.",
            parts.join(", en "),
            self.basis.trim_end_matches('.')
        )
    }
}

/// A rule named in an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyRule {
    /// The rule's name.
    pub name: String,
    /// Its line in the policy file.
    pub line: usize,
    /// Its sentence.
    pub sentence: String,
    /// Whether it is a baseline invariant (its line is then in `invariants.toml`).
    pub baseline: bool,
}

/// Why a request is allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// The request.
    pub request: Request,
    /// Whether it is allowed.
    pub allowed: bool,
    /// The rules that allow it.
    pub allowed_by: Vec<WhyRule>,
    /// Rules that would carry the field to this role, with the conditions that failed.
    pub near_misses: Vec<(WhyRule, Vec<String>)>,
    /// Invariants that forbid it, whatever the rules say.
    pub forbidden_by: Vec<WhyRule>,
}

impl Policy {
    /// Why a request is or is not allowed.
    pub fn why(&self, request: &Request) -> Why {
        let r = request;
        let mut allowed_by = Vec::new();
        let mut near_misses = Vec::new();
        match r.access {
            Access::Receive => {
                for f in self
                    .flows
                    .iter()
                    .filter(|f| f.to == r.role && f.fields.contains(r.field))
                {
                    let rule = WhyRule {
                        name: f.name.clone(),
                        line: f.location.line,
                        sentence: f.sentence_nl(),
                        baseline: false,
                    };
                    let mut failed = Vec::new();
                    if !f.relations.contains(&r.relation) {
                        failed.push(format!(
                            "de ontvanger is {}, maar deze regel geldt alleen voor {}",
                            r.relation.label_nl(r.role),
                            relations_nl(f.to, &f.relations)
                        ));
                    }
                    if f.conditions.consent && !r.consent {
                        failed.push("de cliënt heeft geen toestemming gegeven".into());
                    }
                    if !f.conditions.phases.is_empty() && !f.conditions.phases.contains(&r.phase) {
                        failed.push(format!("de casus is in de fase {}", r.phase.label_nl()));
                    }
                    if !f.conditions.voorziening.is_empty()
                        && !f.conditions.voorziening.contains(&r.voorziening)
                    {
                        failed.push(format!(
                            "de cliënt verblijft in {}",
                            r.voorziening.label_nl()
                        ));
                    }
                    if failed.is_empty() {
                        allowed_by.push(rule);
                    } else {
                        near_misses.push((rule, failed));
                    }
                }
            }
            Access::Write => {
                for w in self
                    .writes
                    .iter()
                    .filter(|w| w.role == r.role && w.fields.contains(r.field))
                {
                    let rule = WhyRule {
                        name: w.name.clone(),
                        line: w.location.line,
                        sentence: w.sentence_nl(),
                        baseline: false,
                    };
                    if w.relations.contains(&r.relation) {
                        allowed_by.push(rule);
                    } else {
                        near_misses.push((
                            rule,
                            vec![format!(
                                "de schrijver is {}, maar deze regel geldt alleen voor {}",
                                r.relation.label_nl(r.role),
                                relations_nl(w.role, &w.relations)
                            )],
                        ));
                    }
                }
            }
        }
        let context: Context = r.context();
        let forbidden_by = self
            .invariants
            .iter()
            .filter(|i| i.forbidden(&context).contains(r.field))
            .map(|i| WhyRule {
                name: i.name.clone(),
                line: i.location.line,
                sentence: i.sentence_nl(),
                baseline: i.baseline,
            })
            .collect();
        Why {
            request: *r,
            allowed: !allowed_by.is_empty(),
            allowed_by,
            near_misses,
            forbidden_by,
        }
    }

    /// The policy as Markdown for a privacy officer: per role (or only `only`), which fields under which flow,
    /// purpose and basis; what it may write; what it may never get; each rule as a Dutch sentence.
    pub fn explain_markdown(&self, only: Option<Role>) -> String {
        let mut out = String::new();
        self.explain_header_markdown(&mut out);
        for role in Role::ALL
            .into_iter()
            .filter(|r| only.is_none_or(|o| o == *r))
        {
            let label = capitalise(role.label_nl());
            let _ = writeln!(out, "## {label} (`{role}`)\n");
            self.explain_receives_markdown(&mut out, role);
            self.explain_writes_markdown(&mut out, role);
            self.explain_nevers_markdown(&mut out, role);
        }
        out
    }

    /// Name, version, retention and what withdrawing consent does: the rules that hold for every role.
    fn explain_header_markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# Beleid {} — versie {} (geldig vanaf {})\n",
            self.meta.name, self.meta.version, self.meta.effective_from
        );
        if self.retention.per_role.is_empty() {
            let _ = writeln!(
                out,
                "Bewaartermijn: {} jaar na de laatste datum van de casus ({}).\n",
                self.retention.years, self.retention.basis
            );
        } else {
            let _ = writeln!(
                out,
                "Bewaartermijn, per partij (Afspraak 8e), gerekend vanaf de laatste datum van de casus:\n"
            );
            for (role, term) in &self.retention.per_role {
                let _ = writeln!(
                    out,
                    "- {}: {} jaar ({})",
                    capitalise(role.label_nl()),
                    term.years,
                    term.basis
                );
            }
            let _ = writeln!(
                out,
                "- Iedere andere partij: {} jaar ({})\n",
                self.retention.years, self.retention.basis
            );
        }
        let _ = writeln!(
            out,
            "Intrekking van toestemming: {}\n",
            match self.on_withdrawal {
                super::Withdrawal::Keep =>
                    "na intrekking gaan er geen nieuwe gegevens meer naar partners; wat zij eerder rechtmatig ontvingen, mogen zij bewaren (AVG art. 7 lid 3).",
                super::Withdrawal::Forget =>
                    "na intrekking gaan er geen nieuwe gegevens meer naar partners, en verwijderen zij wat zij eerder ontvingen.",
            }
        );
    }

    /// The flows to `role`, once as a table to scan and once as sentences to read; a role that receives
    /// nothing says so rather than leaving its section empty.
    fn explain_receives_markdown(&self, out: &mut String, role: Role) {
        let flows: Vec<&Flow> = self.flows.iter().filter(|f| f.to == role).collect();
        if flows.is_empty() {
            let _ = writeln!(out, "Ontvangt geen persoonsgegevens van casussen.\n");
        } else {
            let _ = writeln!(out, "### Ontvangt\n");
            let _ = writeln!(
                out,
                "| Als | Van | Velden | Voorwaarden | Doel | Grondslag | Regel |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for f in &flows {
                let conditions = conditions_nl(&f.conditions);
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} (regel {}) |",
                    f.relations
                        .iter()
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                    relations_nl(f.from, &f.from_relations),
                    describe_fields_nl(f.fields),
                    if conditions.is_empty() {
                        "altijd".into()
                    } else {
                        conditions.trim_start_matches(", ").to_string()
                    },
                    f.purpose,
                    f.basis,
                    f.name,
                    f.location.line
                );
            }
            let _ = writeln!(out);
            for f in &flows {
                let _ = writeln!(out, "- {}", f.sentence_nl());
            }
            let _ = writeln!(out);
        }
    }

    /// What `role` may write; left out when it may write nothing.
    fn explain_writes_markdown(&self, out: &mut String, role: Role) {
        let writes: Vec<&WriteRule> = self.writes.iter().filter(|w| w.role == role).collect();
        if !writes.is_empty() {
            let _ = writeln!(out, "### Schrijft\n");
            for w in writes {
                let _ = writeln!(
                    out,
                    "- {} (regel {:?}, regel {})",
                    w.sentence_nl(),
                    w.name,
                    w.location.line
                );
            }
            let _ = writeln!(out);
        }
    }

    /// What `role` may never get, its own invariants and the covenant's baseline ones (marked as such);
    /// left out when there are none.
    fn explain_nevers_markdown(&self, out: &mut String, role: Role) {
        let nevers: Vec<&Invariant> = self
            .invariants
            .iter()
            .filter(|i| i.role.is_none_or(|r| r == role))
            .collect();
        if !nevers.is_empty() {
            let _ = writeln!(out, "### Nooit\n");
            for i in nevers {
                let _ = writeln!(
                    out,
                    "- {}{}",
                    i.sentence_nl(),
                    if i.baseline {
                        " (vaste invariant van het convenant)"
                    } else {
                        ""
                    }
                );
            }
            let _ = writeln!(out);
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.request;
        let who = capitalise(&r.relation.label_nl(r.role));
        let field = format!(
            "het veld \"{}\" ({})",
            r.field.spec().label,
            r.field.qualified_name()
        );
        let situation = format!(
            "fase {}, {}, {}",
            r.phase.label_nl(),
            if r.consent {
                "met toestemming"
            } else {
                "zonder toestemming"
            },
            r.voorziening.label_nl()
        );
        let (answer, not) = if self.allowed {
            ("JA", "")
        } else {
            ("NEE", " niet")
        };
        match r.access {
            Access::Receive => {
                writeln!(f, "{answer} — {who} ontvangt {field}{not} ({situation}).")?
            }
            Access::Write => writeln!(f, "{answer} — {who} mag {field}{not} schrijven.")?,
        }
        if self.allowed {
            writeln!(f, "\nToegestaan door:")?;
            for rule in &self.allowed_by {
                writeln!(
                    f,
                    "- {:?} (regel {} van het beleid): {}",
                    rule.name, rule.line, rule.sentence
                )?;
            }
        } else if self.near_misses.is_empty() {
            let doing = match r.access {
                Access::Receive => format!("stuurt dit veld naar {}", r.role.label_nl()),
                Access::Write => format!("laat {} dit veld schrijven", r.role.label_nl()),
            };
            writeln!(f, "\nGeen enkele regel {doing}.")?;
        } else {
            writeln!(
                f,
                "\nRegels die dit veld wel voor deze rol toestaan, maar hier niet gelden:"
            )?;
            for (rule, failed) in &self.near_misses {
                writeln!(
                    f,
                    "- {:?} (regel {} van het beleid): {}",
                    rule.name,
                    rule.line,
                    failed.join("; ")
                )?;
            }
        }
        if !self.forbidden_by.is_empty() {
            writeln!(f, "\nInvarianten die dit altijd verbieden:")?;
            for rule in &self.forbidden_by {
                let place = if rule.baseline {
                    format!(
                        "vaste invariant van het convenant, regel {} van invariants.toml",
                        rule.line
                    )
                } else {
                    format!("regel {} van het beleid", rule.line)
                };
                writeln!(f, "- {:?} ({place}): {}", rule.name, rule.sentence)?;
            }
        }
        Ok(())
    }
}
