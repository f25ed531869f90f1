//! Deadline alerts, each addressed to the partner who must act. An alert is open from its `vanaf` date (the day
//! after the deadline, or earlier for the rules that warn ahead) until the action is recorded. A 3-partijen lease
//! longer than 2 years needs no alert: validation refuses it.
//!
//! | rule | who acts | deadline | open from |
//! |---|---|---|---|
//! | aanmelding (MO) within 2 weeks of the start of the stay | zorgaanbieder | start + 14 days | day after |
//! | bemiddeling at least 3 months before a BW beschikking ends | zorgaanbieder | end − 3 months | 1 month ahead |
//! | corporatie answers the aanmeldbericht | corporatie | sent + 5 werkdagen | day after |
//! | an offer after the aanmeldbericht | corporatie | sent + 3 months | day after |
//! | a second offer after a grounded refusal by the client | corporatie | first offer + 3 months | day after |
//! | a 3-partijen lease ends (max 2 years) | corporatie | end date | 3 months ahead |
//! | gebiedsteam contact known before the move | uitstroomgemeente | move (signing) | accepted offer |

use policies::form::Form;
use policies::werkdagen::Werkdagen;
use policies::{DocumentKind as K, Value};
use time::{Date, Duration};

use super::{MonitorCase, add_months};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// MO: aanmelding at the Transferpunt within 2 weeks of the start of the stay.
    AanmeldingMo,
    /// BW: bemiddeling requested at least 3 months before the beschikking ends.
    BemiddelingVoorEindeBeschikking,
    /// The corporatie answers within 5 werkdagen of the aanmeldbericht.
    ReactieCorporatie,
    /// An offer within 3 months of the aanmeldbericht.
    Aanbod,
    /// A second offer within 3 months after a grounded refusal by the client.
    TweedeAanbod,
    /// A 3-partijen lease ends; the omklap to a regular lease must be settled.
    DriePartijenLooptAf,
    /// The gebiedsteam's contact must be known before the move ("zachte landing").
    GebiedsteamVoorVerhuizing,
}

impl AlertKind {
    /// A Dutch description.
    pub fn omschrijving(self) -> &'static str {
        match self {
            AlertKind::AanmeldingMo => {
                "Aanmelding bij het Transferpunt binnen 2 weken na start verblijf (MO)"
            }
            AlertKind::BemiddelingVoorEindeBeschikking => {
                "Bemiddeling aanvragen uiterlijk 3 maanden voor einde BW-beschikking"
            }
            AlertKind::ReactieCorporatie => "Reactie op aanmeldbericht binnen 5 werkdagen",
            AlertKind::Aanbod => "Woningaanbod binnen 3 maanden na aanmelding",
            AlertKind::TweedeAanbod => "Tweede aanbod binnen 3 maanden na gegronde weigering",
            AlertKind::DriePartijenLooptAf => "3-partijenhuurovereenkomst loopt af: omklap regelen",
            AlertKind::GebiedsteamVoorVerhuizing => "Contact gebiedsteam vóór de verhuizing",
        }
    }
}

/// An open alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The case.
    pub case: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The partner who must act (`corporatie:elkien`, `gemeente:GM0080`, `zorgaanbieder:…`), or the role when no
    /// partner is known (`zorgaanbieder`).
    pub aan: String,
    /// The deadline.
    pub termijn: Date,
    /// Whether the deadline has passed.
    pub verlopen: bool,
}

fn push(
    out: &mut Vec<Alert>,
    case: &MonitorCase,
    kind: AlertKind,
    aan: &str,
    termijn: Date,
    vanaf: Date,
    today: Date,
) {
    if today >= vanaf {
        out.push(Alert {
            case: case.id.clone(),
            kind,
            aan: aan.to_string(),
            termijn,
            verlopen: today > termijn,
        });
    }
}

fn offers(reactie: &Form) -> Vec<(Date, Option<&str>)> {
    let mut v: Vec<_> = reactie
        .get("aanbiedingen")
        .and_then(Value::as_records)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            let d = o.get("datum_aanbod").and_then(Value::as_date)?;
            Some((d, o.get("reactie_client").and_then(Value::as_text)))
        })
        .collect();
    v.sort();
    v
}

