//! Who fights whom (RULES.md § Guild wars, seed 003 §3.2). In priority order: guild level
//! within ±2 (hard), hidden war Elo within ±50 (preferred), active members within ±10 (soft),
//! same region (nice to have). A guild unmatched for 5 minutes searches wider (±3 levels, ±100
//! Elo); one still unmatched after 10 minutes fights a PvE war against a benchmark score.
//!
//! How the four tiers become one rule:
//! - Level and Elo bound the search: a pair is possible only inside the band (levels, Elo) of
//!   the stage the guilds have reached by waiting. Elo is "preferred" in that it is the first
//!   bound to give way: ±50 at first, ±100 after 5 minutes, never more (a guild whose only
//!   rival is 300 Elo away gets a PvE war, not a rout).
//! - Of the possible pairs, the best goes first, compared by: Elo within ±50, members within
//!   ±10, same region (each "yes" before "no", in that order of priority), then the Elo
//!   distance, the member distance, the level distance, and the guild ids (smaller first) so
//!   that equal pairs are broken the same way on every node.
//! - A pair is judged by the band of whichever of the two has waited longer: the expanded
//!   search is the waiting guild's, and it may reach a guild that just registered.
//!
//! Pairs are chosen greedily (best pair first, then the best among those left), not as a
//! maximum matching: a guild left out is retried at the next pass with the others still
//! waiting, and its wait only widens its search. The service calls [`find_match`] on each
//! pass (e.g. every few seconds) with the guilds still waiting.
//!
//! The benchmark of a PvE war is the service's to choose (e.g. last week's median score of
//! guilds of that level); `results::outcome` compares the guild's score with it.

use serde::{Deserialize, Serialize};

use super::MINUTE_MS;

/// The hidden war rating: starts at 1,500 (see `results::EloRules`).
pub type Elo = u32;

/// The numbers of matchmaking. `Default` is SupaSnake's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRules {
    /// The search bands, widening with the wait: the last stage whose `after_ms` the guild
    /// has waited applies. The first must start at 0.
    pub stages: Vec<Stage>,
    /// Elo distance that is "similar": preferred.
    pub preferred_elo: u32,
    /// Active-member distance that is preferred (the soft constraint).
    pub preferred_members: u32,
    /// A guild still unmatched after waiting this long goes to PvE.
    pub pve_after_ms: u64,
}

/// From `after_ms` of waiting, pairs up to `levels` levels and `elo` Elo apart are possible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub after_ms: u64,
    pub levels: u32,
    pub elo: u32,
}

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules {
            stages: vec![
                Stage {
                    after_ms: 0,
                    levels: 2,
                    elo: 50,
                },
                Stage {
                    after_ms: 5 * MINUTE_MS,
                    levels: 3,
                    elo: 100,
                },
            ],
            preferred_elo: 50,
            preferred_members: 10,
            pve_after_ms: 10 * MINUTE_MS,
        }
    }
}

/// A guild registered for the war.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub guild: i64,
    pub level: u32,
    pub elo: Elo,
    /// Members active lately (the service decides what "active" means, e.g. a login in 7 days).
    pub active_members: u32,
    /// Compared for equality only; the service normalises it ("NA", "EU", ...).
    pub region: String,
    /// When the guild's wait began: its registration, or the opening of matchmaking if it
    /// registered before (the weekly schedule registers on Wednesday and matches on Thursday,
    /// and every guild is owed its 5 minutes of narrow search from Thursday 12:00).
    pub registered_ms: u64,
}

/// Two guilds that fight each other; `a < b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pairing {
    pub a: i64,
    pub b: i64,
    /// Matched only thanks to the expanded search (outside the first stage's band).
    pub expanded: bool,
}

/// The outcome of one pass. Every candidate is in exactly one of the three lists; each list
/// is sorted (pairs by `a`, guilds by id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matching {
    pub pairs: Vec<Pairing>,
    /// Waited `pve_after_ms` or more and still unmatched: a war against the benchmark.
    pub pve: Vec<i64>,
    /// Still unmatched; try again at the next pass.
    pub waiting: Vec<i64>,
}

