//! Game presets: every name and number of the guild rules, as data. SupaSnake's numbers
//! (RULES.md § Guilds) are the default; KROG clubs and DATAVISM squads are the other builtins.
//!
//! A studio does not write a preset from scratch: it names a builtin and overrides what differs
//! (`Preset::resolve`), so a new field added here reaches every deployment with a sensible
//! value, and a misspelt key is refused instead of silently ignored (`deny_unknown_fields`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::roles::{Action, ALL_PERMISSIONS};
use crate::domain::raid::RaidRules;
use crate::domain::war::WarRules;

/// The builtin game names, for messages and config checks.
pub const GAMES: [&str; 3] = ["supasnake", "krog", "datavism"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// "supasnake" | "krog" | "datavism".
    pub game: String,
    /// Guild name length in chars.
    pub name_min: usize,
    pub name_max: usize,
    /// Tag length in chars.
    pub tag_min: usize,
    pub tag_max: usize,
    pub description_max: usize,
    /// The guild message (officers edit it), chars.
    pub message_max: usize,
    /// What creating a guild costs its leader, in `currency`.
    pub create_cost: u64,
    /// The currency of the creation cost, the vault and run rewards ("dna").
    pub currency: String,
    /// The currency of war rewards ("war_coins").
    pub war_currency: String,
    /// Base member capacity, before perks.
    pub capacity: u32,
    /// Rank 1 is the highest (the leader); ranks are unique.
    pub roles: Vec<RoleDef>,
    /// The role a new member gets.
    pub join_role: String,
    pub promotions: Vec<AutoPromotion>,
    /// How long a leadership transfer waits for confirmation.
    pub transfer_confirm_hours: u64,
    /// The inactivity settings (days) a guild may choose for auto-kick.
    pub auto_kick_choices: Vec<u32>,
    /// How many days before the kick the warning goes out.
    pub auto_kick_warning_days: u32,
    pub vault: VaultRules,
    pub xp: XpRules,
    pub levels: Vec<LevelSpan>,
    pub perks: Perks,
    /// Which permission name grants each server action, keyed by `Action::as_str()` ("invite",
    /// "kick", ...).
    pub permissions: BTreeMap<String, String>,
    /// Guild wars: scoring, matchmaking, results and the weekly calendar.
    #[serde(default)]
    pub war: WarRules,
    #[serde(default)]
    pub raid: RaidRules,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// `[a-z0-9_]+`: role names travel on the wire and in the store as identifiers.
    pub name: String,
    /// 1 = highest.
    pub rank: u32,
    /// Permission names; "all" grants every action.
    pub permissions: Vec<String>,
    /// At most this many members may hold the role.
    #[serde(default)]
    pub max: Option<u32>,
    /// Kicks only members of this rank number or lower; absent: any lower rank. SupaSnake's
    /// officers kick "recruits and members" (RULES.md), not veterans: 4.
    #[serde(default)]
    pub kicks_from_rank: Option<u32>,
}

/// A member holding `from` moves to `to` once in the guild `days` days with `points` activity
/// points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoPromotion {
    pub from: String,
    pub to: String,
    pub days: u32,
    pub points: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRules {
    /// What one member may donate per UTC day.
    pub daily_per_member: u64,
    /// The most the vault holds.
    pub cap: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XpRules {
    /// Per member, on their first login of a UTC day.
    pub per_login: u64,
    /// 1 XP per this much run currency collected by members.
    pub dna_per_xp: u64,
    pub war_win: u64,
    pub war_loss: u64,
    pub raid_victory: u64,
    pub raid_defeat: u64,
}

/// Levels `from` → `to` cost `xp` in total, spread evenly over the steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpan {
    pub from: u32,
    pub to: u32,
    pub xp: u64,
}

/// The level perks the server enforces itself (seed 003 §2.2; the cosmetic ones are the
/// client's business).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Perks {
    pub chat_level: u32,
    pub raid_level: u32,
    pub capacity: Vec<LevelValue>,
    pub dna_bonus_pct: Vec<LevelValue>,
    pub war_reward_pct: Vec<LevelValue>,
}

