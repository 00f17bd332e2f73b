//! A user's own safety tools: blocks, personal mutes, and who may message them.

use sqlx::AnyConnection;

/// Adds a block; false when it was there already.
pub async fn block(
    conn: &mut AnyConnection,
    user: &str,
    blocked: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO blocks (user_id, blocked_id, created_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, blocked_id) DO NOTHING",
    )
    .bind(user)
    .bind(blocked)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unblock(
    conn: &mut AnyConnection,
    user: &str,
    blocked: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2")
        .bind(user)
        .bind(blocked)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn blocked_by(conn: &mut AnyConnection, user: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT blocked_id FROM blocks WHERE user_id = $1 ORDER BY created_ms, blocked_id",
    )
    .bind(user)
    .fetch_all(conn)
    .await
}

pub async fn count_blocks(conn: &mut AnyConnection, user: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM blocks WHERE user_id = $1")
        .bind(user)
        .fetch_one(conn)
        .await
}

/// What a DM from `from` to `to` depends on, in one round trip: whether `from` blocks `to`,
/// whether `to` blocks `from`, and `to`'s DM setting.
pub async fn dm_gate(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
) -> Result<(bool, bool, Option<String>), sqlx::Error> {
    let (a, b, dm): (i64, i64, Option<String>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM blocks WHERE user_id = $1 AND blocked_id = $2), \
                (SELECT COUNT(*) FROM blocks WHERE user_id = $2 AND blocked_id = $1), \
                (SELECT dm FROM user_settings WHERE user_id = $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?;
    Ok((a > 0, b > 0, dm))
}

pub async fn add_mute(
    conn: &mut AnyConnection,
    user: &str,
    target: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO personal_mutes (user_id, target) VALUES ($1, $2) ON CONFLICT (user_id, target) DO NOTHING",
    )
    .bind(user)
    .bind(target)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_mute(
    conn: &mut AnyConnection,
    user: &str,
    target: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM personal_mutes WHERE user_id = $1 AND target = $2")
        .bind(user)
        .bind(target)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mutes_of(conn: &mut AnyConnection, user: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT target FROM personal_mutes WHERE user_id = $1 ORDER BY target")
        .bind(user)
        .fetch_all(conn)
        .await
}

pub async fn dm_setting(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT dm FROM user_settings WHERE user_id = $1")
        .bind(user)
        .fetch_optional(conn)
        .await
}

pub async fn set_dm(conn: &mut AnyConnection, user: &str, dm: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_settings (user_id, dm) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET dm = $2",
    )
    .bind(user)
    .bind(dm)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every user with a block or a personal mute.
pub async fn hiders(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM blocks UNION SELECT user_id FROM personal_mutes")
        .fetch_all(conn)
        .await
}
