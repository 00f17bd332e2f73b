//! A worker process: joins its share of the spectators to the stream's room on one node,
//! then reads their feeds and counts what they get.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::Args;
use futures::StreamExt;
use memchr::memmem;
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use super::accounting::{max_open_files, Counts, OffTracker};
use super::protocol::{emit, Down, Up, PROGRESS_EVERY};
use crate::cli::Common;
use crate::gh::{self, Ws};
use crate::stats::Latency;
use crate::text::{now_us, number_after, number_after_found};

/// A worker's part (started by `spectate`).
#[derive(Clone, Debug, Args)]
pub struct WorkerArgs {
    #[arg(long)]
    pub node_url: String,
    /// The stream's room, `stream:<id>`.
    #[arg(long)]
    pub room: String,
    /// The first spectator's number: users are `spectator<n>`, and `n` picks the source
    /// address (127.0.0.1 .. 127.0.0.250).
    #[arg(long)]
    pub first: usize,
    #[arg(long)]
    pub count: usize,
    #[arg(long)]
    pub join_batch: usize,
    #[arg(long)]
    pub join_rate: f64,
    #[arg(long)]
    pub delay_s: u32,
}

/// One spectator's connect, `hello` and `room.join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Rounds of joins: the failures of one are tried again in the next.
pub(super) const JOIN_ROUNDS: u32 = 4;
/// Open files a worker needs besides its sockets (stdio, epoll, the runtime's pipes).
const SPARE_FILES: u64 = 64;
/// A spectator's read buffer: pushes are a few hundred bytes, and tungstenite zero-fills
/// the free part of the buffer before every read.
const SPECTATOR_READ_BUFFER: usize = 2 * 1024;

/// How every `stream.event` push starts: the server serialises a push's `ev` first (the first
/// field of its `Push`), so the event is known without searching the frame.
const EVENT_START: &[u8] = br#"{"ev":"stream.event""#;
const EV_CROWD: &[u8] = br#""ev":"stream.crowd""#;
const KEY_OFF: &[u8] = br#""off":"#;
/// The intended send time (µs since the epoch) inside a move's payload.
const KEY_STAMP: &[u8] = br#""lt_us":"#;
const KEY_VIEWERS: &[u8] = br#""viewers":"#;
const REFUSED: &[u8] = br#""ok":false"#;

/// The searches every push goes through, built once.
struct Finders {
    crowd: memmem::Finder<'static>,
    refused: memmem::Finder<'static>,
    off: memmem::Finder<'static>,
    stamp: memmem::Finder<'static>,
}

static FINDERS: LazyLock<Finders> = LazyLock::new(|| Finders {
    crowd: memmem::Finder::new(EV_CROWD),
    refused: memmem::Finder::new(REFUSED),
    off: memmem::Finder::new(KEY_OFF),
    stamp: memmem::Finder::new(KEY_STAMP),
});

/// Everything a worker's spectators report to, behind one lock (the worker has one thread).
struct Feed {
    /// `[start, end)` of intended times that count; empty until the parent names it.
    window: (u64, u64),
    /// `[start, end)` of receipt times whose pushes are counted in `in_span`.
    span: (u64, u64),
    delay_us: u64,
    latency: Latency,
    /// By spectator (less the worker's first); None for one that never joined.
    trackers: Vec<Option<OffTracker>>,
    counts: Counts,
}

impl Feed {
    fn on_frame(&mut self, spectator: usize, frame: &[u8], now: u64) {
        if frame.starts_with(EVENT_START) {
            self.counts.seen += 1;
            if now >= self.span.0 && now < self.span.1 {
                self.counts.in_span += 1;
            }
            let (Some(off), Some(stamp)) = (
                number_after_found(frame, &FINDERS.off),
                number_after_found(frame, &FINDERS.stamp),
            ) else {
                self.counts.other_events += 1;
                return;
            };
            let (start, end) = self.window;
            if stamp < start || stamp >= end {
                return;
            }
            self.counts.delivered += 1;
            self.latency
                .record_us(now.saturating_sub(stamp.saturating_add(self.delay_us)));
            if let Some(Some(tracker)) = self.trackers.get_mut(spectator) {
                tracker.observe(off);
            }
        } else if FINDERS.crowd.find(frame).is_some() {
            self.counts.crowd_pushes += 1;
            if let Some(viewers) = number_after(frame, KEY_VIEWERS) {
                if now >= self.counts.crowd_at_us {
                    self.counts.crowd_viewers = Some(viewers);
                    self.counts.crowd_at_us = now;
                }
            }
        } else if FINDERS.refused.find(frame).is_some() {
            self.counts.errors += 1;
        }
    }