/// From `level` on, the value is `value`: the highest entry reached wins, entries do not add
/// up (seed 003: "+10% (stacks to +15% total)" is written as 15 at level 15).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelValue {
    pub level: u32,
    pub value: u32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PresetError {
    #[error("unknown game preset {0:?} (supasnake, krog, datavism)")]
    Unknown(String),
    #[error("invalid preset override: {0}")]
    Override(String),
    #[error("invalid preset: {0}")]
    Invalid(String),
}

/// What `leader()` and `lowest()` return for a preset without roles, which `validate` refuses:
/// a role no one holds and that grants nothing, rather than a panic.
static NO_ROLE: RoleDef = RoleDef {
    name: String::new(),
    rank: 0,
    permissions: Vec::new(),
    max: None,
    kicks_from_rank: None,
};

impl Preset {
    pub fn builtin(game: &str) -> Option<Preset> {
        match game {
            "supasnake" => Some(supasnake()),
            "krog" => Some(krog()),
            "datavism" => Some(datavism()),
            _ => None,
        }
    }

    /// The builtin preset with a studio's overrides deep-merged over it (objects merge key by
    /// key; arrays and scalars replace), then validated. `null` or `{}` means no overrides.
    pub fn resolve(game: &str, overrides: &Value) -> Result<Preset, PresetError> {
        let base = Self::builtin(game).ok_or_else(|| PresetError::Unknown(game.to_owned()))?;
        let preset = match overrides {
            Value::Null => base,
            Value::Object(map) => {
                // Overriding `game` would make the preset claim to be another game's while
                // holding this one's rules.
                if let Some(other) = map.get("game") {
                    if other.as_str() != Some(game) {
                        return Err(PresetError::Override(format!(
                            "game is {game:?}; choose another game by name, not by override"
                        )));
                    }
                }
                let mut merged = serde_json::to_value(&base)
                    .map_err(|e| PresetError::Override(e.to_string()))?;
                merge(&mut merged, overrides);
                serde_json::from_value(merged).map_err(|e| PresetError::Override(e.to_string()))?
            }
            _ => {
                return Err(PresetError::Override(
                    "overrides must be a table of preset keys".into(),
                ))
            }
        };
        preset.validate()?;
        Ok(preset)
    }

    pub fn validate(&self) -> Result<(), PresetError> {
        let bad = |msg: String| Err(PresetError::Invalid(msg));
        if self.game.is_empty() {
            return bad("game is empty".into());
        }
        if let Err(e) = self.war.schedule.calendar() {
            return bad(format!("war.schedule: {e}"));
        }
        if self.war.scoring.best_runs == 0 || self.raid.boss.hp == 0 {
            return bad("war.scoring.best_runs and raid.boss.hp must be more than 0".into());
        }
        if self.name_min == 0 || self.name_min > self.name_max {
            return bad(format!(
                "name length {}..{} (need 1 <= min <= max)",
                self.name_min, self.name_max
            ));
        }
        if self.tag_min == 0 || self.tag_min > self.tag_max {
            return bad(format!(
                "tag length {}..{} (need 1 <= min <= max)",
                self.tag_min, self.tag_max
            ));
        }
        if self.currency.is_empty() || self.war_currency.is_empty() {
            return bad("currency and war_currency must be named".into());
        }
        if self.capacity == 0 {
            return bad("capacity must be at least 1".into());
        }
        self.validate_roles()?;
        self.validate_levels()?;
        if self.xp.dna_per_xp == 0 {
            return bad("xp.dna_per_xp must be at least 1".into());
        }
        if self.auto_kick_choices.is_empty() {
            return bad("auto_kick_choices is empty".into());
        }
        // A choice no longer than the warning would warn on the first day of inactivity, or
        // never give the promised notice.
        if let Some(days) = self
            .auto_kick_choices
            .iter()
            .find(|&&d| d <= self.auto_kick_warning_days)
        {
            return bad(format!(
                "auto-kick after {days} days leaves no room for a {}-day warning",
                self.auto_kick_warning_days
            ));
        }
        for action in Action::ALL {
            if !self.permissions.contains_key(action.as_str()) {
                return bad(format!(
                    "no permission named for action {}",
                    action.as_str()
                ));
            }
        }
        if let Some(key) = self
            .permissions
            .keys()
            .find(|k| Action::parse(k.as_str()).is_none())
        {
            return bad(format!("permissions: unknown action {key:?}"));
        }
        Ok(())
    }

