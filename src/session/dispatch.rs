//! Op handlers of a connection. Each checks what only the session knows (hello done, rooms
//! joined) and calls a service; rules live in the services and `domain/`.

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use guildhall_protocol::{
    close, ApplicationList, AuditPage, ChatHistory, ChatHistoryPage, ChatMsg, ChatSent, ClientOp,
    Codec, Donated, Done, ErrorBody, ErrorCode, GuildInfo, GuildList, Hello, HelloOk, InviteList,
    LiveRooms, ModMuted, PaidOut, Penalty, PenaltyList, PersonalMutes, Pong, Report, ReportCreated,
    ReportList, Resumed, RoleChanged, RoomJoin, RoomJoined, RoomMode, Settings, TransferPending,
    UserList, UserRef, VaultView, Wallet, PROTOCOL_VERSION,
};
use serde::Serialize;

use super::handle::SessionHandle;
use super::{Connection, Flow};
use crate::broker::EventDraft;
use crate::chat::internal;
use crate::clock::now_ms;
use crate::domain::guild::profile::MemberPresence;
use crate::domain::room::{may_enter, AccessDenied, RoomKind, RoomName, RoomNameError};
use crate::guild::guild_of_room;
use crate::hub::event::SHADOW_CHAT_MSG;
use crate::hub::{Joined, PendingJoin};
use crate::moderation::SendVerdict;

/// A successful result of any op, as it goes on the wire (the variant adds no tag).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum ReplyBody {
    Hello(HelloOk),
    Pong(Pong),
    Joined(RoomJoined),
    Done(Done),
    Sent(ChatSent),
    History(ChatHistoryPage),
    GuildInfo(Box<GuildInfo>),
    GuildList(GuildList),
    Applications(ApplicationList),
    Invites(InviteList),
    RoleChanged(RoleChanged),
    Transfer(TransferPending),
    Donated(Donated),
    PaidOut(PaidOut),
    Vault(VaultView),
    Wallet(Wallet),
    Muted(ModMuted),
    Mode(RoomMode),
    Penalty(Box<Penalty>),
    Penalties(PenaltyList),
    Audit(AuditPage),
    Reports(ReportList),
    Report(Box<Report>),
    LiveRooms(LiveRooms),
    ReportCreated(ReportCreated),
    Users(UserList),
    PersonalMutes(PersonalMutes),
    Settings(Settings),
    RunAccepted(guildhall_protocol::RunAccepted),
    WarRegistered(guildhall_protocol::WarRegistered),
    WarBoard(Box<guildhall_protocol::WarBoard>),
    RaidBoard(Box<guildhall_protocol::RaidBoard>),
    FlaggedRuns(guildhall_protocol::FlaggedRuns),
    Stream(Box<guildhall_protocol::StreamInfo>),
    StreamPublished(guildhall_protocol::StreamPublished),
    StreamPage(guildhall_protocol::StreamPage),
    ReplayStarted(guildhall_protocol::ReplayStarted),
    Broadcast(Box<guildhall_protocol::BroadcastInfo>),
}

impl Connection {
    pub(super) async fn dispatch(
        &mut self,
        codec: Codec,
        id: Option<u64>,
        op: ClientOp,
        idem: Option<String>,
    ) -> Flow {
        let Some(session) = self.session.clone() else {
            if let ClientOp::Hello(hello) = op {
                return self.hello(codec, id, hello).await;
            }
            self.reply_err(
                codec,
                id,
                ErrorBody::new(ErrorCode::Unauthorized, "hello first"),
            );
            self.closer.close(close::UNAUTHORIZED, "hello first");
            return Flow::Stop;
        };
        let result = match op {
            ClientOp::Hello(_) => Err(ErrorBody::new(
                ErrorCode::Invalid,
                "hello was already accepted",
            )),
            ClientOp::RoomJoin(join) => return self.join(codec, id, &session, join).await,
            op if op.is_mutating() => match idem {
                Some(key)
                    if key.len() > self.services.config.limits.max_idem_len || key.is_empty() =>
                {
                    Err(ErrorBody::new(
                        ErrorCode::Invalid,
                        "idem keys are 1 to 64 bytes",
                    ))
                }
                Some(key) => {
                    // The first result is kept as the reply's `d`, to be answered again in
                    // whichever codec a retry uses.
                    let services = self.services.clone();
                    let act = async {
                        let body = self.act(&session, op, Some(&key)).await?;
                        serde_json::to_value(body).map_err(|e| internal("encoding a reply", e))
                    };
                    let result = services.idem.run(&session.user.id, &key, act).await;
                    self.reply(codec, id, result);
                    return Flow::Continue;
                }
                None => self.act(&session, op, None).await,
            },
            op => self.act(&session, op, None).await,
        };
        self.reply(codec, id, result);
        Flow::Continue
    }

