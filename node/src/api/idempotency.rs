//! Idempotent writes: a partner's system that sends a POST or PUT with an `Idempotency-Key` header can retry it
//! (after a timeout, a dropped connection, a restart of its own) without the step happening twice. The first
//! request with a key runs; a successful answer is stored with the key, per API token, for [`KEEP_FOR`]; a retry
//! with the same key and the same request (method, path, body) gets that stored answer back, marked
//! `Idempotent-Replayed: true`, without running again. The same key with another request is refused (422), and a
//! retry while the first is still running waits for nothing: it gets 409 and may try again.
//!
//! Only successful (2xx) answers are kept: a refused step changed nothing, so retrying it is safe and may succeed
//! once the case is ready. The step and the stored answer are not one transaction: if the process dies between
//! them, the key's claim runs out after [`RUNNING_FOR`] and a retry runs the step again, where every step's own
//! rules (a request already submitted, a corporatie already assigned) still answer 409.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use time::Duration;

use super::Problem;
use super::openapi::IDEMPOTENCY_KEY;
use crate::service::Node;
use crate::store::{IdempotencyClaim, StoredAnswer};

/// The longest key accepted (a UUID is 36 characters; the IETF draft names no limit).
pub const MAX_KEY_LEN: usize = 255;
/// How long a successful answer is kept for retries.
pub const KEEP_FOR: Duration = Duration::hours(24);
/// How long a running request holds its key before a retry may take it over.
pub const RUNNING_FOR: Duration = Duration::minutes(5);
/// The header that marks an answer as the stored one.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// What the middleware needs: the node and the body limit (the body is read here, before the handlers).
#[derive(Debug, Clone)]
pub(super) struct Idempotency {
    pub(super) node: Arc<Node>,
    pub(super) max_body_bytes: usize,
}

fn bad_key(detail: &str) -> Response {
    Problem::new(StatusCode::BAD_REQUEST, "Ongeldige Idempotency-Key")
        .detail(format!("{detail}; er is niets gedaan."))
        .invalid_params([super::InvalidParam {
            name: IDEMPOTENCY_KEY.into(),
            code: "idempotency_key".into(),
            reason: format!(
                "1 tot {MAX_KEY_LEN} zichtbare ASCII-tekens, zoals een UUID, per stap een nieuwe"
            ),
        }])
        .into_response()
}

/// The middleware: see the module's documentation.
pub(super) async fn idempotent(
    State(state): State<Idempotency>,
    req: Request,
    next: Next,
) -> Response {
    if !(req.method() == Method::POST || req.method() == Method::PUT) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            k.to_string()
        }
        _ => return bad_key("De Idempotency-Key heeft geen geldige vorm"),
    };
    // Keys are per token. Without a valid one the handler answers 401 itself; nothing is stored for it.
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let user = match token {
        Some(t) => match state.node.store().authenticate(&t).await {
            Ok(Some(user)) if !user.revoked => user,
            Ok(_) => return next.run(req).await,
            Err(e) => {
                tracing::error!(error = %e, "idempotency: authentication failed in storage");
                return unavailable();
            }
        },
        None => return next.run(req).await,
    };
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, state.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "Verzoek te groot")
                .detail("Het verzoek is groter dan deze node accepteert; er is niets opgeslagen.")
                .into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update([0]);
    h.update(parts.uri.path().as_bytes());
    h.update([0]);
    h.update(parts.uri.query().unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(&body);
    let fingerprint: [u8; 32] = h.finalize().into();
    let now = state.node.clock_now();
    let store = state.node.store();
    let case = case_in(parts.uri.path());
    match store
        .claim_idempotency_key(user.id.as_str(), &key, &fingerprint, now + RUNNING_FOR)
        .await
    {
        Err(e) => {
            tracing::error!(error = %e, "idempotency: claiming a key failed in storage");
            unavailable()
        }
        Ok(IdempotencyClaim::Mismatch) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key al gebruikt voor een ander verzoek",
        )
        .detail(
            "Deze Idempotency-Key hoort bij een eerder verzoek met een ander pad of een andere body; er is niets \
             gedaan. Kies per stap een nieuwe sleutel.",
        )
        .into_response(),
        Ok(IdempotencyClaim::InProgress) => Problem::new(
            StatusCode::CONFLICT,
            "Verzoek met deze Idempotency-Key loopt nog",
        )
        .detail("Het eerste verzoek met deze sleutel is nog bezig; probeer het zo opnieuw.")
        .into_response(),
        Ok(IdempotencyClaim::Replay(answer)) => {
            tracing::info!(status = answer.status, "idempotency: replayed a stored answer");
            replay(answer)
        }
        Ok(IdempotencyClaim::Claimed) => {
            let res = next.run(Request::from_parts(parts, Body::from(body))).await;
            let (res_parts, res_body) = res.into_parts();
            // Our own answers are bounded (a form view, a case summary); the limit only guards against a bug.
            let bytes = match to_bytes(res_body, 64 * 1024 * 1024).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "idempotency: reading our own answer failed");
                    let _ = store.release_idempotency_key(user.id.as_str(), &key).await;
                    return unavailable();
                }
            };
            let header_text = |name: header::HeaderName| {
                res_parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let outcome = if res_parts.status.is_success() {
                let answer = StoredAnswer {
                    status: res_parts.status.as_u16(),
                    content_type: header_text(header::CONTENT_TYPE),
                    location: header_text(header::LOCATION),
                    body: bytes.to_vec(),
                };
                // A new case is named by the answer's Location.
                let case = case.clone().or_else(|| answer.location.as_deref().and_then(case_in));
                store
                    .complete_idempotency_key(
                        user.id.as_str(),
                        &key,
                        &answer,
                        case.as_deref(),
                        now + KEEP_FOR,
                    )
                    .await
            } else {
                store.release_idempotency_key(user.id.as_str(), &key).await
            };
            if let Err(e) = outcome {
                // The step itself is done (or refused); only its record for retries failed. The claim runs out.
                tracing::error!(error = %e, "idempotency: storing the answer failed");
            }
            Response::from_parts(res_parts, Body::from(bytes))
        }
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut res = (status, answer.body).into_response();
    let h = res.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::LOCATION, answer.location),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert(name, v);
        }
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

fn unavailable() -> Response {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Opslag niet beschikbaar")
        .detail("De opslag gaf een fout; probeer het later opnieuw met dezelfde Idempotency-Key.")
        .into_response()
}

/// The case a path is about (`…/casussen/{id}/…`), if any.
fn case_in(path: &str) -> Option<String> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "casussen")?;
    let id = segments.next()?;
    id.parse::<crate::store::CaseId>()
        .ok()
        .map(|c| c.to_string())
}
