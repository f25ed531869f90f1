//! Signalen: the deadline alerts addressed to this node's own partner, from what this node holds.
//!
//! The rules are the Transferpunt's monitor's (`monitor::alerts`, in werkdagen), run over this node's cases as
//! duties (`alerts::case_duties`: each from the day it begins, so a deadline shows before it passes): a
//! corporatie sees the five-werkdagen answer deadline of an aanmeldbericht it holds, a zorgaanbieder a request the
//! Transferpunt sent back, a gemeente the akkoord it is asked for. One set of rules, so a partner and the
//! Transferpunt never disagree about a deadline on the same data. What a partner does not hold it cannot be
//! alerted about — which is the policy's minimisation at work, not a gap.

use policies::werkdagen::Werkdagen;
use serde::Serialize;
use time::Date;

use crate::monitor::alerts::{Alert, open_duties};
use crate::service::{Node, ServiceError};

/// One signal for this partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signaal {
    /// The case (its random id; never a BSN).
    pub casus: String,
    /// What it is about: a stable name (`reactie_corporatie`).
    pub soort: &'static str,
    /// What must be done, in Dutch.
    pub tekst: &'static str,
    /// The deadline (`YYYY-MM-DD`).
    #[serde(with = "date")]
    pub termijn: Date,
    /// Whether the deadline has passed.
    pub verlopen: bool,
}

impl From<Alert> for Signaal {
    fn from(a: Alert) -> Signaal {
        Signaal {
            casus: a.case,
            soort: a.kind.name(),
            tekst: a.kind.description(),
            termijn: a.deadline,
            verlopen: a.overdue,
        }
    }
}

mod date {
    use serde::Serializer;
    use time::Date;

    pub(super) fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&policies::form::format_date(*d))
    }
}

/// The alerts among `alerts` addressed to `partner`, as signalen (pure; in the order given).
pub fn for_partner(alerts: Vec<Alert>, partner: &str) -> Vec<Signaal> {
    alerts
        .into_iter()
        // The Transferpunt's duties (the meldingen's overleg and terugkoppeling) name the role: there is one.
        .filter(|a| {
            a.addressee == partner
                || (a.addressee == "transferpunt" && partner.starts_with("transferpunt:"))
        })
        .map(Signaal::from)
        .collect()
}

impl Node {
    /// The signalen addressed to this node's partner on today's date (the node's clock), by deadline: every duty
    /// that has begun and is not done, overdue or not.
    pub async fn signalen(&self) -> Result<Vec<Signaal>, ServiceError> {
        let cases = crate::monitor::load_cases(self).await?;
        let alerts = open_duties(&cases, self.clock_now().date(), &Werkdagen::new());
        Ok(for_partner(alerts, &self.partner().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::alerts::AlertKind;
    use time::macros::date;

    fn alert(kind: AlertKind, to: &str) -> Alert {
        Alert {
            case: "c1".into(),
            kind,
            addressee: to.into(),
            deadline: date!(2025 - 04 - 28),
            overdue: false,
        }
    }

    #[test]
    fn a_partner_gets_only_the_alerts_addressed_to_it() {
        let got = for_partner(
            vec![
                alert(AlertKind::ReactieCorporatie, "corporatie:elkien"),
                alert(AlertKind::ReactieCorporatie, "corporatie:accolade"),
                alert(AlertKind::AkkoordUitstroomgemeente, "gemeente:GM0080"),
            ],
            "corporatie:elkien",
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].soort, "reactie_corporatie");
        assert_eq!(
            serde_json::to_value(&got[0]).unwrap(),
            serde_json::json!({"casus": "c1", "soort": "reactie_corporatie",
                "tekst": "Reactie op aanmeldbericht binnen 5 werkdagen", "termijn": "2025-04-28", "verlopen": false})
        );
    }
}
