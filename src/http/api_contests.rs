//! The server-to-server API of runs, wars and raids: runs in batches, flagged runs for
//! moderators, war registration and starts on demand, scoreboards, and ending a war or raid
//! now. Behind the same API key as the rest of `/api`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use guildhall_protocol::ErrorBody;
use serde::Deserialize;
use serde_json::json;

use super::api::{authorize, invalid, ApiError, ApiResult, Run};
use crate::clock::now_ms;
use crate::guild::errors;
use crate::services::Services;
use crate::store::to_i64;
use crate::war::replica::{raid_key, war_key};

/// Most runs one batch may carry.
const MAX_BATCH: usize = 5_000;

pub fn routes() -> Router<Arc<Services>> {
    Router::new()
        .route("/api/runs/batch", post(runs_batch))
        .route("/api/runs/flagged", get(flagged))
        .route("/api/wars/registration/open", post(open_registration))
        .route("/api/wars/start", post(start_wars))
        .route("/api/wars/jobs/run", post(run_jobs))
        .route("/api/wars/{id}", get(war))
        .route("/api/wars/{id}/end", post(end_war))
        .route("/api/raids", post(start_raid))
        .route("/api/raids/{id}", get(raid))
        .route("/api/raids/{id}/end", post(end_raid))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    runs: Vec<Run>,
}

/// Many runs in one call: each is answered on its own (`ok` with the run's outcome, or the
/// error), in order, once every one of them is durable. Their DNA reaches the wallets through
/// the credit job within a few seconds.
async fn runs_batch(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Json(body): Json<Batch>,
) -> ApiResult {
    authorize(&services, &headers)?;
    if body.runs.len() > MAX_BATCH {
        return Err(invalid(format!("at most {MAX_BATCH} runs per batch")));
    }
    let answers = futures::future::join_all(
        body.runs
            .into_iter()
            .map(|run| services.wars.submit_run(run.report())),
    )
    .await;
    let results: Vec<serde_json::Value> = answers
        .into_iter()
        .map(|a| match a {
            Ok(accepted) => json!({ "ok": true, "d": accepted }),
            Err(e) => json!({ "ok": false, "err": e }),
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

async fn flagged(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Query(q): Query<Limit>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let flagged = services.wars.flagged_runs(q.limit.unwrap_or(100)).await?;
    Ok(Json(json!(flagged)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Open {
    /// When matchmaking for the cycle begins, ms; absent means the calendar's next start.
    #[serde(default)]
    cycle_at: Option<u64>,
}

async fn open_registration(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&services, &headers)?;
    let body: Open = optional_json(&body)?;
    let cycle = match body.cycle_at {
        Some(at) => at,
        None => services
            .wars
            .preset
            .war
            .schedule
            .calendar()
            .ok()
            .and_then(|c| c.next_cycle(now_ms()))
            .ok_or_else(|| invalid("the calendar has no next start; give cycle_at"))?,
    };
    let cycle = services.wars.open_registration(cycle).await?;
    Ok(Json(json!({ "cycle_at": cycle })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Start {
    /// Two guilds to set against each other now.
    #[serde(default)]
    guilds: Option<Vec<i64>>,
    /// One guild for a PvE war against `benchmark` now.
    #[serde(default)]
    guild: Option<i64>,
    #[serde(default)]
    benchmark: Option<u64>,
}

/// Starts wars now: the given pair, the given PvE war, or (with no body) matchmaking for the
/// cycle whose registration is open, with a first pass at once.
async fn start_wars(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&services, &headers)?;
    let body: Start = optional_json(&body)?;
    let w = &services.wars;
    match (body.guilds.as_deref(), body.guild) {
        (Some(&[a, b]), None) => {
            let war = w.start_war(a, Some(b), None, None).await?;
            Ok(Json(json!({ "wars": [war.id] })))
        }
        (None, Some(g)) => {
            let benchmark = body
                .benchmark
                .ok_or_else(|| invalid("a PvE war needs a benchmark"))?;
            let war = w.start_war(g, None, Some(benchmark), None).await?;
            Ok(Json(json!({ "wars": [war.id] })))
        }
        (None, None) => {
            let cycle = w.start_matching().await?;
            let wars = w.match_pass().await?;
            Ok(Json(json!({ "cycle_at": cycle, "wars": wars })))
        }
        _ => Err(invalid(
            "give guilds: [a, b], or guild and benchmark, or nothing",
        )),
    }
}

async fn run_jobs(State(services): State<Arc<Services>>, headers: HeaderMap) -> ApiResult {
    authorize(&services, &headers)?;
    let report = services.wars.run_jobs().await?;
    Ok(Json(json!(report)))
}

async fn war(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let board = services.wars.board(&war_key(to_i64(id))).await?;
    Ok(Json(json!(board)))
}

async fn end_war(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let ended = services
        .wars
        .end_war(to_i64(id))
        .await?
        .ok_or_else(|| ended_already("war"))?;
    Ok(Json(json!(ended)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RaidStartBody {
    guild: i64,
}

async fn start_raid(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Json(body): Json<RaidStartBody>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let board = services.wars.start_raid(body.guild, "api").await?;
    Ok(Json(json!(board)))
}

async fn raid(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let board = services.wars.board(&raid_key(to_i64(id))).await?;
    Ok(Json(json!(board)))
}

async fn end_raid(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let ended = services
        .wars
        .end_raid(to_i64(id))
        .await?
        .ok_or_else(|| ended_already("raid"))?;
    Ok(Json(json!(ended)))
}

/// A JSON body that may be left out (then every field takes its default).
fn optional_json<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| invalid(format!("bad body: {e}")))
}

fn ended_already(what: &str) -> ErrorBody {
    errors::conflict(format!("the {what} is over already, or never began"))
}
