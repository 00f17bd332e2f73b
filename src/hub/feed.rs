//! A stream's feed on this node: its events in log order, released to each spectator `delay`
//! after they happened, and to the owner (and guild-mates, where the stream allows) at once.
//!
//! The delay is applied here, in each node's delivery, not at publication: every node holds the
//! same log, so spectators on every node get the same events in the same order at the same
//! time, and a join or a resume can never be handed an event newer than now − delay.
//!
//! Everything that decides what a member has seen — attaching it, releasing events, offering
//! them — happens under the feed's one lock, so a joiner's state and the events that follow it
//! meet without a gap or a repeat.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::sync::OnceCell;

use super::event::LogEvent;
use super::room::Membership;
use crate::broker::Position;
use crate::domain::stream::{DelayQueue, FeedKind, JoinState, Watch};

/// Feed events kept for resumes: a reconnect within this many events gets exactly what it
/// missed; an older one gets the state.
const RESUME_KEEP: usize = 4_096;

/// The kind of a feed event, from its payload.
fn kind_of(event: &LogEvent) -> FeedKind {
    event
        .d
        .get("kind")
        .and_then(|k| k.as_str())
        .and_then(FeedKind::parse)
        .unwrap_or(FeedKind::Data)
}

pub struct Feed {
    pub room: Arc<str>,
    pub delay_ms: u64,
    /// Set once the feed holds the stream's history (from the store and the log's tail).
    pub built: OnceCell<()>,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Live events heard while the history was being read: applied after it.
    held: Vec<Arc<LogEvent>>,
    ready: bool,
    /// The newest event taken in (its epoch and offset).
    last: Option<(Arc<str>, u64)>,
    /// The newest event released to delayed members.
    released: Option<(Arc<str>, u64)>,
    /// What a live joiner needs, and what a delayed one needs.
    live_state: JoinState<Arc<LogEvent>>,
    released_state: JoinState<Arc<LogEvent>>,
    /// Events waiting for their release, with their kind (read once, when taken in).
    queue: DelayQueue<(FeedKind, Arc<LogEvent>)>,
    /// The latest events, for resumes; `dropped` is the newest offset no longer in it.
    recent: VecDeque<Arc<LogEvent>>,
    dropped: u64,
    live: Vec<Arc<Membership>>,
    delayed: Vec<Arc<Membership>>,
}

/// What a member gets when it attaches: its position and the events to send first.
pub struct Attached {
    pub pos: Position,
    pub recovered: Option<bool>,
    pub backlog: Vec<Arc<LogEvent>>,
}

impl Feed {
    pub fn new(room: Arc<str>, delay_ms: u64, state_cap: usize) -> Self {
        Self {
            room,
            delay_ms,
            built: OnceCell::new(),
            inner: Mutex::new(Inner {
                held: Vec::new(),
                ready: false,
                last: None,
                released: None,
                live_state: JoinState::new(state_cap),
                released_state: JoinState::new(state_cap),
                queue: DelayQueue::new(delay_ms),
                recent: VecDeque::new(),
                dropped: 0,
                live: Vec::new(),
                delayed: Vec::new(),
            }),
        }
    }

    /// A live event from the log.
    pub fn deliver(&self, event: &Arc<LogEvent>, now_ms: u64) {
        let mut inner = self.inner.lock();
        if !inner.ready {
            inner.held.push(event.clone());
            return;
        }
        inner.take(event.clone());
        if self.delay_ms == 0 {
            inner.release(now_ms);
        }
    }

    /// Takes in the stored history and the log's tail, then what was heard meanwhile, and
    /// releases what is due: the feed is ready.
    pub fn finish_build(&self, history: Vec<Arc<LogEvent>>, now_ms: u64) {
        let mut inner = self.inner.lock();
        for event in history {
            inner.take(event);
        }
        let held = std::mem::take(&mut inner.held);
        for event in held {
            inner.take(event);
        }
        inner.ready = true;
        inner.release(now_ms);
    }

    /// Releases the delayed events that are due.
    pub fn release(&self, now_ms: u64) {
        let mut inner = self.inner.lock();
        if inner.ready && !inner.queue.is_empty() {
            inner.release(now_ms);
        }
    }

