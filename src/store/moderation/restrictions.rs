//! Mutes, bans and room modes: what the live enforcement caches in memory on every node.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MuteRow {
    pub scope: String,
    pub user_id: String,
    pub until_ms: Option<i64>,
    pub shadow: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BanRow {
    pub scope: String,
    pub user_id: String,
    pub until_ms: Option<i64>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ModeRow {
    pub room: String,
    pub slow_ms: i64,
    pub members_only: i64,
    pub panic: i64,
}

pub struct NewRestriction<'a> {
    pub scope: &'a str,
    pub user: &'a str,
    pub until_ms: Option<i64>,
    pub by: &'a str,
    pub reason: Option<&'a str>,
    pub now_ms: i64,
}

/// Sets (or replaces) a mute.
pub async fn put_mute(
    conn: &mut AnyConnection,
    m: &NewRestriction<'_>,
    shadow: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mod_mutes (scope, user_id, until_ms, shadow, by_id, reason, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, user_id) DO UPDATE SET \
         until_ms = $3, shadow = $4, by_id = $5, reason = $6, created_ms = $7",
    )
    .bind(m.scope)
    .bind(m.user)
    .bind(m.until_ms)
    .bind(i64::from(shadow))
    .bind(m.by)
    .bind(m.reason)
    .bind(m.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn put_ban(conn: &mut AnyConnection, b: &NewRestriction<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mod_bans (scope, user_id, until_ms, by_id, reason, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, user_id) DO UPDATE SET \
         until_ms = $3, by_id = $4, reason = $5, created_ms = $6",
    )
    .bind(b.scope)
    .bind(b.user)
    .bind(b.until_ms)
    .bind(b.by)
    .bind(b.reason)
    .bind(b.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a mute (`table` "mod_mutes") or a ban ("mod_bans"); true when there was one.
pub async fn lift(
    conn: &mut AnyConnection,
    table: Table,
    scope: &str,
    user: &str,
) -> Result<bool, sqlx::Error> {
    let sql = match table {
        Table::Mutes => "DELETE FROM mod_mutes WHERE scope = $1 AND user_id = $2",
        Table::Bans => "DELETE FROM mod_bans WHERE scope = $1 AND user_id = $2",
    };
    let done = sqlx::query(sql)
        .bind(scope)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone, Copy)]
pub enum Table {
    Mutes,
    Bans,
}

pub async fn put_mode(
    conn: &mut AnyConnection,
    m: &ModeRow,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO room_modes (room, slow_ms, members_only, panic, updated_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room) DO UPDATE SET \
         slow_ms = $2, members_only = $3, panic = $4, updated_ms = $5",
    )
    .bind(&m.room)
    .bind(m.slow_ms)
    .bind(m.members_only)
    .bind(m.panic)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mode(conn: &mut AnyConnection, room: &str) -> Result<Option<ModeRow>, sqlx::Error> {
    sqlx::query_as("SELECT room, slow_ms, members_only, panic FROM room_modes WHERE room = $1")
        .bind(room)
        .fetch_optional(conn)
        .await
}

/// Everything in force at `now_ms`, for a node's cache at start.
pub async fn active(
    conn: &mut AnyConnection,
    now_ms: i64,
) -> Result<(Vec<MuteRow>, Vec<BanRow>, Vec<ModeRow>), sqlx::Error> {
    let mutes = sqlx::query_as(
        "SELECT scope, user_id, until_ms, shadow FROM mod_mutes \
         WHERE until_ms IS NULL OR until_ms > $1",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    let bans = sqlx::query_as(
        "SELECT scope, user_id, until_ms FROM mod_bans WHERE until_ms IS NULL OR until_ms > $1",
    )
    .bind(now_ms)
    .fetch_all(&mut *conn)
    .await?;
    let modes = sqlx::query_as(
        "SELECT room, slow_ms, members_only, panic FROM room_modes \
         WHERE slow_ms > 0 OR members_only <> 0 OR panic <> 0",
    )
    .fetch_all(conn)
    .await?;
    Ok((mutes, bans, modes))
}
