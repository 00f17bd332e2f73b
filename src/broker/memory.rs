//! The in-process broker: one node, offsets and tails in memory. A restart starts new epochs,
//! so clients resuming across it are told `recovered: false`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use parking_lot::Mutex;

use super::{Broker, BrokerError, EventDraft, EventSink, Position, PresenceDelta, ReadSince};
use crate::clock::now_ms;
use crate::hub::event::LogEvent;

/// How long the tail of each room is kept: whichever bound is smaller wins.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub max_events: usize,
    pub max_age: Duration,
}

struct RoomLog {
    ep: Arc<str>,
    last_off: u64,
    tail: VecDeque<Arc<LogEvent>>,
    touched_ms: u64,
}

impl RoomLog {
    fn new(now: u64) -> Self {
        Self {
            ep: new_epoch(),
            last_off: 0,
            tail: VecDeque::new(),
            touched_ms: now,
        }
    }

    fn trim(&mut self, retention: &Retention, now: u64) {
        let max_age_ms = retention.max_age.as_millis() as u64;
        while self.tail.len() > retention.max_events
            || self
                .tail
                .front()
                .is_some_and(|e| now.saturating_sub(e.ts_ms) > max_age_ms)
        {
            self.tail.pop_front();
        }
    }

    fn position(&self) -> Position {
        Position {
            ep: self.ep.clone(),
            off: self.last_off,
        }
    }
}

/// A short random epoch name: new for every log this process creates.
fn new_epoch() -> Arc<str> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let bytes: [u8; 6] = rand::random();
    bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect::<String>()
        .into()
}

pub struct MemoryBroker {
    logs: DashMap<Arc<str>, Arc<Mutex<RoomLog>>>,
    sink: Arc<dyn EventSink>,
    retention: Retention,
}

impl MemoryBroker {
    pub fn new(sink: Arc<dyn EventSink>, retention: Retention) -> Self {
        Self {
            logs: DashMap::new(),
            sink,
            retention,
        }
    }

    fn log(&self, room: &str) -> Arc<Mutex<RoomLog>> {
        if let Some(log) = self.logs.get(room) {
            return log.clone();
        }
        self.logs
            .entry(Arc::from(room))
            .or_insert_with(|| Arc::new(Mutex::new(RoomLog::new(now_ms()))))
            .clone()
    }

    /// Forgets logs untouched for longer than the retention age: their tails are empty anyway.
    pub fn sweep(&self) {
        let now = now_ms();
        let max_age_ms = self.retention.max_age.as_millis() as u64;
        self.logs.retain(|_, log| {
            let mut log = log.lock();
            log.trim(&self.retention, now);
            !(log.tail.is_empty() && now.saturating_sub(log.touched_ms) > max_age_ms)
        });
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, room: &str, draft: EventDraft) -> Result<Arc<LogEvent>, BrokerError> {
        let log = self.log(room);
        let mut log = log.lock();
        log.last_off += 1;
        log.touched_ms = draft.ts_ms;
        let event = Arc::new(LogEvent::new(
            Arc::from(room),
            log.ep.clone(),
            log.last_off,
            draft,
        ));
        log.tail.push_back(event.clone());
        log.trim(&self.retention, event.ts_ms);
        // Delivering under the room's lock is what makes delivery order equal offset order; the
        // sink only does non-blocking queue pushes.
        self.sink.deliver(&event);
        Ok(event)
    }

    async fn subscribe(&self, _room: &str) -> Result<(), BrokerError> {
        // Every event is handed to the sink already; it ignores rooms without local members.
        Ok(())
    }

    async fn unsubscribe(&self, _room: &str) {}

    async fn position(&self, room: &str) -> Result<Position, BrokerError> {
        let log = self.log(room);
        let mut log = log.lock();
        log.touched_ms = now_ms();
        Ok(log.position())
    }

