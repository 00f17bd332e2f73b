//! Guild XP, levels and the level perks the server enforces (seed 003 §2.1-2.2, RULES.md
//! § Guilds): what each level costs, which level a total buys, and what that level unlocks.
//!
//! A guild stores its total XP, never its level: the level is derived here, so a studio that
//! changes the level table moves every guild at once and no stored level can disagree with it.

use super::preset::{LevelValue, Preset};

/// Cost of each step: index 0 = 1→2. A span "a→b: X" is X spread evenly over its b-a steps
/// (remainder to the earliest steps), as RULES.md reads seed 003's "Level 5→10: 50,000 XP".
pub fn step_costs(preset: &Preset) -> Vec<u64> {
    let mut costs = Vec::new();
    for span in &preset.levels {
        let steps = span.to.saturating_sub(span.from);
        if steps == 0 {
            continue;
        }
        let each = span.xp / u64::from(steps);
        let extra = span.xp % u64::from(steps);
        costs.extend((0..u64::from(steps)).map(|i| each + u64::from(i < extra)));
    }
    costs
}

/// Cumulative XP needed to reach `level` (level 1 = 0; beyond the max, the max's).
pub fn xp_to_reach(preset: &Preset, level: u32) -> u64 {
    let steps = level.saturating_sub(1) as usize;
    step_costs(preset)
        .iter()
        .take(steps)
        .fold(0u64, |sum, c| sum.saturating_add(*c))
}

/// The level a guild with `xp` total XP has, capped at `max_level`.
pub fn level_for_xp(preset: &Preset, xp: u64) -> u32 {
    let mut level = 1;
    let mut needed = 0u64;
    for cost in step_costs(preset) {
        needed = needed.saturating_add(cost);
        if xp < needed {
            break;
        }
        level += 1;
    }
    level.min(preset.max_level())
}

/// The value of the highest entry reached at `level`, if any.
fn reached(values: &[LevelValue], level: u32) -> Option<u32> {
    values
        .iter()
        .filter(|v| v.level <= level)
        .max_by_key(|v| v.level)
        .map(|v| v.value)
}

/// Base capacity, overridden by the `perks.capacity` entries reached.
pub fn capacity(preset: &Preset, level: u32) -> u32 {
    reached(&preset.perks.capacity, level).unwrap_or(preset.capacity)
}

pub fn dna_bonus_pct(preset: &Preset, level: u32) -> u32 {
    reached(&preset.perks.dna_bonus_pct, level).unwrap_or(0)
}

/// Run DNA with the guild's bonus applied, rounded down: 100 at level 3 → 105; at 15 → 115.
pub fn with_dna_bonus(preset: &Preset, level: u32, dna: u64) -> u64 {
    with_pct(dna, dna_bonus_pct(preset, level))
}

pub fn war_reward_pct(preset: &Preset, level: u32) -> u32 {
    reached(&preset.perks.war_reward_pct, level).unwrap_or(0)
}

/// A war reward with the guild's bonus applied, rounded down: 100 war coins at level 30 → 150.
pub fn with_war_bonus(preset: &Preset, level: u32, reward: u64) -> u64 {
    with_pct(reward, war_reward_pct(preset, level))
}

/// `amount` plus `pct` percent of it, rounded down; u128 inside so no amount overflows.
fn with_pct(amount: u64, pct: u32) -> u64 {
    let total = u128::from(amount) * (100 + u128::from(pct)) / 100;
    u64::try_from(total).unwrap_or(u64::MAX)
}

pub fn chat_unlocked(preset: &Preset, level: u32) -> bool {
    level >= preset.perks.chat_level
}

pub fn raid_unlocked(preset: &Preset, level: u32) -> bool {
    level >= preset.perks.raid_level
}

/// Names of perks first reached in (from, to], by level: "dna_bonus_5", "guild_chat",
/// "dna_bonus_15", "war_reward_50", "capacity_75", "raids" (kind plus value). At one level the
/// order is capacity, dna_bonus, war_reward, guild_chat, raids. `from` is the level before the
/// XP came in, so a level-1 perk is only reported for `from == 0` (a guild just created).
pub fn perks_unlocked(preset: &Preset, from: u32, to: u32) -> Vec<String> {
    let in_range = |level: u32| from < level && level <= to;
    let perks = &preset.perks;
    let mut found: Vec<(u32, String)> = Vec::new();
    for (kind, values) in [
        ("capacity", &perks.capacity),
        ("dna_bonus", &perks.dna_bonus_pct),
        ("war_reward", &perks.war_reward_pct),
    ] {
        for v in values.iter().filter(|v| in_range(v.level)) {
            found.push((v.level, format!("{kind}_{}", v.value)));
        }
    }
    if in_range(perks.chat_level) {
        found.push((perks.chat_level, "guild_chat".into()));
    }
    if in_range(perks.raid_level) {
        found.push((perks.raid_level, "raids".into()));
    }
    // Stable, so the kind order above holds within a level.
    found.sort_by_key(|(level, _)| *level);
    found.into_iter().map(|(_, name)| name).collect()
}

