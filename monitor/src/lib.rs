//! The Transferpunt's uitstroommonitor: the indicators of Afspraak 3d, the evaluation's tables and step durations
//! ([`indicators`]), deadline alerts addressed to the partner who must act ([`alerts`]), the jaarverslag of
//! Afspraak 3h ([`jaarverslag`]) with small-cell and secondary suppression ([`suppress`]), and the monitor page's
//! HTML ([`page`]), and the aggregates kept of cases purged after their bewaartermijn ([`bewaard`]).
//!
//! Everything here is pure: it works on [`MonitorCase`]s, so it can be tested on hand-built cases without a
//! database, and it depends on `policies` only, not on the node. "Today" is always a parameter. Reading the cases
//! from a node's store (`node::monitor::load_cases`) and serving the page stay in `node`; a node's loaded case
//! becomes a [`MonitorCase`] through [`HeldCase`].

pub mod alerts;
pub mod bewaard;
pub mod indicators;
pub mod jaarverslag;
pub mod page;
pub mod suppress;

use policies::form::Form;
use policies::{CaseDocuments, DocumentKind};
use time::{Date, Month};

/// One form of a kind a case holds several of, with the partner it belongs to (`corporatie:elkien`).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The partner the instance belongs to: the corporatie of a reactie, the gemeente of a gemeente form.
    pub partner: String,
    /// The form.
    pub form: Form,
}

/// A case as the monitor sees it: its single forms, and the reactie and gemeente instances by partner.
#[derive(Debug, Clone, Default)]
pub struct MonitorCase {
    /// The case id (never shown in aggregate reports).
    pub id: String,
    /// Every form of the case (single kinds and aanmeldberichten are read from here).
    pub docs: CaseDocuments,
    /// The corporaties' reacties, by corporatie.
    pub reacties: Vec<Instance>,
    /// The gemeenten's forms, by gemeente.
    pub gemeenten: Vec<Instance>,
    /// The meldingen held (Afspraak 7), each with who made it where known.
    pub meldingen: Vec<Melding>,
    /// The Transferpunt's voorleggingen held, by instance name (`<melder>:<melding>`).
    pub voorleggingen: Vec<Instance>,
}

/// A melding as the monitor sees it: the form, its instance name, and the partner that made it.
#[derive(Debug, Clone)]
pub struct Melding {
    /// The partner that made it (`corporatie:elkien`); empty when the holder does not know (its own, until the
    /// node fills in its own id).
    pub by: String,
    /// Its instance name (`melding-1`): with `by`, the Transferpunt's voorlegging of it
    /// (`policies::model::voorlegging_instance`).
    pub name: String,
    /// The form.
    pub form: Form,
}

impl MonitorCase {
    /// A case from its forms and instance forms.
    pub fn new(
        id: &str,
        docs: CaseDocuments,
        reacties: Vec<Instance>,
        gemeenten: Vec<Instance>,
    ) -> Self {
        MonitorCase {
            id: id.to_string(),
            docs,
            reacties,
            gemeenten,
            meldingen: Vec::new(),
            voorleggingen: Vec::new(),
        }
    }

    /// The case as a node holds it: its forms, and its reactie and gemeente instances by partner.
    pub fn from_loaded(id: &str, loaded: &impl HeldCase) -> Self {
        let mut case = MonitorCase::new(
            id,
            loaded.documents().clone(),
            loaded.instances(DocumentKind::Reactie),
            loaded.instances(DocumentKind::Gemeente),
        );
        case.meldingen = loaded.meldingen();
        case.voorleggingen = loaded.instances(DocumentKind::Voorlegging);
        case
    }

    /// The Transferpunt's voorlegging of a melding, if held.
    pub fn voorlegging_of(&self, m: &Melding) -> Option<&Form> {
        let name = policies::model::voorlegging_instance(&m.by, &m.name);
        self.voorleggingen
            .iter()
            .find(|v| v.partner == name)
            .map(|v| &v.form)
    }

    /// The single form of a kind.
    pub fn form(&self, kind: DocumentKind) -> Option<&Form> {
        self.docs.first(kind)
    }

    /// A date field of the single form of a kind.
    pub fn date(&self, kind: DocumentKind, field: &str) -> Option<Date> {
        self.form(kind).and_then(|f| f.date(field))
    }

    /// A text field of the single form of a kind.
    pub fn text(&self, kind: DocumentKind, field: &str) -> Option<&str> {
        self.form(kind).and_then(|f| f.text(field))
    }

    /// The reactie of a corporatie.
    pub fn reactie_of(&self, corporatie: &str) -> Option<&Form> {
        self.reacties
            .iter()
            .find(|r| r.partner == corporatie)
            .map(|r| &r.form)
    }
}

/// A case as a node holds it, as far as the monitor reads it: the node implements this for its loaded case (whole
/// documents and projected sections), so the monitor needs nothing of the node.
pub trait HeldCase {
    /// Every form of the case.
    fn documents(&self) -> &CaseDocuments;

    /// The instance forms of a kind held several times per case (a reactie per corporatie, a gemeente form per
    /// gemeente), each with the partner it belongs to.
    fn instances(&self, kind: DocumentKind) -> Vec<Instance>;

    /// The meldingen held, each with its instance name and, where the holder knows it, the partner that made it.
    /// By default from [`HeldCase::instances`], without the maker.
    fn meldingen(&self) -> Vec<Melding> {
        self.instances(DocumentKind::Melding)
            .into_iter()
            .map(|i| Melding {
                by: String::new(),
                name: i.partner,
                form: i.form,
            })
            .collect()
    }
}

/// `d` plus `months` calendar months (the last day of the month when the day does not exist).
pub fn add_months(d: Date, months: i32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let month = Month::try_from(m as u8).expect("1..=12");
    let last = time::util::days_in_month(month, y);
    Date::from_calendar_date(y, month, d.day().min(last)).expect("day clamped to the month")
}

/// Days from `a` to `b`.
pub fn days(a: Date, b: Date) -> i64 {
    (b - a).whole_days()
}

/// Days as months (an average month of 365.25 / 12 days).
pub fn as_months(days: f64) -> f64 {
    days / (365.25 / 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_add_and_clamp() {
        assert_eq!(add_months(date!(2025 - 01 - 31), 1), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2025 - 11 - 15), 3), date!(2026 - 02 - 15));
        assert_eq!(add_months(date!(2025 - 03 - 15), -3), date!(2024 - 12 - 15));
    }
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod nazorg_tests;
