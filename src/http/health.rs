//! `/healthz` (the process answers), `/readyz` (store and broker answer), `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::services::Services;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when both dependencies answer, 503 otherwise; the body says which failed.
pub async fn readyz(State(services): State<Arc<Services>>) -> impl IntoResponse {
    let store = match tokio::time::timeout(PROBE_TIMEOUT, services.store.health()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    };
    let broker = match tokio::time::timeout(PROBE_TIMEOUT, services.hub.broker.health()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    };
    let draining = services.shutdown.is_cancelled();
    let ready = store.is_ok() && broker.is_ok() && !draining;
    let status = |r: &Result<(), String>| match r {
        Ok(()) => json!({ "ok": true }),
        Err(e) => json!({ "ok": false, "error": e }),
    };
    let body = json!({
        "ready": ready,
        "draining": draining,
        "store": { "kind": services.store.kind(), "status": status(&store) },
        "broker": { "kind": services.hub.broker.kind(), "status": status(&broker) },
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

pub async fn metrics() -> impl IntoResponse {
    let body = crate::metrics::prometheus()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