/// XP earned when a member who had collected `before` DNA in total collects `dna` more: 1 per
/// `dna_per_xp`, exact across calls (no remainder lost): (before+dna)/k - before/k. Ten runs of
/// 50 DNA earn the same 5 XP as one run of 500.
pub fn xp_from_dna(preset: &Preset, before: u64, dna: u64) -> u64 {
    let k = preset.xp.dna_per_xp;
    if k == 0 {
        return 0;
    }
    before.saturating_add(dna) / k - before / k
}

/// The one-off XP events a guild is credited with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XpSource {
    WarWin,
    WarLoss,
    RaidVictory,
    RaidDefeat,
}

impl XpSource {
    pub const ALL: [XpSource; 4] = [
        XpSource::WarWin,
        XpSource::WarLoss,
        XpSource::RaidVictory,
        XpSource::RaidDefeat,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            XpSource::WarWin => "war_win",
            XpSource::WarLoss => "war_loss",
            XpSource::RaidVictory => "raid_victory",
            XpSource::RaidDefeat => "raid_defeat",
        }
    }
}

pub fn xp_for(preset: &Preset, source: XpSource) -> u64 {
    let xp = &preset.xp;
    match source {
        XpSource::WarWin => xp.war_win,
        XpSource::WarLoss => xp.war_loss,
        XpSource::RaidVictory => xp.raid_victory,
        XpSource::RaidDefeat => xp.raid_defeat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snake() -> Preset {
        Preset::builtin("supasnake").expect("builtin")
    }

    /// RULES.md § Guilds: the cost of every step from 1→2 to 49→50.
    #[test]
    fn every_step_cost() {
        let p = snake();
        let costs = step_costs(&p);
        assert_eq!(costs.len(), 49);
        // (first level of the step, last level, cost of each step)
        let table: &[(u32, u32, u64)] = &[
            (1, 2, 1_000),
            (2, 3, 2_000),
            (3, 4, 3_000),
            (4, 5, 5_000),
            (5, 10, 10_000),
            (10, 15, 20_000),
            (15, 20, 30_000),
            (20, 25, 40_000),
            (25, 30, 60_000),
            (30, 40, 50_000),
            (40, 50, 75_000),
        ];
        for &(from, to, each) in table {
            for level in from..to {
                assert_eq!(costs[level as usize - 1], each, "{level}→{}", level + 1);
            }
        }
        assert_eq!(xp_to_reach(&p, 50), costs.iter().sum::<u64>());
        assert_eq!(xp_to_reach(&p, 50), 2_061_000);
    }

    #[test]
    fn uneven_span_gives_remainder_to_earliest_steps() {
        let mut p = snake();
        p.levels = vec![crate::domain::guild::preset::LevelSpan {
            from: 1,
            to: 4,
            xp: 10,
        }];
        assert_eq!(step_costs(&p), [4, 3, 3]);
    }

    #[test]
    fn cumulative_xp() {
        let p = snake();
        let table = [
            (0, 0),
            (1, 0),
            (2, 1_000),
            (3, 3_000),
            (4, 6_000),
            (5, 11_000),
            (6, 21_000),
            (10, 61_000),
            (15, 161_000),
            (20, 311_000),
            (25, 511_000),
            (30, 811_000),
            (40, 1_311_000),
            (50, 2_061_000),
            (51, 2_061_000),
        ];
        for (level, xp) in table {
            assert_eq!(xp_to_reach(&p, level), xp, "level {level}");
        }
    }

    #[test]
    fn level_at_boundaries() {
        let p = snake();
        assert_eq!(p.max_level(), 50);
        let table = [
            (0, 1),
            (999, 1),
            (1_000, 2),
            (2_999, 2),
            (3_000, 3),
            (5_999, 3),
            (6_000, 4),
            (10_999, 4),
            (11_000, 5),
            (20_999, 5),
            (21_000, 6),
            (60_999, 9),
            (61_000, 10),
            (161_000, 15),
            (811_000, 30),
            (1_310_999, 39),
            (1_311_000, 40),
            (2_060_999, 49),
            (2_061_000, 50),
            (u64::MAX, 50),
        ];
        for (xp, level) in table {
            assert_eq!(level_for_xp(&p, xp), level, "{xp} XP");
        }
        // Round trip: the XP to reach a level is exactly where the level starts.
        for level in 1..=50 {
            let xp = xp_to_reach(&p, level);
            assert_eq!(level_for_xp(&p, xp), level);
            if level > 1 {
                assert_eq!(level_for_xp(&p, xp - 1), level - 1);
            }
        }
    }

    #[test]
    fn perks_by_level() {
        let p = snake();
        // (level, capacity, DNA bonus %, war reward %, chat, raids)
        let table = [
            (1, 50, 0, 0, false, false),
            (2, 50, 0, 0, false, false),
            (3, 50, 5, 0, false, false),
            (4, 50, 5, 0, false, false),
            (5, 50, 5, 0, true, false),
            (14, 50, 5, 0, true, false),
            (15, 50, 15, 0, true, false),
            (29, 50, 15, 0, true, false),
            (30, 50, 15, 50, true, false),
            (39, 50, 15, 50, true, false),
            (40, 75, 15, 50, true, true),
            (50, 75, 15, 50, true, true),
        ];
        for (level, cap, dna, war, chat, raid) in table {
            assert_eq!(capacity(&p, level), cap, "capacity at {level}");
            assert_eq!(dna_bonus_pct(&p, level), dna, "DNA bonus at {level}");
            assert_eq!(war_reward_pct(&p, level), war, "war reward at {level}");
            assert_eq!(chat_unlocked(&p, level), chat, "chat at {level}");
            assert_eq!(raid_unlocked(&p, level), raid, "raids at {level}");
        }
    }

    #[test]
    fn dna_bonus_applied_to_runs() {
        let p = snake();
        // Seed 003 §2.2: "100 DNA run → 105 DNA with guild perk".
        let table = [
            (2, 100, 100),
            (3, 100, 105),
            (14, 100, 105),
            (15, 100, 115),
            (3, 19, 19),
            (3, 20, 21),
            (15, 7, 8),
            (3, 0, 0),
            (15, u64::MAX, u64::MAX),
        ];
        for (level, dna, expect) in table {
            assert_eq!(with_dna_bonus(&p, level, dna), expect, "{dna} at {level}");
        }
        // Seed 003 §2.2: war coins 150 per member (vs 100 base) at 30.
        assert_eq!(with_war_bonus(&p, 29, 100), 100);
        assert_eq!(with_war_bonus(&p, 30, 100), 150);
    }

    #[test]
    fn perks_first_reached() {
        let p = snake();
        let table: &[(u32, u32, &[&str])] = &[
            (
                1,
                50,
                &[
                    "dna_bonus_5",
                    "guild_chat",
                    "dna_bonus_15",
                    "war_reward_50",
                    "capacity_75",
                    "raids",
                ],
            ),
            (1, 2, &[]),
            (2, 3, &["dna_bonus_5"]),
            (3, 4, &[]),
            (3, 5, &["guild_chat"]),
            (14, 15, &["dna_bonus_15"]),
            (29, 30, &["war_reward_50"]),
            (39, 40, &["capacity_75", "raids"]),
            (40, 50, &[]),
            (5, 5, &[]),
            (0, 1, &["capacity_50"]),
        ];
        for (from, to, names) in table {
            assert_eq!(perks_unlocked(&p, *from, *to), *names, "({from}, {to}]");
        }
    }

    #[test]
    fn xp_from_dna_loses_no_remainder() {
        let p = snake();
        let table = [
            (0, 99, 0),
            (0, 100, 1),
            (99, 1, 1),
            (150, 100, 1),
            (0, 250, 2),
            (250, 50, 1),
        ];
        for (before, dna, xp) in table {
            assert_eq!(xp_from_dna(&p, before, dna), xp, "{before} + {dna}");
        }
        // Ten runs of 50 earn what one run of 500 does.
        let mut total = 0;
        let mut xp = 0;
        for _ in 0..10 {
            xp += xp_from_dna(&p, total, 50);
            total += 50;
        }
        assert_eq!(xp, xp_from_dna(&p, 0, 500));
        assert_eq!(xp, 5);
    }

    /// RULES.md § Guilds: 10 per login, 1 per 100 DNA, war 1,000 / 500, raid 10,000 / 5,000.
    #[test]
    fn xp_sources() {
        let p = snake();
        assert_eq!(p.xp.per_login, 10);
        assert_eq!(p.xp.dna_per_xp, 100);
        let table = [
            ("war_win", XpSource::WarWin, 1_000),
            ("war_loss", XpSource::WarLoss, 500),
            ("raid_victory", XpSource::RaidVictory, 10_000),
            ("raid_defeat", XpSource::RaidDefeat, 5_000),
        ];
        for (name, source, xp) in table {
            assert_eq!(XpSource::parse(name), Some(source));
            assert_eq!(source.as_str(), name);
            assert_eq!(xp_for(&p, source), xp, "{name}");
        }
        assert_eq!(XpSource::parse("war"), None);
    }

    #[test]
    fn datavism_levels_follow_the_seed_thresholds() {
        let p = Preset::builtin("datavism").expect("builtin");
        let table = [
            (999, 1),
            (1_000, 2),
            (4_999, 2),
            (5_000, 3),
            (14_999, 3),
            (15_000, 4),
            (49_999, 4),
            (50_000, 5),
            (149_999, 5),
            (150_000, 6),
            (10_000_000, 6),
        ];
        for (xp, level) in table {
            assert_eq!(level_for_xp(&p, xp), level, "{xp} points");
        }
        assert_eq!(capacity(&p, 5), 50);
        assert_eq!(capacity(&p, 6), 100);
    }

    #[test]
    fn krog_capacity_does_not_grow() {
        let p = Preset::builtin("krog").expect("builtin");
        assert_eq!(capacity(&p, 1), 50);
        assert_eq!(capacity(&p, 50), 50);
        assert!(chat_unlocked(&p, 1));
        assert_eq!(with_dna_bonus(&p, 50, 100), 100);
    }
}
