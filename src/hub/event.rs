//! A room log event and its frames, encoded at most once per codec however many members get it.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use axum::extract::ws::Message;
use guildhall_protocol::{Codec, Push};
use serde::Serialize;

use crate::broker::EventDraft;

/// A push encoded lazily, once per codec, then shared (`Bytes` clones) by every recipient.
#[derive(Default)]
pub struct FrameCache {
    json: OnceLock<Option<Message>>,
    msgpack: OnceLock<Option<Message>>,
}

impl FrameCache {
    pub fn get<T: Serialize>(&self, codec: Codec, push: impl FnOnce() -> T) -> Option<Message> {
        let slot = match codec {
            Codec::Json => &self.json,
            Codec::MsgPack => &self.msgpack,
        };
        slot.get_or_init(|| encode_frame(codec, &push())).clone()
    }
}

/// Encodes a server frame in a codec as the WebSocket message that carries it.
pub fn encode_frame<T: Serialize + ?Sized>(codec: Codec, value: &T) -> Option<Message> {
    let message = match codec {
        Codec::Json => serde_json::to_string(value)
            .map(|s| Message::Text(s.into()))
            .map_err(|e| e.to_string()),
        Codec::MsgPack => codec
            .encode(value)
            .map(Message::Binary)
            .map_err(|e| e.to_string()),
    };
    match message {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::error!(error = %e, "encoding a server frame failed");
            None
        }
    }
}

/// One event of a room's log.
/// The internal name of a shadow-muted user's message in a room's log: it takes an offset
/// like any event, but only its author's connections receive it (as `chat.msg`).
pub const SHADOW_CHAT_MSG: &str = "chat.msg~shadow";

pub struct LogEvent {
    pub room: Arc<str>,
    pub ep: Arc<str>,
    pub off: u64,
    pub ts_ms: u64,
    pub ev: Cow<'static, str>,
    pub d: serde_json::Value,
    /// A shadow-muted message ([`SHADOW_CHAT_MSG`]), decided once rather than per member.
    pub shadow: bool,
    frames: FrameCache,
}

impl LogEvent {
    pub fn new(room: Arc<str>, ep: Arc<str>, off: u64, draft: EventDraft) -> Self {
        Self {
            room,
            ep,
            off,
            ts_ms: draft.ts_ms,
            shadow: draft.ev == SHADOW_CHAT_MSG,
            ev: draft.ev,
            d: draft.d,
            frames: FrameCache::default(),
        }
    }

    /// The push frame of this event in a codec.
    pub fn frame(&self, codec: Codec) -> Option<Message> {
        // A shadow-muted message goes out as an ordinary one: its author must not tell.
        let ev = if self.shadow {
            guildhall_protocol::ev::CHAT_MSG
        } else {
            &*self.ev
        };
        self.frames.get(codec, || Push {
            ev: Cow::Borrowed(ev),
            room: Some(Cow::Borrowed(&*self.room)),
            ep: Some(Cow::Borrowed(&*self.ep)),
            off: Some(self.off),
            d: &self.d,
        })
    }
}

impl std::fmt::Debug for LogEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogEvent")
            .field("room", &self.room)
            .field("ep", &self.ep)
            .field("off", &self.off)
            .field("ev", &self.ev)
            .finish()
    }
}
