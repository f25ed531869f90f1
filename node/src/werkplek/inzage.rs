//! The privacy officer's inzage pages: a person's inzage by BSN (the report a person can read, or its JSON),
//! sending the federated inzageverzoeken, and the queue of partners' requests to mark handled.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{PageError, Signed, layout};
use crate::access::Permission;
use crate::api::ApiState;
use crate::inzage::{self, Subject, render, verzoek};

/// `GET /werkplek/inzage`: the form, and the queue.
pub(super) async fn page(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Audit)?;
    overview(&state, &signed, None).await
}

async fn overview(
    state: &ApiState,
    signed: &Signed,
    notice: Option<Markup>,
) -> Result<Response, PageError> {
    let queue = verzoek::queue(&state.node).await?;
    let sent = state.node.store().outgoing_requests(None).await?;
    let csrf = &signed.session.csrf;
    let body = html! {
        h1 { "Inzage (AVG artikel 15)" }
        @if let Some(n) = notice { (n) }
        h2 { "Inzage voor een betrokkene" }
        p { "Alles wat deze node over de persoon bewaart, van wie het kwam en aan wie het ging. Het overzicht is afdrukbaar en kan als PDF worden bewaard." }
        form method="post" action="/werkplek/inzage" {
            input type="hidden" name="_csrf" value=(csrf);
            div.veld {
                label for="bsn" { "Burgerservicenummer" }
                input #bsn type="text" name="bsn" inputmode="numeric" autocomplete="off" required;
            }
            div.veld {
                label for="formaat" { "Vorm" }
                select #formaat name="formaat" {
                    option value="html" { "Overzicht voor de betrokkene (HTML)" }
                    option value="json" { "Machineleesbaar (JSON)" }
                }
            }
            button.primair type="submit" name="actie" value="inzage" { "Inzage maken" }
            " "
            button.secundair type="submit" name="actie" value="verzoek" { "Inzageverzoek naar de ontvangende partners sturen" }
        }
        h2 { "Inzageverzoeken van partners" }
        @if queue.is_empty() { p { "Geen verzoeken." } }
        @else {
            table {
                caption { "Verzoeken die partners aan deze node stuurden, open eerst" }
                thead { tr {
                    th scope="col" { "Van" } th scope="col" { "Casus" } th scope="col" { "Ontvangen" }
                    th scope="col" { "Status" }
                } }
                tbody { @for q in &queue { tr {
                    td { (q.request.sender) }
                    td { code { (q.request.case_id) } @if !q.held { " (niet bij deze node)" } }
                    td { (q.request.received_at.date()) }
                    td {
                        @if let Some(t) = q.request.handled_at { "afgehandeld op " (t.date()) }
                        @else {
                            form method="post" action=(format!("/werkplek/inzage/verzoeken/{}/afgehandeld", q.request.id)) {
                                input type="hidden" name="_csrf" value=(csrf);
                                button.secundair type="submit" { "Markeer als afgehandeld" }
                            }
                        }
                    }
                } } }
            }
        }
        h2 { "Verzonden inzageverzoeken" }
        @if sent.is_empty() { p { "Geen." } }
        @else {
            table {
                caption { "Verzoeken die deze node aan partners stuurde" }
                thead { tr { th scope="col" { "Aan" } th scope="col" { "Casus" } th scope="col" { "Verstuurd" } th scope="col" { "Bezorgd" } } }
                tbody { @for r in &sent { tr {
                    td { (r.peer) } td { code { (r.case_id) } } td { (r.created_at.date()) }
                    td { @if let Some(t) = r.delivered_at { (t.date()) } @else { "nog niet" } }
                } } }
            }
        }
    };
    Ok(layout::page("Inzage", Some(&signed.session), body).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct InzageForm {
    bsn: String,
    #[serde(default)]
    formaat: Option<String>,
    #[serde(default)]
    actie: Option<String>,
}

/// `POST /werkplek/inzage`: the report (HTML a person can read, or JSON), or the inzageverzoeken sent.
pub(super) async fn make(
    State(state): State<ApiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    signed.need(Permission::Audit)?;
    let form: InzageForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| PageError::BadRequest(format!("Het formulier is onvolledig: {e}.")))?;
    let bsn = policies::bsn::Bsn::parse(&form.bsn)
        .map_err(|e| PageError::BadRequest(format!("Burgerservicenummer: {e}.")))?;
    let user = &signed.session.user;
    let rapport = inzage::inzage(&state.node, Some(user), &Subject::Bsn(bsn))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "werkplek: inzage failed");
            PageError::Internal
        })?;
    if form.actie.as_deref() == Some("verzoek") {
        let cases: Vec<_> = rapport
            .casussen
            .iter()
            .filter_map(|c| c.casus.parse().ok())
            .collect();
        let notice = match verzoek::request_from_partners(&state.node, Some(user), &cases).await {
            Ok(sent) if sent.is_empty() => html! {
                div.melding role="status" { p { "Geen partner kreeg gegevens over deze persoon van deze node; er is geen verzoek verstuurd." } }
            },
            Ok(sent) => html! {
                div.melding.goed role="status" {
                    p { "Inzageverzoek verstuurd aan:" }
                    ul { @for r in &sent { li { (r.peer) } } }
                }
            },
            Err(verzoek::VerzoekError::NoKey) => html! {
                div.melding.fout role="alert" { p { "Deze node is niet met de federatie verbonden; er kan geen verzoek worden verstuurd." } }
            },
            Err(e) => {
                tracing::error!(error = %e, "werkplek: inzageverzoek failed");
                return Err(PageError::Internal);
            }
        };
        return overview(&state, &signed, Some(notice)).await;
    }
    if form.formaat.as_deref() == Some("json") {
        return Ok((
            [(header::CONTENT_TYPE, "application/json")],
            render::json(&rapport),
        )
            .into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        render::html(&rapport),
    )
        .into_response())
}

/// `POST /werkplek/inzage/verzoeken/{id}/afgehandeld`: the privacy officer answered the person.
pub(super) async fn handled(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed.need(Permission::Audit)?;
    let done = verzoek::mark_handled(&state.node, &signed.session.user, &id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "werkplek: marking an inzageverzoek handled failed");
            PageError::Internal
        })?;
    let notice = if done {
        html! { div.melding.goed role="status" { p { "Verzoek gemarkeerd als afgehandeld." } } }
    } else {
        html! { div.melding.fout role="alert" { p { "Geen open verzoek met dit nummer." } } }
    };
    overview(&state, &signed, Some(notice)).await
}
