//! Who may do what in a guild: the server's actions, the preset's permission name for each, and
//! the rank rule (nobody acts on a member of equal or higher rank, RULES.md § Guilds).
//!
//! Roles are data, so nothing here names a role: a role grants an action when it carries the
//! permission the preset maps that action to, or "all". Promotion and demotion move one rank at
//! a time, and never to the leader role: leadership moves only by transfer, behind its 48-hour
//! confirmation window.

use serde::{Deserialize, Serialize};

use super::preset::{Preset, RoleDef};

/// The permission that grants every action (the leader's, KROG's owner's).
pub const ALL_PERMISSIONS: &str = "all";

/// What a member can ask the server to do in their guild.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Invite,
    /// Accept or reject applications.
    Review,
    Kick,
    Promote,
    Demote,
    EditProfile,
    /// The guild message (the "message of the day").
    EditMessage,
    /// Join policy, auto-kick and other settings.
    EditSettings,
    Disband,
    Transfer,
    SpendVault,
    Donate,
    Chat,
    /// Mute in guild chat.
    Mute,
    /// Protect a member from auto-kick.
    Protect,
    /// Take part in wars and raids.
    Participate,
    Vote,
    /// Register the guild for a war, start a raid: the leader's and officers' call (RULES.md
    /// § Guild wars).
    War,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::Invite,
        Action::Review,
        Action::Kick,
        Action::Promote,
        Action::Demote,
        Action::EditProfile,
        Action::EditMessage,
        Action::EditSettings,
        Action::Disband,
        Action::Transfer,
        Action::SpendVault,
        Action::Donate,
        Action::Chat,
        Action::Mute,
        Action::Protect,
        Action::Participate,
        Action::Vote,
        Action::War,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Invite => "invite",
            Action::Review => "review",
            Action::Kick => "kick",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::EditProfile => "edit_profile",
            Action::EditMessage => "edit_message",
            Action::EditSettings => "edit_settings",
            Action::Disband => "disband",
            Action::Transfer => "transfer",
            Action::SpendVault => "spend_vault",
            Action::Donate => "donate",
            Action::Chat => "chat",
            Action::Mute => "mute",
            Action::Protect => "protect",
            Action::Participate => "participate",
            Action::Vote => "vote",
            Action::War => "war",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The actor's role lacks this permission (the preset's name for it).
    #[error("missing permission {0}")]
    Missing(String),
    /// The target's rank is equal to or higher than the actor's.
    #[error("you can only act on members of lower rank")]
    Rank,
    /// The role already holds its maximum number of members.
    #[error("{role} is full ({max} at most)")]
    RoleFull { role: String, max: u32 },
    /// No role to promote to / demote to.
    #[error("there is no role to move this member to")]
    NoRole,
    #[error("unknown role {0}")]
    UnknownRole(String),
}

fn role_named<'p>(preset: &'p Preset, name: &str) -> Result<&'p RoleDef, Denied> {
    preset
        .role(name)
        .ok_or_else(|| Denied::UnknownRole(name.to_owned()))
}

pub fn permit(preset: &Preset, actor_role: &str, action: Action) -> Result<(), Denied> {
    let role = role_named(preset, actor_role)?;
    if role.permissions.iter().any(|p| p == ALL_PERMISSIONS) {
        return Ok(());
    }
    // A preset without an entry (never a validated one) grants the action to "all" only.
    let needed = preset
        .permissions
        .get(action.as_str())
        .map_or(action.as_str(), String::as_str);
    if role.permissions.iter().any(|p| p == needed) {
        Ok(())
    } else {
        Err(Denied::Missing(needed.to_owned()))
    }
}

/// `permit` + the target must rank strictly below the actor (greater rank number).
pub fn permit_on(
    preset: &Preset,
    actor_role: &str,
    target_role: &str,
    action: Action,
) -> Result<(), Denied> {
    permit(preset, actor_role, action)?;
    let actor = role_named(preset, actor_role)?;
    let target = role_named(preset, target_role)?;
    if target.rank <= actor.rank {
        return Err(Denied::Rank);
    }
    if action == Action::Kick && actor.kicks_from_rank.is_some_and(|from| target.rank < from) {
        return Err(Denied::Rank);
    }
    Ok(())
}

