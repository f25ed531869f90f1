//! The pages of the roles that do not work cases — the analist's monitor, the privacy officer's audit log, the
//! beheerder's users — and the start page, which sends each role to its own work.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use policies::Role;
use serde::Deserialize;

use super::auth::{self, AccountError};
use super::{PageError, Signed, layout};
use crate::access::{Permission, UserRole};
use crate::api::ApiState;

/// `GET /werkplek/`: the start page of the user's role.
pub(super) async fn home(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let role = signed.session.user.role;
    match role {
        UserRole::Medewerker => {
            let body = super::cases::caseload_body(&state.node, &signed).await?;
            Ok(layout::page("Overzicht", Some(&signed.session), body).into_response())
        }
        UserRole::Analist if state.node.partner().role() == Role::Transferpunt => {
            monitor(State(state), signed).await
        }
        UserRole::Analist => {
            let body = html! {
                h1 { "Overzicht" }
                p { "De uitstroommonitor en het jaarverslag staan op de node van het Transferpunt." }
            };
            Ok(layout::page("Overzicht", Some(&signed.session), body).into_response())
        }
        UserRole::Privacyfunctionaris => audit_log(State(state), signed).await,
        UserRole::Beheerder => users(State(state), signed).await,
    }
}

/// `GET /werkplek/monitor`: the Transferpunt's uitstroommonitor (aggregates and open alerts; Bijlage 3: for
/// Transferpunt staff only).
pub(super) async fn monitor(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Monitor)?;
    let node = &state.node;
    if node.partner().role() != Role::Transferpunt {
        return Err(PageError::NotFound(
            "De uitstroommonitor (hij staat alleen op de node van het Transferpunt)".into(),
        ));
    }
    let cases = crate::monitor::load_cases(node).await?;
    let body = crate::monitor::page::body(
        &cases,
        node.clock_now().date(),
        &policies::werkdagen::Werkdagen::new(),
        node.gemeenten(),
    );
    Ok(layout::page("Uitstroommonitor", Some(&signed.session), layout::raw(body)).into_response())
}

/// The most audit entries the page shows (newest first).
const AUDIT_PAGE: u64 = 200;

/// `GET /werkplek/auditlog`: the newest entries of the audit log — names of fields, never values.
pub(super) async fn audit_log(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Audit)?;
    let store = state.node.store();
    let len = store.audit_len().await?;
    let from = len.saturating_sub(AUDIT_PAGE);
    let records = store.audit_records(from, AUDIT_PAGE as u32).await?;
    let mut entries: Vec<_> = records.iter().filter_map(|r| r.parse().ok()).collect();
    entries.reverse();
    let body = html! {
        h1 { "Auditlog" }
        p { "De nieuwste " (entries.len()) " van " (len) " regels. Het log noemt velden, nooit hun waarden." }
        table {
            caption { "Verwerkingen, nieuwste eerst" }
            thead { tr {
                th scope="col" { "Nr." } th scope="col" { "Tijd" } th scope="col" { "Handeling" }
                th scope="col" { "Gebruiker" } th scope="col" { "Partner" } th scope="col" { "Velden" }
                th scope="col" { "Doel" } th scope="col" { "Uitkomst" }
            } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (e.seq) }
                        td { (e.entry.start_time.date()) " " (e.entry.start_time.time().to_string().get(..8).unwrap_or_default()) }
                        td { (format!("{:?}", e.entry.name)) " " (e.entry.processing_activity_id) }
                        td { (e.entry.user.clone().unwrap_or_default()) }
                        td { (e.entry.peer.clone().unwrap_or_default()) }
                        td { (e.entry.fields.join(", ")) }
                        td { (e.entry.purpose) }
                        td { (format!("{:?}", e.entry.status_code)) }
                    }
                }
            }
        }
    };
    Ok(layout::page("Auditlog", Some(&signed.session), body).into_response())
}

/// `GET /werkplek/gebruikers`: the node's users, and a form for a new account.
pub(super) async fn users(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Users)?;
    users_page(&state, &signed, None).await
}

async fn users_page(
    state: &ApiState,
    signed: &Signed,
    notice: Option<maud::Markup>,
) -> Result<Response, PageError> {
    let list = state.node.store().list_users().await?;
    let body = html! {
        h1 { "Gebruikers" }
        @if let Some(n) = notice { (n) }
        table {
            caption { "Accounts en koppelingen van deze node" }
            thead { tr { th scope="col" { "Naam" } th scope="col" { "Gebruikersnaam" } th scope="col" { "Rol" } th scope="col" { "Status" } } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.name) }
                        td { (u.login.clone().unwrap_or_else(|| "(koppeling met token)".into())) }
                        td { (u.role) }
                        td { @if u.revoked { "ingetrokken" } @else { "actief" } }
                    }
                }
            }
        }
        h2 { "Nieuw account" }
        form method="post" action="/werkplek/gebruikers" {
            input type="hidden" name="_csrf" value=(signed.session.csrf);
            div.veld { label for="naam" { "Naam" } input #naam type="text" name="naam" required; }
            div.veld { label for="login" { "Gebruikersnaam" } input #login type="text" name="login" required; }
            div.veld {
                label for="rol" { "Rol" }
                select #rol name="rol" {
                    @for r in UserRole::ALL { option value=(r.name()) { (r.name()) " — " (r.description_nl()) } }
                }
            }
            button.primair type="submit" { "Account aanmaken" }
        }
    };
    Ok(layout::page("Gebruikers", Some(&signed.session), body).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct NewAccountForm {
    naam: String,
    login: String,
    rol: String,
}

/// `POST /werkplek/gebruikers`: a new account, its first password and TOTP secret shown once.
pub(super) async fn add_user(
    State(state): State<ApiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    // The role first, then the form: a role without access learns nothing about what the form expects.
    signed.need(Permission::Users)?;
    let form: NewAccountForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| PageError::BadRequest(format!("Het formulier is onvolledig: {e}.")))?;
    let role: UserRole = form
        .rol
        .parse()
        .map_err(|_| PageError::BadRequest(format!("onbekende rol {:?}", form.rol)))?;
    let notice = match auth::create_account(
        &state.node,
        form.naam.trim(),
        form.login.trim(),
        role,
        None,
    )
    .await
    {
        Ok(new) => {
            tracing::info!(by = %signed.session.user.id, user = %new.user.id, role = %role, "werkplek: account created");
            html! {
                div.melding.goed role="status" {
                    p { "Account " strong { (new.user.login.clone().unwrap_or_default()) } " aangemaakt. Geef deze gegevens veilig door; ze worden maar één keer getoond." }
                    p { "Wachtwoord: " code { (new.password) } }
                    p { "Sleutel voor de authenticator-app: " code { (new.totp_secret) } }
                }
            }
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => html! { div.melding.fout role="alert" { (format!("Niet aangemaakt: {e}")) } },
    };
    users_page(&state, &signed, Some(notice)).await
}
