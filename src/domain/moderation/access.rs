//! Who may moderate whom, and who may reach whom (RULES.md § Chat, § Moderation, seed 003
//! §7.2): platform moderators everywhere, guild officers in their own guild's room on members
//! below them; blocks that cut every line between two users; and the DM rule.

use std::fmt;

/// Who is acting, as far as moderation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderator {
    /// Token role moderator or admin.
    Platform,
    /// Officer or leader of the room's guild, with its rank (1 = leader).
    GuildRank(u32),
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModAction {
    Mute,
    Unmute,
    Kick,
    Delete,
    Mode,
    RoomBan,
    PlatformMute,
    PlatformBan,
    Penalize,
    Reports,
    Audit,
}

impl ModAction {
    /// What a guild officer may do in the guild's room (RULES.md: "an officer (guild chat)
    /// mutes ..., kicks, and deletes messages"; modes are the room's, so theirs too). Bans,
    /// penalties and reports reach past the guild and stay with the platform.
    pub fn guild_may(self) -> bool {
        matches!(
            self,
            ModAction::Mute
                | ModAction::Unmute
                | ModAction::Kick
                | ModAction::Delete
                | ModAction::Mode
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModDenied {
    NotModerator,
    PlatformOnly,
    Rank,
}

impl fmt::Display for ModDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotModerator => "only moderators may do this",
            Self::PlatformOnly => "only platform moderators may do this",
            Self::Rank => "you can only moderate members of lower rank",
        })
    }
}

/// Platform moderators may do everything. Guild officers (rank <= `officer_rank`) may Mute,
/// Unmute, Kick, Delete, Mode in their guild's room, only on a target of lower rank
/// (`target_rank` = Some(rank) when the target is in the guild, None when not: outsiders are
/// fair game); everything else is PlatformOnly. Nobody may act on a platform moderator unless
/// they are one.
///
/// A guild member below officer rank is no moderator at all, so they hear `NotModerator`
/// whatever they try, rather than being told which actions officers have. Acting on a
/// platform moderator is refused as `PlatformOnly`: their guild rank does not matter there.
/// Equal rank is refused like higher rank (RULES.md: "nobody acts on a member of equal or
/// higher rank"), which also keeps an officer from muting themselves out of their own room.
pub fn may_moderate(
    actor: Moderator,
    action: ModAction,
    officer_rank: u32,
    target_rank: Option<u32>,
    target_is_platform_mod: bool,
) -> Result<(), ModDenied> {
    let rank = match actor {
        Moderator::Platform => return Ok(()),
        Moderator::None => return Err(ModDenied::NotModerator),
        Moderator::GuildRank(rank) if rank > officer_rank => return Err(ModDenied::NotModerator),
        Moderator::GuildRank(rank) => rank,
    };
    if !action.guild_may() || target_is_platform_mod {
        return Err(ModDenied::PlatformOnly);
    }
    match target_rank {
        Some(target) if target <= rank => Err(ModDenied::Rank),
        _ => Ok(()),
    }
}

/// Most users one user may block (seed 003 §7.2).
pub const MAX_BLOCKS: usize = 100;

/// Whether a user who already blocks `blocking` users may block one more.
pub fn may_block(blocking: usize) -> bool {
    blocking < MAX_BLOCKS
}

/// Who may start a DM with a user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DmPolicy {
    #[default]
    Anyone,
    Friends,
}

impl DmPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Anyone, Self::Friends]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DmPolicy::Anyone => "anyone",
            DmPolicy::Friends => "friends",
        }
    }
}

