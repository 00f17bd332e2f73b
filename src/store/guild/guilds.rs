//! The `guilds` table: profiles, level and XP, war record, member count.

use sqlx::AnyConnection;

/// A guild as stored. Counters are `i64` because both backends store BIGINT.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GuildRow {
    pub id: i64,
    pub name: String,
    pub tag: String,
    pub description: String,
    pub message: String,
    pub language: Option<String>,
    pub region: Option<String>,
    pub activity: String,
    pub war_focus: String,
    pub join_policy: String,
    pub profanity: String,
    pub auto_kick_days: i64,
    pub xp: i64,
    pub level: i64,
    pub wins: i64,
    pub losses: i64,
    pub member_count: i64,
    pub leader_id: String,
    pub leader_name: String,
    pub created_ms: i64,
    pub active_ms: i64,
}

const COLUMNS: &str =
    "id, name, tag, description, message, language, region, activity, war_focus, \
     join_policy, profanity, auto_kick_days, xp, level, wins, losses, member_count, leader_id, \
     leader_name, created_ms, active_ms";

/// What a new guild starts with.
pub struct NewGuild<'a> {
    pub name: &'a str,
    pub name_key: &'a str,
    pub tag: &'a str,
    pub description: &'a str,
    pub language: Option<&'a str>,
    pub region: Option<&'a str>,
    pub war_focus: &'a str,
    pub join_policy: &'a str,
    pub profanity: &'a str,
    pub leader_id: &'a str,
    pub leader_name: &'a str,
    pub now_ms: i64,
}

/// Inserts a guild with its leader counted; a taken name or tag is a unique violation.
pub async fn insert(conn: &mut AnyConnection, g: &NewGuild<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO guilds (name, name_key, tag, description, language, region, war_focus, \
         join_policy, profanity, leader_id, leader_name, created_ms, active_ms, member_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 1) RETURNING id",
    )
    .bind(g.name)
    .bind(g.name_key)
    .bind(g.tag)
    .bind(g.description)
    .bind(g.language)
    .bind(g.region)
    .bind(g.war_focus)
    .bind(g.join_policy)
    .bind(g.profanity)
    .bind(g.leader_id)
    .bind(g.leader_name)
    .bind(g.now_ms)
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<GuildRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM guilds WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), sqlx::Error> {
    for table in ["guild_requests", "guild_transfers", "guild_members"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE guild_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM guilds WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The editable text fields and settings, all at once (the caller merged the change).
pub struct ProfileFields<'a> {
    pub description: &'a str,
    pub message: &'a str,
    pub language: Option<&'a str>,
    pub region: Option<&'a str>,
    pub war_focus: &'a str,
    pub join_policy: &'a str,
    pub profanity: &'a str,
    pub auto_kick_days: i64,
}

pub async fn update_profile(
    conn: &mut AnyConnection,
    id: i64,
    f: &ProfileFields<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guilds SET description = $2, message = $3, language = $4, region = $5, \
         war_focus = $6, join_policy = $7, profanity = $8, auto_kick_days = $9 WHERE id = $1",
    )
    .bind(id)
    .bind(f.description)
    .bind(f.message)
    .bind(f.language)
    .bind(f.region)
    .bind(f.war_focus)
    .bind(f.join_policy)
    .bind(f.profanity)
    .bind(f.auto_kick_days)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds to the member count (negative to remove) and records activity.
pub async fn add_members(
    conn: &mut AnyConnection,
    id: i64,
    delta: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guilds SET member_count = member_count + $2, active_ms = $3 WHERE id = $1")
        .bind(id)
        .bind(delta)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_leader(
    conn: &mut AnyConnection,
    id: i64,
    leader_id: &str,
    leader_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guilds SET leader_id = $2, leader_name = $3 WHERE id = $1")
        .bind(id)
        .bind(leader_id)
        .bind(leader_name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_xp(
    conn: &mut AnyConnection,
    id: i64,
    xp: i64,
    level: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guilds SET xp = $2, level = $3, active_ms = $4 WHERE id = $1")
        .bind(id)
        .bind(xp)
        .bind(level)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_activity(
    conn: &mut AnyConnection,
    id: i64,
    activity: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guilds SET activity = $2 WHERE id = $1")
        .bind(id)
        .bind(activity)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn record_war(conn: &mut AnyConnection, id: i64, won: bool) -> Result<(), sqlx::Error> {
    let sql = if won {
        "UPDATE guilds SET wins = wins + 1 WHERE id = $1"
    } else {
        "UPDATE guilds SET losses = losses + 1 WHERE id = $1"
    };
    sqlx::query(sql).bind(id).execute(conn).await?;
    Ok(())
}

pub async fn all_ids(conn: &mut AnyConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM guilds ORDER BY id")
        .fetch_all(conn)
        .await
}

/// Browser filters, already validated.
#[derive(Default)]
pub struct Search<'a> {
    /// Matches name or tag, case-insensitively, anywhere.
    pub text: Option<&'a str>,
    pub language: Option<&'a str>,
    pub region: Option<&'a str>,
    pub activity: Option<&'a str>,
    pub war_focus: Option<&'a str>,
    /// Only guilds below this capacity (their capacity is a function of level; the caller
    /// passes the level at which capacity grows and both capacities).
    pub open_slots: Option<OpenSlots>,
    pub sort: SearchSort,
    pub limit: i64,
    pub offset: i64,
}

pub struct OpenSlots {
    pub base: i64,
    pub grown_at_level: i64,
    pub grown: i64,
}

#[derive(Default, Clone, Copy)]
pub enum SearchSort {
    #[default]
    Members,
    Level,
    WinRate,
    Activity,
}

pub async fn search(
    conn: &mut AnyConnection,
    s: &Search<'_>,
) -> Result<Vec<GuildRow>, sqlx::Error> {
    // Filters that are absent compare against NULL and match everything, so one statement
    // with fixed placeholders serves every combination.
    let order = match s.sort {
        SearchSort::Members => "member_count DESC, level DESC, id",
        SearchSort::Level => "level DESC, xp DESC, id",
        SearchSort::WinRate => {
            "CASE WHEN wins + losses = 0 THEN 0.0 ELSE (wins * 1.0) / (wins + losses) END DESC, \
             wins DESC, id"
        }
        SearchSort::Activity => "active_ms DESC, id",
    };
    let pattern = s
        .text
        .map(|t| format!("%{}%", escape_like(&t.to_lowercase())));
    let (base, at, grown) = match &s.open_slots {
        Some(o) => (Some(o.base), o.grown_at_level, o.grown),
        None => (None, 0, 0),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM guilds WHERE \
         ($1 IS NULL OR name_key LIKE $1 ESCAPE '\\' OR lower(tag) LIKE $1 ESCAPE '\\') \
         AND ($2 IS NULL OR language = $2) AND ($3 IS NULL OR region = $3) \
         AND ($4 IS NULL OR activity = $4) AND ($5 IS NULL OR war_focus = $5) \
         AND ($6 IS NULL OR member_count < CASE WHEN level >= $7 THEN $8 ELSE $6 END) \
         ORDER BY {order} LIMIT $9 OFFSET $10"
    );
    sqlx::query_as(&sql)
        .bind(pattern)
        .bind(s.language)
        .bind(s.region)
        .bind(s.activity)
        .bind(s.war_focus)
        .bind(base)
        .bind(at)
        .bind(grown)
        .bind(s.limit)
        .bind(s.offset)
        .fetch_all(conn)
        .await
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
