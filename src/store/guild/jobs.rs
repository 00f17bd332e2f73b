//! Leases for scheduled jobs (one node runs each) and the node registry.

use sqlx::AnyConnection;

/// Takes or renews the lease `name` for `holder` until `expires_ms`; true when held. A lease
/// is taken over only once it has expired, so a live holder keeps it.
pub async fn acquire_lease(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, '', 0) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE leases SET holder = $2, expires_ms = $4 \
         WHERE name = $1 AND (holder = $2 OR expires_ms < $3)",
    )
    .bind(name)
    .bind(holder)
    .bind(now_ms)
    .bind(expires_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease up (on drain) so another node takes over without waiting for expiry.
pub async fn release_lease(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE leases SET expires_ms = 0 WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn heartbeat(
    conn: &mut AnyConnection,
    node: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO nodes (node_id, seen_ms) VALUES ($1, $2) \
         ON CONFLICT (node_id) DO UPDATE SET seen_ms = $2",
    )
    .bind(node)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn forget_node(conn: &mut AnyConnection, node: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM nodes WHERE node_id = $1")
        .bind(node)
        .execute(conn)
        .await?;
    Ok(())
}
