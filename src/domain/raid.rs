//! Guild raids (RULES.md § Raids, seed 003 §IV): a guild's members wear down a boss of
//! 1,000,000 HP with their runs over 48 hours. Each run deals DNA × 10 damage; the boss turns
//! to phase 2 at 666,666 HP remaining and to phase 3 at 333,333 (inclusive: at exactly 666,666
//! it is in phase 2). The guild wins if the HP reaches 0 inside the window.
//!
//! The raid's state is a pure function of the set of accepted runs (idempotent by run id) and
//! the window, so every node converges on the same HP (DESIGN.md § Authority and durability).
//! Runs are taken in the order they finished (then by id, for runs finished in the same
//! millisecond): the run that takes the last HP is the killing blow, it is credited with the
//! HP it took (not its overkill), and the raid is over: runs after it count for nothing, so
//! neither a reward tier nor an MVP place can be farmed on a dead boss.
//!
//! The caller passes only runs credited to the guild's raid (by members, while members: see
//! `war::member_at`), and checks that the guild may raid at all
//! (`levels::raid_unlocked`: level 40 in SupaSnake's preset).
//!
//! Rewards: on victory, 10+ runs → 5,000 DNA and the boss's mythic cosmetic; 5-9 runs → 2,000
//! DNA; the top 3 damage dealers are MVPs. On defeat only the 5+ runs tier pays ("participation
//! rewards only"): 2,000 DNA for anyone with 5 runs or more, no cosmetic, no MVP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::guild::levels::XpSource;
use crate::domain::war::{distinct_runs, Run, Window};

pub const HOUR_MS: u64 = 3_600_000;

/// A boss phase, 1-based.
pub type Phase = u32;

/// The boss of one raid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaidBoss {
    pub hp: u64,
    /// HP remaining at which each phase after the first begins, in descending order: phase
    /// `n + 2` begins when the remaining HP is at most `phase_at[n]`.
    pub phase_at: Vec<u64>,
    /// The mythic cosmetic a 10+ run raider gets on victory.
    pub cosmetic: String,
}

/// The numbers of raids. `Default` is SupaSnake's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaidRules {
    pub boss: RaidBoss,
    /// Damage per DNA of a run.
    pub damage_per_dna: u64,
    pub duration_ms: u64,
    /// Reward tiers; a raider gets the first (in this order) whose `min_runs` they reach and
    /// which pays on the raid's outcome.
    pub tiers: Vec<Tier>,
    /// How many top damage dealers are MVPs on victory.
    pub mvps: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub min_runs: u32,
    /// DNA paid to each raider in the tier.
    pub dna: u64,
    /// Whether the tier carries the boss's mythic cosmetic.
    pub cosmetic: bool,
    /// Whether the tier pays when the boss survives.
    pub on_defeat: bool,
}

impl Default for RaidRules {
    fn default() -> Self {
        RaidRules {
            boss: RaidBoss {
                hp: 1_000_000,
                phase_at: vec![666_666, 333_333],
                // Seed 003 §4.3's example.
                cosmetic: "inferno_demon_skin".into(),
            },
            damage_per_dna: 10,
            duration_ms: 48 * HOUR_MS,
            tiers: vec![
                Tier {
                    min_runs: 10,
                    dna: 5_000,
                    cosmetic: true,
                    on_defeat: false,
                },
                Tier {
                    min_runs: 5,
                    dna: 2_000,
                    cosmetic: false,
                    on_defeat: true,
                },
            ],
            mvps: 3,
        }
    }
}

/// The window of a raid starting at `start_ms`.
pub fn window(rules: &RaidRules, start_ms: u64) -> Window {
    Window::lasting(start_ms, rules.duration_ms)
}

/// The damage a run of `dna` deals (DNA × 10), saturating.
pub fn damage_of(rules: &RaidRules, dna: u64) -> u64 {
    dna.saturating_mul(rules.damage_per_dna)
}

