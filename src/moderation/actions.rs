//! Live room actions: mute and unmute, kick, ban and unban, delete a message, room modes.

use guildhall_protocol::{
    ev, ChatDeleted, ModDelete, ModMode, ModMute, ModMuted, ModRoomTarget, ModTarget, RoomKicked,
    RoomMode,
};

use super::state::Change;
use super::ModerationService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::moderation::access::ModAction;
use crate::domain::moderation::modes::{slow_ms_ok, MuteDuration, RoomModes, MAX_SLOW_MS};
use crate::domain::room::{is_valid_user_id, RoomName};
use crate::guild::db_error;
use crate::guild::errors::{invalid, not_found};
use crate::guild::views::user as user_ref;
use crate::store::moderation::restrictions::{self, ModeRow, NewRestriction, Table};
use crate::store::moderation::{reports, PLATFORM};
use crate::store::to_i64;
use guildhall_protocol::ErrorBody;

/// Longest reason a moderator may give, chars.
const MAX_REASON: usize = 500;

impl ModerationService {
    pub async fn mute(&self, actor: &User, req: ModMute) -> Result<ModMuted, ErrorBody> {
        let duration = MuteDuration::parse(&req.duration)
            .ok_or_else(|| invalid("duration is 1h, 24h or permanent"))?;
        let (scope, action) = self.scope(
            req.room.as_deref(),
            ModAction::Mute,
            ModAction::PlatformMute,
        )?;
        checked_target(&req.user, req.reason.as_deref())?;
        self.authorize(actor, req.room.as_deref(), Some(&req.user), action)
            .await?;
        let now = now_ms();
        let until = duration.until(now);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let mute = NewRestriction {
            scope: &scope,
            user: &req.user,
            until_ms: until.map(to_i64),
            by: &actor.id,
            reason: req.reason.as_deref(),
            now_ms: to_i64(now),
        };
        restrictions::put_mute(&mut tx, &mute, req.shadow)
            .await
            .map_err(db_error)?;
        let what = if req.shadow { "shadow_mute" } else { "mute" };
        Self::audit(
            &mut tx,
            actor,
            what,
            Some(&req.user),
            req.room.as_deref(),
            req.reason.as_deref(),
            Some(duration.as_str()),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.announce(Change::Mute {
            scope,
            user: req.user,
            until,
            shadow: req.shadow,
        })
        .await;
        Ok(ModMuted { until })
    }

    pub async fn unmute(&self, actor: &User, req: ModTarget) -> Result<(), ErrorBody> {
        let (scope, action) = self.scope(
            req.room.as_deref(),
            ModAction::Unmute,
            ModAction::PlatformMute,
        )?;
        checked_target(&req.user, req.reason.as_deref())?;
        self.authorize(actor, req.room.as_deref(), Some(&req.user), action)
            .await?;
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !restrictions::lift(&mut tx, Table::Mutes, &scope, &req.user)
            .await
            .map_err(db_error)?
        {
            return Err(not_found("that user is not muted there"));
        }
        Self::audit(
            &mut tx,
            actor,
            "unmute",
            Some(&req.user),
            req.room.as_deref(),
            req.reason.as_deref(),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.announce(Change::Unmute {
            scope,
            user: req.user,
        })
        .await;
        Ok(())
    }

    /// Removes a user's connections from a room at once, on every node; they may come back.
    pub async fn kick(&self, actor: &User, req: ModRoomTarget) -> Result<(), ErrorBody> {
        checked_room(&req.room)?;
        checked_target(&req.user, req.reason.as_deref())?;
        self.authorize(actor, Some(&req.room), Some(&req.user), ModAction::Kick)
            .await?;
        let mut tx = self.db.begin().await.map_err(db_error)?;
        Self::audit(
            &mut tx,
            actor,
            "kick",
            Some(&req.user),
            Some(&req.room),
            req.reason.as_deref(),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.removed(&req.room, &req.user, false, req.reason).await;
        Ok(())
    }

    /// Bans from a room (its connections leave and it cannot rejoin) or, without a room, from
    /// the platform (every connection closes with 4003 and hello is refused).
    pub async fn ban(&self, actor: &User, req: ModTarget) -> Result<(), ErrorBody> {
        let (scope, action) = self.scope(
            req.room.as_deref(),
            ModAction::RoomBan,
            ModAction::PlatformBan,
        )?;
        checked_target(&req.user, req.reason.as_deref())?;
        // Bans reach past a guild's room: platform moderators only.
        self.authorize(actor, None, Some(&req.user), action).await?;
        let now = to_i64(now_ms());
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let ban = NewRestriction {
            scope: &scope,
            user: &req.user,
            until_ms: None,
            by: &actor.id,
            reason: req.reason.as_deref(),
            now_ms: now,
        };
        restrictions::put_ban(&mut tx, &ban)
            .await
            .map_err(db_error)?;
        Self::audit(
            &mut tx,
            actor,
            "ban",
            Some(&req.user),
            req.room.as_deref(),
            req.reason.as_deref(),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.announce(Change::Ban {
            scope,
            user: req.user.clone(),
            until: None,
        })
        .await;
        if let Some(room) = &req.room {
            self.removed(room, &req.user, true, req.reason).await;
        }
        Ok(())
    }

    pub async fn unban(&self, actor: &User, req: ModTarget) -> Result<(), ErrorBody> {
        let (scope, action) = self.scope(
            req.room.as_deref(),
            ModAction::RoomBan,
            ModAction::PlatformBan,
        )?;
        checked_target(&req.user, req.reason.as_deref())?;
        self.authorize(actor, None, Some(&req.user), action).await?;
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !restrictions::lift(&mut tx, Table::Bans, &scope, &req.user)
            .await
            .map_err(db_error)?
        {
            return Err(not_found("that user is not banned there"));
        }
        Self::audit(
            &mut tx,
            actor,
            "unban",
            Some(&req.user),
            req.room.as_deref(),
            req.reason.as_deref(),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.announce(Change::Unban {
            scope,
            user: req.user,
        })
        .await;
        Ok(())
    }

    /// Deletes a message: history stops showing it and every member is told to remove it.
    pub async fn delete(&self, actor: &User, req: ModDelete) -> Result<(), ErrorBody> {
        checked_room(&req.room)?;
        checked_reason(req.reason.as_deref())?;
        let id = i64::try_from(req.id).map_err(|_| not_found("no such message in this room"))?;
        let author = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            reports::author(&mut conn, &req.room, id)
                .await
                .map_err(db_error)?
                .ok_or_else(|| not_found("no such message in this room"))?
        };
        // Deleting your own message needs no authority; anyone else's does.
        if author != *actor.id {
            self.authorize(actor, Some(&req.room), Some(&author), ModAction::Delete)
                .await?;
        }
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !reports::delete_message(&mut tx, &req.room, id, to_i64(now_ms()))
            .await
            .map_err(db_error)?
        {
            return Err(not_found("that message is already deleted"));
        }
        Self::audit(
            &mut tx,
            actor,
            "delete",
            Some(&author),
            Some(&req.room),
            req.reason.as_deref(),
            Some(&format!("message {}", req.id)),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        let deleted = ChatDeleted {
            id: req.id,
            by: Some(user_ref(&actor.id, &actor.name)),
        };
        self.room_event(&req.room, ev::CHAT_DELETED, &deleted).await;
        Ok(())
    }

    /// Sets a room's modes; fields left out keep their value.
    pub async fn mode(&self, actor: &User, req: ModMode) -> Result<RoomMode, ErrorBody> {
        checked_room(&req.room)?;
        if req.slow_ms.is_some_and(|ms| !slow_ms_ok(ms)) {
            return Err(invalid(format!("slow_ms is 0 (off) to {MAX_SLOW_MS}")));
        }
        self.authorize(actor, Some(&req.room), None, ModAction::Mode)
            .await?;
        let current = self.state.modes(&req.room);
        let modes = RoomModes {
            slow_ms: req.slow_ms.unwrap_or(current.slow_ms),
            members_only: req.members_only.unwrap_or(current.members_only),
            panic: req.panic.unwrap_or(current.panic),
        };
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let row = ModeRow {
            room: req.room.clone(),
            slow_ms: to_i64(modes.slow_ms),
            members_only: i64::from(modes.members_only),
            panic: i64::from(modes.panic),
        };
        restrictions::put_mode(&mut tx, &row, to_i64(now_ms()))
            .await
            .map_err(db_error)?;
        let details = format!(
            "slow_ms={} members_only={} panic={}",
            modes.slow_ms, modes.members_only, modes.panic
        );
        Self::audit(
            &mut tx,
            actor,
            "mode",
            None,
            Some(&req.room),
            None,
            Some(&details),
        )
        .await?;
        tx.commit().await.map_err(db_error)?;
        self.announce(Change::Mode {
            room: req.room.clone(),
            slow_ms: modes.slow_ms,
            members_only: modes.members_only,
            panic: modes.panic,
        })
        .await;
        let mode = RoomMode {
            slow_ms: modes.slow_ms,
            members_only: modes.members_only,
            panic: modes.panic,
        };
        self.room_event(&req.room, ev::ROOM_MODE, &mode).await;
        Ok(mode)
    }

    /// Tells a room a user was removed; every node then drops their connections from it.
    async fn removed(&self, room: &str, user: &str, ban: bool, reason: Option<String>) {
        let kicked = RoomKicked {
            user: user_ref(user, &self.name_of(user)),
            ban,
            reason,
        };
        self.room_event(room, ev::ROOM_KICKED, &kicked).await;
    }

    /// The scope of an action: a valid room, or the platform.
    fn scope(
        &self,
        room: Option<&str>,
        in_room: ModAction,
        platform: ModAction,
    ) -> Result<(String, ModAction), ErrorBody> {
        match room {
            Some(room) => {
                checked_room(room)?;
                Ok((room.to_owned(), in_room))
            }
            None => Ok((PLATFORM.to_owned(), platform)),
        }
    }
}

fn checked_room(room: &str) -> Result<(), ErrorBody> {
    RoomName::parse(room)
        .map(|_| ())
        .map_err(|e| invalid(e.to_string()))
}

fn checked_target(user: &str, reason: Option<&str>) -> Result<(), ErrorBody> {
    if !is_valid_user_id(user) {
        return Err(invalid("not a valid user id"));
    }
    checked_reason(reason)
}

fn checked_reason(reason: Option<&str>) -> Result<(), ErrorBody> {
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(invalid(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    Ok(())
}
