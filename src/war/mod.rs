//! Wars and raids: runs in (`intake`), each node's replica of the live contests (`replica`),
//! the scoreboards pushed to `war:<id>` and `raid:<id>` rooms (`boards`), the weekly calendar
//! and matchmaking, and the end of wars and raids with their rewards (`wars`, `raids`), run by
//! the scheduler (`jobs`).
//!
//! The store holds every accepted run and is the truth; the replicas are derived from it. A
//! run reaches the replicas through the contest log `sys:contests` (after its commit), and a
//! node that missed some — a lost subscription, a restart — finds out by comparing counts with
//! the store and reads them from there. Results are computed from the store alone.

pub mod boards;
mod credits;
pub mod intake;
pub mod jobs;
mod raids;
pub mod replica;
mod snapshots;
mod wars;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use dashmap::DashMap;
use guildhall_protocol::{ErrorBody, FlaggedRun, FlaggedRuns};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::broker::{EventDraft, Position};
use crate::clock::now_ms;
use crate::config::{RunsConfig, WarsConfig};
use crate::domain::guild::preset::Preset;
use crate::guild::errors::{self, db_error};
use crate::guild::GuildService;
use crate::hub::event::LogEvent;
use crate::hub::{Hub, SystemListener};
use crate::moderation::ModerationService;
use crate::store::guild::GuildDb;
use crate::store::war::{raids as raid_rows, runs, wars as war_rows};
use crate::store::{to_i64, to_u64};
use replica::{parse_key, raid_key, war_key, Contest, LoggedRun, RaidLive, WarLive};

pub use intake::RunReport;

