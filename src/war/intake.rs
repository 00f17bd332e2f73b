//! Runs coming in: checked for plausibility, assigned to the contests they count in, written
//! in group commits (one transaction per batch, however many callers wait on it), and
//! acknowledged only once committed. A run id is stored once: a retry is answered with the
//! first report's outcome and changes nothing.
//!
//! After each commit the batch's counted runs go out on the contest log (`sys:contests`), from
//! which every node's replica — this one's too — counts them. A retried run is logged again:
//! its first report may have committed on a node that died before logging it, and a replica
//! counts each id once anyway.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use dashmap::DashMap;
use guildhall_protocol::{ErrorBody, ErrorCode, RunAccepted};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::replica::LoggedRun;
use super::WarService;
use crate::clock::now_ms;
use crate::config::{OutlierPolicy, RunsConfig};
use crate::guild::errors::{self, db_error};
use crate::store::guild::members;
use crate::store::to_i64;
use crate::store::war::runs::{self, RunRow};
use crate::store::war::{raids as raid_rows, wars as war_rows};

/// Longest run id, bytes.
pub const MAX_RUN_ID: usize = 128;
/// Runs waiting for the writer before callers are told to retry.
const QUEUE: usize = 65_536;

/// A run as reported.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub run_id: String,
    pub user: String,
    pub dna: u64,
    /// Absent when the reporter does not know it (a backend's older integration): then it is
    /// not judged.
    pub duration_ms: Option<u64>,
    /// Absent means now.
    pub finished_at: Option<u64>,
}

struct Pending {
    row: RunRow,
    /// The stored row, and whether this report was a retry.
    reply: oneshot::Sender<Result<(RunRow, bool), ErrorBody>>,
}

/// The front of the writer: a bounded queue, and each user's DNA in the current minute.
pub struct Intake {
    tx: mpsc::Sender<Pending>,
    rx: parking_lot::Mutex<Option<mpsc::Receiver<Pending>>>,
    minute: DashMap<String, (u64, u64)>,
}

impl Intake {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Intake {
            tx,
            rx: parking_lot::Mutex::new(Some(rx)),
            minute: DashMap::new(),
        }
    }

    /// Adds `dna` to the user's current minute; the minute's total.
    fn dna_this_minute(&self, user: &str, dna: u64, now: u64) -> u64 {
        let minute = now / 60_000;
        let mut entry = self.minute.entry(user.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 = entry.1.saturating_add(dna);
        entry.1
    }

    /// Forgets minutes that are over.
    pub fn sweep(&self) {
        let minute = now_ms() / 60_000;
        self.minute.retain(|_, (m, _)| *m == minute);
    }
}

impl Default for Intake {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a run is an outlier, if it is one.
fn flag_of(c: &RunsConfig, r: &RunReport, minute_dna: u64, now: u64) -> Option<&'static str> {
    if r.dna > c.max_dna_per_run {
        Some("dna_per_run")
    } else if r.duration_ms.is_some_and(|d| d < c.min_duration_ms) {
        Some("too_short")
    } else if r
        .finished_at
        .is_some_and(|at| at > now.saturating_add(c.max_clock_skew_ms))
    {
        Some("future")
    } else if minute_dna > c.max_dna_per_minute {
        Some("dna_per_minute")
    } else {
        None
    }
}

fn checked(r: &RunReport) -> Result<(), ErrorBody> {
    if r.run_id.is_empty()
        || r.run_id.len() > MAX_RUN_ID
        || r.run_id.chars().any(|c| c.is_control())
    {
        return Err(errors::invalid(format!(
            "run_id is 1 to {MAX_RUN_ID} bytes, no control characters"
        )));
    }
    if !crate::domain::room::is_valid_user_id(&r.user) {
        return Err(errors::invalid("not a valid user id"));
    }
    if i64::try_from(r.dna).is_err() || r.duration_ms.is_some_and(|d| i64::try_from(d).is_err()) {
        return Err(errors::invalid("dna and duration_ms must fit in 63 bits"));
    }
    Ok(())
}