    async fn read_since(&self, room: &str, ep: &str, off: u64) -> Result<ReadSince, BrokerError> {
        let log = self.log(room);
        let mut log = log.lock();
        let now = now_ms();
        log.touched_ms = now;
        log.trim(&self.retention, now);
        let pos = log.position();
        if &*log.ep != ep || off > log.last_off {
            return Ok(ReadSince::Lost { pos });
        }
        if off == log.last_off {
            return Ok(ReadSince::Events {
                pos,
                events: Vec::new(),
            });
        }
        // The tail must hold the very next event the client lacks.
        match log.tail.front() {
            Some(first) if first.off <= off + 1 => {
                let skip = (off + 1 - first.off) as usize;
                let events = log.tail.iter().skip(skip).cloned().collect();
                Ok(ReadSince::Events { pos, events })
            }
            _ => Ok(ReadSince::Lost { pos }),
        }
    }

    async fn presence(&self, _room: &str, local_count: u64, _delta: Option<&PresenceDelta>) -> u64 {
        local_count
    }

    async fn health(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Default)]
    struct Collect(Mutex<Vec<u64>>);

    impl EventSink for Collect {
        fn deliver(&self, event: &Arc<LogEvent>) {
            self.0.lock().push(event.off);
        }
        fn reset(&self, _room: &str, _pos: &Position) {}
        fn remote_presence(&self, _room: &str, _delta: PresenceDelta) {}
    }

    fn draft(n: u64) -> EventDraft {
        EventDraft {
            ev: Cow::Borrowed("test"),
            d: serde_json::json!({ "n": n }),
            ts_ms: now_ms(),
        }
    }

    fn broker(max_events: usize) -> (MemoryBroker, Arc<Collect>) {
        let sink = Arc::new(Collect::default());
        let retention = Retention {
            max_events,
            max_age: Duration::from_secs(3600),
        };
        (MemoryBroker::new(sink.clone(), retention), sink)
    }

    fn offsets(read: ReadSince) -> Option<Vec<u64>> {
        match read {
            ReadSince::Events { events, .. } => Some(events.iter().map(|e| e.off).collect()),
            ReadSince::Lost { .. } => None,
        }
    }

    #[tokio::test]
    async fn offsets_are_dense_and_delivered_in_order() {
        let (b, sink) = broker(100);
        for n in 1..=5 {
            assert_eq!(b.publish("chan:a", draft(n)).await.expect("publish").off, n);
        }
        assert_eq!(b.publish("chan:b", draft(1)).await.expect("publish").off, 1);
        assert_eq!(*sink.0.lock(), vec![1, 2, 3, 4, 5, 1]);
    }

    #[tokio::test]
    async fn reads_exactly_what_was_missed() {
        let (b, _) = broker(100);
        let ep = b.position("chan:a").await.expect("pos").ep;
        for n in 1..=10 {
            b.publish("chan:a", draft(n)).await.expect("publish");
        }
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 7).await.expect("read")),
            Some(vec![8, 9, 10])
        );
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 10).await.expect("read")),
            Some(vec![])
        );
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 0).await.expect("read")).map(|v| v.len()),
            Some(10)
        );
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 11).await.expect("read")),
            None,
            "future offset"
        );
        assert_eq!(
            offsets(b.read_since("chan:a", "other", 7).await.expect("read")),
            None,
            "old epoch"
        );
    }

    #[tokio::test]
    async fn lost_beyond_the_tail() {
        let (b, _) = broker(3);
        let ep = b.position("chan:a").await.expect("pos").ep;
        for n in 1..=10 {
            b.publish("chan:a", draft(n)).await.expect("publish");
        }
        // The tail holds 8, 9, 10: from 7 on is recoverable, from 6 is not.
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 7).await.expect("read")),
            Some(vec![8, 9, 10])
        );
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 6).await.expect("read")),
            None
        );
    }

    #[tokio::test]
    async fn old_events_age_out() {
        let sink = Arc::new(Collect::default());
        let b = MemoryBroker::new(
            sink,
            Retention {
                max_events: 100,
                max_age: Duration::from_millis(0),
            },
        );
        let ep = b.position("chan:a").await.expect("pos").ep;
        let mut old = draft(1);
        old.ts_ms -= 10;
        b.publish("chan:a", old).await.expect("publish");
        assert_eq!(
            offsets(b.read_since("chan:a", &ep, 0).await.expect("read")),
            None
        );
    }
}
