//! Enforcement on the paths clients use: hello, joining a room, sending a message. Mutes, bans
//! and modes are read from this node's memory; only DMs read the store (blocks, settings).

use std::sync::Arc;

use guildhall_protocol::{ErrorBody, ErrorCode};

use super::ModerationService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::moderation::access::{dm_allowed, DmPolicy};
use crate::domain::moderation::modes::{check_modes, mute_left, ModeRefusal, Speaker};
use crate::guild::db_error;
use crate::store::moderation::{safety, PLATFORM};

/// How a message that passed every rule goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendVerdict {
    Deliver,
    /// Shadow-muted: the message reaches only the sender's own connections.
    Shadow,
}

/// What the guild knows of a speaker in its room, when the room is a guild's.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuildSpeaker {
    pub member: bool,
    pub officer: bool,
}

impl ModerationService {
    /// A platform-banned user's hello is refused.
    pub fn check_hello(&self, user: &User) -> Result<(), ErrorBody> {
        match self.state.banned(PLATFORM, &user.id, now_ms()) {
            Some(_) => Err(ErrorBody::new(ErrorCode::Banned, "this account is banned")),
            None => Ok(()),
        }
    }

    /// A user banned from a room (or the platform) cannot enter it.
    pub fn check_join(&self, user: &User, room: &str) -> Result<(), ErrorBody> {
        let now = now_ms();
        if self.state.banned(PLATFORM, &user.id, now).is_some()
            || self.state.banned(room, &user.id, now).is_some()
        {
            return Err(ErrorBody::new(
                ErrorCode::Banned,
                "you are banned from this room",
            ));
        }
        Ok(())
    }

    /// Whether `user` may send to `room` now, and how. `guild` is what their guild says of them when the
    /// room is a guild's.
    pub async fn check_send(
        &self,
        user: &User,
        room: &Arc<str>,
        guild: Option<GuildSpeaker>,
    ) -> Result<SendVerdict, ErrorBody> {
        let now = now_ms();
        if self.state.banned(PLATFORM, &user.id, now).is_some() {
            return Err(ErrorBody::new(ErrorCode::Banned, "this account is banned"));
        }
        if let Some(ban) = self.state.chat_ban(&user.id, now) {
            return Err(muted("you are banned from chat", ban.until, now));
        }
        let mut verdict = SendVerdict::Deliver;
        if let Some(mute) = self.state.mute(room, &user.id, now) {
            if !mute.shadow {
                return Err(muted("you are muted here", mute.until, now));
            }
            verdict = SendVerdict::Shadow;
        }
        let modes = self.state.modes(room);
        if modes != Default::default() {
            let in_guild = guild.unwrap_or_default();
            let speaker = Speaker {
                privileged: user.is_moderator() || in_guild.officer,
                member: user.member || in_guild.member,
                account_created_ms: user.created_at_ms,
            };
            let key = (room.clone(), user.id.clone());
            let last = self.last_sent.get(&key).map(|at| *at);
            check_modes(
                &modes,
                &speaker,
                self.config.panic_min_account_days,
                last,
                now,
            )
            .map_err(mode_error)?;
            if modes.slow_ms > 0 {
                self.last_sent.insert(key, now);
            }
        }
        if let Some(other) = dm_peer(room, &user.id) {
            self.check_dm(&user.id, other).await?;
        }
        Ok(verdict)
    }

    /// RULES.md: a DM is allowed iff neither blocks the other and the recipient takes
    /// messages from anyone (friends arrive later). A refusal reads exactly like a closed
    /// inbox, so a blocked user learns nothing.
    async fn check_dm(&self, from: &str, to: &str) -> Result<(), ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let (a_blocks_b, b_blocks_a, setting) = safety::dm_gate(&mut conn, from, to)
            .await
            .map_err(db_error)?;
        let policy = setting
            .and_then(|p| DmPolicy::parse(&p))
            .unwrap_or_default();
        if dm_allowed(a_blocks_b, b_blocks_a, false, policy) {
            Ok(())
        } else {
            Err(ErrorBody::new(
                ErrorCode::Unavailable,
                "this inbox is not taking messages",
            ))
        }
    }
}

/// The other party of a `dm:<a>:<b>` room.
fn dm_peer<'a>(room: &'a str, me: &str) -> Option<&'a str> {
    let (a, b) = room.strip_prefix("dm:")?.split_once(':')?;
    if a == me {
        Some(b)
    } else if b == me {
        Some(a)
    } else {
        None
    }
}

fn muted(what: &str, until: Option<u64>, now: u64) -> ErrorBody {
    match mute_left(until, now).flatten() {
        Some(left) => ErrorBody::retry_after(ErrorCode::Muted, what, left),
        None => ErrorBody::new(ErrorCode::Muted, format!("{what} permanently")),
    }
}

fn mode_error(refusal: ModeRefusal) -> ErrorBody {
    match refusal {
        ModeRefusal::Slow { retry_ms } => {
            ErrorBody::retry_after(ErrorCode::RateLimited, refusal.to_string(), retry_ms)
        }
        _ => ErrorBody::new(ErrorCode::Forbidden, refusal.to_string()),
    }
}
