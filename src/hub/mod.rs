//! This node's registry of rooms and their local members, and the fan-out of room events.
//!
//! The broker hands each event to [`Rooms::deliver`] once; the room's member list is read
//! without locks and the event is encoded once per codec, then queued to each member.

pub mod event;
pub mod feed;
pub mod gate;
pub mod presence;
pub mod recent;
pub mod room;

use std::borrow::Cow;
use std::sync::Arc;

use dashmap::DashMap;
use guildhall_protocol::{ev, Presence, Push, RoomReset};

use crate::broker::{
    Broker, BrokerError, EventDraft, EventSink, Position, PresenceDelta, ReadSince,
};
use crate::clock::now_ms;
use crate::domain::stream::Watch;
use crate::metrics::Metrics;
use crate::session::handle::SessionHandle;
use event::{FrameCache, LogEvent};
use feed::{Feed, Feeds};
use room::{Membership, RoomState};

/// Steps a joiner's state keeps when a game publishes no ticks.
const FEED_STATE_CAP: usize = 10_000;

/// Receives the events of the node's system rooms (`sys:*`): logs no client joins, that
/// carry state every node keeps (moderation).
pub trait SystemListener: Send + Sync + 'static {
    fn event(&self, event: &LogEvent);
    /// The room's log restarted: reload what it carried from the store.
    fn reset(&self, room: &str);
}

/// The prefix of system room names; clients cannot name them (no such room kind).
pub const SYSTEM_PREFIX: &str = "sys:";

/// The rooms with members on this node.
pub struct Rooms {
    map: DashMap<Arc<str>, Arc<RoomState>>,
    metrics: Arc<Metrics>,
    /// Chat messages each room keeps in memory for joins.
    recent_limit: usize,
    /// Who hears each system room.
    system: DashMap<Arc<str>, Arc<dyn SystemListener>>,
    /// The stream feeds on this node.
    pub feeds: Feeds,
}

impl Rooms {
    pub fn new(metrics: Arc<Metrics>, recent_limit: usize) -> Self {
        Self {
            map: DashMap::new(),
            metrics,
            recent_limit,
            system: DashMap::new(),
            feeds: Feeds::default(),
        }
    }

    /// Sets who hears a system room; once per room, at start.
    pub fn set_system_listener(&self, room: &str, listener: Arc<dyn SystemListener>) {
        if self.system.insert(Arc::from(room), listener).is_some() {
            tracing::warn!(room, "a system listener was replaced");
        }
    }

    fn system_listener(&self, room: &str) -> Option<Arc<dyn SystemListener>> {
        self.system.get(room).map(|l| l.value().clone())
    }

    /// Rooms with local members and their local member count, for the moderator console.
    pub fn live(&self) -> Vec<(Arc<str>, usize)> {
        self.map
            .iter()
            .map(|r| (r.key().clone(), r.value().member_count()))
            .collect()
    }

    fn add(&self, name: &str, member: Arc<Membership>) -> Arc<RoomState> {
        // Adding under the map's entry lock pairs with `remove_if` below: a room is never
        // dropped while a member is being added to it.
        let entry = self
            .map
            .entry(Arc::from(name))
            .or_insert_with(|| Arc::new(RoomState::new(Arc::from(name), self.recent_limit)));
        entry.add(member);
        let room = entry.clone();
        drop(entry);
        self.metrics.rooms.set(self.map.len() as f64);
        room
    }

    /// Removes a membership; true when the room has no local member left and was dropped.
    fn remove(&self, room: &RoomState, member: &Arc<Membership>) -> bool {
        room.remove(member);
        let dropped = self
            .map
            .remove_if(&*room.name, |_, r| r.is_empty())
            .is_some();
        self.metrics.rooms.set(self.map.len() as f64);
        dropped
    }

    pub fn get(&self, name: &str) -> Option<Arc<RoomState>> {
        self.map.get(name).map(|r| r.clone())
    }
}

impl EventSink for Rooms {
    fn deliver(&self, event: &Arc<LogEvent>) {
        if event.room.starts_with(SYSTEM_PREFIX) {
            if let Some(system) = self.system_listener(&event.room) {
                system.event(event);
            }
            return;
        }
        if let Some(room) = self.get(&event.room) {
            if room.feed_room && event.ev == ev::STREAM_EVENT {
                // A feed's events reach members only through the feed, delayed. Before the
                // feed exists nothing is subscribed for it, so nothing is missed here.
                if let Some(feed) = room.feed.get() {
                    feed.deliver(event, now_ms());
                }
                return;
            }
            room.fan_out(event);
        }
    }

