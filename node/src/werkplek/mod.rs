//! The werkplek: the web application each node serves on its local API listener for the people who do the work
//! (issue #12). Dutch, server-rendered HTML ([`maud`]), one small script for live checks; no build step.
//!
//! Every page goes through the same three doors, in this order:
//! 1. [`csrf_guard`] (a middleware): every POST carries the session's CSRF token, or the sign-in form's
//!    double-submit token; nothing else reaches a handler.
//! 2. [`Signed`] (an extractor): a session cookie of a user who gave both factors, or a redirect to sign-in.
//! 3. [`Signed::need`]: the role may use the permission the page needs ([`crate::access`]), or 403.
//!
//! What a user can do to a case is the node's own operation ([`crate::service::Node`]), the same one the API
//! calls: validation, the policy's write rules and the audit log are not repeated here.

mod actions;
pub mod auth;
mod cases;
mod form;
mod huurdermelding;
mod inzage;
mod layout;
mod partners;
mod staff;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::access::Permission;
use crate::api::ApiState;
use crate::store::{SessionStage, WebSession};

/// The session cookie.
const SESSION_COOKIE: &str = "wt_sessie";
/// The sign-in form's double-submit cookie (a browser without a session has no CSRF token yet).
const PRE_SIGNIN_COOKIE: &str = "wt_voor";
/// The form field (or header, for the live check) that carries the CSRF token.
const CSRF_FIELD: &str = "_csrf";
/// The header the live check sends the CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form body the werkplek reads (a form of Bijlage 3 with long texts fits many times over).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The werkplek's routes, to be nested at `/werkplek` on the API router.
pub fn router(state: ApiState) -> Router<ApiState> {
    Router::new()
        .route("/", get(staff::home))
        .route("/stijl.css", get(layout::stylesheet))
        .route("/werkplek.js", get(layout::script))
        .route("/aanmelden", get(auth::sign_in_page).post(auth::sign_in))
        .route(
            "/tweede-factor",
            get(auth::second_factor_page).post(auth::second_factor),
        )
        .route("/afmelden", post(auth::sign_out))
        .route("/casussen", get(cases::caseload).post(cases::create))
        .route("/casussen/{id}", get(cases::overview))
        .route(
            "/casussen/{id}/toestemming-intrekken",
            post(cases::withdraw_consent),
        )
        .route("/casussen/{id}/indienen", post(actions::submit))
        .route("/casussen/{id}/terugsturen", post(actions::send_back))
        .route("/casussen/{id}/toewijzen", post(actions::assign))
        .route(
            "/casussen/{id}/formulier/{document}",
            get(form::page).post(form::save),
        )
        .route(
            "/casussen/{id}/formulier/{document}/controle",
            post(form::check),
        )
        .route("/monitor", get(staff::monitor))
        .route("/partners", get(partners::page))
        .route(
            "/huurdermeldingen",
            get(huurdermelding::page).post(huurdermelding::make),
        )
        .route("/auditlog", get(staff::audit_log))
        .route("/inzage", get(inzage::page).post(inzage::make))
        .route("/inzage/verzoeken/{id}/afgehandeld", post(inzage::handled))
        .route("/gebruikers", get(staff::users).post(staff::add_user))
        .layer(middleware::from_fn_with_state(state, csrf_guard))
}

/// A signed-in user of the werkplek: both factors given, session not expired, user not revoked.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session (its user, its CSRF token).
    pub session: WebSession,
}

impl Signed {
    /// The page needs `permission`: refused with 403 (and a page saying why) for a role without it.
    pub fn need(&self, permission: Permission) -> Result<(), PageError> {
        if self.session.user.role.may(permission) {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }
}

/// Why a page could not be shown. Each maps to a status and a Dutch page.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: to the sign-in page.
    SignIn,
    /// The role may not see this (403).
    Forbidden,
    /// This step is another partner's to take (403, with why): the Transferpunt assigns, the zorgaanbieder submits.
    NotThisPartner(String),
    /// Nothing here (404).
    NotFound(String),
    /// A request the werkplek does not understand (400).
    BadRequest(String),
    /// The CSRF token is missing or wrong (403).
    Csrf,
    /// Something failed inside; the log says what (500).
    Internal,
}