/// The stage (index into `rules.stages`) a guild that registered at `registered_ms` has reached
/// at `now_ms`. A registration stamped in the future has waited 0.
pub fn stage_of(rules: &MatchRules, registered_ms: u64, now_ms: u64) -> usize {
    let waited = now_ms.saturating_sub(registered_ms);
    rules
        .stages
        .iter()
        .rposition(|s| s.after_ms <= waited)
        .unwrap_or(0)
}

/// The ranking of a possible pair: smaller is better (see the module doc).
type PairKey = (bool, bool, bool, u32, u32, u32, i64, i64);

/// `Some(key)` when `x` and `y` may fight at `now_ms`, with whether it takes an expanded stage.
fn pair_key(
    rules: &MatchRules,
    x: &Candidate,
    y: &Candidate,
    now_ms: u64,
) -> Option<(PairKey, bool)> {
    let stage =
        stage_of(rules, x.registered_ms, now_ms).max(stage_of(rules, y.registered_ms, now_ms));
    let band = rules.stages.get(stage)?;
    let levels = x.level.abs_diff(y.level);
    let elo = x.elo.abs_diff(y.elo);
    let members = x.active_members.abs_diff(y.active_members);
    if levels > band.levels || elo > band.elo {
        return None;
    }
    let expanded = rules
        .stages
        .first()
        .is_some_and(|first| levels > first.levels || elo > first.elo);
    let key = (
        elo > rules.preferred_elo,
        members > rules.preferred_members,
        x.region != y.region,
        elo,
        members,
        levels,
        x.guild.min(y.guild),
        x.guild.max(y.guild),
    );
    Some((key, expanded))
}

