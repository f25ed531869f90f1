//! The steps of the bemiddeling that are more than filling in a form: indienen (the begeleider), terugsturen and
//! toewijzen (the Transferpunt's consultant), and the signalen at the top of everyone's inbox. Each is the node's
//! own operation — the one the API calls too — so its checks and its audit record are not repeated here.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use policies::{DocumentKind, Role};

use super::form::{case_id, requestable_fields, words};
use super::{PageError, Signed, form_urlencoded_pairs, layout};
use crate::access::Permission;
use crate::api::ApiState;
use crate::service::{Node, ServiceError};
use crate::store::CaseId;

/// `POST /werkplek/casussen/{id}/indienen`: submit the bemiddelingsverzoek; only a complete one is taken.
pub(super) async fn submit(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let id = case_id(&id)?;
    match state.node.submit_request(&signed.session.user, &id).await {
        Ok(_) => Ok(
            Redirect::to(&format!("/werkplek/casussen/{id}?opgeslagen=ingediend")).into_response(),
        ),
        Err(ServiceError::Incomplete(missing)) => Ok(refused(
            &signed,
            &id,
            "Niet ingediend",
            "Het bemiddelingsverzoek kan pas worden ingediend als alles is ingevuld, of als bij een voorwaarde \
             die niet kan worden vervuld een toelichting staat. Nog nodig:",
            missing
                .iter()
                .map(|m| format!("{} ({})", m.label, m.document))
                .collect(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /werkplek/casussen/{id}/terugsturen`: the consultant sends the request back with the ticked items.
pub(super) async fn send_back(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let id = case_id(&id)?;
    let pairs = form_urlencoded_pairs(&body);
    let items: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "ontbrekend")
        .map(|(_, v)| v.clone())
        .collect();
    let toelichting = pairs
        .iter()
        .find(|(k, _)| k == "toelichting")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    match state
        .node
        .send_back(&signed.session.user, &id, &items, toelichting)
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/werkplek/casussen/{id}?opgeslagen=teruggestuurd"))
                .into_response(),
        ),
        Err(ServiceError::BadRequest(why)) => {
            Ok(refused(&signed, &id, "Niet teruggestuurd", &why, vec![]))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /werkplek/casussen/{id}/toewijzen`: pick the next corporatie om en om and send it the aanmeldbericht,
/// in one atomic step.
pub(super) async fn assign(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let id = case_id(&id)?;
    match crate::bemiddeling::assign_corporatie(&state.node, &signed.session.user, &id).await {
        Ok(chosen) => Ok(Redirect::to(&format!(
            "/werkplek/casussen/{id}?opgeslagen=toegewezen_aan_{}",
            chosen.to_string().replace(':', "_")
        ))
        .into_response()),
        Err(ServiceError::Conflict(why) | ServiceError::BadRequest(why)) => {
            Ok(refused(&signed, &id, "Niet toegewezen", &why, vec![]))
        }
        Err(e) => Err(e.into()),
    }
}

fn refused(signed: &Signed, id: &CaseId, title: &str, why: &str, items: Vec<String>) -> Response {
    let body = html! {
        p { a href={"/werkplek/casussen/" (id)} { "← Terug naar de casus" } }
        h1 { (title) }
        div.melding.fout role="alert" {
            p { (why) }
            @if !items.is_empty() { ul { @for i in &items { li { (i) } } } }
        }
    };
    (
        axum::http::StatusCode::CONFLICT,
        layout::page(title, Some(&signed.session), body),
    )
        .into_response()
}

/// The actions this node's partner can take on the case now, for the case page.
pub(super) async fn case_actions(
    node: &Node,
    signed: &Signed,
    id: &CaseId,
) -> Result<Markup, PageError> {
    let loaded = node.load_case(id).await?;
    let docs = &loaded.docs;
    let csrf = &signed.session.csrf;
    let submitted = docs.submitted();
    let sent_back = crate::indienen::sent_back_open(docs);
    let verzoek = docs.first(DocumentKind::Bemiddelingsverzoek);
    let asked: Vec<String> = verzoek
        .and_then(|v| v.get("ontbrekende_gegevens"))
        .map(|v| v.to_json())
        .and_then(|j| j.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(label_of))
        .collect();
    let toelichting = verzoek
        .and_then(|v| v.text("toelichting_transferpunt"))
        .map(str::to_string);
    // Who has the case now, and what it decided: the Transferpunt assigns again only after a refusal.
    let assigned = docs
        .first(DocumentKind::Beoordeling)
        .and_then(|b| b.text("toegewezen_corporatie"))
        .map(str::to_string);
    let besluit = assigned.as_ref().and_then(|c| {
        let section = crate::projection::section_name(DocumentKind::Reactie, c);
        loaded
            .projected_sections
            .iter()
            .find(|(name, _)| *name == section)
            .and_then(|(_, f)| f.text("besluit"))
            .map(str::to_string)
    });
    let may_assign = assigned.is_none() || besluit.as_deref() == Some("geweigerd");
    Ok(match node.partner().role() {
        Role::Zorgaanbieder if verzoek.is_some() => {
            let missing = policies::completeness::for_submission(docs, node.clock_now().date());
            html! {
                h2 { "Bemiddelingsverzoek" }
                @if sent_back {
                    div.melding.signaal role="status" {
                        p { strong { "Teruggestuurd door het Transferpunt." } " Vul aan en dien opnieuw in:" }
                        ul { @for a in &asked { li { (a) } } }
                        @if let Some(t) = &toelichting { p { "Toelichting: " (t) } }
                    }
                } @else if submitted {
                    p.status-goed { "Ingediend bij het Transferpunt." }
                }
                @if !submitted || sent_back {
                    @if missing.is_empty() {
                        p { "Alles is ingevuld: het verzoek kan worden ingediend." }
                    } @else {
                        p { "Nog nodig voor indienen:" }
                        ul { @for m in &missing { li { (m.label) " (" (m.document) ")" } } }
                    }
                    form method="post" action={"/werkplek/casussen/" (id) "/indienen"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        button.primair #indienen type="submit" disabled[!missing.is_empty()] { "Indienen" }
                    }
                }
            }
        }
        Role::Transferpunt if submitted => html! {
            h2 { "Bemiddeling" }
            @if sent_back {
                p.status-let-op { "Teruggestuurd voor aanvulling; wacht op de zorgaanbieder." }
                ul { @for a in &asked { li { (a) } } }
            } @else {
                @if let Some(corporatie) = &assigned {
                    p {
                        "Toegewezen aan " strong { (corporatie) } ". "
                        @match &besluit {
                            Some(b) => { "Besluit van de corporatie: " strong { (words(b)) } "." }
                            None => { "De corporatie heeft nog niet gereageerd." }
                        }
                    }
                }
                @if may_assign {
                    form method="post" action={"/werkplek/casussen/" (id) "/toewijzen"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        p { "Kies de volgende corporatie om en om in de uitstroomgemeente en stuur haar het aanmeldbericht (één stap)." }
                        button.primair type="submit" { "Corporatie toewijzen" }
                    }
                }
                @if assigned.is_none() {
                details {
                    summary { "Terugsturen voor aanvulling" }
                    form method="post" action={"/werkplek/casussen/" (id) "/terugsturen"} {
                        input type="hidden" name="_csrf" value=(csrf);
                        fieldset.veld {
                            legend { "Wat ontbreekt?" }
                            @for (field, label) in requestable_fields() {
                                div { label { input type="checkbox" name="ontbrekend" value=(field); " " (label) } }
                            }
                        }
                        div.veld {
                            label for="toelichting" { "Toelichting voor de begeleider" }
                            textarea #toelichting name="toelichting" {}
                        }
                        button.secundair type="submit" { "Terugsturen" }
                    }
                }
                }
            }
        },
        _ => html! {},
    })
}

/// A `document.veld` reference in words.
fn label_of(qualified: &str) -> String {
    policies::FieldId::parse(qualified)
        .map(|f| format!("{} ({})", f.spec().label, f.document()))
        .unwrap_or_else(|| words(qualified))
}

/// The signalen addressed to this partner, for the top of the inbox.
pub(super) async fn signalen(node: &Node) -> Result<Markup, PageError> {
    let list = node.signalen().await?;
    let today = node.clock_now().date();
    let cal = policies::werkdagen::Werkdagen::new();
    Ok(html! {
        section aria-labelledby="signalen-kop" {
            h2 #signalen-kop { "Signalen" }
            @if list.is_empty() {
                p { "Geen open signalen voor uw organisatie." }
            } @else {
                ul {
                    @for s in &list {
                        li.melding.signaal {
                            @if s.verlopen {
                                strong.status-fout { "Termijn verlopen op " (policies::form::format_date(s.termijn)) ": " }
                            } @else {
                                @let left = cal.werkdagen_between(today, s.termijn);
                                strong { "Nog " (left) (if left == 1 { " werkdag" } else { " werkdagen" }) " (uiterlijk " (policies::form::format_date(s.termijn)) "): " }
                            }
                            (s.tekst) " — "
                            a href={"/werkplek/casussen/" (s.casus)} { "casus " (s.casus.get(..8).unwrap_or(&s.casus)) }
                        }
                    }
                }
            }
        }
    })
}
