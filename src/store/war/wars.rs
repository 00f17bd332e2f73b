//! Wars, their rosters, registrations and the weekly cycles they belong to, and each guild's
//! standing (hidden Elo, streaks).

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WarRow {
    pub id: i64,
    pub guild_a: i64,
    /// `None` for a PvE war against `benchmark`.
    pub guild_b: Option<i64>,
    pub benchmark: Option<i64>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
    pub score_a: Option<i64>,
    pub score_b: Option<i64>,
    pub winner: Option<i64>,
    pub result: Option<String>,
}

const COLUMNS: &str =
    "id, guild_a, guild_b, benchmark, start_ms, end_ms, status, score_a, score_b, winner, result";

pub async fn insert(
    conn: &mut AnyConnection,
    guild_a: i64,
    guild_b: Option<i64>,
    benchmark: Option<i64>,
    start_ms: i64,
    end_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO wars (guild_a, guild_b, benchmark, start_ms, end_ms, status, created_ms) \
         VALUES ($1, $2, $3, $4, $5, 'active', $4) RETURNING id",
    )
    .bind(guild_a)
    .bind(guild_b)
    .bind(benchmark)
    .bind(start_ms)
    .bind(end_ms)
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<WarRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM wars WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn active(conn: &mut AnyConnection) -> Result<Vec<WarRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM wars WHERE status = 'active' ORDER BY id"
    ))
    .fetch_all(conn)
    .await
}

/// The active war a guild fights in, if any.
pub async fn active_of_guild(
    conn: &mut AnyConnection,
    guild: i64,
) -> Result<Option<WarRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM wars WHERE status = 'active' AND (guild_a = $1 OR guild_b = $1)"
    ))
    .bind(guild)
    .fetch_optional(conn)
    .await
}

/// The active wars of these guilds: (guild, war id, start, end), one row per side.
pub async fn active_of_guilds(
    conn: &mut AnyConnection,
    guilds: &[i64],
) -> Result<Vec<(i64, i64, i64, i64)>, sqlx::Error> {
    if guilds.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::store::placeholders::list(1, guilds.len());
    let sql = format!(
        "SELECT guild_a, id, start_ms, end_ms FROM wars WHERE status = 'active' AND guild_a IN ({list}) \
         UNION ALL \
         SELECT guild_b, id, start_ms, end_ms FROM wars WHERE status = 'active' AND guild_b IN ({list})"
    );
    let mut q = sqlx::query_as::<_, (i64, i64, i64, i64)>(&sql);
    for g in guilds {
        q = q.bind(*g);
    }
    q.fetch_all(conn).await
}

