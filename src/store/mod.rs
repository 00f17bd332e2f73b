//! Persistence. The store is the source of truth for everything durable; writes that clients
//! wait on go through a group-commit writer so one transaction carries many of them.

pub mod chat_writer;
pub mod conformance;
pub mod guild;
pub mod moderation;
pub mod placeholders;
pub mod postgres;
pub mod sqlite;
pub mod stream;
pub mod war;

use std::sync::Arc;

use async_trait::async_trait;
use guildhall_protocol::ChatMsg;

/// A chat message accepted by the rules, not yet stored.
#[derive(Clone, Debug)]
pub struct NewChatMessage {
    pub room: Arc<str>,
    pub user_id: Arc<str>,
    pub user_name: Arc<str>,
    pub text: String,
    pub ts_ms: u64,
}

/// A `chat_messages` row as both stores read it back.
#[derive(sqlx::FromRow)]
pub(crate) struct ChatRow {
    id: i64,
    user_id: String,
    user_name: String,
    text: String,
    ts_ms: i64,
}

impl From<ChatRow> for ChatMsg {
    fn from(row: ChatRow) -> Self {
        ChatMsg {
            id: row.id as u64,
            from: guildhall_protocol::UserRef {
                id: row.user_id,
                name: row.user_name,
            },
            text: row.text,
            ts: row.ts_ms as u64,
        }
    }
}

/// History rows come newest first (so LIMIT keeps the newest); pages go out oldest first.
pub(crate) fn oldest_first(rows: Vec<ChatRow>) -> Vec<ChatMsg> {
    rows.into_iter().rev().map(ChatMsg::from).collect()
}

/// Timestamps and counters are BIGINT in both stores; these convert at the boundary,
/// saturating rather than wrapping.
pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the store did not answer within {0} ms")]
    Timeout(u64),
    #[error("the store is shutting down")]
    Closed,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Writes the messages in one transaction; returns their ids in the same order.
    async fn insert_chat_batch(&self, batch: &[NewChatMessage]) -> Result<Vec<u64>, StoreError>;
    /// Up to `limit` messages of a room with ids below `before`, oldest first.
    async fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMsg>, StoreError>;
    async fn health(&self) -> Result<(), StoreError>;
    async fn close(&self);
    fn kind(&self) -> &'static str;
}
