//! What a finished war does (RULES.md § Guild wars, seed 003 §3.4): who won, the new hidden
//! Elo, the win and loss streaks, the war coins each member gets, and the MVPs.
//!
//! - Outcome: the higher [`Score::total`](super::scoring::Score) wins. Equal totals are a
//!   **draw**: neither guild beat the other, so neither Elo moves, both streaks end, and both
//!   guilds get what a loser gets (war coins for members with 5+ runs, the loss XP). Paying
//!   both sides the winner's 500 would make arranged draws the best deal of the week.
//! - Elo: win +20, loss −15, never below `floor` (0: an Elo is unsigned, and it takes 100
//!   straight losses to get there). A PvE war (against the benchmark) is not against a rated
//!   opponent: the service does not call [`elo_after`] for it; rewards, XP and streaks follow
//!   its outcome as for any war.
//! - War coins: every member of the winning guild at the end of the war gets 500 (the seed pays
//!   "per member", played or not); a losing guild's members at the end with 5+ counting runs
//!   get 100. The guild's level-30 perk (+50 %) is applied by the caller:
//!   `levels::with_war_bonus(preset, level, coins)`.
//! - MVPs: the 3 top contributors, win or lose, by counted DNA (ties: user id), even one who
//!   has since left: the badge is for what they did.
//! - Guild XP: the caller takes it from the preset with [`xp_source`] (win 1,000, loss 500).

use serde::{Deserialize, Serialize};

use super::matchmaking::Elo;
use super::scoring::{top_contributors, Tally, TOP_CONTRIBUTORS};
use crate::domain::guild::levels::XpSource;

/// The numbers of the results. `Default` is SupaSnake's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRules {
    pub elo: EloRules,
    /// War coins per member of the winning guild.
    pub winner_coins: u64,
    /// War coins per member of the losing guild with at least `loser_min_runs` runs.
    pub loser_coins: u64,
    pub loser_min_runs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EloRules {
    /// A guild's Elo before its first war.
    pub start: Elo,
    pub win: u32,
    pub loss: u32,
    /// No loss takes an Elo below this.
    pub floor: Elo,
}

impl Default for ResultRules {
    fn default() -> Self {
        ResultRules {
            elo: EloRules {
                start: 1_500,
                win: 20,
                loss: 15,
                floor: 0,
            },
            winner_coins: 500,
            loser_coins: 100,
            loser_min_runs: 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Win,
    Loss,
    Draw,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Win, Outcome::Loss, Outcome::Draw];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Win => "win",
            Outcome::Loss => "loss",
            Outcome::Draw => "draw",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The other side's outcome.
    pub fn opposite(self) -> Self {
        match self {
            Outcome::Win => Outcome::Loss,
            Outcome::Loss => Outcome::Win,
            Outcome::Draw => Outcome::Draw,
        }
    }
}

/// The outcome for a guild that scored `ours` against `theirs` (a rival's total, or the
/// benchmark of a PvE war).
pub fn outcome(ours: u64, theirs: u64) -> Outcome {
    match ours.cmp(&theirs) {
        std::cmp::Ordering::Greater => Outcome::Win,
        std::cmp::Ordering::Less => Outcome::Loss,
        std::cmp::Ordering::Equal => Outcome::Draw,
    }
}

pub fn elo_after(rules: &EloRules, elo: Elo, outcome: Outcome) -> Elo {
    match outcome {
        Outcome::Win => elo.saturating_add(rules.win),
        Outcome::Loss => elo.saturating_sub(rules.loss).max(rules.floor),
        Outcome::Draw => elo,
    }
}

/// Consecutive wins and losses before this war; at most one is non-zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    pub wins: u32,
    pub losses: u32,
}

/// A win extends the win streak and ends the loss streak, and the other way round; a draw ends
/// both (it is neither).
pub fn streak_after(streak: Streak, outcome: Outcome) -> Streak {
    match outcome {
        Outcome::Win => Streak {
            wins: streak.wins.saturating_add(1),
            losses: 0,
        },
        Outcome::Loss => Streak {
            wins: 0,
            losses: streak.losses.saturating_add(1),
        },
        Outcome::Draw => Streak::default(),
    }
}

