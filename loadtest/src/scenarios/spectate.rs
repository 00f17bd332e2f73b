//! `spectate`: one spectator stream watched by many. Its owner publishes a move every
//! `--move-every-ms`, open loop, each move carrying the time it was meant to leave; the
//! spectators, spread over several nodes joined by Redis, get every move `delay_s` after it.
//! Reports delivery latency (from the intended time plus the delay, so a stalled server shows
//! as latency: no coordinated omission), server CPU per delivery, server memory per spectator,
//! and the moves each spectator missed or got out of order (by the feed's `off`).
//!
//! A process may hold at most 20,000 open files here, so the spectators live in worker
//! processes (this binary again, hidden subcommand `spectate-worker`; at most `--per-worker`
//! each, one node each), pinned like the parent to the generator core. A worker speaks JSON
//! lines: on stdout it reports its joins, then that it is ready, then its counts and latency
//! histogram; on stdin it is told the measured window, then how many moves to expect.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Stdio;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Args;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use memchr::memmem;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::{Common, TargetKind};
use crate::cpu::Sampler;
use crate::gh::{self, Tokens, Ws};
use crate::report::Report;
use crate::stats::{per_sec, Latency};
use crate::target::{self, GuildhallExtras, GuildhallOptions, Server};
use crate::text::{now_us, number_after};

#[derive(Clone, Debug, Args)]
pub struct SpectateArgs {
    /// Nodes to start (all on the server core), joined by Redis.
    #[arg(long, default_value_t = 2)]
    pub nodes: usize,
    /// Spectators on each node.
    #[arg(long, default_value_t = 19_000)]
    pub spectators_per_node: usize,
    /// The stream's delay, seconds (0 to 900): spectators get each move this long after it.
    #[arg(long, default_value_t = 0)]
    pub delay_s: u32,
    /// The owner publishes a move this often, ms.
    #[arg(long, default_value_t = 100)]
    pub move_every_ms: u64,
    /// Most spectators per worker process (one socket each; a process may hold at most
    /// 20,000 open files here).
    #[arg(long, default_value_t = 19_000)]
    pub per_worker: usize,
    /// Joins in flight at once in each worker; each batch completes before the next starts.
    #[arg(long, default_value_t = 500)]
    pub join_batch: usize,
    /// Most joins per second in each worker (0: as fast as the batches complete).
    #[arg(long, default_value_t = 0.0)]
    pub join_rate: f64,
    /// Redis the nodes share (a fresh key prefix is used, its keys deleted at the end).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// PostgreSQL the nodes share: a stream opened on one node is found in it by the others
    /// (a fresh schema is created, then dropped with `psql`).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub database_url: String,
}

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

/// The owner's user id (not a spectator: it does not join the room).
const OWNER: &str = "streamer";
/// The request id of `stream.end`.
const END_ID: u64 = 3;
/// Publish requests are numbered from here; the request id less this is the move's number.
const PUBLISH_ID_BASE: u64 = 1_000;
/// Moves before the window, so it starts in the steady state.
const WARMUP: Duration = Duration::from_secs(1);
/// After the last move, at least this long for its deliveries and the owner's replies.
const DRAIN: Duration = Duration::from_secs(2);
/// How long the spectators may take to join, in all.
const RAMP_TIMEOUT: Duration = Duration::from_secs(900);
/// One spectator's connect, `hello` and `room.join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Rounds of joins: the failures of one are tried again in the next.
const JOIN_ROUNDS: u32 = 4;
/// Open files a worker needs besides its sockets (stdio, epoll, the runtime's pipes).
const SPARE_FILES: u64 = 64;
/// How often a worker reports the window's deliveries while the parent drains.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// The drain ends when the window's deliveries stop growing for this long (or all came).
const DRAIN_STALL: Duration = Duration::from_secs(3);
/// The longest drain: a server far behind is reported as such, not waited for.
const DRAIN_MAX: Duration = Duration::from_secs(120);
/// A spectator's read buffer: pushes are a few hundred bytes, and tungstenite zero-fills
/// the free part of the buffer before every read.
const SPECTATOR_READ_BUFFER: usize = 2 * 1024;

const EV_EVENT: &[u8] = br#""ev":"stream.event""#;
const EV_CROWD: &[u8] = br#""ev":"stream.crowd""#;
const KEY_OFF: &[u8] = br#""off":"#;
/// The intended send time (µs since the epoch) inside a move's payload.
const KEY_STAMP: &[u8] = br#""lt_us":"#;
const KEY_VIEWERS: &[u8] = br#""viewers":"#;
const KEY_PEAK: &[u8] = br#""peak":"#;
const REFUSED: &[u8] = br#""ok":false"#;

/// The searches every push goes through, built once.
struct Finders {
    event: memmem::Finder<'static>,
    crowd: memmem::Finder<'static>,
    refused: memmem::Finder<'static>,
}

static FINDERS: LazyLock<Finders> = LazyLock::new(|| Finders {
    event: memmem::Finder::new(EV_EVENT),
    crowd: memmem::Finder::new(EV_CROWD),
    refused: memmem::Finder::new(REFUSED),
});

// ---------------------------------------------------------------------------------------
// Accounting

