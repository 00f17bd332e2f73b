//! The stream store: streams and their settings, every feed event (for nodes that start
//! watching a stream late and for replays), cheer totals, the crowd figures the nodes report,
//! broadcasts, and the purge of replays nobody keeps. Same SQL for SQLite and PostgreSQL, on
//! the guild store's pool.

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StreamRow {
    pub id: i64,
    pub owner: String,
    pub guild_id: Option<i64>,
    pub game: String,
    pub title: String,
    pub visibility: String,
    pub delay_ms: i64,
    pub guild_live: i64,
    pub run_id: Option<String>,
    pub broadcast_id: Option<i64>,
    pub board: Option<i64>,
    pub status: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub viewers: i64,
    pub peak: i64,
    pub keep_until: Option<i64>,
    pub purged: i64,
}

const COLUMNS: &str = "id, owner, guild_id, game, title, visibility, delay_ms, guild_live, \
     run_id, broadcast_id, board, status, started_ms, ended_ms, viewers, peak, keep_until, purged";

/// A stream as opened.
pub struct NewStream<'a> {
    pub owner: &'a str,
    pub guild_id: Option<i64>,
    pub game: &'a str,
    pub title: &'a str,
    pub visibility: &'a str,
    pub delay_ms: i64,
    pub guild_live: bool,
    pub run_id: Option<&'a str>,
    pub broadcast_id: Option<i64>,
    pub board: Option<i64>,
    pub started_ms: i64,
}

pub async fn insert(conn: &mut AnyConnection, s: &NewStream<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO streams (owner, guild_id, game, title, visibility, delay_ms, guild_live, \
         run_id, broadcast_id, board, status, started_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'live', $11) RETURNING id",
    )
    .bind(s.owner)
    .bind(s.guild_id)
    .bind(s.game)
    .bind(s.title)
    .bind(s.visibility)
    .bind(s.delay_ms)
    .bind(i64::from(s.guild_live))
    .bind(s.run_id)
    .bind(s.broadcast_id)
    .bind(s.board)
    .bind(s.started_ms)
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<StreamRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM streams WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Ends a live stream; false when it was not live.
pub async fn end(
    conn: &mut AnyConnection,
    id: i64,
    now_ms: i64,
    keep_until: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE streams SET status = 'ended', ended_ms = $2, keep_until = $3, viewers = 0 \
         WHERE id = $1 AND status = 'live'",
    )
    .bind(id)
    .bind(now_ms)
    .bind(keep_until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One feed event as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub ep: String,
    pub off: i64,
    pub ts_ms: i64,
    pub kind: String,
    pub d: String,
}

pub async fn insert_event(
    conn: &mut AnyConnection,
    stream: i64,
    e: &EventRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stream_events (stream_id, ep, off, ts_ms, kind, d) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(stream)
    .bind(&e.ep)
    .bind(e.off)
    .bind(e.ts_ms)
    .bind(&e.kind)
    .bind(&e.d)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every event of a stream, in the order it happened.
pub async fn events(conn: &mut AnyConnection, stream: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ep, off, ts_ms, kind, d FROM stream_events WHERE stream_id = $1 \
         ORDER BY ts_ms, off",
    )
    .bind(stream)
    .fetch_all(conn)
    .await
}

/// Adds a node's cheers since its last tick to the totals.
pub async fn add_cheers(
    conn: &mut AnyConnection,
    stream: i64,
    emoji: &str,
    n: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stream_cheers (stream_id, emoji, n) VALUES ($1, $2, $3) \
         ON CONFLICT (stream_id, emoji) DO UPDATE SET n = stream_cheers.n + excluded.n",
    )
    .bind(stream)
    .bind(emoji)
    .bind(n)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn cheers(
    conn: &mut AnyConnection,
    stream: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT emoji, n FROM stream_cheers WHERE stream_id = $1 ORDER BY emoji")
        .bind(stream)
        .fetch_all(conn)
        .await
}

/// Records the stream's spectators across the cluster; its peak so far.
pub async fn record_crowd(
    conn: &mut AnyConnection,
    stream: i64,
    viewers: i64,
) -> Result<i64, sqlx::Error> {
    let peak: Option<i64> = sqlx::query_scalar(
        "UPDATE streams SET viewers = $2, peak = CASE WHEN peak < $2 THEN $2 ELSE peak END \
         WHERE id = $1 AND status = 'live' RETURNING peak",
    )
    .bind(stream)
    .bind(viewers)
    .fetch_optional(&mut *conn)
    .await?;
    match peak {
        Some(peak) => Ok(peak),
        // Ended: the figures stay as they were when it ended.
        None => Ok(sqlx::query_scalar("SELECT peak FROM streams WHERE id = $1")
            .bind(stream)
            .fetch_optional(conn)
            .await?
            .unwrap_or(0)),
    }
}

/// What the browse list shows.
pub struct ListFilter<'a> {
    /// Newest first rather than most watched first.
    pub recent: bool,
    pub guild: Option<i64>,
    pub game: Option<&'a str>,
    pub broadcast: Option<i64>,
    /// The viewer's guild: its guild-only streams are listed to them.
    pub viewer_guild: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

