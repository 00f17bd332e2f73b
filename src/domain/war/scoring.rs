//! A guild's war score (RULES.md § Guild wars, seed 003 §3.3): per member, the DNA of their
//! best 10 runs in the war; summed over members and multiplied by the participation
//! multiplier; plus each member's milestone bonuses.
//!
//! ```text
//! score = floor(raw × multiplier_pct / 100) + Σ milestone_bonus(member's counted DNA)
//! raw   = Σ over members of the DNA of their best 10 runs
//! ```
//!
//! Only the best runs count so that five hours of good play contribute fully and grinding
//! past them does not (seed 003: "prevents no-life grinding"). Scores are integers: the
//! multiplier is a percentage applied with integer arithmetic and rounded down, so every node
//! computes the same number.
//!
//! Milestones are reached on a member's *counted* DNA (their best 10), the same figure they
//! contribute: on all the DNA of the war a member with fifty 2,500-DNA runs would add 75,000
//! in bonuses to a 25,000 contribution, and the war would be about grinders after all — what
//! the seed says the milestones must not do ("without making war purely about them").
//!
//! The seed's worked example ("48 of 50 with raw 1,200,000 scores 1,380,000") is the
//! multiplied part, [`Score::multiplied`]: its formula line leaves the milestones out and lists
//! them apart as a "bonus to guild score". No guild can reach that example with no milestone
//! bonus (48 members below 10,000 collect at most 479,952), so here, as in RULES.md, the
//! bonuses come on top: [`Score::total`] = `multiplied + milestones`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{distinct_runs, Membership, Run, Window};

/// The numbers of the score. `Default` is SupaSnake's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRules {
    /// How many of a member's runs count (their best).
    pub best_runs: usize,
    /// Multiplier by participating share of members: the highest band reached applies.
    pub bands: Vec<Band>,
    /// Each milestone a member's counted DNA reaches adds its bonus.
    pub milestones: Vec<Milestone>,
}

/// From `min_share_pct` percent of members participating (exactly: participants × 100 ≥
/// members × min_share_pct), the raw DNA is multiplied by `multiplier_pct` / 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min_share_pct: u32,
    pub multiplier_pct: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    pub dna: u64,
    pub bonus: u64,
}

impl Default for ScoringRules {
    fn default() -> Self {
        let band = |min_share_pct, multiplier_pct| Band {
            min_share_pct,
            multiplier_pct,
        };
        let milestone = |dna, bonus| Milestone { dna, bonus };
        ScoringRules {
            best_runs: 10,
            bands: vec![band(0, 100), band(80, 110), band(90, 115), band(100, 125)],
            milestones: vec![
                milestone(10_000, 5_000),
                milestone(50_000, 20_000),
                milestone(100_000, 50_000),
            ],
        }
    }
}

/// A member's part in the war.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRuns {
    pub user: String,
    /// Runs that count: in the window, while a member, each id once (all of them, not only the
    /// best: the losers' reward asks for 5 runs).
    pub runs: u32,
    /// The DNA of the best runs: what the member contributes to the raw score.
    pub dna: u64,
    /// Ids of the best runs, best first (DNA descending, then id ascending): the runs kept as
    /// replays.
    pub best: Vec<String>,
    /// The milestone bonuses `dna` reaches.
    pub bonus: u64,
    /// Still a member at the last instant of the window (or now, for a war in progress): the
    /// members who get the guild's rewards.
    pub at_end: bool,
}

impl MemberRuns {
    /// "Participant: at least one run."
    pub fn participated(&self) -> bool {
        self.runs > 0
    }
}

/// A guild's score, broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    /// Everyone who was a member at some instant of the window, whether they played or not,
    /// so kicking idle members mid-war buys no multiplier.
    pub members: u32,
    /// Members with at least one run that counts.
    pub participants: u32,
    /// Σ of members' best-runs DNA.
    pub raw: u64,
    /// 100 = ×1.0, 115 = ×1.15.
    pub multiplier_pct: u32,
    /// floor(raw × multiplier_pct / 100): the seed's "Final Score".
    pub multiplied: u64,
    /// Σ of members' milestone bonuses, not multiplied.
    pub milestones: u64,
    /// `multiplied + milestones`: the number that decides the war.
    pub total: u64,
}

/// Everything the score is made of: one entry per member (sorted by user id) and the score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub members: Vec<MemberRuns>,
    pub score: Score,
}