/// The role a promotion gives: the next role up from the target's (the largest rank number
/// below the target's). It must still rank strictly below the actor, so an officer cannot make
/// another officer, and it is never the leader role. Includes `permit_on(.., Promote)`. Whether
/// the new role has room is `check_role_room`'s question: the caller knows the counts.
pub fn promotion<'p>(
    preset: &'p Preset,
    actor_role: &str,
    target_role: &str,
) -> Result<&'p RoleDef, Denied> {
    permit_on(preset, actor_role, target_role, Action::Promote)?;
    let target = role_named(preset, target_role)?;
    let actor = role_named(preset, actor_role)?;
    let up = preset
        .roles
        .iter()
        .filter(|r| r.rank < target.rank)
        .max_by_key(|r| r.rank)
        .ok_or(Denied::NoRole)?;
    if up.name == preset.leader().name {
        return Err(Denied::NoRole);
    }
    if up.rank <= actor.rank {
        return Err(Denied::Rank);
    }
    Ok(up)
}

/// The next role down; `NoRole` when the target already holds the lowest. Includes
/// `permit_on(.., Demote)`.
pub fn demotion<'p>(
    preset: &'p Preset,
    actor_role: &str,
    target_role: &str,
) -> Result<&'p RoleDef, Denied> {
    permit_on(preset, actor_role, target_role, Action::Demote)?;
    let target = role_named(preset, target_role)?;
    preset
        .roles
        .iter()
        .filter(|r| r.rank > target.rank)
        .min_by_key(|r| r.rank)
        .ok_or(Denied::NoRole)
}

