//! The local HTTP API for the partner's staff and its own systems, after the NL API Design Rules: JSON under
//! `/api/v1`, the OpenAPI description at `/api/v1/openapi.json`, bearer tokens per user, every error as
//! `application/problem+json` listing every invalid field with its rule, an `API-Version` header, and no BSN in
//! any URL.

mod bemiddeling;
mod huurdermelding;
pub mod idempotency;
pub mod openapi;
mod problem;
mod verwerkingsactiviteiten;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use policies::DocumentKind;
use serde::Deserialize;

pub use problem::{InvalidParam, Problem};

use crate::access::Permission;
use crate::service::{Node, ServiceError};
use crate::store::{CaseId, User};

/// Shared state of the API.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The node.
    pub node: Arc<Node>,
    /// What `GET /metrics` reports (shared with whoever starts the federation).
    pub metrics: Arc<crate::metrics::Registry>,
}

/// Default and largest page size for lists.
pub const DEFAULT_PAGE: usize = 100;
/// The largest page a client may ask for.
pub const MAX_PAGE: usize = 1000;

/// The router, with a body limit of `max_body_bytes`; `/metrics` reports the node without a federation.
pub fn router(node: Arc<Node>, max_body_bytes: usize) -> Router {
    router_with_metrics(node, max_body_bytes, Arc::default())
}

/// The router, with `/metrics` reporting from `metrics` (attach the federation to it to see peers and sync).
pub fn router_with_metrics(
    node: Arc<Node>,
    max_body_bytes: usize,
    metrics: Arc<crate::metrics::Registry>,
) -> Router {
    let v1 = Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/health", get(health))
        .route("/monitor", get(monitor_page))
        .route("/casussen", get(list_cases).post(create_case))
        .route("/casussen/{id}", get(case_detail))
        .route("/casussen/{id}/historie", get(history))
        .route(
            "/casussen/{id}/documenten/{document}",
            get(read_form).put(write_form),
        )
        .route(
            "/casussen/{id}/documenten/{document}/{instantie}",
            get(read_form_instance).put(write_form_instance),
        )
        .route("/casussen/{id}/indienen", post(bemiddeling::indienen))
        .route("/casussen/{id}/terugsturen", post(bemiddeling::terugsturen))
        .route("/casussen/{id}/toewijzing", post(bemiddeling::toewijzing))
        .route("/signalen", get(bemiddeling::signalen))
        .route(
            "/huurdermeldingen",
            get(huurdermelding::list).post(huurdermelding::meld),
        )
        .route(
            "/verwerkingsactiviteiten",
            get(verwerkingsactiviteiten::list),
        )
        .route(
            "/verwerkingsactiviteiten/{id}",
            get(verwerkingsactiviteiten::one),
        )
        .layer(middleware::from_fn_with_state(
            idempotency::Idempotency {
                node: node.clone(),
                max_body_bytes,
            },
            idempotency::idempotent,
        ));
    let state = ApiState { node, metrics };
    Router::new()
        .nest("/api/v1", v1)
        .nest("/werkplek", crate::werkplek::router(state.clone()))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "Niet gevonden").into_response() })
        .method_not_allowed_fallback(|| async {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "Deze methode kan hier niet")
                .into_response()
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(no_bsn_in_url))
        .layer(middleware::map_response(api_version))
        .with_state(state)
}

/// `GET /api/v1/monitor`: the Transferpunt's monitor page (HTML, Dutch) with its figures and open alerts. Other
/// nodes do not keep the monitor.
async fn monitor_page(State(state): State<ApiState>, user: AuthUser) -> Result<Response, Problem> {
    user.need(Permission::Monitor)?;
    if state.node.partner().role() != policies::Role::Transferpunt {
        return Err(Problem::new(StatusCode::NOT_FOUND, "Niet gevonden")
            .detail("De uitstroommonitor staat alleen op de node van het Transferpunt."));
    }
    let cases = crate::monitor::load_cases(&state.node).await?;
    let html = crate::monitor::page::render(
        &cases,
        state.node.clock_now().date(),
        &policies::werkdagen::Werkdagen::new(),
        state.node.gemeenten(),
    );
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response())
}

/// `GET /metrics`: Prometheus text format, no token needed (counts and partner ids only, no personal data).
async fn metrics_text(State(state): State<ApiState>) -> Response {
    let body = state.metrics.render(&state.node).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        body,
    )
        .into_response()
}