    /// Ops whose whole effect is their reply.
    async fn act(
        &mut self,
        session: &Arc<SessionHandle>,
        op: ClientOp,
        idem: Option<&str>,
    ) -> Result<ReplyBody, ErrorBody> {
        match op {
            ClientOp::Ping(_) => Ok(ReplyBody::Pong(Pong { t: now_ms() })),
            ClientOp::RoomLeave(leave) => {
                if let Some(joined) = self.rooms.remove(leave.room.as_str()) {
                    self.left(session, &joined).await;
                }
                Ok(ReplyBody::Done(Done {}))
            }
            ClientOp::ChatSend(send) => {
                let Some((room, joined)) = self.rooms.get_key_value(send.room.as_str()) else {
                    return Err(ErrorBody::new(
                        ErrorCode::NotMember,
                        "join the room before sending to it",
                    ));
                };
                if !joined.room.chat {
                    return Err(ErrorBody::new(ErrorCode::NotFound, "this room has no chat"));
                }
                let room = room.clone();
                if joined.membership.is_evicted() {
                    // Removed from the room (kicked, left on another connection, disbanded).
                    if let Some(joined) = self.rooms.remove(&room) {
                        self.services.hub.leave(&joined).await;
                    }
                    return Err(ErrorBody::new(
                        ErrorCode::NotMember,
                        "you are no longer in this room",
                    ));
                }
                let (filter, speaker) = match guild_of_room(&room) {
                    Some(guild) => {
                        let gate =
                            Box::pin(self.services.guilds.chat_gate(guild, &session.user)).await?;
                        (Some(gate.filter), Some(gate.speaker))
                    }
                    None => (None, None),
                };
                let verdict = self
                    .services
                    .moderation
                    .check_send(&session.user, &room, speaker)
                    .await?;
                if verdict == SendVerdict::Shadow {
                    return Box::pin(self.shadow_send(session, &room, &send.text)).await;
                }
                self.services
                    .chat
                    .send(&session.user, &room, &send.text, idem, filter)
                    .await
                    .map(ReplyBody::Sent)
            }
            ClientOp::ChatHistory(req) => self.history(session, req).await,
            // Boxed: their futures are far larger than chat's, and every frame's dispatch
            // future is allocated at the size of its largest arm.
            ClientOp::Guild(op) => Box::pin(self.guild_op(&session.user, op, idem)).await,
            ClientOp::Mod(op) => Box::pin(self.mod_op(&session.user, op)).await,
            ClientOp::War(op) => Box::pin(self.war_op(&session.user, op)).await,
            ClientOp::Stream(op) => Box::pin(self.stream_op(session, op)).await,
            ClientOp::Hello(_) | ClientOp::RoomJoin(_) => {
                Err(ErrorBody::new(ErrorCode::Internal, "misrouted op"))
            }
        }
    }

    async fn history(
        &self,
        session: &SessionHandle,
        req: ChatHistory,
    ) -> Result<ReplyBody, ErrorBody> {
        let room = checked_room(&req.room, &session.user.id)?;
        if !room.kind.is_chat() {
            return Err(ErrorBody::new(ErrorCode::NotFound, "this room has no chat"));
        }
        // Reading a room's history takes what entering it takes.
        self.may_enter_room(session, &room).await?;
        let limit = req
            .limit
            .unwrap_or(self.services.config.chat.history_on_join);
        let msgs = self
            .services
            .chat
            .history(room.as_str(), req.before, limit)
            .await?;
        Ok(ReplyBody::History(ChatHistoryPage { msgs }))
    }

