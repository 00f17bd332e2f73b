//! The server-to-server API for game backends (`/api`): wallet credits and debits, finished
//! runs, war and raid results, guild lookups, and running the scheduled guild jobs on demand.
//! Every call needs the configured API key as `Authorization: Bearer <key>`; without a
//! configured key the API is off (503), never open.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use guildhall_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;
use serde_json::json;

use crate::domain::guild::levels::XpSource;
use crate::domain::room::is_valid_user_id;
use crate::guild::views::ledger_entry;
use crate::services::Services;
use crate::war::RunReport;

/// Longest idempotency key or run id, bytes.
const MAX_KEY_LEN: usize = 128;

pub fn routes() -> Router<Arc<Services>> {
    Router::new()
        .route("/api/wallets/{user}", get(wallet))
        .route("/api/wallets/{user}/credit", post(credit))
        .route("/api/wallets/{user}/debit", post(debit))
        .route("/api/runs", post(run))
        .merge(super::api_contests::routes())
        .merge(super::api_streams::routes())
        .route("/api/guilds/{id}", get(guild))
        .route("/api/guilds/{id}/xp", post(xp))
        .route("/api/jobs/run", post(run_jobs))
}

/// An API refusal: the protocol's error body with the matching HTTP status.
pub struct ApiError(ErrorBody);

impl From<ErrorBody> for ApiError {
    fn from(e: ErrorBody) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::NotMember => StatusCode::NOT_FOUND,
            ErrorCode::Conflict | ErrorCode::InsufficientFunds | ErrorCode::LimitReached => {
                StatusCode::CONFLICT
            }
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.0 }))).into_response()
    }
}

pub(super) type ApiResult = Result<Json<serde_json::Value>, ApiError>;

pub(super) fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError(ErrorBody::new(ErrorCode::Invalid, msg))
}

/// Checks the bearer key. Compared in constant time so the key cannot be guessed byte by byte
/// from response times.
pub(super) fn authorize(services: &Services, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(key) = &services.config.api_key else {
        return Err(ApiError(ErrorBody::new(
            ErrorCode::Unavailable,
            "the server-to-server API is off: configure api_key",
        )));
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), key.expose().as_bytes()) {
        return Err(ApiError(ErrorBody::new(
            ErrorCode::Unauthorized,
            "missing or wrong API key",
        )));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn checked_user(user: &str) -> Result<(), ApiError> {
    if is_valid_user_id(user) {
        Ok(())
    } else {
        Err(invalid("not a valid user id"))
    }
}

fn checked_key(what: &str, key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(invalid(format!("{what} is 1 to {MAX_KEY_LEN} bytes")));
    }
    Ok(())
}

async fn wallet(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> ApiResult {
    authorize(&services, &headers)?;
    checked_user(&user)?;
    let wallet = services.guilds.wallet(&user).await?;
    Ok(Json(json!(wallet)))
}

#[derive(Deserialize)]
struct Adjust {
    currency: String,
    amount: u64,
    #[serde(default)]
    reason: Option<String>,
    /// Required: a backend retrying a credit must not pay twice.
    idem: String,
}

async fn credit(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(body): Json<Adjust>,
) -> ApiResult {
    adjust(&services, &headers, &user, body, 1).await
}

async fn debit(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    Json(body): Json<Adjust>,
) -> ApiResult {
    adjust(&services, &headers, &user, body, -1).await
}

async fn adjust(
    services: &Services,
    headers: &HeaderMap,
    user: &str,
    body: Adjust,
    sign: i64,
) -> ApiResult {
    authorize(services, headers)?;
    checked_user(user)?;
    checked_key("idem", &body.idem)?;
    let amount = i64::try_from(body.amount).map_err(|_| invalid("amount is too large"))?;
    let (entry, duplicate) = services
        .guilds
        .adjust_wallet(
            user,
            &body.currency,
            sign * amount,
            body.reason.as_deref(),
            &body.idem,
        )
        .await?;
    Ok(Json(json!({
        "balance": entry.balance.max(0),
        "entry": ledger_entry(entry),
        "duplicate": duplicate,
    })))
}

/// A finished run as a game backend reports it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Run {
    pub user: String,
    pub run_id: String,
    pub dna: u64,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// ms since the epoch; absent means now.
    #[serde(default)]
    pub finished_at: Option<u64>,
}

impl Run {
    pub(super) fn report(self) -> RunReport {
        RunReport {
            run_id: self.run_id,
            user: self.user,
            dna: self.dna,
            duration_ms: self.duration_ms,
            finished_at: self.finished_at,
        }
    }
}

/// One run: stored (it counts in its runner's war and raid), then its DNA credited with the
/// guild's bonus. The answer holds both.
async fn run(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Json(body): Json<Run>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let report = body.report();
    let accepted = services.wars.submit_run(report.clone()).await?;
    let credit = services
        .wars
        .credit_one(&report.user, &report.run_id, report.dna)
        .await?;
    let mut body = json!(credit);
    body["war"] = json!(accepted.war);
    body["raid"] = json!(accepted.raid);
    body["flag"] = json!(accepted.flag);
    Ok(Json(body))
}

async fn guild(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> ApiResult {
    authorize(&services, &headers)?;
    let info = services.guilds.get(id).await?;
    let accountability = services.moderation.accountability(id).await?;
    let mut body = json!(info);
    body["accountability"] = json!(accountability);
    Ok(Json(body))
}

#[derive(Deserialize)]
struct Xp {
    /// `war_win`, `war_loss`, `raid_victory` or `raid_defeat`.
    source: String,
    idem: String,
}

async fn xp(
    State(services): State<Arc<Services>>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(body): Json<Xp>,
) -> ApiResult {
    authorize(&services, &headers)?;
    checked_key("idem", &body.idem)?;
    let source = XpSource::parse(&body.source)
        .ok_or_else(|| invalid("source is war_win, war_loss, raid_victory or raid_defeat"))?;
    let note = services.guilds.award_xp(id, source, &body.idem).await?;
    Ok(Json(json!(note)))
}

async fn run_jobs(State(services): State<Arc<Services>>, headers: HeaderMap) -> ApiResult {
    authorize(&services, &headers)?;
    let timeout = services.config.guilds.node_timeout_ms;
    let report = services.guilds.run_jobs(timeout).await?;
    // Also re-reads moderation state, which expires penalties shortened in the store.
    services.moderation.refresh().await?;
    Ok(Json(json!(report)))
}