    fn reset(&self, room: &str, pos: &Position) {
        if room.starts_with(SYSTEM_PREFIX) {
            if let Some(system) = self.system_listener(room) {
                system.reset(room);
            }
            return;
        }
        let Some(state) = self.get(room) else { return };
        tracing::info!(room, ep = %pos.ep, off = pos.off, "room log reset");
        let reset = RoomReset {
            ep: pos.ep.to_string(),
            off: pos.off,
        };
        let frames = FrameCache::default();
        state.broadcast(|session| {
            frames.get(session.codec, || Push {
                ev: Cow::Borrowed(ev::ROOM_RESET),
                room: Some(Cow::Borrowed(room)),
                ep: Some(Cow::Borrowed(&*pos.ep)),
                off: Some(pos.off),
                d: &reset,
            })
        });
    }

    fn remote_presence(&self, room: &str, delta: PresenceDelta) {
        if let Some(state) = self.get(room) {
            state.presence.lock().remote(delta);
        }
    }
}

/// A membership added but not yet live: its reply goes out first, then [`PendingJoin::open`]
/// queues the missed events and opens the gate to live ones.
pub struct PendingJoin {
    pub membership: Arc<Membership>,
    pub room: Arc<RoomState>,
    pub pos: Position,
    /// `None` when no position was asked to resume from.
    pub recovered: Option<bool>,
    backlog: Vec<Arc<LogEvent>>,
}

impl PendingJoin {
    pub fn open(self) -> Joined {
        let member = &self.membership;
        for event in &self.backlog {
            member.send_event(event);
        }
        member
            .gate
            .open(self.pos.off, |event| member.send_event(event));
        Joined {
            membership: self.membership,
            room: self.room,
        }
    }
}

/// A live membership, kept by the session so it can leave.
pub struct Joined {
    pub membership: Arc<Membership>,
    pub room: Arc<RoomState>,
}

/// Rooms plus the broker: what services call to join, leave and publish.
pub struct Hub {
    pub rooms: Arc<Rooms>,
    pub broker: Arc<dyn Broker>,
}

impl Hub {
    pub fn new(rooms: Arc<Rooms>, broker: Arc<dyn Broker>) -> Self {
        Self { rooms, broker }
    }

    /// Adds a session to a room with its gate closed and reads where the log stands, or what
    /// the session missed since `since`.
    pub async fn join(
        &self,
        session: &Arc<SessionHandle>,
        room: &str,
        since: Option<(&str, u64)>,
    ) -> Result<PendingJoin, BrokerError> {
        let membership = Arc::new(Membership::new(session.clone()));
        let state = self.rooms.add(room, membership.clone());
        match self.read_position(&state, since).await {
            Ok((pos, recovered, backlog)) => Ok(PendingJoin {
                membership,
                room: state,
                pos,
                recovered,
                backlog,
            }),
            Err(e) => {
                self.leave_room(&state, &membership).await;
                Err(e)
            }
        }
    }

    /// This node's subscription to a room, made once. Joins subscribe before they read: every
    /// event is then either in what they read or delivered live (or both, and the gate or the
    /// feed drops the repeat).
    async fn subscribe(&self, state: &RoomState) -> Result<(), BrokerError> {
        state
            .subscribed
            .get_or_try_init(|| self.broker.subscribe(&state.name))
            .await
            .map(|_| ())
    }

    async fn read_position(
        &self,
        state: &RoomState,
        since: Option<(&str, u64)>,
    ) -> Result<(Position, Option<bool>, Vec<Arc<LogEvent>>), BrokerError> {
        self.subscribe(state).await?;
        Ok(match since {
            None => (self.broker.position(&state.name).await?, None, Vec::new()),
            Some((ep, off)) => match self.broker.read_since(&state.name, ep, off).await? {
                ReadSince::Events { pos, events } => (pos, Some(true), events),
                ReadSince::Lost { pos } => (pos, Some(false), Vec::new()),
            },
        })
    }

    /// Adds a session to a stream's feed room with its gate closed: a live watcher stands at
    /// the newest event, a delayed one at the newest released to it. The first join on this
    /// node builds the feed from `history` (the stored events) and the log's tail.
    pub async fn join_feed(
        &self,
        session: &Arc<SessionHandle>,
        room: &str,
        since: Option<(&str, u64)>,
        watch: Watch,
        delay_ms: u64,
        history: impl std::future::Future<Output = Result<Vec<Arc<LogEvent>>, BrokerError>>,
    ) -> Result<PendingJoin, BrokerError> {
        let membership = Arc::new(Membership::new(session.clone()));
        let state = self.rooms.add(room, membership.clone());
        let feed = state
            .feed
            .get_or_init(|| {
                let feed = Arc::new(Feed::new(state.name.clone(), delay_ms, FEED_STATE_CAP));
                self.rooms.feeds.register(&feed);
                feed
            })
            .clone();
        let ready = async {
            self.subscribe(&state).await?;
            feed.built
                .get_or_try_init(|| self.build_feed(&feed, history))
                .await?;
            self.broker.position(&state.name).await
        };
        match ready.await {
            Ok(log_pos) => {
                let attached = feed.attach(membership.clone(), watch, since, &log_pos);
                Ok(PendingJoin {
                    membership,
                    room: state,
                    pos: attached.pos,
                    recovered: attached.recovered,
                    backlog: attached.backlog,
                })
            }
            Err(e) => {
                self.leave_room(&state, &membership).await;
                Err(e)
            }
        }
    }

