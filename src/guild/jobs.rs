//! Time-based guild rules, run by one node at a time (whoever holds the store lease):
//! probation promotions, auto-kick warnings and kicks, leadership transfers whose window has
//! passed, the activity level the browser filters on, and presence left by stopped nodes.

use std::sync::Arc;
use std::time::Duration;

use guildhall_protocol::{ev, AutoKickWarning, LeaderChanged, MemberKicked};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::errors::{self, db_error};
use super::{now, to_i64, to_u32, to_u64, views, GuildService};
use crate::config::GuildsConfig;
use crate::domain::guild::preset::RoleDef;
use crate::domain::guild::probation::{auto_kick, due_promotion, AutoKick, DAY_MS};
use crate::domain::guild::profile::{activity_level, MemberPresence};
use crate::domain::guild::roles::check_role_room;
use crate::store::guild::requests::{self, TransferRow};
use crate::store::guild::{guilds, jobs, members};

/// The lease that makes one node run the jobs.
pub const JOBS_LEASE: &str = "guild-jobs";
/// The window the activity level looks back over.
const ACTIVITY_WINDOW_MS: u64 = 7 * DAY_MS;

/// What one run of the jobs did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct JobReport {
    pub promoted: u32,
    pub warned: u32,
    pub kicked: u32,
    pub transfers: u32,
    pub presence_cleared: u32,
}

/// An event to publish once its transaction committed.
enum Announce {
    Promoted(members::MemberRow, String),
    Warned(members::MemberRow, u64),
    Kicked(members::MemberRow),
}

