//! Snapshots of the replicas: a contest's state and the contest-log position it covers, saved
//! periodically and at drain, so that a node that starts reads the state and only the log
//! after it, instead of every run from the store.

use guildhall_protocol::ErrorBody;

use super::replica::Contest;
use super::{WarService, SYS_ROOM};
use crate::broker::ReadSince;
use crate::clock::now_ms;
use crate::guild::errors::db_error;
use crate::store::to_i64;
use crate::store::war::snapshots::{self, SnapshotRow};

impl WarService {
    /// Saves every replica this node holds; how many were saved.
    pub async fn save_snapshots(&self) -> Result<u32, ErrorBody> {
        // The position first: the state read after it holds at least what the log had
        // delivered up to it (a run is counted before the position moves past it).
        let held = self.log_pos.lock().clone();
        let pos = match held {
            Some(pos) => pos,
            None => match self.hub.broker.position(SYS_ROOM).await {
                Ok(pos) => pos,
                Err(e) => {
                    tracing::warn!(error = %e, "no contest log position; snapshots skipped");
                    return Ok(0);
                }
            },
        };
        let keys: Vec<String> = self.contests.iter().map(|c| c.key().clone()).collect();
        let mut saved = 0;
        for key in keys {
            let Some(contest) = self.contests.get(&key).map(|c| c.clone()) else {
                continue;
            };
            let (state, runs) = {
                let c = contest.lock();
                (c.encode(), c.runs())
            };
            let state = match state {
                Ok(state) => state,
                Err(e) => {
                    tracing::error!(error = %e, key, "encoding a snapshot failed");
                    continue;
                }
            };
            let row = SnapshotRow {
                contest: key.clone(),
                ep: pos.ep.to_string(),
                off: to_i64(pos.off),
                runs: to_i64(runs as u64),
                state,
                saved_ms: to_i64(now_ms()),
            };
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            snapshots::save(&mut conn, &row).await.map_err(db_error)?;
            saved += 1;
        }
        Ok(saved)
    }

    /// A contest from its snapshot and the log after it; `None` when there is no snapshot or
    /// the log no longer reaches back to it (then the store has everything).
    pub(super) async fn read_snapshot(&self, key: &str) -> Result<Option<Contest>, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let Some(row) = snapshots::load(&mut conn, key).await.map_err(db_error)? else {
            return Ok(None);
        };
        drop(conn);
        let mut contest = match Contest::decode(&row.state) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, key, "an unreadable snapshot; reading the store");
                return Ok(None);
            }
        };
        let off = crate::store::to_u64(row.off);
        let events = match self.hub.broker.read_since(SYS_ROOM, &row.ep, off).await {
            Ok(ReadSince::Events { events, .. }) => events,
            Ok(ReadSince::Lost { .. }) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, key, "the contest log is unreachable; reading the store");
                return Ok(None);
            }
        };
        let mut later = 0usize;
        for event in events.iter().filter(|e| e.ev == super::EV_RUNS) {
            if let Ok(batch) = <super::RunsEvent as serde::Deserialize>::deserialize(&event.d) {
                for run in &batch.runs {
                    if contest.add(&self.preset, run) {
                        later += 1;
                    }
                }
            }
        }
        tracing::info!(
            key,
            runs = contest.runs(),
            later,
            "a scoreboard restored from its snapshot"
        );
        Ok(Some(contest))
    }
}
