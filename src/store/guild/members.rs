//! The `guild_members` table: one row per member, keyed by user (a user is in one guild).

use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub guild_id: i64,
    pub user_name: String,
    pub role: String,
    pub joined_ms: i64,
    pub points: i64,
    pub active_ms: i64,
    pub login_day: i64,
    pub dna_collected: i64,
    pub donated_day: i64,
    pub donated_amount: i64,
    pub protected: i64,
    pub warned_ms: Option<i64>,
    pub presence: String,
}

const COLUMNS: &str = "user_id, guild_id, user_name, role, joined_ms, points, active_ms, \
     login_day, dna_collected, donated_day, donated_amount, protected, warned_ms, presence";

/// The guild membership of a user, if any.
pub async fn of_user(
    conn: &mut AnyConnection,
    user: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guild_members WHERE user_id = $1"
    ))
    .bind(user)
    .fetch_optional(conn)
    .await
}

/// The guild of each of these users who is in one: (user, guild).
pub async fn guilds_of(
    conn: &mut AnyConnection,
    users: &[&str],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut found = Vec::with_capacity(users.len());
    for chunk in users.chunks(1_000) {
        let sql = format!(
            "SELECT user_id, guild_id FROM guild_members WHERE user_id IN ({})",
            crate::store::placeholders::list(1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for user in chunk {
            q = q.bind(*user);
        }
        found.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// User ids of a guild's members.
pub async fn ids(conn: &mut AnyConnection, guild: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM guild_members WHERE guild_id = $1")
        .bind(guild)
        .fetch_all(conn)
        .await
}

/// The membership of a user in one guild.
pub async fn get(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    Ok(of_user(conn, user).await?.filter(|m| m.guild_id == guild))
}

/// Members by rank then join time; `ranks` orders role names (the preset's).
pub async fn list(conn: &mut AnyConnection, guild: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guild_members WHERE guild_id = $1 ORDER BY joined_ms, user_id"
    ))
    .bind(guild)
    .fetch_all(conn)
    .await
}

pub async fn count_role(
    conn: &mut AnyConnection,
    guild: i64,
    role: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM guild_members WHERE guild_id = $1 AND role = $2")
        .bind(guild)
        .bind(role)
        .fetch_one(conn)
        .await
}

/// Adds a member; a user already in a guild is a unique violation.
pub async fn insert(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    name: &str,
    role: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guild_members (user_id, guild_id, user_name, role, joined_ms, active_ms) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(user)
    .bind(guild)
    .bind(name)
    .bind(role)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove(conn: &mut AnyConnection, guild: i64, user: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM guild_members WHERE guild_id = $1 AND user_id = $2")
        .bind(guild)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_role(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guild_members SET role = $3 WHERE guild_id = $1 AND user_id = $2")
        .bind(guild)
        .bind(user)
        .bind(role)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_protected(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    protected: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guild_members SET protected = $3 WHERE guild_id = $1 AND user_id = $2")
        .bind(guild)
        .bind(user)
        .bind(i64::from(protected))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_warned(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    warned_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guild_members SET warned_ms = $3 WHERE guild_id = $1 AND user_id = $2")
        .bind(guild)
        .bind(user)
        .bind(warned_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records today's donation total of a member.
pub async fn set_donated(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    day: i64,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guild_members SET donated_day = $3, donated_amount = $4 \
         WHERE guild_id = $1 AND user_id = $2",
    )
    .bind(guild)
    .bind(user)
    .bind(day)
    .bind(amount)
    .execute(conn)
    .await?;
    Ok(())
}

/// Activity: points earned and the time of it; a warning of auto-kick no longer applies.
pub async fn add_activity(
    conn: &mut AnyConnection,
    user: &str,
    points: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE guild_members SET points = points + $2, active_ms = $3, warned_ms = NULL \
         WHERE user_id = $1",
    )
    .bind(user)
    .bind(points)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks today's login; true when it is the member's first login today (and so earns XP).
pub async fn mark_login(
    conn: &mut AnyConnection,
    user: &str,
    day: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE guild_members SET login_day = $2 WHERE user_id = $1 AND login_day < $2",
    )
    .bind(user)
    .bind(day)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn add_dna(conn: &mut AnyConnection, user: &str, dna: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE guild_members SET dna_collected = dna_collected + $2 WHERE user_id = $1")
        .bind(user)
        .bind(dna)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a member's presence as seen by `node`; true when it changed.
pub async fn set_presence(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    presence: &str,
    node: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE guild_members SET presence = $3, presence_node = $4 \
         WHERE guild_id = $1 AND user_id = $2 \
         AND (presence <> $3 OR COALESCE(presence_node, '') <> $4)",
    )
    .bind(guild)
    .bind(user)
    .bind(presence)
    .bind(node)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a member offline if `node` set their presence (a member connected to two nodes stays
/// present while the other still holds them); true when it changed.
pub async fn set_offline(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
    node: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE guild_members SET presence = 'offline', presence_node = NULL \
         WHERE guild_id = $1 AND user_id = $2 AND presence_node = $3",
    )
    .bind(guild)
    .bind(user)
    .bind(node)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Members shown present by nodes that stopped heartbeating; their presence is cleared.
pub async fn clear_stale_presence(
    conn: &mut AnyConnection,
    seen_after_ms: i64,
) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let stale: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT guild_id, user_id, user_name FROM guild_members WHERE presence <> 'offline' \
         AND (presence_node IS NULL OR presence_node NOT IN \
              (SELECT node_id FROM nodes WHERE seen_ms > $1))",
    )
    .bind(seen_after_ms)
    .fetch_all(&mut *conn)
    .await?;
    for (guild, user, _) in &stale {
        sqlx::query(
            "UPDATE guild_members SET presence = 'offline', presence_node = NULL \
             WHERE guild_id = $1 AND user_id = $2",
        )
        .bind(guild)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    }
    Ok(stale)
}

/// Members active since `since_ms`, for the guild's activity level.
pub async fn count_active(
    conn: &mut AnyConnection,
    guild: i64,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM guild_members WHERE guild_id = $1 AND active_ms >= $2")
        .bind(guild)
        .bind(since_ms)
        .fetch_one(conn)
        .await
}

/// The guild and last counted login day of each of `users` who is in a guild.
pub async fn logins_of(
    conn: &mut AnyConnection,
    users: &[std::sync::Arc<str>],
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT user_id, guild_id, login_day FROM guild_members WHERE user_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(&sql);
    for user in users {
        query = query.bind(&**user);
    }
    query.fetch_all(conn).await
}

/// What a message to a guild's room depends on, in one round trip: the sender's role (None when
/// not a member), and the guild's level and profanity setting. None when there is no guild.
pub async fn chat_gate(
    conn: &mut AnyConnection,
    guild: i64,
    user: &str,
) -> Result<Option<(Option<String>, i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.role, g.level, g.profanity FROM guilds g \
         LEFT JOIN guild_members m ON m.guild_id = g.id AND m.user_id = $2 WHERE g.id = $1",
    )
    .bind(guild)
    .bind(user)
    .fetch_optional(conn)
    .await
}