/// The best `n` of one member's runs: DNA descending, then id ascending, so equal runs are
/// picked the same way on every node. Duplicate ids are the caller's to remove
/// ([`super::distinct_runs`]).
pub fn best_runs<'a>(runs: &[&'a Run], n: usize) -> Vec<&'a Run> {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| b.dna.cmp(&a.dna).then_with(|| a.id.cmp(&b.id)));
    sorted.truncate(n);
    sorted
}

/// The multiplier, in percent, for `participants` of `members`: the highest band whose
/// share is reached, compared in integers (80 % of 50 is 40 exactly; 7 of 9 is below 80 %). No
/// members, or no band reached: 100.
pub fn participation_multiplier(rules: &ScoringRules, participants: u32, members: u32) -> u32 {
    if members == 0 {
        return 100;
    }
    rules
        .bands
        .iter()
        .filter(|b| {
            u64::from(participants) * 100 >= u64::from(members) * u64::from(b.min_share_pct)
        })
        .max_by_key(|b| b.min_share_pct)
        .map_or(100, |b| b.multiplier_pct)
}

/// `amount × pct / 100`, rounded down; u128 inside, so nothing overflows before the clamp.
pub fn apply_pct(amount: u64, pct: u32) -> u64 {
    let product = u128::from(amount) * u128::from(pct) / 100;
    u64::try_from(product).unwrap_or(u64::MAX)
}

/// The bonuses a member with `dna` counted DNA has reached, all of them: 120,000 → 5,000 +
/// 20,000 + 50,000.
pub fn milestone_bonus(rules: &ScoringRules, dna: u64) -> u64 {
    rules
        .milestones
        .iter()
        .filter(|m| dna >= m.dna)
        .fold(0u64, |sum, m| sum.saturating_add(m.bonus))
}

/// A guild's tally from the runs of its members (in any order, duplicates allowed), its
/// membership history (`roster`) and the war `window`. A run counts when it is inside the
/// window and its user was a member when it finished; others are ignored, not errors: a run
/// reported late or by someone who just left simply does not count.
pub fn tally(rules: &ScoringRules, runs: &[Run], roster: &[Membership], window: Window) -> Tally {
    // Everyone who was a member during the window, with no runs yet.
    let mut by_user: BTreeMap<&str, Vec<&Run>> = roster
        .iter()
        .filter(|m| m.overlaps(window))
        .map(|m| (m.user.as_str(), Vec::new()))
        .collect();
    for run in distinct_runs(runs) {
        if !window.contains(run.at_ms) || !super::member_at(roster, &run.user, run.at_ms) {
            continue;
        }
        if let Some(own) = by_user.get_mut(run.user.as_str()) {
            own.push(run);
        }
    }
    let end = window.last_ms();
    let members: Vec<MemberRuns> = by_user
        .into_iter()
        .map(|(user, runs)| {
            let best = best_runs(&runs, rules.best_runs);
            let dna = best.iter().fold(0u64, |sum, r| sum.saturating_add(r.dna));
            MemberRuns {
                user: user.to_owned(),
                runs: u32::try_from(runs.len()).unwrap_or(u32::MAX),
                dna,
                best: best.iter().map(|r| r.id.clone()).collect(),
                bonus: milestone_bonus(rules, dna),
                at_end: super::member_at(roster, user, end),
            }
        })
        .collect();
    let score = score_of(rules, &members);
    Tally { members, score }
}

/// The score of a tally's members (see [`tally`]).
pub fn score_of(rules: &ScoringRules, members: &[MemberRuns]) -> Score {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let member_count = count(members.len());
    let participants = count(members.iter().filter(|m| m.participated()).count());
    let raw = members.iter().fold(0u64, |s, m| s.saturating_add(m.dna));
    let milestones = members.iter().fold(0u64, |s, m| s.saturating_add(m.bonus));
    let multiplier_pct = participation_multiplier(rules, participants, member_count);
    let multiplied = apply_pct(raw, multiplier_pct);
    Score {
        members: member_count,
        participants,
        raw,
        multiplier_pct,
        multiplied,
        milestones,
        total: multiplied.saturating_add(milestones),
    }
}

/// Just the score; see [`tally`].
pub fn score(rules: &ScoringRules, runs: &[Run], roster: &[Membership], window: Window) -> Score {
    tally(rules, runs, roster, window).score
}

