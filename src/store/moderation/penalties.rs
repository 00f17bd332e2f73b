//! The penalty ladder's record: one row per penalty, with its appeal.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PenaltyRow {
    pub id: i64,
    pub user_id: String,
    pub step: i64,
    pub kind: String,
    pub category: String,
    pub starts_ms: i64,
    pub ends_ms: Option<i64>,
    pub by_id: String,
    pub by_name: String,
    pub reason: Option<String>,
    pub report_id: Option<i64>,
    pub appeal: Option<String>,
}

const COLUMNS: &str = "id, user_id, step, kind, category, starts_ms, ends_ms, by_id, by_name, \
     reason, report_id, appeal";

pub struct NewPenalty<'a> {
    pub user: &'a str,
    pub step: i64,
    pub kind: &'a str,
    pub category: &'a str,
    pub starts_ms: i64,
    pub ends_ms: Option<i64>,
    pub by: (&'a str, &'a str),
    pub reason: Option<&'a str>,
    pub report: Option<i64>,
    pub guild: Option<i64>,
}

pub async fn insert(conn: &mut AnyConnection, p: &NewPenalty<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO penalties (user_id, step, kind, category, starts_ms, ends_ms, by_id, by_name, \
         reason, report_id, guild_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(p.user)
    .bind(p.step)
    .bind(p.kind)
    .bind(p.category)
    .bind(p.starts_ms)
    .bind(p.ends_ms)
    .bind(p.by.0)
    .bind(p.by.1)
    .bind(p.reason)
    .bind(p.report)
    .bind(p.guild)
    .fetch_one(conn)
    .await
}

/// A user's penalties, newest first.
pub async fn of_user(conn: &mut AnyConnection, user: &str) -> Result<Vec<PenaltyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM penalties WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(user)
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<PenaltyRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM penalties WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Notes the penalised user's appeal (the first one stands).
pub async fn appeal(
    conn: &mut AnyConnection,
    id: i64,
    user: &str,
    note: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE penalties SET appeal = $3 WHERE id = $1 AND user_id = $2 AND appeal IS NULL",
    )
    .bind(id)
    .bind(user)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Penalties that stop chat and are in force at `now_ms`, for a node's cache.
pub async fn in_force(
    conn: &mut AnyConnection,
    now_ms: i64,
) -> Result<Vec<PenaltyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM penalties WHERE kind <> 'warning' AND (ends_ms IS NULL OR ends_ms > $1)"
    ))
    .bind(now_ms)
    .fetch_all(conn)
    .await
}

/// Distinct members of a guild banned (any penalty beyond a warning) since `since_ms`.
pub async fn banned_members_of_guild(
    conn: &mut AnyConnection,
    guild: i64,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT user_id) FROM penalties \
         WHERE guild_id = $1 AND kind <> 'warning' AND starts_ms >= $2",
    )
    .bind(guild)
    .bind(since_ms)
    .fetch_one(conn)
    .await
}