/// The log every node follows for the contests' runs and their starts and ends.
pub const SYS_ROOM: &str = "sys:contests";
/// A batch of counted runs.
const EV_RUNS: &str = "runs";
/// A contest started or ended.
const EV_CONTEST: &str = "contest";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunsEvent {
    runs: Vec<LoggedRun>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ContestEvent {
    key: String,
    /// "started" | "ended"
    status: String,
}

/// What the war service is built from.
pub struct WarDeps {
    pub runs: RunsConfig,
    pub wars: WarsConfig,
    pub db: Arc<GuildDb>,
    pub hub: Arc<Hub>,
    pub guilds: Arc<GuildService>,
    /// A guild with too many banned members sits out wars (its accountability standing).
    pub moderation: Arc<ModerationService>,
    pub node_id: Arc<str>,
}

pub struct WarService {
    pub preset: Arc<Preset>,
    runs_config: RunsConfig,
    config: WarsConfig,
    db: Arc<GuildDb>,
    hub: Arc<Hub>,
    guilds: Arc<GuildService>,
    moderation: Arc<ModerationService>,
    node_id: Arc<str>,
    contests: DashMap<String, Arc<Mutex<Contest>>>,
    /// Contests whose scoreboard changed since it was last pushed.
    dirty: Mutex<std::collections::HashSet<String>>,
    /// The last position of the contest log this node applied.
    log_pos: Mutex<Option<Position>>,
    /// Contests being loaded, with the runs the log delivered meanwhile: they are counted
    /// once the contest is in place, so nothing heard during a load is lost.
    loading: Mutex<std::collections::HashMap<String, Vec<LoggedRun>>>,
    intake: intake::Intake,
}

impl WarService {
    pub fn new(deps: WarDeps) -> Arc<Self> {
        let service = Arc::new(WarService {
            preset: deps.guilds.preset.clone(),
            runs_config: deps.runs,
            config: deps.wars,
            db: deps.db,
            hub: deps.hub,
            guilds: deps.guilds,
            moderation: deps.moderation,
            node_id: deps.node_id,
            contests: DashMap::new(),
            dirty: Mutex::new(Default::default()),
            log_pos: Mutex::new(None),
            loading: Mutex::new(Default::default()),
            intake: intake::Intake::new(),
        });
        let listener = Arc::new(Listener {
            service: Arc::downgrade(&service),
        });
        service.hub.rooms.set_system_listener(SYS_ROOM, listener);
        service
    }

    /// Follows the contest log, then loads every live contest (from its snapshot and the log
    /// after it, or from the store).
    pub async fn start(&self) -> anyhow::Result<()> {
        self.hub
            .broker
            .subscribe(SYS_ROOM)
            .await
            .map_err(|e| anyhow::anyhow!("subscribing to {SYS_ROOM}: {e}"))?;
        self.load_all()
            .await
            .map_err(|e| anyhow::anyhow!("loading wars and raids: {}", e.msg))
    }

    pub fn runs_config(&self) -> &RunsConfig {
        &self.runs_config
    }

    pub fn wars_config(&self) -> &WarsConfig {
        &self.config
    }

    /// Loads every active war and raid this node does not hold yet.
    async fn load_all(&self) -> Result<(), ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let wars = war_rows::active(&mut conn).await.map_err(db_error)?;
        let raids = raid_rows::active(&mut conn).await.map_err(db_error)?;
        drop(conn);
        for w in wars {
            self.load(&war_key(w.id)).await?;
        }
        for r in raids {
            self.load(&raid_key(r.id)).await?;
        }
        Ok(())
    }

    /// Loads one contest if it is active and not held here yet. One load per contest at a
    /// time; runs heard meanwhile wait in `loading` and are counted when it is in place.
    async fn load(&self, key: &str) -> Result<(), ErrorBody> {
        {
            let mut loading = self.loading.lock();
            if self.contests.contains_key(key) || loading.contains_key(key) {
                return Ok(());
            }
            loading.insert(key.to_owned(), Vec::new());
        }
        let loaded = self.read_contest(key).await;
        let mut loading = self.loading.lock();
        let waiting = loading.remove(key).unwrap_or_default();
        let Some(mut contest) = loaded? else {
            return Ok(());
        };
        for run in &waiting {
            contest.add(&self.preset, run);
        }
        self.contests
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(contest)));
        drop(loading);
        self.mark_dirty(key);
        Ok(())
    }

    /// A contest as the store (and its snapshot) has it; `None` unless it is active.
    async fn read_contest(&self, key: &str) -> Result<Option<Contest>, ErrorBody> {
        let Some((is_war, id)) = parse_key(key) else {
            return Ok(None);
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let fresh = if is_war {
            let Some(row) = war_rows::get(&mut conn, id).await.map_err(db_error)? else {
                return Ok(None);
            };
            if row.status != "active" {
                return Ok(None);
            }
            let roster = war_rows::roster(&mut conn, id).await.map_err(db_error)?;
            Contest::War(WarLive::new(&row, &roster))
        } else {
            let Some(row) = raid_rows::get(&mut conn, id).await.map_err(db_error)? else {
                return Ok(None);
            };
            if row.status != "active" {
                return Ok(None);
            }
            Contest::Raid(RaidLive::new(&row))
        };
        drop(conn);
        self.restore(key, fresh).await.map(Some)
    }

    /// Forgets an ended contest.
    fn forget(&self, key: &str) {
        self.contests.remove(key);
        self.dirty.lock().remove(key);
    }

    fn mark_dirty(&self, key: &str) {
        self.dirty.lock().insert(key.to_owned());
    }

    /// Counts logged runs into the replicas they belong to. A run for a contest this node
    /// does not hold yet (it started on another node a moment ago) makes it load that contest
    /// from the store, which has the run.
    fn apply_runs(self: &Arc<Self>, runs: &[LoggedRun]) {
        // A batch's runs belong to a few contests: each is looked up once.
        let mut held: HashMap<(bool, i64), Option<Arc<Mutex<Contest>>>> = HashMap::new();
        let mut changed = std::collections::BTreeSet::new();
        let mut missing = std::collections::BTreeSet::new();
        for run in runs {
            let contests = run
                .war
                .map(|id| (true, id))
                .into_iter()
                .chain(run.raid.map(|id| (false, id)));
            for (is_war, id) in contests {
                let key = || if is_war { war_key(id) } else { raid_key(id) };
                let contest = held
                    .entry((is_war, id))
                    .or_insert_with(|| self.contests.get(&key()).map(|c| c.clone()));
                if let Some(contest) = contest {
                    if contest.lock().add(&self.preset, run) {
                        changed.insert((is_war, id));
                    }
                    continue;
                }
                // Not held: being loaded (the run waits for it), or to load.
                let key = key();
                let mut loading = self.loading.lock();
                if let Some(contest) = self.contests.get(&key) {
                    if contest.lock().add(&self.preset, run) {
                        changed.insert((is_war, id));
                    }
                } else if let Some(waiting) = loading.get_mut(&key) {
                    waiting.push(run.clone());
                } else {
                    missing.insert(key);
                }
            }
        }
        for (is_war, id) in changed {
            self.mark_dirty(&if is_war { war_key(id) } else { raid_key(id) });
        }
        for key in missing {
            let service = self.clone();
            tokio::spawn(async move {
                if let Err(e) = service.load(&key).await {
                    tracing::warn!(error = %e.msg, key, "loading a contest failed");
                }
            });
        }
    }

    /// Puts counted runs on the contest log. The runs are committed already: if the log is
    /// unreachable they reach the replicas through the store comparison instead.
    async fn log_runs(&self, runs: Vec<LoggedRun>) {
        if runs.is_empty() {
            return;
        }
        self.publish_sys(EV_RUNS, &RunsEvent { runs }).await;
    }

    async fn announce_contest(&self, key: &str, status: &str) {
        let event = ContestEvent {
            key: key.to_owned(),
            status: status.to_owned(),
        };
        self.publish_sys(EV_CONTEST, &event).await;
    }

    async fn publish_sys(&self, ev: &'static str, payload: &impl Serialize) {
        self.publish_room(SYS_ROOM, ev, payload).await;
    }

    /// Publishes an ordered event in a room's log: the contest log, a contest's result, a
    /// guild room's news of a start. What it tells has happened already (committed), so a
    /// log that cannot be reached is logged here, not reported to the caller.
    async fn publish_room(&self, room: &str, ev: &'static str, payload: &impl Serialize) {
        let d = match serde_json::to_value(payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, ev, "encoding a contest event failed");
                return;
            }
        };
        let draft = EventDraft {
            ev: Cow::Borrowed(ev),
            d,
            ts_ms: now_ms(),
        };
        if let Err(e) = self.hub.publish(room, draft).await {
            tracing::warn!(error = %e, room, ev, "a contest event was not published");
        }
    }

    /// Whether a `war:<id>` or `raid:<id>` room exists (live or ended): spectators may
    /// enter any.
    pub async fn room_exists(&self, room: &str) -> Result<(), ErrorBody> {
        if self.contests.contains_key(room) {
            return Ok(());
        }
        let Some((is_war, id)) = parse_key(room) else {
            return Err(errors::not_found("no such war or raid"));
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let exists = if is_war {
            war_rows::get(&mut conn, id)
                .await
                .map_err(db_error)?
                .is_some()
        } else {
            raid_rows::get(&mut conn, id)
                .await
                .map_err(db_error)?
                .is_some()
        };
        if exists {
            Ok(())
        } else {
            Err(errors::not_found("no such war or raid"))
        }
    }

    /// Loads any live contest not held here, then compares each replica with the store, by
    /// the runs accepted before the last few seconds (later ones may still be on their way
    /// through the log), and reads again a replica that lacks some. Returns how many replicas
    /// were repaired.
    pub async fn reconcile(&self) -> Result<u32, ErrorBody> {
        // A contest whose start this node never heard of (the log was down) is loaded too.
        self.load_all().await?;
        // Runs committed this long ago have been logged, unless the log lost them.
        const SETTLE_MS: u64 = 3_000;
        let cutoff = now_ms().saturating_sub(SETTLE_MS) / 1_000 * 1_000;
        let keys: Vec<String> = self.contests.iter().map(|c| c.key().clone()).collect();
        let mut repaired = 0;
        for key in keys {
            let Some(contest) = self.contests.get(&key).map(|c| c.clone()) else {
                continue;
            };
            let (store_key, held) = {
                let c = contest.lock();
                (c.store_key(), c.accepted().before(cutoff))
            };
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            let stored = runs::count(&mut conn, store_key, to_i64(cutoff))
                .await
                .map_err(db_error)?;
            if to_u64(stored) == held {
                continue;
            }
            let rows = runs::of_contest(&mut conn, store_key, to_i64(cutoff))
                .await
                .map_err(db_error)?;
            drop(conn);
            tracing::info!(
                key,
                stored,
                held,
                "a scoreboard missed runs; reading them from the store"
            );
            let mut c = contest.lock();
            for run in rows.iter().filter_map(LoggedRun::of) {
                c.add(&self.preset, &run);
            }
            drop(c);
            self.mark_dirty(&key);
            repaired += 1;
        }
        Ok(repaired)
    }

    /// Reads a contest's runs from its snapshot and the log after it or, failing that, from
    /// the store.
    async fn restore(&self, key: &str, fresh: Contest) -> Result<Contest, ErrorBody> {
        if let Some(contest) = self.read_snapshot(key).await? {
            return Ok(contest);
        }
        let mut contest = fresh;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = runs::of_contest(&mut conn, contest.store_key(), i64::MAX)
            .await
            .map_err(db_error)?;
        for run in rows.iter().filter_map(LoggedRun::of) {
            contest.add(&self.preset, &run);
        }
        Ok(contest)
    }
}