    async fn hello(&mut self, codec: Codec, id: Option<u64>, hello: Hello) -> Flow {
        if hello.v != PROTOCOL_VERSION {
            let msg = format!("this server speaks protocol version {PROTOCOL_VERSION}");
            self.reply_err(
                codec,
                id,
                ErrorBody::new(ErrorCode::UnsupportedVersion, msg),
            );
            self.closer
                .close(close::PROTOCOL, "unsupported protocol version");
            return Flow::Stop;
        }
        let user = match self.services.auth.verify(&hello.token) {
            Ok(user) => user,
            Err(e) => {
                tracing::debug!(error = %e, "hello refused");
                self.reply_err(
                    codec,
                    id,
                    ErrorBody::new(ErrorCode::Unauthorized, e.to_string()),
                );
                self.closer.close(close::UNAUTHORIZED, "invalid token");
                return Flow::Stop;
            }
        };
        if let Err(e) = self.services.moderation.check_hello(&user) {
            self.reply_err(codec, id, e);
            self.closer.close(close::FORBIDDEN, "banned");
            return Flow::Stop;
        }
        let Some(slot) = self.services.conns.admit_user(&user.id) else {
            let max = self.services.config.limits.max_conns_per_user;
            self.reply_err(
                codec,
                id,
                ErrorBody::new(
                    ErrorCode::ConnLimit,
                    format!("at most {max} connections per user"),
                ),
            );
            self.closer.close(close::FORBIDDEN, "too many connections");
            return Flow::Stop;
        };
        self._user_slot = Some(slot);
        let moderation = &self.services.moderation;
        let (hides, first_here) = moderation.users.hides_for(&user.id);
        if first_here && moderation.state.hides_anything(&user.id) {
            moderation.load_hides(&user.id);
        }
        let session = Arc::new(SessionHandle {
            id: self.services.new_session_id(),
            user,
            codec: self.preferred_codec.unwrap_or(codec),
            outbox: self.outbox.clone(),
            hides,
            hides_any: AtomicBool::new(false),
        });
        moderation.users.register(&session);
        let span = tracing::Span::current();
        span.record("session", &*session.id);
        span.record("user", &*session.user.id);
        self.services.metrics.connections.increment(1.0);
        self.services.metrics.handshakes.increment(1);
        self.session = Some(session.clone());
        self.services.guilds.note_login(&session.user.id);

        let max_rooms = self.services.config.limits.max_rooms_per_conn;
        let mut resumed = Vec::new();
        let mut pending = Vec::new();
        for pos in hello.resume.into_iter().take(max_rooms) {
            let resumed_one = match self
                .enter(&session, &pos.room, Some((&pos.ep, pos.off)))
                .await
            {
                Ok(join) => {
                    let entry = Resumed {
                        room: pos.room,
                        recovered: join.recovered == Some(true),
                        ep: Some(join.pos.ep.to_string()),
                        off: Some(join.pos.off),
                    };
                    pending.push(join);
                    entry
                }
                Err(_) => Resumed {
                    room: pos.room,
                    recovered: false,
                    ep: None,
                    off: None,
                },
            };
            resumed.push(resumed_one);
        }
        let ok = HelloOk {
            session: session.id.to_string(),
            user: UserRef {
                id: session.user.id.to_string(),
                name: session.user.name.to_string(),
            },
            node: self.services.node_id.to_string(),
            heartbeat_ms: self.services.config.limits.heartbeat_ms,
            resumed,
        };
        self.reply(codec, id, Ok(ok));
        for join in pending {
            self.open(join);
        }
        Flow::Continue
    }

