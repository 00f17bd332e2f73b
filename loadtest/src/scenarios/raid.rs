//! `raid`: finished runs through the server-to-server API (`POST /api/runs/batch`) into one
//! guild's raid, over several nodes joined by Redis and sharing PostgreSQL (a schema of the
//! run's own, dropped at the end). Closed loop: each HTTP/1.1 keep-alive connection sends its
//! next batch as soon as the last one is answered; every run answered `ok` is durable.
//!
//! The figure is acknowledged new runs per second. About 1% of each batch repeats a run id
//! already acknowledged (a backend's retry, usually to another node): it must be answered
//! `duplicate: true` and must not count. Runs answered `ok: false` are sent again. After the
//! load stops, every node's raid board must show exactly the boss HP less 10 × the DNA of the
//! acknowledged new runs, and exactly their count.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Args;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cli::{Common, TargetKind};
use crate::cpu::Sampler;
use crate::gh;
use crate::http1::Http;
use crate::report::{group_thousands, Report};
use crate::stats::{per_sec, Latency};
use crate::target::{GuildhallExtras, Server, Store};

/// The boss: so much HP that it survives any run here, and the HP left is an exact sum.
const BOSS_HP: u64 = 1_000_000_000_000_000;
/// Raid damage per DNA of a run (RULES.md § Raids).
const DAMAGE_PER_DNA: u64 = 10;
/// Most runs one batch may carry (the server's limit).
const MAX_BATCH: usize = 5_000;
/// A level-1 guild's capacity in the default preset.
const MAX_MEMBERS: usize = 50;
/// Users are `raider0` (the leader) … `raider{members - 1}`.
const USER: &str = "raider";
/// Every run is a plausible minute-long run.
const RUN_MS: u64 = 60_000;
const WARMUP: Duration = Duration::from_secs(1);
/// How long runs still unanswered when the load stops may be retried.
const DRAIN: Duration = Duration::from_secs(30);
/// How long every node's board has to show the exact totals.
const SETTLE: Duration = Duration::from_secs(30);
/// Acknowledged runs kept to draw repeats from.
const REPEAT_POOL: usize = 65_536;

#[derive(Clone, Debug, Args)]
pub struct RaidArgs {
    /// Nodes to start (all on the server core).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Guild members, the leader included (at most 50: a level-1 guild's capacity).
    #[arg(long, default_value_t = 50)]
    pub members: usize,
    /// Runs per batch (at most 5,000).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// HTTP/1.1 keep-alive connections, spread evenly over the nodes, each sending batches
    /// back to back.
    #[arg(long, default_value_t = 24)]
    pub concurrency: usize,
    /// Redis the nodes share (a fresh key prefix is used).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// PostgreSQL the nodes share (a fresh schema is created, then dropped with `psql`).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub database_url: String,
}

