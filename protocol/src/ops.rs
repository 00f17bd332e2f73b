//! Op payloads (client → server), their results, and event payloads (server → client).
//!
//! Field names here are the wire names. Optional fields are omitted when absent, in both codecs.

use serde::{Deserialize, Serialize};

use crate::guild::GuildOp;
use crate::moderation::ModOp;
use crate::stream::StreamOp;
use crate::war::WarOp;

/// Op names, as they appear in `op`.
pub mod op {
    pub const HELLO: &str = "hello";
    pub const PING: &str = "ping";
    pub const ROOM_JOIN: &str = "room.join";
    pub const ROOM_LEAVE: &str = "room.leave";
    pub const CHAT_SEND: &str = "chat.send";
    pub const CHAT_HISTORY: &str = "chat.history";
    pub const GUILD_CREATE: &str = "guild.create";
    pub const GUILD_GET: &str = "guild.get";
    pub const GUILD_EDIT: &str = "guild.edit";
    pub const GUILD_SEARCH: &str = "guild.search";
    pub const GUILD_JOIN: &str = "guild.join";
    pub const GUILD_APPLY: &str = "guild.apply";
    pub const GUILD_APPLICATIONS: &str = "guild.applications";
    pub const GUILD_REVIEW: &str = "guild.review";
    pub const GUILD_INVITE: &str = "guild.invite";
    pub const GUILD_INVITES: &str = "guild.invites";
    pub const GUILD_ACCEPT: &str = "guild.accept";
    pub const GUILD_DECLINE: &str = "guild.decline";
    pub const GUILD_LEAVE: &str = "guild.leave";
    pub const GUILD_KICK: &str = "guild.kick";
    pub const GUILD_PROMOTE: &str = "guild.promote";
    pub const GUILD_DEMOTE: &str = "guild.demote";
    pub const GUILD_TRANSFER: &str = "guild.transfer";
    pub const GUILD_TRANSFER_CANCEL: &str = "guild.transfer_cancel";
    pub const GUILD_DISBAND: &str = "guild.disband";
    pub const GUILD_PROTECT: &str = "guild.protect";
    pub const GUILD_DONATE: &str = "guild.donate";
    pub const GUILD_PAYOUT: &str = "guild.payout";
    pub const GUILD_VAULT: &str = "guild.vault";
    pub const GUILD_STATUS: &str = "guild.status";
    pub const WALLET_GET: &str = "wallet.get";
    pub const MOD_MUTE: &str = "mod.mute";
    pub const MOD_UNMUTE: &str = "mod.unmute";
    pub const MOD_KICK: &str = "mod.kick";
    pub const MOD_BAN: &str = "mod.ban";
    pub const MOD_UNBAN: &str = "mod.unban";
    pub const MOD_DELETE: &str = "mod.delete";
    pub const MOD_MODE: &str = "mod.mode";
    pub const MOD_PENALIZE: &str = "mod.penalize";
    pub const MOD_PENALTIES: &str = "mod.penalties";
    pub const MOD_AUDIT: &str = "mod.audit";
    pub const MOD_REPORTS: &str = "mod.reports";
    pub const MOD_CLAIM: &str = "mod.claim";
    pub const MOD_RESOLVE: &str = "mod.resolve";
    pub const MOD_ROOMS: &str = "mod.rooms";
    pub const REPORT_CREATE: &str = "report.create";
    pub const PENALTY_APPEAL: &str = "penalty.appeal";
    pub const BLOCK_ADD: &str = "block.add";
    pub const BLOCK_REMOVE: &str = "block.remove";
    pub const BLOCK_LIST: &str = "block.list";
    pub const MUTE_ADD: &str = "mute.add";
    pub const MUTE_REMOVE: &str = "mute.remove";
    pub const MUTE_LIST: &str = "mute.list";
    pub const SETTINGS_GET: &str = "settings.get";
    pub const SETTINGS_SET: &str = "settings.set";
    pub const RUN_SUBMIT: &str = "run.submit";
    pub const WAR_REGISTER: &str = "war.register";
    pub const WAR_GET: &str = "war.get";
    pub const RAID_START: &str = "raid.start";
    pub const RAID_GET: &str = "raid.get";
    pub const RUN_FLAGGED: &str = "run.flagged";
    pub const STREAM_OPEN: &str = "stream.open";
    pub const STREAM_PUBLISH: &str = "stream.publish";
    pub const STREAM_ANNOTATE: &str = "stream.annotate";
    pub const STREAM_END: &str = "stream.end";
    pub const STREAM_GET: &str = "stream.get";
    pub const STREAM_LIST: &str = "stream.list";
    pub const STREAM_CHEER: &str = "stream.cheer";
    pub const STREAM_REPLAY: &str = "stream.replay";
    pub const BROADCAST_OPEN: &str = "broadcast.open";
    pub const BROADCAST_GET: &str = "broadcast.get";
    pub const BROADCAST_END: &str = "broadcast.end";
}