/// RULES.md: a DM from A to B is allowed iff neither blocks the other and (friends(A, B) or B
/// accepts messages from anyone).
///
/// Blocks win over friendship, both ways: a user who blocked someone must not hear from them,
/// and one who was blocked must not be able to probe it. The caller answers a refusal with the
/// same "unavailable" whatever the reason, so the blocked user is never told.
pub fn dm_allowed(a_blocks_b: bool, b_blocks_a: bool, friends: bool, b_policy: DmPolicy) -> bool {
    !a_blocks_b && !b_blocks_a && (friends || b_policy == DmPolicy::Anyone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ACTIONS: [ModAction; 11] = [
        ModAction::Mute,
        ModAction::Unmute,
        ModAction::Kick,
        ModAction::Delete,
        ModAction::Mode,
        ModAction::RoomBan,
        ModAction::PlatformMute,
        ModAction::PlatformBan,
        ModAction::Penalize,
        ModAction::Reports,
        ModAction::Audit,
    ];

    /// SupaSnake: leader 1, officer 2, veteran 3, member 4, recruit 5.
    const OFFICER: u32 = 2;

    #[test]
    fn platform_moderators_do_everything() {
        for action in ALL_ACTIONS {
            for target in [None, Some(1), Some(5)] {
                for platform_target in [false, true] {
                    assert_eq!(
                        may_moderate(
                            Moderator::Platform,
                            action,
                            OFFICER,
                            target,
                            platform_target
                        ),
                        Ok(()),
                        "{action:?} on {target:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn non_moderators_do_nothing() {
        for action in ALL_ACTIONS {
            for actor in [
                Moderator::None,
                Moderator::GuildRank(3),
                Moderator::GuildRank(5),
            ] {
                assert_eq!(
                    may_moderate(actor, action, OFFICER, Some(5), false),
                    Err(ModDenied::NotModerator),
                    "{actor:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn guild_officers_in_their_room() {
        use ModAction::*;
        let leader = Moderator::GuildRank(1);
        let officer = Moderator::GuildRank(2);
        // (actor, action, target rank, target is platform mod, result)
        let table = [
            (officer, Mute, Some(3), false, Ok(())),
            (officer, Unmute, Some(4), false, Ok(())),
            (officer, Kick, Some(5), false, Ok(())),
            (officer, Delete, Some(5), false, Ok(())),
            (officer, Mode, None, false, Ok(())),
            // Outsiders in the guild's room are fair game.
            (officer, Mute, None, false, Ok(())),
            (officer, Kick, None, false, Ok(())),
            // Equal or higher rank.
            (officer, Mute, Some(2), false, Err(ModDenied::Rank)),
            (officer, Kick, Some(1), false, Err(ModDenied::Rank)),
            (officer, Delete, Some(2), false, Err(ModDenied::Rank)),
            (leader, Kick, Some(2), false, Ok(())),
            (leader, Mute, Some(1), false, Err(ModDenied::Rank)),
            // Platform moderators are out of reach, guild member or not.
            (officer, Mute, None, true, Err(ModDenied::PlatformOnly)),
            (leader, Kick, Some(4), true, Err(ModDenied::PlatformOnly)),
            // Beyond the guild's room.
            (
                officer,
                RoomBan,
                Some(5),
                false,
                Err(ModDenied::PlatformOnly),
            ),
            (
                leader,
                PlatformMute,
                None,
                false,
                Err(ModDenied::PlatformOnly),
            ),
            (
                leader,
                PlatformBan,
                Some(5),
                false,
                Err(ModDenied::PlatformOnly),
            ),
            (
                leader,
                Penalize,
                Some(5),
                false,
                Err(ModDenied::PlatformOnly),
            ),
            (officer, Reports, None, false, Err(ModDenied::PlatformOnly)),
            (leader, Audit, None, false, Err(ModDenied::PlatformOnly)),
        ];
        for (actor, action, target, platform_target, expect) in table {
            assert_eq!(
                may_moderate(actor, action, OFFICER, target, platform_target),
                expect,
                "{actor:?} {action:?} on {target:?} (platform mod: {platform_target})"
            );
        }
        // A preset whose officers go down to rank 3 (KROG: owner, administrator, moderator).
        assert_eq!(
            may_moderate(Moderator::GuildRank(3), ModAction::Mute, 3, Some(4), false),
            Ok(())
        );
        assert_eq!(
            may_moderate(Moderator::GuildRank(4), ModAction::Mute, 3, Some(5), false),
            Err(ModDenied::NotModerator)
        );
    }

    #[test]
    fn guild_actions() {
        let guild: Vec<_> = ALL_ACTIONS.into_iter().filter(|a| a.guild_may()).collect();
        assert_eq!(
            guild,
            [
                ModAction::Mute,
                ModAction::Unmute,
                ModAction::Kick,
                ModAction::Delete,
                ModAction::Mode
            ]
        );
    }

    #[test]
    fn denial_messages() {
        let table = [
            (ModDenied::NotModerator, "only moderators may do this"),
            (
                ModDenied::PlatformOnly,
                "only platform moderators may do this",
            ),
            (
                ModDenied::Rank,
                "you can only moderate members of lower rank",
            ),
        ];
        for (denied, text) in table {
            assert_eq!(denied.to_string(), text);
        }
    }

    #[test]
    fn block_limit() {
        assert_eq!(MAX_BLOCKS, 100);
        for (blocking, ok) in [(0, true), (99, true), (100, false), (150, false)] {
            assert_eq!(may_block(blocking), ok, "{blocking} blocked");
        }
    }

    #[test]
    fn dm_policy_names() {
        assert_eq!(DmPolicy::default(), DmPolicy::Anyone);
        for (p, text) in [(DmPolicy::Anyone, "anyone"), (DmPolicy::Friends, "friends")] {
            assert_eq!(p.as_str(), text);
            assert_eq!(DmPolicy::parse(text), Some(p));
        }
        assert_eq!(DmPolicy::parse("nobody"), None);
    }

    #[test]
    fn dm_rule_every_case() {
        use DmPolicy::*;
        // (A blocks B, B blocks A, friends, B's policy, allowed)
        let table = [
            (false, false, false, Anyone, true),
            (false, false, true, Anyone, true),
            (false, false, false, Friends, false),
            (false, false, true, Friends, true),
            (true, false, true, Anyone, false),
            (false, true, true, Anyone, false),
            (true, true, true, Anyone, false),
            (true, false, false, Anyone, false),
            (false, true, false, Anyone, false),
            (true, false, true, Friends, false),
            (false, true, true, Friends, false),
        ];
        for (ab, ba, friends, policy, allowed) in table {
            assert_eq!(
                dm_allowed(ab, ba, friends, policy),
                allowed,
                "a blocks b {ab}, b blocks a {ba}, friends {friends}, {}",
                policy.as_str()
            );
        }
    }
}