/// The phase of a boss with `remaining` HP: 1, then one more for each `phase_at` reached
/// (remaining ≤ threshold).
pub fn phase_of(boss: &RaidBoss, remaining: u64) -> Phase {
    let reached = boss.phase_at.iter().filter(|&&at| remaining <= at).count();
    1 + u32::try_from(reached).unwrap_or(u32::MAX - 1)
}

/// A raider's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raider {
    pub user: String,
    /// Runs that count: in the window, up to the killing blow, each id once.
    pub runs: u32,
    /// Damage dealt (the killing blow counts only the HP it took).
    pub damage: u64,
}

/// A raid at some point: what the boss has left and who did what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaidState {
    pub remaining: u64,
    pub phase: Phase,
    /// When the killing blow finished, if the boss is down.
    pub defeated_ms: Option<u64>,
    /// One entry per raider with a counting run, sorted by user id.
    pub raiders: Vec<Raider>,
}

impl RaidState {
    pub fn damage(&self) -> u64 {
        self.raiders
            .iter()
            .fold(0u64, |s, r| s.saturating_add(r.damage))
    }
}

/// The raid's state from its runs (any order, duplicates allowed) and its window.
pub fn raid_state(rules: &RaidRules, runs: &[Run], window: Window) -> RaidState {
    let mut runs: Vec<&Run> = distinct_runs(runs)
        .into_iter()
        .filter(|r| window.contains(r.at_ms))
        .collect();
    runs.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    raid_state_in_order(
        rules,
        runs.iter().map(|r| (r.user.as_str(), r.dna, r.at_ms)),
    )
}

/// [`raid_state`] of runs already distinct, inside the window and in the order they finished
/// (then by id), given as (user, DNA, finished at): what a live replica that keeps its runs
/// sorted folds without copying them.
pub fn raid_state_in_order<'a>(
    rules: &RaidRules,
    runs: impl IntoIterator<Item = (&'a str, u64, u64)>,
) -> RaidState {
    let mut remaining = rules.boss.hp;
    let mut defeated_ms = None;
    let mut by_user: BTreeMap<&str, Raider> = BTreeMap::new();
    for (user, dna, at_ms) in runs {
        if remaining == 0 {
            break;
        }
        let dealt = damage_of(rules, dna).min(remaining);
        remaining -= dealt;
        let raider = by_user.entry(user).or_insert_with(|| Raider {
            user: user.to_owned(),
            runs: 0,
            damage: 0,
        });
        raider.runs = raider.runs.saturating_add(1);
        raider.damage = raider.damage.saturating_add(dealt);
        if remaining == 0 {
            defeated_ms = Some(at_ms);
        }
    }
    RaidState {
        remaining,
        phase: phase_of(&rules.boss, remaining),
        defeated_ms,
        raiders: by_user.into_values().collect(),
    }
}

/// A change of phase between two states of one raid, for the live push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseChange {
    pub from: Phase,
    /// May skip a phase: one big run can take the boss from phase 1 to 3.
    pub to: Phase,
}

/// The phase change from `before` to `after`, if any. Phases only go up as runs arrive; a
/// lower phase (`after` built from fewer runs) is reported as it is, not hidden.
pub fn phase_change(before: &RaidState, after: &RaidState) -> Option<PhaseChange> {
    (before.phase != after.phase).then_some(PhaseChange {
        from: before.phase,
        to: after.phase,
    })
}

/// Whether the boss went down between `before` and `after`.
pub fn just_defeated(before: &RaidState, after: &RaidState) -> bool {
    before.defeated_ms.is_none() && after.defeated_ms.is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaidOutcome {
    /// The boss stands and the window is open.
    Running,
    Victory,
    /// The window closed with the boss standing.
    Defeat,
}

impl RaidOutcome {
    pub const ALL: [RaidOutcome; 3] = [
        RaidOutcome::Running,
        RaidOutcome::Victory,
        RaidOutcome::Defeat,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RaidOutcome::Running => "running",
            RaidOutcome::Victory => "victory",
            RaidOutcome::Defeat => "defeat",
        }
    }
}

