//! The penalty ladder (RULES.md § Moderation, seed 003 §7.3): each penalty a user earns takes
//! the next step of warning, 24-hour chat ban, 7-day chat and trade ban, 30-day chat and trade
//! ban, permanent ban. Severe categories start higher: hate speech at the 7-day step, threats
//! or doxxing at the 30-day step.
//!
//! Also the guild's side of it (seed 003 §7.6): a guild whose members keep getting banned is
//! flagged, then sits out the next war.
//!
//! The store keeps each penalty's step and start; whether it is still in force is computed
//! from those and `now_ms`, so an expired ban needs no job to lift it.

use super::reports::Category;

pub const HOUR_MS: u64 = 3_600_000;
pub const DAY_MS: u64 = 86_400_000;

/// The top of the ladder: a permanent ban.
pub const MAX_STEP: u32 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PenaltyKind {
    Warning,
    ChatBan,
    ChatTradeBan,
    Ban,
}

impl PenaltyKind {
    pub const ALL: [PenaltyKind; 4] = [
        PenaltyKind::Warning,
        PenaltyKind::ChatBan,
        PenaltyKind::ChatTradeBan,
        PenaltyKind::Ban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PenaltyKind::Warning => "warning",
            PenaltyKind::ChatBan => "chat_ban",
            PenaltyKind::ChatTradeBan => "chat_trade_ban",
            PenaltyKind::Ban => "ban",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every penalty past a warning silences the user.
    pub fn blocks_chat(self) -> bool {
        !matches!(self, PenaltyKind::Warning)
    }

    /// From the 7-day step on, trading is barred too (scammers must not keep trading).
    pub fn blocks_trade(self) -> bool {
        matches!(self, PenaltyKind::ChatTradeBan | PenaltyKind::Ban)
    }
}

/// One ladder step: 1 warning; 2 24 h chat ban; 3 7-day chat+trade ban; 4 30-day chat+trade ban; 5 permanent ban.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub step: u32,
    pub kind: PenaltyKind,
    /// `None`: no end (a warning has no duration; the ban is permanent).
    pub duration_ms: Option<u64>,
}

/// The ladder's step `n`, clamped to 1..=5: a stored step out of range (0, or past the top
/// after a ladder change) still names a real penalty rather than failing a moderator's action.
pub fn step(n: u32) -> Step {
    let n = n.clamp(1, MAX_STEP);
    let (kind, duration_ms) = match n {
        1 => (PenaltyKind::Warning, None),
        2 => (PenaltyKind::ChatBan, Some(DAY_MS)),
        3 => (PenaltyKind::ChatTradeBan, Some(7 * DAY_MS)),
        4 => (PenaltyKind::ChatTradeBan, Some(30 * DAY_MS)),
        _ => (PenaltyKind::Ban, None),
    };
    Step {
        step: n,
        kind,
        duration_ms,
    }
}

/// The lowest step a first offence in this category takes (seed 003 §7.3 "Severe Cases"):
/// hate speech an instant 7-day ban, threats or doxxing an instant 30-day ban.
pub fn floor(category: Category) -> u32 {
    match category {
        Category::HateSpeech => 3,
        Category::Threats => 4,
        _ => 1,
    }
}

/// The step the next penalty takes: one past the user's highest step so far (`previous` = steps
/// of earlier penalties, any order), at least the category's floor (hate_speech → 3, threats →
/// 4, others 1), at most 5.
///
/// The highest step, not the count: after a severe jump the user is already high on the
/// ladder, and a later minor offence must not restart below it (seed 003: "repeated severe
/// offenses: permanent account ban"). Expired penalties count too; the ladder never resets.
pub fn next_step(previous: &[u32], category: Category) -> Step {
    let highest = previous.iter().copied().max().unwrap_or(0);
    step(highest.saturating_add(1).max(floor(category)))
}

/// When a penalty starting at `starts_ms` ends: None for warning (nothing to end) and permanent.
pub fn ends_at(step: Step, starts_ms: u64) -> Option<u64> {
    match step.kind {
        PenaltyKind::Warning => None,
        _ => step.duration_ms.map(|d| starts_ms.saturating_add(d)),
    }
}

/// Whether a penalty is in force at `now_ms` (a warning never is "in force"; a ban without end
/// always is).
///
/// Only the end is checked, not the start: penalties take effect when issued, and a node whose
/// clock is a little behind the one that issued it must not let the user slip through.
pub fn in_force(step: Step, starts_ms: u64, now_ms: u64) -> bool {
    match step.kind {
        PenaltyKind::Warning => false,
        _ => ends_at(step, starts_ms).is_none_or(|end| now_ms < end),
    }
}

/// The window over which a guild's banned members are counted (seed 003 §7.6).
pub const ACCOUNTABILITY_WINDOW_MS: u64 = 30 * DAY_MS;

