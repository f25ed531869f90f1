//! `GET /werkplek/partners`: the partners of the federation and their fixed contact persons (Afspraak 3g: at most
//! two per partner, for the Transferpunt), from the signed federation directory this node holds — for every role:
//! whom to call is not personal data of a client.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{PageError, Signed, layout};
use crate::api::ApiState;

/// The covenant's word for a partner's role.
fn rol(id: &str) -> &'static str {
    match id.split_once(':').map(|(r, _)| r) {
        Some("transferpunt") => "Transferpunt",
        Some("gemeente") => "Gemeente",
        Some("corporatie") => "Woningcorporatie",
        Some("zorgaanbieder") => "Zorgaanbieder",
        _ => "Onbekend",
    }
}

/// The page: one table of partners with their contact persons.
pub(super) async fn page(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    let stored = state.node.store().latest_directory().await?;
    // Stored directories were verified against the federation CA when they were stored.
    let directory =
        stored.and_then(|d| serde_json::from_slice::<protocol::Directory>(&d.body).ok());
    let body = html! {
        h1 { "Partners en contactpersonen" }
        @match &directory {
            None => p { "Deze node heeft nog geen ondertekend adresboek van de federatie." }
            Some(dir) => {
                p {
                    "Adresboek van de federatie, versie " (dir.version) ", ondertekend door de federatie. "
                    "Elke partner wijst voor het Transferpunt ten hoogste twee vaste contactpersonen aan "
                    "(Afspraak 3g); de communicatie met het Transferpunt loopt via hen."
                }
                table {
                    caption { "Partners in de federatie (" (dir.partners.len()) ")" }
                    thead { tr {
                        th scope="col" { "Partner" } th scope="col" { "Rol" } th scope="col" { "Contactpersonen" }
                    } }
                    tbody {
                        @for p in &dir.partners {
                            tr {
                                th scope="row" { (p.name) br; small { (p.id.as_str()) } }
                                td { (rol(p.id.as_str())) }
                                td {
                                    @if p.contacts.is_empty() {
                                        "Geen contactpersoon opgegeven"
                                    } @else {
                                        ul {
                                            @for c in &p.contacts {
                                                li {
                                                    (c.naam) ", "
                                                    a href=(format!("mailto:{}", c.email)) { (c.email) }
                                                    @if let Some(t) = &c.telefoon { ", " (t) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Partners", Some(&signed.session), body).into_response())
}
