//! The audit log: every moderation action, who did it to whom, where, why and when.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub target: Option<String>,
    pub room: Option<String>,
    pub reason: Option<String>,
    pub details: Option<String>,
    pub ts_ms: i64,
}

pub struct NewAudit<'a> {
    pub actor: (&'a str, &'a str),
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub room: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub details: Option<&'a str>,
    pub now_ms: i64,
}

pub async fn record(conn: &mut AnyConnection, a: &NewAudit<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_name, action, target, room, reason, details, ts_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.actor.0)
    .bind(a.actor.1)
    .bind(a.action)
    .bind(a.target)
    .bind(a.room)
    .bind(a.reason)
    .bind(a.details)
    .bind(a.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Default)]
pub struct AuditQuery<'a> {
    pub target: Option<&'a str>,
    pub room: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Newest first; absent filters match everything.
pub async fn query(
    conn: &mut AnyConnection,
    q: &AuditQuery<'_>,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, actor_id, actor_name, action, target, room, reason, details, ts_ms FROM audit_log \
         WHERE ($1 IS NULL OR target = $1) AND ($2 IS NULL OR room = $2) \
         AND ($3 IS NULL OR actor_id = $3) AND id < $4 ORDER BY id DESC LIMIT $5",
    )
    .bind(q.target)
    .bind(q.room)
    .bind(q.actor)
    .bind(q.before.unwrap_or(i64::MAX))
    .bind(q.limit)
    .fetch_all(conn)
    .await
}
