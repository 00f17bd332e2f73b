//! Idempotency keys in Redis, so a retry that lands on another node finds the first result.
//! An attempt claims its key for a short time (`SET NX`); a finished one stores its result for
//! the key's lifetime; a failed one deletes the claim.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::timed;
use crate::idem::{Claim, SharedIdem};

/// How long a claim lasts while its attempt acts: long enough for any op, short enough that
/// a node dying mid-op does not block the key for the whole TTL.
const CLAIM_TTL: Duration = Duration::from_secs(30);

pub struct RedisIdem {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl RedisIdem {
    pub fn new(conn: ConnectionManager, prefix: &str, ttl: Duration) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            ttl,
        }
    }

    fn key(&self, user: &str, key: &str) -> String {
        format!("{}:idem:{user}:{key}", self.prefix)
    }
}

#[async_trait]
impl SharedIdem for RedisIdem {
    async fn claim(&self, user: &str, key: &str) -> Result<Claim, String> {
        let mut conn = self.conn.clone();
        // SET NX GET: sets the (empty) claim when absent and returns the previous value.
        let previous: Option<Vec<u8>> = timed(
            redis::cmd("SET")
                .arg(self.key(user, key))
                .arg("")
                .arg("NX")
                .arg("GET")
                .arg("PX")
                .arg(CLAIM_TTL.as_millis() as u64)
                .query_async(&mut conn),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(match previous {
            None => Claim::Owner,
            Some(v) if v.is_empty() => Claim::Busy,
            Some(v) => Claim::Done(v),
        })
    }

    async fn complete(&self, user: &str, key: &str, result: Option<&[u8]>) {
        let mut conn = self.conn.clone();
        let key = self.key(user, key);
        let done: Result<(), _> = match result {
            Some(value) => {
                timed(
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("PX")
                        .arg(self.ttl.as_millis() as u64)
                        .query_async(&mut conn),
                )
                .await
            }
            None => timed(redis::cmd("DEL").arg(&key).query_async(&mut conn)).await,
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "recording an idempotency result failed");
        }
    }
}
