//! Daily logins: a member's first hello of the (UTC) day earns their guild its login XP and
//! them an activity point. Hellos are only noted on the connection's path; once a second the
//! noted users are looked up together and counted, one transaction per guild, so a storm of
//! connections costs the store a query per batch, not one per hello.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use guildhall_protocol::ev;

use super::errors::{self, db_error};
use super::{now, to_i64, to_u64, GuildService};
use crate::domain::guild::vault::day_of;
use crate::store::guild::members;

/// Activity points a member earns for the day's first login.
const POINTS_PER_LOGIN: i64 = 1;
/// How long a user found in no guild is remembered before their hello is noted again (they
/// may join a guild on another node meanwhile).
const NON_MEMBER_RECHECK_MS: u64 = 60_000;
/// Users looked up per query.
const LOOKUP_CHUNK: usize = 400;

/// A user's login as this node last saw it.
pub(super) struct LoginSeen {
    pub(super) day: u64,
    /// Until a batch found them a member: look again after this.
    recheck_at: Option<u64>,
}

impl GuildService {
    /// Notes a hello, to be counted by the next [`GuildService::flush_logins`].
    pub fn note_login(&self, user: &Arc<str>) {
        let now_ms = to_u64(now());
        let today = day_of(now_ms);
        let known = self
            .logins_seen
            .get(user)
            .is_some_and(|seen| seen.day == today && seen.recheck_at.is_none_or(|at| now_ms < at));
        if known {
            return;
        }
        // Noted once until the batch answers: a reconnecting client is not queued again.
        self.logins_seen.insert(
            user.clone(),
            LoginSeen {
                day: today,
                recheck_at: Some(now_ms + NON_MEMBER_RECHECK_MS),
            },
        );
        self.logins_pending.lock().insert(user.clone());
    }

    /// Counts the noted logins.
    pub async fn flush_logins(&self) -> Result<(), errors::Body> {
        let batch: Vec<Arc<str>> = {
            let mut pending = self.logins_pending.lock();
            if pending.is_empty() {
                return Ok(());
            }
            std::mem::take(&mut *pending).into_iter().collect()
        };
        let now = now();
        let today = day_of(to_u64(now));
        let mut due: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut found: HashSet<String> = HashSet::new();
        {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            for chunk in batch.chunks(LOOKUP_CHUNK) {
                let rows = members::logins_of(&mut conn, chunk)
                    .await
                    .map_err(db_error)?;
                for (user, guild, login_day) in rows {
                    if to_u64(login_day) < today {
                        due.entry(guild).or_default().push(user.clone());
                    }
                    found.insert(user);
                }
            }
        }
        for user in found {
            self.logins_seen.insert(
                Arc::from(user.as_str()),
                LoginSeen {
                    day: today,
                    recheck_at: None,
                },
            );
        }
        for (guild, users) in due {
            if let Err(e) = self.count_logins(guild, &users, to_i64(today), now).await {
                tracing::warn!(error = %e.msg, guild, "daily logins not counted");
            }
        }
        Ok(())
    }

    async fn count_logins(
        &self,
        guild: i64,
        users: &[String],
        today: i64,
        now: i64,
    ) -> Result<(), errors::Body> {
        let mut tx = self.locked(guild).await?;
        let mut counted: u64 = 0;
        for user in users {
            // Guarded by the day: a login another node counted meanwhile is not counted twice.
            if members::mark_login(&mut tx, user, today)
                .await
                .map_err(db_error)?
            {
                members::add_activity(&mut tx, user, POINTS_PER_LOGIN, now)
                    .await
                    .map_err(db_error)?;
                counted += 1;
            }
        }
        let row = self.guild_row(&mut tx, guild).await?;
        let up = self
            .add_xp(&mut tx, &row, self.preset.xp.per_login * counted, now)
            .await?;
        tx.commit().await.map_err(db_error)?;
        if let Some(up) = up {
            self.publish(guild, ev::GUILD_LEVEL_UP, &up).await;
        }
        Ok(())
    }
}
