//! The medewerker's pages about cases: the caseload (or inbox), a new client, and one case with its forms,
//! what is still missing and the voorwaarden pre-check.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use policies::completeness::Status;
use policies::{DocumentKind, Role};
use serde::Deserialize;

use super::form::{case_id, words};
use super::{PageError, Signed, layout};
use crate::access::Permission;
use crate::api::ApiState;
use crate::service::{CaseSummary, Node, ServiceError};
use crate::store::{CaseId, User};

/// The most cases one page lists.
const PAGE: usize = 200;

/// The client's name as this node holds it, for the begeleider to recognise her client (an audited read).
async fn client_name(node: &Node, user: &User, summary: &CaseSummary) -> Option<String> {
    let id: CaseId = summary.id.parse().ok()?;
    // The registratie (and aanmelding) name a client by `achternaam_voorletters` (Bijlage 3); a corporatie holds
    // only its aanmeldbericht, which names the client by `achternaam_initialen`.
    let own = node.partner().to_string();
    let sources = [
        (DocumentKind::Registratie, None, "achternaam_voorletters"),
        (DocumentKind::Aanmelding, None, "achternaam_voorletters"),
        (
            DocumentKind::Aanmeldbericht,
            Some(own.as_str()),
            "achternaam_initialen",
        ),
    ];
    for (kind, instance, field) in sources {
        if !summary
            .documenten
            .iter()
            .any(|d| d.split('/').next() == Some(kind.name()))
        {
            continue;
        }
        if let Ok(view) = node.read_form(user, &id, kind, instance).await
            && let Some(name) = view.velden.get(field).and_then(|v| v.as_str())
        {
            return Some(name.to_string());
        }
    }
    None
}

/// `GET /werkplek/casussen`: every case this node holds, with its phase and what is still missing.
pub(super) async fn caseload(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let body = caseload_body(&state.node, &signed).await?;
    Ok(layout::page("Casussen", Some(&signed.session), body).into_response())
}