    async fn build_feed(
        &self,
        feed: &Feed,
        history: impl std::future::Future<Output = Result<Vec<Arc<LogEvent>>, BrokerError>>,
    ) -> Result<(), BrokerError> {
        let mut events = history.await?;
        // What was published but is not stored yet is in the log's tail.
        let pos = self.broker.position(&feed.room).await?;
        let from = events
            .last()
            .filter(|e| *e.ep == *pos.ep)
            .map_or(0, |e| e.off);
        if from < pos.off {
            match self.broker.read_since(&feed.room, &pos.ep, from).await? {
                ReadSince::Events { events: tail, .. } => {
                    events.extend(tail.into_iter().filter(|e| e.ev == ev::STREAM_EVENT))
                }
                ReadSince::Lost { .. } => {
                    tracing::warn!(room = %feed.room, from, "the log's tail no longer reaches the stored events")
                }
            }
        }
        feed.finish_build(events, now_ms());
        Ok(())
    }

    pub async fn leave(&self, joined: &Joined) {
        self.leave_room(&joined.room, &joined.membership).await;
    }

    async fn leave_room(&self, room: &RoomState, membership: &Arc<Membership>) {
        if let Some(feed) = room.feed.get() {
            feed.detach(membership);
        }
        if self.rooms.remove(room, membership) {
            // The room is gone from this node, and with it the presence ticker's view of it:
            // announce the last leave to the other nodes now.
            let batch = room.presence.lock().take_batch();
            if room.feed_room {
                // Feed rooms announce counts, not lists.
                self.broker.presence(&room.name, 0, None).await;
            } else if let Some(local) = batch.and_then(|b| b.local) {
                self.broker.presence(&room.name, 0, Some(&local)).await;
            }
            self.broker.unsubscribe(&room.name).await;
        }
    }

    /// A feed room's spectators across the cluster, recording this node's count.
    pub async fn feed_count(&self, room: &RoomState) -> u64 {
        let local = room.presence.lock().count();
        self.broker.presence(&room.name, local, None).await
    }

    pub async fn publish(
        &self,
        room: &str,
        draft: EventDraft,
    ) -> Result<Arc<LogEvent>, BrokerError> {
        self.broker.publish(room, draft).await
    }

    pub async fn position(&self, room: &str) -> Result<Position, BrokerError> {
        self.broker.position(room).await
    }

    /// Where a member stands in its room: the log's newest event, or, in a stream's feed room,
    /// the newest its feed gave it (never newer; the log's start before the first).
    pub async fn position_of(&self, joined: &Joined) -> Result<Position, BrokerError> {
        let Some(feed) = joined.room.feed.get() else {
            return self.broker.position(&joined.room.name).await;
        };
        match feed.position_of(&joined.membership) {
            Some(pos) => Ok(pos),
            None => {
                let mut start = self.broker.position(&joined.room.name).await?;
                start.off = 0;
                Ok(start)
            }
        }
    }

    /// Sends each room's batched presence change, if any, with the room's count across the
    /// cluster, to its local members.
    pub async fn flush_presence(&self) {
        let rooms: Vec<Arc<RoomState>> = self.rooms.map.iter().map(|r| r.clone()).collect();
        for room in rooms {
            let Some(batch) = room.presence.lock().take_batch() else {
                continue;
            };
            if room.feed_room {
                // Thousands watch a stream: they get its count (`stream.crowd`), not who came
                // and went.
                continue;
            }
            let count = self
                .broker
                .presence(&room.name, batch.local_count, batch.local.as_ref())
                .await;
            let presence = Presence {
                joined: batch.all.joined,
                left: batch.all.left,
                count,
            };
            let frames = FrameCache::default();
            room.broadcast_droppable(|session| {
                frames.get(session.codec, || Push {
                    ev: Cow::Borrowed(ev::ROOM_PRESENCE),
                    room: Some(Cow::Borrowed(&*room.name)),
                    ep: None,
                    off: None,
                    d: &presence,
                })
            });
        }
    }
}
