//! Guild wars (RULES.md § Guild wars, seed 003 §III): who meets whom (`matchmaking`), what a
//! guild scores from its members' runs (`scoring`), and what the result does to Elo, streaks
//! and the members' wallets (`results`).
//!
//! A war's score is a pure function of the *set* of accepted runs (idempotent by run id), the
//! guild's membership history and the war window: every node that holds the same runs computes
//! the same scoreboard, whatever the order in which the runs arrived (DESIGN.md § Authority and
//! durability). Nothing here reads a clock; times are `_ms` since the epoch, passed in.
//!
//! The numbers are data ([`WarRules`], SupaSnake's by default) so that a preset can carry them
//! like the guild rules in [`crate::domain::guild::preset`].

use serde::{Deserialize, Serialize};

pub mod matchmaking;
pub mod results;
pub mod schedule;
pub mod scoring;

pub const MINUTE_MS: u64 = 60_000;
pub const HOUR_MS: u64 = 3_600_000;

/// One finished play of the game, as the game backend reported it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Run {
    /// Unique per run: the same id reported twice is one run.
    pub id: String,
    pub user: String,
    /// What the run yielded ("DNA" in SupaSnake), after the guild's DNA perk if the service
    /// applies it (`levels::with_dna_bonus`).
    pub dna: u64,
    /// When the run finished.
    pub at_ms: u64,
}

/// One stretch of a user's membership of the guild, `[from_ms, until_ms)`; `until_ms: None`
/// while still a member. A user who left and came back has several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub user: String,
    pub from_ms: u64,
    pub until_ms: Option<u64>,
}

impl Membership {
    pub fn covers(&self, at_ms: u64) -> bool {
        self.from_ms <= at_ms && self.until_ms.is_none_or(|until| at_ms < until)
    }

    /// Whether any instant of `window` falls in this membership.
    pub fn overlaps(&self, window: Window) -> bool {
        self.from_ms < window.end_ms && self.until_ms.is_none_or(|until| until > window.start_ms)
    }
}

/// Whether `user` was a member at `at_ms` according to `roster`.
pub fn member_at(roster: &[Membership], user: &str, at_ms: u64) -> bool {
    roster.iter().any(|m| m.user == user && m.covers(at_ms))
}

/// A half-open span of time `[start_ms, end_ms)`: a run finishing exactly at the end is late.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_ms: u64,
    pub end_ms: u64,
}

impl Window {
    /// `[start_ms, start_ms + duration_ms)`, saturating.
    pub fn lasting(start_ms: u64, duration_ms: u64) -> Self {
        Window {
            start_ms,
            end_ms: start_ms.saturating_add(duration_ms),
        }
    }

    /// The window of a war starting at `start_ms` and lasting `rules.duration_ms`.
    pub fn war(rules: &WarRules, start_ms: u64) -> Self {
        Self::lasting(start_ms, rules.duration_ms)
    }

    pub fn contains(&self, at_ms: u64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    /// The last instant inside the window (its start if the window is empty).
    pub fn last_ms(&self) -> u64 {
        self.end_ms.saturating_sub(1).max(self.start_ms)
    }
}

/// Every number of the war rules. `Default` is SupaSnake's (seed 003 §III).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarRules {
    /// How long a war lasts once matched (96 hours: Thursday 12:00 → Monday 12:00).
    pub duration_ms: u64,
    pub scoring: scoring::ScoringRules,
    pub matchmaking: matchmaking::MatchRules,
    pub results: results::ResultRules,
    pub schedule: schedule::Schedule,
    /// The score a guild in a PvE war must beat when no war of guilds near its level has
    /// ended yet to take a benchmark from.
    pub pve_benchmark: u64,
}

impl Default for WarRules {
    fn default() -> Self {
        WarRules {
            duration_ms: 96 * HOUR_MS,
            scoring: scoring::ScoringRules::default(),
            matchmaking: matchmaking::MatchRules::default(),
            results: results::ResultRules::default(),
            schedule: schedule::Schedule::default(),
            pve_benchmark: 250_000,
        }
    }
}

/// The runs that count once each: one run per id. Two different runs under one id never pass
/// the store (it is idempotent by run id); should they reach us anyway, the smallest by
/// (id, user, dna, at_ms) is kept, so the answer never depends on the order of the input.
pub fn distinct_runs(runs: &[Run]) -> Vec<&Run> {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort();
    sorted.dedup_by(|later, first| later.id == first.id);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn run(id: &str, user: &str, dna: u64, at_ms: u64) -> Run {
        Run {
            id: id.into(),
            user: user.into(),
            dna,
            at_ms,
        }
    }

    #[test]
    fn the_war_window() {
        let w = Window::war(&WarRules::default(), T0);
        assert_eq!(w.end_ms - w.start_ms, 96 * HOUR_MS);
        // (instant, inside)
        let table = [
            (T0 - 1, false),
            (T0, true),
            (T0 + 96 * HOUR_MS - 1, true),
            (T0 + 96 * HOUR_MS, false),
        ];
        for (at, inside) in table {
            assert_eq!(w.contains(at), inside, "{}", at as i64 - T0 as i64);
        }
        assert_eq!(w.last_ms(), T0 + 96 * HOUR_MS - 1);
        assert_eq!(Window::war(&WarRules::default(), u64::MAX).end_ms, u64::MAX);
    }

    #[test]
    fn memberships() {
        let w = Window {
            start_ms: 100,
            end_ms: 200,
        };
        let m = |from_ms, until_ms| Membership {
            user: "u".into(),
            from_ms,
            until_ms,
        };
        // (from, until, covers 150, overlaps the window)
        let table = [
            (0, None, true, true),
            (150, None, true, true),
            (151, None, false, true),
            (199, None, false, true),
            (200, None, false, false),
            (0, Some(100), false, false),
            (0, Some(101), false, true),
            (0, Some(150), false, true),
            (0, Some(151), true, true),
            (120, Some(130), false, true),
        ];
        for (from, until, covers, overlaps) in table {
            assert_eq!(m(from, until).covers(150), covers, "{from}..{until:?}");
            assert_eq!(m(from, until).overlaps(w), overlaps, "{from}..{until:?}");
        }
        let roster = [m(0, Some(120)), m(140, None)];
        assert!(member_at(&roster, "u", 119));
        assert!(!member_at(&roster, "u", 130));
        assert!(member_at(&roster, "u", 140));
        assert!(!member_at(&roster, "v", 140));
    }

    #[test]
    fn a_run_counts_once_whatever_the_order() {
        let a = run("r1", "u", 10, T0);
        let b = run("r2", "u", 20, T0);
        let odd = run("r1", "u", 999, T0);
        let one = [a.clone(), b.clone(), a.clone(), odd.clone()];
        let two = [odd, b.clone(), a.clone()];
        assert_eq!(distinct_runs(&one), [&a, &b]);
        assert_eq!(distinct_runs(&two), [&a, &b]);
        assert!(distinct_runs(&[]).is_empty());
    }
}