/// The `n` members who contributed most: counted DNA descending, then user id ascending.
/// Members who contributed nothing are never listed (a 0-DNA run makes a participant, not a
/// top contributor).
pub fn top_contributors(tally: &Tally, n: usize) -> Vec<&MemberRuns> {
    let mut ranked: Vec<&MemberRuns> = tally.members.iter().filter(|m| m.dna > 0).collect();
    ranked.sort_by(|a, b| b.dna.cmp(&a.dna).then_with(|| a.user.cmp(&b.user)));
    ranked.truncate(n);
    ranked
}

/// A contributor on the live scoreboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contributor {
    pub user: String,
    pub dna: u64,
    pub runs: u32,
}

/// One guild's line on the live scoreboard the war room pushes (RULES.md: "both guilds'
/// scores, multipliers, top contributors").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Board {
    pub guild: i64,
    pub score: u64,
    pub raw: u64,
    pub multiplier_pct: u32,
    pub milestones: u64,
    pub participants: u32,
    pub members: u32,
    /// The top 3 contributors, best first.
    pub top: Vec<Contributor>,
}

/// How many contributors the scoreboard shows (and how many MVPs a war has).
pub const TOP_CONTRIBUTORS: usize = 3;

pub fn board(guild: i64, tally: &Tally) -> Board {
    let s = &tally.score;
    Board {
        guild,
        score: s.total,
        raw: s.raw,
        multiplier_pct: s.multiplier_pct,
        milestones: s.milestones,
        participants: s.participants,
        members: s.members,
        top: top_contributors(tally, TOP_CONTRIBUTORS)
            .into_iter()
            .map(|m| Contributor {
                user: m.user.clone(),
                dna: m.dna,
                runs: m.runs,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const WAR: Window = Window {
        start_ms: T0,
        end_ms: T0 + 96 * 3_600_000,
    };

    fn rules() -> ScoringRules {
        ScoringRules::default()
    }

    fn run(id: &str, user: &str, dna: u64, at_ms: u64) -> Run {
        Run {
            id: id.into(),
            user: user.into(),
            dna,
            at_ms,
        }
    }

    fn member(user: &str) -> Membership {
        Membership {
            user: user.into(),
            from_ms: 0,
            until_ms: None,
        }
    }

    /// `members` users "m00".."m49", all in the guild throughout.
    fn roster(members: usize) -> Vec<Membership> {
        (0..members).map(|i| member(&format!("m{i:02}"))).collect()
    }

    /// `count` runs of `dna` each by `user`, an hour apart from the start of the war.
    fn runs_of(user: &str, count: usize, dna: u64) -> Vec<Run> {
        (0..count)
            .map(|i| {
                let id = format!("{user}-{dna}-{i}");
                run(&id, user, dna, T0 + i as u64 * 3_600_000)
            })
            .collect()
    }

    /// Seed 003 §3.3's two guilds. The seed's "Final Score" is `multiplied`: its formula
    /// leaves milestones out (see the module doc), and here they come on top.
    #[test]
    fn the_seed_example() {
        let r = rules();
        // Guild A: 48 of 50 play; each has 12 runs, and their best 10 make the seed's
        // "top 10 = 25,000 DNA" (10 × 2,500; the two 1,000-DNA runs do not count).
        let mut runs = Vec::new();
        for i in 0..48 {
            let user = format!("m{i:02}");
            runs.extend(runs_of(&user, 10, 2_500));
            runs.extend(runs_of(&user, 2, 1_000));
        }
        let a = score(&r, &runs, &roster(50), WAR);
        assert_eq!((a.participants, a.members), (48, 50));
        assert_eq!(a.raw, 1_200_000);
        assert_eq!(a.multiplier_pct, 115);
        assert_eq!(a.multiplied, 1_380_000);
        // Each 25,000 reaches the 10,000 milestone: 48 × 5,000 on top.
        assert_eq!(a.milestones, 240_000);
        assert_eq!(a.total, 1_620_000);

        // Guild B: 50 of 50, each 10 × 2,600 = 26,000.
        let runs: Vec<Run> = (0..50)
            .flat_map(|i| runs_of(&format!("m{i:02}"), 10, 2_600))
            .collect();
        let b = score(&r, &runs, &roster(50), WAR);
        assert_eq!((b.participants, b.members), (50, 50));
        assert_eq!(b.raw, 1_300_000);
        assert_eq!(b.multiplier_pct, 125);
        assert_eq!(b.multiplied, 1_625_000);
        assert_eq!(b.milestones, 250_000);
        assert_eq!(b.total, 1_875_000);
        // "Winner: Guild B (better participation = higher multiplier)."
        assert!(b.total > a.total);
    }

    #[test]
    fn multiplier_bands() {
        let r = rules();
        // (participants, members, multiplier %)
        let table = [
            // Every edge in a guild of 100.
            (0, 100, 100),
            (50, 100, 100),
            (79, 100, 100),
            (80, 100, 110),
            (89, 100, 110),
            (90, 100, 115),
            (99, 100, 115),
            (100, 100, 125),
            // The seed's guild of 50: "(40-44 players)", "(45-49 players)", "(50/50)".
            (25, 50, 100),
            (39, 50, 100),
            (40, 50, 110),
            (44, 50, 110),
            (45, 50, 115),
            (48, 50, 115),
            (49, 50, 115),
            (50, 50, 125),
            // Shares that are not whole percents: 7/9 = 77.8 %, 8/9 = 88.9 %.
            (7, 9, 100),
            (8, 9, 110),
            (4, 5, 110),
            (1, 1, 125),
            (0, 1, 100),
            // Nobody to share: base.
            (0, 0, 100),
            // Capacity-75 guild: 60/75 = 80 %, 68/75 = 90.7 %, 74/75 = 98.7 %.
            (59, 75, 100),
            (60, 75, 110),
            (67, 75, 110),
            (68, 75, 115),
            (74, 75, 115),
            (75, 75, 125),
            (u32::MAX, u32::MAX, 125),
        ];
        for (p, m, pct) in table {
            assert_eq!(participation_multiplier(&r, p, m), pct, "{p} of {m}");
        }
    }

    #[test]
    fn rounding_down() {
        // (amount, %, result)
        let table = [
            (1_200_000, 115, 1_380_000),
            (7, 115, 8),   // 8.05
            (9, 110, 9),   // 9.9
            (19, 125, 23), // 23.75
            (0, 125, 0),
            (1, 100, 1),
            (u64::MAX, 100, u64::MAX),
            (u64::MAX, 125, u64::MAX),
        ];
        for (amount, pct, expect) in table {
            assert_eq!(apply_pct(amount, pct), expect, "{amount} × {pct}%");
        }
    }

    #[test]
    fn milestones() {
        let r = rules();
        // (member's counted DNA, bonus)
        let table = [
            (0, 0),
            (9_999, 0),
            (10_000, 5_000),
            (49_999, 5_000),
            (50_000, 25_000),
            (99_999, 25_000),
            (100_000, 75_000),
            (120_000, 75_000),
            (u64::MAX, 75_000),
        ];
        for (dna, bonus) in table {
            assert_eq!(milestone_bonus(&r, dna), bonus, "{dna}");
        }
        // In a score: the bonuses are added after the multiplier, not multiplied.
        let mut runs = runs_of("m00", 10, 12_000); // 120,000
        runs.extend(runs_of("m01", 1, 9_999));
        let s = score(&r, &runs, &roster(2), WAR);
        assert_eq!(s.raw, 129_999);
        assert_eq!(s.multiplier_pct, 125);
        assert_eq!(s.multiplied, 162_498); // 162,498.75
        assert_eq!(s.milestones, 75_000);
        assert_eq!(s.total, 237_498);
    }

    #[test]
    fn best_ten_with_ties() {
        // Twelve runs: 5 × 900, then 7 × 500 with ids out of order; 10 count.
        let mut runs: Vec<Run> = (0..5)
            .map(|i| run(&format!("a{i}"), "m00", 900, T0 + i))
            .collect();
        for id in ["b6", "b2", "b4", "b0", "b5", "b1", "b3"] {
            runs.push(run(id, "m00", 500, T0 + 100));
        }
        let refs: Vec<&Run> = runs.iter().collect();
        let best = best_runs(&refs, 10);
        let ids: Vec<&str> = best.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"]
        );
        // The same whatever the input order.
        let mut reversed = refs.clone();
        reversed.reverse();
        assert_eq!(best_runs(&reversed, 10), best);
        assert_eq!(best_runs(&refs, 0), Vec::<&Run>::new());
        assert_eq!(best_runs(&refs[..3], 10).len(), 3);

        let t = tally(&rules(), &runs, &roster(1), WAR);
        let m = &t.members[0];
        assert_eq!(m.runs, 12);
        assert_eq!(m.dna, 5 * 900 + 5 * 500);
        assert_eq!(m.best, ids);
    }

    #[test]
    fn what_counts() {
        let r = rules();
        let joined = T0 + 10;
        let left = T0 + 20;
        let roster = vec![
            member("stay"),
            // Joined mid-war.
            Membership {
                user: "late".into(),
                from_ms: joined,
                until_ms: None,
            },
            // Left mid-war.
            Membership {
                user: "gone".into(),
                from_ms: 0,
                until_ms: Some(left),
            },
            // Left before the war.
            Membership {
                user: "before".into(),
                from_ms: 0,
                until_ms: Some(T0),
            },
        ];
        // (run, counts)
        let table = [
            (run("r01", "stay", 100, T0), true),
            (run("r02", "stay", 100, WAR.end_ms - 1), true),
            (run("r03", "stay", 100, T0 - 1), false),
            (run("r04", "stay", 100, WAR.end_ms), false),
            // The same id again: once only.
            (run("r01", "stay", 100, T0), false),
            (run("r05", "late", 100, joined - 1), false),
            (run("r06", "late", 100, joined), true),
            (run("r07", "gone", 100, left - 1), true),
            (run("r08", "gone", 100, left), false),
            (run("r09", "before", 100, T0 + 5), false),
            (run("r10", "stranger", 100, T0 + 5), false),
        ];
        let runs: Vec<Run> = table.iter().map(|(r, _)| r.clone()).collect();
        let counted: u64 = table.iter().filter(|(_, c)| *c).map(|(r, _)| r.dna).sum();
        let t = tally(&r, &runs, &roster, WAR);
        assert_eq!(t.score.raw, counted);
        assert_eq!(t.score.raw, 400);
        let users: Vec<(&str, u32, bool)> = t
            .members
            .iter()
            .map(|m| (m.user.as_str(), m.runs, m.at_end))
            .collect();
        // "before" was never a member during the war; "gone" was, and still counts as a member
        // for the multiplier (3 of 3 participate), but not for the guild's rewards.
        assert_eq!(
            users,
            [("gone", 1, false), ("late", 1, true), ("stay", 2, true)]
        );
        assert_eq!((t.score.participants, t.score.members), (3, 3));
        // Idempotent and order-free: the runs twice, reversed, give the same tally.
        let mut again = runs.clone();
        again.extend(runs.iter().rev().cloned());
        assert_eq!(tally(&r, &again, &roster, WAR), t);
    }

    #[test]
    fn participants_and_idle_members() {
        let r = rules();
        // 4 of 5 play (80 % → ×1.1); one run of 0 DNA still makes a participant.
        let mut runs = runs_of("m00", 1, 1_000);
        runs.extend(runs_of("m01", 1, 1_000));
        runs.extend(runs_of("m02", 1, 1_000));
        runs.extend(runs_of("m03", 1, 0));
        let s = score(&r, &runs, &roster(5), WAR);
        assert_eq!((s.participants, s.members), (4, 5));
        assert_eq!(s.multiplier_pct, 110);
        assert_eq!(s.total, 3_300);
        // No runs at all: zero, base multiplier.
        let s = score(&r, &[], &roster(5), WAR);
        assert_eq!(
            (s.participants, s.raw, s.multiplier_pct, s.total),
            (0, 0, 100, 0)
        );
    }

    #[test]
    fn the_scoreboard() {
        let r = rules();
        let mut runs = runs_of("m00", 2, 3_000); // 6,000
        runs.extend(runs_of("m01", 3, 2_000)); // 6,000: tie with m00, m00 first
        runs.extend(runs_of("m02", 1, 7_000)); // 7,000
        runs.extend(runs_of("m03", 1, 500)); // 500: fourth
        runs.extend(runs_of("m04", 1, 0)); // a participant, never a contributor
        let t = tally(&r, &runs, &roster(5), WAR);
        let b = board(7, &t);
        assert_eq!(b.guild, 7);
        assert_eq!(b.score, t.score.total);
        assert_eq!(b.score, 24_375); // 19,500 × 1.25
        assert_eq!((b.raw, b.milestones), (19_500, 0));
        assert_eq!((b.multiplier_pct, b.participants, b.members), (125, 5, 5));
        let top: Vec<(&str, u64, u32)> = b
            .top
            .iter()
            .map(|c| (c.user.as_str(), c.dna, c.runs))
            .collect();
        assert_eq!(
            top,
            [("m02", 7_000, 1), ("m00", 6_000, 2), ("m01", 6_000, 3)]
        );
        // Fewer contributors than places: only those who contributed.
        let t = tally(&r, &runs_of("m00", 1, 10), &roster(5), WAR);
        assert_eq!(board(7, &t).top.len(), 1);
    }
}
