//! Spectator streams and broadcasts: ops (client → server), their results, and what a
//! `stream:<id>` room pushes.
//!
//! A stream's room carries its feed: `stream.event` log events (each with `ep`/`off`), sent to
//! a spectator `delay_s` after they happened, and `stream.crowd` state ticks (viewers, peak,
//! cheer totals; no offset, the latest replaces the last). Spectators chat in the room
//! `stream-chat:<id>`, which follows the chat protocol.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ops::{op, typed, OpError};

#[derive(Clone, Debug, PartialEq)]
pub enum StreamOp {
    Open(StreamOpen),
    Publish(StreamPublish),
    Annotate(StreamAnnotate),
    End(StreamEnd),
    Get(StreamRef),
    List(StreamList),
    Cheer(StreamCheer),
    Replay(StreamReplay),
    BroadcastOpen(BroadcastOpen),
    BroadcastGet(BroadcastRef),
    BroadcastEnd(BroadcastRef),
}

impl StreamOp {
    pub(crate) fn parse(op_name: &str, d: &serde_json::Value) -> Option<Result<Self, OpError>> {
        Some(match op_name {
            op::STREAM_OPEN => typed(op::STREAM_OPEN, d).map(Self::Open),
            op::STREAM_PUBLISH => typed(op::STREAM_PUBLISH, d).map(Self::Publish),
            op::STREAM_ANNOTATE => typed(op::STREAM_ANNOTATE, d).map(Self::Annotate),
            op::STREAM_END => typed(op::STREAM_END, d).map(Self::End),
            op::STREAM_GET => typed(op::STREAM_GET, d).map(Self::Get),
            op::STREAM_LIST => typed(op::STREAM_LIST, d).map(Self::List),
            op::STREAM_CHEER => typed(op::STREAM_CHEER, d).map(Self::Cheer),
            op::STREAM_REPLAY => typed(op::STREAM_REPLAY, d).map(Self::Replay),
            op::BROADCAST_OPEN => typed(op::BROADCAST_OPEN, d).map(Self::BroadcastOpen),
            op::BROADCAST_GET => typed(op::BROADCAST_GET, d).map(Self::BroadcastGet),
            op::BROADCAST_END => typed(op::BROADCAST_END, d).map(Self::BroadcastEnd),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Open(_) => op::STREAM_OPEN,
            Self::Publish(_) => op::STREAM_PUBLISH,
            Self::Annotate(_) => op::STREAM_ANNOTATE,
            Self::End(_) => op::STREAM_END,
            Self::Get(_) => op::STREAM_GET,
            Self::List(_) => op::STREAM_LIST,
            Self::Cheer(_) => op::STREAM_CHEER,
            Self::Replay(_) => op::STREAM_REPLAY,
            Self::BroadcastOpen(_) => op::BROADCAST_OPEN,
            Self::BroadcastGet(_) => op::BROADCAST_GET,
            Self::BroadcastEnd(_) => op::BROADCAST_END,
        }
    }

    /// Opening and ending take `idem`, so a retried open does not open two streams. A publish
    /// is not retried safely by key: its answer carries the offset to check instead.
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Self::Open(_) | Self::End(_) | Self::BroadcastOpen(_) | Self::BroadcastEnd(_)
        )
    }
}

/// `stream.open`: the caller becomes the stream's owner, its only publisher.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamOpen {
    /// What is being played ("snake", "chess"): the browse list filters by it.
    pub game: String,
    #[serde(default)]
    pub title: String,
    /// "public" (listed, anyone watches) | "unlisted" (anyone with the id) | "guild" (the
    /// owner's guild only). Default "public".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Seconds between an event and its delivery to spectators, 0 to 900.
    #[serde(default)]
    pub delay_s: u32,
    /// The owner's guild-mates watch without the delay.
    #[serde(default)]
    pub guild_live: bool,
    /// The run this stream shows: its replay is kept when the run is among its guild's top 10
    /// in a war.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// A broadcast (of the caller's) this stream is a board of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<u32>,
}

