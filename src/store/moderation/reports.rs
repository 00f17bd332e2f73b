//! The report queue.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub reporter_id: String,
    pub reporter_name: String,
    pub user_id: String,
    pub room: Option<String>,
    pub message_id: Option<i64>,
    pub category: String,
    pub text: String,
    pub status: String,
    pub priority: i64,
    pub claimed_by: Option<String>,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub context: String,
    pub created_ms: i64,
    pub resolved_ms: Option<i64>,
}

const COLUMNS: &str = "id, reporter_id, reporter_name, user_id, room, message_id, category, text, \
     status, priority, claimed_by, resolution, note, context, created_ms, resolved_ms";

pub struct NewReport<'a> {
    pub reporter: (&'a str, &'a str),
    pub user: &'a str,
    pub room: Option<&'a str>,
    pub message: Option<i64>,
    pub category: &'a str,
    pub text: &'a str,
    pub priority: i64,
    pub context: &'a str,
    pub now_ms: i64,
}

pub async fn insert(conn: &mut AnyConnection, r: &NewReport<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reports (reporter_id, reporter_name, user_id, room, message_id, category, text, \
         status, priority, context, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10) RETURNING id",
    )
    .bind(r.reporter.0)
    .bind(r.reporter.1)
    .bind(r.user)
    .bind(r.room)
    .bind(r.message)
    .bind(r.category)
    .bind(r.text)
    .bind(r.priority)
    .bind(r.context)
    .bind(r.now_ms)
    .fetch_one(conn)
    .await
}

/// Open reports against a user.
pub async fn open_against(conn: &mut AnyConnection, user: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM reports WHERE user_id = $1 AND status IN ('pending', 'reviewing')",
    )
    .bind(user)
    .fetch_one(conn)
    .await
}

/// Raises every open report against a user to at least `priority`: repeated reports make the
/// earlier ones more urgent too.
pub async fn raise_priority(
    conn: &mut AnyConnection,
    user: &str,
    priority: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE reports SET priority = $2 WHERE user_id = $1 \
         AND status IN ('pending', 'reviewing') AND priority < $2",
    )
    .bind(user)
    .bind(priority)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM reports WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The queue: by status (all open ones when None), most urgent first, then oldest.
pub async fn list(
    conn: &mut AnyConnection,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reports WHERE \
         (($1 IS NULL AND status IN ('pending', 'reviewing')) OR status = $1) \
         ORDER BY priority DESC, id LIMIT $2"
    ))
    .bind(status)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A report's move to a new status.
pub struct StatusChange<'a> {
    pub status: &'a str,
    pub moderator: &'a str,
    pub resolution: Option<&'a str>,
    pub note: Option<&'a str>,
    pub resolved_ms: Option<i64>,
}

/// Moves a report to `change.status`, only from one of `from`; true when it moved (a lost
/// race is false).
pub async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    from: &[&str],
    change: &StatusChange<'_>,
) -> Result<bool, sqlx::Error> {
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 7)).collect();
    let sql = format!(
        "UPDATE reports SET status = $2, claimed_by = $3, resolution = COALESCE($4, resolution), \
         note = COALESCE($5, note), resolved_ms = $6 WHERE id = $1 AND status IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(id)
        .bind(change.status)
        .bind(change.moderator)
        .bind(change.resolution)
        .bind(change.note)
        .bind(change.resolved_ms);
    for f in from {
        query = query.bind(*f);
    }
    let done = query.execute(conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The chat lines around a message: up to `n` before it, it, and up to `n` after, oldest first.
pub async fn context(
    conn: &mut AnyConnection,
    room: &str,
    message: i64,
    n: i64,
) -> Result<Vec<ContextRow>, sqlx::Error> {
    let mut before: Vec<ContextRow> = sqlx::query_as(
        "SELECT id, user_id, user_name, text, ts_ms FROM chat_messages \
         WHERE room = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(room)
    .bind(message)
    .bind(n)
    .fetch_all(&mut *conn)
    .await?;
    before.reverse();
    let after: Vec<ContextRow> = sqlx::query_as(
        "SELECT id, user_id, user_name, text, ts_ms FROM chat_messages \
         WHERE room = $1 AND id >= $2 ORDER BY id LIMIT $3",
    )
    .bind(room)
    .bind(message)
    .bind(n + 1)
    .fetch_all(conn)
    .await?;
    before.extend(after);
    Ok(before)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ContextRow {
    pub id: i64,
    pub user_id: String,
    pub user_name: String,
    pub text: String,
    pub ts_ms: i64,
}

/// Marks a message deleted (history stops showing it); false when no such message in the room.
pub async fn delete_message(
    conn: &mut AnyConnection,
    room: &str,
    id: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE chat_messages SET deleted_ms = $3 WHERE room = $1 AND id = $2 AND deleted_ms IS NULL",
    )
    .bind(room)
    .bind(id)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The author of a message in a room, if it exists.
pub async fn author(
    conn: &mut AnyConnection,
    room: &str,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM chat_messages WHERE room = $1 AND id = $2")
        .bind(room)
        .bind(id)
        .fetch_optional(conn)
        .await
}
