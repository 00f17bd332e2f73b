//! This node's replica of every live contest: the runs each has counted (by id, so a run
//! heard twice counts once) folded into live tallies, and the scoreboards they make.
//!
//! A replica is a function of the set of runs it was given, so replicas on different nodes
//! that heard the same runs — in whatever order, from the log, a snapshot or the store — hold
//! the same scoreboard.

use std::collections::HashSet;

use guildhall_protocol::{Contributor, RaidBoard, Raider, WarBoard, WarSideBoard};
use serde::{Deserialize, Serialize};

use crate::domain::guild::preset::Preset;
use crate::domain::live::{RaidRuns, WarSide};
use crate::domain::raid::{top_damage, Phase};
use crate::domain::war::scoring::{board, Tally};
use crate::domain::war::Window;
use crate::store::war::raids::RaidRow;
use crate::store::war::runs::RunRow;
use crate::store::war::wars::WarRow;
use crate::store::{to_i64, to_u64};

/// A counted run as the run log carries it. On the log it is a JSON array, not an object: a
/// batch carries thousands, and every node parses every batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "WireRun", from = "WireRun")]
pub struct LoggedRun {
    pub id: String,
    pub user: String,
    pub guild: i64,
    pub dna: u64,
    /// When it finished, ms.
    pub at: u64,
    /// When the store accepted it, ms: the replica counts its runs by the second they were
    /// accepted in, to compare with the store's count of the same seconds.
    pub acc: u64,
    pub war: Option<i64>,
    pub raid: Option<i64>,
}

/// [`LoggedRun`] on the log: (id, user, guild, dna, at, acc, war, raid).
#[derive(Serialize, Deserialize)]
struct WireRun(String, String, i64, u64, u64, u64, Option<i64>, Option<i64>);

impl From<LoggedRun> for WireRun {
    fn from(r: LoggedRun) -> Self {
        WireRun(r.id, r.user, r.guild, r.dna, r.at, r.acc, r.war, r.raid)
    }
}

impl From<WireRun> for LoggedRun {
    fn from(WireRun(id, user, guild, dna, at, acc, war, raid): WireRun) -> Self {
        LoggedRun {
            id,
            user,
            guild,
            dna,
            at,
            acc,
            war,
            raid,
        }
    }
}

impl LoggedRun {
    /// The run as it counts, if it counts anywhere.
    pub fn of(row: &RunRow) -> Option<Self> {
        if row.accepted != 1 || (row.war_id.is_none() && row.raid_id.is_none()) {
            return None;
        }
        Some(LoggedRun {
            id: row.run_id.clone(),
            user: row.user_id.clone(),
            guild: row.guild_id?,
            dna: to_u64(row.dna),
            at: to_u64(row.finished_ms),
            acc: to_u64(row.accepted_ms),
            war: row.war_id,
            raid: row.raid_id,
        })
    }
}

/// The name of a contest's room and replica: `war:<id>` or `raid:<id>`.
pub fn war_key(id: i64) -> String {
    format!("war:{id}")
}

pub fn raid_key(id: i64) -> String {
    format!("raid:{id}")
}

/// How many runs a contest holds by the second the store accepted them: the replica's side of
/// the comparison with the store that finds a run the log never delivered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AcceptedCount(std::collections::BTreeMap<u64, u64>);

impl AcceptedCount {
    fn add(&mut self, accepted_ms: u64) {
        *self.0.entry(accepted_ms / 1_000).or_default() += 1;
    }

    /// Runs accepted before the second that holds `ms` began.
    pub fn before(&self, ms: u64) -> u64 {
        self.0.range(..ms / 1_000).map(|(_, n)| n).sum()
    }
}

/// A war as this node holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WarLive {
    pub id: i64,
    pub window: (u64, u64),
    pub benchmark: Option<u64>,
    /// (guild, side): one for a PvE war, two otherwise.
    pub sides: Vec<(i64, WarSide)>,
    pub seen: HashSet<String>,
    pub accepted: AcceptedCount,
}

/// A raid as this node holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RaidLive {
    pub id: i64,
    pub guild: i64,
    pub hp: u64,
    pub window: (u64, u64),
    pub runs: RaidRuns,
    pub seen: HashSet<String>,
    pub accepted: AcceptedCount,
    /// The phase last announced, so each change is pushed once per node.
    #[serde(skip)]
    pub announced_phase: Option<Phase>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Contest {
    War(WarLive),
    Raid(RaidLive),
}

impl WarLive {
    pub fn new(row: &WarRow, roster: &[(i64, String)]) -> Self {
        let guilds = std::iter::once(row.guild_a).chain(row.guild_b);
        let sides = guilds
            .map(|g| {
                let members = roster
                    .iter()
                    .filter(|(guild, _)| *guild == g)
                    .map(|(_, user)| user.clone());
                (g, WarSide::with_roster(members))
            })
            .collect();
        WarLive {
            id: row.id,
            window: (to_u64(row.start_ms), to_u64(row.end_ms)),
            benchmark: row.benchmark.map(to_u64),
            sides,
            seen: HashSet::new(),
            accepted: AcceptedCount::default(),
        }
    }

    /// Counts a run once; true when it was new here.
    pub fn add(&mut self, preset: &Preset, run: &LoggedRun) -> bool {
        let Some((_, side)) = self.sides.iter_mut().find(|(g, _)| *g == run.guild) else {
            return false;
        };
        if !self.seen.insert(run.id.clone()) {
            return false;
        }
        side.add(&preset.war.scoring, &run.user, &run.id, run.dna);
        self.accepted.add(run.acc);
        true
    }