/// The caseload table, also the medewerker's start page.
pub(super) async fn caseload_body(node: &Node, signed: &Signed) -> Result<Markup, PageError> {
    let cases = node.list_cases(0, PAGE).await?;
    let mut rows = Vec::new();
    for c in &cases {
        rows.push((c, client_name(node, &signed.session.user, c).await));
    }
    let may_register = node.partner().role() == Role::Zorgaanbieder;
    let signalen = super::actions::signalen(node).await?;
    // The next deadline of each case, from the same signalen.
    let mut next: std::collections::HashMap<String, time::Date> = std::collections::HashMap::new();
    for s in node.signalen().await? {
        next.entry(s.casus.clone())
            .and_modify(|d| *d = (*d).min(s.termijn))
            .or_insert(s.termijn);
    }
    Ok(html! {
        h1 { "Casussen" }
        (signalen)
        @if may_register {
            form method="post" action="/werkplek/casussen" {
                input type="hidden" name="_csrf" value=(signed.session.csrf);
                button.primair type="submit" { "Nieuwe cliënt registreren" }
            }
        }
        @if node.partner().role() == Role::Corporatie {
            p { a href="/werkplek/huurdermeldingen" { "Melding over een huurder zonder casus" } }
        }
        @if rows.is_empty() {
            p { "Er zijn nog geen casussen op deze node." }
        } @else {
            table {
                caption { (rows.len()) " casus(sen), nieuwste eerst" }
                thead { tr { th scope="col" { "Cliënt" } th scope="col" { "Fase" } th scope="col" { "Nog nodig" } th scope="col" { "Eerstvolgende termijn" } th scope="col" { "Sinds" } } }
                tbody {
                    @for (c, name) in &rows {
                        tr {
                            td { a href={"/werkplek/casussen/" (c.id)} { (name.clone().unwrap_or_else(|| format!("casus {}", short(&c.id)))) } }
                            td { (words(c.fase.name())) }
                            td { @if c.ontbrekend.is_empty() { "niets" } @else { (c.ontbrekend.len()) " gegeven(s)" } }
                            td { @if let Some(d) = next.get(&c.id) { (policies::form::format_date(*d)) } @else { "—" } }
                            td { (policies::form::format_date(c.created_at.date())) }
                        }
                    }
                }
            }
        }
    })
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// `POST /werkplek/casussen`: a new client; straight on to the registratie.
pub(super) async fn create(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    if state.node.partner().role() != Role::Zorgaanbieder {
        return Err(PageError::Forbidden);
    }
    let summary = state.node.create_case().await?;
    Ok(Redirect::to(&format!(
        "/werkplek/casussen/{}/formulier/registratie",
        summary.id
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct Saved {
    opgeslagen: Option<String>,
}

/// `GET /werkplek/casussen/{id}`: the case — its forms, what is missing, the voorwaarden.
pub(super) async fn overview(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(saved): Query<Saved>,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let id = case_id(&id)?;
    let node = &state.node;
    let detail = match node.case_detail(&signed.session.user, &id).await {
        Ok(d) => d,
        Err(ServiceError::NotFound(what)) => return Err(PageError::NotFound(what)),
        Err(e) => return Err(e.into()),
    };
    let summary = &detail.summary;
    let name = client_name(node, &signed.session.user, summary).await;
    let mut forms: Vec<(String, String, bool)> = Vec::new();
    for kind in DocumentKind::ALL {
        let held: Vec<&String> = summary
            .documenten
            .iter()
            .filter(|d| d.split('/').next() == Some(kind.name()))
            .collect();
        let writable = !node.writable_fields(&id, kind).await?.is_empty();
        if held.is_empty() && writable && !kind.spec().multiple {
            forms.push((
                kind.name().to_string(),
                kind.spec().label.to_string(),
                false,
            ));
        }
        for d in held {
            let label = match d.split_once('/') {
                Some((_, instance)) => format!("{} ({instance})", kind.spec().label),
                None => kind.spec().label.to_string(),
            };
            forms.push((d.clone(), label, true));
        }
        if kind == DocumentKind::Melding && writable {
            // A new melding gets a name of its own: this partner and the moment it is started.
            let name = format!("melding-{}", node.clock_now().unix_timestamp());
            forms.push((
                format!("melding/{name}"),
                "Nieuwe melding".to_string(),
                false,
            ));
        }
        if kind == DocumentKind::Voorlegging && writable {
            // The Transferpunt answers a melding a partner presented to it: one voorlegging per melding, named after
            // its melder and the melding, so it goes back to that melder alone (Afspraak 7d-7g).
            let loaded = node.load_case(&id).await?;
            for (section, sender) in &loaded.section_senders {
                let Some(melding) = section.strip_prefix("melding/") else {
                    continue;
                };
                let instance = policies::model::voorlegging_instance(&sender.to_string(), melding);
                let path = format!("voorlegging/{instance}");
                if !summary.documenten.contains(&path) {
                    forms.push((
                        path,
                        format!("Voorlegging vastleggen (melding {melding} van {sender})"),
                        false,
                    ));
                }
            }
        }
        if matches!(
            kind,
            DocumentKind::Huurverloop | DocumentKind::Ondersteuningsverloop
        ) && writable
        {
            // Every event after placement is a document of its own (issue #17 item 3), named like a melding.
            let name = format!("{kind}-{}", node.clock_now().unix_timestamp());
            forms.push((
                format!("{kind}/{name}"),
                format!("Nieuwe gebeurtenis: {}", kind.spec().label),
                false,
            ));
        }
        if held_none_multiple(kind, summary, writable) {
            forms.push((
                kind.name().to_string(),
                kind.spec().label.to_string(),
                false,
            ));
        }
    }
    let consent = registratie(node, &signed.session.user, &id)
        .await
        .and_then(|r| {
            r.get("toestemming_gegevensdeling")
                .and_then(|v| v.as_bool())
        });
    let actions = super::actions::case_actions(node, &signed, &id).await?;
    let bereik = node.bereikbaarheid(&signed.session.user, &id).await?;
    let new_melding = forms
        .iter()
        .find(|(path, _, held)| !held && path.starts_with("melding/"))
        .map(|(path, _, _)| form_link(&summary.id, path));
    let title = name
        .clone()
        .unwrap_or_else(|| format!("Casus {}", short(&summary.id)));
    let body = html! {
        p { a href="/werkplek/casussen" { "← Alle casussen" } }
        h1 { (title) }
        @if let Some(kind) = &saved.opgeslagen {
            div.melding.goed role="status" { "Opgeslagen: " (words(kind)) "." }
        }
        // A corporatie holds the aanmeldbericht only: the phase it could compute from that says nothing.
        @if node.partner().role() == Role::Corporatie {
            p { "Casus " (summary.id) }
        } @else {
            p { "Fase: " strong { (words(summary.fase.name())) } " · casus " (summary.id) }
        }
        // The step to take now comes first: a request sent back, Indienen, Corporatie toewijzen.
        (actions)
        h2 { "Formulieren" }
        ul {
            @for (path, label, held) in &forms {
                li {
                    a href=(form_link(&summary.id, path)) { (label) }
                    @if !held { " — nog niet ingevuld" }
                }
            }
        }
        (wie_bel_ik(&bereik, new_melding.as_deref()))
        @if !summary.ontbrekend.is_empty() {
            // Every form's fields still empty; what Indienen needs is the list in the actions above.
            h2 { "Nog niet ingevuld in de formulieren" }
            ul { @for m in &summary.ontbrekend { li { (m.label) " (" (m.document) ")" } } }
        }
        @if consent == Some(true) && node.partner().role() == Role::Zorgaanbieder {
            h2 { "Toestemming" }
            p { "De cliënt gaf toestemming voor gegevensdeling. Trekt de cliënt die in, dan gaat er vanaf nu niets meer naar de partners. " (withdrawal_effect(node)) }
            form method="post" action={"/werkplek/casussen/" (summary.id) "/toestemming-intrekken"} {
                input type="hidden" name="_csrf" value=(signed.session.csrf);
                button.secundair type="submit" { "Toestemming intrekken" }
            }
        } @else if consent == Some(false) {
            h2 { "Toestemming" }
            p.status-let-op { "De cliënt heeft geen toestemming (meer) gegeven: er gaan geen gegevens naar de partners." }
        }
        @if matches!(node.partner().role(), Role::Zorgaanbieder | Role::Transferpunt) {
        h2 { "Voorwaarden voor bemiddeling" }
        table {
            caption { "Voorcontrole van de 8 voorwaarden (Afspraak 1h; evaluatie 2025 §3.1)" }
            thead { tr { th scope="col" { "Voorwaarde" } th scope="col" { "Uitkomst" } th scope="col" { "Toelichting" } } }
            tbody {
                @for v in &detail.voorwaarden_bemiddeling {
                    tr {
                        td { (v.voorwaarde.label_nl()) }
                        td { (status(v.status)) }
                        td { (v.toelichting) }
                    }
                }
            }
        }
        }
    };
    Ok(layout::page(&title, Some(&signed.session), body).into_response())
}

/// Whom to call about this client (Bijlage 2): the contact persons in the case's forms, the ondersteuningsplan's
/// agreements on reachability, the partners involved with their contacts and 24-hour numbers, and a melding.
fn wie_bel_ik(b: &crate::bereikbaarheid::Bereikbaarheid, new_melding: Option<&str>) -> Markup {
    let any_24 = b.partners.iter().any(|p| {
        p.entry
            .as_ref()
            .is_some_and(|e| e.telefoon_24_uur.is_some())
    });
    html! {
        h2 { "Wie bel ik?" }
        p {
            "Wie bij deze cliënt betrokken is en hoe u hen bereikt, uit wat deze organisatie van de casus heeft "
            "en het adresboek van de federatie. Bij acuut gevaar: bel 112."
        }
        @if !b.contactpersonen.is_empty() {
            table {
                caption { "Contactpersonen in de formulieren" }
                thead { tr {
                    th scope="col" { "Naam" } th scope="col" { "Organisatie" } th scope="col" { "Functie" }
                    th scope="col" { "Telefoon" } th scope="col" { "E-mail" }
                } }
                tbody {
                    @for c in &b.contactpersonen {
                        tr {
                            th scope="row" { (c.naam) }
                            td { (c.organisatie.as_deref().unwrap_or("")) }
                            td { (c.functie.as_deref().unwrap_or("")) }
                            td { @if let Some(t) = &c.telefoon { a href=(format!("tel:{}", super::partners::tel_uri(t))) { (t) } } }
                            td { @if let Some(m) = &c.email { a href=(format!("mailto:{m}")) { (m) } } }
                        }
                    }
                }
            }
        }
        @for a in &b.afspraken {
            h3 { "Afspraken over bereikbaarheid (ondersteuningsplan)" }
            p { (a) }
        }
        @if !b.partners.is_empty() {
            table {
                caption { "Betrokken partners" }
                thead { tr {
                    th scope="col" { "Partner" } th scope="col" { "Betrokken als" }
                    th scope="col" { "Contactpersonen" } th scope="col" { "Bereikbaarheid" }
                } }
                tbody {
                    @for p in &b.partners {
                        tr {
                            th scope="row" {
                                @if let Some(e) = &p.entry { (e.name) br; }
                                small { (p.partner) }
                            }
                            td { (p.waarom) }
                            @match &p.entry {
                                Some(e) => { td { (super::partners::contacts(e)) } td { (super::partners::reachability(e)) } }
                                None => { td colspan="2" { "Niet in het adresboek van de federatie" } }
                            }
                        }
                    }
                }
            }
        }
        @if !any_24 {
            p {
                "Geen van deze partners heeft een 24-uursnummer: zorgaanbieders en gebiedsteams zijn niet standaard "
                "dag en nacht bereikbaar (Bijlage 2). Buiten kantoortijden: bij acuut gevaar 112, bij verward gedrag "
                "de crisisdienst via de politie; de volgende werkdag de partners hierboven."
            }
        }
        @if let Some(link) = new_melding {
            p { a href=(link) { "Melding maken over deze cliënt" } " (signalen en knelpunten, Afspraak 7)" }
        }
    }
}

/// A kind a case holds several of and this node may write gets a link to start its own, once.
fn held_none_multiple(kind: DocumentKind, summary: &CaseSummary, writable: bool) -> bool {
    kind.spec().multiple
        && writable
        && matches!(kind, DocumentKind::Reactie | DocumentKind::Gemeente)
        && !summary
            .documenten
            .iter()
            .any(|d| d.split('/').next() == Some(kind.name()))
}

fn form_link(case: &str, path: &str) -> String {
    match path.split_once('/') {
        Some((kind, instance)) => {
            format!("/werkplek/casussen/{case}/formulier/{kind}?instantie={instance}")
        }
        None => format!("/werkplek/casussen/{case}/formulier/{path}"),
    }
}

fn status(s: Status) -> Markup {
    match s {
        Status::Voldaan => html! { span.status-goed { "voldaan" } },
        Status::NietVoldaan => html! { span.status-fout { "niet voldaan" } },
        Status::Onbekend => html! { span.status-let-op { "nog onbekend" } },
    }
}

/// The registratie as this node holds it (an audited read), if there is one.
async fn registratie(node: &Node, user: &User, id: &CaseId) -> Option<serde_json::Value> {
    node.read_form(user, id, DocumentKind::Registratie, None)
        .await
        .ok()
        .map(|v| v.velden)
}

/// What the policy says happens to what partners already received.
fn withdrawal_effect(node: &Node) -> &'static str {
    match node.policy().on_withdrawal {
        policies::policy::Withdrawal::Keep => {
            "Wat partners al ontvingen, mogen zij houden onder hun eigen bewaarplicht (AVG art. 7 lid 3)."
        }
        policies::policy::Withdrawal::Forget => {
            "Partners die gegevens ontvingen, moeten die verwijderen; de node vraagt het hen meteen."
        }
    }
}

/// `POST /werkplek/casussen/{id}/toestemming-intrekken`: the client withdraws consent. Written into the
/// registratie like any change, so the policy's consent rule does the rest (issue #8).
pub(super) async fn withdraw_consent(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let id = case_id(&id)?;
    let node = &state.node;
    let mut form = registratie(node, &signed.session.user, &id)
        .await
        .ok_or_else(|| PageError::NotFound("de registratie van deze casus".into()))?;
    if let Some(obj) = form.as_object_mut() {
        obj.insert(
            "toestemming_gegevensdeling".into(),
            serde_json::Value::Bool(false),
        );
    }
    node.write_form(
        &signed.session.user,
        &id,
        DocumentKind::Registratie,
        None,
        &form,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/werkplek/casussen/{id}?opgeslagen=toestemming_ingetrokken"
    ))
    .into_response())
}
