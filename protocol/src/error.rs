//! Stable error codes. Clients branch on `code`; `msg` is for humans and may change.

use serde::{Deserialize, Serialize};

/// Every error a reply can carry. The serialized names are public API: never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not a valid envelope in its codec, or its payload does not fit the op.
    BadFrame,
    /// The op name is not one this server knows.
    UnknownOp,
    /// `hello.v` names a protocol version this server does not speak.
    UnsupportedVersion,
    /// The token is missing, expired or badly signed, or an op came before `hello`.
    Unauthorized,
    /// The user may not do this here. In a guild, `msg` names the missing permission.
    Forbidden,
    /// The room, guild, member, invite or application does not exist, or the room kind is not served.
    NotFound,
    /// Too many requests: retry after `retry_ms`.
    RateLimited,
    /// A frame or a text longer than its limit.
    TooLong,
    /// The text contains a link; links are refused in chat.
    LinkRefused,
    /// The text contains words the channel's filter refuses.
    Filtered,
    /// The same text was just sent to the same room.
    Spam,
    /// The op needs membership of a room the connection has not joined, or of a guild the user is not in.
    NotMember,
    /// A field has a value outside its allowed range or form.
    Invalid,
    /// The user holds too many connections already.
    ConnLimit,
    /// A dependency (store or broker) did not answer in time; nothing was done. Retry with the same `idem`.
    Unavailable,
    /// An unexpected server fault; details are in the server log, never in the reply.
    Internal,
    /// A wallet or vault balance would go below zero; nothing was done.
    InsufficientFunds,
    /// A capacity, officer count, daily donation limit or vault cap would be exceeded; `msg` says which.
    LimitReached,
    /// The op contradicts current state: a name or tag taken, already in a guild, already applied or
    /// invited, a transfer already pending.
    Conflict,
    /// The sender is muted in this room or everywhere; `retry_ms` is the time left, absent when the
    /// mute is permanent.
    Muted,
    /// The user is banned from this room, or from the platform.
    Banned,
    /// A run claims more than is plausible (DNA per run or per minute, duration) and the
    /// server's policy refuses outliers; it is flagged for moderators.
    Implausible,
}

impl ErrorCode {
    /// The wire name, as in the spec's error table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::UnknownOp => "unknown_op",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::TooLong => "too_long",
            Self::LinkRefused => "link_refused",
            Self::Filtered => "filtered",
            Self::Spam => "spam",
            Self::NotMember => "not_member",
            Self::Invalid => "invalid",
            Self::ConnLimit => "conn_limit",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::InsufficientFunds => "insufficient_funds",
            Self::LimitReached => "limit_reached",
            Self::Conflict => "conflict",
            Self::Muted => "muted",
            Self::Banned => "banned",
            Self::Implausible => "implausible",
        }
    }
}

/// The `err` object of a failed reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_ms: Option<u64>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            retry_ms: None,
        }
    }

    pub fn retry_after(code: ErrorCode, msg: impl Into<String>, retry_ms: u64) -> Self {
        Self {
            code,
            msg: msg.into(),
            retry_ms: Some(retry_ms),
        }
    }
}
