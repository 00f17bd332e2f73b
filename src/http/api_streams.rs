//! The server-to-server API of streams, for games whose server runs the game: open a stream on
//! a player's behalf, publish its events, end it; browse live streams and broadcasts. Behind
//! the same API key as the rest of `/api`; the stream's owner is the player named at opening.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use guildhall_protocol::{StreamEnd, StreamList, StreamOpen};
use serde::Deserialize;
use serde_json::json;

use super::api::{authorize, checked_user, ApiResult};
use crate::auth::{Roles, User};
use crate::services::Services;
use crate::store::to_i64;

pub fn routes() -> Router<Arc<Services>> {
    Router::new()
        .route("/api/streams", post(open).get(list))
        .route("/api/streams/{id}", get(stream))
        .route("/api/streams/{id}/events", post(publish))
        .route("/api/streams/{id}/end", post(end))
        .route("/api/streams/jobs/run", post(run_jobs))
        .route("/api/broadcasts/{id}", get(broadcast))
}

/// Runs the streams' housekeeping now (every node runs it each minute): ends streams idle for
/// `streams.idle_end_s`, keeps the war runs' replays that earned it and deletes the rest once
/// their retention is over.
async fn run_jobs(State(services): State<Arc<Services>>, headers: HeaderMap) -> ApiResult {
    authorize(&services, &headers)?;
    let ended = services.streams.end_idle().await?;
    let purged = services.streams.purge().await?;
    Ok(Json(json!({ "ended": ended, "purged": purged })))
}

/// The player a backend acts for.
fn player(id: &str) -> User {
    User {
        id: id.into(),
        name: id.into(),
        roles: Roles::default(),
        member: false,
        created_at_ms: None,
    }
}

#[derive(Deserialize)]
struct Open {
    owner: String,
    #[serde(flatten)]
    stream: StreamOpen,
}

async fn open(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Json(body): Json<Open>,
) -> ApiResult {
    authorize(&services, &headers)?;
    checked_user(&body.owner)?;
    let info = services
        .streams
        .open(&player(&body.owner), body.stream)
        .await?;
    Ok(Json(json!(info)))
}

/// The owner's user, for acting on their stream.
async fn owner_of(services: &Services, id: u64) -> Result<User, super::api::ApiError> {
    let meta = services.streams.meta(to_i64(id)).await?;
    Ok(player(&meta.owner))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    kind: String,
    #[serde(default)]
    d: serde_json::Value,
}

async fn publish(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(body): Json<Event>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let owner = owner_of(&services, id).await?;
    let published = services
        .streams
        .publish(&owner, id, &body.kind, body.d)
        .await?;
    Ok(Json(json!(published)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct End {
    #[serde(default)]
    keep: bool,
    #[serde(default)]
    d: serde_json::Value,
}

async fn end(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(body): Json<End>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let owner = owner_of(&services, id).await?;
    let req = StreamEnd {
        stream: id,
        keep: body.keep,
        d: body.d,
    };
    let info = services.streams.end(&owner, req).await?;
    Ok(Json(json!(info)))
}

async fn stream(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let owner = owner_of(&services, id).await?;
    let info = services.streams.get(&owner, id).await?;
    Ok(Json(json!(info)))
}

/// The public browse list (guild-only streams are listed to their guild's members only).
async fn list(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Query(q): Query<StreamList>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let page = services.streams.list_for(None, q).await?;
    Ok(Json(json!(page)))
}

async fn broadcast(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let info = services.streams.broadcast(id).await?;
    Ok(Json(json!(info)))
}
