//! `GET /werkplek/partners`: the partners of the federation and their fixed contact persons (Afspraak 3g: at most
//! two per partner, for the Transferpunt), from the signed federation directory this node holds — for every role:
//! whom to call is not personal data of a client.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

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

/// A phone number as a `tel:` URI: its digits and a leading '+', nothing a browser would misread; the trunk
/// prefix written "(0)" after a country code is dropped, as it is not dialled.
pub(super) fn tel_uri(number: &str) -> String {
    number
        .replace("(0)", "")
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// A partner's fixed contact persons, as a list.
pub(super) fn contacts(p: &protocol::pki::DirectoryEntry) -> Markup {
    html! {
        @if p.contacts.is_empty() {
            "Geen contactpersoon opgegeven"
        } @else {
            ul {
                @for c in &p.contacts {
                    li {
                        (c.naam) ", "
                        a href=(format!("mailto:{}", c.email)) { (c.email) }
                        @if let Some(t) = &c.telefoon { ", " a href=(format!("tel:{}", tel_uri(t))) { (t) } }
                    }
                }
            }
        }
    }
}

/// When a partner can be reached, and its 24-hour number where it has one.
pub(super) fn reachability(p: &protocol::pki::DirectoryEntry) -> Markup {
    html! {
        @if let Some(b) = &p.bereikbaar { (b) br; }
        @match &p.telefoon_24_uur {
            Some(t) => { "24 uur per dag: " a href=(format!("tel:{}", tel_uri(t))) { (t) } }
            None => { "Geen 24-uursnummer" }
        }
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
                p {
                    "Een 24-uursnummer staat er alleen bij een partner die dat heeft: zorgaanbieders en "
                    "gebiedsteams zijn niet standaard dag en nacht bereikbaar (Bijlage 2). Afspraken over "
                    "bereikbaarheid rond één cliënt staan in diens ondersteuningsplan. Bij acuut gevaar: 112."
                }
                table {
                    caption { "Partners in de federatie (" (dir.partners.len()) ")" }
                    thead { tr {
                        th scope="col" { "Partner" } th scope="col" { "Rol" } th scope="col" { "Contactpersonen" }
                        th scope="col" { "Bereikbaarheid" }
                    } }
                    tbody {
                        @for p in &dir.partners {
                            tr {
                                th scope="row" { (p.name) br; small { (p.id.as_str()) } }
                                td { (rol(p.id.as_str())) }
                                td { (contacts(p)) }
                                td { (reachability(p)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Partners", Some(&signed.session), body).into_response())
}