/// `RoleFull` when `role.max` is `Some(m)` and `current` (members holding it now) `>= m`.
pub fn check_role_room(role: &RoleDef, current: u32) -> Result<(), Denied> {
    match role.max {
        Some(max) if current >= max => Err(Denied::RoleFull {
            role: role.name.clone(),
            max,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(game: &str) -> Preset {
        Preset::builtin(game).expect("builtin")
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            let json = serde_json::to_string(&a).expect("serializes");
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        assert_eq!(Action::parse("Kick"), None);
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    /// RULES.md § Guilds, SupaSnake: one row per role, the actions it may take.
    #[test]
    fn supasnake_permission_table() {
        use Action::*;
        let p = preset("supasnake");
        let table: &[(&str, &[Action])] = &[
            ("leader", &Action::ALL),
            (
                "officer",
                &[
                    Invite,
                    Review,
                    Kick,
                    Mute,
                    EditMessage,
                    SpendVault,
                    Chat,
                    Participate,
                    Donate,
                    Vote,
                    War,
                ],
            ),
            ("veteran", &[Chat, Participate, Donate, Vote]),
            ("member", &[Chat, Participate, Donate]),
            ("recruit", &[Chat, Participate]),
        ];
        for (role, allowed) in table {
            for action in Action::ALL {
                let expect = allowed.contains(&action);
                assert_eq!(
                    permit(&p, role, action).is_ok(),
                    expect,
                    "{role} {}",
                    action.as_str()
                );
            }
        }
        assert_eq!(
            permit(&p, "recruit", Donate),
            Err(Denied::Missing("donate".into()))
        );
        assert_eq!(
            permit(&p, "elder", Chat),
            Err(Denied::UnknownRole("elder".into()))
        );
    }

    #[test]
    fn krog_permission_names() {
        use Action::*;
        let p = preset("krog");
        let table: &[(&str, Action, Result<(), Denied>)] = &[
            ("owner", Disband, Ok(())),
            ("owner", Transfer, Ok(())),
            (
                "administrator",
                Disband,
                Err(Denied::Missing("owner_only".into())),
            ),
            ("administrator", Promote, Ok(())),
            ("administrator", SpendVault, Ok(())),
            ("moderator", Kick, Ok(())),
            ("moderator", Mute, Ok(())),
            (
                "moderator",
                Promote,
                Err(Denied::Missing("manage_roles".into())),
            ),
            ("coach", Kick, Err(Denied::Missing("kick_members".into()))),
            (
                "team_captain",
                Invite,
                Err(Denied::Missing("invite_members".into())),
            ),
            ("member", Chat, Ok(())),
            ("newcomer", Participate, Ok(())),
            (
                "newcomer",
                EditMessage,
                Err(Denied::Missing("pin_messages".into())),
            ),
        ];
        for (role, action, expect) in table {
            assert_eq!(
                &permit(&p, role, *action),
                expect,
                "{role} {}",
                action.as_str()
            );
        }
    }

    #[test]
    fn nobody_acts_on_equal_or_higher_rank() {
        let p = preset("supasnake");
        let table: &[(&str, &str, Result<(), Denied>)] = &[
            ("leader", "officer", Ok(())),
            ("leader", "recruit", Ok(())),
            ("leader", "leader", Err(Denied::Rank)),
            ("officer", "member", Ok(())),
            ("officer", "recruit", Ok(())),
            // RULES.md: officers kick recruits and members, not veterans.
            ("officer", "veteran", Err(Denied::Rank)),
            ("leader", "veteran", Ok(())),
            ("officer", "officer", Err(Denied::Rank)),
            ("officer", "leader", Err(Denied::Rank)),
            ("member", "recruit", Err(Denied::Missing("kick".into()))),
        ];
        for (actor, target, expect) in table {
            assert_eq!(
                &permit_on(&p, actor, target, Action::Kick),
                expect,
                "{actor} kicks {target}"
            );
        }
        assert_eq!(
            permit_on(&p, "leader", "elder", Action::Kick),
            Err(Denied::UnknownRole("elder".into()))
        );
    }

    #[test]
    fn the_kick_limit_applies_to_kicks_only() {
        let p = preset("supasnake");
        let mut officer_protects = p.clone();
        for r in &mut officer_protects.roles {
            if r.name == "officer" {
                r.permissions.push("protect".into());
            }
        }
        assert_eq!(
            permit_on(&officer_protects, "officer", "veteran", Action::Protect),
            Ok(())
        );
        assert_eq!(
            permit_on(&officer_protects, "officer", "veteran", Action::Kick),
            Err(Denied::Rank)
        );
    }

    #[test]
    fn promotion_and_demotion_move_one_rank() {
        let p = preset("supasnake");
        let up = |actor: &str, target: &str| promotion(&p, actor, target).map(|r| r.name.clone());
        let down = |actor: &str, target: &str| demotion(&p, actor, target).map(|r| r.name.clone());
        assert_eq!(up("leader", "recruit"), Ok("member".into()));
        assert_eq!(up("leader", "member"), Ok("veteran".into()));
        assert_eq!(up("leader", "veteran"), Ok("officer".into()));
        // Leadership moves only by transfer.
        assert_eq!(up("leader", "officer"), Err(Denied::NoRole));
        assert_eq!(
            up("officer", "member"),
            Err(Denied::Missing("promote".into()))
        );
        assert_eq!(up("leader", "leader"), Err(Denied::Rank));

        assert_eq!(down("leader", "officer"), Ok("veteran".into()));
        assert_eq!(down("leader", "member"), Ok("recruit".into()));
        assert_eq!(down("leader", "recruit"), Err(Denied::NoRole));
        assert_eq!(
            down("officer", "member"),
            Err(Denied::Missing("demote".into()))
        );
    }

    #[test]
    fn a_promotion_never_reaches_the_actors_rank() {
        // KROG administrators may promote, but only up to the rank below theirs.
        let p = preset("krog");
        let up = |actor: &str, target: &str| promotion(&p, actor, target).map(|r| r.name.clone());
        assert_eq!(up("administrator", "newcomer"), Ok("member".into()));
        assert_eq!(up("administrator", "coach"), Ok("moderator".into()));
        assert_eq!(up("administrator", "moderator"), Err(Denied::Rank));
        assert_eq!(up("owner", "moderator"), Ok("administrator".into()));
        assert_eq!(up("owner", "administrator"), Err(Denied::NoRole));
        assert_eq!(
            demotion(&p, "administrator", "moderator").map(|r| r.name.clone()),
            Ok("coach".into())
        );
    }

    #[test]
    fn role_room() {
        let p = preset("supasnake");
        let officer = p.role("officer").expect("officer");
        assert_eq!(check_role_room(officer, 4), Ok(()));
        assert_eq!(
            check_role_room(officer, 5),
            Err(Denied::RoleFull {
                role: "officer".into(),
                max: 5
            })
        );
        let member = p.role("member").expect("member");
        assert_eq!(check_role_room(member, 10_000), Ok(()));
    }

    #[test]
    fn denial_texts() {
        let table = [
            (Denied::Missing("kick".into()), "missing permission kick"),
            (Denied::Rank, "you can only act on members of lower rank"),
            (
                Denied::RoleFull {
                    role: "officer".into(),
                    max: 5,
                },
                "officer is full (5 at most)",
            ),
            (Denied::NoRole, "there is no role to move this member to"),
            (Denied::UnknownRole("elder".into()), "unknown role elder"),
        ];
        for (denied, text) in table {
            assert_eq!(denied.to_string(), text);
        }
    }
}