/// Event names, as they appear in `ev`.
pub mod ev {
    pub const CHAT_MSG: &str = "chat.msg";
    pub const ROOM_PRESENCE: &str = "room.presence";
    pub const ROOM_RESET: &str = "room.reset";
    pub const GUILD_MEMBER_JOINED: &str = "guild.member_joined";
    pub const GUILD_MEMBER_LEFT: &str = "guild.member_left";
    pub const GUILD_MEMBER_KICKED: &str = "guild.member_kicked";
    pub const GUILD_MEMBER_PROMOTED: &str = "guild.member_promoted";
    pub const GUILD_MEMBER_DEMOTED: &str = "guild.member_demoted";
    pub const GUILD_MEMBER_PRESENCE: &str = "guild.member_presence";
    pub const GUILD_DONATION: &str = "guild.donation";
    pub const GUILD_PAYOUT: &str = "guild.payout";
    pub const GUILD_LEVEL_UP: &str = "guild.level_up";
    pub const GUILD_PROFILE: &str = "guild.profile";
    pub const GUILD_TRANSFER_PENDING: &str = "guild.transfer_pending";
    pub const GUILD_TRANSFER_CANCELLED: &str = "guild.transfer_cancelled";
    pub const GUILD_LEADER_CHANGED: &str = "guild.leader_changed";
    pub const GUILD_AUTO_KICK_WARNING: &str = "guild.auto_kick_warning";
    pub const GUILD_DISBANDED: &str = "guild.disbanded";
    pub const CHAT_DELETED: &str = "chat.deleted";
    pub const ROOM_MODE: &str = "room.mode";
    pub const ROOM_KICKED: &str = "room.kicked";
    pub const WAR_BOARD: &str = "war.board";
    pub const WAR_ENDED: &str = "war.ended";
    pub const RAID_BOARD: &str = "raid.board";
    pub const RAID_PHASE: &str = "raid.phase";
    pub const RAID_ENDED: &str = "raid.ended";
    pub const GUILD_WAR_STARTED: &str = "guild.war_started";
    pub const GUILD_RAID_STARTED: &str = "guild.raid_started";
    pub const STREAM_EVENT: &str = "stream.event";
    pub const STREAM_CROWD: &str = "stream.crowd";
}

/// A parsed client op with its typed payload.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientOp {
    Hello(Hello),
    Ping(Ping),
    RoomJoin(RoomJoin),
    RoomLeave(RoomLeave),
    ChatSend(ChatSend),
    ChatHistory(ChatHistory),
    /// A guild or wallet op (`guild.*`, `wallet.get`).
    Guild(GuildOp),
    /// A moderation or safety op (`mod.*`, `report.create`, `penalty.appeal`, `block.*`, `mute.*`,
    /// `settings.*`).
    Mod(ModOp),
    /// A run, war or raid op (`run.submit`, `war.*`, `raid.*`).
    War(WarOp),
    /// A spectator stream or broadcast op (`stream.*`, `broadcast.*`).
    Stream(StreamOp),
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("unknown op {0:?}")]
    Unknown(String),
    #[error("bad payload for {op}: {source}")]
    Payload {
        op: &'static str,
        source: serde_json::Error,
    },
}

