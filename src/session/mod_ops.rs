//! The moderation and safety ops of a connection: each goes straight to the moderation service.

use guildhall_protocol::{Done, ErrorBody, LiveRoom, LiveRooms, ModOp};

use super::dispatch::ReplyBody;
use super::Connection;
use crate::auth::User;

impl Connection {
    pub(super) async fn mod_op(&self, user: &User, op: ModOp) -> Result<ReplyBody, ErrorBody> {
        let m = &self.services.moderation;
        let done = |r: Result<(), ErrorBody>| r.map(|()| ReplyBody::Done(Done {}));
        match op {
            ModOp::Mute(req) => m.mute(user, req).await.map(ReplyBody::Muted),
            ModOp::Unmute(req) => done(m.unmute(user, req).await),
            ModOp::Kick(req) => done(m.kick(user, req).await),
            ModOp::Ban(req) => done(m.ban(user, req).await),
            ModOp::Unban(req) => done(m.unban(user, req).await),
            ModOp::Delete(req) => done(m.delete(user, req).await),
            ModOp::Mode(req) => m.mode(user, req).await.map(ReplyBody::Mode),
            ModOp::Penalize(req) => m
                .penalize(user, req)
                .await
                .map(|p| ReplyBody::Penalty(Box::new(p))),
            ModOp::Penalties(req) => m.penalties(user, &req.user).await.map(ReplyBody::Penalties),
            ModOp::Audit(req) => m.audit_log(user, req).await.map(ReplyBody::Audit),
            ModOp::Reports(req) => m.reports(user, req).await.map(ReplyBody::Reports),
            ModOp::Claim(req) => m
                .claim(user, req.report)
                .await
                .map(|r| ReplyBody::Report(Box::new(r))),
            ModOp::Resolve(req) => m
                .resolve(user, req)
                .await
                .map(|r| ReplyBody::Report(Box::new(r))),
            ModOp::Rooms(_) => self.live_rooms(user).map(ReplyBody::LiveRooms),
            ModOp::ReportCreate(req) => m.report(user, req).await.map(ReplyBody::ReportCreated),
            ModOp::Appeal(req) => done(m.appeal(user, req).await),
            ModOp::BlockAdd(req) => done(m.block(user, &req.user).await),
            ModOp::BlockRemove(req) => done(m.unblock(user, &req.user).await),
            ModOp::BlockList(_) => m.blocks(user).await.map(ReplyBody::Users),
            ModOp::MuteAdd(req) => done(m.personal_mute(user, req, true).await),
            ModOp::MuteRemove(req) => done(m.personal_mute(user, req, false).await),
            ModOp::MuteList(_) => m.personal_mutes(user).await.map(ReplyBody::PersonalMutes),
            ModOp::SettingsGet(_) => m.settings(user).await.map(ReplyBody::Settings),
            ModOp::SettingsSet(req) => m.set_settings(user, req).await.map(ReplyBody::Settings),
        }
    }

    /// Rooms with members on this node and how many of this node's connections are in each,
    /// for the moderator console (a console shows the node it is connected to).
    fn live_rooms(&self, user: &User) -> Result<LiveRooms, ErrorBody> {
        if !user.is_moderator() {
            return Err(ErrorBody::new(
                guildhall_protocol::ErrorCode::Forbidden,
                "only moderators may do this",
            ));
        }
        let mut live = self.services.hub.rooms.live();
        live.sort();
        let rooms = live
            .into_iter()
            .take(MAX_LIVE_ROOMS)
            .map(|(room, members)| LiveRoom {
                room: room.to_string(),
                members: members as u64,
            })
            .collect();
        Ok(LiveRooms { rooms })
    }
}

/// Most rooms `mod.rooms` lists.
const MAX_LIVE_ROOMS: usize = 500;
