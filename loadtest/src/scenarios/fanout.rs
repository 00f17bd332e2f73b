//! `fanout`: N subscribers in one room, P publishers, open-loop publishing at a fixed total
//! rate; `--sweep` raises the rate step by step and reports the knee.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::members::{self, Sender, Tally, Target};
use crate::cli::{Common, TargetKind};
use crate::cpu::Sampler;
use crate::report::Report;
use crate::stats::{knee, per_sec, Latency, SweepStep};
use crate::target::Server;

#[derive(Clone, Debug, Args)]
pub struct FanoutArgs {
    /// Subscribers in the room.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Publishing connections (members too).
    #[arg(long, default_value_t = 4)]
    pub publishers: usize,
    /// Messages published per second, in total.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Message text size, bytes.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Raise the rate step by step until delivery stops tracking it or p99 passes 100 ms.
    #[arg(long)]
    pub sweep: bool,
    /// First sweep rate (messages/s).
    #[arg(long, default_value_t = 100.0)]
    pub sweep_start: f64,
    /// Each sweep step multiplies the rate by this.
    #[arg(long, default_value_t = 1.5)]
    pub sweep_factor: f64,
    /// Most sweep steps.
    #[arg(long, default_value_t = 16)]
    pub sweep_steps: usize,
    /// Concurrent handshakes while connecting.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

/// Time after a step for messages still in flight to arrive.
const DRAIN: Duration = Duration::from_millis(1500);
const WARMUP: Duration = Duration::from_secs(1);

pub struct Fleet {
    pub tally: Arc<Tally>,
    pub publishers: Vec<Sender>,
    pub members: usize,
    pub stop: CancellationToken,
    _subscribers: Vec<Sender>,
}

pub fn target_of(common: &Common, server: &Server) -> Target {
    match common.target {
        TargetKind::Guildhall => Target::Guildhall {
            url: server.url.clone(),
            tokens: super::tokens(common),
        },
        TargetKind::Socketio => Target::SocketIo {
            url: server.url.clone(),
        },
    }
}

/// Connects the subscribers and publishers of one room (publishers are numbered after them),
/// spread over the targets.
pub async fn fleet(
    targets: &[Target],
    room: &str,
    subscribers: usize,
    publishers: usize,
    concurrency: usize,
) -> anyhow::Result<Fleet> {
    let tally = Tally::new();
    let stop = CancellationToken::new();
    let subs = members::join_many(
        targets,
        0,
        subscribers,
        concurrency,
        |_| room.to_owned(),
        &tally,
        &stop,
    )
    .await?;
    let pubs = members::join_many(
        targets,
        subscribers,
        publishers,
        concurrency,
        |_| room.to_owned(),
        &tally,
        &stop,
    )
    .await?;
    Ok(Fleet {
        tally,
        publishers: pubs,
        members: subscribers + publishers,
        stop,
        _subscribers: subs,
    })
}

/// One measured step: publish at `rate` for `span`, wait for stragglers, return what was
/// counted and what the server's core and process spent.
pub async fn step(
    fleet: &mut Fleet,
    rate: f64,
    span: Duration,
    size: usize,
    server: &Server,
) -> anyhow::Result<(Latency, crate::cpu::Spent, u64)> {
    fleet.tally.take();
    fleet.tally.open_window(span);
    let sampler = Sampler::start(server.core, server.pid);
    let until = Instant::now() + span;
    let publishers = fleet.publishers.len().max(1);
    let per_publisher = rate / publishers as f64;
    let sends = fleet.publishers.iter_mut().enumerate().map(|(i, p)| {
        members::publish(p, per_publisher, until, size, i as f64 / publishers as f64)
    });
    let mut published = 0;
    for sent in futures::future::join_all(sends).await {
        published += sent?;
    }
    tokio::time::sleep(DRAIN).await;
    let spent = sampler.finish();
    Ok((fleet.tally.take(), spent, published))
}

pub async fn run(
    common: &Common,
    args: &FanoutArgs,
    server: &Server,
) -> anyhow::Result<(Report, Latency)> {
    let target = target_of(common, server);
    run_on(common, args, server, &[target], "fanout").await
}

/// The fan-out over one or several nodes; `server` is where CPU and memory are read.
pub async fn run_on(
    common: &Common,
    args: &FanoutArgs,
    server: &Server,
    targets: &[Target],
    scenario: &str,
) -> anyhow::Result<(Report, Latency)> {
    let bar = super::progress(common, scenario);
    bar.set_message(format!(
        "connecting {} subscribers and {} publishers",
        args.subscribers, args.publishers
    ));
    let mut fleet = fleet(
        targets,
        "chan:fanout",
        args.subscribers,
        args.publishers,
        args.connect_concurrency,
    )
    .await?;
    let rss = server.pid.and_then(|p| crate::cpu::rss_bytes(p).ok());
    let span = super::secs(common.duration);
    let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));

    bar.set_message("warming up");
    let first_rate = if args.sweep {
        args.sweep_start
    } else {
        args.rate
    };
    step(&mut fleet, first_rate, WARMUP, args.size, server).await?;

    let mut report = Report {
        scenario: scenario.into(),
        target: common.target.name().into(),
        conns: fleet.members as u64,
        duration_s: span.as_secs_f64(),
        rss_bytes: rss,
        ..Report::default()
    };
    let mut total = Latency::new();
    if args.sweep {
        let mut rate = args.sweep_start;
        for _ in 0..args.sweep_steps {
            bar.set_message(format!("sweep at {rate:.0} msg/s"));
            let (latency, _, published) = step(&mut fleet, rate, span, args.size, server).await?;
            let summary = latency.summary();
            let s = SweepStep {
                offered_per_sec: rate,
                delivered_per_sec: per_sec(latency.len(), span),
                // From what was actually published (whole messages), not the nominal rate.
                expected_per_sec: per_sec(published * fleet.members as u64, span),
                p99_ms: summary.p99_ms,
            };
            let failed = !s.keeps_up(0.95, 100.0);
            report.sweep.push(s);
            if latency.len() > total.len() {
                total = latency;
            }
            if failed {
                break;
            }
            rate *= args.sweep_factor;
        }
        report.knee_per_sec = knee(&report.sweep, 0.95, 100.0);
        let best = report
            .sweep
            .iter()
            .map(|s| s.delivered_per_sec)
            .fold(0.0, f64::max);
        report.delivered_per_sec = best;
        report
            .notes
            .push("sweep: delivered_per_sec is the best step; latency is that step's".into());
    } else {
        bar.set_message(format!(
            "publishing {:.0} msg/s to {} members",
            args.rate, fleet.members
        ));
        let (latency, spent, published) =
            step(&mut fleet, args.rate, span, args.size, server).await?;
        report.offered_per_sec = args.rate;
        report.delivered = latency.len();
        report.delivered_per_sec = per_sec(latency.len(), span);
        let expected = published * fleet.members as u64;
        if latency.len() < expected {
            report.notes.push(format!(
                "delivered {} of {expected} expected deliveries",
                latency.len()
            ));
        }
        fill_cpu(&mut report, &spent, latency.len());
        total = latency;
    }
    let gen = generator.finish();
    report = report.with_generator_busy(gen.core_busy.unwrap_or(0.0));
    let errors = fleet.tally.errors.load(Ordering::Relaxed);
    let closed = fleet.tally.closed.load(Ordering::Relaxed);
    if errors + closed > 0 {
        report.notes.push(format!(
            "{errors} error replies, {closed} connections closed"
        ));
    }
    fleet.stop.cancel();
    bar.finish_and_clear();
    let summary = total.summary();
    Ok((report.with_latency(&summary), total))
}

/// Server CPU per delivery, from the core's busy time when the core is known (it includes
/// the kernel's loopback work), else from the process's own CPU time.
pub fn fill_cpu(report: &mut Report, spent: &crate::cpu::Spent, deliveries: u64) {
    report.server_core_busy = spent.core_busy;
    let us = spent.core_busy_us.or(spent.proc_us);
    if deliveries > 0 {
        report.server_cpu_us_per_delivery = us.map(|us| us / deliveries as f64);
        if let (Some(core), Some(process)) = (spent.core_busy_us, spent.proc_us) {
            report.notes.push(format!(
                "per delivery: {:.3} µs in the server process, {:.3} µs in the kernel's softirq and other work on its core",
                process / deliveries as f64,
                (core - process).max(0.0) / deliveries as f64
            ));
        }
    }
}