    pub fn board(&self, preset: &Preset, status: &str) -> WarBoard {
        let sides = self
            .sides
            .iter()
            .map(|(guild, side)| side_board(*guild, &side.tally(&preset.war.scoring)))
            .collect();
        WarBoard {
            war: to_u64(self.id),
            starts_at: self.window.0,
            ends_at: self.window.1,
            sides,
            benchmark: self.benchmark,
            runs: self.seen.len() as u64,
            status: status.to_owned(),
        }
    }

    pub fn window(&self) -> Window {
        Window {
            start_ms: self.window.0,
            end_ms: self.window.1,
        }
    }
}

impl RaidLive {
    pub fn new(row: &RaidRow) -> Self {
        RaidLive {
            id: row.id,
            guild: row.guild_id,
            hp: to_u64(row.hp),
            window: (to_u64(row.start_ms), to_u64(row.end_ms)),
            runs: RaidRuns::default(),
            seen: HashSet::new(),
            accepted: AcceptedCount::default(),
            announced_phase: None,
        }
    }

    pub fn add(&mut self, run: &LoggedRun) -> bool {
        if run.guild != self.guild || !self.seen.insert(run.id.clone()) {
            return false;
        }
        self.runs.add(&run.user, &run.id, run.dna, run.at);
        self.accepted.add(run.acc);
        true
    }

    /// The raid rules with this raid's boss HP (fixed when the raid started).
    pub fn rules(&self, preset: &Preset) -> crate::domain::raid::RaidRules {
        let mut rules = preset.raid.clone();
        rules.boss.hp = self.hp;
        rules
    }

    pub fn board(&mut self, preset: &Preset, status: &str) -> RaidBoard {
        let rules = self.rules(preset);
        let runs = self.seen.len() as u64;
        let state = self.runs.state(&rules);
        RaidBoard {
            raid: to_u64(self.id),
            guild: to_u64(self.guild),
            hp: self.hp,
            remaining: state.remaining,
            phase: state.phase,
            starts_at: self.window.0,
            ends_at: self.window.1,
            top: top_damage(state, rules.mvps.max(3))
                .into_iter()
                .take(3)
                .map(|r| Raider {
                    user: r.user.clone(),
                    damage: r.damage,
                    runs: r.runs,
                })
                .collect(),
            runs,
            status: status.to_owned(),
        }
    }

    pub fn defeated(&mut self, preset: &Preset) -> bool {
        let rules = self.rules(preset);
        self.runs.state(&rules).defeated_ms.is_some()
    }
}

impl Contest {
    pub fn key(&self) -> String {
        match self {
            Contest::War(w) => war_key(w.id),
            Contest::Raid(r) => raid_key(r.id),
        }
    }

    pub fn runs(&self) -> usize {
        match self {
            Contest::War(w) => w.seen.len(),
            Contest::Raid(r) => r.seen.len(),
        }
    }

    pub fn accepted(&self) -> &AcceptedCount {
        match self {
            Contest::War(w) => &w.accepted,
            Contest::Raid(r) => &r.accepted,
        }
    }

    /// Which store rows are this contest's.
    pub fn store_key(&self) -> crate::store::war::runs::Contest {
        match self {
            Contest::War(w) => crate::store::war::runs::Contest::War(w.id),
            Contest::Raid(r) => crate::store::war::runs::Contest::Raid(r.id),
        }
    }

    /// Counts a run if it belongs here; true when it changed the contest.
    pub fn add(&mut self, preset: &Preset, run: &LoggedRun) -> bool {
        match self {
            Contest::War(w) if run.war == Some(w.id) => w.add(preset, run),
            Contest::Raid(r) if run.raid == Some(r.id) => r.add(run),
            _ => false,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }
}

/// A guild's line of a war scoreboard, on the wire: the domain's [`board`] of its tally.
pub fn side_board(guild: i64, tally: &Tally) -> WarSideBoard {
    let b = board(guild, tally);
    WarSideBoard {
        guild: to_u64(b.guild),
        score: b.score,
        raw: b.raw,
        multiplier_pct: b.multiplier_pct,
        milestones: b.milestones,
        participants: b.participants,
        members: b.members,
        top: b
            .top
            .into_iter()
            .map(|c| Contributor {
                user: c.user,
                dna: c.dna,
                runs: c.runs,
            })
            .collect(),
    }
}

/// The id of a contest key's kind, or `None`.
pub fn parse_key(key: &str) -> Option<(bool, i64)> {
    if let Some(id) = key.strip_prefix("war:") {
        return id.parse().ok().map(|id| (true, id));
    }
    key.strip_prefix("raid:")?
        .parse()
        .ok()
        .map(|id| (false, id))
}

pub fn i64_of(v: u64) -> i64 {
    to_i64(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_run_travels_as_an_array() {
        let run = LoggedRun {
            id: "r1".into(),
            user: "ann".into(),
            guild: 7,
            dna: 1_200,
            at: 1_700_000_000_000,
            acc: 1_700_000_000_050,
            war: Some(3),
            raid: None,
        };
        let json = serde_json::to_value(&run).expect("encodes");
        assert_eq!(
            json,
            serde_json::json!([
                "r1",
                "ann",
                7,
                1_200,
                1_700_000_000_000u64,
                1_700_000_000_050u64,
                3,
                null
            ])
        );
        assert_eq!(LoggedRun::deserialize(&json).expect("decodes"), run);
    }
}