async fn api_version(mut res: Response) -> Response {
    res.headers_mut().insert(
        "API-Version",
        HeaderValue::from_static(openapi::API_VERSION),
    );
    res
}

/// Refuse any request whose path or query holds a number that is a valid BSN: personal data never goes in a URL
/// (it ends up in proxy and server logs).
async fn no_bsn_in_url(req: Request, next: Next) -> Response {
    let uri = req.uri().to_string();
    // Case ids are UUIDs: a group of one can be eight digits that pass the elfproef, so whole UUIDs are skipped.
    let has_bsn = uri
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|token| token.parse::<CaseId>().is_err())
        .flat_map(|token| token.split('-'))
        .any(|part| (8..=9).contains(&part.len()) && policies::bsn::Bsn::parse(part).is_ok());
    if has_bsn {
        tracing::warn!("refused a request with a BSN in its URL");
        return Problem::new(StatusCode::BAD_REQUEST, "Geen BSN in een URL")
            .detail("Een burgerservicenummer hoort niet in een URL (NL API Design Rules); stuur het in de body.")
            .into_response();
    }
    next.run(req).await
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequestParts<ApiState> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: &str| {
            Problem::new(StatusCode::UNAUTHORIZED, "Niet aangemeld")
                .detail(detail)
                .header("WWW-Authenticate", "Bearer")
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("Stuur een token: Authorization: Bearer <token>."))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorized("Alleen Bearer-tokens worden geaccepteerd."))?;
        match state.node.store().authenticate(token.trim()).await {
            Ok(Some(user)) if !user.revoked => Ok(AuthUser(user)),
            Ok(_) => Err(unauthorized("Dit token is onbekend of ingetrokken.")),
            Err(e) => {
                tracing::error!(error = %e, "authentication failed: storage error");
                Err(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Opslag niet beschikbaar",
                ))
            }
        }
    }
}

impl AuthUser {
    /// The token's role must allow `permission` (the same table as the werkplek's pages, [`crate::access`]).
    pub fn need(&self, permission: Permission) -> Result<(), Problem> {
        if self.0.role.may(permission) {
            Ok(())
        } else {
            Err(
                Problem::new(StatusCode::FORBIDDEN, "Geen toegang").detail(format!(
                    "De rol {} van dit token geeft geen toegang tot deze gegevens.",
                    self.0.role
                )),
            )
        }
    }
}

/// A user whose role works cases ([`Permission::Cases`]): every route that reads or writes personal data.
#[derive(Debug, Clone)]
pub struct CaseWorker(pub User);

impl FromRequestParts<ApiState> for CaseWorker {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.need(Permission::Cases)?;
        Ok(CaseWorker(user.0))
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => {
                Problem::new(StatusCode::NOT_FOUND, "Niet gevonden").detail(format!("{what}."))
            }
            ServiceError::Invalid(errors) => {
                let n = errors.0.len();
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Het formulier voldoet niet aan de regels",
                )
                .detail(format!("{n} fout(en); er is niets opgeslagen."))
                .invalid_params(errors.0.iter().map(|e| InvalidParam {
                    name: if e.field.is_empty() {
                        e.document.name().to_string()
                    } else {
                        format!("{}.{}", e.document, e.field)
                    },
                    code: e.rule.code().to_string(),
                    reason: e.rule.message(),
                }))
            }
            ServiceError::Forbidden(denied) => {
                Problem::new(StatusCode::FORBIDDEN, "Geen schrijfrecht op dit veld")
                    .detail(format!(
                        "{} mag {} niet schrijven volgens beleid {}; er is niets opgeslagen.",
                        denied.author, denied.field, denied.version
                    ))
                    .invalid_params([InvalidParam {
                        name: denied.field.clone(),
                        code: "schrijfrecht".into(),
                        reason: format!(
                            "geen schrijfregel van het beleid laat {} dit veld schrijven",
                            denied.author
                        ),
                    }])
            }
            ServiceError::BadRequest(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "Ongeldig verzoek").detail(detail)
            }
            e @ (ServiceError::Incomplete(_)
            | ServiceError::Conflict(_)
            | ServiceError::NotAllowed(_)) => bemiddeling::problem(e),
            e @ (ServiceError::Store(_) | ServiceError::Write(_) | ServiceError::Document(_)) => {
                tracing::error!(error = %e, "request failed in storage");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Interne fout")
                    .detail("De opslag gaf een fout; er is niets opgeslagen. De beheerder vindt de oorzaak in de log.")
            }
        }
    }
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::spec())
}

