//! The Redis broker: one order per room across every node.
//!
//! Publishing runs one Lua script that assigns the room's next offset, appends the event to the
//! room's tail (a stream capped by count and trimmed by age) and publishes it. Each node holds
//! one pub/sub subscription per room with local members ([`subscriber`]), notices gaps by offset
//! and fills them from the tail before delivering later events.
//!
//! While Redis is unreachable the node keeps serving its own members through a local log with
//! an epoch of its own; when Redis is back, rooms that moved on without it are announced with
//! `room.reset` so their clients reload from the store.

mod idem;
mod sequencer;
mod subscriber;
pub mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::memory::{MemoryBroker, Retention};
use super::{Broker, BrokerError, EventDraft, EventSink, Position, PresenceDelta, ReadSince};
use crate::clock::now_ms;
use crate::hub::event::LogEvent;
use subscriber::{Command, Subscriber};
use wire::EventPayload;

/// Longest wait for one Redis command before the node treats Redis as down.
const OP_TIMEOUT: Duration = Duration::from_millis(1_500);
/// Most events one recovery read returns; further back is reported as not recovered.
const MAX_RECOVERY_EVENTS: u64 = 10_000;
/// A node is alive while its registry entry is younger than this.
const NODE_TTL: Duration = Duration::from_secs(10);

/// Redis keys and channels of one deployment, under a prefix (so tests and tenants can share
/// a server). Room keys carry the room in braces, keeping one room's keys in one cluster slot.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    fn log(&self, room: &str) -> [String; 3] {
        let base = format!("{}:log:{{{room}}}", self.prefix);
        [
            format!("{base}:ep"),
            format!("{base}:off"),
            format!("{base}:tail"),
        ]
    }

    pub fn channel(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }

    /// The room a channel belongs to.
    pub fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(":room:")
    }

    fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    fn presence(&self, room: &str) -> String {
        format!("{}:presence:{{{room}}}", self.prefix)
    }
}

/// A stream entry as XREVRANGE returns it: its id and its field/value pairs.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

struct Shared {
    keys: Keys,
    conn: ConnectionManager,
    publish: redis::Script,
    read: redis::Script,
    retention: Retention,
    node_id: Arc<str>,
    /// Serves local members while Redis is down.
    local: MemoryBroker,
    /// Rooms that published through the local log since Redis was last reachable.
    diverged: Mutex<HashSet<Arc<str>>>,
    sink: Arc<dyn EventSink>,
}

pub struct RedisBroker {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

fn new_epoch() -> String {
    let n: u64 = rand::random();
    format!("{:012x}", n & 0xffff_ffff_ffff)
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

async fn timed<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unavailable(e)),
        Err(_) => Err(unavailable("redis timed out")),
    }
}

impl RedisBroker {
    /// Connects (failing if Redis is unreachable now) and starts the subscriber and the node
    /// registry, which stop when `stop` is cancelled.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node_id: Arc<str>,
        sink: Arc<dyn EventSink>,
        retention: Retention,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Self, BrokerError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_max_delay(Duration::from_secs(2));
        let conn = timed(ConnectionManager::new_with_config(client.clone(), config)).await?;
        let shared = Arc::new(Shared {
            keys: Keys::new(prefix),
            conn,
            publish: redis::Script::new(include_str!("publish.lua")),
            read: redis::Script::new(include_str!("read.lua")),
            retention,
            node_id,
            local: MemoryBroker::new(sink.clone(), retention),
            diverged: Mutex::new(HashSet::new()),
            sink,
        });
        shared.clone().heartbeat().await?;
        let (commands, rx) = mpsc::channel(1024);
        tracker.spawn(Subscriber::new(shared.clone(), client, rx, stop.clone()).run());
        tracker.spawn(registry(shared.clone(), stop));
        Ok(Self { shared, commands })
    }
}

impl RedisBroker {
    /// Idempotency keys shared through this Redis, living `ttl`.
    pub fn shared_idem(&self, ttl: Duration) -> Arc<dyn crate::idem::SharedIdem> {
        Arc::new(idem::RedisIdem::new(
            self.shared.conn.clone(),
            &self.shared.keys.prefix,
            ttl,
        ))
    }
}