impl From<crate::service::ServiceError> for PageError {
    fn from(e: crate::service::ServiceError) -> Self {
        use crate::service::ServiceError as E;
        match e {
            E::NotFound(what) => PageError::NotFound(what),
            E::BadRequest(why) | E::Conflict(why) => PageError::BadRequest(why),
            E::NotAllowed(why) => PageError::NotThisPartner(why),
            E::Incomplete(missing) => PageError::BadRequest(format!(
                "Nog nodig: {}.",
                missing
                    .iter()
                    .map(|m| m.label)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            E::Invalid(errors) => PageError::BadRequest(errors.to_string()),
            E::Forbidden(denied) => PageError::BadRequest(format!(
                "{} mag {} niet schrijven volgens beleid {}",
                denied.author, denied.field, denied.version
            )),
            e @ (E::Store(_) | E::Write(_) | E::Document(_)) => {
                tracing::error!(error = %e, "werkplek: storage failed");
                PageError::Internal
            }
        }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "werkplek: storage failed");
        PageError::Internal
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            PageError::SignIn => return Redirect::to("/werkplek/aanmelden").into_response(),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Geen toegang",
                "Uw rol geeft geen toegang tot deze pagina.".to_string(),
            ),
            PageError::NotThisPartner(why) => (StatusCode::FORBIDDEN, "Niet voor uw organisatie", why),
            PageError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Niet gevonden",
                format!("{what} is niet gevonden."),
            ),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Ongeldig verzoek", why),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "Formulier verlopen",
                "Dit formulier is niet (meer) geldig. Laad de pagina opnieuw en probeer het nog eens."
                    .to_string(),
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Er ging iets mis",
                "Er is niets opgeslagen. De beheerder vindt de oorzaak in de log.".to_string(),
            ),
        };
        (status, layout::bare(title, &text)).into_response()
    }
}

impl FromRequestParts<ApiState> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        match session_of(&parts.headers, state).await? {
            Some(session) if session.stage == SessionStage::SignedIn => Ok(Signed { session }),
            _ => Err(PageError::SignIn),
        }
    }
}

/// The session the request's cookie names, at any stage.
async fn session_of(
    headers: &HeaderMap,
    state: &ApiState,
) -> Result<Option<WebSession>, PageError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) => Ok(state.node.store().session(&token).await?),
        None => Ok(None),
    }
}

/// A cookie's value from the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/werkplek`, `Secure` when the browser reached the
/// node over TLS (the partner's reverse proxy terminates it and says so in `X-Forwarded-Proto`; the listener
/// itself is plain HTTP inside the partner's network). `max_age` 0 removes the cookie.
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{name}={value}; Path=/werkplek; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Every POST to the werkplek must carry a CSRF token matching its session (or, for the sign-in form, the
/// double-submit cookie). `SameSite=Strict` already keeps other sites' requests cookie-less; the token also
/// covers a browser that ignores `SameSite`.
async fn csrf_guard(
    axum::extract::State(state): axum::extract::State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return PageError::BadRequest("Het formulier is te groot.".into()).into_response();
    };
    let given = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            form_urlencoded_pairs(&bytes)
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        tracing::warn!(path = %parts.uri.path(), "werkplek: POST without a CSRF token refused");
        return PageError::Csrf.into_response();
    };
    let expected = if parts.uri.path().ends_with("/aanmelden") {
        cookie(&parts.headers, PRE_SIGNIN_COOKIE)
    } else {
        match session_of(&parts.headers, &state).await {
            Ok(Some(s)) => Some(s.csrf),
            Ok(None) => return PageError::SignIn.into_response(),
            Err(e) => return e.into_response(),
        }
    };
    if !expected.is_some_and(|e| auth::same_secret(e.as_bytes(), given.as_bytes())) {
        tracing::warn!(path = %parts.uri.path(), "werkplek: POST with a wrong CSRF token refused");
        return PageError::Csrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The pairs of an `application/x-www-form-urlencoded` body, in order (a field may repeat: ticked boxes).
fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}