    fn validate_roles(&self) -> Result<(), PresetError> {
        let bad = |msg: String| Err(PresetError::Invalid(msg));
        if self.roles.is_empty() {
            return bad("no roles".into());
        }
        for (i, role) in self.roles.iter().enumerate() {
            let well_named = !role.name.is_empty()
                && role
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !well_named {
                return bad(format!("role name {:?} (use [a-z0-9_])", role.name));
            }
            if role.max == Some(0) {
                return bad(format!("role {} can never be held (max 0)", role.name));
            }
            if role.permissions.iter().any(|p| p.is_empty()) {
                return bad(format!("role {} has an empty permission name", role.name));
            }
            for other in &self.roles[..i] {
                if other.name == role.name {
                    return bad(format!("two roles named {}", role.name));
                }
                if other.rank == role.rank {
                    return bad(format!(
                        "roles {} and {} share rank {}",
                        other.name, role.name, role.rank
                    ));
                }
            }
        }
        let leader = self.leader();
        if self.role(&self.join_role).is_none() {
            return bad(format!("join_role {} is not a role", self.join_role));
        }
        if self.join_role == leader.name {
            return bad("new members cannot join as the leader".into());
        }
        for p in &self.promotions {
            let (Some(from), Some(to)) = (self.role(&p.from), self.role(&p.to)) else {
                return bad(format!("promotion {} -> {}: unknown role", p.from, p.to));
            };
            if to.rank >= from.rank {
                return bad(format!(
                    "promotion {} -> {} does not go up",
                    from.name, to.name
                ));
            }
            // Leadership moves only by transfer.
            if to.name == leader.name {
                return bad(format!("promotion {} -> the leader role", from.name));
            }
        }
        Ok(())
    }

    fn validate_levels(&self) -> Result<(), PresetError> {
        let bad = |msg: String| Err(PresetError::Invalid(msg));
        let mut next = 1;
        for span in &self.levels {
            if span.from != next {
                return bad(format!(
                    "level span {}->{} should start at {next}",
                    span.from, span.to
                ));
            }
            if span.from >= span.to {
                return bad(format!(
                    "level span {}->{} goes nowhere",
                    span.from, span.to
                ));
            }
            // Every step must cost something, or two levels would need the same XP.
            if span.xp < u64::from(span.to - span.from) {
                return bad(format!(
                    "level span {}->{} costs {} XP, less than 1 per level",
                    span.from, span.to, span.xp
                ));
            }
            next = span.to;
        }
        let max = self.max_level();
        let in_range = |level: u32| (1..=max).contains(&level);
        if !in_range(self.perks.chat_level) || !in_range(self.perks.raid_level) {
            return bad(format!("perk levels must lie within 1..={max}"));
        }
        for (kind, values) in [
            ("capacity", &self.perks.capacity),
            ("dna_bonus_pct", &self.perks.dna_bonus_pct),
            ("war_reward_pct", &self.perks.war_reward_pct),
        ] {
            if values.iter().any(|v| !in_range(v.level)) {
                return bad(format!("perks.{kind}: levels must lie within 1..={max}"));
            }
            if values.windows(2).any(|w| w[0].level >= w[1].level) {
                return bad(format!("perks.{kind}: levels must rise"));
            }
        }
        if self.perks.capacity.iter().any(|v| v.value == 0) {
            return bad("perks.capacity: a capacity of 0".into());
        }
        Ok(())
    }