async fn health(State(state): State<ApiState>) -> Response {
    // A query the database must answer: proves the connection, costs little.
    match state.node.store().audit_len().await {
        Ok(_) => Json(serde_json::json!({
            "status": "ok",
            "partner": state.node.partner().to_string(),
            "beleid": state.node.policy().meta.version,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Database niet bereikbaar")
                .into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_page")]
    limit: usize,
}

fn default_page() -> usize {
    DEFAULT_PAGE
}

async fn list_cases(
    State(state): State<ApiState>,
    CaseWorker(_user): CaseWorker,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(page) = page.map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "Ongeldige parameters").detail(e.body_text())
    })?;
    if page.limit == 0 || page.limit > MAX_PAGE {
        return Err(
            Problem::new(StatusCode::BAD_REQUEST, "Ongeldige parameters").invalid_params([
                InvalidParam {
                    name: "limit".into(),
                    code: "bereik".into(),
                    reason: format!("limit moet tussen 1 en {MAX_PAGE} liggen"),
                },
            ]),
        );
    }
    Ok(Json(state.node.list_cases(page.offset, page.limit).await?).into_response())
}

async fn create_case(
    State(state): State<ApiState>,
    CaseWorker(_user): CaseWorker,
) -> Result<Response, Problem> {
    let summary = state.node.create_case().await?;
    let location = format!("/api/v1/casussen/{}", summary.id);
    let mut res = (StatusCode::CREATED, Json(summary)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

fn case_id(s: &str) -> Result<CaseId, Problem> {
    // An id that cannot exist is answered like one that does not.
    s.parse().map_err(|_| {
        Problem::new(StatusCode::NOT_FOUND, "Niet gevonden")
            .detail(format!("casus {s} niet gevonden."))
    })
}

fn document_kind(s: &str) -> Result<DocumentKind, Problem> {
    DocumentKind::from_name(s).ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "Onbekend document").detail(format!(
            "{s:?} is geen document van een casus; bekend zijn: {}.",
            DocumentKind::ALL.map(|k| k.name()).join(", ")
        ))
    })
}

async fn case_detail(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    Ok(Json(state.node.case_detail(&user, &id).await?).into_response())
}

async fn history(
    State(state): State<ApiState>,
    CaseWorker(_user): CaseWorker,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    Ok(Json(state.node.history(&id).await?).into_response())
}

async fn read_form(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path((id, document)): Path<(String, String)>,
) -> Result<Response, Problem> {
    read(state, user, id, document, None).await
}

async fn read_form_instance(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path((id, document, instance)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    read(state, user, id, document, Some(instance)).await
}

async fn read(
    state: ApiState,
    user: User,
    id: String,
    document: String,
    instance: Option<String>,
) -> Result<Response, Problem> {
    let (id, kind) = (case_id(&id)?, document_kind(&document)?);
    Ok(Json(
        state
            .node
            .read_form(&user, &id, kind, instance.as_deref())
            .await?,
    )
    .into_response())
}

async fn write_form(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path((id, document)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    write(state, user, id, document, None, body).await
}

async fn write_form_instance(
    State(state): State<ApiState>,
    CaseWorker(user): CaseWorker,
    Path((id, document, instance)): Path<(String, String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    write(state, user, id, document, Some(instance), body).await
}

async fn write(
    state: ApiState,
    user: User,
    id: String,
    document: String,
    instance: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (id, kind) = (case_id(&id)?, document_kind(&document)?);
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(status, "Verzoek te groot")
                .detail("Het formulier is groter dan deze node accepteert; er is niets opgeslagen.")
        } else {
            Problem::new(status, "Ongeldig verzoek").detail(e.body_text())
        }
    })?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "Geen geldige JSON").detail(format!(
            "De body is geen geldige JSON (regel {}, kolom {}); er is niets opgeslagen.",
            e.line(),
            e.column()
        ))
    })?;
    Ok(Json(
        state
            .node
            .write_form(&user, &id, kind, instance.as_deref(), &json)
            .await?,
    )
    .into_response())
}
