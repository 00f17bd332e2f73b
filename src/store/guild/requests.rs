//! The `guild_requests` table: applications to approval guilds and invites from officers.

use sqlx::AnyConnection;

pub const APPLY: &str = "apply";
pub const INVITE: &str = "invite";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestRow {
    pub guild_id: i64,
    pub user_id: String,
    pub user_name: Option<String>,
    pub note: Option<String>,
    pub by_id: Option<String>,
    pub by_name: Option<String>,
    pub created_ms: i64,
}

const COLUMNS: &str = "guild_id, user_id, user_name, note, by_id, by_name, created_ms";

pub struct NewRequest<'a> {
    pub guild: i64,
    pub user_id: &'a str,
    pub kind: &'static str,
    pub user_name: Option<&'a str>,
    pub note: Option<&'a str>,
    pub by: Option<(&'a str, &'a str)>,
    pub now_ms: i64,
}

/// Records a request; one of a kind per user and guild (a repeat is a unique violation).
pub async fn insert(conn: &mut AnyConnection, r: &NewRequest<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guild_requests (guild_id, user_id, kind, user_name, note, by_id, by_name, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.guild)
    .bind(r.user_id)
    .bind(r.kind)
    .bind(r.user_name)
    .bind(r.note)
    .bind(r.by.map(|b| b.0))
    .bind(r.by.map(|b| b.1))
    .bind(r.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn take(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    kind: &str,
) -> Result<Option<RequestRow>, sqlx::Error> {
    let row: Option<RequestRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guild_requests WHERE guild_id = $1 AND user_id = $2 AND kind = $3"
    ))
    .bind(guild)
    .bind(user)
    .bind(kind)
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_some() {
        sqlx::query(
            "DELETE FROM guild_requests WHERE guild_id = $1 AND user_id = $2 AND kind = $3",
        )
        .bind(guild)
        .bind(user)
        .bind(kind)
        .execute(conn)
        .await?;
    }
    Ok(row)
}

/// Drops every pending request of a user (they joined a guild).
pub async fn clear_user(conn: &mut AnyConnection, user: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guild_requests WHERE user_id = $1")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn of_guild(
    conn: &mut AnyConnection,
    guild: i64,
    kind: &str,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guild_requests WHERE guild_id = $1 AND kind = $2 ORDER BY created_ms"
    ))
    .bind(guild)
    .bind(kind)
    .fetch_all(conn)
    .await
}

pub async fn of_user(
    conn: &mut AnyConnection,
    user: &str,
    kind: &str,
) -> Result<Vec<RequestRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guild_requests WHERE user_id = $1 AND kind = $2 ORDER BY created_ms"
    ))
    .bind(user)
    .bind(kind)
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TransferRow {
    pub guild_id: i64,
    pub from_id: String,
    pub from_name: String,
    pub to_id: String,
    pub to_name: String,
    pub effective_ms: i64,
}

pub async fn transfer(
    conn: &mut AnyConnection,
    guild: i64,
) -> Result<Option<TransferRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT guild_id, from_id, from_name, to_id, to_name, effective_ms FROM guild_transfers WHERE guild_id = $1",
    )
    .bind(guild)
    .fetch_optional(conn)
    .await
}

pub async fn insert_transfer(conn: &mut AnyConnection, t: &TransferRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guild_transfers (guild_id, from_id, from_name, to_id, to_name, effective_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.guild_id)
    .bind(&t.from_id)
    .bind(&t.from_name)
    .bind(&t.to_id)
    .bind(&t.to_name)
    .bind(t.effective_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_transfer(conn: &mut AnyConnection, guild: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM guild_transfers WHERE guild_id = $1")
        .bind(guild)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn due_transfers(
    conn: &mut AnyConnection,
    now_ms: i64,
) -> Result<Vec<TransferRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT guild_id, from_id, from_name, to_id, to_name, effective_ms FROM guild_transfers \
         WHERE effective_ms <= $1 ORDER BY guild_id",
    )
    .bind(now_ms)
    .fetch_all(conn)
    .await
}
