//! Moderation and safety ops (client → server), their results, and the moderation events pushed
//! in the room concerned.
//!
//! Two families share this module: the `mod.*` ops of platform moderators and guild officers (mutes,
//! kicks, bans, deleted messages, room modes, penalties, the reports queue, the audit log), and a
//! user's own safety tools (`report.create`, `penalty.appeal`, blocks, personal mutes, DM
//! settings). Field names here are the wire names. Optional fields are omitted when absent, in both
//! codecs. Enumerated values (durations, categories, statuses, ...) travel as strings.

use serde::{Deserialize, Serialize};

use crate::guild::Empty;
use crate::ops::{op, typed, ChatMsg, OpError, UserRef};

/// A moderation or safety op with its typed payload: one variant per op name.
#[derive(Clone, Debug, PartialEq)]
pub enum ModOp {
    Mute(ModMute),
    Unmute(ModTarget),
    Kick(ModRoomTarget),
    Ban(ModTarget),
    Unban(ModTarget),
    Delete(ModDelete),
    Mode(ModMode),
    Penalize(ModPenalize),
    Penalties(ModUser),
    Audit(ModAuditQuery),
    Reports(ModReportsQuery),
    Claim(ReportRef),
    Resolve(ModResolve),
    Rooms(Empty),
    ReportCreate(ReportCreate),
    Appeal(PenaltyAppeal),
    BlockAdd(UserTarget),
    BlockRemove(UserTarget),
    BlockList(Empty),
    MuteAdd(PersonalMute),
    MuteRemove(PersonalMute),
    MuteList(Empty),
    SettingsGet(Empty),
    SettingsSet(Settings),
}

impl ModOp {
    /// Picks the payload type by op name; `None` when the name is not a moderation or safety op.
    pub(crate) fn parse(op_name: &str, d: &serde_json::Value) -> Option<Result<Self, OpError>> {
        fn with<T: serde::de::DeserializeOwned>(
            op: &'static str,
            d: &serde_json::Value,
            variant: fn(T) -> ModOp,
        ) -> Option<Result<ModOp, OpError>> {
            Some(typed(op, d).map(variant))
        }
        match op_name {
            op::MOD_MUTE => with(op::MOD_MUTE, d, Self::Mute),
            op::MOD_UNMUTE => with(op::MOD_UNMUTE, d, Self::Unmute),
            op::MOD_KICK => with(op::MOD_KICK, d, Self::Kick),
            op::MOD_BAN => with(op::MOD_BAN, d, Self::Ban),
            op::MOD_UNBAN => with(op::MOD_UNBAN, d, Self::Unban),
            op::MOD_DELETE => with(op::MOD_DELETE, d, Self::Delete),
            op::MOD_MODE => with(op::MOD_MODE, d, Self::Mode),
            op::MOD_PENALIZE => with(op::MOD_PENALIZE, d, Self::Penalize),
            op::MOD_PENALTIES => with(op::MOD_PENALTIES, d, Self::Penalties),
            op::MOD_AUDIT => with(op::MOD_AUDIT, d, Self::Audit),
            op::MOD_REPORTS => with(op::MOD_REPORTS, d, Self::Reports),
            op::MOD_CLAIM => with(op::MOD_CLAIM, d, Self::Claim),
            op::MOD_RESOLVE => with(op::MOD_RESOLVE, d, Self::Resolve),
            op::MOD_ROOMS => with(op::MOD_ROOMS, d, Self::Rooms),
            op::REPORT_CREATE => with(op::REPORT_CREATE, d, Self::ReportCreate),
            op::PENALTY_APPEAL => with(op::PENALTY_APPEAL, d, Self::Appeal),
            op::BLOCK_ADD => with(op::BLOCK_ADD, d, Self::BlockAdd),
            op::BLOCK_REMOVE => with(op::BLOCK_REMOVE, d, Self::BlockRemove),
            op::BLOCK_LIST => with(op::BLOCK_LIST, d, Self::BlockList),
            op::MUTE_ADD => with(op::MUTE_ADD, d, Self::MuteAdd),
            op::MUTE_REMOVE => with(op::MUTE_REMOVE, d, Self::MuteRemove),
            op::MUTE_LIST => with(op::MUTE_LIST, d, Self::MuteList),
            op::SETTINGS_GET => with(op::SETTINGS_GET, d, Self::SettingsGet),
            op::SETTINGS_SET => with(op::SETTINGS_SET, d, Self::SettingsSet),
            _ => None,
        }
    }

