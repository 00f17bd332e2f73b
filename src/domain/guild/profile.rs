//! What a guild's public profile may hold (seed 003 §1.1, RULES.md § Guilds): the name, tag,
//! description and guild message, the profile's choice fields, and the two figures the system
//! calculates (activity level, war win rate).
//!
//! Lengths are in chars, not bytes, so a name in Cyrillic gets the same 20 as one in Latin.
//! Names are stored as typed (after tidying) and compared through `name_key`, so "CYBER Lords"
//! keeps its capitals and still blocks "cyber lords".

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::preset::Preset;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the name must be {min} to {max} characters")]
    NameLength { min: usize, max: usize },
    #[error("the name may hold only letters, digits, spaces and - _ ' .")]
    NameChars,
    #[error("the tag must be {min} to {max} characters")]
    TagLength { min: usize, max: usize },
    #[error("the tag may hold only capital letters A-Z and digits 0-9")]
    TagChars,
    #[error("the description is at most {max} characters")]
    DescriptionTooLong { max: usize },
    #[error("the guild message is at most {max} characters")]
    MessageTooLong { max: usize },
    #[error("{field} must be one of {allowed}")]
    BadChoice {
        field: &'static str,
        allowed: &'static str,
    },
}

/// NFC, trimmed of any whitespace, inner runs of spaces collapsed to one. NFC first, so an "é" typed as "e" plus
/// a combining accent is the letter "é" and not a refused mark.
fn tidy(name: &str) -> String {
    let composed: String = name.nfc().collect();
    let mut out = String::with_capacity(composed.len());
    for word in composed.trim().split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Trimmed name; `name_min..=name_max` chars; letters, digits, spaces and `- _ ' .` only (no
/// control chars, no other whitespace), inner runs of spaces collapsed. Returns the name to
/// store.
pub fn check_name(preset: &Preset, name: &str) -> Result<String, ProfileError> {
    let name = tidy(name);
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '\'' | '.');
    if !name.chars().all(allowed) {
        return Err(ProfileError::NameChars);
    }
    let len = name.chars().count();
    if len < preset.name_min || len > preset.name_max {
        return Err(ProfileError::NameLength {
            min: preset.name_min,
            max: preset.name_max,
        });
    }
    Ok(name)
}

/// The uniqueness key: case-insensitive (Unicode lowercase of the tidied name), so "CYBER Lords"
/// and "cyber  lords" are the same guild name.
pub fn name_key(name: &str) -> String {
    tidy(name).to_lowercase()
}

/// `[A-Z0-9]` only (lowercase input is refused, not changed: the tag is the guild's mark, and
/// the server does not pick its letters), `tag_min..=tag_max`. Surrounding spaces are trimmed.
pub fn check_tag(preset: &Preset, tag: &str) -> Result<String, ProfileError> {
    let tag = tag.trim();
    if !tag
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(ProfileError::TagChars);
    }
    let len = tag.chars().count();
    if len < preset.tag_min || len > preset.tag_max {
        return Err(ProfileError::TagLength {
            min: preset.tag_min,
            max: preset.tag_max,
        });
    }
    Ok(tag.to_owned())
}

/// At most `description_max` chars. Free text: the chat filter, not this, judges its words.
pub fn check_description(preset: &Preset, text: &str) -> Result<(), ProfileError> {
    if text.chars().count() > preset.description_max {
        return Err(ProfileError::DescriptionTooLong {
            max: preset.description_max,
        });
    }
    Ok(())
}

/// At most `message_max` chars.
pub fn check_message(preset: &Preset, text: &str) -> Result<(), ProfileError> {
    if text.chars().count() > preset.message_max {
        return Err(ProfileError::MessageTooLong {
            max: preset.message_max,
        });
    }
    Ok(())
}

/// How a player gets in (RULES.md: open, approval, invite only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinPolicy {
    Open,
    /// Applications reviewed by officers.
    Approval,
    InviteOnly,
}

impl JoinPolicy {
    pub const ALLOWED: &'static str = "open, approval, invite_only";

    pub fn as_str(self) -> &'static str {
        match self {
            JoinPolicy::Open => "open",
            JoinPolicy::Approval => "approval",
            JoinPolicy::InviteOnly => "invite_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Approval, Self::InviteOnly]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The guild's activity level (seed 003 §1.1 "Activity level ... system-calculated").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    #[default]
    Casual,
    Moderate,
    Hardcore,
}

impl Activity {
    pub const ALLOWED: &'static str = "casual, moderate, hardcore";

    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Casual => "casual",
            Activity::Moderate => "moderate",
            Activity::Hardcore => "hardcore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Casual, Self::Moderate, Self::Hardcore]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// How seriously the guild takes wars (a profile choice, for matchmaking and browsing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarFocus {
    Competitive,
    #[default]
    Casual,
    None,
}

impl WarFocus {
    pub const ALLOWED: &'static str = "competitive, casual, none";