/// One spectator's view of the feed's offsets within the window. Offsets taken in order are
/// distinct, so the moves it missed are the window's moves less those; an offset not above
/// the last one taken (late or repeated) counts as out of order and not as received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffTracker {
    last: Option<u64>,
    /// Events taken in order (each `off` above the last).
    pub in_order: u64,
    /// Offsets skipped by forward jumps between events taken in order.
    pub gaps: u64,
    /// Events whose `off` was not above the last one taken.
    pub out_of_order: u64,
}

impl OffTracker {
    pub fn observe(&mut self, off: u64) {
        match self.last {
            Some(last) if off <= last => self.out_of_order += 1,
            Some(last) => {
                self.gaps += off - last - 1;
                self.in_order += 1;
                self.last = Some(off);
            }
            None => {
                self.in_order += 1;
                self.last = Some(off);
            }
        }
    }

    /// Moves of the window not taken in order, of `expected`.
    pub fn missing(&self, expected: u64) -> u64 {
        expected.saturating_sub(self.in_order)
    }
}

/// The owner's moves that fall in a window of intended times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowMoves {
    /// Moves whose intended time is in the window.
    pub scheduled: u64,
    /// Of those, the ones the server acknowledged (a reply with an offset).
    pub acknowledged: u64,
    /// Lowest and highest acknowledged offset.
    pub offs: Option<(u64, u64)>,
}

impl WindowMoves {
    /// Move `seq` is meant to leave at `t0_us + seq × every_us`; `acked` maps a move's number
    /// to its offset. The window is `[start_us, end_us)`.
    pub fn of(
        acked: &BTreeMap<u64, u64>,
        t0_us: u64,
        every_us: u64,
        start_us: u64,
        end_us: u64,
    ) -> Self {
        let every = every_us.max(1);
        let first = start_us.saturating_sub(t0_us).div_ceil(every);
        let end = end_us.saturating_sub(t0_us).div_ceil(every);
        let mut moves = Self {
            scheduled: end.saturating_sub(first),
            ..Self::default()
        };
        for &off in acked.range(first..end).map(|(_, off)| off) {
            moves.acknowledged += 1;
            moves.offs = Some(match moves.offs {
                None => (off, off),
                Some((lo, hi)) => (lo.min(off), hi.max(off)),
            });
        }
        moves
    }

    /// Whether the acknowledged offsets are consecutive, as they are when the owner is the
    /// stream's only writer.
    pub fn contiguous(&self) -> bool {
        self.offs
            .is_none_or(|(lo, hi)| hi - lo + 1 == self.acknowledged)
    }
}

/// Spectators of each worker: (node index, first spectator number, count); each node's
/// spectators are split over as few workers as `per_worker` allows.
pub fn plan(nodes: usize, per_node: usize, per_worker: usize) -> Vec<(usize, usize, usize)> {
    let per_worker = per_worker.max(1);
    let mut workers = Vec::new();
    for node in 0..nodes {
        let mut first = node * per_node;
        let end = first + per_node;
        while first < end {
            let count = per_worker.min(end - first);
            workers.push((node, first, count));
            first += count;
        }
    }
    workers
}