    async fn join(
        &mut self,
        codec: Codec,
        id: Option<u64>,
        session: &Arc<SessionHandle>,
        req: RoomJoin,
    ) -> Flow {
        let evicted = self
            .rooms
            .get(req.room.as_str())
            .is_some_and(|joined| joined.membership.is_evicted());
        if evicted {
            // Removed by the room (kicked, banned): this is a fresh join, checked as one.
            if let Some(joined) = self.rooms.remove(req.room.as_str()) {
                self.services.hub.leave(&joined).await;
            }
        }
        if let Some(joined) = self.rooms.get(req.room.as_str()) {
            // Joining again is not an error: the answer is where the room stands now, for
            // this member.
            let position = self.services.hub.position_of(joined).await;
            let result = match position {
                Ok(pos) => Ok(RoomJoined {
                    ep: pos.ep.to_string(),
                    off: pos.off,
                    recovered: None,
                    history: None,
                }),
                Err(_) => Err(ErrorBody::new(
                    ErrorCode::Unavailable,
                    "the room's log is unavailable",
                )),
            };
            self.reply(codec, id, result);
            return Flow::Continue;
        }
        if self.rooms.len() >= self.services.config.limits.max_rooms_per_conn {
            let max = self.services.config.limits.max_rooms_per_conn;
            self.reply_err(
                codec,
                id,
                ErrorBody::new(
                    ErrorCode::Invalid,
                    format!("at most {max} rooms per connection"),
                ),
            );
            return Flow::Continue;
        }
        let since = req.since.as_ref().map(|s| (s.ep.as_str(), s.off));
        let join = match self.enter(session, &req.room, since).await {
            Ok(join) => join,
            Err(e) => {
                self.reply_err(codec, id, e);
                return Flow::Continue;
            }
        };
        // History comes after the position is read: a message stored before it is in both
        // (clients drop the repeat by id), never in neither.
        let history = if join.recovered != Some(true)
            && RoomName::parse(&req.room).is_ok_and(|r| r.kind.is_chat())
        {
            let limit = self.services.config.chat.history_on_join;
            let cached = join.room.recent.lock().snapshot();
            let loaded = match cached {
                Some(msgs) => Ok(msgs),
                None => self
                    .services
                    .chat
                    .history(&req.room, None, limit)
                    .await
                    .map(|msgs| join.room.recent.lock().install(msgs)),
            };
            match loaded {
                Ok(msgs) => Some(msgs),
                Err(e) => {
                    self.services.hub.leave(&join.open()).await;
                    self.reply_err(codec, id, e);
                    return Flow::Continue;
                }
            }
        } else {
            None
        };
        let ok = RoomJoined {
            ep: join.pos.ep.to_string(),
            off: join.pos.off,
            recovered: join.recovered,
            history,
        };
        self.reply(codec, id, Ok(ok));
        self.open(join);
        Flow::Continue
    }