/// Where the raid stands at `now_ms`. A state built from the window's runs can only be
/// defeated inside the window, so a victory stands whenever it is asked about.
pub fn raid_outcome(state: &RaidState, window: Window, now_ms: u64) -> RaidOutcome {
    if state.defeated_ms.is_some() {
        RaidOutcome::Victory
    } else if now_ms >= window.end_ms {
        RaidOutcome::Defeat
    } else {
        RaidOutcome::Running
    }
}

/// The guild XP of a finished raid, from the preset (`levels::xp_for`): 10,000 / 5,000.
pub fn xp_source(victory: bool) -> XpSource {
    if victory {
        XpSource::RaidVictory
    } else {
        XpSource::RaidDefeat
    }
}

/// The tier a raider with `runs` runs gets, if any.
pub fn reward_tier(rules: &RaidRules, runs: u32, victory: bool) -> Option<&Tier> {
    rules
        .tiers
        .iter()
        .find(|t| runs >= t.min_runs && (victory || t.on_defeat))
}

/// The top `n` damage dealers, most damage first (ties: user id).
pub fn top_damage(state: &RaidState, n: usize) -> Vec<&Raider> {
    let mut ranked: Vec<&Raider> = state.raiders.iter().filter(|r| r.damage > 0).collect();
    ranked.sort_by(|a, b| b.damage.cmp(&a.damage).then_with(|| a.user.cmp(&b.user)));
    ranked.truncate(n);
    ranked
}

/// What one raider gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaidReward {
    pub user: String,
    pub dna: u64,
    /// The boss's mythic cosmetic id.
    pub cosmetic: Option<String>,
    pub mvp: bool,
}