    pub fn role(&self, name: &str) -> Option<&RoleDef> {
        self.roles.iter().find(|r| r.name == name)
    }

    /// The role with the smallest rank number.
    pub fn leader(&self) -> &RoleDef {
        self.roles.iter().min_by_key(|r| r.rank).unwrap_or(&NO_ROLE)
    }

    /// The role with the largest rank number.
    pub fn lowest(&self) -> &RoleDef {
        self.roles.iter().max_by_key(|r| r.rank).unwrap_or(&NO_ROLE)
    }

    /// The highest level (1 when there is no level table).
    pub fn max_level(&self) -> u32 {
        self.levels.iter().map(|s| s.to).max().unwrap_or(1).max(1)
    }
}

/// Objects merge key by key; anything else (arrays included) replaces. Arrays replace because
/// merging a role list by position would give a role another role's permissions.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

fn role(name: &str, rank: u32, permissions: &[&str], max: Option<u32>) -> RoleDef {
    RoleDef {
        name: name.into(),
        rank,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        max,
        kicks_from_rank: None,
    }
}

impl RoleDef {
    fn kicking_from(mut self, rank: u32) -> Self {
        self.kicks_from_rank = Some(rank);
        self
    }
}

fn promotion(from: &str, to: &str, days: u32, points: u32) -> AutoPromotion {
    AutoPromotion {
        from: from.into(),
        to: to.into(),
        days,
        points,
    }
}

fn span(from: u32, to: u32, xp: u64) -> LevelSpan {
    LevelSpan { from, to, xp }
}

fn at(level: u32, value: u32) -> LevelValue {
    LevelValue { level, value }
}

/// Each action granted by the permission of the same name.
fn permissions_named_as_actions() -> BTreeMap<String, String> {
    Action::ALL
        .iter()
        .map(|a| (a.as_str().to_owned(), a.as_str().to_owned()))
        .collect()
}

/// Seed 003 §2.1's table.
fn supasnake_levels() -> Vec<LevelSpan> {
    vec![
        span(1, 2, 1_000),
        span(2, 3, 2_000),
        span(3, 4, 3_000),
        span(4, 5, 5_000),
        span(5, 10, 50_000),
        span(10, 15, 100_000),
        span(15, 20, 150_000),
        span(20, 25, 200_000),
        span(25, 30, 300_000),
        span(30, 40, 500_000),
        span(40, 50, 750_000),
    ]
}

/// RULES.md § Guilds: war XP from seed 003 §3.4 (1,000 / 500), not its §2.1 (10,000).
fn supasnake_xp() -> XpRules {
    XpRules {
        per_login: 10,
        dna_per_xp: 100,
        war_win: 1_000,
        war_loss: 500,
        raid_victory: 10_000,
        raid_defeat: 5_000,
    }
}

