//! `connect`: a connection storm; each handshake is TCP + WebSocket upgrade + JWT hello +
//! room join, then the connection closes. Reports handshakes per second.

use std::time::Instant;

use clap::Args;
use futures::StreamExt;

use crate::cli::{Common, TargetKind};
use crate::cpu::Sampler;
use crate::gh;
use crate::report::Report;
use crate::stats::{per_sec, Latency};
use crate::target::Server;

#[derive(Clone, Debug, Args)]
pub struct ConnectArgs {
    /// Handshakes in total.
    #[arg(long, default_value_t = 20_000)]
    pub conns: usize,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
}

pub async fn run(
    common: &Common,
    args: &ConnectArgs,
    server: &Server,
) -> anyhow::Result<(Report, Latency)> {
    if common.target != TargetKind::Guildhall {
        anyhow::bail!("connect runs against guildhall only");
    }
    let tokens = super::tokens(common);
    let bar = super::progress(common, "connect");
    bar.set_message(format!(
        "{} handshakes, {} at a time",
        args.conns, args.concurrency
    ));
    let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));
    let sampler = Sampler::start(server.core, server.pid);
    let started = Instant::now();
    let url = server.url.clone();
    let outcomes: Vec<anyhow::Result<u64>> = futures::stream::iter(0..args.conns)
        .map(|n| {
            let (url, tokens) = (url.clone(), tokens.clone());
            async move {
                let t = Instant::now();
                let mut ws = gh::member(
                    &url,
                    Some(gh::source_ip(n)),
                    &tokens,
                    &format!("c{n}"),
                    &format!("chan:storm-{}", n % 100),
                )
                .await?;
                let us = t.elapsed().as_micros() as u64;
                let _ = ws.close(None).await;
                Ok(us)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let spent = sampler.finish();
    let gen = generator.finish();
    bar.finish_and_clear();
    let mut latency = Latency::new();
    let mut failed = 0;
    for outcome in &outcomes {
        match outcome {
            Ok(us) => latency.record_us(*us),
            Err(_) => failed += 1,
        }
    }
    let ok = latency.len();
    let mut report = Report {
        scenario: "connect".into(),
        target: common.target.name().into(),
        conns: ok,
        duration_s: elapsed.as_secs_f64(),
        handshakes_per_sec: Some(per_sec(ok, elapsed)),
        server_core_busy: spent.core_busy,
        ..Report::default()
    }
    .with_generator_busy(gen.core_busy.unwrap_or(0.0));
    if ok > 0 {
        if let Some(us) = spent.core_busy_us.or(spent.proc_us) {
            report.notes.push(format!(
                "server CPU per handshake: {:.1} µs",
                us / ok as f64
            ));
        }
    }
    if failed > 0 {
        report.notes.push(format!("{failed} handshakes failed"));
    }
    report
        .notes
        .push("latency: one handshake, TCP connect to join reply".into());
    let summary = latency.summary();
    Ok((report.with_latency(&summary), latency))
}
