//! Live tallies: the same war scores and raid states as [`crate::domain::war::scoring::tally`]
//! and [`crate::domain::raid::raid_state`], kept up as runs arrive instead of recomputed from
//! every run. A live scoreboard takes thousands of runs a second; recomputing a war from all its
//! runs on each would sort them all each time.
//!
//! A run reaches a tally at most once (the caller keeps the set of run ids), and a tally
//! equals the batch function's answer over the runs added, in any order: the tests check that
//! on random runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::raid::{damage_of, phase_of, raid_state_in_order, RaidRules, RaidState, Raider};
use crate::domain::war::scoring::{milestone_bonus, score_of, MemberRuns, ScoringRules, Tally};

/// One guild's side of a war: its roster and each member's runs so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WarSide {
    /// Everyone who counts toward the participation share: the members when the war began
    /// and anyone who has had a run counted since.
    roster: BTreeSet<String>,
    members: BTreeMap<String, Counted>,
}

/// A member's runs: how many counted, and the best of them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Counted {
    runs: u32,
    /// (DNA, run id), best first: DNA descending, then id ascending, at most `best_runs`.
    best: Vec<(u64, String)>,
}

impl WarSide {
    pub fn with_roster(roster: impl IntoIterator<Item = String>) -> Self {
        WarSide {
            roster: roster.into_iter().collect(),
            members: BTreeMap::new(),
        }
    }

    /// Counts one run (the caller has checked it is new, in the window and its user's).
    pub fn add(&mut self, rules: &ScoringRules, user: &str, run_id: &str, dna: u64) {
        if !self.roster.contains(user) {
            self.roster.insert(user.to_owned());
        }
        if !self.members.contains_key(user) {
            self.members.insert(user.to_owned(), Counted::default());
        }
        let Some(counted) = self.members.get_mut(user) else {
            return;
        };
        counted.runs = counted.runs.saturating_add(1);
        // The order of `scoring::best_runs`: DNA descending, then id ascending.
        let new = (std::cmp::Reverse(dna), run_id);
        let at = counted
            .best
            .partition_point(|(d, id)| (std::cmp::Reverse(*d), id.as_str()) < new);
        if at < rules.best_runs {
            counted.best.insert(at, (dna, run_id.to_owned()));
            counted.best.truncate(rules.best_runs);
        }
    }

    /// The tally [`crate::domain::war::scoring::tally`] gives for the runs added, with every
    /// roster member still a member (`at_end`); the final result decides who left.
    pub fn tally(&self, rules: &ScoringRules) -> Tally {
        let members: Vec<MemberRuns> = self
            .roster
            .iter()
            .map(|user| {
                let counted = self.members.get(user);
                let best = counted.map_or(&[][..], |c| &c.best[..]);
                let dna = best.iter().fold(0u64, |sum, (d, _)| sum.saturating_add(*d));
                MemberRuns {
                    user: user.clone(),
                    runs: counted.map_or(0, |c| c.runs),
                    dna,
                    best: best.iter().map(|(_, id)| id.clone()).collect(),
                    bonus: milestone_bonus(rules, dna),
                    at_end: true,
                }
            })
            .collect();
        let score = score_of(rules, &members);
        Tally { members, score }
    }

    pub fn roster(&self) -> impl Iterator<Item = &str> {
        self.roster.iter().map(String::as_str)
    }
}

/// A raid's runs and its state, recomputed only when asked after a change.
///
/// While the boss stands, the order of the runs does not matter: the HP left is the full HP
/// less the damage of every run, and each raider's part is the sum of theirs, so the state comes
/// from running sums. Only once the runs together deal the boss's HP does order count (the
/// killing blow is credited with what it took, and runs after it count for nothing): then the
/// runs are sorted by when they finished and folded, once per change. Runs arrive out of order
/// (many nodes, many clients), so they are kept as they come and sorted only then.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RaidRuns {
    /// (finished at, run id, user, DNA), as they arrived.
    runs: Vec<(u64, String, String, u64)>,
    /// Per raider: (runs, DNA).
    raiders: BTreeMap<String, (u32, u64)>,
    /// Σ DNA of every run.
    dna: u128,
    #[serde(skip)]
    state: Option<RaidState>,
}