fn supasnake() -> Preset {
    const BASICS: [&str; 3] = ["chat", "participate", "donate"];
    Preset {
        game: "supasnake".into(),
        name_min: 3,
        name_max: 20,
        tag_min: 3,
        tag_max: 5,
        description_max: 200,
        message_max: 200,
        create_cost: 5_000,
        currency: "dna".into(),
        war_currency: "war_coins".into(),
        capacity: 50,
        roles: vec![
            role("leader", 1, &[ALL_PERMISSIONS], None),
            // "Accept applications" is `review`; "manage guild chat" is `mute`. Promoting is
            // the leader's alone (seed 003 §1.2: "Promotion: Leader decision").
            role(
                "officer",
                2,
                &[
                    "invite",
                    "review",
                    "kick",
                    "mute",
                    "edit_message",
                    "spend_vault",
                    "chat",
                    "participate",
                    "donate",
                    "vote",
                    "war",
                ],
                Some(5),
            )
            .kicking_from(4),
            // Seed 003 gives the vote to veterans ("vote on guild decisions") and takes it from
            // recruits only; RULES.md lists chat, participate, donate for veteran and member.
            // Both hold if veterans vote and members do not.
            role(
                "veteran",
                3,
                &[BASICS[0], BASICS[1], BASICS[2], "vote"],
                None,
            ),
            role("member", 4, &BASICS, None),
            // Probation: no donating, no voting.
            role("recruit", 5, &["chat", "participate"], None),
        ],
        join_role: "recruit".into(),
        promotions: vec![
            promotion("recruit", "member", 7, 10),
            promotion("member", "veteran", 30, 100),
        ],
        transfer_confirm_hours: 48,
        auto_kick_choices: vec![7, 14, 30],
        auto_kick_warning_days: 3,
        vault: VaultRules {
            daily_per_member: 10_000,
            cap: 50_000,
        },
        xp: supasnake_xp(),
        levels: supasnake_levels(),
        perks: Perks {
            chat_level: 5,
            raid_level: 40,
            capacity: vec![at(1, 50), at(40, 75)],
            dna_bonus_pct: vec![at(3, 5), at(15, 15)],
            war_reward_pct: vec![at(30, 50)],
        },
        permissions: permissions_named_as_actions(),
        war: WarRules::default(),
        raid: RaidRules::default(),
    }
}

/// KROG clubs (seed 004 §6.2). The seed has no club levels, vault or XP, so those keep
/// SupaSnake's numbers: the server's wars and raids need them, and a studio overrides them.
fn krog() -> Preset {
    // Held by every role: the actions any club member may take.
    const BASICS: &str = "member_basics";
    // A name no role carries, so only the owner's "all" grants it: the seed's owner has "full
    // control, cannot be removed", so only the owner disbands or hands the club over.
    const OWNER_ONLY: &str = "owner_only";
    let actions: [(Action, &str); 18] = [
        (Action::Invite, "invite_members"),
        (Action::Review, "manage_members"),
        (Action::Kick, "kick_members"),
        (Action::Promote, "manage_roles"),
        (Action::Demote, "manage_roles"),
        (Action::EditProfile, "manage_settings"),
        (Action::EditMessage, "pin_messages"),
        (Action::EditSettings, "manage_settings"),
        (Action::Disband, OWNER_ONLY),
        (Action::Transfer, OWNER_ONLY),
        (Action::SpendVault, "manage_settings"),
        (Action::Donate, BASICS),
        (Action::Chat, BASICS),
        (Action::Mute, "moderate_forums"),
        (Action::Protect, "manage_members"),
        (Action::Participate, BASICS),
        (Action::Vote, BASICS),
        // Club events: "create_events" is the administrators'.
        (Action::War, "create_events"),
    ];
    let base = supasnake();
    Preset {
        game: "krog".into(),
        // Seed 004 §6.2.1: "tag: 2-6 char abbreviation".
        tag_min: 2,
        tag_max: 6,
        // "memberLimit: Free: 50"; the paid tiers are a studio override. Club size does not
        // grow with level: the seed ties it to the plan, not to progress.
        capacity: 50,
        roles: vec![
            role("owner", 1, &[ALL_PERMISSIONS], None),
            // "Manage most club functions": everything but the owner's own acts.
            role(
                "administrator",
                2,
                &[
                    "manage_members",
                    "manage_roles",
                    "manage_settings",
                    "create_events",
                    "moderate_forums",
                    "manage_teams",
                    "invite_members",
                    "kick_members",
                    "ban_members",
                    "manage_club_games",
                    "pin_messages",
                    BASICS,
                ],
                None,
            ),
            // "Manage forums and members".
            role(
                "moderator",
                3,
                &[
                    "manage_members",
                    "moderate_forums",
                    "pin_messages",
                    "invite_members",
                    "kick_members",
                    "ban_members",
                    BASICS,
                ],
                None,
            ),
            // "Run training sessions".
            role(
                "coach",
                4,
                &["create_events", "manage_club_games", BASICS],
                None,
            ),
            // "Manage competitive teams".
            role("team_captain", 5, &["manage_teams", BASICS], None),
            role("member", 6, &[BASICS], None),
            // "Probationary period (7 days)": the seed sets no points, only the time.
            role("newcomer", 7, &[BASICS], None),
        ],
        join_role: "newcomer".into(),
        promotions: vec![promotion("newcomer", "member", 7, 0)],
        perks: Perks {
            // Clubs have forums from the start; the level gate is SupaSnake's.
            chat_level: 1,
            capacity: Vec::new(),
            // Chess games pay no run currency to boost.
            dna_bonus_pct: Vec::new(),
            ..base.perks.clone()
        },
        permissions: actions
            .iter()
            .map(|(a, p)| (a.as_str().to_owned(), (*p).to_owned()))
            .collect(),
        ..base
    }
}