/// Ends an active war; false when it had already ended (another node got there first). The
/// first statement of the transaction that pays the results: it holds the war's row from here,
/// so a batch of runs cannot count in the war once its result is being read.
pub async fn close(conn: &mut AnyConnection, war: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE wars SET status = 'ended' WHERE id = $1 AND status = 'active'")
        .bind(war)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_result(
    conn: &mut AnyConnection,
    war: i64,
    score_a: i64,
    score_b: Option<i64>,
    winner: Option<i64>,
    result: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE wars SET score_a = $2, score_b = $3, winner = $4, result = $5 WHERE id = $1",
    )
    .bind(war)
    .bind(score_a)
    .bind(score_b)
    .bind(winner)
    .bind(result)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a war's end (an admin ending it early).
pub async fn set_end(conn: &mut AnyConnection, war: i64, end_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE wars SET end_ms = $2 WHERE id = $1")
        .bind(war)
        .bind(end_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// Active wars whose window ended at or before `ended_before`.
pub async fn due(conn: &mut AnyConnection, ended_before: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM wars WHERE status = 'active' AND end_ms <= $1")
        .bind(ended_before)
        .fetch_all(conn)
        .await
}

/// Final scores of the latest ended guild-vs-guild wars, for a PvE benchmark.
pub async fn recent_scores(conn: &mut AnyConnection, wars: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT score_a, score_b FROM wars WHERE status = 'ended' AND guild_b IS NOT NULL \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(wars)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .flatten()
        .collect())
}

/// Adds users to a side's roster (those already there stay).
pub async fn add_to_roster(
    conn: &mut AnyConnection,
    war: i64,
    guild: i64,
    users: &[String],
) -> Result<(), sqlx::Error> {
    for chunk in users.chunks(500) {
        let sql = format!(
            "INSERT INTO war_members (war_id, guild_id, user_id) VALUES {} ON CONFLICT DO NOTHING",
            crate::store::placeholders::rows(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for user in chunk {
            q = q.bind(war).bind(guild).bind(user);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// (guild, user) of every roster entry of a war.
pub async fn roster(conn: &mut AnyConnection, war: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT guild_id, user_id FROM war_members WHERE war_id = $1")
        .bind(war)
        .fetch_all(conn)
        .await
}

// ---- the weekly cycles and registrations ----

/// Opens registration for a cycle (nothing if it exists).
pub async fn open_cycle(
    conn: &mut AnyConnection,
    cycle_ms: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO war_cycles (cycle_ms, opened_ms) VALUES ($1, $2) \
         ON CONFLICT (cycle_ms) DO NOTHING",
    )
    .bind(cycle_ms)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The cycle open for registration, if any (the earliest, should there be two).
pub async fn registering_cycle(conn: &mut AnyConnection) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT cycle_ms FROM war_cycles WHERE matching_ms IS NULL AND closed_ms IS NULL \
         ORDER BY cycle_ms LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

/// Closes a cycle's registration and starts its matchmaking at `now_ms`; false if it had.
pub async fn start_matching(
    conn: &mut AnyConnection,
    cycle_ms: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE war_cycles SET matching_ms = $2 WHERE cycle_ms = $1 AND matching_ms IS NULL",
    )
    .bind(cycle_ms)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cycles in matchmaking: (cycle, when matching began).
pub async fn matching_cycles(conn: &mut AnyConnection) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT cycle_ms, matching_ms FROM war_cycles \
         WHERE matching_ms IS NOT NULL AND closed_ms IS NULL ORDER BY cycle_ms",
    )
    .fetch_all(conn)
    .await
}

pub async fn close_cycle(
    conn: &mut AnyConnection,
    cycle_ms: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE war_cycles SET closed_ms = $2 WHERE cycle_ms = $1")
        .bind(cycle_ms)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// Registers a guild for a cycle; false if it already was.
pub async fn register(
    conn: &mut AnyConnection,
    guild: i64,
    cycle_ms: i64,
    now_ms: i64,
    by: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO war_registrations (guild_id, cycle_ms, registered_ms, registered_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, cycle_ms) DO NOTHING",
    )
    .bind(guild)
    .bind(cycle_ms)
    .bind(now_ms)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Guilds of a cycle still waiting for an opponent: (guild, registered at).
pub async fn waiting(
    conn: &mut AnyConnection,
    cycle_ms: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT guild_id, registered_ms FROM war_registrations \
         WHERE cycle_ms = $1 AND war_id IS NULL ORDER BY guild_id",
    )
    .bind(cycle_ms)
    .fetch_all(conn)
    .await
}

/// Records the war a registration led to; false if it had one already.
pub async fn assign(
    conn: &mut AnyConnection,
    guild: i64,
    cycle_ms: i64,
    war: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE war_registrations SET war_id = $3 \
         WHERE guild_id = $1 AND cycle_ms = $2 AND war_id IS NULL",
    )
    .bind(guild)
    .bind(cycle_ms)
    .bind(war)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---- standings ----

#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct StandingRow {
    pub elo: i64,
    pub win_streak: i64,
    pub loss_streak: i64,
}

pub async fn standing(
    conn: &mut AnyConnection,
    guild: i64,
) -> Result<Option<StandingRow>, sqlx::Error> {
    sqlx::query_as("SELECT elo, win_streak, loss_streak FROM war_standings WHERE guild_id = $1")
        .bind(guild)
        .fetch_optional(conn)
        .await
}

pub async fn set_standing(
    conn: &mut AnyConnection,
    guild: i64,
    s: StandingRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO war_standings (guild_id, elo, win_streak, loss_streak) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id) DO UPDATE SET elo = excluded.elo, \
         win_streak = excluded.win_streak, loss_streak = excluded.loss_streak",
    )
    .bind(guild)
    .bind(s.elo)
    .bind(s.win_streak)
    .bind(s.loss_streak)
    .execute(conn)
    .await?;
    Ok(())
}