/// A guild's standing by how many of its members were banned in the last 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GuildStanding {
    Good,
    /// 5+: the guild carries a warning flag.
    Warning,
    /// 10+: the guild skips the next war.
    SkipWar,
    /// 20+: seed 003 disbands the guild, "requires human review"; here it is only flagged for
    /// that review, never disbanded by a rule.
    Review,
}

impl GuildStanding {
    pub fn as_str(self) -> &'static str {
        match self {
            GuildStanding::Good => "good",
            GuildStanding::Warning => "warning",
            GuildStanding::SkipWar => "skip_war",
            GuildStanding::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Good, Self::Warning, Self::SkipWar, Self::Review]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Whether a member's penalty counts as "banned" for the guild's standing: every step past a
/// warning (the seed calls each of them a ban: "24-hour chat ban", "7-day ban").
pub fn counts_against_guild(kind: PenaltyKind) -> bool {
    kind.blocks_chat()
}

/// Whether a penalty issued at `issued_ms` falls in the accountability window at `now_ms`.
pub fn in_accountability_window(issued_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(issued_ms) < ACCOUNTABILITY_WINDOW_MS
}

/// The standing of a guild with `banned_members` distinct members banned in the window
/// (RULES.md: 5 → warning flag, 10 → skips the next war; seed 003: 20 → human review).
pub fn guild_standing(banned_members: u32) -> GuildStanding {
    match banned_members {
        20.. => GuildStanding::Review,
        10.. => GuildStanding::SkipWar,
        5.. => GuildStanding::Warning,
        _ => GuildStanding::Good,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start far from 0, so that no subtraction can hide at the epoch.
    const T0: u64 = 1_700_000_000_000;
    const HOUR: u64 = HOUR_MS;
    const DAY: u64 = DAY_MS;
    const MIN: u64 = 60_000;

    #[test]
    fn the_steps() {
        // (n, step, kind, duration)
        let table: &[(u32, u32, PenaltyKind, Option<u64>)] = &[
            (0, 1, PenaltyKind::Warning, None),
            (1, 1, PenaltyKind::Warning, None),
            (2, 2, PenaltyKind::ChatBan, Some(24 * HOUR)),
            (3, 3, PenaltyKind::ChatTradeBan, Some(7 * DAY)),
            (4, 4, PenaltyKind::ChatTradeBan, Some(30 * DAY)),
            (5, 5, PenaltyKind::Ban, None),
            (6, 5, PenaltyKind::Ban, None),
            (u32::MAX, 5, PenaltyKind::Ban, None),
        ];
        for &(n, s, kind, duration_ms) in table {
            assert_eq!(
                step(n),
                Step {
                    step: s,
                    kind,
                    duration_ms
                },
                "step({n})"
            );
        }
    }

    #[test]
    fn penalty_kinds() {
        // (kind, text, blocks chat, blocks trade)
        let table = [
            (PenaltyKind::Warning, "warning", false, false),
            (PenaltyKind::ChatBan, "chat_ban", true, false),
            (PenaltyKind::ChatTradeBan, "chat_trade_ban", true, true),
            (PenaltyKind::Ban, "ban", true, true),
        ];
        for (kind, text, chat, trade) in table {
            assert_eq!(kind.as_str(), text);
            assert_eq!(PenaltyKind::parse(text), Some(kind));
            assert_eq!(kind.blocks_chat(), chat, "{text}");
            assert_eq!(kind.blocks_trade(), trade, "{text}");
        }
        assert_eq!(PenaltyKind::parse("Ban"), None);
        assert_eq!(PenaltyKind::parse(""), None);
    }

    /// Five offences in a row, a week apart, with the clock under the test's control: each
    /// penalty is the next step, in force for exactly its duration.
    #[test]
    fn the_whole_ladder() {
        // (offence, kind, duration: None for the warning and the permanent ban)
        let table: &[(u32, PenaltyKind, Option<u64>)] = &[
            (1, PenaltyKind::Warning, None),
            (2, PenaltyKind::ChatBan, Some(24 * HOUR)),
            (3, PenaltyKind::ChatTradeBan, Some(7 * DAY)),
            (4, PenaltyKind::ChatTradeBan, Some(30 * DAY)),
            (5, PenaltyKind::Ban, None),
            (6, PenaltyKind::Ban, None),
            (7, PenaltyKind::Ban, None),
        ];
        let mut previous = Vec::new();
        let mut now = T0;
        for &(offence, kind, lasts) in table {
            let s = next_step(&previous, Category::Spam);
            assert_eq!(s.kind, kind, "offence {offence}");
            assert_eq!(s.step, offence.min(5), "offence {offence}");
            assert_eq!(ends_at(s, now), lasts.map(|d| now + d), "offence {offence}");
            match (kind, lasts) {
                (PenaltyKind::Warning, _) => {
                    assert!(!in_force(s, now, now));
                    assert!(!in_force(s, now, now + DAY));
                }
                (_, Some(d)) => {
                    assert!(in_force(s, now, now), "offence {offence} at start");
                    assert!(
                        in_force(s, now, now + d - 1),
                        "offence {offence} at end - 1"
                    );
                    assert!(!in_force(s, now, now + d), "offence {offence} at end");
                }
                (_, None) => {
                    assert!(in_force(s, now, now));
                    assert!(in_force(s, now, now + 10 * 365 * DAY));
                    assert!(in_force(s, now, u64::MAX));
                }
            }
            previous.push(s.step);
            now += 60 * DAY;
        }
    }

    #[test]
    fn severe_cases_jump() {
        // (earlier steps, category, next step)
        let table: &[(&[u32], Category, u32)] = &[
            (&[], Category::HateSpeech, 3),
            (&[], Category::Threats, 4),
            (&[], Category::Harassment, 1),
            (&[], Category::Other, 1),
            (&[1], Category::HateSpeech, 3),
            (&[2], Category::HateSpeech, 3),
            (&[3], Category::HateSpeech, 4),
            (&[4], Category::HateSpeech, 5),
            (&[1, 2], Category::Threats, 4),
            (&[4], Category::Threats, 5),
            (&[5], Category::Threats, 5),
            // After a severe jump a minor offence continues from there.
            (&[3], Category::Spam, 4),
            (&[4], Category::Cheating, 5),
            // Any order; the highest counts, not how many.
            (&[3, 1, 2], Category::Spam, 4),
            (&[1, 1, 1], Category::Spam, 2),
            (&[2, 4, 1], Category::Spam, 5),
            // Junk steps in the store do not panic or overflow.
            (&[0], Category::Spam, 1),
            (&[u32::MAX], Category::Spam, 5),
        ];
        for &(previous, category, expect) in table {
            assert_eq!(
                next_step(previous, category),
                step(expect),
                "{previous:?} then {}",
                category.as_str()
            );
        }
    }

    #[test]
    fn severe_penalties_are_what_the_seed_says() {
        // Hate speech: instant 7-day ban; threats: instant 30-day ban.
        let hate = next_step(&[], Category::HateSpeech);
        assert_eq!(hate.duration_ms, Some(7 * DAY));
        assert!(hate.kind.blocks_chat());
        let threats = next_step(&[], Category::Threats);
        assert_eq!(threats.duration_ms, Some(30 * DAY));
        assert!(threats.kind.blocks_trade());
    }

    #[test]
    fn expiry_boundaries() {
        // (step, elapsed since start, in force)
        let table: &[(u32, u64, bool)] = &[
            (2, 0, true),
            (2, 23 * HOUR + 59 * MIN, true),
            (2, 24 * HOUR - 1, true),
            (2, 24 * HOUR, false),
            (2, 25 * HOUR, false),
            (3, 7 * DAY - 1, true),
            (3, 7 * DAY, false),
            (4, 29 * DAY + 23 * HOUR, true),
            (4, 30 * DAY - 1, true),
            (4, 30 * DAY, false),
            (5, 0, true),
            (5, 10_000 * DAY, true),
            (1, 0, false),
            (1, HOUR, false),
        ];
        for &(n, elapsed, expect) in table {
            assert_eq!(
                in_force(step(n), T0, T0 + elapsed),
                expect,
                "step {n} after {elapsed} ms"
            );
        }
        assert_eq!(ends_at(step(2), T0), Some(T0 + 24 * HOUR));
        assert_eq!(ends_at(step(1), T0), None);
        assert_eq!(ends_at(step(5), T0), None);
        // A clock a little behind the issuing node still sees the ban.
        assert!(in_force(step(2), T0, T0 - 5_000));
        // No overflow at the far end of time.
        assert_eq!(ends_at(step(4), u64::MAX - 1), Some(u64::MAX));
    }

    #[test]
    fn guild_accountability() {
        // (members banned in 30 days, standing)
        let table = [
            (0, GuildStanding::Good),
            (4, GuildStanding::Good),
            (5, GuildStanding::Warning),
            (9, GuildStanding::Warning),
            (10, GuildStanding::SkipWar),
            (19, GuildStanding::SkipWar),
            (20, GuildStanding::Review),
            (u32::MAX, GuildStanding::Review),
        ];
        for (banned, standing) in table {
            assert_eq!(guild_standing(banned), standing, "{banned} banned");
            assert_eq!(GuildStanding::parse(standing.as_str()), Some(standing));
        }
        assert!(!counts_against_guild(PenaltyKind::Warning));
        assert!(counts_against_guild(PenaltyKind::ChatBan));
        assert!(counts_against_guild(PenaltyKind::ChatTradeBan));
        assert!(counts_against_guild(PenaltyKind::Ban));
        assert!(in_accountability_window(T0, T0));
        assert!(in_accountability_window(T0, T0 + 30 * DAY - 1));
        assert!(!in_accountability_window(T0, T0 + 30 * DAY));
    }
}