impl Shared {
    fn max_age_ms(&self) -> u64 {
        self.retention.max_age.as_millis() as u64
    }

    /// Reads the room's position and, when `since` is current and within reach, what came
    /// after it.
    async fn read(
        &self,
        room: &str,
        since: Option<(&str, u64)>,
    ) -> Result<(Position, Option<Vec<Arc<LogEvent>>>), BrokerError> {
        let mut conn = self.conn.clone();
        let (reader_ep, reader_off) = since.unwrap_or(("", 0));
        let mut invocation = self.read.prepare_invoke();
        for key in self.keys.log(room) {
            invocation.key(key);
        }
        invocation
            .arg(new_epoch())
            .arg(self.max_age_ms())
            .arg(reader_ep)
            .arg(reader_off)
            .arg(MAX_RECOVERY_EVENTS);
        let (ep, off, entries): (String, u64, Vec<StreamEntry>) =
            timed(invocation.invoke_async(&mut conn)).await?;
        let pos = Position {
            ep: Arc::from(ep.as_str()),
            off,
        };
        let Some((reader_ep, since)) = since else {
            return Ok((pos, None));
        };
        if reader_ep != ep || since > off {
            return Ok((pos, None));
        }
        let room: Arc<str> = Arc::from(room);
        let mut events = Vec::with_capacity(entries.len());
        for (_, fields) in entries.into_iter().rev() {
            match decode_entry(&room, &pos.ep, &fields) {
                Some(event) => events.push(Arc::new(event)),
                None => return Ok((pos, None)),
            }
        }
        // Exactly since+1 ..= off, or the tail no longer reaches back that far.
        let contiguous = events.len() as u64 == off - since
            && events
                .iter()
                .enumerate()
                .all(|(i, e)| e.off == since + 1 + i as u64);
        Ok((pos, contiguous.then_some(events)))
    }

    async fn heartbeat(self: Arc<Self>) -> Result<(), BrokerError> {
        let mut conn = self.conn.clone();
        let expires = now_ms() + NODE_TTL.as_millis() as u64;
        let _: () = timed(
            redis::cmd("ZADD")
                .arg(self.keys.nodes())
                .arg(expires)
                .arg(&*self.node_id)
                .query_async(&mut conn),
        )
        .await?;
        Ok(())
    }
}

/// Reads a stream entry (`o` offset, `p` payload) back into a log event.
fn decode_entry(room: &Arc<str>, ep: &Arc<str>, fields: &[(String, Vec<u8>)]) -> Option<LogEvent> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    };
    let off: u64 = std::str::from_utf8(field("o")?).ok()?.parse().ok()?;
    decode_event(room, ep, off, field("p")?)
}

pub(crate) fn decode_event(
    room: &Arc<str>,
    ep: &Arc<str>,
    off: u64,
    payload: &[u8],
) -> Option<LogEvent> {
    let payload: EventPayload = rmp_serde::from_slice(payload).ok()?;
    let draft = EventDraft {
        ev: payload.ev.into(),
        d: payload.d,
        ts_ms: payload.ts,
    };
    Some(LogEvent::new(room.clone(), ep.clone(), off, draft))
}

