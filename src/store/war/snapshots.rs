//! `live_snapshots`: the latest saved state of each live contest and the run-log position it
//! reaches. Nodes holding the same runs save the same state, so a save keeps whichever of two
//! snapshots reaches further in the log.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SnapshotRow {
    pub contest: String,
    pub ep: String,
    pub off: i64,
    pub runs: i64,
    pub state: Vec<u8>,
    pub saved_ms: i64,
}

/// Saves a snapshot unless the stored one is of the same log epoch and further along.
pub async fn save(conn: &mut AnyConnection, s: &SnapshotRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO live_snapshots (contest, ep, off, runs, state, saved_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (contest) DO UPDATE SET ep = excluded.ep, off = excluded.off, \
         runs = excluded.runs, state = excluded.state, saved_ms = excluded.saved_ms \
         WHERE live_snapshots.ep <> excluded.ep OR live_snapshots.off <= excluded.off",
    )
    .bind(&s.contest)
    .bind(&s.ep)
    .bind(s.off)
    .bind(s.runs)
    .bind(&s.state)
    .bind(s.saved_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn load(
    conn: &mut AnyConnection,
    contest: &str,
) -> Result<Option<SnapshotRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT contest, ep, off, runs, state, saved_ms FROM live_snapshots WHERE contest = $1",
    )
    .bind(contest)
    .fetch_optional(conn)
    .await
}

pub async fn delete(conn: &mut AnyConnection, contest: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM live_snapshots WHERE contest = $1")
        .bind(contest)
        .execute(conn)
        .await?;
    Ok(())
}