    /// The op name, as it appears in `op`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mute(_) => op::MOD_MUTE,
            Self::Unmute(_) => op::MOD_UNMUTE,
            Self::Kick(_) => op::MOD_KICK,
            Self::Ban(_) => op::MOD_BAN,
            Self::Unban(_) => op::MOD_UNBAN,
            Self::Delete(_) => op::MOD_DELETE,
            Self::Mode(_) => op::MOD_MODE,
            Self::Penalize(_) => op::MOD_PENALIZE,
            Self::Penalties(_) => op::MOD_PENALTIES,
            Self::Audit(_) => op::MOD_AUDIT,
            Self::Reports(_) => op::MOD_REPORTS,
            Self::Claim(_) => op::MOD_CLAIM,
            Self::Resolve(_) => op::MOD_RESOLVE,
            Self::Rooms(_) => op::MOD_ROOMS,
            Self::ReportCreate(_) => op::REPORT_CREATE,
            Self::Appeal(_) => op::PENALTY_APPEAL,
            Self::BlockAdd(_) => op::BLOCK_ADD,
            Self::BlockRemove(_) => op::BLOCK_REMOVE,
            Self::BlockList(_) => op::BLOCK_LIST,
            Self::MuteAdd(_) => op::MUTE_ADD,
            Self::MuteRemove(_) => op::MUTE_REMOVE,
            Self::MuteList(_) => op::MUTE_LIST,
            Self::SettingsGet(_) => op::SETTINGS_GET,
            Self::SettingsSet(_) => op::SETTINGS_SET,
        }
    }

    /// Whether the op changes state, so that `idem` applies to it.
    pub fn is_mutating(&self) -> bool {
        match self {
            Self::Mute(_)
            | Self::Unmute(_)
            | Self::Kick(_)
            | Self::Ban(_)
            | Self::Unban(_)
            | Self::Delete(_)
            | Self::Mode(_)
            | Self::Penalize(_)
            | Self::Claim(_)
            | Self::Resolve(_)
            | Self::ReportCreate(_)
            | Self::Appeal(_)
            | Self::BlockAdd(_)
            | Self::BlockRemove(_)
            | Self::MuteAdd(_)
            | Self::MuteRemove(_)
            | Self::SettingsSet(_) => true,
            Self::Penalties(_)
            | Self::Audit(_)
            | Self::Reports(_)
            | Self::Rooms(_)
            | Self::BlockList(_)
            | Self::MuteList(_)
            | Self::SettingsGet(_) => false,
        }
    }
}

// --- requests ------------------------------------------------------------------------------------

/// `mod.mute`. Without `room`, the mute holds in every room (moderators only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModMute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    pub user: String,
    /// `1h`, `24h` or `permanent`.
    pub duration: String,
    /// A shadow mute: the user's messages reach only their own connections, and they are not told.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A user, in one room or (without `room`) on the whole platform: `mod.unmute`, `mod.ban`,
/// `mod.unban`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A user in one room: `mod.kick`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModRoomTarget {
    pub room: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `mod.delete`: a chat message, by its message id (not its log offset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModDelete {
    pub room: String,
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `mod.mode`: changes to a room's modes; absent fields stay as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModMode {
    pub room: String,
    /// The minimum gap between one user's messages, in ms; `0` turns slow mode off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic: Option<bool>,
}

/// `mod.penalize`: the next step of the penalty ladder for `user`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModPenalize {
    pub user: String,
    /// A report category: it decides how far up the ladder the penalty may jump.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The report this penalty answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<u64>,
}

/// A payload naming only a user, for moderators: `mod.penalties`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModUser {
    pub user: String,
}