/// The open alerts of one case on `today`.
pub fn case_alerts(case: &MonitorCase, today: Date, cal: &Werkdagen) -> Vec<Alert> {
    let mut out = Vec::new();
    let day = Duration::days(1);
    let placed = case.form(K::Plaatsing).is_some();
    let zorgaanbieder = case
        .text(K::Registratie, "betrokken_zorgaanbieder")
        .unwrap_or("zorgaanbieder")
        .to_string();
    let voorziening = case.text(K::Registratie, "soort_voorziening");

    // MO: aanmelding within 2 weeks.
    if voorziening == Some("maatschappelijke_opvang")
        && !placed
        && case.date(K::Aanmelding, "datum_aanmelding").is_none()
        && let Some(start) = case.date(K::Registratie, "start_verblijf_opvang")
    {
        let termijn = start + Duration::days(14);
        push(
            &mut out,
            case,
            AlertKind::AanmeldingMo,
            &zorgaanbieder,
            termijn,
            termijn + day,
            today,
        );
    }

    // BW: bemiddeling at least 3 months before the beschikking ends.
    let bw = voorziening == Some("beschermd_wonen")
        || case
            .gemeenten
            .iter()
            .any(|g| g.form.text("soort_beschikking") == Some("beschermd_wonen"));
    if bw
        && !placed
        && case.date(K::Bemiddelingsverzoek, "datum_verzoek").is_none()
        && let Some(einde) = case
            .gemeenten
            .iter()
            .filter_map(|g| g.form.date("beschikking_einddatum"))
            .max()
    {
        let termijn = add_months(einde, -3);
        push(
            &mut out,
            case,
            AlertKind::BemiddelingVoorEindeBeschikking,
            &zorgaanbieder,
            termijn,
            add_months(termijn, -1),
            today,
        );
    }

    // Per aanmeldbericht: answer within 5 werkdagen, an offer within 3 months, a second offer after a refusal.
    let closed = placed
        || matches!(
            case.text(K::Beoordeling, "status"),
            Some("afgewezen" | "ingetrokken")
        );
    for bericht in case.docs.all(K::Aanmeldbericht) {
        let (Some(corporatie), Some(verzonden)) =
            (bericht.text("corporatie"), bericht.date("datum_verzonden"))
        else {
            continue;
        };
        if closed {
            continue;
        }
        let reactie = case.reactie_of(corporatie);
        let besluit = reactie.and_then(|r| r.text("besluit"));
        let answered = besluit.is_some_and(|b| b != "in_behandeling");
        if !answered {
            let termijn = cal.add_werkdagen(verzonden, 5);
            push(
                &mut out,
                case,
                AlertKind::ReactieCorporatie,
                corporatie,
                termijn,
                termijn + day,
                today,
            );
        }
        if besluit == Some("geweigerd") {
            continue;
        }
        let offers = reactie.map(offers).unwrap_or_default();
        let signed = reactie.is_some_and(|r| r.date("datum_ondertekening").is_some());
        match offers.as_slice() {
            [] => {
                let termijn = add_months(verzonden, 3);
                push(
                    &mut out,
                    case,
                    AlertKind::Aanbod,
                    corporatie,
                    termijn,
                    termijn + day,
                    today,
                );
            }
            [(first, Some("geweigerd"))] if !signed => {
                let termijn = add_months(*first, 3);
                push(
                    &mut out,
                    case,
                    AlertKind::TweedeAanbod,
                    corporatie,
                    termijn,
                    termijn + day,
                    today,
                );
            }
            _ => {}
        }
    }

    // 3-partijen leases.
    for inst in &case.reacties {
        let r = &inst.form;
        if r.text("soort_huurcontract") != Some("drie_partijen") {
            continue;
        }
        if let Some(einde) = r.date("einddatum_drie_partijen") {
            push(
                &mut out,
                case,
                AlertKind::DriePartijenLooptAf,
                &inst.partner,
                einde,
                add_months(einde, -3),
                today,
            );
        }
    }

    // Gebiedsteam contact before the move: from an accepted offer or a signed lease until the move.
    if !placed {
        let contact = case.gemeenten.iter().any(|g| {
            g.form.date("datum_contact_gebiedsteam").is_some()
                || g.form.text("gebiedsteam_contactpersoon").is_some()
        });
        let accepted = case.reacties.iter().find_map(|inst| {
            let r = &inst.form;
            let aanbod = offers(r)
                .into_iter()
                .find(|(_, c)| *c == Some("geaccepteerd"))
                .map(|(d, _)| d);
            let getekend = r.date("datum_ondertekening");
            let vanaf = aanbod.or(getekend)?;
            Some((vanaf, getekend.unwrap_or(vanaf)))
        });
        if !contact && let Some((vanaf, termijn)) = accepted {
            let gemeente = case
                .text(K::Beoordeling, "gekozen_uitstroomgemeente")
                .or(case.docs.uitstroomgemeente())
                .map(|g| format!("gemeente:{g}"))
                .unwrap_or_else(|| "gemeente".into());
            push(
                &mut out,
                case,
                AlertKind::GebiedsteamVoorVerhuizing,
                &gemeente,
                termijn,
                vanaf,
                today,
            );
        }
    }
    out
}

/// The open alerts of every case on `today`, by deadline.
pub fn open_alerts(cases: &[MonitorCase], today: Date, cal: &Werkdagen) -> Vec<Alert> {
    let mut all: Vec<_> = cases
        .iter()
        .flat_map(|c| case_alerts(c, today, cal))
        .collect();
    all.sort_by(|a, b| (a.termijn, &a.aan, a.kind).cmp(&(b.termijn, &b.aan, b.kind)));
    all
}
