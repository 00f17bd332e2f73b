//! HTTP routes: the WebSocket upgrade, the operational endpoints and the server-to-server API.

pub mod api;
mod api_contests;
mod api_streams;
mod console;
mod health;
mod ws;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::services::Services;

pub fn router(services: Arc<Services>) -> Router {
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(api::routes())
        .merge(console::routes())
        .with_state(services)
}