/// The soft limit on open files from `/proc/self/limits` text.
pub fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------
// Parent ↔ worker messages

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Up {
    Joined {
        joined: u64,
    },
    Ready {
        joined: u64,
        failed: u64,
        ramp_ms: u64,
        first_error: Option<String>,
    },
    /// Every [`PROGRESS_EVERY`] once the window is known: the window's moves delivered.
    Progress {
        delivered: u64,
    },
    Done(Box<Counts>),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Down {
    /// Moves meant to leave in `[start_us, end_us)` count; pushes received in
    /// `[recv_start_us, recv_end_us)` (the span the server's CPU is read over) are counted too.
    Window {
        start_us: u64,
        end_us: u64,
        recv_start_us: u64,
        recv_end_us: u64,
    },
    Finish {
        expected: u64,
    },
}

/// What a worker counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Counts {
    joined: u64,
    /// Moves of the window delivered (each a latency sample).
    delivered: u64,
    /// `stream.event` pushes, in the window or not.
    seen: u64,
    /// `stream.event` pushes received in the receipt span, whatever their move.
    in_span: u64,
    /// `stream.event` pushes without our stamp or offset (other kinds).
    other_events: u64,
    missing: u64,
    out_of_order: u64,
    gaps: u64,
    /// Spectators that missed at least one move of the window.
    incomplete: u64,
    crowd_pushes: u64,
    crowd_viewers: Option<u64>,
    crowd_peak: Option<u64>,
    crowd_at_us: u64,
    /// `"ok":false` replies.
    errors: u64,
    closed: u64,
    close_reasons: BTreeMap<String, u64>,
    /// [`Latency::encode`]d.
    latency: String,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.joined += o.joined;
        self.delivered += o.delivered;
        self.seen += o.seen;
        self.in_span += o.in_span;
        self.other_events += o.other_events;
        self.missing += o.missing;
        self.out_of_order += o.out_of_order;
        self.gaps += o.gaps;
        self.incomplete += o.incomplete;
        self.crowd_pushes += o.crowd_pushes;
        if o.crowd_viewers.is_some() && o.crowd_at_us >= self.crowd_at_us {
            self.crowd_viewers = o.crowd_viewers;
            self.crowd_peak = o.crowd_peak;
            self.crowd_at_us = o.crowd_at_us;
        }
        self.errors += o.errors;
        self.closed += o.closed;
        for (reason, n) in &o.close_reasons {
            *self.close_reasons.entry(reason.clone()).or_default() += n;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The worker

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
        if FINDERS.event.find(frame).is_some() {
            self.counts.seen += 1;
            if now >= self.span.0 && now < self.span.1 {
                self.counts.in_span += 1;
            }
            let (Some(off), Some(stamp)) =
                (number_after(frame, KEY_OFF), number_after(frame, KEY_STAMP))
            else {
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
                    self.counts.crowd_peak = number_after(frame, KEY_PEAK);
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

fn emit(up: &Up) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, up)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
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
    let tokens = super::tokens(common);
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
                return emit(&Up::Done(Box::new(Counts { joined, ..counts })));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The owner

/// What the owner's replies said.
#[derive(Default)]
struct OwnerLog {
    /// Move number → its offset in the stream's log.
    acked: BTreeMap<u64, u64>,
    refused: u64,
    first_refusal: Option<String>,
    closed: Option<String>,
    end_reply: Option<String>,
}

struct Owner {
    sink: SplitSink<Ws, Message>,
    log: Arc<Mutex<OwnerLog>>,
    reader: tokio::task::JoinHandle<()>,
    stream: u64,
    room: String,
}

impl Owner {
    /// Connects, says hello and opens the stream.
    async fn open(url: &str, tokens: &Tokens, delay_s: u32) -> anyhow::Result<Self> {
        let mut ws = gh::connect(url, None).await?;
        gh::request(
            &mut ws,
            1,
            "hello",
            json!({ "token": tokens.mint(OWNER)?, "v": 1 }),
        )
        .await?;
        let info = gh::request(
            &mut ws,
            2,
            "stream.open",
            json!({ "game": "snake", "title": "bench", "delay_s": delay_s }),
        )
        .await
        .context("opening the stream (does this server serve streams?)")?;
        let stream = info["id"]
            .as_u64()
            .with_context(|| format!("stream.open answered without an id: {info}"))?;
        let room = info["room"]
            .as_str()
            .map_or_else(|| format!("stream:{stream}"), str::to_owned);
        let (sink, replies) = ws.split();
        let log = Arc::new(Mutex::new(OwnerLog::default()));
        let reader = tokio::spawn(read_replies(replies, log.clone()));
        Ok(Self {
            sink,
            log,
            reader,
            stream,
            room,
        })
    }

    /// Publishes move `seq` at `t0_us + seq × every_us` until `until_us`, open loop: a late
    /// move is sent at once and keeps its intended time. Returns how many were sent.
    async fn publish(&mut self, t0_us: u64, every_us: u64, until_us: u64) -> anyhow::Result<u64> {
        let mut seq = 0u64;
        loop {
            let intended = t0_us + seq * every_us;
            if intended >= until_us {
                return Ok(seq);
            }
            let now = now_us();
            if intended > now {
                tokio::time::sleep(Duration::from_micros(intended - now)).await;
            }
            let frame = format!(
                r#"{{"id":{},"op":"stream.publish","d":{{"stream":{},"kind":"move","d":{{"lt_us":{intended},"seq":{seq}}}}}}}"#,
                PUBLISH_ID_BASE + seq,
                self.stream,
            );
            self.sink.send(Message::Text(frame.into())).await?;
            seq += 1;
        }
    }

    /// Ends the stream (best effort) and closes.
    /// Ends the stream and closes; the reply to `stream.end` (or why there is none).
    async fn end(mut self) -> String {
        let frame = json!({ "id": END_ID, "op": "stream.end", "d": { "stream": self.stream } });
        let sent = self
            .sink
            .send(Message::Text(frame.to_string().into()))
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let reply = loop {
            if let Err(e) = &sent {
                break format!("not sent: {e}");
            }
            if let Some(reply) = self.log.lock().end_reply.take() {
                break reply;
            }
            if Instant::now() > deadline {
                break "no reply within 10 s".to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let _ = self.sink.close().await;
        self.reader.abort();
        reply
    }
}

async fn read_replies(mut replies: SplitStream<Ws>, log: Arc<Mutex<OwnerLog>>) {
    let reason = loop {
        let text = match replies.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => break format!("closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("error: {e}"),
            None => break "end of stream".to_string(),
        };
        let Ok(reply) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if reply["id"].as_u64() == Some(END_ID) {
            log.lock().end_reply = Some(text.to_string());
            continue;
        }
        let Some(seq) = reply["id"]
            .as_u64()
            .and_then(|id| id.checked_sub(PUBLISH_ID_BASE))
        else {
            continue;
        };
        let mut log = log.lock();
        match (reply["ok"].as_bool(), reply["d"]["off"].as_u64()) {
            (Some(true), Some(off)) => {
                log.acked.insert(seq, off);
            }
            _ => {
                log.refused += 1;
                if log.first_refusal.is_none() {
                    log.first_refusal = Some(text.to_string());
                }
            }
        }
    };
    log.lock().closed = Some(reason);
}

// ---------------------------------------------------------------------------------------
// The parent

struct Worker {
    child: Child,
    stdin: ChildStdin,
}

enum Heard {
    Up(Up),
    Gone(String),
}

/// Starts worker `index`, which joins spectators `first .. first + count` to `room` on `url`.
fn spawn_worker(
    common: &Common,
    args: &SpectateArgs,
    url: &str,
    room: &str,
    index: usize,
    (first, count): (usize, usize),
    heard: &mpsc::UnboundedSender<(usize, Heard)>,
) -> anyhow::Result<Worker> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["--generator-core", &common.generator_core.to_string()])
        .arg("--quiet")
        .arg("spectate-worker")
        .args(["--node-url", url, "--room", room])
        .args(["--first", &first.to_string(), "--count", &count.to_string()])
        .args(["--join-batch", &args.join_batch.to_string()])
        .args(["--join-rate", &args.join_rate.to_string()])
        .args(["--delay-s", &args.delay_s.to_string()])
        .env("GUILDHALL_JWT_SECRET", &common.jwt_secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting a spectate worker")?;
    let stdin = child.stdin.take().context("the worker's stdin")?;
    let stdout = child.stdout.take().context("the worker's stdout")?;
    let heard = heard.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let gone = loop {
            match lines.next_line().await {
                Ok(Some(line)) => match serde_json::from_str::<Up>(&line) {
                    Ok(up) => {
                        let _ = heard.send((index, Heard::Up(up)));
                    }
                    Err(e) => break format!("said something unreadable ({e}): {line}"),
                },
                Ok(None) => break "exited".to_string(),
                Err(e) => break format!("could not be read: {e}"),
            }
        };
        let _ = heard.send((index, Heard::Gone(gone)));
    });
    Ok(Worker { child, stdin })
}

async fn tell(worker: &mut Worker, down: &Down) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(down)?;
    line.push(b'\n');
    worker.stdin.write_all(&line).await?;
    worker.stdin.flush().await?;
    Ok(())
}

fn rss_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|&p| crate::cpu::rss_bytes(p).ok())
        .sum::<Option<u64>>()
}