    /// Checks the room and adds the session to it with its gate closed.
    async fn enter(
        &self,
        session: &Arc<SessionHandle>,
        room: &str,
        since: Option<(&str, u64)>,
    ) -> Result<PendingJoin, ErrorBody> {
        let name = checked_room(room, &session.user.id)?;
        self.may_enter_room(session, &name).await?;
        if name.kind == RoomKind::Stream {
            // A feed room: its service checks the stream's visibility, decides live or
            // delayed, and where the member stands.
            return Box::pin(self.services.streams.join(session, &name, since)).await;
        }
        self.services
            .hub
            .join(session, name.as_str(), since)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, room, "join failed");
                ErrorBody::new(
                    ErrorCode::Unavailable,
                    "the room's log is unavailable; retry",
                )
            })
    }

    /// What the name does not tell: bans, and a guild room's membership (platform moderators
    /// enter any guild room, to moderate it).
    async fn may_enter_room(
        &self,
        session: &SessionHandle,
        name: &RoomName,
    ) -> Result<(), ErrorBody> {
        self.services
            .moderation
            .check_join(&session.user, name.as_str())?;
        if matches!(name.kind, RoomKind::War | RoomKind::Raid) {
            // Spectators are welcome: any war or raid that exists, live or over.
            Box::pin(self.services.wars.room_exists(name.as_str())).await?;
        }
        // A stream's feed room is checked by its own join (`StreamService::join`), which also
        // decides live or delayed; its chat takes the same visibility.
        if name.kind == RoomKind::StreamChat {
            Box::pin(self.services.streams.may_enter(&session.user, name)).await?;
        }
        if name.kind == RoomKind::Guild && !session.user.is_moderator() {
            let guild = guild_of_room(name.as_str())
                .ok_or_else(|| ErrorBody::new(ErrorCode::NotFound, "no such guild"))?;
            Box::pin(self.services.guilds.may_enter(guild, &session.user.id)).await?;
        }
        Ok(())
    }

    /// Opens a join's gate and keeps the room. A contest room's member, joining or resuming,
    /// then gets the scoreboard as it stands, and its updates after.
    fn open(&mut self, join: PendingJoin) {
        let joined = join.open();
        let room = joined.room.clone();
        self.rooms.insert(room.name.clone(), joined);
        let Some(session) = &self.session else {
            return;
        };
        if let Some(guild) = guild_of_room(&room.name) {
            self.guild_presence(guild, session, MemberPresence::Online);
        }
        if room.contest {
            self.services.wars.send_board(session, &room.name);
        }
    }

    /// Leaves a room; the last connection of a user to leave a guild room takes them offline.
    pub(super) async fn left(&self, session: &Arc<SessionHandle>, joined: &Joined) {
        self.services.hub.leave(joined).await;
        if let Some(guild) = guild_of_room(&joined.room.name) {
            if !joined.room.has_user(&session.user.id) {
                self.guild_presence(guild, session, MemberPresence::Offline);
            }
        }
    }

    /// A shadow-muted sender's message: not stored, but placed in the room's log so it takes
    /// an offset like any message; only its author's connections receive it, so they cannot
    /// tell. Everyone else sees a gap in the offsets, which the protocol allows.
    async fn shadow_send(
        &self,
        session: &Arc<SessionHandle>,
        room: &Arc<str>,
        text: &str,
    ) -> Result<ReplyBody, ErrorBody> {
        use std::sync::atomic::{AtomicU64, Ordering};
        // Far above any id the store will reach, so it never collides with a real message.
        static SHADOW_IDS: AtomicU64 = AtomicU64::new(1 << 52);
        let msg = ChatMsg {
            id: SHADOW_IDS.fetch_add(1, Ordering::Relaxed),
            from: UserRef {
                id: session.user.id.to_string(),
                name: session.user.name.to_string(),
            },
            text: text.to_owned(),
            ts: now_ms(),
        };
        let d = serde_json::to_value(&msg).map_err(|e| internal("encoding chat.msg", e))?;
        let draft = EventDraft {
            ev: Cow::Borrowed(SHADOW_CHAT_MSG),
            d,
            ts_ms: msg.ts,
        };
        let event = self.services.hub.publish(room, draft).await.map_err(|_| {
            ErrorBody::new(
                ErrorCode::Unavailable,
                "the room's log is unavailable; retry",
            )
        })?;
        Ok(ReplyBody::Sent(ChatSent { off: event.off }))
    }

    /// Presence is recorded off the connection's path: a slow store must not hold up a join.
    fn guild_presence(&self, guild: i64, session: &Arc<SessionHandle>, state: MemberPresence) {
        let services = self.services.clone();
        let session = session.clone();
        self.services.sessions.spawn(async move {
            if let Err(e) = services
                .guilds
                .set_presence(guild, &session.user, state)
                .await
            {
                tracing::debug!(error = %e.msg, guild, "guild presence not recorded");
            }
        });
    }
}

/// Parses a room name and checks the user may enter it.
fn checked_room(room: &str, user_id: &str) -> Result<RoomName, ErrorBody> {
    let name = RoomName::parse(room).map_err(|e| match e {
        RoomNameError::Malformed => ErrorBody::new(ErrorCode::Invalid, e.to_string()),
        RoomNameError::UnknownKind => ErrorBody::new(ErrorCode::NotFound, e.to_string()),
    })?;
    may_enter(&name, user_id).map_err(|denied| match denied {
        AccessDenied::Forbidden => {
            ErrorBody::new(ErrorCode::Forbidden, "this room is not yours to enter")
        }
    })?;
    Ok(name)
}
