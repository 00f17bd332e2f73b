//! The node's one pub/sub connection: subscribes to the rooms with local members, delivers
//! their events in offset order (filling gaps from the tail), reconnects with backoff and
//! resynchronises every room when it comes back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::sequencer::{Cursor, Step};
use super::wire::{self, ChannelMessage};
use super::{decode_event, Shared};
use crate::broker::PresenceDelta;

/// A room stays subscribed this long after its last local member leaves, so a member who
/// bounces straight back does not cost an unsubscribe and a resubscribe.
const LINGER: Duration = Duration::from_secs(2);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

pub enum Command {
    Subscribe(Arc<str>, oneshot::Sender<()>),
    Unsubscribe(Arc<str>),
}

struct RoomSub {
    /// None until the room's position has been read on this connection.
    cursor: Option<Cursor>,
    drop_at: Option<Instant>,
    /// The last resync could not read the log (Redis still coming back): try again.
    stale: bool,
}

impl RoomSub {
    fn new() -> Self {
        Self {
            cursor: None,
            drop_at: None,
            stale: false,
        }
    }
}

pub struct Subscriber {
    shared: Arc<Shared>,
    client: redis::Client,
    rooms: HashMap<Arc<str>, RoomSub>,
    commands: mpsc::Receiver<Command>,
    stop: CancellationToken,
}

/// Why the connected loop returned.
enum Exit {
    Stop,
    Disconnected,
}

impl Subscriber {
    pub fn new(
        shared: Arc<Shared>,
        client: redis::Client,
        commands: mpsc::Receiver<Command>,
        stop: CancellationToken,
    ) -> Self {
        Self {
            shared,
            client,
            rooms: HashMap::new(),
            commands,
            stop,
        }
    }