impl ClientOp {
    /// Picks the payload type by op name. An absent `d` reads as `{}`.
    pub fn parse(op_name: &str, d: &serde_json::Value) -> Result<Self, OpError> {
        if let Some(guild_op) = GuildOp::parse(op_name, d) {
            return guild_op.map(Self::Guild);
        }
        if let Some(mod_op) = ModOp::parse(op_name, d) {
            return mod_op.map(Self::Mod);
        }
        if let Some(war_op) = WarOp::parse(op_name, d) {
            return war_op.map(Self::War);
        }
        if let Some(stream_op) = StreamOp::parse(op_name, d) {
            return stream_op.map(Self::Stream);
        }
        Ok(match op_name {
            op::HELLO => Self::Hello(typed(op::HELLO, d)?),
            op::PING => Self::Ping(typed(op::PING, d)?),
            op::ROOM_JOIN => Self::RoomJoin(typed(op::ROOM_JOIN, d)?),
            op::ROOM_LEAVE => Self::RoomLeave(typed(op::ROOM_LEAVE, d)?),
            op::CHAT_SEND => Self::ChatSend(typed(op::CHAT_SEND, d)?),
            op::CHAT_HISTORY => Self::ChatHistory(typed(op::CHAT_HISTORY, d)?),
            other => return Err(OpError::Unknown(other.chars().take(64).collect())),
        })
    }

    /// Whether the op changes state, so that `idem` applies to it.
    pub fn is_mutating(&self) -> bool {
        match self {
            Self::ChatSend(_) => true,
            Self::Guild(op) => op.is_mutating(),
            Self::Mod(op) => op.is_mutating(),
            Self::War(op) => op.is_mutating(),
            Self::Stream(op) => op.is_mutating(),
            Self::Hello(_)
            | Self::Ping(_)
            | Self::RoomJoin(_)
            | Self::RoomLeave(_)
            | Self::ChatHistory(_) => false,
        }
    }
}

/// Decodes an op's payload as `T`; an absent (`null`) payload reads as `{}`.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    op: &'static str,
    d: &serde_json::Value,
) -> Result<T, OpError> {
    let result = if d.is_null() {
        T::deserialize(&serde_json::Value::Object(Default::default()))
    } else {
        T::deserialize(d)
    };
    result.map_err(|source| OpError::Payload { op, source })
}

/// A position in a room's log: the epoch and the last offset seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPos {
    pub ep: String,
    pub off: u64,
}

/// A room to rejoin in `hello`, with the last position the client saw in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePos {
    pub room: String,
    pub ep: String,
    pub off: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// A missing token reads as empty and is refused like any invalid one (`unauthorized`).
    #[serde(default)]
    pub token: String,
    pub v: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resume: Vec<ResumePos>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    pub id: String,
    pub name: String,
}

/// The outcome of one `hello.resume` entry. `ep` and `off` are present when the connection is
/// in the room again (whether or not the missed events could be delivered): the room's position
/// at the resume, like a `room.join` reply's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    pub room: String,
    pub recovered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ep: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HelloOk {
    pub session: String,
    pub user: UserRef,
    pub node: String,
    pub heartbeat_ms: u64,
    pub resumed: Vec<Resumed>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    pub t: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomJoin {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<StreamPos>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomJoined {
    pub ep: String,
    pub off: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ChatMsg>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomLeave {
    pub room: String,
}

/// The empty result of ops that return nothing but success.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Done {}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatSend {
    pub room: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatSent {
    pub off: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatHistory {
    pub room: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatHistoryPage {
    pub msgs: Vec<ChatMsg>,
}

/// One chat message, as pushed in `chat.msg` and listed in history. `id` is unique per store and
/// grows with time within a room; `ts` is milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMsg {
    pub id: u64,
    pub from: UserRef,
    pub text: String,
    pub ts: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub joined: Vec<UserRef>,
    pub left: Vec<UserRef>,
    pub count: u64,
}

/// The room's log restarted (its broker lost its data) or moved on without this node: offsets
/// from before mean nothing any more. Reload (`chat.history`) and continue from `{ep, off}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomReset {
    pub ep: String,
    pub off: u64,
}
