//! Cluster fan-out. A broker orders each room's events (epoch + offset), keeps a retained tail
//! per room for recovery, and hands every event of a subscribed room to this node's
//! [`EventSink`] in offset order. The node holds one subscription per room with local members,
//! never one per connection.

pub mod memory;
pub mod redis;

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use guildhall_protocol::UserRef;
use serde::{Deserialize, Serialize};

use crate::hub::event::LogEvent;

/// An event before the broker has placed it in its room's log.
#[derive(Clone, Debug)]
pub struct EventDraft {
    pub ev: Cow<'static, str>,
    pub d: serde_json::Value,
    pub ts_ms: u64,
}

/// A room's log position: its epoch and the last offset assigned (0 before the first event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub ep: Arc<str>,
    pub off: u64,
}

/// The answer to "what happened in this room after (ep, off)?".
#[derive(Debug)]
pub enum ReadSince {
    /// Exactly the events after the asked offset, up to `pos`, in order.
    Events {
        pos: Position,
        events: Vec<Arc<LogEvent>>,
    },
    /// The tail no longer reaches back that far, or the epoch changed: reload state.
    Lost { pos: Position },
}

/// Joins and leaves of one node, announced to the others.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PresenceDelta {
    pub joined: Vec<UserRef>,
    pub left: Vec<UserRef>,
}

/// Where a broker delivers the events of the rooms this node subscribed to.
pub trait EventSink: Send + Sync + 'static {
    /// Called once per event, in offset order per room. Must not block.
    fn deliver(&self, event: &Arc<LogEvent>);
    /// The room's log restarted or diverged: positions before `pos` mean nothing any more.
    fn reset(&self, room: &str, pos: &Position);
    /// Another node's presence change in a room.
    fn remote_presence(&self, room: &str, delta: PresenceDelta);
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Places the event in the room's log and delivers it to every subscribed node.
    async fn publish(&self, room: &str, draft: EventDraft) -> Result<Arc<LogEvent>, BrokerError>;
    /// Starts delivering the room's events to this node's sink; returns once delivery is live.
    async fn subscribe(&self, room: &str) -> Result<(), BrokerError>;
    /// Stops delivering the room's events to this node.
    async fn unsubscribe(&self, room: &str);
    async fn position(&self, room: &str) -> Result<Position, BrokerError>;
    async fn read_since(&self, room: &str, ep: &str, off: u64) -> Result<ReadSince, BrokerError>;
    /// Records this node's member count of a room, announces its change (if any) to the other
    /// nodes, and returns the room's count across the cluster. Best effort: on failure the
    /// local count.
    async fn presence(&self, room: &str, local_count: u64, delta: Option<&PresenceDelta>) -> u64;
    async fn health(&self) -> Result<(), BrokerError>;
    fn kind(&self) -> &'static str;
}
