//! Indienen and terugsturen: the begeleider submits a bemiddelingsverzoek to the Transferpunt, and the
//! Transferpunt sends an incomplete one back with the items it ticked.
//!
//! A bemiddelingsverzoek is a draft at the zorgaanbieder until it is submitted: the policy lets it travel to the
//! Transferpunt only from the phase bemiddeling on, and `bemiddelingsverzoek.datum_ingediend` is what puts the
//! case in that phase. So submitting is one write of that date (and of `aantal_keer_ingediend`); every write
//! path refuses a submission while something is missing for it (`service::decide_write`), so these functions add
//! the steps' own rules — who, and when — and set the dates from the node's clock.
//!
//! Sent back, the ticked items stay in `bemiddelingsverzoek.ontbrekende_gegevens`: only the Transferpunt may write
//! that field, so the begeleider does not clear them. They count as answered once the request is submitted again
//! (`aantal_keer_ingediend` passes the beoordeling's `aantal_keer_teruggestuurd`, [`sent_back_open`]), and the
//! Transferpunt's next send-back replaces them.

use policies::form::format_date;
use policies::{DocumentKind, Role};
use serde::Serialize;
use serde_json::json;

pub use crate::monitor::alerts::sent_back_open;
use crate::service::{FormView, FormWrite, Node, ServiceError};
use crate::store::{CaseId, User};

/// What a send-back wrote: the request with the ticked items, and the beoordeling.
#[derive(Debug, Clone, Serialize)]
pub struct Teruggestuurd {
    /// The bemiddelingsverzoek as it is now, with `ontbrekende_gegevens` and `toelichting_transferpunt`.
    pub bemiddelingsverzoek: FormView,
    /// The beoordeling, with status `teruggestuurd_onvolledig`, the date and the count.
    pub beoordeling: FormView,
}

fn count(form: Option<&policies::form::Form>, field: &str) -> i64 {
    form.and_then(|f| f.get(field))
        .and_then(policies::Value::as_integer)
        .unwrap_or(0)
}

impl Node {
    /// Submit the case's bemiddelingsverzoek (indienen): set `datum_ingediend` to today and count the
    /// submission. Refused, with nothing stored, unless nothing is missing for submission — every voorwaarde met
    /// or explained in `toelichting_voorwaarden` ([`ServiceError::Incomplete`] names each item) — and unless it
    /// is a draft, or was sent back and not yet submitted again ([`ServiceError::Conflict`]). Audited as a write.
    pub async fn submit_request(
        &self,
        user: &User,
        case: &CaseId,
    ) -> Result<FormView, ServiceError> {
        if self.partner().role() != Role::Zorgaanbieder {
            return Err(ServiceError::NotAllowed(
                "alleen de zorgaanbieder dient een bemiddelingsverzoek in".into(),
            ));
        }
        self.case_exists(case).await?;
        let guard = self.write_guard().await;
        let loaded = self.load_case(case).await?;
        let Some(verzoek) = loaded.docs.first(DocumentKind::Bemiddelingsverzoek) else {
            return Err(ServiceError::Incomplete(
                policies::completeness::for_submission(&loaded.docs, self.clock_now().date()),
            ));
        };
        if loaded.docs.submitted() && !sent_back_open(&loaded.docs) {
            return Err(ServiceError::Conflict(
                "het bemiddelingsverzoek is al ingediend en niet teruggestuurd".into(),
            ));
        }
        let mut json = verzoek.to_json();
        json["datum_ingediend"] = json!(format_date(self.clock_now().date()));
        json["aantal_keer_ingediend"] = json!(count(Some(verzoek), "aantal_keer_ingediend") + 1);
        let write = FormWrite {
            kind: DocumentKind::Bemiddelingsverzoek,
            instance: None,
            json,
        };
        let mut views = self
            .write_forms_locked(&guard, user, case, vec![write])
            .await?;
        views
            .pop()
            .ok_or_else(|| ServiceError::Conflict("niets ingediend".into()))
    }