/// Which preset XP the guild is credited with (`levels::xp_for`): a draw counts as a loss.
pub fn xp_source(outcome: Outcome) -> XpSource {
    match outcome {
        Outcome::Win => XpSource::WarWin,
        Outcome::Loss | Outcome::Draw => XpSource::WarLoss,
    }
}

/// What one member gets from the war, before the guild's war-reward perk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberReward {
    pub user: String,
    pub war_coins: u64,
    pub mvp: bool,
}

/// The MVPs of a guild's war, best first.
pub fn mvps(tally: &Tally) -> Vec<String> {
    top_contributors(tally, TOP_CONTRIBUTORS)
        .into_iter()
        .map(|m| m.user.clone())
        .collect()
}

/// The rewards of a guild's members for `outcome`, sorted by user id; members who get nothing
/// are left out.
pub fn rewards(rules: &ResultRules, tally: &Tally, outcome: Outcome) -> Vec<MemberReward> {
    let mvps = mvps(tally);
    tally
        .members
        .iter()
        .map(|m| {
            let war_coins = match outcome {
                _ if !m.at_end => 0,
                Outcome::Win => rules.winner_coins,
                Outcome::Loss | Outcome::Draw if m.runs >= rules.loser_min_runs => {
                    rules.loser_coins
                }
                Outcome::Loss | Outcome::Draw => 0,
            };
            MemberReward {
                user: m.user.clone(),
                war_coins,
                mvp: mvps.contains(&m.user),
            }
        })
        .filter(|r| r.war_coins > 0 || r.mvp)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::guild::levels::xp_for;
    use crate::domain::guild::preset::Preset;
    use crate::domain::war::scoring::{tally, ScoringRules};
    use crate::domain::war::{Membership, Run, Window};

    const T0: u64 = 1_700_000_000_000;
    const WAR: Window = Window {
        start_ms: T0,
        end_ms: T0 + 96 * 3_600_000,
    };

    fn rules() -> ResultRules {
        ResultRules::default()
    }

    #[test]
    fn outcomes() {
        // (ours, theirs, outcome)
        let table = [
            (1_625_000, 1_380_000, Outcome::Win),
            (1_380_000, 1_625_000, Outcome::Loss),
            (1_000, 1_000, Outcome::Draw),
            (0, 0, Outcome::Draw),
            (1, 0, Outcome::Win),
            (u64::MAX, u64::MAX - 1, Outcome::Win),
        ];
        for (ours, theirs, o) in table {
            assert_eq!(outcome(ours, theirs), o, "{ours} vs {theirs}");
            assert_eq!(outcome(theirs, ours), o.opposite(), "{theirs} vs {ours}");
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("Win"), None);
    }

    #[test]
    fn elo() {
        let r = rules().elo;
        assert_eq!(r.start, 1_500);
        // (before, outcome, after)
        let table = [
            (1_500, Outcome::Win, 1_520),
            (1_500, Outcome::Loss, 1_485),
            (1_500, Outcome::Draw, 1_500),
            (15, Outcome::Loss, 0),
            (14, Outcome::Loss, 0),
            (0, Outcome::Loss, 0),
            (0, Outcome::Win, 20),
            (u32::MAX, Outcome::Win, u32::MAX),
        ];
        for (before, o, after) in table {
            assert_eq!(elo_after(&r, before, o), after, "{before} {}", o.as_str());
        }
        let floored = EloRules { floor: 1_000, ..r };
        assert_eq!(elo_after(&floored, 1_010, Outcome::Loss), 1_000);
        // Four wins and four losses: +20 × 4 − 15 × 4.
        let mut elo = r.start;
        for o in [Outcome::Win, Outcome::Loss].repeat(4) {
            elo = elo_after(&r, elo, o);
        }
        assert_eq!(elo, 1_520);
    }

    #[test]
    fn streaks() {
        use Outcome::*;
        // (sequence, wins, losses after it)
        let table: &[(&[Outcome], u32, u32)] = &[
            (&[], 0, 0),
            (&[Win], 1, 0),
            (&[Win, Win, Win], 3, 0),
            (&[Win, Win, Loss], 0, 1),
            (&[Loss, Loss, Win], 1, 0),
            (&[Win, Win, Draw], 0, 0),
            (&[Loss, Draw, Loss], 0, 1),
            (&[Win; 10], 10, 0),
        ];
        for &(seq, wins, losses) in table {
            let s = seq
                .iter()
                .fold(Streak::default(), |s, o| streak_after(s, *o));
            assert_eq!(s, Streak { wins, losses }, "{seq:?}");
        }
    }

    #[test]
    fn guild_xp() {
        let p = Preset::builtin("supasnake").expect("builtin");
        // (outcome, XP from the preset)
        let table = [
            (Outcome::Win, 1_000),
            (Outcome::Loss, 500),
            (Outcome::Draw, 500),
        ];
        for (o, xp) in table {
            assert_eq!(xp_for(&p, xp_source(o)), xp, "{}", o.as_str());
        }
    }

    /// Members a..f: a 7,000 DNA in 1 run; b 6,000 in 6; c 6,000 in 5; d 100 in 4; e no run;
    /// f 9,000 in 9 but left mid-war.
    fn the_guild() -> Tally {
        let mut runs = Vec::new();
        let mut add = |user: &str, count: u64, dna: u64| {
            for i in 0..count {
                runs.push(Run {
                    id: format!("{user}{i}"),
                    user: user.into(),
                    dna,
                    at_ms: T0 + i,
                });
            }
        };
        add("a", 1, 7_000);
        add("b", 6, 1_000);
        add("c", 5, 1_200);
        add("d", 4, 25);
        add("f", 9, 1_000);
        let mut roster: Vec<Membership> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|u| Membership {
                user: (*u).into(),
                from_ms: 0,
                until_ms: None,
            })
            .collect();
        roster.push(Membership {
            user: "f".into(),
            from_ms: 0,
            until_ms: Some(T0 + 3_600_000),
        });
        tally(&ScoringRules::default(), &runs, &roster, WAR)
    }

    #[test]
    fn mvps_win_or_lose() {
        let t = the_guild();
        // f contributed most, and left: still an MVP. b and c tie at 6,000: b first.
        assert_eq!(mvps(&t), ["f", "a", "b"]);
    }

    #[test]
    fn member_rewards() {
        let r = rules();
        let t = the_guild();
        let rewards_of = |o| -> Vec<(String, u64, bool)> {
            rewards(&r, &t, o)
                .into_iter()
                .map(|m| (m.user, m.war_coins, m.mvp))
                .collect()
        };
        let row = |u: &str, coins, mvp| (u.to_string(), coins, mvp);
        // Win: every member at the end, played or not (e); f has left, keeps the MVP flag.
        assert_eq!(
            rewards_of(Outcome::Win),
            [
                row("a", 500, true),
                row("b", 500, true),
                row("c", 500, false),
                row("d", 500, false),
                row("e", 500, false),
                row("f", 0, true),
            ]
        );
        // Loss: 100 for 5+ runs (b 6, c 5); not a (1 run, though an MVP), d (4), e (0).
        let loss = [
            row("a", 0, true),
            row("b", 100, true),
            row("c", 100, false),
            row("f", 0, true),
        ];
        assert_eq!(rewards_of(Outcome::Loss), loss);
        // A draw pays the loser's rewards.
        assert_eq!(rewards_of(Outcome::Draw), loss);
        // The level-30 perk is the caller's: 500 → 750, 100 → 150.
        let p = Preset::builtin("supasnake").expect("builtin");
        let perk = crate::domain::guild::levels::with_war_bonus;
        assert_eq!(perk(&p, 30, r.winner_coins), 750);
        assert_eq!(perk(&p, 30, r.loser_coins), 150);
    }
}