    pub fn as_str(self) -> &'static str {
        match self {
            WarFocus::Competitive => "competitive",
            WarFocus::Casual => "casual",
            WarFocus::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Competitive, Self::Casual, Self::None]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What a member is doing, as the member list shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberPresence {
    #[default]
    Offline,
    Online,
    InRun,
    Idle,
}

impl MemberPresence {
    pub const ALLOWED: &'static str = "offline, online, in_run, idle";

    pub fn as_str(self) -> &'static str {
        match self {
            MemberPresence::Offline => "offline",
            MemberPresence::Online => "online",
            MemberPresence::InRun => "in_run",
            MemberPresence::Idle => "idle",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Offline, Self::Online, Self::InRun, Self::Idle]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// System-calculated activity: the share of members active (any activity) in the last 7 days:
/// >= 70% Hardcore, >= 40% Moderate, else Casual. 0 members → Casual.
pub fn activity_level(active_last_7d: u32, members: u32) -> Activity {
    if members == 0 {
        return Activity::Casual;
    }
    // Integer percentages: 7 of 10 is exactly 70%, with no float rounding to argue about.
    let active = u64::from(active_last_7d.min(members)) * 100;
    let members = u64::from(members);
    if active >= 70 * members {
        Activity::Hardcore
    } else if active >= 40 * members {
        Activity::Moderate
    } else {
        Activity::Casual
    }
}

/// wins / (wins + losses), 0.0 with no wars. Seed 003: 23 wins, 8 losses → 74%.
pub fn win_rate(wins: u32, losses: u32) -> f64 {
    let wars = u64::from(wins) + u64::from(losses);
    if wars == 0 {
        return 0.0;
    }
    f64::from(wins) / wars as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snake() -> Preset {
        Preset::builtin("supasnake").expect("builtin")
    }

    #[test]
    fn names() {
        let p = snake();
        let length = Err(ProfileError::NameLength { min: 3, max: 20 });
        let table: &[(&str, Result<String, ProfileError>)] = &[
            ("CYBER Lords", Ok("CYBER Lords".into())),
            ("  CYBER   Lords  ", Ok("CYBER Lords".into())),
            ("abc", Ok("abc".into())),
            ("ab", length.clone()),
            ("  ab  ", length.clone()),
            ("", length.clone()),
            ("a  b", Ok("a b".into())),
            ("12345678901234567890", Ok("12345678901234567890".into())),
            ("123456789012345678901", length.clone()),
            ("Die Löwen", Ok("Die Löwen".into())),
            // 20 chars, 40 bytes: counted in chars.
            ("ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ", Ok("ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ".into())),
            ("O'Neil's Crew-2_.x", Ok("O'Neil's Crew-2_.x".into())),
            // Decomposed "é" composes to one letter.
            ("Cafe\u{301} Club", Ok("Caf\u{e9} Club".into())),
            ("Bad!Name", Err(ProfileError::NameChars)),
            ("tab\there", Err(ProfileError::NameChars)),
            ("new\nline", Err(ProfileError::NameChars)),
            ("zero\u{200b}width", Err(ProfileError::NameChars)),
            ("nbsp\u{a0}name", Err(ProfileError::NameChars)),
            ("emoji 🐍", Err(ProfileError::NameChars)),
            ("<script>", Err(ProfileError::NameChars)),
        ];
        for (input, expect) in table {
            assert_eq!(&check_name(&p, input), expect, "{input:?}");
        }
    }

    #[test]
    fn name_keys_ignore_case_and_spacing() {
        assert_eq!(name_key("CYBER Lords"), "cyber lords");
        assert_eq!(name_key("cyber  lords "), name_key("CYBER Lords"));
        assert_eq!(name_key("DIE LÖWEN"), "die löwen");
        assert_eq!(name_key("Cafe\u{301}"), name_key("CAF\u{c9}"));
        assert_ne!(name_key("Lords"), name_key("Lord"));
    }

    #[test]
    fn tags() {
        let p = snake();
        let k = Preset::builtin("krog").expect("builtin");
        let snake_len = Err(ProfileError::TagLength { min: 3, max: 5 });
        let krog_len = Err(ProfileError::TagLength { min: 2, max: 6 });
        let table: &[(&Preset, &str, Result<String, ProfileError>)] = &[
            (&p, "CLRD", Ok("CLRD".into())),
            (&p, " CLRD ", Ok("CLRD".into())),
            (&p, "ABC", Ok("ABC".into())),
            (&p, "A1B2C", Ok("A1B2C".into())),
            (&p, "AB", snake_len.clone()),
            (&p, "ABCDEF", snake_len.clone()),
            (&p, "", snake_len),
            (&p, "clrd", Err(ProfileError::TagChars)),
            (&p, "ClRD", Err(ProfileError::TagChars)),
            (&p, "C LD", Err(ProfileError::TagChars)),
            (&p, "ÄBC", Err(ProfileError::TagChars)),
            (&p, "AB-C", Err(ProfileError::TagChars)),
            (&k, "KC", Ok("KC".into())),
            (&k, "KROGCC", Ok("KROGCC".into())),
            (&k, "K", krog_len.clone()),
            (&k, "KROGCCC", krog_len),
        ];
        for (preset, input, expect) in table {
            assert_eq!(
                &check_tag(preset, input),
                expect,
                "{} {input:?}",
                preset.game
            );
        }
    }

    #[test]
    fn texts() {
        let p = snake();
        assert_eq!(check_description(&p, ""), Ok(()));
        assert_eq!(check_description(&p, &"x".repeat(200)), Ok(()));
        assert_eq!(
            check_description(&p, &"é".repeat(200)),
            Ok(()),
            "chars, not bytes"
        );
        assert_eq!(
            check_description(&p, &"x".repeat(201)),
            Err(ProfileError::DescriptionTooLong { max: 200 })
        );
        assert_eq!(check_message(&p, &"x".repeat(200)), Ok(()));
        assert_eq!(
            check_message(&p, &"x".repeat(201)),
            Err(ProfileError::MessageTooLong { max: 200 })
        );
    }

    #[test]
    fn choices_round_trip() {
        for v in [
            JoinPolicy::Open,
            JoinPolicy::Approval,
            JoinPolicy::InviteOnly,
        ] {
            assert_eq!(JoinPolicy::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_string(&v).expect("json"),
                format!("\"{}\"", v.as_str())
            );
        }
        for v in [Activity::Casual, Activity::Moderate, Activity::Hardcore] {
            assert_eq!(Activity::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_string(&v).expect("json"),
                format!("\"{}\"", v.as_str())
            );
        }
        for v in [WarFocus::Competitive, WarFocus::Casual, WarFocus::None] {
            assert_eq!(WarFocus::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_string(&v).expect("json"),
                format!("\"{}\"", v.as_str())
            );
        }
        for v in [
            MemberPresence::Offline,
            MemberPresence::Online,
            MemberPresence::InRun,
            MemberPresence::Idle,
        ] {
            assert_eq!(MemberPresence::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_string(&v).expect("json"),
                format!("\"{}\"", v.as_str())
            );
        }
        assert_eq!(JoinPolicy::parse("invite-only"), None);
        assert_eq!(JoinPolicy::parse("Open"), None);
        assert_eq!(Activity::default(), Activity::Casual);
        assert_eq!(WarFocus::default(), WarFocus::Casual);
        assert_eq!(MemberPresence::default(), MemberPresence::Offline);
        assert_eq!(
            ProfileError::BadChoice {
                field: "join_policy",
                allowed: JoinPolicy::ALLOWED
            }
            .to_string(),
            "join_policy must be one of open, approval, invite_only"
        );
    }

    #[test]
    fn activity_levels() {
        let table = [
            (0, 0, Activity::Casual),
            (0, 50, Activity::Casual),
            (19, 50, Activity::Casual),
            (20, 50, Activity::Moderate),
            (34, 50, Activity::Moderate),
            (35, 50, Activity::Hardcore),
            (50, 50, Activity::Hardcore),
            (3, 10, Activity::Casual),
            (4, 10, Activity::Moderate),
            (7, 10, Activity::Hardcore),
            (1, 3, Activity::Casual),
            (2, 3, Activity::Moderate),
            (9, 3, Activity::Hardcore),
        ];
        for (active, members, expect) in table {
            assert_eq!(
                activity_level(active, members),
                expect,
                "{active}/{members}"
            );
        }
    }

    #[test]
    fn win_rates() {
        assert_eq!(win_rate(0, 0), 0.0);
        assert_eq!(win_rate(5, 0), 1.0);
        assert_eq!(win_rate(0, 5), 0.0);
        assert_eq!(win_rate(1, 1), 0.5);
        // Seed 003 §1.1: "23 wins, 8 losses (74% win rate)".
        assert_eq!((win_rate(23, 8) * 100.0).round(), 74.0);
    }
}