    /// Adds a member (its gate closed) and says where it stands: the state as it may see it,
    /// or, resuming from `since`, exactly what it missed if the feed still holds it.
    pub fn attach(
        &self,
        member: Arc<Membership>,
        watch: Watch,
        since: Option<(&str, u64)>,
        log_pos: &Position,
    ) -> Attached {
        let mut inner = self.inner.lock();
        let upto = match watch {
            Watch::Live => inner.last.clone(),
            Watch::Delayed => inner.released.clone(),
        };
        // The position of a feed with nothing seen yet is the log's start in its epoch.
        let pos = match &upto {
            Some((ep, off)) => Position {
                ep: ep.clone(),
                off: *off,
            },
            None => Position {
                ep: log_pos.ep.clone(),
                off: 0,
            },
        };
        let resumed = since.and_then(|(ep, off)| inner.missed(ep, off, &pos));
        let attached = match (since, resumed) {
            (Some(_), Some(backlog)) => Attached {
                pos,
                recovered: Some(true),
                backlog,
            },
            (since, _) => Attached {
                pos,
                recovered: since.map(|_| false),
                backlog: match watch {
                    Watch::Live => inner.live_state.items(),
                    Watch::Delayed => inner.released_state.items(),
                },
            },
        };
        match watch {
            Watch::Live => inner.live.push(member),
            Watch::Delayed => inner.delayed.push(member),
        }
        attached
    }

    /// Where a member stands: the newest event it may have seen (live: taken in; delayed:
    /// released). `None` when it is not attached, or before the feed's first event.
    pub fn position_of(&self, member: &Arc<Membership>) -> Option<Position> {
        let inner = self.inner.lock();
        let upto = if inner.live.iter().any(|m| Arc::ptr_eq(m, member)) {
            inner.last.clone()
        } else if inner.delayed.iter().any(|m| Arc::ptr_eq(m, member)) {
            inner.released.clone()
        } else {
            None
        };
        upto.map(|(ep, off)| Position { ep, off })
    }

    pub fn detach(&self, member: &Arc<Membership>) {
        let mut inner = self.inner.lock();
        inner.live.retain(|m| !Arc::ptr_eq(m, member));
        inner.delayed.retain(|m| !Arc::ptr_eq(m, member));
    }
}

impl Inner {
    fn is_new(&self, event: &LogEvent) -> bool {
        match &self.last {
            None => true,
            Some((ep, off)) => **ep != *event.ep || event.off > *off,
        }
    }

    fn take(&mut self, event: Arc<LogEvent>) {
        if !self.is_new(&event) {
            return;
        }
        self.last = Some((event.ep.clone(), event.off));
        let kind = kind_of(&event);
        self.live_state.push(kind, event.clone());
        if self.recent.len() == RESUME_KEEP {
            if let Some(old) = self.recent.pop_front() {
                self.dropped = old.off;
            }
        }
        self.recent.push_back(event.clone());
        offer_all(&mut self.live, &event);
        self.queue.push(event.ts_ms, (kind, event));
    }

    fn release(&mut self, now_ms: u64) {
        for (kind, event) in self.queue.pop_due(now_ms) {
            self.released_state.push(kind, event.clone());
            self.released = Some((event.ep.clone(), event.off));
            offer_all(&mut self.delayed, &event);
        }
    }

    /// The events after `(ep, off)` up to `pos`, if the feed still holds all of them.
    fn missed(&self, ep: &str, off: u64, pos: &Position) -> Option<Vec<Arc<LogEvent>>> {
        if *pos.ep != *ep || off > pos.off || off < self.dropped {
            return None;
        }
        Some(
            self.recent
                .iter()
                .filter(|e| *e.ep == *ep && e.off > off && e.off <= pos.off)
                .cloned()
                .collect(),
        )
    }
}

/// Offers an event to members, forgetting those a moderator removed from the room: one pass
/// over the list, however many thousands watch.
fn offer_all(members: &mut Vec<Arc<Membership>>, event: &Arc<LogEvent>) {
    members.retain(|m| {
        if m.is_evicted() {
            return false;
        }
        m.offer(event);
        true
    });
}

/// This node's feeds, for the release ticker and the crowd counts. Each feed belongs to its
/// room's state on this node and goes with it; the registry only points at it.
#[derive(Default)]
pub struct Feeds {
    map: DashMap<Arc<str>, Weak<Feed>>,
}

impl Feeds {
    pub fn register(&self, feed: &Arc<Feed>) {
        self.map.insert(feed.room.clone(), Arc::downgrade(feed));
    }

    /// The feeds alive on this node.
    pub fn all(&self) -> Vec<Arc<Feed>> {
        let mut alive = Vec::with_capacity(self.map.len());
        self.map.retain(|_, weak| match weak.upgrade() {
            Some(feed) => {
                alive.push(feed);
                true
            }
            None => false,
        });
        alive
    }

    /// Releases every feed's due events. Runs every 10 ms: it walks the registry in place
    /// rather than collecting it, and leaves dropped feeds to [`Feeds::all`].
    pub fn release_due(&self, now_ms: u64) {
        for entry in self.map.iter() {
            if let Some(feed) = entry.value().upgrade() {
                feed.release(now_ms);
            }
        }
    }
}
