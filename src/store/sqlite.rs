//! The embedded store: one SQLite file in the data directory, WAL mode, `synchronous = FULL` so
//! that a committed (and so acknowledged) message survives a power cut, not just a crash.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use guildhall_protocol::ChatMsg;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{oldest_first, ChatRow, NewChatMessage, Store, StoreError};

pub struct SqliteStore {
    pool: SqlitePool,
}

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "guildhall.db";

impl SqliteStore {
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        let url = format!("sqlite://{}", data_dir.join(DB_FILE).display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        // Writes come from the single group-commit task; the other connections serve reads.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_chat_batch(&self, batch: &[NewChatMessage]) -> Result<Vec<u64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(batch.len());
        for msg in batch {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO chat_messages (room, user_id, user_name, text, ts_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&*msg.room)
            .bind(&*msg.user_id)
            .bind(&*msg.user_name)
            .bind(&msg.text)
            .bind(msg.ts_ms as i64)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id as u64);
        }
        tx.commit().await?;
        Ok(ids)
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
             WHERE room = ? AND id < ? AND deleted_ms IS NULL ORDER BY id DESC LIMIT ?",
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
        "sqlite"
    }
}