/// One matchmaking pass over the guilds still waiting, at `now_ms`: the pairs to start, the
/// guilds sent to PvE, and those left waiting. Deterministic: the same candidates in any order
/// give the same answer. A guild listed twice is taken once (its earliest registration).
pub fn find_match(rules: &MatchRules, candidates: &[Candidate], now_ms: u64) -> Matching {
    let mut pool: Vec<&Candidate> = candidates.iter().collect();
    pool.sort_by(|x, y| {
        (
            x.guild,
            x.registered_ms,
            x.level,
            x.elo,
            x.active_members,
            &x.region,
        )
            .cmp(&(
                y.guild,
                y.registered_ms,
                y.level,
                y.elo,
                y.active_members,
                &y.region,
            ))
    });
    pool.dedup_by_key(|c| c.guild);

    let mut possible: Vec<(PairKey, bool, usize, usize)> = Vec::new();
    for (i, x) in pool.iter().enumerate() {
        for (j, y) in pool.iter().enumerate().skip(i + 1) {
            if let Some((key, expanded)) = pair_key(rules, x, y, now_ms) {
                possible.push((key, expanded, i, j));
            }
        }
    }
    possible.sort();

    let mut taken = vec![false; pool.len()];
    let mut matching = Matching::default();
    for (_, expanded, i, j) in possible {
        if taken[i] || taken[j] {
            continue;
        }
        taken[i] = true;
        taken[j] = true;
        // The pool is sorted by guild id, so i < j means a < b.
        matching.pairs.push(Pairing {
            a: pool[i].guild,
            b: pool[j].guild,
            expanded,
        });
    }
    matching.pairs.sort_by_key(|p| p.a);
    for (c, _) in pool.iter().zip(&taken).filter(|(_, t)| !**t) {
        if now_ms.saturating_sub(c.registered_ms) >= rules.pve_after_ms {
            matching.pve.push(c.guild);
        } else {
            matching.waiting.push(c.guild);
        }
    }
    matching
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const MIN: u64 = MINUTE_MS;
    const SEC: u64 = 1_000;

    fn rules() -> MatchRules {
        MatchRules::default()
    }

    /// A guild at level 15, Elo 1500, 45 active members, in NA, registered at T0, unless
    /// the test says otherwise.
    fn guild(id: i64) -> Candidate {
        Candidate {
            guild: id,
            level: 15,
            elo: 1500,
            active_members: 45,
            region: "NA".into(),
            registered_ms: T0,
        }
    }

    fn with(id: i64, f: impl FnOnce(&mut Candidate)) -> Candidate {
        let mut c = guild(id);
        f(&mut c);
        c
    }

    fn pair(a: i64, b: i64, expanded: bool) -> Pairing {
        Pairing { a, b, expanded }
    }

    /// Two guilds, the second differing from the first as the row says, waited for the given
    /// time: do they fight, and through the expanded search?
    #[test]
    fn the_bands() {
        // (what differs, level, Elo, members, waited, matched as (expanded))
        type Row = (&'static str, u32, Elo, u32, u64, Option<bool>);
        let table: &[Row] = &[
            ("same", 15, 1500, 45, 0, Some(false)),
            // Seed: "Level 15 guild matches with Level 13-17 guilds".
            ("level +2", 17, 1500, 45, 0, Some(false)),
            ("level -2", 13, 1500, 45, 0, Some(false)),
            ("level +3", 18, 1500, 45, 0, None),
            ("level +3 at 4:59", 18, 1500, 45, 5 * MIN - 1, None),
            ("level +3 at 5:00", 18, 1500, 45, 5 * MIN, Some(true)),
            ("level -3 at 5:00", 12, 1500, 45, 5 * MIN, Some(true)),
            ("level +4 at 5:00", 19, 1500, 45, 5 * MIN, None),
            ("level +4 at 9:59", 19, 1500, 45, 10 * MIN - 1, None),
            ("Elo +50", 15, 1550, 45, 0, Some(false)),
            ("Elo -50", 15, 1450, 45, 0, Some(false)),
            ("Elo +51", 15, 1551, 45, 0, None),
            ("Elo +51 at 5:00", 15, 1551, 45, 5 * MIN, Some(true)),
            ("Elo +100 at 5:00", 15, 1600, 45, 5 * MIN, Some(true)),
            ("Elo -100 at 5:00", 15, 1400, 45, 5 * MIN, Some(true)),
            ("Elo +101 at 5:00", 15, 1601, 45, 5 * MIN, None),
            // Members are soft: far apart still fight when nothing better is there.
            ("members -10", 15, 1500, 35, 0, Some(false)),
            ("members -30", 15, 1500, 15, 0, Some(false)),
        ];
        for &(what, level, elo, members, waited, expect) in table {
            let x = guild(1);
            let y = with(2, |c| {
                c.level = level;
                c.elo = elo;
                c.active_members = members;
            });
            let m = find_match(&rules(), &[x, y], T0 + waited);
            match expect {
                Some(expanded) => {
                    assert_eq!(m.pairs, [pair(1, 2, expanded)], "{what}");
                    assert!(m.waiting.is_empty() && m.pve.is_empty(), "{what}");
                }
                None => {
                    assert!(m.pairs.is_empty(), "{what}");
                    assert_eq!(m.waiting, [1, 2], "{what}");
                }
            }
        }
    }

    #[test]
    fn pve_after_ten_minutes() {
        // Level 15 and level 25 never meet.
        let x = guild(1);
        let y = with(2, |c| c.level = 25);
        // (waited, waiting, PvE)
        let table: &[(u64, &[i64], &[i64])] = &[
            (0, &[1, 2], &[]),
            (5 * MIN, &[1, 2], &[]),
            (10 * MIN - SEC, &[1, 2], &[]),
            (10 * MIN - 1, &[1, 2], &[]),
            (10 * MIN, &[], &[1, 2]),
            (60 * MIN, &[], &[1, 2]),
        ];
        for &(waited, waiting, pve) in table {
            let m = find_match(&rules(), &[x.clone(), y.clone()], T0 + waited);
            assert!(m.pairs.is_empty());
            assert_eq!(m.waiting, waiting, "after {waited} ms");
            assert_eq!(m.pve, pve, "after {waited} ms");
        }
        // A lone guild too.
        let m = find_match(&rules(), &[guild(9)], T0 + 10 * MIN);
        assert_eq!(m.pve, [9]);
        // A match found at the last moment is a match, not PvE.
        let m = find_match(&rules(), &[guild(1), guild(2)], T0 + 10 * MIN);
        assert_eq!(m.pairs, [pair(1, 2, false)]);
        assert!(m.pve.is_empty());
        // Registered in the future (clock skew): has waited 0.
        let m = find_match(&rules(), &[with(3, |c| c.registered_ms = T0 + MIN)], T0);
        assert_eq!(m.waiting, [3]);
    }

    #[test]
    fn the_longer_wait_sets_the_band() {
        // 1 has waited 6 minutes; 2 just registered, 3 levels away.
        let x = with(1, |c| c.registered_ms = T0 - 6 * MIN);
        let y = with(2, |c| c.level = 18);
        let m = find_match(&rules(), &[x, y], T0);
        assert_eq!(m.pairs, [pair(1, 2, true)]);
    }

    #[test]
    fn preferences_in_order() {
        let r = rules();
        // The partner guild 1 gets, among the others: (case, minutes waited by all, others,
        // expected partner)
        let table: &[(&str, u64, Vec<Candidate>, i64)] = &[
            (
                "closer Elo",
                0,
                vec![with(2, |c| c.elo = 1530), with(3, |c| c.elo = 1510)],
                3,
            ),
            (
                "within ±50 Elo before members within ±10",
                5,
                vec![
                    with(2, |c| {
                        c.elo = 1540;
                        c.active_members = 15;
                    }),
                    // Only reachable once the search has widened.
                    with(3, |c| c.elo = 1590),
                ],
                2,
            ),
            (
                "members within ±10 before a closer Elo (both within ±50)",
                0,
                vec![
                    with(2, |c| {
                        c.elo = 1505;
                        c.active_members = 20;
                    }),
                    with(3, |c| {
                        c.elo = 1545;
                        c.active_members = 40;
                    }),
                ],
                3,
            ),
            (
                "same region before a closer Elo",
                0,
                vec![
                    with(2, |c| {
                        c.elo = 1505;
                        c.region = "EU".into();
                    }),
                    with(3, |c| c.elo = 1545),
                ],
                3,
            ),
            (
                "members within ±10 before region",
                0,
                vec![
                    with(2, |c| c.active_members = 20),
                    with(3, |c| c.region = "EU".into()),
                ],
                3,
            ),
            (
                "closer members when all else is equal",
                0,
                vec![
                    with(2, |c| c.active_members = 40),
                    with(3, |c| c.active_members = 44),
                ],
                3,
            ),
            (
                "closer level when all else is equal",
                0,
                vec![with(2, |c| c.level = 17), with(3, |c| c.level = 16)],
                3,
            ),
            (
                "smaller id when all is equal",
                0,
                vec![guild(3), guild(2)],
                2,
            ),
        ];
        for (case, waited, others, partner) in table {
            let mut all = vec![guild(1)];
            all.extend(others.iter().cloned());
            let m = find_match(&r, &all, T0 + waited * MIN);
            let (a, b) = (1.min(*partner), 1.max(*partner));
            assert!(
                m.pairs.iter().any(|p| (p.a, p.b) == (a, b)),
                "{case}: {:?}",
                m.pairs
            );
        }
    }

    #[test]
    fn best_pair_first_and_deterministic() {
        // 1-2 are the closest pair; 3 is close to both but the worse partner; 4 fits 3.
        let cs = vec![
            guild(1),
            with(2, |c| c.elo = 1501),
            with(3, |c| c.elo = 1520),
            with(4, |c| c.elo = 1560),
            with(5, |c| c.level = 40),
        ];
        let m = find_match(&rules(), &cs, T0);
        assert_eq!(m.pairs, [pair(1, 2, false), pair(3, 4, false)]);
        assert_eq!(m.waiting, [5]);
        // Any order of input, and a duplicate registration, give the same answer.
        let mut shuffled: Vec<Candidate> = cs.iter().rev().cloned().collect();
        shuffled.swap(0, 2);
        shuffled.push(with(3, |c| c.registered_ms = T0 + 1));
        assert_eq!(find_match(&rules(), &shuffled, T0), m);
        assert_eq!(find_match(&rules(), &[], T0), Matching::default());
    }

    #[test]
    fn stages() {
        let r = rules();
        let table = [
            (0, 0),
            (5 * MIN - 1, 0),
            (5 * MIN, 1),
            (10 * MIN, 1),
            (u64::MAX - T0, 1),
        ];
        for (waited, stage) in table {
            assert_eq!(stage_of(&r, T0, T0 + waited), stage, "{waited}");
        }
        assert_eq!(stage_of(&r, T0 + 1, T0), 0);
    }
}