/// What a stored run says to its reporter.
pub fn answer(row: &RunRow, duplicate: bool) -> Result<RunAccepted, ErrorBody> {
    if row.accepted != 1 {
        return Err(ErrorBody::new(
            ErrorCode::Implausible,
            format!(
                "run {} is implausible ({}) and was not counted",
                row.run_id,
                row.flag.as_deref().unwrap_or("outlier")
            ),
        ));
    }
    Ok(RunAccepted {
        run_id: row.run_id.clone(),
        duplicate,
        war: row.war_id.map(crate::store::to_u64),
        raid: row.raid_id.map(crate::store::to_u64),
        flag: row.flag.clone(),
    })
}

impl WarService {
    /// Stores a run (once per id) and answers when it is durable.
    pub async fn submit_run(&self, report: RunReport) -> Result<RunAccepted, ErrorBody> {
        checked(&report)?;
        let now = now_ms();
        let minute = self.intake.dna_this_minute(&report.user, report.dna, now);
        let flag = flag_of(&self.runs_config, &report, minute, now);
        let refused = flag.is_some() && self.runs_config.outliers == OutlierPolicy::Refuse;
        // A run from the future counts as finishing now: its claimed time must not carry it
        // into a window it was not played in.
        let finished = report.finished_at.unwrap_or(now).min(now);
        let row = RunRow {
            run_id: report.run_id,
            user_id: report.user,
            guild_id: None,
            dna: to_i64(report.dna),
            duration_ms: to_i64(report.duration_ms.unwrap_or(0)),
            finished_ms: to_i64(finished),
            accepted_ms: to_i64(now),
            accepted: i64::from(!refused),
            flag: flag.map(str::to_owned),
            war_id: None,
            raid_id: None,
        };
        let (reply, answer_rx) = oneshot::channel();
        if self.intake.tx.try_send(Pending { row, reply }).is_err() {
            return Err(ErrorBody::new(
                ErrorCode::Unavailable,
                "too many runs waiting to be stored; retry shortly",
            ));
        }
        let (stored, duplicate) = answer_rx
            .await
            .map_err(|_| ErrorBody::new(ErrorCode::Unavailable, "the node is stopping; retry"))??;
        // The stored row answers: a retry gets the first report's outcome.
        answer(&stored, duplicate)
    }

    /// The writer: takes whatever runs wait (up to a batch), commits them in one transaction,
    /// logs the counted ones, then answers every caller.
    pub async fn write_runs(self: Arc<Self>, stop: CancellationToken) {
        let Some(mut rx) = self.intake.rx.lock().take() else {
            return;
        };
        let max = self.runs_config.batch_max.max(1);
        let mut batch: Vec<Pending> = Vec::with_capacity(max);
        loop {
            let first = tokio::select! {
                p = rx.recv() => p,
                _ = stop.cancelled() => None,
            };
            let Some(first) = first else { break };
            batch.push(first);
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.write_batch(&mut batch).await;
        }
        // Drain: whatever was queued is written before the node stops.
        rx.close();
        while let Some(p) = rx.recv().await {
            batch.push(p);
            if batch.len() >= max {
                self.write_batch(&mut batch).await;
            }
        }
        if !batch.is_empty() {
            self.write_batch(&mut batch).await;
        }
    }

