//! `rooms`: many guild-sized rooms (50 members) with chat at a realistic rate; one member of
//! each room talks.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::fanout::{fill_cpu, target_of};
use super::members::{self, Tally};
use crate::cli::Common;
use crate::cpu::Sampler;
use crate::report::Report;
use crate::stats::{per_sec, Latency};
use crate::target::Server;

#[derive(Clone, Debug, Args)]
pub struct RoomsArgs {
    #[arg(long, default_value_t = 200)]
    pub rooms: usize,
    #[arg(long, default_value_t = 50)]
    pub members: usize,
    /// Messages per second in each room.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

pub async fn run(
    common: &Common,
    args: &RoomsArgs,
    server: &Server,
) -> anyhow::Result<(Report, Latency)> {
    let target = target_of(common, server);
    let bar = super::progress(common, "rooms");
    let size = args.members.max(1);
    bar.set_message(format!("connecting {} rooms of {size}", args.rooms));
    let tally: Arc<Tally> = Tally::new();
    let stop = CancellationToken::new();
    let all = members::join_many(
        std::slice::from_ref(&target),
        0,
        args.rooms * size,
        args.connect_concurrency,
        |n| format!("chan:guild-{}", n / size),
        &tally,
        &stop,
    )
    .await?;
    let (mut talkers, _listeners): (Vec<_>, Vec<_>) = all
        .into_iter()
        .enumerate()
        .partition(|(n, _)| n % size == 0);
    let span = super::secs(common.duration);
    let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));
    bar.set_message(format!(
        "{} msg/s in each of {} rooms",
        args.rate, args.rooms
    ));
    tally.open_window(span);
    let sampler = Sampler::start(server.core, server.pid);
    let until = Instant::now() + span;
    // Rooms talk independently: their schedules are spread over one interval.
    let rooms = talkers.len().max(1) as f64;
    let sends = talkers
        .iter_mut()
        .enumerate()
        .map(|(i, (_, s))| members::publish(s, args.rate, until, args.size, i as f64 / rooms));
    for sent in futures::future::join_all(sends).await {
        sent?;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let spent = sampler.finish();
    let latency = tally.take();
    let gen = generator.finish();
    stop.cancel();
    bar.finish_and_clear();
    let mut report = Report {
        scenario: "rooms".into(),
        target: common.target.name().into(),
        conns: (args.rooms * size) as u64,
        duration_s: span.as_secs_f64(),
        offered_per_sec: args.rate * args.rooms as f64,
        delivered: latency.len(),
        delivered_per_sec: per_sec(latency.len(), span),
        rss_bytes: server.pid.and_then(|p| crate::cpu::rss_bytes(p).ok()),
        ..Report::default()
    }
    .with_generator_busy(gen.core_busy.unwrap_or(0.0));
    fill_cpu(&mut report, &spent, latency.len());
    let summary = latency.summary();
    Ok((report.with_latency(&summary), latency))
}
