//! The Transferpunt's uitstroommonitor: the indicators of Afspraak 3d, the evaluation's tables and step durations
//! ([`indicators`]), deadline alerts addressed to the partner who must act ([`alerts`]).
//!
//! Everything but [`load_cases`] is pure: it works on [`MonitorCase`]s, so it can be tested on hand-built cases
//! without a database. "Today" is always a parameter.

pub mod alerts;
pub mod indicators;
pub mod jaarverslag;
pub mod page;
pub mod suppress;

use policies::form::Form;
use policies::{CaseDocuments, DocumentKind};
use time::{Date, Month};

use crate::service::{LoadedCase, Node, ServiceError};

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
        }
    }

    /// The case from a node's loaded case: instance forms come from the projected sections
    /// (`reactie/corporatie:elkien`, `gemeente/gemeente:GM0080`).
    pub fn from_loaded(id: &str, loaded: &LoadedCase) -> Self {
        let mut reacties = Vec::new();
        let mut gemeenten = Vec::new();
        for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
            let Some((kind, partner)) = section.split_once('/') else {
                continue;
            };
            let inst = Instance {
                partner: partner.to_string(),
                form: form.clone(),
            };
            match kind {
                "reactie" => reacties.push(inst),
                "gemeente" => gemeenten.push(inst),
                _ => {}
            }
        }
        // Instance documents the node stores itself (not as projections): their keys name the instance, in the
        // order the forms were read.
        for (kind, target) in [
            (DocumentKind::Reactie, &mut reacties),
            (DocumentKind::Gemeente, &mut gemeenten),
        ] {
            let projected = target.len();
            let stored: Vec<_> = loaded.keys.iter().filter(|k| k.kind == kind).collect();
            let forms = loaded.docs.all(kind);
            if forms.len() == projected + stored.len() {
                for (key, form) in stored.iter().zip(forms) {
                    target.push(Instance {
                        partner: key.instance.clone(),
                        form: form.clone(),
                    });
                }
            }
        }
        MonitorCase::new(id, loaded.docs.clone(), reacties, gemeenten)
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

/// Load every case the node holds, for the monitor.
pub async fn load_cases(node: &Node) -> Result<Vec<MonitorCase>, ServiceError> {
    let mut cases = Vec::new();
    for record in node.store().list_cases().await? {
        let loaded = node.load_case(&record.id).await?;
        cases.push(MonitorCase::from_loaded(&record.id.to_string(), &loaded));
    }
    Ok(cases)
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
