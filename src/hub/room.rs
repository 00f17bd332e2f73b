//! One room on this node: its local members (a copy-on-write list, so fan-out reads it without
//! blocking joins) and its presence.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::event::LogEvent;
use super::gate::{Gate, Offer};
use super::presence::PresenceState;
use super::recent::RecentChat;
use crate::session::handle::SessionHandle;
use guildhall_protocol::close;

/// One connection's membership of one room.
pub struct Membership {
    pub session: Arc<SessionHandle>,
    pub gate: Gate,
    /// Set when the room removed this member (kicked or banned by a moderator, kicked from or
    /// leaving the guild, the guild disbanded); the session finds out on its next send there.
    evicted: AtomicBool,
}

impl Membership {
    pub fn new(session: Arc<SessionHandle>) -> Self {
        Self {
            session,
            gate: Gate::default(),
            evicted: AtomicBool::new(false),
        }
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    pub fn send_event(&self, event: &Arc<LogEvent>) {
        if self.session.hides_event(event) {
            return;
        }
        if let Some(frame) = event.frame(self.session.codec) {
            self.session.outbox.send(frame);
        }
    }

    pub(crate) fn offer(&self, event: &Arc<LogEvent>) {
        match self.gate.offer(event) {
            Offer::Deliver => self.send_event(event),
            Offer::Held => {}
            Offer::Overflow => self.session.close(close::SLOW_CONSUMER, "slow consumer"),
        }
    }
}

/// Who a room event removes from the room.
#[derive(Clone, Copy)]
enum Evict<'a> {
    User(&'a str),
    All,
}

fn evicts(event: &LogEvent) -> Option<Evict<'_>> {
    use guildhall_protocol::ev;
    match &*event.ev {
        ev::GUILD_MEMBER_KICKED | ev::GUILD_MEMBER_LEFT | ev::ROOM_KICKED => event
            .d
            .get("user")
            .and_then(|u| u.get("id"))
            .and_then(|id| id.as_str())
            .map(Evict::User),
        ev::GUILD_DISBANDED => Some(Evict::All),
        _ => None,
    }
}

pub struct RoomState {
    pub name: Arc<str>,
    members: ArcSwap<Vec<Arc<Membership>>>,
    pub presence: Mutex<PresenceState>,
    /// Set once this node's broker subscription for the room is live.
    pub subscribed: OnceCell<()>,
    /// The last chat messages, for joins.
    pub recent: Mutex<RecentChat>,
    /// Whether the room carries chat (a war or raid room carries scoreboards only): decided
    /// once from its name, not on every message.
    pub chat: bool,
    /// A war or raid room: its members get the scoreboard on join and resume.
    pub contest: bool,
    /// A stream's feed room: its events go through [`RoomState::feed`], delayed.
    pub feed_room: bool,
    /// The feed of a stream room, set by its first join on this node.
    pub feed: std::sync::OnceLock<Arc<super::feed::Feed>>,
}

impl RoomState {
    pub fn new(name: Arc<str>, recent_limit: usize) -> Self {
        use crate::domain::room::{RoomKind, RoomName};
        let kind = RoomName::parse(&name).ok().map(|r| r.kind);
        Self {
            chat: kind.is_some_and(|k| k.is_chat()),
            contest: matches!(kind, Some(RoomKind::War | RoomKind::Raid)),
            feed_room: kind == Some(RoomKind::Stream),
            feed: std::sync::OnceLock::new(),
            recent: Mutex::new(RecentChat::new(recent_limit)),
            name,
            members: ArcSwap::from_pointee(Vec::new()),
            presence: Mutex::new(PresenceState::default()),
            subscribed: OnceCell::new(),
        }
    }

    pub fn add(&self, member: Arc<Membership>) {
        let user = &member.session.user;
        self.presence.lock().join(&user.id, &user.name);
        self.members.rcu(|list| {
            let mut next = Vec::with_capacity(list.len() + 1);
            next.extend(list.iter().cloned());
            next.push(member.clone());
            next
        });
    }

    /// Removes a membership; true if it was there.
    pub fn remove(&self, member: &Arc<Membership>) -> bool {
        let mut found = false;
        self.members.rcu(|list| {
            found = list.iter().any(|m| Arc::ptr_eq(m, member));
            list.iter()
                .filter(|m| !Arc::ptr_eq(m, member))
                .cloned()
                .collect::<Vec<_>>()
        });
        if found {
            self.presence.lock().leave(&member.session.user.id);
        }
        found
    }

    pub fn is_empty(&self) -> bool {
        self.members.load().is_empty()
    }

    pub fn member_count(&self) -> usize {
        self.members.load().len()
    }

    /// Hands a log event to every local member. Encoding happens once per codec, inside
    /// the first member's send.
    pub fn fan_out(&self, event: &Arc<LogEvent>) {
        if event.ev == guildhall_protocol::ev::CHAT_MSG {
            match guildhall_protocol::ChatMsg::deserialize(&event.d) {
                Ok(msg) => self.recent.lock().observe(msg),
                Err(e) => tracing::warn!(error = %e, "a chat.msg event without a chat message"),
            }
        } else if event.ev == guildhall_protocol::ev::CHAT_DELETED {
            if let Some(id) = event.d.get("id").and_then(|id| id.as_u64()) {
                self.recent.lock().forget(id);
            }
        }
        for member in self.members.load().iter() {
            member.offer(event);
        }
        // Removals (a moderator's kick or ban, a guild's kick, leave or disband) end the removed
        // members' live view of the room on every node at once: each node sees the event in
        // its own copy of the log.
        if let Some(who) = evicts(event) {
            self.evict(who);
        }
    }

    /// Whether a user still has a connection in this room on this node.
    pub fn has_user(&self, user_id: &str) -> bool {
        self.members
            .load()
            .iter()
            .any(|m| &*m.session.user.id == user_id)
    }

    fn evict(&self, who: Evict<'_>) {
        let gone: Vec<Arc<Membership>> = self
            .members
            .load()
            .iter()
            .filter(|m| match who {
                Evict::All => true,
                Evict::User(id) => &*m.session.user.id == id,
            })
            .cloned()
            .collect();
        for member in gone {
            member.evicted.store(true, Ordering::Release);
            self.remove(&member);
        }
    }

    /// Sends a frame that must not be lost to every member (a full queue closes it with 4008).
    pub fn broadcast(
        &self,
        frame_for: impl Fn(&SessionHandle) -> Option<axum::extract::ws::Message>,
    ) {
        for member in self.members.load().iter() {
            if let Some(frame) = frame_for(&member.session) {
                member.session.outbox.send(frame);
            }
        }
    }

    /// Sends a frame whose loss is harmless to every member whose gate is open (a joining
    /// member gets its join reply first; the presence it misses is in the next batch's count).
    pub fn broadcast_droppable(
        &self,
        frame_for: impl Fn(&SessionHandle) -> Option<axum::extract::ws::Message>,
    ) {
        for member in self.members.load().iter().filter(|m| m.gate.is_open()) {
            if let Some(frame) = frame_for(&member.session) {
                member.session.outbox.send_droppable(frame);
            }
        }
    }
}
