//! The shared store: PostgreSQL, for deployments where several nodes (or an operator's tooling)
//! need the same durable history, which one node's SQLite file cannot give them.
//!
//! It answers exactly as [`super::sqlite::SqliteStore`] does; `tests/store` runs the same
//! conformance suite ([`super::conformance`]) against both.
//!
//! Ids come from one sequence. Within a batch they follow the input order. Across concurrent
//! writers (several nodes) the sequence keeps them unique and growing with the time they were
//! drawn, but a batch may commit after a later-drawn one, so a history page read in between can
//! briefly lack an id lower than one it shows.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use guildhall_protocol::ChatMsg;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

use super::{oldest_first, ChatRow, NewChatMessage, Store, StoreError};

/// Upper bound on pooled connections: the group-commit writer needs one, history reads share
/// the rest, and a shared server has other clients to serve.
const MAX_CONNECTIONS: u32 = 16;

/// How long to wait for a connection, including the first one in [`PostgresStore::connect`],
/// so that an unreachable database fails the caller in bounded time instead of hanging it.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// PostgreSQL's identifier length limit (NAMEDATALEN - 1); longer names would be truncated
/// silently, and two schemas could end up being the same one.
const MAX_SCHEMA_LEN: usize = 63;

/// Inserts a whole batch in one statement (one round trip, one implicit transaction).
///
/// The ids are drawn from the sequence first, sorted, and handed out by the row's position in
/// the input (`ord`), rather than left to the column default: the default would be evaluated in
/// whatever order the executor feeds rows to the insert, which PostgreSQL does not promise to be
/// the input order. The final `ORDER BY id` then returns them in input order.
const INSERT_BATCH: &str = "\
WITH input AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
        WITH ORDINALITY AS t(room, user_id, user_name, text, ts_ms, ord)
), ids AS (
    SELECT array_agg(id ORDER BY id) AS ids
    FROM (SELECT nextval(pg_get_serial_sequence('chat_messages', 'id')) AS id FROM input) drawn
), inserted AS (
    INSERT INTO chat_messages (id, room, user_id, user_name, text, ts_ms)
    SELECT ids.ids[input.ord::int], input.room, input.user_id, input.user_name, input.text, input.ts_ms
    FROM input CROSS JOIN ids
    RETURNING id
)
SELECT id FROM inserted ORDER BY id";

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url`. With `schema`, the store lives in that schema (created if missing)
    /// instead of the server's default search path; tests use it to get a fresh database per
    /// run, production passes `None`. A schema name must match `[a-z0-9_]{1,63}`.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let mut pool_options = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        let quoted = schema.map(quote_schema).transpose()?;
        if let Some(quoted) = &quoted {
            // Every connection, including ones the pool opens later to replace dropped ones,
            // must see the same schema, so this runs per connection, not once.
            let set_path: Arc<str> = format!("SET search_path TO {quoted}").into();
            pool_options = pool_options.after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(&*set_path).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options.connect_with(options).await?;
        if let Some(quoted) = &quoted {
            create_schema(&pool, quoted).await?;
        }
        Ok(Self { pool })
    }
}

/// Checks a schema name and returns it quoted. Only a narrow alphabet is accepted, so the name
/// can be spliced into `SET`/`CREATE SCHEMA` (which take no bind parameters) without any way
/// to escape the quotes.
pub(crate) fn quote_schema(schema: &str) -> Result<String, StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= MAX_SCHEMA_LEN
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(StoreError::Db(sqlx::Error::Configuration(
            format!("invalid schema name {schema:?}: expected 1 to {MAX_SCHEMA_LEN} characters of [a-z0-9_]").into(),
        )));
    }
    Ok(format!("\"{schema}\""))
}

async fn create_schema(pool: &PgPool, quoted: &str) -> Result<(), StoreError> {
    match pool
        .execute(format!("CREATE SCHEMA IF NOT EXISTS {quoted}").as_str())
        .await
    {
        Ok(_) => Ok(()),
        // Two stores connecting at once can both pass the IF NOT EXISTS check; the loser gets a
        // unique violation on the catalog, but the schema it wanted exists all the same.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("23505" | "42P06")) => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_chat_batch(&self, batch: &[NewChatMessage]) -> Result<Vec<u64>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let rooms: Vec<&str> = batch.iter().map(|m| &*m.room).collect();
        let user_ids: Vec<&str> = batch.iter().map(|m| &*m.user_id).collect();
        let user_names: Vec<&str> = batch.iter().map(|m| &*m.user_name).collect();
        let texts: Vec<&str> = batch.iter().map(|m| m.text.as_str()).collect();
        // Stored as the same bits SQLite stores (BIGINT is signed), so every u64 round-trips.
        let ts: Vec<i64> = batch.iter().map(|m| m.ts_ms as i64).collect();
        let ids: Vec<i64> = sqlx::query_scalar(INSERT_BATCH)
            .bind(&rooms)
            .bind(&user_ids)
            .bind(&user_names)
            .bind(&texts)
            .bind(&ts)
            .fetch_all(&self.pool)
            .await?;
        // The chat writer zips ids with senders; a short answer would hand senders wrong ids.
        if ids.len() != batch.len() {
            return Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "batch insert returned {} ids for {} rows",
                ids.len(),
                batch.len()
            ))));
        }
        Ok(ids.into_iter().map(|id| id as u64).collect())
    }

    async fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMsg>, StoreError> {
        let before = before
            .map(|b| b.min(i64::MAX as u64) as i64)
            .unwrap_or(i64::MAX);
        let rows = sqlx::query_as::<_, ChatRow>(
            "SELECT id, user_id, user_name, text, ts_ms FROM chat_messages \
             WHERE room = $1 AND id < $2 AND deleted_ms IS NULL ORDER BY id DESC LIMIT $3",
        )
        .bind(room)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(oldest_first(rows))
    }

    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}