pub async fn run(common: &Common, args: &RaidArgs) -> anyhow::Result<(Report, Latency)> {
    ensure!(
        common.url.is_none() && common.target == TargetKind::Guildhall,
        "raid starts its own Guildhall nodes: --url and --target do not apply"
    );
    ensure!(
        (1..=MAX_BATCH).contains(&args.batch),
        "--batch is 1 to {MAX_BATCH} runs"
    );
    ensure!(
        (1..=MAX_MEMBERS).contains(&args.members),
        "--members is 1 to {MAX_MEMBERS} (a level-1 guild's capacity)"
    );
    ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    ensure!(args.nodes > 0, "--nodes must be at least 1");

    let store = Store::fresh("lt_raid_", "ltraid");
    // The server-to-server API key the nodes accept: the run's own.
    let key = format!(
        "lt-{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let hp = BOSS_HP.to_string();
    let env = [
        ("GUILDHALL_GAME__PERKS__RAID_LEVEL", "1"),
        ("GUILDHALL_GAME__RAID__BOSS__HP", hp.as_str()),
        ("GUILDHALL_GAME__WAR__SCHEDULE__ENABLED", "false"),
        ("GUILDHALL_RUNS__MAX_DNA_PER_MINUTE", "1000000000000000"),
    ];
    let extras = GuildhallExtras {
        database_url: Some(&args.database_url),
        database_schema: Some(&store.schema),
        api_key: Some(&key),
        env: &env,
    };
    let started =
        super::start_nodes(common, &args.redis_url, &store.prefix, args.nodes, &extras).await;
    let measured = match started {
        Ok(nodes) => {
            let measured = measure(common, args, &nodes, &key).await;
            for node in nodes {
                node.stop().await;
            }
            measured
        }
        Err(e) => Err(e),
    };
    // Also when a node failed to start: the first may have created the schema.
    let cleanup = store.clean(&args.database_url, &args.redis_url);
    let (mut report, latency, checks) = measured?;
    match cleanup.schema {
        Ok(()) => report
            .notes
            .push(format!("schema {} dropped", store.schema)),
        Err(e) => report
            .notes
            .push(format!("schema {} was not dropped: {e:#}", store.schema)),
    }
    if let Err(e) = cleanup.keys {
        report.notes.push(format!(
            "Redis keys {}:* were not deleted (they expire in a day): {e:#}",
            store.prefix
        ));
    }
    if checks.iter().any(|c| !c.exact) {
        // The figures are still worth seeing, but the run failed.
        println!("{}", report.table());
        let lines: Vec<String> = checks.iter().map(NodeCheck::line).collect();
        bail!(
            "the raid totals are not exact on every node:\n  {}",
            lines.join("\n  ")
        );
    }
    Ok((report, latency))
}

/// The guild, its raid, the load, and the check of every node's board.
async fn measure(
    common: &Common,
    args: &RaidArgs,
    nodes: &[Server],
    key: &str,
) -> anyhow::Result<(Report, Latency, Vec<NodeCheck>)> {
    let addrs: Vec<SocketAddr> = nodes
        .iter()
        .map(|n| gh::socket_addr(&n.url))
        .collect::<anyhow::Result<_>>()?;
    let bar = super::progress(common, "raid");
    bar.set_message(format!("a guild of {} and its raid", args.members));
    let raid = setup(common, args, nodes, &addrs, key).await?;

    bar.set_message(format!(
        "{} connections, batches of {} runs",
        args.concurrency, args.batch
    ));
    let span = super::secs(common.duration);
    let start = Instant::now() + WARMUP;
    let shared = Shared {
        raid,
        members: args.members as u32,
        batch: args.batch,
        window_start: start,
        window_end: start + span,
        pool: Mutex::new(Vec::new()),
        acked: AtomicU64::new(0),
        batches: AtomicU64::new(0),
    };
    let senders = futures::future::join_all(
        (0..args.concurrency)
            .map(|i| sender(i, addrs[i % addrs.len()], key, &shared, rand::random())),
    );
    let sampling = async {
        tokio::time::sleep_until(start.into()).await;
        let server = Sampler::start(Some(common.spawn_core), None);
        let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));
        tokio::time::sleep_until((start + span).into()).await;
        (server.finish(), generator.finish())
    };
    let load = async {
        tokio::pin!(senders);
        loop {
            tokio::select! {
                done = &mut senders => break done,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    let phase = match Instant::now() {
                        t if t < start => "warming up",
                        t if t < start + span => "measuring",
                        _ => "retrying unanswered runs",
                    };
                    bar.set_message(format!(
                        "{phase}: {} runs acknowledged in {} batches",
                        group_thousands(&shared.acked.load(Ordering::Relaxed).to_string()),
                        group_thousands(&shared.batches.load(Ordering::Relaxed).to_string()),
                    ));
                }
            }
        }
    };
    let (tallies, (spent, generator)) = tokio::join!(load, sampling);
    let mut tally = Tally::default();
    for t in tallies {
        tally.merge(t?);
    }

    bar.set_message("waiting for every node's board to show the exact totals");
    let want = Want {
        remaining: BOSS_HP - DAMAGE_PER_DNA * tally.dna,
        runs: tally.new_total,
    };
    let stopped = Instant::now();
    let rss: Vec<String> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let bytes = crate::cpu::rss_bytes(n.pid?).ok()?;
            Some(format!("lt{i} {:.0} MiB", bytes as f64 / (1024.0 * 1024.0)))
        })
        .collect();
    let mut checks = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        checks.push(check_node(format!("lt{i}"), *addr, key, raid, want, stopped).await);
    }
    bar.finish_and_clear();

    let report = report_of(common, args, nodes.len(), &tally, &checks, span, want);
    let mut report = Report {
        server_core_busy: spent.core_busy,
        server_cpu_us_per_delivery: spent
            .core_busy_us
            .filter(|_| tally.new_in_window > 0)
            .map(|us| us / tally.new_in_window as f64),
        ..report
    }
    .with_generator_busy(generator.core_busy.unwrap_or(0.0));
    if let Some(us) = generator.proc_us {
        report.notes.push(format!(
            "the generator process itself used {:.1}% of a core (the rest of core {}'s busy time is other processes)",
            100.0 * us / generator.wall.as_micros().max(1) as f64,
            common.generator_core
        ));
    }
    if !rss.is_empty() {
        report
            .notes
            .push(format!("node RSS after the load: {}", rss.join(", ")));
    }
    report.notes.push(format!(
        "server CPU is core {}'s busy time (all {} nodes; PostgreSQL and Redis are not pinned and count wherever they ran), per acknowledged run",
        common.spawn_core,
        nodes.len()
    ));
    let summary = tally.latency.summary();
    Ok((report.with_latency(&summary), tally.latency, checks))
}