    fn closed(&mut self, reason: String) {
        self.counts.closed += 1;
        *self.counts.close_reasons.entry(reason).or_default() += 1;
    }

    fn finish(&mut self, expected: u64) -> anyhow::Result<Counts> {
        let mut counts = self.counts.clone();
        for tracker in self.trackers.iter().flatten() {
            let missing = tracker.missing(expected);
            counts.missing += missing;
            counts.incomplete += u64::from(missing > 0);
            counts.out_of_order += tracker.out_of_order;
            counts.gaps += tracker.gaps;
        }
        counts.latency = self.latency.encode()?;
        Ok(counts)
    }
}

/// Reads one spectator's pushes until its connection ends.
async fn watch(mut ws: Ws, spectator: usize, feed: Arc<Mutex<Feed>>) {
    let reason = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                feed.lock().on_frame(spectator, text.as_bytes(), now_us())
            }
            Some(Ok(Message::Close(frame))) => {
                break frame.map_or_else(
                    || "close without a code".to_string(),
                    |f| format!("close {}", u16::from(f.code)),
                );
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break format!("error: {e}"),
            None => break "end of stream".to_string(),
        }
    };
    feed.lock().closed(reason);
}

/// A worker: joins its spectators to the stream's room on one node, then counts what they get.
pub async fn worker(common: &Common, args: &WorkerArgs) -> anyhow::Result<()> {
    if let Some(limit) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .as_deref()
        .and_then(max_open_files)
    {
        ensure!(
            args.count as u64 + SPARE_FILES <= limit,
            "{} spectators need {} open files and this process may hold {limit}: \
             run `ulimit -n 20000` first, or lower --per-worker",
            args.count,
            args.count as u64 + SPARE_FILES
        );
    }
    let tokens = crate::scenarios::tokens(common);
    let feed = Arc::new(Mutex::new(Feed {
        window: (u64::MAX, u64::MAX),
        span: (u64::MAX, u64::MAX),
        delay_us: u64::from(args.delay_s) * 1_000_000,
        latency: Latency::new(),
        trackers: vec![None; args.count],
        counts: Counts::default(),
    }));

    let started = Instant::now();
    let mut pending: Vec<usize> = (0..args.count).collect();
    let mut joined = 0u64;
    let mut first_error = None;
    for round in 0..JOIN_ROUNDS {
        let mut failed = Vec::new();
        for batch in pending.chunks(args.join_batch.max(1)) {
            let batch_started = Instant::now();
            let joins = batch.iter().map(|&i| {
                let tokens = &tokens;
                async move {
                    let n = args.first + i;
                    let user = format!("spectator{n}");
                    let joining = gh::member_with(
                        &args.node_url,
                        Some(gh::source_ip(n)),
                        tokens,
                        &user,
                        &args.room,
                        gh::ws_config().read_buffer_size(SPECTATOR_READ_BUFFER),
                    );
                    (i, tokio::time::timeout(JOIN_TIMEOUT, joining).await)
                }
            });
            for (i, outcome) in futures::future::join_all(joins).await {
                match outcome {
                    Ok(Ok(ws)) => {
                        feed.lock().trackers[i] = Some(OffTracker::default());
                        tokio::spawn(watch(ws, i, feed.clone()));
                        joined += 1;
                    }
                    Ok(Err(e)) => {
                        failed.push(i);
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                    Err(_) => {
                        failed.push(i);
                        first_error.get_or_insert_with(|| "a join timed out".to_string());
                    }
                }
            }
            emit(&Up::Joined { joined })?;
            if args.join_rate > 0.0 {
                let least = Duration::from_secs_f64(batch.len() as f64 / args.join_rate);
                tokio::time::sleep(least.saturating_sub(batch_started.elapsed())).await;
            }
        }
        pending = failed;
        if pending.is_empty() || round + 1 == JOIN_ROUNDS {
            break;
        }
        tokio::time::sleep(Duration::from_secs(u64::from(round) + 1)).await;
    }
    emit(&Up::Ready {
        joined,
        failed: pending.len() as u64,
        ramp_ms: started.elapsed().as_millis() as u64,
        first_error,
    })?;

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut windowed = false;
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = tick.tick() => {
                if windowed {
                    let delivered = feed.lock().counts.delivered;
                    emit(&Up::Progress { delivered })?;
                }
                continue;
            }
        };
        // None: the parent went away.
        let Some(line) = line else { return Ok(()) };
        match serde_json::from_str::<Down>(&line).context("a message from the parent")? {
            Down::Window {
                start_us,
                end_us,
                recv_start_us,
                recv_end_us,
            } => {
                let mut feed = feed.lock();
                feed.window = (start_us, end_us);
                feed.span = (recv_start_us, recv_end_us);
                windowed = true;
            }
            Down::Finish { expected } => {
                let counts = feed.lock().finish(expected)?;
                return emit(&Up::Done(Box::new(counts)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stream's delay in the fixture: not zero, so a latency that left it out would be off
    /// by this much.
    const DELAY_US: u64 = 3_000;

    /// `count` spectators that joined, then one that never did.
    fn feed(count: usize) -> Feed {
        let mut trackers = vec![Some(OffTracker::default()); count];
        trackers.push(None);
        Feed {
            window: (1_000_000, 2_000_000),
            // The receipt span is the window moved by the delay, as the parent sets it.
            span: (1_001_000 + DELAY_US, 1_500_000 + DELAY_US),
            delay_us: DELAY_US,
            latency: Latency::new(),
            trackers,
            counts: Counts::default(),
        }
    }

    fn event(off: u64, stamp: u64) -> String {
        format!(
            r#"{{"ev":"stream.event","room":"stream:1","ep":"e","off":{off},"d":{{"d":{{"lt_us":{stamp},"seq":1}},"kind":"move","ts":1}}}}"#
        )
    }

    #[test]
    fn feed_counts_window_events_crowds_and_refusals() {
        let mut f = feed(2);
        // Receipt times, written as they would be with no delay: the intended time plus the
        // latency.
        let at = |undelayed: u64| undelayed + DELAY_US;
        f.on_frame(0, event(1, 999_999).as_bytes(), at(1_500_000)); // before the window
        f.on_frame(0, event(2, 1_000_000).as_bytes(), at(1_002_000));
        f.on_frame(0, event(4, 1_200_000).as_bytes(), at(1_205_000));
        f.on_frame(1, event(2, 1_000_000).as_bytes(), at(1_001_000));
        f.on_frame(1, event(3, 1_100_000).as_bytes(), at(1_101_000));
        f.on_frame(1, event(9, 2_000_000).as_bytes(), at(2_001_000)); // after it
        f.on_frame(
            1,
            br#"{"ev":"stream.event","room":"stream:1","ep":"e","off":10,"d":{"kind":"start","ts":1}}"#,
            at(2_001_000),
        );
        f.on_frame(
            0,
            br#"{"ev":"stream.crowd","room":"stream:1","d":{"stream":1,"viewers":2,"peak":3,"cheers":{}}}"#,
            at(1_300_000),
        );
        f.on_frame(
            0,
            br#"{"id":5,"ok":false,"err":{"code":"invalid"}}"#,
            at(1_300_000),
        );
        f.closed("close 4008".into());
        let c = f.finish(3).expect("finish");
        assert_eq!(c.seen, 7);
        assert_eq!(
            c.in_span, 4,
            "received from 1,004,000 µs to before 1,503,000 µs"
        );
        assert_eq!(c.delivered, 4);
        assert_eq!(c.other_events, 1);
        // Spectator 0 got offsets 2 and 4 of 2..=4, spectator 1 got 2 and 3; spectator 2
        // never joined, so it misses nothing.
        assert_eq!(
            (c.missing, c.incomplete, c.gaps, c.out_of_order),
            (2, 2, 1, 0)
        );
        assert_eq!((c.crowd_pushes, c.crowd_viewers), (1, Some(2)));
        assert_eq!(c.errors, 1);
        assert_eq!(c.close_reasons.get("close 4008"), Some(&1));
        let l = Latency::decode(&c.latency).expect("latency");
        assert_eq!(l.len(), 4);
        // 2, 5, 1 and 1 ms after the intended time plus the delay.
        assert!((l.summary().max_ms - 5.0).abs() < 0.01, "{:?}", l.summary());
    }
}
