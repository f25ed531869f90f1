//! The page shell every werkplek page shares: landmarks, the skip link, the navigation for the user's role,
//! sign-out; and the one stylesheet and script.
//!
//! The look follows the NL Design System's habits (Rijkshuisstijl colours as design tokens, visible focus, a
//! body text of at least 16 px, one column of fields with their label above and their error below), written
//! as a few CSS custom properties rather than a component library: no build step, nothing to download.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::access::{Permission, UserRole};
use crate::store::WebSession;

/// A whole page: `title` in the tab and as context, `session` for the navigation (none before sign-in).
pub(super) fn page(title: &str, session: Option<&WebSession>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Weer Thuis werkplek" }
                link rel="stylesheet" href="/werkplek/stijl.css";
                script src="/werkplek/werkplek.js" defer {}
            }
            body {
                a.skiplink href="#inhoud" { "Direct naar de inhoud" }
                header.kop {
                    div.kop-binnen {
                        span.merk { "Weer Thuis werkplek" }
                        @if let Some(s) = session {
                            nav aria-label="Hoofdmenu" {
                                ul {
                                    @for (href, label) in menu(s.user.role) {
                                        li { a href=(href) { (label) } }
                                    }
                                }
                            }
                            form.afmelden method="post" action="/werkplek/afmelden" {
                                input type="hidden" name="_csrf" value=(s.csrf);
                                span.wie { (s.user.name) " (" (s.user.role) ")" }
                                button.secundair type="submit" { "Afmelden" }
                            }
                        }
                    }
                }
                main #inhoud tabindex="-1" { (main) }
            }
        }
    }
}

/// A page for an error or a notice, without navigation.
pub(super) fn bare(title: &str, text: &str) -> Markup {
    page(
        title,
        None,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/werkplek" { "Naar het begin" } }
        },
    )
}

/// What the role can reach, as links.
fn menu(role: UserRole) -> Vec<(&'static str, &'static str)> {
    let mut items = vec![("/werkplek", "Overzicht")];
    if role.may(Permission::Cases) {
        items.push(("/werkplek/casussen", "Casussen"));
    }
    if role.may(Permission::Monitor) {
        items.push(("/werkplek/monitor", "Monitor"));
    }
    if role.may(Permission::Audit) {
        items.push(("/werkplek/auditlog", "Auditlog"));
        items.push(("/werkplek/inzage", "Inzage"));
    }
    if role.may(Permission::Users) {
        items.push(("/werkplek/gebruikers", "Gebruikers"));
    }
    items.push(("/werkplek/partners", "Partners"));
    items
}

/// `GET /werkplek/stijl.css`.
pub(super) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /werkplek/werkplek.js`.
pub(super) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Inline markup that is already HTML (the monitor's own page body).
pub(super) fn raw(html: String) -> Markup {
    PreEscaped(html)
}

const STYLESHEET: &str = include_str!("static/stijl.css");
const SCRIPT: &str = include_str!("static/werkplek.js");
