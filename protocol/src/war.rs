//! Run, war and raid ops (client → server), their results, and what `war:<id>` and
//! `raid:<id>` rooms push: the live scoreboard (`war.board`, `raid.board`: state ticks, no
//! offset, the latest replaces the last), phase changes, and the final result (`war.ended`,
//! `raid.ended`: ordered log events).

use serde::{Deserialize, Serialize};

use crate::ops::{op, typed, OpError};

#[derive(Clone, Debug, PartialEq)]
pub enum WarOp {
    RunSubmit(RunSubmit),
    Register(WarRegister),
    Get(WarRef),
    RaidStart(RaidStart),
    RaidGet(RaidRef),
    /// Platform moderators: the latest flagged runs.
    Flagged(RunsFlagged),
}

impl WarOp {
    pub(crate) fn parse(op_name: &str, d: &serde_json::Value) -> Option<Result<Self, OpError>> {
        Some(match op_name {
            op::RUN_SUBMIT => typed(op::RUN_SUBMIT, d).map(Self::RunSubmit),
            op::WAR_REGISTER => typed(op::WAR_REGISTER, d).map(Self::Register),
            op::WAR_GET => typed(op::WAR_GET, d).map(Self::Get),
            op::RAID_START => typed(op::RAID_START, d).map(Self::RaidStart),
            op::RAID_GET => typed(op::RAID_GET, d).map(Self::RaidGet),
            op::RUN_FLAGGED => typed(op::RUN_FLAGGED, d).map(Self::Flagged),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::RunSubmit(_) => op::RUN_SUBMIT,
            Self::Register(_) => op::WAR_REGISTER,
            Self::Get(_) => op::WAR_GET,
            Self::RaidStart(_) => op::RAID_START,
            Self::RaidGet(_) => op::RAID_GET,
            Self::Flagged(_) => op::RUN_FLAGGED,
        }
    }

    /// `run.submit` is idempotent by its `run_id` already; `war.register` and `raid.start`
    /// take `idem` too.
    pub fn is_mutating(&self) -> bool {
        matches!(self, Self::Register(_) | Self::RaidStart(_))
    }
}

/// A finished run, reported by the player's client (when the server allows it) or, through
/// `POST /api/runs`, by the game's backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSubmit {
    /// Unique per run: a retry with the same id is answered, never counted twice.
    pub run_id: String,
    pub dna: u64,
    pub duration_ms: u64,
    /// When the run finished, ms since the epoch; absent means now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
}

/// The answer to a run: durable before it is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunAccepted {
    pub run_id: String,
    /// This run id was reported before; this is the first report's answer.
    pub duplicate: bool,
    /// The war the run counts in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub war: Option<u64>,
    /// The raid the run counts in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raid: Option<u64>,
    /// Why moderators should look at it ("dna_per_run", "dna_per_minute", "too_short",
    /// "future"), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarRegister {
    pub guild: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarRegistered {
    pub guild: u64,
    /// When matchmaking for the registered cycle begins, ms.
    pub cycle_at: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarRef {
    pub war: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaidStart {
    pub guild: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RaidRef {
    pub raid: u64,
}

/// `run.flagged`: the latest flagged runs, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunsFlagged {
    /// How many, 1 to 1,000 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A run flagged as an outlier, for moderators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlaggedRun {
    pub run_id: String,
    pub user: String,
    /// The runner's guild when the run arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<u64>,
    pub dna: u64,
    pub duration_ms: u64,
    pub finished_at: u64,
    pub accepted_at: u64,
    /// Whether it counts (the server accepts outliers) or was refused.
    pub counted: bool,
    pub flag: String,
}

/// The result of `run.flagged`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlaggedRuns {
    pub runs: Vec<FlaggedRun>,
}

/// A contributor on a war scoreboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contributor {
    pub user: String,
    /// The DNA of their best runs: what they add to the raw score.
    pub dna: u64,
    pub runs: u32,
}

/// One guild's line of a war scoreboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarSideBoard {
    pub guild: u64,
    /// raw × multiplier (rounded down) + milestones: the number that decides the war.
    pub score: u64,
    pub raw: u64,
    /// 100 = ×1.0, 125 = ×1.25.
    pub multiplier_pct: u32,
    pub milestones: u64,
    pub participants: u32,
    pub members: u32,
    /// The top 3 contributors, best first.
    pub top: Vec<Contributor>,
}

/// The war scoreboard (`war.board`, `war.get`, and inside `war.ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarBoard {
    pub war: u64,
    pub starts_at: u64,
    pub ends_at: u64,
    /// One side per guild; a PvE war has one, and `benchmark`.
    pub sides: Vec<WarSideBoard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<u64>,
    /// Runs counted so far, both sides.
    pub runs: u64,
    /// "active" | "ended"
    pub status: String,
}

/// A war's result (`war.ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarEnded {
    pub board: WarBoard,
    /// The winning guild; absent for a draw or a lost PvE war.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<u64>,
    /// The top 3 contributors of each guild.
    pub mvps: Vec<String>,
    pub rewards: Vec<WarReward>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarReward {
    pub user: String,
    pub guild: u64,
    pub war_coins: u64,
    pub mvp: bool,
}

/// A raider on the raid scoreboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raider {
    pub user: String,
    pub damage: u64,
    pub runs: u32,
}

/// The raid scoreboard (`raid.board`, `raid.get`, and inside `raid.ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaidBoard {
    pub raid: u64,
    pub guild: u64,
    pub hp: u64,
    pub remaining: u64,
    /// 1, 2 or 3.
    pub phase: u32,
    pub starts_at: u64,
    pub ends_at: u64,
    /// The top 3 damage dealers, most first.
    pub top: Vec<Raider>,
    pub runs: u64,
    /// "active" | "victory" | "defeat"
    pub status: String,
}

/// The boss changed phase (`raid.phase`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaidPhase {
    pub raid: u64,
    pub from: u32,
    pub to: u32,
    pub remaining: u64,
}

/// A raid's result (`raid.ended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaidEnded {
    pub board: RaidBoard,
    pub victory: bool,
    pub mvps: Vec<String>,
    pub rewards: Vec<RaidReward>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaidReward {
    pub user: String,
    pub dna: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosmetic: Option<String>,
    pub mvp: bool,
}
