//! The guild store: guilds, members, applications and invites, leadership transfers, wallets
//! and the ledger, job leases. One set of SQL serves SQLite and PostgreSQL through sqlx's `Any`
//! driver (both accept `$n` placeholders), so the two backends cannot drift apart.
//!
//! Every write to a guild runs in a transaction that starts with [`lock_guild`]: writes to one
//! guild queue behind each other on every backend, so a check made inside (officer count,
//! capacity, rank) still holds when the transaction commits, whichever node made it.

pub mod guilds;
pub mod jobs;
pub mod ledger;
pub mod members;
pub mod requests;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Executor};

use super::StoreError;
use crate::config::Config;

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// How long to wait for a pooled connection before the caller gets `unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct GuildDb {
    pool: AnyPool,
    postgres: bool,
}

impl GuildDb {
    /// Opens the database the config names: PostgreSQL (and its schema) when `database_url`
    /// is set, else the SQLite file in the data directory. Migrations are applied by
    /// [`crate::app::open_store`], which must run first.
    pub async fn open(config: &Config) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let mut options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let url = match &config.database_url {
            Some(url) => {
                options = options.max_connections(16);
                if let Some(schema) = &config.database_schema {
                    let set_path: Arc<str> = format!(
                        "SET search_path TO {}",
                        super::postgres::quote_schema(schema)?
                    )
                    .into();
                    options = options.after_connect(move |conn, _meta| {
                        let set_path = set_path.clone();
                        Box::pin(async move {
                            conn.execute(&*set_path).await?;
                            Ok(())
                        })
                    });
                }
                url.expose().to_owned()
            }
            None => {
                // SQLite takes one writer at a time; a few connections let reads go on meanwhile.
                options = options.max_connections(4).after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // Every connection must wait for the write lock rather than fail, and
                        // commit durably like the chat store's.
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        Ok(())
                    })
                });
                let path = config.data_dir.join(super::sqlite::DB_FILE);
                format!("sqlite://{}", path.display())
            }
        };
        let pool = options.connect(&url).await?;
        Ok(Self {
            pool,
            postgres: config.database_url.is_some(),
        })
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// PostgreSQL (row locks, concurrent writers), rather than SQLite (one writer at a time).
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Takes the guild's write lock for the rest of the transaction; false when there is no such
/// guild. Must be the transaction's first statement: on SQLite a transaction that reads first
/// and writes later can fail to upgrade its lock, one that writes first waits its turn.
pub async fn lock_guild(conn: &mut AnyConnection, guild: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE guilds SET version = version + 1 WHERE id = $1")
        .bind(guild)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether an error is a unique-constraint violation (a name, tag or key already taken).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || matches!(db.code().as_deref(), Some("23505" | "2067" | "1555"))
        }
        _ => false,
    }
}