/// Heartbeats this node and, while it holds the lease, runs the jobs every `jobs_every_ms`.
pub async fn run(guilds: Arc<GuildService>, config: GuildsConfig, stop: CancellationToken) {
    // The node says it is alive at once (its members' presence must not look stale to the
    // other nodes); its first pass of the jobs comes a period later: nothing in them is due to
    // the second, and a node restarting in a loop does not run them at each start.
    if let Err(e) = guilds.heartbeat().await {
        tracing::warn!(error = %e.msg, "node heartbeat failed");
    }
    let every = Duration::from_millis(config.jobs_every_ms.max(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = guilds.heartbeat().await {
            tracing::warn!(error = %e.msg, "node heartbeat failed");
            continue;
        }
        match guilds.try_lease(config.lease_ms).await {
            Ok(true) => match guilds.run_jobs(config.node_timeout_ms).await {
                Ok(report) => tracing::debug!(?report, "guild jobs ran"),
                Err(e) => tracing::warn!(error = %e.msg, "guild jobs failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e.msg, "taking the jobs lease failed"),
        }
    }
    guilds.leave_cluster().await;
}

impl GuildService {
    pub async fn heartbeat(&self) -> Result<(), errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        jobs::heartbeat(&mut conn, &self.node_id, now())
            .await
            .map_err(db_error)
    }

    pub async fn try_lease(&self, lease_ms: u64) -> Result<bool, errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let now = now();
        jobs::acquire_lease(
            &mut conn,
            JOBS_LEASE,
            &self.node_id,
            now,
            now + to_i64(lease_ms),
        )
        .await
        .map_err(db_error)
    }

    /// On drain: hand the lease on and forget this node, so its members' presence is cleared
    /// by the next run wherever it happens.
    async fn leave_cluster(&self) {
        let Ok(mut conn) = self.db.pool().acquire().await else {
            return;
        };
        let released = jobs::release_lease(&mut conn, JOBS_LEASE, &self.node_id).await;
        let forgotten = jobs::forget_node(&mut conn, &self.node_id).await;
        if let Err(e) = released.and(forgotten) {
            tracing::warn!(error = %e, "leaving the job schedule failed");
        }
    }

    /// Runs every job once, now.
    pub async fn run_jobs(&self, node_timeout_ms: u64) -> Result<JobReport, errors::Body> {
        let now = now();
        let mut report = JobReport::default();
        let due = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            requests::due_transfers(&mut conn, now)
                .await
                .map_err(db_error)?
        };
        for t in due {
            if self.complete_transfer(&t).await? {
                report.transfers += 1;
            }
        }
        let ids = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            guilds::all_ids(&mut conn).await.map_err(db_error)?
        };
        for id in ids {
            self.guild_tick(id, &mut report).await?;
        }
        report.presence_cleared = self.clear_stale_presence(node_timeout_ms).await?;
        Ok(report)
    }

    /// Probation, auto-kick and activity level of one guild, in one transaction.
    async fn guild_tick(&self, id: i64, report: &mut JobReport) -> Result<(), errors::Body> {
        let p = &*self.preset;
        let now = to_u64(now());
        let mut tx = match self.locked(id).await {
            Ok(tx) => tx,
            // Disbanded since the id list was read.
            Err(e) if e.code == guildhall_protocol::ErrorCode::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let row = self.guild_row(&mut tx, id).await?;
        let list = members::list(&mut tx, id).await.map_err(db_error)?;
        let days = u32::try_from(row.auto_kick_days).ok().filter(|d| *d > 0);
        let mut announce = Vec::new();
        let mut removed = 0;
        for m in &list {
            let is_leader = m.role == p.leader().name;
            let decision = auto_kick(
                p,
                days,
                to_u64(m.active_ms),
                m.warned_ms.map(to_u64),
                m.protected != 0,
                is_leader,
                now,
            );
            match decision {
                AutoKick::Kick => {
                    self.remove_member(&mut tx, id, &m.user_id).await?;
                    removed += 1;
                    announce.push(Announce::Kicked(m.clone()));
                    continue;
                }
                AutoKick::Warn { kick_at_ms } => {
                    members::set_warned(&mut tx, id, &m.user_id, to_i64(now))
                        .await
                        .map_err(db_error)?;
                    announce.push(Announce::Warned(m.clone(), kick_at_ms));
                }
                AutoKick::Keep => {}
            }
            let points = to_u32(m.points);
            if let Some(to) = due_promotion(p, &m.role, to_u64(m.joined_ms), points, now) {
                let Some(role) = p.role(to) else { continue };
                let holding = members::count_role(&mut tx, id, &role.name)
                    .await
                    .map_err(db_error)?;
                if check_role_room(role, to_u32(holding)).is_ok() {
                    members::set_role(&mut tx, id, &m.user_id, &role.name)
                        .await
                        .map_err(db_error)?;
                    announce.push(Announce::Promoted(m.clone(), role.name.clone()));
                }
            }
        }
        let since = to_i64(now.saturating_sub(ACTIVITY_WINDOW_MS));
        let active = members::count_active(&mut tx, id, since)
            .await
            .map_err(db_error)?;
        let count = to_u32(row.member_count) - removed.min(to_u32(row.member_count));
        let activity = activity_level(to_u32(active), count);
        guilds::set_activity(&mut tx, id, activity.as_str())
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        for a in announce {
            match a {
                Announce::Promoted(m, role) => {
                    report.promoted += 1;
                    self.announce_role(id, ev::GUILD_MEMBER_PROMOTED, &m, &role, None)
                        .await;
                }
                Announce::Warned(m, kick_at) => {
                    report.warned += 1;
                    let warning = AutoKickWarning {
                        user: views::user(&m.user_id, &m.user_name),
                        kick_at,
                    };
                    self.publish(id, ev::GUILD_AUTO_KICK_WARNING, &warning)
                        .await;
                }
                Announce::Kicked(m) => {
                    report.kicked += 1;
                    let kicked = MemberKicked {
                        user: views::user(&m.user_id, &m.user_name),
                        by: None,
                        auto: true,
                    };
                    self.publish(id, ev::GUILD_MEMBER_KICKED, &kicked).await;
                }
            }
        }
        Ok(())
    }

    /// Makes a due transfer take effect, if both people are still where they were; true when
    /// leadership moved.
    async fn complete_transfer(&self, t: &TransferRow) -> Result<bool, errors::Body> {
        let p = &*self.preset;
        let id = t.guild_id;
        let mut tx = match self.locked(id).await {
            Ok(tx) => tx,
            Err(e) if e.code == guildhall_protocol::ErrorCode::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        // Re-read under the lock: it may have been cancelled or completed meanwhile.
        let Some(t) = requests::transfer(&mut tx, id).await.map_err(db_error)? else {
            return Ok(false);
        };
        if t.effective_ms > now() {
            return Ok(false);
        }
        requests::delete_transfer(&mut tx, id)
            .await
            .map_err(db_error)?;
        let from = members::get(&mut tx, id, &t.from_id)
            .await
            .map_err(db_error)?;
        let to = members::get(&mut tx, id, &t.to_id)
            .await
            .map_err(db_error)?;
        let leader = &p.leader().name;
        let (Some(from), Some(_)) = (from, to) else {
            tx.commit().await.map_err(db_error)?;
            return Ok(false);
        };
        if &from.role != leader {
            tx.commit().await.map_err(db_error)?;
            return Ok(false);
        }
        // The old leader steps down to the highest role with room left.
        let mut step_down: Option<&RoleDef> = None;
        let mut ranks: Vec<&RoleDef> = p.roles.iter().filter(|r| &r.name != leader).collect();
        ranks.sort_by_key(|r| r.rank);
        for role in ranks {
            let holding = members::count_role(&mut tx, id, &role.name)
                .await
                .map_err(db_error)?;
            if check_role_room(role, to_u32(holding)).is_ok() {
                step_down = Some(role);
                break;
            }
        }
        let step_down = step_down.unwrap_or(p.lowest());
        members::set_role(&mut tx, id, &t.to_id, leader)
            .await
            .map_err(db_error)?;
        members::set_role(&mut tx, id, &t.from_id, &step_down.name)
            .await
            .map_err(db_error)?;
        guilds::set_leader(&mut tx, id, &t.to_id, &t.to_name)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let changed = LeaderChanged {
            from: views::user(&t.from_id, &t.from_name),
            to: views::user(&t.to_id, &t.to_name),
        };
        self.publish(id, ev::GUILD_LEADER_CHANGED, &changed).await;
        Ok(true)
    }

    async fn clear_stale_presence(&self, node_timeout_ms: u64) -> Result<u32, errors::Body> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let seen_after = now() - to_i64(node_timeout_ms);
        // A write first (see `lock_guild`): this node's own heartbeat.
        jobs::heartbeat(&mut tx, &self.node_id, now())
            .await
            .map_err(db_error)?;
        let stale = members::clear_stale_presence(&mut tx, seen_after)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let n = stale.len();
        for (guild, user, name) in stale {
            self.announce_presence(guild, &user, &name, MemberPresence::Offline)
                .await;
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
