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

mod accounting;
mod measure;
mod owner;
mod protocol;
mod worker;

use anyhow::ensure;
use clap::Args;

use crate::cli::{Common, TargetKind};
use crate::report::Report;
use crate::stats::Latency;
use crate::target::{GuildhallExtras, Server, Store};

pub use worker::{worker, WorkerArgs};

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
    let store = Store::fresh("lt_spectate_", "ltspec");
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
        let extras = GuildhallExtras {
            database_url: Some(&args.database_url),
            database_schema: Some(&store.schema),
            ..GuildhallExtras::default()
        };
        let started = crate::scenarios::start_nodes(
            common,
            &args.redis_url,
            &store.prefix,
            args.nodes,
            &extras,
        )
        .await;
        nodes = match started {
            Ok(nodes) => nodes,
            Err(e) => {
                clean(&store, args);
                return Err(e);
            }
        };
        let urls = nodes.iter().map(|n| n.url.clone()).collect();
        let pids = nodes.iter().filter_map(|n| n.pid).collect();
        (urls, pids, Some(common.spawn_core))
    };
    let outcome = measure::measure(common, args, &urls, &pids, core).await;
    let started_here = !nodes.is_empty();
    for node in nodes {
        node.stop().await;
    }
    let cleaned = if started_here {
        clean(&store, args)
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
            store.prefix,
            args.database_url,
            store.schema
        ));
    }
    report.notes.extend(cleaned);
    Ok((report, latency))
}

/// Drops the run's schema and deletes its Redis keys; what could not be done, as notes.
fn clean(store: &Store, args: &SpectateArgs) -> Vec<String> {
    let cleanup = store.clean(&args.database_url, &args.redis_url);
    let mut notes = Vec::new();
    if let Err(e) = cleanup.schema {
        notes.push(format!("schema {} was not dropped: {e:#}", store.schema));
    }
    if let Err(e) = cleanup.keys {
        notes.push(format!(
            "Redis keys {}:* were not deleted: {e:#}",
            store.prefix
        ));
    }
    notes
}