/// Hears `sys:contests` for the service without keeping it alive.
struct Listener {
    service: Weak<WarService>,
}

impl SystemListener for Listener {
    fn event(&self, event: &LogEvent) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        match &*event.ev {
            EV_RUNS => match RunsEvent::deserialize(&event.d) {
                Ok(batch) => service.apply_runs(&batch.runs),
                Err(e) => tracing::warn!(error = %e, "an unreadable batch of runs"),
            },
            EV_CONTEST => match ContestEvent::deserialize(&event.d) {
                Ok(c) if c.status == "ended" => service.forget(&c.key),
                Ok(c) => {
                    let service = service.clone();
                    tokio::spawn(async move {
                        if let Err(e) = service.load(&c.key).await {
                            tracing::warn!(error = %e.msg, key = c.key, "loading a contest failed");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "an unreadable contest event"),
            },
            _ => {}
        }
        *service.log_pos.lock() = Some(Position {
            ep: event.ep.clone(),
            off: event.off,
        });
    }

    fn reset(&self, _room: &str) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        // The log restarted: what it carried is in the store; compare everything now.
        tokio::spawn(async move {
            if let Err(e) = service.load_all().await {
                tracing::warn!(error = %e.msg, "reloading contests failed");
            }
            if let Err(e) = service.reconcile().await {
                tracing::warn!(error = %e.msg, "comparing scoreboards with the store failed");
            }
        });
    }
}

impl WarService {
    /// The latest flagged runs, newest first, for moderators.
    pub async fn flagged_runs(&self, limit: u32) -> Result<FlaggedRuns, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = runs::flagged(&mut conn, i64::from(limit.clamp(1, 1_000)))
            .await
            .map_err(db_error)?;
        let runs = rows
            .into_iter()
            .map(|r| FlaggedRun {
                run_id: r.run_id,
                user: r.user_id,
                guild: r.guild_id.map(to_u64),
                dna: to_u64(r.dna),
                duration_ms: to_u64(r.duration_ms),
                finished_at: to_u64(r.finished_ms),
                accepted_at: to_u64(r.accepted_ms),
                counted: r.accepted == 1,
                flag: r.flag.unwrap_or_default(),
            })
            .collect();
        Ok(FlaggedRuns { runs })
    }
}