/// The UTC time of day of a time in µs since the epoch, `HH:MM:SS.mmm` (to match server logs).
pub fn clock(us: u64) -> String {
    let ms = us / 1_000;
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1_000 % 60,
        day_ms % 1_000
    )
}

/// A tokio instant for a time in µs since the epoch.
fn instant_at(us: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_micros(us.saturating_sub(now_us()))
}

pub async fn run(common: &Common, args: &SpectateArgs) -> anyhow::Result<(Report, Latency)> {
    ensure!(
        common.target == TargetKind::Guildhall,
        "spectate drives Guildhall's streams: --target socketio does not apply"
    );
    ensure!(args.delay_s <= 900, "--delay-s is 0 to 900");
    ensure!(args.move_every_ms > 0, "--move-every-ms must be at least 1");
    ensure!(
        args.spectators_per_node > 0,
        "--spectators-per-node must be at least 1"
    );
    let mut nodes: Vec<Server> = Vec::new();
    let tag = rand::random::<u32>();
    let shared = Shared {
        schema: format!("lt_spectate_{tag:08x}"),
        prefix: format!("ltspec{tag:08x}"),
    };
    let (urls, pids, core): (Vec<String>, Vec<u32>, Option<usize>) = if let Some(url) = &common.url
    {
        let urls: Vec<String> = url.split(',').map(|u| u.trim().to_owned()).collect();
        (
            urls,
            common.server_pid.into_iter().collect(),
            common.server_core,
        )
    } else {
        ensure!(args.nodes > 0, "--nodes must be at least 1");
        let bin = common
            .server_bin
            .clone()
            .unwrap_or_else(target::default_server_bin);
        let prefix = &shared.prefix;
        let schema = &shared.schema;
        for i in 0..args.nodes {
            let node_id = format!("lt{i}");
            let opts = GuildhallOptions {
                bin: &bin,
                core: Some(common.spawn_core),
                secret: &common.jwt_secret,
                redis_url: Some(&args.redis_url),
                node_id: Some(&node_id),
                redis_prefix: Some(prefix),
            };
            let extras = GuildhallExtras {
                database_url: Some(&args.database_url),
                database_schema: Some(schema),
                ..GuildhallExtras::default()
            };
            // One at a time: the first creates and migrates the schema.
            match target::start_guildhall_with(&opts, &extras).await {
                Ok(node) => nodes.push(node),
                Err(e) => {
                    for node in nodes {
                        node.stop().await;
                    }
                    shared.clean(args);
                    return Err(e.context(format!("starting node {node_id}")));
                }
            }
        }
        let urls = nodes.iter().map(|n| n.url.clone()).collect();
        let pids = nodes.iter().filter_map(|n| n.pid).collect();
        (urls, pids, Some(common.spawn_core))
    };
    let outcome = measure(common, args, &urls, &pids, core).await;
    let started_here = !nodes.is_empty();
    for node in nodes {
        node.stop().await;
    }
    let cleaned = if started_here {
        shared.clean(args)
    } else {
        Vec::new()
    };
    let (mut report, latency) = outcome?;
    if started_here {
        report.notes.push(format!(
            "{} nodes on core {}, Redis at {} (prefix {}), PostgreSQL at {} (schema {})",
            urls.len(),
            common.spawn_core,
            args.redis_url,
            shared.prefix,
            args.database_url,
            shared.schema
        ));
    }
    report.notes.extend(cleaned);
    Ok((report, latency))
}