/// `mod.audit`: filters (all optional) and paging of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModAuditQuery {
    /// The target user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The user who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// An entry id: only older entries (`id < before`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `mod.reports`: the reports queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModReportsQuery {
    /// `pending`, `reviewing`, `resolved` or `dismissed`; absent: the open ones (pending and reviewing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A payload naming only a report: `mod.claim`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRef {
    pub report: u64,
}

/// `mod.resolve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModResolve {
    pub report: u64,
    /// `dismiss`, `warn` or `penalize`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `report.create`: a report against a user, optionally about one message of a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCreate {
    pub user: String,
    pub category: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A message id in `room`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<u64>,
}

/// `penalty.appeal`: the penalized user contests one of their penalties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyAppeal {
    pub penalty: u64,
    pub note: String,
}

/// A payload naming only a user, for a user's own lists: `block.add`, `block.remove`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTarget {
    pub user: String,
}

/// `mute.add`, `mute.remove`: a personal mute of a user or of a whole room (exactly one of them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalMute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// A user's settings: the payload of `settings.set` and the result of `settings.get` and
/// `settings.set`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Who may send the user direct messages: `anyone` or `friends`.
    pub dm: String,
}

// --- results -------------------------------------------------------------------------------------

/// The result of `mod.mute`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModMuted {
    /// When the mute ends, ms since the Unix epoch; absent for a permanent mute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
}

/// A room's modes: the result of `mod.mode`, and the `d` of `room.mode`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMode {
    /// `0`: slow mode is off.
    pub slow_ms: u64,
    pub members_only: bool,
    pub panic: bool,
}

/// One penalty of a user: the result of `mod.penalize`, and an entry of `mod.penalties`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Penalty {
    pub id: u64,
    pub user: String,
    /// The step on the ladder, 1 (a warning) to 5 (a permanent ban).
    pub step: u32,
    /// `warning`, `chat_ban`, `chat_trade_ban` or `ban`.
    pub kind: String,
    pub category: String,
    pub starts: u64,
    /// Absent: no end (a warning, or a permanent ban).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends: Option<u64>,
    pub by: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<u64>,
    /// The user's appeal note, once they appealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal: Option<String>,
}

/// The result of `mod.penalties`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PenaltyList {
    pub penalties: Vec<Penalty>,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub actor: UserRef,
    /// `mute`, `unmute`, `kick`, `ban`, `unban`, `delete`, `mode`, `penalize`, `claim`, `resolve`,
    /// or a guild action (`guild_kick`, ...).
    pub action: String,
    /// The target user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What else the action said (a duration, a mode, a message id), for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    pub at: u64,
}

/// The result of `mod.audit`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}

/// A report, as the moderators' queue shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub id: u64,
    pub reporter: UserRef,
    /// The reported user's id.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<u64>,
    pub category: String,
    pub text: String,
    /// `pending`, `reviewing`, `resolved` or `dismissed`.
    pub status: String,
    /// `low`, `medium`, `high` or `critical`.
    pub priority: String,
    /// The moderator reviewing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// The `mod.resolve` action: `dismiss`, `warn` or `penalize`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The room's messages around the reported one, oldest first; empty without a message.
    pub context: Vec<ChatMsg>,
    pub created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<u64>,
}

/// The result of `mod.reports`: highest priority first, then oldest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportList {
    pub reports: Vec<Report>,
}

/// One room with connections in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRoom {
    pub room: String,
    pub members: u64,
}

/// The result of `mod.rooms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRooms {
    pub rooms: Vec<LiveRoom>,
}

/// The result of `report.create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCreated {
    pub id: u64,
}

/// The result of `block.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<String>,
}

/// The result of `mute.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalMutes {
    pub users: Vec<String>,
    pub rooms: Vec<String>,
}

// --- events --------------------------------------------------------------------------------------

/// `chat.deleted`: clients remove the message with this id. No `by`: the server removed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDeleted {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserRef>,
}

/// `room.kicked`: the user's connections leave the room after this push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomKicked {
    pub user: UserRef,
    /// A ban: the user may not join the room again until unbanned.
    pub ban: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