/// The rewards of a finished raid, sorted by user id; raiders who get nothing are left out.
pub fn raid_rewards(rules: &RaidRules, state: &RaidState, victory: bool) -> Vec<RaidReward> {
    let mvps: Vec<&str> = if victory {
        top_damage(state, rules.mvps)
            .into_iter()
            .map(|r| r.user.as_str())
            .collect()
    } else {
        Vec::new()
    };
    state
        .raiders
        .iter()
        .map(|r| {
            let tier = reward_tier(rules, r.runs, victory);
            RaidReward {
                user: r.user.clone(),
                dna: tier.map_or(0, |t| t.dna),
                cosmetic: tier
                    .filter(|t| t.cosmetic)
                    .map(|_| rules.boss.cosmetic.clone()),
                mvp: mvps.contains(&r.user.as_str()),
            }
        })
        .filter(|r| r.dna > 0 || r.cosmetic.is_some() || r.mvp)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::guild::levels::{raid_unlocked, xp_for};
    use crate::domain::guild::preset::Preset;

    const T0: u64 = 1_700_000_000_000;

    fn rules() -> RaidRules {
        RaidRules::default()
    }

    fn raid() -> Window {
        window(&rules(), T0)
    }

    fn run(id: &str, user: &str, dna: u64, at_ms: u64) -> Run {
        Run {
            id: id.into(),
            user: user.into(),
            dna,
            at_ms,
        }
    }

    #[test]
    fn phases_at_the_boundaries() {
        let boss = rules().boss;
        // (HP remaining, phase)
        let table = [
            (1_000_000, 1),
            (666_667, 1),
            (666_666, 2),
            (666_665, 2),
            (333_334, 2),
            (333_333, 3),
            (333_332, 3),
            (1, 3),
            (0, 3),
        ];
        for (remaining, phase) in table {
            assert_eq!(phase_of(&boss, remaining), phase, "{remaining} HP");
        }
    }

    #[test]
    fn damage() {
        let r = rules();
        // Seed 003 §4.1: "500 DNA collected → 5,000 HP".
        assert_eq!(damage_of(&r, 500), 5_000);
        assert_eq!(damage_of(&r, 0), 0);
        assert_eq!(damage_of(&r, u64::MAX), u64::MAX);
    }

    /// Runs dealing the given damage (DNA = damage / 10), a second apart: remaining, phase.
    #[test]
    fn hp_and_phases_from_runs() {
        // (damage of each run, remaining, phase)
        let table: &[(&[u64], u64, Phase)] = &[
            (&[], 1_000_000, 1),
            (&[333_330], 666_670, 1),
            // Damage comes in tens, so the exact edges (666,667 / 666,666 / 666,665) are in
            // `phases_at_the_boundaries` and `exact_phase_edges_with_a_custom_boss`.
            (&[333_330, 0], 666_670, 1),
            (&[333_330, 3_330], 663_340, 2),
            (&[666_660], 333_340, 2),
            (&[666_670], 333_330, 3),
            (&[999_990], 10, 3),
            (&[1_000_000], 0, 3),
            (&[2_000_000], 0, 3),
            (&[500_000, 500_000, 500_000], 0, 3),
        ];
        for &(damages, remaining, phase) in table {
            let runs: Vec<Run> = damages
                .iter()
                .enumerate()
                .map(|(i, d)| run(&format!("r{i}"), "u", d / 10, T0 + i as u64 * 1_000))
                .collect();
            let s = raid_state(&rules(), &runs, raid());
            assert_eq!((s.remaining, s.phase), (remaining, phase), "{damages:?}");
            assert_eq!(s.damage(), 1_000_000 - remaining, "never below 0 HP");
            assert_eq!(s.defeated_ms.is_some(), remaining == 0);
        }
    }

    #[test]
    fn exact_phase_edges_with_a_custom_boss() {
        // A boss whose phase edges are reachable with whole DNA: damage 1 per DNA.
        let mut r = rules();
        r.damage_per_dna = 1;
        // (damage dealt, phase): 666,667 / 666,666 / 666,665 and 333,334 / 333,333 / 333,332
        // remaining.
        let table = [
            (333_333, 1),
            (333_334, 2),
            (333_335, 2),
            (666_666, 2),
            (666_667, 3),
            (666_668, 3),
        ];
        for (dealt, phase) in table {
            let s = raid_state(&r, &[run("r", "u", dealt, T0)], window(&r, T0));
            assert_eq!(s.phase, phase, "{} remaining", s.remaining);
        }
    }

    /// Seed 003 §4.1's example: 50 members × 10 runs × 400 DNA would deal 2,000,000 and the
    /// boss dies halfway; with runs in time order that is after 250 runs.
    #[test]
    fn the_seed_example() {
        let mut runs = Vec::new();
        for round in 0..10u64 {
            for m in 0..50u64 {
                let at = T0 + (round * 50 + m) * 1_000;
                runs.push(run(
                    &format!("r{round:02}-{m:02}"),
                    &format!("m{m:02}"),
                    400,
                    at,
                ));
            }
        }
        let s = raid_state(&rules(), &runs, raid());
        assert_eq!(s.remaining, 0);
        assert_eq!(s.damage(), 1_000_000);
        // 250 runs of 4,000: the killing blow is round 4's last run.
        assert_eq!(s.defeated_ms, Some(T0 + 249 * 1_000));
        assert!(s.raiders.iter().all(|r| r.runs == 5 && r.damage == 20_000));
        assert_eq!(raid_outcome(&s, raid(), T0 + 250_000), RaidOutcome::Victory);
        // Everyone has 5 runs: the 2,000 tier, not the 10+ one (the later runs hit a dead boss).
        let rewards = raid_rewards(&rules(), &s, true);
        assert_eq!(rewards.len(), 50);
        assert!(rewards
            .iter()
            .all(|r| r.dna == 2_000 && r.cosmetic.is_none()));
        // MVPs: all tied at 20,000, so by user id.
        let mvps: Vec<&str> = rewards
            .iter()
            .filter(|r| r.mvp)
            .map(|r| r.user.as_str())
            .collect();
        assert_eq!(mvps, ["m00", "m01", "m02"]);
    }

    #[test]
    fn what_counts() {
        let w = raid();
        let runs = [
            run("early", "a", 1_000, T0 - 1),
            run("first", "a", 1_000, T0),
            run("first", "a", 1_000, T0), // the same run again
            run("last", "b", 1_000, w.end_ms - 1),
            run("late", "b", 1_000, w.end_ms),
        ];
        let s = raid_state(&rules(), &runs, w);
        assert_eq!(s.remaining, 1_000_000 - 20_000);
        let raiders: Vec<(&str, u32, u64)> = s
            .raiders
            .iter()
            .map(|r| (r.user.as_str(), r.runs, r.damage))
            .collect();
        assert_eq!(raiders, [("a", 1, 10_000), ("b", 1, 10_000)]);
        // Order-free and idempotent.
        let mut again: Vec<Run> = runs.iter().rev().cloned().collect();
        again.extend(runs.iter().cloned());
        assert_eq!(raid_state(&rules(), &again, w), s);
    }

    #[test]
    fn the_killing_blow() {
        // a brings the boss to 10 HP; b's run kills it (credited 10, not 40,000); c's run in
        // the same millisecond sorts after b's by id and hits a dead boss, as does a's later one.
        let runs = [
            run("r1", "a", 99_999, T0),
            run("r3", "c", 4_000, T0 + 5),
            run("r2", "b", 4_000, T0 + 5),
            run("r4", "a", 4_000, T0 + 6),
        ];
        let s = raid_state(&rules(), &runs, raid());
        assert_eq!(s.remaining, 0);
        assert_eq!(s.defeated_ms, Some(T0 + 5));
        let raiders: Vec<(&str, u32, u64)> = s
            .raiders
            .iter()
            .map(|r| (r.user.as_str(), r.runs, r.damage))
            .collect();
        assert_eq!(raiders, [("a", 1, 999_990), ("b", 1, 10)]);
    }

    #[test]
    fn outcomes() {
        let w = raid();
        let standing = raid_state(&rules(), &[run("r", "u", 1, T0)], w);
        let dead = raid_state(&rules(), &[run("r", "u", 100_000, T0 + 1)], w);
        // (state, now, outcome)
        let table = [
            (&standing, T0, RaidOutcome::Running),
            (&standing, w.end_ms - 1, RaidOutcome::Running),
            (&standing, w.end_ms, RaidOutcome::Defeat),
            (&dead, T0 + 1, RaidOutcome::Victory),
            (&dead, w.end_ms + 1, RaidOutcome::Victory),
        ];
        for (s, now, o) in table {
            assert_eq!(raid_outcome(s, w, now), o, "at {}", now - T0);
        }
        assert_eq!(w.end_ms - w.start_ms, 48 * HOUR_MS);
        // Killed by a run one millisecond too late: no victory.
        let late = raid_state(&rules(), &[run("r", "u", 100_000, w.end_ms)], w);
        assert_eq!(raid_outcome(&late, w, w.end_ms), RaidOutcome::Defeat);
        for o in RaidOutcome::ALL {
            assert_eq!(RaidOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(RaidOutcome::parse("Victory"), None);
    }

    #[test]
    fn tiers() {
        let r = rules();
        // (runs, victory, DNA, cosmetic)
        let table = [
            (0, true, None),
            (4, true, None),
            (5, true, Some((2_000, false))),
            (9, true, Some((2_000, false))),
            (10, true, Some((5_000, true))),
            (50, true, Some((5_000, true))),
            (0, false, None),
            (4, false, None),
            (5, false, Some((2_000, false))),
            (9, false, Some((2_000, false))),
            // Defeat: "participation rewards only" — the 5+ tier, for 10+ runs too.
            (10, false, Some((2_000, false))),
            (50, false, Some((2_000, false))),
        ];
        for (runs, victory, expect) in table {
            assert_eq!(
                reward_tier(&r, runs, victory).map(|t| (t.dna, t.cosmetic)),
                expect,
                "{runs} runs, victory {victory}"
            );
        }
    }

    /// Raiders: a 12 runs (120,000 damage), b 10 (100,000), c 7 (70,000), d 5 (5,000), e 4
    /// big ones (200,000), f 1 (100); with `kill`, z's one huge run ends the raid after all
    /// of theirs (credited the 504,900 HP left).
    fn raiders(kill: bool) -> RaidState {
        let mut runs = Vec::new();
        let mut add = |user: &str, count: u64, dna: u64| {
            for i in 0..count {
                runs.push(run(&format!("{user}{i:02}"), user, dna, T0 + i));
            }
        };
        add("a", 12, 1_000);
        add("b", 10, 1_000);
        add("c", 7, 1_000);
        add("d", 5, 100);
        add("e", 4, 5_000);
        add("f", 1, 10);
        if kill {
            runs.push(run("z", "z", 100_000, T0 + 1_000));
        }
        raid_state(&rules(), &runs, raid())
    }

    #[test]
    fn rewards_on_victory() {
        let s = raiders(true);
        assert_eq!(s.defeated_ms, Some(T0 + 1_000));
        let top: Vec<(&str, u64)> = top_damage(&s, 3)
            .iter()
            .map(|r| (r.user.as_str(), r.damage))
            .collect();
        assert_eq!(top, [("z", 504_900), ("e", 200_000), ("a", 120_000)]);
        let got: Vec<(String, u64, Option<String>, bool)> = raid_rewards(&rules(), &s, true)
            .into_iter()
            .map(|r| (r.user, r.dna, r.cosmetic, r.mvp))
            .collect();
        let skin = || Some("inferno_demon_skin".to_string());
        let row = |u: &str, dna, cosmetic, mvp| (u.to_string(), dna, cosmetic, mvp);
        // 10+ runs: 5,000 and the skin; 5-9: 2,000; the MVPs whatever their runs; f nothing.
        assert_eq!(
            got,
            [
                row("a", 5_000, skin(), true),
                row("b", 5_000, skin(), false),
                row("c", 2_000, None, false),
                row("d", 2_000, None, false),
                row("e", 0, None, true),
                row("z", 0, None, true),
            ]
        );
    }

    #[test]
    fn rewards_on_defeat() {
        let s = raiders(false);
        assert_eq!(s.defeated_ms, None);
        let got: Vec<(String, u64, Option<String>, bool)> = raid_rewards(&rules(), &s, false)
            .into_iter()
            .map(|r| (r.user, r.dna, r.cosmetic, r.mvp))
            .collect();
        let row = |u: &str, dna| (u.to_string(), dna, None, false);
        // 5+ runs: 2,000 each, 10+ runs included; no cosmetic, no MVP; e (4 runs, the most
        // damage) and f (1) nothing.
        assert_eq!(
            got,
            [
                row("a", 2_000),
                row("b", 2_000),
                row("c", 2_000),
                row("d", 2_000)
            ]
        );
    }

    #[test]
    fn phase_changes() {
        let r = rules();
        let w = raid();
        let at = |runs: &[Run]| raid_state(&r, runs, w);
        let one = [run("r1", "a", 30_000, T0)]; // 700,000 left: phase 1
        let two = [one[0].clone(), run("r2", "a", 4_000, T0 + 1)]; // 660,000: phase 2
        let three = [
            two[0].clone(),
            two[1].clone(),
            run("r3", "a", 40_000, T0 + 2),
        ]; // 260,000
        let dead = [three[0].clone(), run("r4", "b", 70_000, T0 + 3)]; // 0 from phase 1
        let change = |from, to| Some(PhaseChange { from, to });
        assert_eq!(phase_change(&at(&[]), &at(&one)), None);
        assert_eq!(phase_change(&at(&one), &at(&two)), change(1, 2));
        assert_eq!(phase_change(&at(&two), &at(&three)), change(2, 3));
        assert_eq!(phase_change(&at(&one), &at(&three)), change(1, 3));
        assert_eq!(phase_change(&at(&three), &at(&three)), None);
        assert!(!just_defeated(&at(&one), &at(&three)));
        assert!(just_defeated(&at(&three), &at(&dead)));
        assert!(!just_defeated(&at(&dead), &at(&dead)));
    }

    #[test]
    fn access_and_xp() {
        let p = Preset::builtin("supasnake").expect("builtin");
        assert!(!raid_unlocked(&p, 39));
        assert!(raid_unlocked(&p, 40));
        assert_eq!(xp_for(&p, xp_source(true)), 10_000);
        assert_eq!(xp_for(&p, xp_source(false)), 5_000);
    }
}