    pub async fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let connected = tokio::select! {
                _ = self.stop.cancelled() => return,
                c = tokio::time::timeout(Duration::from_secs(2), self.client.get_async_pubsub()) => c,
            };
            let (mut sink, mut stream) = match connected {
                Ok(Ok(pubsub)) => pubsub.split(),
                _ => {
                    if self.offline(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            if self.resubscribe(&mut sink).await.is_err() {
                continue;
            }
            backoff = BACKOFF_MIN;
            tracing::info!(rooms = self.rooms.len(), "redis subscriber connected");
            match self.connected(&mut sink, &mut stream).await {
                Exit::Stop => return,
                Exit::Disconnected => tracing::warn!("redis subscription lost; reconnecting"),
            }
        }
    }

    /// While Redis is down: rooms are recorded (subscribed on reconnect) and joins go on
    /// against the local log. True when the node is stopping.
    async fn offline(&mut self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return true,
                _ = tokio::time::sleep_until(until) => return false,
                command = self.commands.recv() => match command {
                    None => return true,
                    Some(Command::Subscribe(room, done)) => {
                        self.rooms.entry(room).or_insert_with(RoomSub::new).drop_at = None;
                        let _ = done.send(());
                    }
                    Some(Command::Unsubscribe(room)) => {
                        self.rooms.remove(&room);
                    }
                },
            }
        }
    }

    async fn resubscribe(&mut self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        let rooms: Vec<Arc<str>> = self.rooms.keys().cloned().collect();
        for room in &rooms {
            sink.subscribe(self.shared.keys.channel(room)).await?;
        }
        for room in &rooms {
            self.resync(room).await;
        }
        Ok(())
    }

    async fn connected(&mut self, sink: &mut PubSubSink, stream: &mut PubSubStream) -> Exit {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return Exit::Stop,
                command = self.commands.recv() => match command {
                    None => return Exit::Stop,
                    Some(Command::Subscribe(room, done)) => {
                        let result = self.subscribe(sink, room).await;
                        let _ = done.send(());
                        if result.is_err() {
                            return Exit::Disconnected;
                        }
                    }
                    Some(Command::Unsubscribe(room)) => {
                        if let Some(sub) = self.rooms.get_mut(&room) {
                            sub.drop_at = Some(Instant::now() + LINGER);
                        }
                    }
                },
                message = stream.next() => match message {
                    None => return Exit::Disconnected,
                    Some(message) => self.on_message(&message).await,
                },
                _ = tick.tick() => {
                    if self.drop_lingering(sink).await.is_err() {
                        return Exit::Disconnected;
                    }
                    let stale: Vec<Arc<str>> = self.rooms.iter().filter(|(_, s)| s.stale).map(|(r, _)| r.clone()).collect();
                    for room in stale {
                        self.resync(&room).await;
                    }
                }
            }
        }
    }

    async fn subscribe(&mut self, sink: &mut PubSubSink, room: Arc<str>) -> redis::RedisResult<()> {
        if let Some(sub) = self.rooms.get_mut(&room) {
            sub.drop_at = None;
            return Ok(());
        }
        self.rooms.insert(room.clone(), RoomSub::new());
        sink.subscribe(self.shared.keys.channel(&room)).await?;
        // Read the position only now: everything after it arrives on the subscription.
        self.resync(&room).await;
        Ok(())
    }

    async fn drop_lingering(&mut self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        let now = Instant::now();
        let expired: Vec<Arc<str>> = self
            .rooms
            .iter()
            .filter(|(_, sub)| sub.drop_at.is_some_and(|at| at <= now))
            .map(|(room, _)| room.clone())
            .collect();
        for room in expired {
            self.rooms.remove(&room);
            sink.unsubscribe(self.shared.keys.channel(&room)).await?;
        }
        Ok(())
    }

    /// Brings a room's cursor up to the log: delivers what was missed, or announces a reset
    /// when the log cannot account for the gap (Redis lost its data, or this node published
    /// through its local log meanwhile).
    async fn resync(&mut self, room: &Arc<str>) {
        let diverged = self.shared.diverged.lock().remove(room);
        let cursor = self.rooms.get(room).and_then(|s| s.cursor.clone());
        let since = cursor.as_ref().map(|c| (&*c.ep, c.last));
        let (pos, events) = match self.shared.read(room, since).await {
            Ok(read) => read,
            Err(e) => {
                tracing::debug!(error = %e, %room, "resync read failed; retrying");
                if diverged {
                    self.shared.diverged.lock().insert(room.clone());
                }
                if let Some(sub) = self.rooms.get_mut(room) {
                    sub.stale = true;
                }
                return;
            }
        };
        match (cursor, events) {
            (Some(_), Some(events)) => {
                for event in &events {
                    self.shared.sink.deliver(event);
                }
                if diverged {
                    self.shared.sink.reset(room, &pos);
                }
            }
            (Some(_), None) => self.shared.sink.reset(room, &pos),
            (None, _) if diverged => self.shared.sink.reset(room, &pos),
            (None, _) => {}
        }
        if let Some(sub) = self.rooms.get_mut(room) {
            sub.cursor = Some(Cursor {
                ep: pos.ep,
                last: pos.off,
            });
            sub.stale = false;
        }
    }

    async fn on_message(&mut self, message: &redis::Msg) {
        let Ok(channel) = std::str::from_utf8(message.get_channel_name().as_bytes()) else {
            return;
        };
        let Some(room) = self.shared.keys.room_of(channel) else {
            return;
        };
        let Some((room, sub)) = self.rooms.get_key_value(room) else {
            return;
        };
        let room = room.clone();
        match wire::parse(message.get_payload_bytes()) {
            Some(ChannelMessage::Event { ep, off, payload }) => {
                let Some(cursor) = sub.cursor.clone() else {
                    return;
                };
                match cursor.step(ep, off) {
                    Step::Duplicate => {}
                    Step::Deliver => self.deliver(&room, &cursor.ep, off, payload),
                    Step::Gap | Step::NewEpoch => {
                        // The tail has this event too: resync delivers it with the missing ones.
                        self.resync(&room).await;
                    }
                }
            }
            Some(ChannelMessage::Presence { node, payload }) => {
                if node == &*self.shared.node_id {
                    return;
                }
                match rmp_serde::from_slice::<PresenceDelta>(payload) {
                    Ok(delta) => self.shared.sink.remote_presence(&room, delta),
                    Err(e) => tracing::warn!(error = %e, "bad presence message"),
                }
            }
            None => tracing::warn!(channel, "unreadable message on a room channel"),
        }
    }

    fn deliver(&mut self, room: &Arc<str>, ep: &Arc<str>, off: u64, payload: &[u8]) {
        let Some(event) = decode_event(room, ep, off, payload) else {
            tracing::warn!(%room, off, "undecodable event");
            return;
        };
        self.shared.sink.deliver(&Arc::new(event));
        if let Some(cursor) = self.rooms.get_mut(room).and_then(|s| s.cursor.as_mut()) {
            cursor.last = off;
        }
    }
}