/// A stream as listed and returned by `stream.open`, `stream.get` and `stream.end`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    pub id: u64,
    /// Its room: `stream:<id>`; spectator chat is in `stream-chat:<id>`.
    pub room: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<u64>,
    pub game: String,
    pub title: String,
    pub visibility: String,
    pub delay_s: u32,
    pub guild_live: bool,
    /// "live" | "ended"
    pub status: String,
    pub started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// Spectators now, across every node.
    pub viewers: u64,
    pub peak: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<u32>,
    /// Until when its replay is kept, ms; absent while live or when it is not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_until: Option<u64>,
}

/// `stream.publish`: one event of the owner's. `kind` is "start" (a new game: what spectators
/// joining later start from), "move" (a step after the last start or tick), "tick" (a full
/// state: joiners start from the last one) or "data" (delivered in order, not kept for
/// joiners); "end" is `stream.end`'s. `d` is the game's payload, opaque to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamPublish {
    pub stream: u64,
    pub kind: String,
    #[serde(default)]
    pub d: serde_json::Value,
}

/// Where a published event went in the stream's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPublished {
    pub off: u64,
    /// When it happened, ms: spectators get it at `ts + delay_s × 1000`.
    pub ts: u64,
}

/// An arrow from one square to another, or a highlighted square (board coordinates as the game
/// names them, "e2").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrow {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlight {
    pub square: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// `stream.annotate`: a note on one ply, by the stream's owner or its broadcast's owner. It
/// travels in the feed as a `stream.event` of kind "annotation" with this as `d` (less
/// `stream`), delayed like the moves it annotates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAnnotate {
    pub stream: u64,
    pub ply: u32,
    /// "text" | "arrow" | "highlight"
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrow: Option<Arrow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Highlight>,
}

/// `stream.end`: publishes the "end" event (with `d`) and closes the stream to publishing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamEnd {
    pub stream: u64,
    /// Keep the replay (for `streams.replay_ttl_hours`).
    #[serde(default)]
    pub keep: bool,
    #[serde(default)]
    pub d: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRef {
    pub stream: u64,
}

/// `stream.list`: live streams to browse — public ones, and guild-only ones of the caller's own
/// guild — a page at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamList {
    /// "viewers" (featured: most watched first, the default) | "recent" (newest first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<u64>,
    /// Where the page starts: a previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamPage {
    pub streams: Vec<StreamInfo>,
    /// The cursor of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `stream.cheer`: one emoji of the configured set, from a spectator in the stream's room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCheer {
    pub stream: u64,
    pub emoji: String,
}

/// `stream.replay`: plays a stored stream back to this connection, as `stream.event` pushes in
/// the room `stream:<id>` with `ep` "replay", at `speed` times the original pace (1 to 64,
/// default 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamReplay {
    pub stream: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayStarted {
    pub stream: u64,
    /// How many events will follow.
    pub events: u64,
    /// How long the playback lasts at the asked speed, ms.
    pub duration_ms: u64,
}

/// A feed event (`stream.event`, a log event of `stream:<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    /// "start" | "move" | "tick" | "data" | "annotation" | "end"
    pub kind: String,
    /// When it happened, ms.
    pub ts: u64,
    /// The game's payload; absent when the event carried none.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub d: serde_json::Value,
}

/// The crowd of a stream (`stream.crowd`, at most once per `streams.crowd_every_ms`, when it
/// changed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCrowd {
    pub stream: u64,
    pub viewers: u64,
    pub peak: u64,
    /// Cheers so far, by emoji.
    pub cheers: BTreeMap<String, u64>,
}

/// `broadcast.open`: a multi-board broadcast; its boards are streams opened with
/// `broadcast`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastOpen {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastRef {
    pub broadcast: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BroadcastInfo {
    pub id: u64,
    pub owner: String,
    pub title: String,
    pub description: String,
    /// "live" | "ended"
    pub status: String,
    pub started_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<u64>,
    /// Spectators of its live boards now.
    pub viewers: u64,
    pub peak: u64,
    /// Its streams, by board.
    pub boards: Vec<StreamInfo>,
}
