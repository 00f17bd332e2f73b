//! The handle the rest of the node holds to one connection: its outbound queue and its close
//! switch. Fan-out only ever calls the non-blocking methods here.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use axum::extract::ws::Message;
use guildhall_protocol::{close, Codec};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::queue::{FrameQueue, Pushed};
use crate::auth::User;
use crate::hub::event::LogEvent;
use crate::metrics::Metrics;

/// Ends a connection: the first close code set wins, the writer sends it and both tasks stop.
#[derive(Default)]
pub struct Closer {
    token: CancellationToken,
    reason: Mutex<Option<(u16, &'static str)>>,
}

impl Closer {
    pub fn close(&self, code: u16, reason: &'static str) {
        {
            let mut slot = self.reason.lock();
            if slot.is_none() {
                *slot = Some((code, reason));
            }
        }
        self.token.cancel();
    }

    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn reason(&self) -> Option<(u16, &'static str)> {
        *self.reason.lock()
    }
}

/// The outbound side of a connection, usable before `hello` succeeds.
#[derive(Clone)]
pub struct Outbox {
    queue: Arc<FrameQueue>,
    closer: Arc<Closer>,
    metrics: Arc<Metrics>,
}

impl Outbox {
    pub fn new(queue: Arc<FrameQueue>, closer: Arc<Closer>, metrics: Arc<Metrics>) -> Self {
        Self {
            queue,
            closer,
            metrics,
        }
    }

    /// Queues a frame that must not be lost (replies, room log events). A full queue means the
    /// client is not reading: it is closed with 4008 and resumes from its last offset.
    pub fn send(&self, frame: Message) -> bool {
        match self.queue.push(frame) {
            Pushed::Queued => true,
            Pushed::Full => {
                self.metrics.queue_overflows.increment(1);
                self.queue.close();
                self.closer.close(close::SLOW_CONSUMER, "slow consumer");
                false
            }
            Pushed::Closed => false,
        }
    }

    /// Queues a frame whose loss is harmless because a newer one follows (presence counts).
    pub fn send_droppable(&self, frame: Message) -> bool {
        match self.queue.push(frame) {
            Pushed::Queued => true,
            Pushed::Full | Pushed::Closed => {
                self.metrics.dropped_frames.increment(1);
                false
            }
        }
    }

    /// Refuses further frames (the connection is ending).
    pub fn close(&self) {
        self.queue.close();
    }
}

/// An authenticated connection as the hub sees it.
pub struct SessionHandle {
    pub id: Arc<str>,
    pub user: User,
    pub codec: Codec,
    pub outbox: Outbox,
    /// What this user chose not to see (blocked users, personal mutes); shared by the user's
    /// connections on this node.
    pub hides: Arc<HideList>,
    /// Whether `hides` holds anything: kept here, beside what fan-out reads anyway, so that the
    /// many connections that hide nothing cost fan-out no extra memory access.
    pub hides_any: AtomicBool,
}

/// A user's hides, swapped whole when they change.
#[derive(Debug)]
pub struct HideList {
    set: ArcSwap<Hides>,
}

impl Default for HideList {
    /// Starts on one empty set shared by every user who hides nothing: an idle connection's
    /// memory is budgeted, and nearly everyone hides nothing.
    fn default() -> Self {
        static NOTHING: std::sync::LazyLock<Arc<Hides>> =
            std::sync::LazyLock::new(|| Arc::new(Hides::default()));
        Self {
            set: ArcSwap::new(NOTHING.clone()),
        }
    }
}

impl HideList {
    /// Replaces the hides; true when there are any.
    pub fn replace(&self, hides: Hides) -> bool {
        let any = !hides.is_empty();
        self.set.store(Arc::new(hides));
        any
    }

    pub fn any(&self) -> bool {
        !self.set.load().is_empty()
    }
}

/// The author of a chat event.
fn sender_of(event: &LogEvent) -> Option<&str> {
    event
        .d
        .get("from")
        .and_then(|f| f.get("id"))
        .and_then(|id| id.as_str())
}

/// Chat a user does not want pushed to them.
#[derive(Debug, Default)]
pub struct Hides {
    /// Blocked or personally muted users: their messages, in every room.
    pub users: HashSet<Arc<str>>,
    /// Personally muted rooms: every message in them.
    pub rooms: HashSet<Arc<str>>,
}

impl Hides {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.rooms.is_empty()
    }
}

impl SessionHandle {
    /// Whether a room event is withheld from this connection: another user's shadow-muted
    /// message, a chat message from someone this user blocked or muted, or any chat message in
    /// a room they muted. Costs two flag reads when they hide nothing, which is nearly
    /// everyone.
    pub fn hides_event(&self, event: &LogEvent) -> bool {
        if event.shadow {
            return sender_of(event) != Some(&*self.user.id);
        }
        if !self.hides_any.load(Ordering::Relaxed) || event.ev != guildhall_protocol::ev::CHAT_MSG {
            return false;
        }
        let hides = self.hides.set.load();
        if hides.rooms.contains(&*event.room) {
            return true;
        }
        sender_of(event).is_some_and(|s| hides.users.contains(s))
    }

    pub fn close(&self, code: u16, reason: &'static str) {
        self.outbox.closer.close(code, reason);
    }
}
