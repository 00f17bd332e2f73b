//! The guild room: who may enter, who may chat there and with which filter, and members'
//! presence (online, in a run, idle, offline) as everyone in the guild sees it.

use guildhall_protocol::{ev, GuildStatus, MemberPresence as PresencePush};

use super::errors::{self, db_error};
use super::{views, GuildService};
use crate::auth::User;
use crate::domain::filter::FilterLevel;
use crate::domain::guild::levels::chat_unlocked;
use crate::domain::guild::profile::MemberPresence;
use crate::domain::guild::roles::{permit, Action};
use crate::moderation::GuildSpeaker;
use crate::store::guild::members;

/// What the guild says about a message to its room.
pub struct ChatGate {
    pub filter: FilterLevel,
    pub speaker: GuildSpeaker,
}

impl GuildService {
    /// Guild rooms are for members only.
    pub async fn may_enter(&self, guild: i64, user: &str) -> Result<(), errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        match members::get(&mut conn, guild, user)
            .await
            .map_err(db_error)?
        {
            Some(_) => Ok(()),
            None => Err(errors::forbidden(
                "guild rooms are for members of the guild",
            )),
        }
    }

    /// Whether `user` may chat in the guild's room now, with the guild's profanity filter and
    /// what the guild says of the speaker for the room's modes. Read from the store per message: a kick or
    /// a level change applies to the next one. Platform moderators speak in any guild room.
    pub async fn chat_gate(&self, guild: i64, user: &User) -> Result<ChatGate, errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let (role, level, profanity) = members::chat_gate(&mut conn, guild, &user.id)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::no_guild)?;
        let filter = match profanity.as_str() {
            "off" => FilterLevel::Off,
            "strict" => FilterLevel::Strict,
            _ => FilterLevel::Medium,
        };
        let Some(role) = role else {
            if user.is_moderator() {
                return Ok(ChatGate {
                    filter,
                    speaker: GuildSpeaker {
                        member: false,
                        officer: true,
                    },
                });
            }
            return Err(errors::not_member());
        };
        permit(&self.preset, &role, Action::Chat).map_err(errors::denied)?;
        let level = u32::try_from(level).unwrap_or(0);
        if !chat_unlocked(&self.preset, level) {
            return Err(errors::forbidden(format!(
                "guild chat unlocks at level {}",
                self.preset.perks.chat_level
            )));
        }
        Ok(ChatGate {
            filter,
            speaker: GuildSpeaker {
                member: true,
                officer: permit(&self.preset, &role, Action::Mute).is_ok(),
            },
        })
    }

    /// `guild.status`: a member says they are in a run, idle, or back online.
    pub async fn status(&self, user: &User, req: GuildStatus) -> Result<(), errors::Body> {
        let state = match MemberPresence::parse(&req.state) {
            Some(s @ (MemberPresence::Online | MemberPresence::InRun | MemberPresence::Idle)) => s,
            _ => return Err(errors::invalid("state is online, in_run or idle")),
        };
        let id = i64::try_from(req.guild).unwrap_or(i64::MAX);
        if !self.set_presence(id, user, state).await? {
            // Unchanged is fine; not a member is not.
            self.may_enter(id, &user.id)
                .await
                .map_err(|_| errors::not_member())?;
        }
        Ok(())
    }

    /// Records a member's presence and announces a change; false when nothing changed (or the
    /// user is not a member).
    pub async fn set_presence(
        &self,
        guild: i64,
        user: &User,
        state: MemberPresence,
    ) -> Result<bool, errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let changed = if state == MemberPresence::Offline {
            members::set_offline(&mut conn, guild, &user.id, &self.node_id).await
        } else {
            members::set_presence(&mut conn, guild, &user.id, state.as_str(), &self.node_id).await
        }
        .map_err(db_error)?;
        drop(conn);
        if changed {
            self.announce_presence(guild, &user.id, &user.name, state)
                .await;
        }
        Ok(changed)
    }

    pub(super) async fn announce_presence(
        &self,
        guild: i64,
        user: &str,
        name: &str,
        state: MemberPresence,
    ) {
        let push = PresencePush {
            user: views::user(user, name),
            state: state.as_str().to_owned(),
        };
        self.publish(guild, ev::GUILD_MEMBER_PRESENCE, &push).await;
    }
}