    /// Send a submitted bemiddelingsverzoek back as incomplete (terugsturen; the Transferpunt only): the ticked
    /// `items` (`document.veld`) and the `toelichting` go into the request, where the begeleider sees them, and the
    /// beoordeling gets status `teruggestuurd_onvolledig`, today's date, the items and one more in its count —
    /// both in one transaction. Refused when no item is ticked, when the request was not submitted, or when it was
    /// sent back and not yet submitted again.
    pub async fn send_back(
        &self,
        user: &User,
        case: &CaseId,
        items: &[String],
        toelichting: &str,
    ) -> Result<Teruggestuurd, ServiceError> {
        if self.partner().role() != Role::Transferpunt {
            return Err(ServiceError::NotAllowed(
                "alleen het Transferpunt stuurt een bemiddelingsverzoek terug".into(),
            ));
        }
        if items.is_empty() {
            return Err(ServiceError::BadRequest(
                "vink ten minste één ontbrekend gegeven aan".into(),
            ));
        }
        let items = parse_items(items)?;
        self.case_exists(case).await?;
        let guard = self.write_guard().await;
        let loaded = self.load_case(case).await?;
        let Some(verzoek) = loaded
            .docs
            .first(DocumentKind::Bemiddelingsverzoek)
            .filter(|_| loaded.docs.submitted())
        else {
            return Err(ServiceError::Conflict(
                "er is geen ingediend bemiddelingsverzoek om terug te sturen".into(),
            ));
        };
        if sent_back_open(&loaded.docs) {
            return Err(ServiceError::Conflict(
                "het bemiddelingsverzoek is al teruggestuurd en nog niet opnieuw ingediend".into(),
            ));
        }
        let today = format_date(self.clock_now().date());
        let mut request = verzoek.to_json();
        request["ontbrekende_gegevens"] = json!(items);
        if toelichting.trim().is_empty() {
            request
                .as_object_mut()
                .map(|o| o.remove("toelichting_transferpunt"));
        } else {
            request["toelichting_transferpunt"] = json!(toelichting);
        }
        let beoordeling = loaded.docs.first(DocumentKind::Beoordeling);
        let mut assessment = beoordeling
            .map(|b| b.to_json())
            .unwrap_or_else(|| json!({}));
        if assessment.get("datum_ontvangen").is_none() {
            assessment["datum_ontvangen"] = verzoek
                .get("datum_ingediend")
                .map(|d| d.to_json())
                .unwrap_or_else(|| json!(today));
        }
        assessment["status"] = json!("teruggestuurd_onvolledig");
        assessment["datum_teruggestuurd"] = json!(today);
        assessment["ontbrekende_gegevens"] = json!(items);
        assessment["aantal_keer_teruggestuurd"] =
            json!(count(beoordeling, "aantal_keer_teruggestuurd") + 1);
        let writes = vec![
            FormWrite {
                kind: DocumentKind::Beoordeling,
                instance: None,
                json: assessment,
            },
            FormWrite {
                kind: DocumentKind::Bemiddelingsverzoek,
                instance: None,
                json: request,
            },
        ];
        let mut views = self.write_forms_locked(&guard, user, case, writes).await?;
        let (Some(bemiddelingsverzoek), Some(beoordeling)) = (views.pop(), views.pop()) else {
            return Err(ServiceError::Conflict("niets teruggestuurd".into()));
        };
        Ok(Teruggestuurd {
            bemiddelingsverzoek,
            beoordeling,
        })
    }
}

/// The items of a send-back as a client sends them: every entry `document.veld` of a known field, each once.
fn parse_items(items: &[String]) -> Result<Vec<String>, ServiceError> {
    let mut out = Vec::new();
    for item in items {
        let known = item
            .split_once('.')
            .and_then(|(doc, field)| DocumentKind::from_name(doc)?.field(field));
        if known.is_none() {
            return Err(ServiceError::BadRequest(format!(
                "{item:?} is geen veld van een formulier (document.veld)"
            )));
        }
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(out)
}
