//! The model of a run: per case, the forms as their authors wrote them, and from the policy who may hold each
//! field — the leak check's measure, independent of what the nodes did.

use std::collections::{BTreeMap, BTreeSet};

use node::scenario::IDS as PARTNERS;
use policies::{CaseDocuments, FieldSet, PartnerId, Policy, Validator};
use serde_json::Value;

/// Per case: the forms as their authors wrote them (section → value, authors).
#[derive(Default)]
pub(super) struct Model {
    pub(super) sections: BTreeMap<String, (Value, BTreeSet<String>)>,
    /// (section, field) → nodes that may hold it (union over every step).
    pub(super) may_hold: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Model {
    pub(super) fn update(&mut self, policy: &Policy, validator: &Validator<'_>) {
        let mut docs = CaseDocuments::new();
        for (section, (json, _)) in &self.sections {
            let Some((kind, _)) = node::projection::parse_section(section) else {
                continue;
            };
            if let Ok(form) = validator
                .form(kind, json)
                .or_else(|_| validator.partial_form(kind, json))
            {
                docs.insert(form);
            }
        }
        let partners: Vec<PartnerId> = PARTNERS
            .iter()
            .map(|p| p.parse().expect("partner ids"))
            .collect();
        let facts = docs.facts(partners.iter());
        for (section, (json, authors)) in &self.sections {
            let Some((kind, instance)) = node::projection::parse_section(section) else {
                continue;
            };
            let addressee: Option<PartnerId> = instance.parse().ok();
            let Value::Object(fields) = json else {
                continue;
            };
            for field in fields.keys() {
                let Some(fid) = kind.field(field) else {
                    continue;
                };
                let mut holders: BTreeSet<String> = authors.clone();
                loop {
                    let mut more = Vec::new();
                    for s in &holders {
                        let sender: PartnerId = s.parse().expect("partner id");
                        for r in &partners {
                            if holders.contains(&r.to_string()) {
                                continue;
                            }
                            let allowed: FieldSet = policy
                                .allowed_fields(&facts, &sender, r)
                                .iter()
                                .map(|a| a.field)
                                .collect();
                            let whole = FieldSet::document(kind);
                            let writes = policy.writable(r.role(), &facts.relations_of(r));
                            // Whole only between co-writers, and only what no third party wrote.
                            let shared_whole = !whole.intersection(writes).is_empty()
                                && allowed.union(writes).intersection(whole) == whole
                                && authors.iter().all(|a| a == s || *a == r.to_string());
                            // Partners of one role never get each other's instance forms in a projection.
                            let peer_form = addressee
                                .as_ref()
                                .is_some_and(|a| a.role() == r.role() && a != r);
                            if shared_whole || (allowed.contains(fid) && !peer_form) {
                                more.push(r.to_string());
                            }
                        }
                    }
                    if more.is_empty() {
                        break;
                    }
                    holders.extend(more);
                }
                self.may_hold
                    .entry((section.clone(), field.clone()))
                    .or_default()
                    .extend(holders);
            }
        }
    }

    /// Who may hold a canary value, and who wrote it.
    pub(super) fn canary(&self, value: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut may = BTreeSet::new();
        let mut authors = BTreeSet::new();
        for (section, (json, by)) in &self.sections {
            let Value::Object(fields) = json else {
                continue;
            };
            for (field, v) in fields {
                if v.to_string().contains(value) {
                    authors.extend(by.iter().cloned());
                    if let Some(h) = self.may_hold.get(&(section.clone(), field.clone())) {
                        may.extend(h.iter().cloned());
                    }
                }
            }
        }
        may.extend(authors.iter().cloned());
        (may, authors)
    }
}
