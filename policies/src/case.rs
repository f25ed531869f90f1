//! A case's documents, and the facts the policy needs from them: phase, consent, voorziening and how each
//! partner relates to the case. Relations are derived from the case's own data, never from a partner's claim.

use std::collections::BTreeMap;

use crate::form::{Form, Value};
use crate::model::DocumentKind;
use crate::partner::{Fase, PartnerId, Relation, Role, Voorziening};

/// The forms of one case, as a node holds them.
#[derive(Debug, Clone, Default)]
pub struct CaseDocuments {
    forms: BTreeMap<DocumentKind, Vec<Form>>,
}

impl CaseDocuments {
    /// A case with no forms yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a form. A form of a kind a case holds once replaces the earlier one; the others are added.
    pub fn insert(&mut self, form: Form) {
        let kind = form.kind();
        let slot = self.forms.entry(kind).or_default();
        if kind.spec().multiple {
            slot.push(form);
        } else {
            *slot = vec![form];
        }
    }

    /// The form of this kind (the first, for kinds a case can hold several of).
    pub fn first(&self, kind: DocumentKind) -> Option<&Form> {
        self.forms.get(&kind).and_then(|v| v.first())
    }

    /// Every form of this kind.
    pub fn all(&self, kind: DocumentKind) -> &[Form] {
        self.forms.get(&kind).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every form.
    pub fn iter(&self) -> impl Iterator<Item = &Form> {
        self.forms.values().flatten()
    }

    fn text(&self, kind: DocumentKind, field: &str) -> Option<&str> {
        self.first(kind).and_then(|f| f.text(field))
    }

    /// The herkomstgemeente, from the registratie or else the aanmelding.
    pub fn herkomstgemeente(&self) -> Option<&str> {
        self.text(DocumentKind::Registratie, "herkomstgemeente")
            .or_else(|| self.text(DocumentKind::Aanmelding, "herkomstgemeente"))
    }

    /// The uitstroomgemeente: the definitive one after placement, else the Transferpunt's choice, else the
    /// expectation in vervolg wonen.
    pub fn uitstroomgemeente(&self) -> Option<&str> {
        self.text(DocumentKind::Plaatsing, "definitieve_uitstroomgemeente")
            .or_else(|| self.text(DocumentKind::Beoordeling, "gekozen_uitstroomgemeente"))
            .or_else(|| self.text(DocumentKind::VervolgWonen, "uitstroomgemeente"))
    }

    /// Whether the client consented to data exchange (Bijlage 3).
    pub fn consent(&self) -> bool {
        self.first(DocumentKind::Registratie)
            .and_then(|f| f.bool("toestemming_gegevensdeling"))
            .unwrap_or(false)
    }

    /// BW or MO, if registered.
    pub fn voorziening(&self) -> Option<Voorziening> {
        self.text(DocumentKind::Registratie, "soort_voorziening")
            .and_then(Voorziening::from_name)
    }

    /// Whether the bemiddelingsverzoek has been submitted (indienen): until then it is a draft at its writer, and
    /// the case is not yet in bemiddeling.
    pub fn submitted(&self) -> bool {
        self.first(DocumentKind::Bemiddelingsverzoek)
            .and_then(|f| f.date("datum_ingediend"))
            .is_some()
    }

    /// The phase, from the furthest step the case has reached. A bemiddelingsverzoek counts once submitted.
    pub fn phase(&self) -> Fase {
        let has = |k| self.first(k).is_some();
        if self
            .first(DocumentKind::Beoordeling)
            .and_then(|f| f.date("datum_afgesloten"))
            .is_some()
        {
            Fase::Afgesloten
        } else if has(DocumentKind::Plaatsing) {
            Fase::Plaatsing
        } else if self.submitted() {
            Fase::Bemiddeling
        } else if has(DocumentKind::VervolgWonen) {
            Fase::VervolgWonen
        } else if has(DocumentKind::Aanmelding) {
            Fase::Aanmelding
        } else {
            Fase::Registratie
        }
    }

    /// How `partner` relates to this case. A partner may have several relations (a gemeente that is both
    /// herkomst- and uitstroomgemeente); [`Relation::Geen`] only when it has none.
    pub fn relations_of(&self, partner: &PartnerId) -> Vec<Relation> {
        let id = partner.to_string();
        let is = |v: Option<&str>| v == Some(id.as_str());
        let mut out = Vec::new();
        match partner.role() {
            Role::Transferpunt => out.push(Relation::Transferpunt),
            Role::Zorgaanbieder => {
                if is(self.text(DocumentKind::Registratie, "betrokken_zorgaanbieder")) {
                    out.push(Relation::BetrokkenZorgaanbieder);
                }
                if is(self.text(
                    DocumentKind::Ondersteuningsplan,
                    "uitvoerende_zorgaanbieder",
                )) {
                    out.push(Relation::OndersteunendeZorgaanbieder);
                }
            }
            Role::Gemeente => {
                let code = partner.code();
                if self.text(DocumentKind::Registratie, "verblijfgemeente") == Some(code) {
                    out.push(Relation::Verblijfgemeente);
                }
                if self.herkomstgemeente() == Some(code) {
                    out.push(Relation::Herkomstgemeente);
                }
                if self.uitstroomgemeente() == Some(code) {
                    out.push(Relation::Uitstroomgemeente);
                }
            }
            Role::Corporatie => {
                let beoordeling = self.first(DocumentKind::Beoordeling);
                if is(beoordeling.and_then(|b| b.text("toegewezen_corporatie"))) {
                    out.push(Relation::ToegewezenCorporatie);
                } else if beoordeling
                    .and_then(|b| b.get("corporatie_historie"))
                    .and_then(Value::as_records)
                    .is_some_and(|h| {
                        h.iter()
                            .any(|r| r.get("corporatie").and_then(Value::as_text) == Some(&id))
                    })
                {
                    out.push(Relation::EerdereCorporatie);
                }
            }
            Role::Huurdersorganisatie => {}
        }
        if out.is_empty() {
            out.push(Relation::Geen);
        }
        out
    }

    /// The facts the policy evaluator needs, for the partners named.
    pub fn facts<'a>(&self, partners: impl IntoIterator<Item = &'a PartnerId>) -> CaseFacts {
        CaseFacts {
            phase: self.phase(),
            consent: self.consent(),
            voorziening: self.voorziening(),
            relations: partners
                .into_iter()
                .map(|p| (p.clone(), self.relations_of(p)))
                .collect(),
        }
    }
}

/// What the policy needs to know of a case: finite facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    /// The phase.
    pub phase: Fase,
    /// Whether the client consented.
    pub consent: bool,
    /// BW or MO; `None` when not yet known (then flows limited to one of them do not apply).
    pub voorziening: Option<Voorziening>,
    /// The relations of the partners involved.
    pub relations: BTreeMap<PartnerId, Vec<Relation>>,
}

impl CaseFacts {
    /// The relations of a partner ([`Relation::Geen`] if unknown; the Transferpunt always relates).
    pub fn relations_of(&self, partner: &PartnerId) -> Vec<Relation> {
        if partner.role() == Role::Transferpunt {
            return vec![Relation::Transferpunt];
        }
        self.relations
            .get(partner)
            .cloned()
            .unwrap_or_else(|| vec![Relation::Geen])
    }
}
