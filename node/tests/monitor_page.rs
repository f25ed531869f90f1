//! `GET /api/v1/monitor` on the Transferpunt's local API: token-protected HTML in Dutch; other nodes have no monitor.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use time::macros::datetime;
use tower::ServiceExt;

async fn get(partner: &str, with_token: bool) -> (StatusCode, String, String) {
    let dir = tempfile::tempdir().unwrap();
    node::app::init(dir.path(), partner.parse().unwrap(), None)
        .await
        .unwrap();
    let clock = Arc::new(|| datetime!(2026-03-02 10:00 UTC));
    let (_, node) = node::app::open_with_clock(dir.path(), clock).await.unwrap();
    let token = node
        .store()
        .create_user_with_role(
            "Tineke Postma",
            "uitstroommonitor",
            node::access::UserRole::Analist,
        )
        .await
        .unwrap()
        .token;
    let router = node::api::router(node, 1 << 20);
    let mut req = Request::builder().uri("/api/v1/monitor");
    if with_token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    let res = router
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn the_transferpunt_serves_its_monitor_to_token_holders() {
    let (status, ct, html) = get("transferpunt:sdf", true).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(
        html.contains("Uitstroommonitor Transferpunt Weer Thuis"),
        "{html}"
    );
    assert!(
        html.contains("Stand op 2026-03-02: 0 casussen, 0 open signalen"),
        "{html}"
    );
    assert!(html.contains("<h2>Cijfers 2026</h2>"));

    let (status, _, _) = get("transferpunt:sdf", false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = get("zorgaanbieder:kwadrant", true).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