/// What the nodes of one run share: a Redis key prefix and a PostgreSQL schema of its own.
struct Shared {
    schema: String,
    prefix: String,
}

impl Shared {
    /// Drops the schema and deletes the Redis keys; what could not be done, as notes.
    fn clean(&self, args: &SpectateArgs) -> Vec<String> {
        let mut notes = Vec::new();
        if let Err(e) = super::raid::drop_schema(&args.database_url, &self.schema) {
            notes.push(format!("schema {} was not dropped: {e:#}", self.schema));
        }
        if let Err(e) = super::raid::drop_redis_keys(&args.redis_url, &self.prefix) {
            notes.push(format!(
                "Redis keys {}:* were not deleted: {e:#}",
                self.prefix
            ));
        }
        notes
    }
}

async fn measure(
    common: &Common,
    args: &SpectateArgs,
    urls: &[String],
    pids: &[u32],
    core: Option<usize>,
) -> anyhow::Result<(Report, Latency)> {
    let bar = super::progress(common, "spectate");
    let tokens = super::tokens(common);
    let mut owner = Owner::open(&urls[0], &tokens, args.delay_s).await?;
    let room = owner.room.clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_sum(pids);

    // Ramp: every worker joins its spectators; the window waits for all of them.
    let plan = plan(urls.len(), args.spectators_per_node, args.per_worker);
    let spectators: usize = plan.iter().map(|w| w.2).sum();
    bar.set_message(format!(
        "joining {spectators} spectators to {} over {} nodes, {} workers",
        owner.room,
        urls.len(),
        plan.len()
    ));
    let ramp_started = Instant::now();
    let (heard_tx, mut heard) = mpsc::unbounded_channel();
    let mut workers = Vec::with_capacity(plan.len());
    for (index, &(node, first, count)) in plan.iter().enumerate() {
        workers.push(spawn_worker(
            common,
            args,
            &urls[node],
            &room,
            index,
            (first, count),
            &heard_tx,
        )?);
    }
    drop(heard_tx);
    let mut joined_by = vec![0u64; workers.len()];
    let mut ready = vec![false; workers.len()];
    let mut worker_ramps = vec![0u64; workers.len()];
    let mut failed = 0u64;
    let mut join_errors = Vec::new();
    let deadline = tokio::time::Instant::now() + RAMP_TIMEOUT;
    while ready.iter().any(|r| !r) {
        let Ok(next) = tokio::time::timeout_at(deadline, heard.recv()).await else {
            bail!("the spectators did not all join within {RAMP_TIMEOUT:?}");
        };
        let Some((index, message)) = next else {
            bail!("every worker went away before joining");
        };
        match message {
            Heard::Up(Up::Joined { joined }) => joined_by[index] = joined,
            Heard::Up(Up::Ready {
                joined,
                failed: f,
                ramp_ms,
                first_error,
            }) => {
                joined_by[index] = joined;
                ready[index] = true;
                failed += f;
                worker_ramps[index] = ramp_ms;
                if let Some(e) = first_error {
                    join_errors.push(format!("worker {index}: {e}"));
                }
            }
            Heard::Up(Up::Done(_)) => bail!("worker {index} finished before it was asked"),
            Heard::Up(Up::Progress { .. }) => {}
            Heard::Gone(why) => bail!("spectate worker {index} {why} while joining"),
        }
        bar.set_message(format!(
            "{} of {spectators} spectators joined",
            joined_by.iter().sum::<u64>()
        ));
    }
    let ramp = ramp_started.elapsed();
    let joined: u64 = joined_by.iter().sum();
    ensure!(
        joined > 0,
        "no spectator could join: {}",
        join_errors.join("; ")
    );
    bar.set_message("settling");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_sum(pids);

    // The window: moves meant to leave in [start, end) are the ones whose latency, losses
    // and order count, however late they arrive. The owner publishes from a warm-up before
    // it until the delay after it, so the server is in its steady state over the span
    // [start + delay, end + delay), when the window's moves are due: the server's and the
    // generator's cores are read over that span, and the deliveries received in it (of
    // whatever move) are the rate and what the CPU is divided by.
    let span = super::secs(common.duration);
    let every_us = args.move_every_ms * 1_000;
    let delay_us = u64::from(args.delay_s) * 1_000_000;
    let t0_us = now_us() + 200_000;
    let start_us = t0_us + WARMUP.as_micros() as u64;
    let end_us = start_us + span.as_micros() as u64;
    let window = Down::Window {
        start_us,
        end_us,
        recv_start_us: start_us + delay_us,
        recv_end_us: end_us + delay_us,
    };
    for w in &mut workers {
        tell(w, &window).await?;
    }
    bar.set_message(format!(
        "a move every {} ms to {joined} spectators (delay {} s)",
        args.move_every_ms, args.delay_s
    ));
    let publishing = owner.publish(t0_us, every_us, end_us + delay_us);
    let measuring = async {
        tokio::time::sleep_until(instant_at(start_us + delay_us)).await;
        let server_core = Sampler::start(core, None);
        let server_procs: Vec<Sampler> = pids
            .iter()
            .map(|&p| Sampler::start(None, Some(p)))
            .collect();
        let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));
        tokio::time::sleep_until(instant_at(end_us + delay_us)).await;
        let mut spent = server_core.finish();
        spent.proc_us = server_procs
            .iter()
            .map(|s| s.finish().proc_us)
            .sum::<Option<f64>>();
        (spent, generator.finish())
    };
    let (published, (spent, generator)) = tokio::join!(publishing, measuring);
    let published = published.context("publishing moves")?;

    // Drain: until every move of the window reached every spectator, or their deliveries
    // stop growing (what is still missing then is lost, or too late to wait for).
    bar.set_message("draining");
    let drain_started = Instant::now();
    let mut delivered_by = vec![0u64; workers.len()];
    let mut last_change = Instant::now();
    let mut drain_capped = false;
    loop {
        let delivered: u64 = delivered_by.iter().sum();
        let expected = {
            let log = owner.log.lock();
            let m = WindowMoves::of(&log.acked, t0_us, every_us, start_us, end_us);
            (m.acknowledged == m.scheduled).then_some(m.acknowledged * joined)
        };
        let waited = drain_started.elapsed();
        if waited >= DRAIN
            && (expected.is_some_and(|e| delivered >= e) || last_change.elapsed() >= DRAIN_STALL)
        {
            break;
        }
        if waited >= DRAIN_MAX {
            drain_capped = true;
            break;
        }
        bar.set_message(format!("draining: {delivered} of the window's deliveries"));
        match tokio::time::timeout(PROGRESS_EVERY, heard.recv()).await {
            Ok(Some((index, Heard::Up(Up::Progress { delivered })))) => {
                if delivered != delivered_by[index] {
                    delivered_by[index] = delivered;
                    last_change = Instant::now();
                }
            }
            Ok(Some((index, Heard::Gone(why)))) => {
                bail!("spectate worker {index} {why} during the run")
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => bail!("the workers went away during the run"),
        }
    }
    let drain = drain_started.elapsed();

    let (moves, refused, first_refusal, owner_closed) = {
        let log = owner.log.lock();
        (
            WindowMoves::of(&log.acked, t0_us, every_us, start_us, end_us),
            log.refused,
            log.first_refusal.clone(),
            log.closed.clone(),
        )
    };
    for w in &mut workers {
        tell(
            w,
            &Down::Finish {
                expected: moves.acknowledged,
            },
        )
        .await?;
    }
    let mut total = Counts::default();
    let mut latency = Latency::new();
    let mut done = vec![false; workers.len()];
    while done.iter().any(|d| !d) {
        let Ok(next) = tokio::time::timeout(Duration::from_secs(60), heard.recv()).await else {
            bail!("the workers did not report within 60 s");
        };
        match next {
            Some((index, Heard::Up(Up::Done(counts)))) => {
                latency.merge(&Latency::decode(&counts.latency)?);
                total.add(&counts);
                done[index] = true;
            }
            // A worker exits once it has reported.
            Some((index, Heard::Gone(_))) if done[index] => {}
            Some((index, Heard::Gone(why))) => {
                bail!("spectate worker {index} {why} before reporting")
            }
            Some(_) => {}
            None => bail!("the workers went away before reporting"),
        }
    }
    for mut w in workers {
        if tokio::time::timeout(Duration::from_secs(20), w.child.wait())
            .await
            .is_err()
        {
            let _ = w.child.kill().await;
        }
    }
    let ended_at = now_us();
    let end_reply = owner.end().await;
    bar.finish_and_clear();

    let summary = latency.summary();
    let mut report = Report {
        scenario: "spectate".into(),
        target: common.target.name().into(),
        conns: joined,
        duration_s: span.as_secs_f64(),
        offered_per_sec: 1_000.0 / args.move_every_ms as f64,
        delivered: total.in_span,
        delivered_per_sec: per_sec(total.in_span, span),
        rss_bytes: rss_after,
        rss_bytes_per_conn: rss_before
            .zip(rss_after)
            .map(|(b, a)| a.saturating_sub(b) as f64 / joined as f64),
        ..Report::default()
    }
    .with_generator_busy(generator.core_busy.unwrap_or(0.0));
    super::fanout::fill_cpu(&mut report, &spent, total.in_span);
    let expected = moves.acknowledged * joined;
    let extra = [
        ("nodes", json!(urls.len())),
        ("workers", json!(plan.len())),
        ("delay_s", json!(args.delay_s)),
        ("moves", json!(moves.acknowledged)),
        ("expected_deliveries", json!(expected)),
        ("window_deliveries", json!(total.delivered)),
        ("missing", json!(total.missing)),
        ("out_of_order", json!(total.out_of_order)),
        ("spectators_missing", json!(total.incomplete)),
        ("crowd_viewers", json!(total.crowd_viewers)),
        ("crowd_pushes", json!(total.crowd_pushes)),
        ("ramp_s", json!(ramp.as_secs_f64())),
        ("drain_s", json!(drain.as_secs_f64())),
        ("joins_failed", json!(failed)),
        ("closed", json!(total.closed)),
    ];
    for (key, value) in extra {
        report.extra.insert(key.into(), value);
    }
    report.notes.push(format!(
        "{joined} spectators in {} over {} worker processes, joined in {:.1} s (workers: {} ms); \
         the owner publishes and does not watch",
        room,
        plan.len(),
        ramp.as_secs_f64(),
        worker_ramps
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    report.notes.push(format!(
        "latency: receipt less (intended send time + {} s delay); {published} moves published in all, \
         {} of the window's {} acknowledged ({}); {} stream events seen in all",
        args.delay_s,
        moves.acknowledged,
        moves.scheduled,
        moves.offs.map_or_else(
            || "no offsets".to_string(),
            |(lo, hi)| format!("offsets {lo}..={hi}")
        ),
        total.seen
    ));
    report.notes.push(format!(
        "delivered: pushes received from {} s to {} s after the window opened (any move's); \
         window_deliveries: the window's moves received at any time (the latency samples)",
        args.delay_s,
        span.as_secs_f64() + f64::from(args.delay_s)
    ));
    report.notes.push(format!(
        "times (UTC): publishing from {}, window {} to {}, drained by {}, stream.end sent at {}: {end_reply}",
        clock(t0_us),
        clock(start_us),
        clock(end_us),
        clock(end_us + delay_us + drain.as_micros() as u64),
        clock(ended_at),
    ));
    if drain_capped {
        report.notes.push(format!(
            "the drain stopped after {DRAIN_MAX:?} with deliveries still arriving"
        ));
    }
    if !moves.contiguous() {
        report.notes.push(format!(
            "the window's acknowledged offsets {:?} are not consecutive",
            moves.offs
        ));
    }
    if refused > 0 {
        report.notes.push(format!(
            "{refused} publishes refused; the first: {}",
            first_refusal.unwrap_or_default()
        ));
    }
    if let Some(why) = owner_closed {
        report
            .notes
            .push(format!("the owner's connection ended early: {why}"));
    }
    if failed > 0 || !join_errors.is_empty() {
        report.notes.push(format!(
            "{failed} spectators could not join after {JOIN_ROUNDS} rounds; each worker's first join error: {}",
            join_errors.join("; ")
        ));
    }
    if total.closed > 0 {
        report.notes.push(format!(
            "{} spectator connections ended: {:?}",
            total.closed, total.close_reasons
        ));
    }
    if total.errors > 0 || total.other_events > 0 || total.gaps > 0 {
        report.notes.push(format!(
            "{} error replies to spectators, {} other stream events, {} offsets skipped by jumps",
            total.errors, total.other_events, total.gaps
        ));
    }
    if latency.clamped() > 0 {
        report.notes.push(format!(
            "{} latencies above 10 min recorded as 10 min",
            latency.clamped()
        ));
    }
    Ok((report.with_latency(&summary), latency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(offs: &[u64]) -> OffTracker {
        let mut t = OffTracker::default();
        for &off in offs {
            t.observe(off);
        }
        t
    }

    #[test]
    fn every_move_in_order_misses_nothing() {
        let t = tracked(&[5, 6, 7, 8]);
        assert_eq!((t.in_order, t.gaps, t.out_of_order), (4, 0, 0));
        assert_eq!(t.missing(4), 0);
    }

    #[test]
    fn jumps_and_truncated_ends_are_missing() {
        // 10 moves (offsets 1..=10): 3 and 4 skipped, 10 never came.
        let t = tracked(&[1, 2, 5, 6, 7, 8, 9]);
        assert_eq!(t.gaps, 2);
        assert_eq!(t.missing(10), 3);
        // The first ones never came: no jump, still missing.
        let t = tracked(&[4, 5, 6]);
        assert_eq!((t.gaps, t.missing(6)), (0, 3));
        assert_eq!(OffTracker::default().missing(7), 7);
    }

    #[test]
    fn late_and_repeated_offsets_are_out_of_order() {
        let t = tracked(&[1, 2, 4, 3, 5, 5]);
        assert_eq!(t.out_of_order, 2, "3 after 4, and 5 again");
        assert_eq!(t.gaps, 1);
        // 3 arrived, but late: it counts as out of order, not as received in order.
        assert_eq!(t.missing(5), 1);
        // More received than expected (an unacknowledged move delivered) is not negative.
        assert_eq!(tracked(&[1, 2, 3]).missing(2), 0);
    }

    #[test]
    fn window_moves_by_intended_time() {
        // Moves every 100 µs from t0 = 1,000; the window [1,250, 1,650) holds moves 3..=6.
        let acked: BTreeMap<u64, u64> = (0..10).map(|seq| (seq, seq + 41)).collect();
        let m = WindowMoves::of(&acked, 1_000, 100, 1_250, 1_650);
        assert_eq!(m.scheduled, 4);
        assert_eq!(m.acknowledged, 4);
        assert_eq!(m.offs, Some((44, 47)));
        assert!(m.contiguous());
        // A window starting exactly on a move includes it; its end excludes the one on it.
        let m = WindowMoves::of(&acked, 1_000, 100, 1_300, 1_600);
        assert_eq!((m.scheduled, m.offs), (3, Some((44, 46))));
        // An unacknowledged move in the middle leaves a hole in the offsets.
        let mut holed = acked.clone();
        holed.remove(&4);
        holed.insert(5, 99);
        let m = WindowMoves::of(&holed, 1_000, 100, 1_250, 1_650);
        assert_eq!((m.scheduled, m.acknowledged), (4, 3));
        assert!(!m.contiguous());
        let none = WindowMoves::of(&BTreeMap::new(), 1_000, 100, 1_250, 1_650);
        assert_eq!((none.acknowledged, none.offs), (0, None));
        assert!(none.contiguous());
    }

    #[test]
    fn plans_split_nodes_over_workers() {
        assert_eq!(
            plan(2, 19_000, 19_000),
            vec![(0, 0, 19_000), (1, 19_000, 19_000)]
        );
        assert_eq!(
            plan(2, 25_000, 19_000),
            vec![
                (0, 0, 19_000),
                (0, 19_000, 6_000),
                (1, 25_000, 19_000),
                (1, 44_000, 6_000)
            ]
        );
        assert_eq!(plan(1, 3, 0), vec![(0, 0, 1), (0, 1, 1), (0, 2, 1)]);
        assert!(plan(0, 10, 10).is_empty());
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        // 2026-11-24T05:23:15.678Z
        assert_eq!(clock(1_795_497_795_678_123), "05:23:15.678");
        assert_eq!(clock(0), "00:00:00.000");
    }

    #[test]
    fn reads_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            20000                20000                files     \n";
        assert_eq!(max_open_files(limits), Some(20_000));
        assert_eq!(max_open_files("Max cpu time unlimited"), None);
    }

    fn feed(count: usize) -> Feed {
        Feed {
            window: (1_000_000, 2_000_000),
            span: (1_001_000, 1_500_000),
            delay_us: 0,
            latency: Latency::new(),
            trackers: vec![Some(OffTracker::default()); count],
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
        f.on_frame(0, event(1, 999_999).as_bytes(), 1_500_000); // before the window
        f.on_frame(0, event(2, 1_000_000).as_bytes(), 1_002_000);
        f.on_frame(0, event(4, 1_200_000).as_bytes(), 1_205_000);
        f.on_frame(1, event(2, 1_000_000).as_bytes(), 1_001_000);
        f.on_frame(1, event(3, 1_100_000).as_bytes(), 1_101_000);
        f.on_frame(1, event(9, 2_000_000).as_bytes(), 2_001_000); // after it
        f.on_frame(
            1,
            br#"{"ev":"stream.event","room":"stream:1","ep":"e","off":10,"d":{"kind":"start","ts":1}}"#,
            2_001_000,
        );
        f.on_frame(
            0,
            br#"{"ev":"stream.crowd","room":"stream:1","d":{"stream":1,"viewers":2,"peak":3,"cheers":{}}}"#,
            1_300_000,
        );
        f.on_frame(
            0,
            br#"{"id":5,"ok":false,"err":{"code":"invalid"}}"#,
            1_300_000,
        );
        f.closed("close 4008".into());
        let c = f.finish(3).expect("finish");
        assert_eq!(c.seen, 7);
        assert_eq!(
            c.in_span, 4,
            "received from 1,001,000 µs to before 1,500,000 µs"
        );
        assert_eq!(c.delivered, 4);
        assert_eq!(c.other_events, 1);
        // Spectator 0 got offsets 2 and 4 of 2..=4, spectator 1 got 2 and 3.
        assert_eq!(
            (c.missing, c.incomplete, c.gaps, c.out_of_order),
            (2, 2, 1, 0)
        );
        assert_eq!(
            (c.crowd_pushes, c.crowd_viewers, c.crowd_peak),
            (1, Some(2), Some(3))
        );
        assert_eq!(c.errors, 1);
        assert_eq!(c.close_reasons.get("close 4008"), Some(&1));
        let l = Latency::decode(&c.latency).expect("latency");
        assert_eq!(l.len(), 4);
        assert!((l.summary().max_ms - 5.0).abs() < 0.01, "{:?}", l.summary());
    }

    #[test]
    fn counts_add_up_and_keep_the_latest_crowd() {
        let mut a = Counts {
            delivered: 5,
            crowd_viewers: Some(10),
            crowd_at_us: 100,
            ..Counts::default()
        };
        a.close_reasons.insert("x".into(), 1);
        let mut b = Counts {
            delivered: 7,
            missing: 2,
            crowd_viewers: Some(20),
            crowd_at_us: 200,
            ..Counts::default()
        };
        b.close_reasons.insert("x".into(), 2);
        let mut total = Counts::default();
        total.add(&b);
        total.add(&a);
        assert_eq!((total.delivered, total.missing), (12, 2));
        assert_eq!(total.crowd_viewers, Some(20));
        assert_eq!(total.close_reasons.get("x"), Some(&3));
    }

    #[test]
    fn messages_round_trip_as_json_lines() {
        let line = serde_json::to_string(&Down::Window {
            start_us: 1,
            end_us: 2,
            recv_start_us: 3,
            recv_end_us: 4,
        })
        .expect("json");
        assert_eq!(
            line,
            r#"{"window":{"start_us":1,"end_us":2,"recv_start_us":3,"recv_end_us":4}}"#
        );
        let up: Up = serde_json::from_str(r#"{"joined":{"joined":7}}"#).expect("parse");
        assert!(matches!(up, Up::Joined { joined: 7 }));
    }
}
