//! The `raids` table: one boss per guild event, its window and, once over, its outcome.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RaidRow {
    pub id: i64,
    pub guild_id: i64,
    pub hp: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub remaining: Option<i64>,
    pub result: Option<String>,
    pub started_by: String,
}

const COLUMNS: &str =
    "id, guild_id, hp, start_ms, end_ms, status, outcome, remaining, result, started_by";

pub async fn insert(
    conn: &mut AnyConnection,
    guild: i64,
    hp: i64,
    start_ms: i64,
    end_ms: i64,
    started_by: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO raids (guild_id, hp, start_ms, end_ms, status, started_by, created_ms) \
         VALUES ($1, $2, $3, $4, 'active', $5, $3) RETURNING id",
    )
    .bind(guild)
    .bind(hp)
    .bind(start_ms)
    .bind(end_ms)
    .bind(started_by)
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<RaidRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM raids WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn active(conn: &mut AnyConnection) -> Result<Vec<RaidRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM raids WHERE status = 'active' ORDER BY id"
    ))
    .fetch_all(conn)
    .await
}

pub async fn active_of_guild(
    conn: &mut AnyConnection,
    guild: i64,
) -> Result<Option<RaidRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM raids WHERE guild_id = $1 AND status = 'active'"
    ))
    .bind(guild)
    .fetch_optional(conn)
    .await
}

/// The active raids of these guilds: (guild, raid id, start, end).
pub async fn active_of_guilds(
    conn: &mut AnyConnection,
    guilds: &[i64],
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    if guilds.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT guild_id, id, start_ms, end_ms FROM raids WHERE status = 'active' AND guild_id IN ({})",
        crate::store::placeholders::list(1, guilds.len())
    );
    let mut q = sqlx::query_as::<_, (i64, i64, i64, i64)>(&sql);
    for g in guilds {
        q = q.bind(*g);
    }
    q.fetch_all(conn).await
}

/// Ends an active raid; false when it had already ended (another node got there first). The
/// first statement of the transaction that pays the rewards (see `wars::close`).
pub async fn close(conn: &mut AnyConnection, raid: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE raids SET status = 'ended' WHERE id = $1 AND status = 'active'")
        .bind(raid)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_result(
    conn: &mut AnyConnection,
    raid: i64,
    outcome: &str,
    remaining: i64,
    result: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE raids SET outcome = $2, remaining = $3, result = $4 WHERE id = $1")
        .bind(raid)
        .bind(outcome)
        .bind(remaining)
        .bind(result)
        .execute(conn)
        .await?;
    Ok(())
}

/// Active raids whose window ended at or before `ended_before`.
pub async fn due(conn: &mut AnyConnection, ended_before: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM raids WHERE status = 'active' AND end_ms <= $1")
        .bind(ended_before)
        .fetch_all(conn)
        .await
}