impl RaidRuns {
    /// Adds one run (the caller has checked it is new and inside the window).
    pub fn add(&mut self, user: &str, run_id: &str, dna: u64, at_ms: u64) {
        self.runs
            .push((at_ms, run_id.to_owned(), user.to_owned(), dna));
        if !self.raiders.contains_key(user) {
            self.raiders.insert(user.to_owned(), (0, 0));
        }
        if let Some((runs, total)) = self.raiders.get_mut(user) {
            *runs = runs.saturating_add(1);
            *total = total.saturating_add(dna);
        }
        self.dna += u128::from(dna);
        self.state = None;
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The raid's state over the runs added.
    pub fn state(&mut self, rules: &RaidRules) -> &RaidState {
        let Self {
            runs,
            raiders,
            dna,
            state,
        } = self;
        state.get_or_insert_with(|| {
            let damage = *dna * u128::from(rules.damage_per_dna);
            if damage < u128::from(rules.boss.hp) {
                standing(rules, raiders, damage)
            } else {
                let mut ordered: Vec<&(u64, String, String, u64)> = runs.iter().collect();
                ordered.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                raid_state_in_order(
                    rules,
                    ordered
                        .into_iter()
                        .map(|(at, _, user, dna)| (user.as_str(), *dna, *at)),
                )
            }
        })
    }
}

/// The state of a boss the runs have not brought down, from the running sums.
fn standing(rules: &RaidRules, raiders: &BTreeMap<String, (u32, u64)>, damage: u128) -> RaidState {
    let remaining = u64::try_from(u128::from(rules.boss.hp) - damage).unwrap_or(0);
    RaidState {
        remaining,
        phase: phase_of(&rules.boss, remaining),
        defeated_ms: None,
        raiders: raiders
            .iter()
            .map(|(user, (runs, dna))| Raider {
                user: user.clone(),
                runs: *runs,
                damage: damage_of(rules, *dna),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::domain::raid::{raid_state, window};
    use crate::domain::war::scoring::tally;
    use crate::domain::war::{Membership, Run, Window};

    const T0: u64 = 1_700_000_000_000;

    fn random_runs(rng: &mut StdRng, n: usize, users: usize) -> Vec<Run> {
        (0..n)
            .map(|i| Run {
                id: format!("r{}", rng.random_range(0..n * 2)),
                user: format!("u{}", rng.random_range(0..users)),
                // Few distinct values, so ties at the 10th place are common.
                dna: rng.random_range(0..8) * 1_000,
                at_ms: T0 + rng.random_range(0..1_000) + i as u64 % 3,
            })
            .collect()
    }

    /// Distinct by id the way the replica keeps them: the first one seen wins, so the batch
    /// function gets the same set.
    fn first_seen(runs: &[Run]) -> Vec<Run> {
        let mut seen = BTreeSet::new();
        runs.iter()
            .filter(|r| seen.insert(r.id.clone()))
            .cloned()
            .collect()
    }

    #[test]
    fn a_live_war_side_equals_the_batch_tally_in_any_order() {
        let rules = ScoringRules::default();
        let window = Window {
            start_ms: T0,
            end_ms: T0 + 10_000,
        };
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..200 {
            let n = rng.random_range(0..300);
            let runs = first_seen(&random_runs(&mut rng, n, 12));
            // Members who never play count toward the share too.
            let roster_users: Vec<String> = (0..15).map(|u| format!("u{u}")).collect();
            let roster: Vec<Membership> = roster_users
                .iter()
                .map(|u| Membership {
                    user: u.clone(),
                    from_ms: 0,
                    until_ms: None,
                })
                .collect();
            let want = tally(&rules, &runs, &roster, window);
            let mut shuffled = runs.clone();
            shuffled.shuffle(&mut rng);
            let mut side = WarSide::with_roster(roster_users.iter().take(5).cloned());
            // The rest of the roster arrives with the war's start; order does not matter.
            for u in roster_users.iter().skip(5) {
                side.roster.insert(u.clone());
            }
            for r in &shuffled {
                side.add(&rules, &r.user, &r.id, r.dna);
            }
            assert_eq!(side.tally(&rules), want, "round {round}");
        }
    }

    #[test]
    fn a_runner_off_the_roster_joins_it() {
        let rules = ScoringRules::default();
        let mut side = WarSide::with_roster(["a".to_owned(), "b".to_owned()]);
        side.add(&rules, "c", "r1", 500);
        let t = side.tally(&rules);
        assert_eq!(t.score.members, 3);
        assert_eq!(t.score.participants, 1);
        assert_eq!(t.score.raw, 500);
        assert_eq!(side.roster().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn live_raid_runs_equal_the_batch_state_in_any_order() {
        let mut rules = RaidRules::default();
        let mut rng = StdRng::seed_from_u64(11);
        for round in 0..200 {
            // Sometimes a boss that dies, sometimes one that survives.
            rules.boss.hp = rng.random_range(1..2_000_000);
            let n = rng.random_range(0..200);
            let runs = first_seen(&random_runs(&mut rng, n, 8));
            let want = raid_state(&rules, &runs, window(&rules, T0));
            let mut shuffled = runs.clone();
            shuffled.shuffle(&mut rng);
            let mut live = RaidRuns::default();
            for (i, r) in shuffled.iter().enumerate() {
                live.add(&r.user, &r.id, r.dna, r.at_ms);
                if i % 17 == 0 {
                    // Reading midway must not disturb what follows.
                    let _ = live.state(&rules);
                }
            }
            assert_eq!(live.state(&rules), &want, "round {round}");
            assert_eq!(live.len(), runs.len());
        }
    }
}