pub async fn list_live(
    conn: &mut AnyConnection,
    f: &ListFilter<'_>,
) -> Result<Vec<StreamRow>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM streams WHERE status = 'live'");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    match f.viewer_guild {
        Some(_) => {
            let p = next();
            sql.push_str(&format!(
                " AND (visibility = 'public' OR (visibility = 'guild' AND guild_id = ${p}))"
            ));
        }
        None => sql.push_str(" AND visibility = 'public'"),
    }
    if f.guild.is_some() {
        sql.push_str(&format!(" AND guild_id = ${}", next()));
    }
    if f.game.is_some() {
        sql.push_str(&format!(" AND game = ${}", next()));
    }
    if f.broadcast.is_some() {
        sql.push_str(&format!(" AND broadcast_id = ${}", next()));
    }
    sql.push_str(if f.recent {
        " ORDER BY started_ms DESC, id DESC"
    } else {
        " ORDER BY viewers DESC, started_ms DESC, id DESC"
    });
    let (limit, offset) = (next(), next());
    sql.push_str(&format!(" LIMIT ${limit} OFFSET ${offset}"));
    let mut query = sqlx::query_as(&sql);
    if let Some(g) = f.viewer_guild {
        query = query.bind(g);
    }
    if let Some(g) = f.guild {
        query = query.bind(g);
    }
    if let Some(game) = f.game {
        query = query.bind(game);
    }
    if let Some(b) = f.broadcast {
        query = query.bind(b);
    }
    query.bind(f.limit).bind(f.offset).fetch_all(conn).await
}

/// A broadcast's streams, by board.
pub async fn boards(
    conn: &mut AnyConnection,
    broadcast: i64,
) -> Result<Vec<StreamRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM streams WHERE broadcast_id = $1 ORDER BY board, id"
    ))
    .bind(broadcast)
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BroadcastRow {
    pub id: i64,
    pub owner: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    pub peak: i64,
}

const BROADCAST_COLUMNS: &str = "id, owner, title, description, status, started_ms, ended_ms, peak";

pub async fn insert_broadcast(
    conn: &mut AnyConnection,
    owner: &str,
    title: &str,
    description: &str,
    now_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO broadcasts (owner, title, description, status, started_ms) \
         VALUES ($1, $2, $3, 'live', $4) RETURNING id",
    )
    .bind(owner)
    .bind(title)
    .bind(description)
    .bind(now_ms)
    .fetch_one(conn)
    .await
}

pub async fn broadcast(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<BroadcastRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn end_broadcast(
    conn: &mut AnyConnection,
    id: i64,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE broadcasts SET status = 'ended', ended_ms = $2 WHERE id = $1 AND status = 'live'",
    )
    .bind(id)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Raises a broadcast's peak to the spectators its live boards have now; that figure.
pub async fn record_broadcast_peak(
    conn: &mut AnyConnection,
    broadcast: i64,
) -> Result<i64, sqlx::Error> {
    let viewers = broadcast_viewers(&mut *conn, broadcast).await?;
    sqlx::query(
        "UPDATE broadcasts SET peak = CASE WHEN peak < $2 THEN $2 ELSE peak END WHERE id = $1",
    )
    .bind(broadcast)
    .bind(viewers)
    .execute(conn)
    .await?;
    Ok(viewers)
}

/// The spectators of a broadcast's live boards now.
pub async fn broadcast_viewers(
    conn: &mut AnyConnection,
    broadcast: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(viewers), 0) AS BIGINT) FROM streams WHERE broadcast_id = $1 AND status = 'live'",
    )
    .bind(broadcast)
    .fetch_one(conn)
    .await
}

/// Ended streams whose events nobody keeps, ended before `before`: (id, run id, ended).
pub async fn unkept(
    conn: &mut AnyConnection,
    before: i64,
) -> Result<Vec<(i64, Option<String>, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, run_id, ended_ms FROM streams WHERE status = 'ended' AND purged = 0 \
         AND keep_until IS NULL AND ended_ms < $1 ORDER BY id LIMIT 500",
    )
    .bind(before)
    .fetch_all(conn)
    .await
}

/// Live streams whose last event (or start, without one) is older than `before`.
pub async fn idle_live(conn: &mut AnyConnection, before: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT s.id FROM streams s WHERE s.status = 'live' AND COALESCE( \
           (SELECT MAX(e.ts_ms) FROM stream_events e WHERE e.stream_id = s.id), s.started_ms) < $1 \
         ORDER BY s.id LIMIT 500",
    )
    .bind(before)
    .fetch_all(conn)
    .await
}

/// Kept replays whose time is up.
pub async fn expired(conn: &mut AnyConnection, now_ms: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM streams WHERE purged = 0 AND keep_until IS NOT NULL \
         AND keep_until < $1 ORDER BY id LIMIT 500",
    )
    .bind(now_ms)
    .fetch_all(conn)
    .await
}

/// Whether a run is among the `top` best (by DNA) counted runs of its runner's guild in the war
/// it counted in.
pub async fn is_top_war_run(
    conn: &mut AnyConnection,
    run_id: &str,
    top: i64,
) -> Result<bool, sqlx::Error> {
    let best: Vec<String> = sqlx::query_scalar(
        "SELECT r.run_id FROM runs r JOIN runs mine \
           ON mine.run_id = $1 AND r.war_id = mine.war_id AND r.guild_id = mine.guild_id \
         WHERE r.accepted = 1 AND mine.war_id IS NOT NULL \
         ORDER BY r.dna DESC, r.run_id LIMIT $2",
    )
    .bind(run_id)
    .bind(top)
    .fetch_all(conn)
    .await?;
    Ok(best.iter().any(|r| r == run_id))
}

pub async fn keep(conn: &mut AnyConnection, id: i64, until: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE streams SET keep_until = $2 WHERE id = $1")
        .bind(id)
        .bind(until)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a stream's events: it has no replay any more.
pub async fn purge(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM stream_events WHERE stream_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE streams SET purged = 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