/// DATAVISM squads (seed 000 Part II). The seed names no squad roles, so they follow its
/// operations vocabulary: a leader, lieutenants who run recruitment and the treasury, operatives,
/// and recruits on the same 7-day probation as SupaSnake's.
fn datavism() -> Preset {
    Preset {
        game: "datavism".into(),
        roles: vec![
            role("leader", 1, &[ALL_PERMISSIONS], None),
            role(
                "lieutenant",
                2,
                &[
                    "invite",
                    "review",
                    "kick",
                    "mute",
                    "edit_message",
                    "spend_vault",
                    "chat",
                    "participate",
                    "donate",
                    "vote",
                    "war",
                ],
                Some(5),
            ),
            // Squads decide by vote (seed 000 Part V), so every full member votes.
            role(
                "operative",
                3,
                &["chat", "participate", "donate", "vote"],
                None,
            ),
            role("recruit", 4, &["chat", "participate"], None),
        ],
        join_role: "recruit".into(),
        promotions: vec![promotion("recruit", "operative", 7, 10)],
        // Seed 000 §2.2: level 2 at 1,000 points, 3 at 5,000, 4 at 15,000, 5 at 50,000, 6 at
        // 150,000; each span costs the difference.
        levels: vec![
            span(1, 2, 1_000),
            span(2, 3, 4_000),
            span(3, 4, 10_000),
            span(4, 5, 35_000),
            span(5, 6, 100_000),
        ],
        // The seed's points: a mission completed 100, a territory liberated 500, evidence 50.
        // A raid is a squad operation (100 won; a failed one still yields evidence, 50); a war
        // is a fight over territory (500 won, 100 for taking part). Logins and collected
        // currency count as in SupaSnake.
        xp: XpRules {
            per_login: 10,
            dna_per_xp: 100,
            war_win: 500,
            war_loss: 100,
            raid_victory: 100,
            raid_defeat: 50,
        },
        perks: Perks {
            // Operations are what squads are for: chat and raids from the start.
            chat_level: 1,
            raid_level: 1,
            // The seed's sizes run 5, 10, 15, 25, 50, 100 by level, but its own "mass
            // organisation" squad types hold 25-100 from the start; RULES.md's 50 applies from
            // level 1, and the Mythic Legion (level 6) keeps its 100.
            capacity: vec![at(1, 50), at(6, 100)],
            // "Resource_Sharing" at 3 and "Elite_Training" at 4 become the run bonus.
            dna_bonus_pct: vec![at(3, 5), at(4, 10)],
            // The Legendary Brigade (level 5) is where the seed's perk count jumps.
            war_reward_pct: vec![at(5, 50)],
        },
        ..supasnake()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_builtin_is_valid() {
        for game in GAMES {
            let preset = Preset::builtin(game).expect("builtin");
            assert_eq!(preset.game, game);
            assert_eq!(preset.validate(), Ok(()), "{game}");
            assert_eq!(Preset::resolve(game, &Value::Null), Ok(preset.clone()));
            assert_eq!(Preset::resolve(game, &json!({})), Ok(preset));
        }
        assert_eq!(Preset::builtin("chess"), None);
        assert_eq!(
            Preset::resolve("SupaSnake", &json!({})),
            Err(PresetError::Unknown("SupaSnake".into()))
        );
    }

    #[test]
    fn supasnake_matches_rules_md() {
        let p = Preset::builtin("supasnake").expect("builtin");
        assert_eq!((p.name_min, p.name_max), (3, 20));
        assert_eq!((p.tag_min, p.tag_max), (3, 5));
        assert_eq!((p.description_max, p.message_max), (200, 200));
        assert_eq!(p.create_cost, 5_000);
        assert_eq!(
            (p.currency.as_str(), p.war_currency.as_str()),
            ("dna", "war_coins")
        );
        assert_eq!(p.capacity, 50);
        let names: Vec<_> = p.roles.iter().map(|r| (r.name.as_str(), r.rank)).collect();
        assert_eq!(
            names,
            [
                ("leader", 1),
                ("officer", 2),
                ("veteran", 3),
                ("member", 4),
                ("recruit", 5)
            ]
        );
        assert_eq!(p.role("officer").and_then(|r| r.max), Some(5));
        assert_eq!(p.leader().name, "leader");
        assert_eq!(p.lowest().name, "recruit");
        assert_eq!(p.join_role, "recruit");
        assert_eq!(
            p.promotions,
            [
                promotion("recruit", "member", 7, 10),
                promotion("member", "veteran", 30, 100)
            ]
        );
        assert_eq!(p.transfer_confirm_hours, 48);
        assert_eq!(p.auto_kick_choices, [7, 14, 30]);
        assert_eq!(p.auto_kick_warning_days, 3);
        assert_eq!(
            p.vault,
            VaultRules {
                daily_per_member: 10_000,
                cap: 50_000
            }
        );
        assert_eq!(p.max_level(), 50);
        assert_eq!(p.permissions.len(), Action::ALL.len());
    }

    #[test]
    fn krog_and_datavism_shapes() {
        let k = Preset::builtin("krog").expect("builtin");
        let names: Vec<_> = k.roles.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "owner",
                "administrator",
                "moderator",
                "coach",
                "team_captain",
                "member",
                "newcomer"
            ]
        );
        assert_eq!((k.tag_min, k.tag_max, k.capacity), (2, 6, 50));
        assert_eq!(k.join_role, "newcomer");
        assert_eq!(k.promotions, [promotion("newcomer", "member", 7, 0)]);
        assert_eq!(k.permissions["kick"], "kick_members");
        assert_eq!(k.permissions["disband"], "owner_only");
        assert!(k
            .roles
            .iter()
            .all(|r| !r.permissions.contains(&"owner_only".to_owned())));

        let d = Preset::builtin("datavism").expect("builtin");
        let names: Vec<_> = d.roles.iter().map(|r| (r.name.as_str(), r.rank)).collect();
        assert_eq!(
            names,
            [
                ("leader", 1),
                ("lieutenant", 2),
                ("operative", 3),
                ("recruit", 4)
            ]
        );
        assert_eq!(d.max_level(), 6);
        assert_eq!(d.capacity, 50);
    }

    #[test]
    fn overrides_merge_objects_and_replace_the_rest() {
        let p = Preset::resolve(
            "supasnake",
            &json!({
                "capacity": 60,
                "vault": { "cap": 80000 },
                "auto_kick_choices": [10, 20],
                "permissions": { "kick": "vote" },
            }),
        )
        .expect("resolves");
        assert_eq!(p.capacity, 60);
        assert_eq!(p.vault.cap, 80_000);
        assert_eq!(
            p.vault.daily_per_member, 10_000,
            "untouched sibling key kept"
        );
        assert_eq!(p.auto_kick_choices, [10, 20], "arrays replace");
        assert_eq!(p.permissions["kick"], "vote");
        assert_eq!(p.permissions["invite"], "invite", "map merged key by key");

        let k = Preset::resolve("krog", &json!({ "capacity": 200 })).expect("resolves");
        assert_eq!(k.capacity, 200);
        assert_eq!(k.tag_min, 2);
    }

    #[test]
    fn bad_overrides_are_refused() {
        let refused = |over: Value| match Preset::resolve("supasnake", &over) {
            Err(PresetError::Override(_)) => true,
            other => panic!("{over}: {other:?}"),
        };
        assert!(refused(json!({ "capactiy": 60 })), "misspelt key");
        assert!(
            refused(json!({ "vault": { "limit": 1 } })),
            "misspelt nested key"
        );
        assert!(refused(json!({ "capacity": "many" })), "wrong type");
        assert!(refused(json!({ "game": "krog" })), "game by override");
        assert!(refused(json!([1, 2])), "not a table");
        assert!(Preset::resolve("supasnake", &json!({ "game": "supasnake" })).is_ok());
    }

    #[test]
    fn validation_table() {
        type Edit = fn(&mut Preset);
        let cases: &[(&str, Edit)] = &[
            ("no roles", |p| p.roles.clear()),
            ("duplicate name", |p| p.roles[1].name = "leader".into()),
            ("duplicate rank", |p| p.roles[2].rank = 2),
            ("bad role name", |p| p.roles[2].name = "Veteran".into()),
            ("max 0", |p| p.roles[1].max = Some(0)),
            ("join role missing", |p| p.join_role = "newbie".into()),
            ("join as leader", |p| p.join_role = "leader".into()),
            ("promotion to unknown", |p| {
                p.promotions[0].to = "elder".into()
            }),
            ("promotion downward", |p| {
                p.promotions[0] = promotion("member", "recruit", 1, 1)
            }),
            ("promotion to leader", |p| {
                p.promotions[0] = promotion("officer", "leader", 1, 1)
            }),
            ("levels start at 2", |p| p.levels[0].from = 2),
            ("levels gap", |p| {
                p.levels.remove(3);
            }),
            ("empty span", |p| p.levels[0].to = 1),
            ("span too cheap", |p| p.levels[4].xp = 4),
            ("chat beyond max", |p| p.perks.chat_level = 51),
            ("raid at 0", |p| p.perks.raid_level = 0),
            ("perk beyond max", |p| {
                p.perks.dna_bonus_pct.push(at(60, 20))
            }),
            ("perks unsorted", |p| p.perks.capacity.reverse()),
            ("capacity perk 0", |p| p.perks.capacity[1].value = 0),
            ("name min > max", |p| p.name_min = 21),
            ("tag min 0", |p| p.tag_min = 0),
            ("capacity 0", |p| p.capacity = 0),
            ("dna_per_xp 0", |p| p.xp.dna_per_xp = 0),
            ("no auto-kick choices", |p| p.auto_kick_choices.clear()),
            ("auto-kick within warning", |p| {
                p.auto_kick_choices = vec![3]
            }),
            ("action without permission", |p| {
                p.permissions.remove("vote");
            }),
            ("unknown action", |p| {
                p.permissions.insert("fly".into(), "fly".into());
            }),
            ("no currency", |p| p.currency.clear()),
        ];
        for (what, edit) in cases {
            let mut p = Preset::builtin("supasnake").expect("builtin");
            edit(&mut p);
            assert!(
                matches!(p.validate(), Err(PresetError::Invalid(_))),
                "{what}: {:?}",
                p.validate()
            );
        }
    }

    #[test]
    fn leader_and_lowest_of_an_empty_preset_do_not_panic() {
        let mut p = Preset::builtin("supasnake").expect("builtin");
        p.roles.clear();
        assert_eq!(p.leader().name, "");
        assert_eq!(p.lowest().name, "");
        p.levels.clear();
        assert_eq!(p.max_level(), 1);
    }

    #[test]
    fn round_trips_through_json() {
        for game in GAMES {
            let p = Preset::builtin(game).expect("builtin");
            let text = serde_json::to_string(&p).expect("serializes");
            let back: Preset = serde_json::from_str(&text).expect("parses");
            assert_eq!(back, p);
        }
    }
}