/// Funds the leader, creates the guild and fills it, starts its raid, and waits until every
/// node serves the raid (so every node assigns the members' runs to it). The raid's id.
async fn setup(
    common: &Common,
    args: &RaidArgs,
    nodes: &[Server],
    addrs: &[SocketAddr],
    key: &str,
) -> anyhow::Result<i64> {
    let mut api = Http::connect(addrs[0], key).await?;
    let leader = format!("{USER}0");
    let credit = json!({ "currency": "dna", "amount": 5_000, "idem": format!("fund-{leader}") });
    let (status, reply) = api
        .json(
            "POST",
            &format!("/api/wallets/{leader}/credit"),
            Some(&credit),
        )
        .await?;
    ensure!(status == 200, "crediting {leader}: {status} {reply}");

    let tokens = super::tokens(common);
    let mut ws = gh::connect(&nodes[0].url, None).await?;
    let hello = json!({ "token": tokens.mint(&leader)?, "v": 1 });
    gh::request(&mut ws, 1, "hello", hello).await?;
    let created = gh::request(
        &mut ws,
        2,
        "guild.create",
        json!({ "name": "Raid Bench", "tag": "RAID" }),
    )
    .await?;
    let guild = created["guild"]["id"]
        .as_i64()
        .with_context(|| format!("guild.create answered {created}"))?;
    let _ = ws.close(None).await;
    for i in 1..args.members {
        let user = format!("{USER}{i}");
        let mut ws = gh::connect(&nodes[i % nodes.len()].url, None).await?;
        let hello = json!({ "token": tokens.mint(&user)?, "v": 1 });
        gh::request(&mut ws, 1, "hello", hello).await?;
        gh::request(&mut ws, 2, "guild.join", json!({ "guild": guild }))
            .await
            .with_context(|| format!("{user} joining guild {guild}"))?;
        let _ = ws.close(None).await;
    }

    let (status, board) = api
        .json("POST", "/api/raids", Some(&json!({ "guild": guild })))
        .await?;
    ensure!(status == 200, "starting the raid: {status} {board}");
    let raid = board["raid"]
        .as_i64()
        .with_context(|| format!("the raid's board has no id: {board}"))?;
    ensure!(
        board["hp"] == BOSS_HP && board["remaining"] == BOSS_HP,
        "the boss should have {BOSS_HP} HP (GUILDHALL_GAME__RAID__BOSS__HP): {board}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    for addr in addrs {
        let mut http = Http::connect(*addr, key).await?;
        loop {
            let (status, board) = http
                .json("GET", &format!("/api/raids/{raid}"), None)
                .await?;
            if status == 200 && board["raid"] == raid {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "{addr} does not serve raid {raid}: {status} {board}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(raid)
}

/// What the senders share.
struct Shared {
    raid: i64,
    members: u32,
    batch: usize,
    window_start: Instant,
    window_end: Instant,
    /// Acknowledged runs to repeat (a sample once full).
    pool: Mutex<Vec<Run>>,
    /// For the progress display.
    acked: AtomicU64,
    batches: AtomicU64,
}

impl Shared {
    fn remember(&self, run: &Run, rng: &mut StdRng) {
        let mut pool = self.pool.lock();
        if pool.len() < REPEAT_POOL {
            pool.push(run.clone());
        } else {
            let at = rng.random_range(0..pool.len());
            pool[at] = run.clone();
        }
    }

    fn repeat(&self, rng: &mut StdRng) -> Option<Run> {
        let pool = self.pool.lock();
        if pool.is_empty() {
            return None;
        }
        let mut run = pool[rng.random_range(0..pool.len())].clone();
        run.repeat = true;
        run.tries = 0;
        Some(run)
    }
}

#[derive(Clone, Debug)]
struct Run {
    id: String,
    user: u32,
    dna: u64,
    /// A repeat of an id already acknowledged.
    repeat: bool,
    /// Earlier sends answered `ok: false` (or lost with their connection).
    tries: u32,
}

/// One sender's counts (merged at the end).
#[derive(Default)]
struct Tally {
    /// Batch latency, request sent → reply parsed, for batches answered inside the window.
    latency: Latency,
    batches_in_window: u64,
    /// New runs acknowledged by replies inside the window, before it (warm-up) and after it
    /// (batches in flight when it closed, and retries).
    new_in_window: u64,
    new_before: u64,
    new_after: u64,
    /// New runs acknowledged at all (warm-up and retries after the window included) and the
    /// sum of their DNA: what the raid must count.
    new_total: u64,
    dna: u64,
    repeats_sent: u64,
    /// Repeats answered `duplicate: true`, as they must be.
    repeats_duplicate: u64,
    /// Repeats answered as new runs: counted twice.
    repeats_new: u64,
    /// New runs answered `duplicate: true` on their first send.
    fresh_duplicate: u64,
    /// New runs answered `duplicate: true` after an earlier send failed (it was stored after all).
    retried_duplicate: u64,
    /// Acknowledged new runs the answer did not assign to the raid.
    outside_raid: u64,
    /// `ok: false` answers by error code.
    refused: BTreeMap<String, u64>,
    /// Requests that failed as a whole (connection lost, non-200, unreadable reply).
    failed_requests: u64,
    /// New runs still unacknowledged when retrying gave up.
    unacknowledged: u64,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.latency.merge(&o.latency);
        self.batches_in_window += o.batches_in_window;
        self.new_in_window += o.new_in_window;
        self.new_before += o.new_before;
        self.new_after += o.new_after;
        self.new_total += o.new_total;
        self.dna += o.dna;
        self.repeats_sent += o.repeats_sent;
        self.repeats_duplicate += o.repeats_duplicate;
        self.repeats_new += o.repeats_new;
        self.fresh_duplicate += o.fresh_duplicate;
        self.retried_duplicate += o.retried_duplicate;
        self.outside_raid += o.outside_raid;
        for (code, n) in o.refused {
            *self.refused.entry(code).or_default() += n;
        }
        self.failed_requests += o.failed_requests;
        self.unacknowledged += o.unacknowledged;
    }
}

#[derive(Deserialize)]
struct BatchReply {
    results: Vec<RunResult>,
}

#[derive(Deserialize)]
struct RunResult {
    ok: bool,
    #[serde(default)]
    d: Option<Accepted>,
    #[serde(default)]
    err: Option<Value>,
}

#[derive(Deserialize)]
struct Accepted {
    run_id: String,
    duplicate: bool,
    #[serde(default)]
    raid: Option<i64>,
}

/// The number of repeats in a batch of `n`: 1% of it, the fraction by chance.
fn repeats_in(n: usize, rng: &mut StdRng) -> usize {
    n / 100 + usize::from(rng.random_range(0..100) < n % 100)
}

/// The JSON body of `POST /api/runs/batch`, written directly (ids and users are plain ASCII).
fn batch_body(runs: &[Run], body: &mut Vec<u8>) {
    body.clear();
    body.extend_from_slice(br#"{"runs":["#);
    for (i, r) in runs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let _ = write!(
            body,
            r#"{{"user":"{USER}{}","run_id":"{}","dna":{},"duration_ms":{RUN_MS}}}"#,
            r.user, r.id, r.dna
        );
    }
    body.extend_from_slice(b"]}");
}

/// One connection's closed loop: a batch (retries first, then new runs with ~1% repeats mixed
/// in), its answers, the next batch. After the window only retries are sent, until none is
/// left or [`DRAIN`] has passed.
async fn sender(
    n: usize,
    addr: SocketAddr,
    key: &str,
    shared: &Shared,
    seed: u64,
) -> anyhow::Result<Tally> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut http: Option<Http> = None;
    let mut retry: Vec<Run> = Vec::new();
    let mut seq: u64 = 0;
    let mut body = Vec::with_capacity(shared.batch * 80);
    let give_up = shared.window_end + DRAIN;
    loop {
        let now = Instant::now();
        let loading = now < shared.window_end;
        if !loading && (retry.is_empty() || now > give_up) {
            break;
        }
        let mut runs = std::mem::take(&mut retry);
        if loading {
            let room = shared.batch.saturating_sub(runs.len());
            for _ in 0..repeats_in(room, &mut rng) {
                if let Some(r) = shared.repeat(&mut rng) {
                    tally.repeats_sent += 1;
                    runs.push(r);
                }
            }
            while runs.len() < shared.batch {
                seq += 1;
                runs.push(Run {
                    id: format!("c{n}-{seq}"),
                    user: rng.random_range(0..shared.members),
                    dna: rng.random_range(1..=2_000),
                    repeat: false,
                    tries: 0,
                });
            }
            runs.shuffle(&mut rng);
        }
        batch_body(&runs, &mut body);

        let sent = Instant::now();
        let answer = match http.as_mut() {
            Some(h) => h.request("POST", "/api/runs/batch", &body).await,
            None => match Http::connect(addr, key).await {
                Ok(h) => {
                    http.insert(h)
                        .request("POST", "/api/runs/batch", &body)
                        .await
                }
                Err(e) => Err(e),
            },
        };
        let reply = match answer {
            Ok((200, bytes)) => serde_json::from_slice::<BatchReply>(&bytes)
                .context("an unreadable batch reply")
                .and_then(|r| {
                    ensure!(
                        r.results.len() == runs.len(),
                        "{} results for {} runs",
                        r.results.len(),
                        runs.len()
                    );
                    Ok(r)
                }),
            Ok((status, bytes)) if (400..500).contains(&status) && status != 429 => bail!(
                "POST /api/runs/batch: {status} {}",
                String::from_utf8_lossy(&bytes)
            ),
            Ok((status, bytes)) => Err(anyhow::anyhow!(
                "{status} {}",
                String::from_utf8_lossy(&bytes)
            )),
            Err(e) => Err(e),
        };
        if http.as_ref().is_some_and(|h| h.closed) {
            http = None;
        }
        let reply = match reply {
            Ok(r) => r,
            Err(_) => {
                // Any of these runs may have been stored: all go again, on a new connection.
                tally.failed_requests += 1;
                http = None;
                for r in &mut runs {
                    r.tries += 1;
                }
                retry = runs;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let replied = Instant::now();
        let in_window = replied >= shared.window_start && replied < shared.window_end;
        if in_window {
            tally
                .latency
                .record_us(replied.duration_since(sent).as_micros() as u64);
            tally.batches_in_window += 1;
        }
        shared.batches.fetch_add(1, Ordering::Relaxed);
        for (mut run, result) in runs.into_iter().zip(reply.results) {
            let accepted = match (result.ok, result.d) {
                (true, Some(d)) if d.run_id == run.id => d,
                (ok, _) => {
                    let code = if ok {
                        "unreadable".to_owned()
                    } else {
                        result
                            .err
                            .as_ref()
                            .and_then(|e| e["code"].as_str())
                            .unwrap_or("unknown")
                            .to_owned()
                    };
                    *tally.refused.entry(code).or_default() += 1;
                    run.tries += 1;
                    retry.push(run);
                    continue;
                }
            };
            if run.repeat {
                if accepted.duplicate {
                    tally.repeats_duplicate += 1;
                } else {
                    tally.repeats_new += 1;
                }
                continue;
            }
            if accepted.duplicate {
                if run.tries == 0 {
                    tally.fresh_duplicate += 1;
                } else {
                    tally.retried_duplicate += 1;
                }
            }
            if accepted.raid != Some(shared.raid) {
                tally.outside_raid += 1;
            }
            tally.new_total += 1;
            tally.dna += run.dna;
            if in_window {
                tally.new_in_window += 1;
            } else if replied < shared.window_start {
                tally.new_before += 1;
            } else {
                tally.new_after += 1;
            }
            shared.acked.fetch_add(1, Ordering::Relaxed);
            shared.remember(&run, &mut rng);
        }
        if !retry.is_empty() && retry.len() == shared.batch {
            // Nothing went through: give the node a moment.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tally.unacknowledged = retry.iter().filter(|r| !r.repeat).count() as u64;
    Ok(tally)
}

/// What every node's board must show.
#[derive(Clone, Copy, Debug)]
struct Want {
    remaining: u64,
    runs: u64,
}

struct NodeCheck {
    node: String,
    want: Want,
    remaining: Option<u64>,
    runs: Option<u64>,
    exact: bool,
    /// From the end of the load (and of the nodes checked before) to the exact board.
    after: Duration,
}

impl NodeCheck {
    fn line(&self) -> String {
        let show =
            |v: Option<u64>| v.map_or_else(|| "?".into(), |v| group_thousands(&v.to_string()));
        if self.exact {
            format!(
                "{}: exact: yes (remaining {}, runs {}) {:.1} s after the load",
                self.node,
                show(self.remaining),
                show(self.runs),
                self.after.as_secs_f64()
            )
        } else {
            format!(
                "{}: exact: NO after {:.1} s: remaining {} (want {}), runs {} (want {})",
                self.node,
                self.after.as_secs_f64(),
                show(self.remaining),
                show(Some(self.want.remaining)),
                show(self.runs),
                show(Some(self.want.runs)),
            )
        }
    }
}

/// Polls a node's raid board until it shows `want` or `deadline` passes.
async fn check_node(
    node: String,
    addr: SocketAddr,
    key: &str,
    raid: i64,
    want: Want,
    since: Instant,
) -> NodeCheck {
    let deadline = since + SETTLE;
    let path = format!("/api/raids/{raid}");
    let mut http: Option<Http> = None;
    let (mut remaining, mut runs) = (None, None);
    loop {
        if http.is_none() {
            http = Http::connect(addr, key).await.ok();
        }
        if let Some(h) = http.as_mut() {
            match h.json("GET", &path, None).await {
                Ok((200, board)) => {
                    remaining = board["remaining"].as_u64();
                    runs = board["runs"].as_u64();
                    if remaining == Some(want.remaining) && runs == Some(want.runs) {
                        return NodeCheck {
                            node,
                            want,
                            remaining,
                            runs,
                            exact: true,
                            after: since.elapsed(),
                        };
                    }
                }
                Ok(_) | Err(_) => http = None,
            }
            if http.as_ref().is_some_and(|h| h.closed) {
                http = None;
            }
        }
        if Instant::now() > deadline {
            return NodeCheck {
                node,
                want,
                remaining,
                runs,
                exact: false,
                after: since.elapsed(),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn report_of(
    common: &Common,
    args: &RaidArgs,
    nodes: usize,
    t: &Tally,
    checks: &[NodeCheck],
    span: Duration,
    want: Want,
) -> Report {
    let rate = per_sec(t.new_in_window, span);
    let batches = per_sec(t.batches_in_window, span);
    let exact = checks.iter().filter(|c| c.exact).count();
    let int = |n: u64| group_thousands(&n.to_string());
    let mut notes = vec![
        format!(
            "{nodes} nodes on core {} (Redis at {}, PostgreSQL at {}), generator on core {}",
            common.spawn_core, args.redis_url, args.database_url, common.generator_core
        ),
        format!(
            "closed loop: {} HTTP/1.1 keep-alive connections spread over the nodes, batches of {} runs from {} members; latency is one batch, request sent to reply parsed",
            args.concurrency, args.batch, args.members
        ),
        format!(
            "delivered = new runs acknowledged (durable) by replies inside the window: {} runs/s, {:.1} batches/s",
            int(rate.round() as u64),
            batches
        ),
        format!(
            "repeats: {} sent (~1% of each batch), {} answered duplicate, {} answered as new",
            int(t.repeats_sent),
            int(t.repeats_duplicate),
            int(t.repeats_new)
        ),
        format!(
            "the raid must count {} runs and have {} HP left: the {} acknowledged new runs ({} in the window, {} in the warm-up, {} after it) dealt 10 × {} DNA",
            int(want.runs),
            int(want.remaining),
            int(t.new_total),
            int(t.new_in_window),
            int(t.new_before),
            int(t.new_after),
            int(t.dna)
        ),
    ];
    notes.extend(checks.iter().map(NodeCheck::line));
    if !t.refused.is_empty() {
        let codes: Vec<String> = t
            .refused
            .iter()
            .map(|(code, n)| format!("{} {code}", int(*n)))
            .collect();
        notes.push(format!(
            "answered ok:false and sent again: {}",
            codes.join(", ")
        ));
    }
    if t.failed_requests > 0 {
        notes.push(format!(
            "{} batch requests failed as a whole (connection lost, not 200 or unreadable) and were sent again",
            int(t.failed_requests)
        ));
    }
    for (n, what) in [
        (
            t.repeats_new,
            "repeats of acknowledged ids answered as new runs",
        ),
        (
            t.fresh_duplicate,
            "new runs answered duplicate on their first send",
        ),
        (
            t.retried_duplicate,
            "new runs answered duplicate when sent again after a failure (stored the first time)",
        ),
        (
            t.outside_raid,
            "acknowledged new runs not assigned to the raid",
        ),
        (
            t.unacknowledged,
            "new runs never acknowledged (retries gave up)",
        ),
    ] {
        if n > 0 {
            notes.push(format!("{}: {what}", int(n)));
        }
    }
    notes.push(format!("warm-up {} s discarded", WARMUP.as_secs()));
    Report {
        scenario: "raid".into(),
        target: "guildhall".into(),
        conns: args.concurrency as u64,
        duration_s: span.as_secs_f64(),
        delivered: t.new_in_window,
        delivered_per_sec: rate,
        summary: Some(format!(
            "{} acknowledged runs/s (new, durable) through {nodes} nodes, {:.1} batches/s of {}, batch p99 {} ms; exact totals on {exact} of {} nodes",
            int(rate.round() as u64),
            batches,
            args.batch,
            int(t.latency.summary().p99_ms.round() as u64),
            checks.len()
        )),
        notes,
        ..Report::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_bodies_are_the_api_s_json() {
        let runs = [
            Run {
                id: "c1-1".into(),
                user: 3,
                dna: 17,
                repeat: false,
                tries: 0,
            },
            Run {
                id: "c2-9".into(),
                user: 0,
                dna: 2_000,
                repeat: true,
                tries: 1,
            },
        ];
        let mut body = Vec::new();
        batch_body(&runs, &mut body);
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            v,
            json!({ "runs": [
                { "user": "raider3", "run_id": "c1-1", "dna": 17, "duration_ms": 60_000 },
                { "user": "raider0", "run_id": "c2-9", "dna": 2_000, "duration_ms": 60_000 },
            ] })
        );
    }

    #[test]
    fn about_one_percent_repeats() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(repeats_in(500, &mut rng), 5);
        assert_eq!(repeats_in(0, &mut rng), 0);
        let total: usize = (0..10_000).map(|_| repeats_in(50, &mut rng)).sum();
        assert!((4_500..5_500).contains(&total), "{total}");
    }
}
