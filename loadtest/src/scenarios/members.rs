//! Room members over either protocol: each has a reader task that records the latency of
//! every counted message; publishers also have a sender that publishes open-loop.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::gh::{self, Tokens, Ws};
use crate::socketio::{SioClient, SioReceiver, SioSender};
use crate::stats::Latency;
use crate::text::{now_us, stamp_in_json_push, stamp_of, stamped};

/// Where members report. Only messages stamped inside the window count, so warm-up and
/// stragglers from an earlier sweep step stay out of the figures.
pub struct Tally {
    window_start: AtomicU64,
    window_end: AtomicU64,
    latency: Mutex<Latency>,
    /// Every message seen, counted or not (for the progress display).
    pub seen: AtomicU64,
    /// Error replies and closed connections.
    pub errors: AtomicU64,
    pub closed: AtomicU64,
}

impl Tally {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            window_start: AtomicU64::new(u64::MAX),
            window_end: AtomicU64::new(u64::MAX),
            latency: Mutex::new(Latency::new()),
            seen: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            closed: AtomicU64::new(0),
        })
    }

    /// Counts messages stamped from now for `span`.
    pub fn open_window(&self, span: Duration) -> u64 {
        let start = now_us();
        self.window_end
            .store(start + span.as_micros() as u64, Ordering::Relaxed);
        self.window_start.store(start, Ordering::Relaxed);
        start
    }

    /// Records one message by its stamp (counted only inside the window).
    pub fn record_stamp(&self, stamp: u64) {
        self.record(stamp);
    }

    fn record(&self, stamp: u64) {
        self.seen.fetch_add(1, Ordering::Relaxed);
        let (start, end) = (
            self.window_start.load(Ordering::Relaxed),
            self.window_end.load(Ordering::Relaxed),
        );
        if stamp >= start && stamp < end {
            self.latency
                .lock()
                .record_us(now_us().saturating_sub(stamp));
        }
    }

    /// What was counted since the last take.
    pub fn take(&self) -> Latency {
        std::mem::take(&mut *self.latency.lock())
    }
}

/// What a target needs to make members.
#[derive(Clone)]
pub enum Target {
    Guildhall { url: String, tokens: Tokens },
    SocketIo { url: String },
}

pub enum Sender {
    Guildhall {
        sink: SplitSink<Ws, Message>,
        room: String,
        next_id: u64,
    },
    SocketIo {
        sender: SioSender,
        room: String,
    },
}

/// Connects member `n` to `room` and starts its reader; the sender half is returned.
pub async fn join(
    target: &Target,
    n: usize,
    source: Option<IpAddr>,
    room: &str,
    tally: &Arc<Tally>,
    stop: &CancellationToken,
) -> anyhow::Result<Sender> {
    match target {
        Target::Guildhall { url, tokens } => {
            let ws = gh::member(url, source, tokens, &format!("m{n}"), room).await?;
            let (sink, stream) = ws.split();
            tokio::spawn(read_guildhall(stream, tally.clone(), stop.clone()));
            Ok(Sender::Guildhall {
                sink,
                room: room.to_owned(),
                next_id: 100,
            })
        }
        Target::SocketIo { url } => {
            let mut client = SioClient::connect_from(url, source).await?;
            client.join(room).await?;
            let (sender, receiver) = client.split();
            tokio::spawn(read_socketio(receiver, tally.clone(), stop.clone()));
            Ok(Sender::SocketIo {
                sender,
                room: room.to_owned(),
            })
        }
    }
}

async fn read_guildhall(mut stream: SplitStream<Ws>, tally: Arc<Tally>, stop: CancellationToken) {
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return,
            m = stream.next() => m,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                let bytes = text.as_bytes();
                if bytes.starts_with(br#"{"ev":"chat.msg""#) {
                    if let Some(stamp) = stamp_in_json_push(bytes) {
                        tally.record(stamp);
                    }
                } else if memchr::memmem::find(bytes, br#""ok":false"#).is_some() {
                    tally.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                tally.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Some(Ok(_)) => {}
        }
    }
}

async fn read_socketio(mut receiver: SioReceiver, tally: Arc<Tally>, stop: CancellationToken) {
    loop {
        let message = tokio::select! {
            _ = stop.cancelled() => return,
            m = receiver.recv_msg() => m,
        };
        match message {
            Ok(Some(text)) => {
                if let Some(stamp) = stamp_of(text.as_bytes()) {
                    tally.record(stamp);
                }
            }
            Ok(None) | Err(_) => {
                tally.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

impl Sender {
    async fn send_due(&mut self, stamps: &[u64], size: usize) -> anyhow::Result<()> {
        match self {
            Sender::Guildhall {
                sink,
                room,
                next_id,
            } => {
                for &stamp in stamps {
                    *next_id += 1;
                    sink.feed(gh::chat_send(
                        *next_id,
                        room,
                        &stamped(stamp, *next_id, size),
                    ))
                    .await?;
                }
                sink.flush().await?;
            }
            Sender::SocketIo { sender, room } => {
                for (i, &stamp) in stamps.iter().enumerate() {
                    sender.chat(room, &stamped(stamp, i as u64, size)).await?;
                }
            }
        }
        Ok(())
    }
}

/// Publishes open-loop at `rate` messages/s until `until`: each message carries the time it
/// was meant to leave, so a stalled server shows up as latency instead of a slower sender
/// (no coordinated omission). `phase` (0..1) shifts this sender's schedule within one
/// interval, so many senders do not all fire at the same instant.
pub async fn publish(
    sender: &mut Sender,
    rate: f64,
    until: Instant,
    size: usize,
    phase: f64,
) -> anyhow::Result<u64> {
    if rate <= 0.0 {
        tokio::time::sleep_until(until.into()).await;
        return Ok(0);
    }
    let interval_us = 1_000_000.0 / rate;
    let offset = Duration::from_micros((phase.clamp(0.0, 1.0) * interval_us) as u64);
    tokio::time::sleep(offset.min(until.saturating_duration_since(Instant::now()))).await;
    let started = Instant::now();
    let start_us = now_us();
    let mut sent: u64 = 0;
    let mut due = Vec::new();
    while Instant::now() < until {
        let elapsed_us = started.elapsed().as_micros() as f64;
        let owed = (elapsed_us / interval_us) as u64 + 1;
        due.clear();
        while sent < owed {
            due.push(start_us + (sent as f64 * interval_us) as u64);
            sent += 1;
        }
        if !due.is_empty() {
            sender.send_due(&due, size).await?;
        }
        let next_us = sent as f64 * interval_us;
        let wait =
            Duration::from_micros((next_us - started.elapsed().as_micros() as f64).max(0.0) as u64);
        tokio::time::sleep(wait.min(until.saturating_duration_since(Instant::now()))).await;
    }
    Ok(sent)
}

/// Connects `count` members (at most `concurrency` handshakes at a time) to rooms chosen by
/// `room_of(n)`, numbering them from `first`; member `n` goes to `targets[n % targets.len()]`
/// (several nodes of a cluster).
pub async fn join_many(
    targets: &[Target],
    first: usize,
    count: usize,
    concurrency: usize,
    room_of: impl Fn(usize) -> String,
    tally: &Arc<Tally>,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<Sender>> {
    let results: Vec<anyhow::Result<Sender>> = futures::stream::iter(first..first + count)
        .map(|n| {
            let room = room_of(n);
            let target = &targets[n % targets.len().max(1)];
            async move { join(target, n, Some(gh::source_ip(n)), &room, tally, stop).await }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}
