//! Errors as `application/problem+json` (RFC 9457), with every invalid field listed (NL API Design Rules).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field: its name, the rule's code and the rule in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidParam {
    /// `document.field`, with a path into lists.
    pub name: String,
    /// The rule's stable code (`bsn_elfproef`).
    pub code: String,
    /// The rule in words a begeleider understands.
    pub reason: String,
}

/// A problem response. Boxed: handlers return it in `Result`s, and the error side should stay small.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

#[derive(Debug, Clone, Serialize)]
struct ProblemBody {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(rename = "invalidParams", skip_serializing_if = "Vec::is_empty")]
    invalid_params: Vec<InvalidParam>,
    #[serde(skip)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with a status and a short Dutch title.
    pub fn new(status: StatusCode, title: &str) -> Self {
        Problem(Box::new(ProblemBody {
            kind: "about:blank".into(),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            invalid_params: Vec::new(),
            headers: Vec::new(),
        }))
    }

    /// Add an explanation.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Add the invalid fields.
    pub fn invalid_params(mut self, params: impl IntoIterator<Item = InvalidParam>) -> Self {
        self.0.invalid_params.extend(params);
        self
    }

    /// Add a response header.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.0.headers.push((
            HeaderName::from_static_lower(name),
            HeaderValue::from_static(value),
        ));
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

trait FromStaticLower {
    fn from_static_lower(name: &'static str) -> HeaderName;
}

impl FromStaticLower for HeaderName {
    fn from_static_lower(name: &'static str) -> HeaderName {
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .expect("static header names are valid")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).expect("a problem always serialises");
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (k, v) in self.0.headers {
            h.insert(k, v);
        }
        res
    }
}