    async fn write_batch(&self, batch: &mut Vec<Pending>) {
        let pending = std::mem::take(batch);
        let rows: Vec<RunRow> = pending.iter().map(|p| p.row.clone()).collect();
        match self.commit_runs(rows).await {
            Ok((stored, mut new)) => {
                let logged: Vec<LoggedRun> = stored.values().filter_map(LoggedRun::of).collect();
                self.log_runs(logged).await;
                for p in pending {
                    // The first report of a new id in this batch is the new one; any other
                    // report of it is a retry.
                    let duplicate = !new.remove(&p.row.run_id);
                    let answer = match stored.get(&p.row.run_id) {
                        // Another player's run under this id: not theirs to read or retry.
                        Some(row) if row.user_id != p.row.user_id => Err(ErrorBody::new(
                            ErrorCode::Conflict,
                            "this run_id is another run's",
                        )),
                        Some(row) => Ok((row.clone(), duplicate)),
                        None => Err(ErrorBody::new(
                            ErrorCode::Internal,
                            "the run was not stored",
                        )),
                    };
                    let _ = p.reply.send(answer);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.msg, runs = pending.len(), "a batch of runs was not stored");
                for p in pending {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// One transaction: the runs' guilds and contests, the insert (new ids only), the
    /// contests re-checked under their row locks, the rosters. Returns every run id's stored
    /// row (the first report's, for a retry) and the ids that were new.
    async fn commit_runs(
        &self,
        mut rows: Vec<RunRow>,
    ) -> Result<(HashMap<String, RunRow>, BTreeSet<String>), ErrorBody> {
        let users: BTreeSet<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
        let users: Vec<&str> = users.into_iter().collect();
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let guild_of: HashMap<String, i64> = members::guilds_of(&mut conn, &users)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        // The contests from the store, not from this node's replicas: a contest that started
        // on another node a moment ago counts runs here at once.
        let guilds: Vec<i64> = guild_of
            .values()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let wars = war_rows::active_of_guilds(&mut conn, &guilds)
            .await
            .map_err(db_error)?;
        let raids = raid_rows::active_of_guilds(&mut conn, &guilds)
            .await
            .map_err(db_error)?;
        drop(conn);
        // (guild, id, start, end): the contest of `guild` whose window holds `at`.
        let pick = |contests: &[(i64, i64, i64, i64)], guild: i64, at: i64| {
            contests
                .iter()
                .find(|(g, _, start, end)| *g == guild && *start <= at && at < *end)
                .map(|(_, id, _, _)| *id)
        };
        for row in &mut rows {
            row.guild_id = guild_of.get(&row.user_id).copied();
            if row.accepted == 1 {
                if let Some(g) = row.guild_id {
                    row.war_id = pick(&wars, g, row.finished_ms);
                    row.raid_id = pick(&raids, g, row.finished_ms);
                }
            }
        }
        // Within a batch the first report of an id is the one stored.
        let mut seen = std::collections::HashSet::new();
        let mut unique: Vec<RunRow> = rows
            .iter()
            .filter(|r| seen.insert(r.run_id.clone()))
            .cloned()
            .collect();
        // Inserted in id order: two batches holding the same retried ids (sent to two nodes)
        // then take their keys in the same order, and one waits for the other instead of the
        // two deadlocking.
        unique.sort_by(|a, b| a.run_id.cmp(&b.run_id));

        let mut tx = self.db.begin().await.map_err(db_error)?;
        // The insert first: on SQLite it takes the write lock before anything is read.
        let new: BTreeSet<String> = runs::insert_new(&mut tx, &unique)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        let mut stored: HashMap<String, RunRow> = unique
            .into_iter()
            .filter(|r| new.contains(&r.run_id))
            .map(|r| (r.run_id.clone(), r))
            .collect();
        // A contest that ended while these runs were assigned to it: they do not count there.
        // Ending a contest updates its row first, so this read (a share lock on PostgreSQL, the
        // write lock already held on SQLite) sees the end if it committed, or holds it off.
        let (wars, raids) = contests_of(stored.values());
        for (table, column, ids) in [("wars", "war_id", wars), ("raids", "raid_id", raids)] {
            if ids.is_empty() {
                continue;
            }
            let live: BTreeSet<i64> =
                runs::still_active(&mut tx, table, &ids, self.db.is_postgres())
                    .await
                    .map_err(db_error)?
                    .into_iter()
                    .collect();
            for dead in ids.iter().filter(|id| !live.contains(id)) {
                let mut cleared = Vec::new();
                for r in stored.values_mut() {
                    let slot = if table == "wars" {
                        &mut r.war_id
                    } else {
                        &mut r.raid_id
                    };
                    if *slot == Some(*dead) {
                        *slot = None;
                        cleared.push(r.run_id.clone());
                    }
                }
                runs::unassign(&mut tx, column, &cleared)
                    .await
                    .map_err(db_error)?;
            }
        }
        // A runner joins their side's roster (the share of participants counts them).
        let mut roster: BTreeSet<(i64, i64, String)> = BTreeSet::new();
        for r in stored.values() {
            if let (Some(w), Some(g)) = (r.war_id, r.guild_id) {
                roster.insert((w, g, r.user_id.clone()));
            }
        }
        let mut by_side: HashMap<(i64, i64), Vec<String>> = HashMap::new();
        for (w, g, u) in roster {
            by_side.entry((w, g)).or_default().push(u);
        }
        for ((w, g), users) in by_side {
            crate::store::war::wars::add_to_roster(&mut tx, w, g, &users)
                .await
                .map_err(db_error)?;
        }
        // Retries: their first report, as stored.
        let retried: Vec<&str> = rows
            .iter()
            .map(|r| r.run_id.as_str())
            .filter(|id| !new.contains(*id))
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .collect();
        if !retried.is_empty() {
            for row in runs::get_many(&mut tx, &retried).await.map_err(db_error)? {
                stored.insert(row.run_id.clone(), row);
            }
        }
        tx.commit().await.map_err(db_error)?;
        Ok((stored, new))
    }
}

fn contests_of<'a>(rows: impl Iterator<Item = &'a RunRow>) -> (Vec<i64>, Vec<i64>) {
    let mut wars = BTreeSet::new();
    let mut raids = BTreeSet::new();
    for r in rows {
        wars.extend(r.war_id);
        raids.extend(r.raid_id);
    }
    (wars.into_iter().collect(), raids.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dna: u64, duration_ms: u64, finished_at: Option<u64>) -> RunReport {
        RunReport {
            run_id: "r1".into(),
            user: "u1".into(),
            dna,
            duration_ms: Some(duration_ms),
            finished_at,
        }
    }

    #[test]
    fn outliers_and_their_flags() {
        let c = RunsConfig::default();
        let now = 1_000_000_000;
        // (report, DNA this minute, flag)
        let table = [
            (report(1_000, 60_000, None), 1_000, None),
            (report(c.max_dna_per_run, 60_000, None), 0, None),
            (
                report(c.max_dna_per_run + 1, 60_000, None),
                0,
                Some("dna_per_run"),
            ),
            (report(1_000, c.min_duration_ms, None), 0, None),
            (
                report(1_000, c.min_duration_ms - 1, None),
                0,
                Some("too_short"),
            ),
            (
                RunReport {
                    duration_ms: None,
                    ..report(1_000, 0, None)
                },
                0,
                None,
            ),
            (
                report(1_000, 60_000, Some(now + c.max_clock_skew_ms)),
                0,
                None,
            ),
            (
                report(1_000, 60_000, Some(now + c.max_clock_skew_ms + 1)),
                0,
                Some("future"),
            ),
            (report(1_000, 60_000, None), c.max_dna_per_minute, None),
            (
                report(1_000, 60_000, None),
                c.max_dna_per_minute + 1,
                Some("dna_per_minute"),
            ),
        ];
        for (r, minute, want) in table {
            assert_eq!(flag_of(&c, &r, minute, now), want, "{r:?} {minute}");
        }
    }

    #[test]
    fn bad_reports_are_refused_before_any_work() {
        let ok = report(1, 10_000, None);
        assert!(checked(&ok).is_ok());
        for bad in [
            RunReport {
                run_id: String::new(),
                ..ok.clone()
            },
            RunReport {
                run_id: "x".repeat(MAX_RUN_ID + 1),
                ..ok.clone()
            },
            RunReport {
                run_id: "a\nb".into(),
                ..ok.clone()
            },
            RunReport {
                user: "a:b".into(),
                ..ok.clone()
            },
            RunReport {
                dna: u64::MAX,
                ..ok.clone()
            },
        ] {
            assert_eq!(
                checked(&bad).map_err(|e| e.code),
                Err(ErrorCode::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_minute_of_dna_resets_with_the_minute() {
        let intake = Intake::new();
        assert_eq!(intake.dna_this_minute("u", 10, 60_000), 10);
        assert_eq!(intake.dna_this_minute("u", 5, 119_999), 15);
        assert_eq!(intake.dna_this_minute("u", 7, 120_000), 7);
        assert_eq!(intake.dna_this_minute("v", 1, 120_000), 1);
    }
}
