//! What runs on a clock. On every node: the run writer, the scoreboard pushes, the comparison
//! with the store. On one node at a time (whoever holds the `war-jobs` lease): the weekly
//! calendar (opening registration, starting matchmaking), matchmaking passes, the end of wars
//! and raids whose window has passed, the wallet credit of runs reported in batches, and the
//! periodic snapshots. Every node saves its snapshots at drain.

use std::sync::Arc;
use std::time::Duration;

use guildhall_protocol::ErrorBody;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::WarService;
use crate::clock::now_ms;
use crate::domain::war::schedule::Phase;
use crate::guild::errors::db_error;
use crate::store::guild::jobs;
use crate::store::to_i64;

/// The lease that makes one node run the war jobs.
pub const WAR_LEASE: &str = "war-jobs";

/// What one pass of the war jobs did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WarJobReport {
    /// The cycle whose registration the calendar opened, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened: Option<u64>,
    /// The cycle whose matchmaking the calendar started, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching: Option<u64>,
    pub wars_started: Vec<i64>,
    pub wars_ended: Vec<i64>,
    pub raids_ended: Vec<i64>,
    pub runs_credited: u32,
}

/// Every node: pushes and comparisons, until `stop`; the lease holder: the jobs and the
/// periodic snapshots. Every node saves its snapshots at drain.
pub async fn run_local(service: Arc<WarService>, stop: CancellationToken) {
    let writer = tokio::spawn(service.clone().write_runs(stop.clone()));
    let boards = tokio::spawn(super::boards::run(service.clone(), stop.clone()));
    let config = service.config.clone();
    let mut reconcile =
        tokio::time::interval(Duration::from_millis(config.reconcile_every_ms.max(100)));
    let mut snapshot =
        tokio::time::interval(Duration::from_millis(config.snapshot_every_ms.max(100)));
    let mut jobs = tokio::time::interval(Duration::from_millis(config.tick_ms.max(100)));
    for t in [&mut reconcile, &mut snapshot, &mut jobs] {
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    let mut holds_lease = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = reconcile.tick() => {
                if let Err(e) = service.reconcile().await {
                    tracing::warn!(error = %e.msg, "comparing scoreboards with the store failed");
                }
                service.intake.sweep();
            }
            _ = snapshot.tick() => {
                // Every node holds the same replicas: the lease holder saves them for all.
                if holds_lease {
                    if let Err(e) = service.save_snapshots().await {
                        tracing::warn!(error = %e.msg, "saving snapshots failed");
                    }
                }
            }
            _ = jobs.tick() => {
                match service.try_lease(config.tick_ms.saturating_mul(6).max(10_000)).await {
                    Ok(true) => {
                        holds_lease = true;
                        match service.run_jobs().await {
                            Ok(report) => tracing::debug!(?report, "war jobs ran"),
                            Err(e) => tracing::warn!(error = %e.msg, "war jobs failed"),
                        }
                    }
                    Ok(false) => holds_lease = false,
                    Err(e) => tracing::warn!(error = %e.msg, "taking the war jobs lease failed"),
                }
            }
        }
    }
    // The writer drains what is queued; then the snapshots cover every run it logged.
    let _ = writer.await;
    let _ = boards.await;
    if let Err(e) = service.save_snapshots().await {
        tracing::warn!(error = %e.msg, "saving snapshots at drain failed");
    }
    if let Ok(mut conn) = service.db.pool().acquire().await {
        let _ = jobs::release_lease(&mut conn, WAR_LEASE, &service.node_id).await;
    }
}

impl WarService {
    async fn try_lease(&self, lease_ms: u64) -> Result<bool, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let now = to_i64(now_ms());
        jobs::acquire_lease(
            &mut conn,
            WAR_LEASE,
            &self.node_id,
            now,
            now + to_i64(lease_ms),
        )
        .await
        .map_err(db_error)
    }

    /// One pass of the calendar, matchmaking, endings and credits.
    pub async fn run_jobs(&self) -> Result<WarJobReport, ErrorBody> {
        let mut report = WarJobReport::default();
        let now = now_ms();
        let schedule = &self.preset.war.schedule;
        if schedule.enabled {
            // Validated with the preset: a calendar always parses here.
            if let Ok(calendar) = schedule.calendar() {
                if let Some(Phase::Registration { cycle_ms, .. }) = calendar.phase(now) {
                    report.opened = Some(self.open_registration(cycle_ms).await?);
                }
                if let Some(last) = calendar.last_cycle(now) {
                    // The cycle whose start has come: its registration closes, its matching
                    // begins (once; an admin may have begun it earlier).
                    let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
                    let started = crate::store::war::wars::start_matching(
                        &mut conn,
                        to_i64(last),
                        to_i64(now),
                    )
                    .await
                    .map_err(db_error)?;
                    if started {
                        report.matching = Some(last);
                    }
                }
            }
        }
        report.wars_started = self.match_pass().await?;
        report.wars_ended = self.end_due_wars().await?;
        report.raids_ended = self.end_due_raids().await?;
        report.runs_credited = self.credit_runs().await?;
        Ok(report)
    }
}
