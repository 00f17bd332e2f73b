//! The `runs` table: one row per run id, the first report of it. Inserting a batch tells new
//! runs from retries in one statement (`ON CONFLICT DO NOTHING RETURNING`).

use sqlx::AnyConnection;

use crate::store::placeholders;

/// A run as stored. `accepted` is 1 when it counts, 0 for a refused outlier.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRow {
    pub run_id: String,
    pub user_id: String,
    pub guild_id: Option<i64>,
    pub dna: i64,
    pub duration_ms: i64,
    pub finished_ms: i64,
    pub accepted_ms: i64,
    pub accepted: i64,
    pub flag: Option<String>,
    pub war_id: Option<i64>,
    pub raid_id: Option<i64>,
}

const COLUMNS: &str = "run_id, user_id, guild_id, dna, duration_ms, finished_ms, accepted_ms, \
                       accepted, flag, war_id, raid_id";

/// Rows per INSERT: 11 binds each stays under both backends' bind limits.
const ROWS_PER_STATEMENT: usize = 500;

/// Inserts the runs whose id is not stored yet; returns the ids that were new.
pub async fn insert_new(
    conn: &mut AnyConnection,
    rows: &[RunRow],
) -> Result<Vec<String>, sqlx::Error> {
    let mut new = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO runs ({COLUMNS}) VALUES {} ON CONFLICT (run_id) DO NOTHING \
             RETURNING run_id",
            placeholders::rows(chunk.len(), 11)
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for r in chunk {
            q = q
                .bind(&r.run_id)
                .bind(&r.user_id)
                .bind(r.guild_id)
                .bind(r.dna)
                .bind(r.duration_ms)
                .bind(r.finished_ms)
                .bind(r.accepted_ms)
                .bind(r.accepted)
                .bind(&r.flag)
                .bind(r.war_id)
                .bind(r.raid_id);
        }
        new.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(new)
}

/// The stored rows of these run ids.
pub async fn get_many(conn: &mut AnyConnection, ids: &[&str]) -> Result<Vec<RunRow>, sqlx::Error> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE run_id IN ({})",
            placeholders::list(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, RunRow>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// Which contest a run counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contest {
    War(i64),
    Raid(i64),
}

impl Contest {
    fn column(self) -> (&'static str, i64) {
        match self {
            Contest::War(id) => ("war_id", id),
            Contest::Raid(id) => ("raid_id", id),
        }
    }
}

/// Every counted run of a contest, accepted before `before_ms`.
pub async fn of_contest(
    conn: &mut AnyConnection,
    contest: Contest,
    before_ms: i64,
) -> Result<Vec<RunRow>, sqlx::Error> {
    let (column, id) = contest.column();
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM runs WHERE {column} = $1 AND accepted = 1 AND accepted_ms < $2"
    ))
    .bind(id)
    .bind(before_ms)
    .fetch_all(conn)
    .await
}

/// How many counted runs a contest has, accepted before `before_ms`.
pub async fn count(
    conn: &mut AnyConnection,
    contest: Contest,
    before_ms: i64,
) -> Result<i64, sqlx::Error> {
    let (column, id) = contest.column();
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM runs WHERE {column} = $1 AND accepted = 1 AND accepted_ms < $2"
    ))
    .bind(id)
    .bind(before_ms)
    .fetch_one(conn)
    .await
}

/// Runs whose DNA is not in the runner's wallet yet, oldest first.
pub async fn uncredited(conn: &mut AnyConnection, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM runs WHERE credited = 0 AND accepted = 1 ORDER BY accepted_ms \
         LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Takes these runs out of the contest they were assigned to (`column` is `war_id` or
/// `raid_id`): it ended before they committed.
pub async fn unassign(
    conn: &mut AnyConnection,
    column: &str,
    ids: &[String],
) -> Result<(), sqlx::Error> {
    let column = if column == "war_id" {
        "war_id"
    } else {
        "raid_id"
    };
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE runs SET {column} = NULL WHERE run_id IN ({})",
            placeholders::list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Of these contest ids in `table` (`wars` or `raids`), those still active. On PostgreSQL
/// with `share_lock`, the rows are share-locked: a contest ending concurrently waits, or has
/// committed its end and reads as ended.
pub async fn still_active(
    conn: &mut AnyConnection,
    table: &str,
    ids: &[i64],
    share_lock: bool,
) -> Result<Vec<i64>, sqlx::Error> {
    let table = if table == "wars" { "wars" } else { "raids" };
    let sql = format!(
        "SELECT id FROM {table} WHERE status = 'active' AND id IN ({}){}",
        placeholders::list(1, ids.len()),
        if share_lock { " FOR SHARE" } else { "" }
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(conn).await
}

/// Marks these runs credited, if they were not yet; the ids this call marked. The first
/// statement of the transaction that credits them.
pub async fn claim_uncredited(
    conn: &mut AnyConnection,
    ids: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let mut claimed = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE runs SET credited = 1 WHERE credited = 0 AND run_id IN ({}) RETURNING run_id",
            placeholders::list(1, chunk.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        claimed.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(claimed)
}

pub async fn mark_credited(conn: &mut AnyConnection, run_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE runs SET credited = 1 WHERE run_id = $1")
        .bind(run_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Flagged runs, newest first, for moderators.
pub async fn flagged(conn: &mut AnyConnection, limit: i64) -> Result<Vec<RunRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM runs WHERE flag IS NOT NULL ORDER BY accepted_ms DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}