/// Keeps this node's registry entry fresh and forgets nodes that stopped refreshing theirs.
async fn registry(shared: Arc<Shared>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(NODE_TTL / 3);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                if let Err(e) = shared.clone().heartbeat().await {
                    tracing::debug!(error = %e, "node registry refresh failed");
                }
                let mut conn = shared.conn.clone();
                let _: Result<(), _> = timed(redis::cmd("ZREMRANGEBYSCORE").arg(shared.keys.nodes()).arg("-inf").arg(now_ms()).query_async(&mut conn)).await;
            }
        }
    }
    // Leave the registry on a clean stop so counts drop at once.
    let mut conn = shared.conn.clone();
    let _: Result<(), _> = timed(
        redis::cmd("ZREM")
            .arg(shared.keys.nodes())
            .arg(&*shared.node_id)
            .query_async(&mut conn),
    )
    .await;
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, room: &str, draft: EventDraft) -> Result<Arc<LogEvent>, BrokerError> {
        let s = &self.shared;
        let payload = EventPayload {
            ev: draft.ev.to_string(),
            d: draft.d.clone(),
            ts: draft.ts_ms,
        };
        let payload = rmp_serde::to_vec_named(&payload).map_err(unavailable)?;
        let mut invocation = s.publish.prepare_invoke();
        for key in s.keys.log(room) {
            invocation.key(key);
        }
        invocation
            .arg(s.keys.channel(room))
            .arg(new_epoch())
            .arg(s.retention.max_events)
            .arg(s.max_age_ms())
            .arg(payload);
        let mut conn = s.conn.clone();
        match timed(invocation.invoke_async::<(String, u64)>(&mut conn)).await {
            Ok((ep, off)) => Ok(Arc::new(LogEvent::new(
                Arc::from(room),
                Arc::from(ep.as_str()),
                off,
                draft,
            ))),
            Err(e) => {
                tracing::warn!(error = %e, room, "redis unavailable: delivering through the local log");
                s.diverged.lock().insert(Arc::from(room));
                s.local.publish(room, draft).await
            }
        }
    }

    async fn subscribe(&self, room: &str) -> Result<(), BrokerError> {
        let (done, subscribed) = oneshot::channel();
        self.commands
            .send(Command::Subscribe(Arc::from(room), done))
            .await
            .map_err(|_| unavailable("subscriber stopped"))?;
        subscribed
            .await
            .map_err(|_| unavailable("subscriber stopped"))
    }

    async fn unsubscribe(&self, room: &str) {
        let _ = self
            .commands
            .send(Command::Unsubscribe(Arc::from(room)))
            .await;
    }

    async fn position(&self, room: &str) -> Result<Position, BrokerError> {
        match self.shared.read(room, None).await {
            Ok((pos, _)) => Ok(pos),
            Err(_) => self.shared.local.position(room).await,
        }
    }

    async fn read_since(&self, room: &str, ep: &str, off: u64) -> Result<ReadSince, BrokerError> {
        match self.shared.read(room, Some((ep, off))).await {
            Ok((pos, Some(events))) => Ok(ReadSince::Events { pos, events }),
            Ok((pos, None)) => Ok(ReadSince::Lost { pos }),
            Err(_) => self.shared.local.read_since(room, ep, off).await,
        }
    }

    async fn presence(&self, room: &str, local_count: u64, delta: Option<&PresenceDelta>) -> u64 {
        let s = &self.shared;
        let mut conn = s.conn.clone();
        let key = s.keys.presence(room);
        let mut pipe = redis::pipe();
        if local_count > 0 {
            pipe.hset(&key, &*s.node_id, local_count).ignore();
            pipe.pexpire(&key, (NODE_TTL * 6).as_millis() as i64)
                .ignore();
        } else {
            pipe.hdel(&key, &*s.node_id).ignore();
        }
        if let Some(delta) = delta {
            match wire::presence_message(&s.node_id, delta) {
                Ok(msg) => {
                    pipe.publish(s.keys.channel(room), msg).ignore();
                }
                Err(e) => tracing::warn!(error = %e, "encoding a presence delta failed"),
            }
        }
        pipe.hgetall(&key);
        pipe.cmd("ZRANGEBYSCORE")
            .arg(s.keys.nodes())
            .arg(now_ms())
            .arg("+inf");
        let result: Result<(Vec<(String, u64)>, Vec<String>), _> =
            timed(pipe.query_async(&mut conn)).await;
        match result {
            Ok((counts, live)) => counts
                .iter()
                .filter(|(node, _)| live.contains(node))
                .map(|(_, n)| n)
                .sum(),
            Err(_) => local_count,
        }
    }

    async fn health(&self) -> Result<(), BrokerError> {
        let mut conn = self.shared.conn.clone();
        let _: String = timed(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
