//! `idle`: C authenticated connections joined to rooms, doing nothing; reports the server's
//! resident memory per connection.

use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::fanout::target_of;
use super::members::{self, Tally};
use crate::cli::Common;
use crate::report::Report;
use crate::target::Server;

#[derive(Clone, Debug, Args)]
pub struct IdleArgs {
    /// Connections to hold (a process may have at most 20,000 open files here).
    #[arg(long, default_value_t = 10_000)]
    pub conns: usize,
    /// Members per room.
    #[arg(long, default_value_t = 50)]
    pub room_size: usize,
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
}

pub async fn run(common: &Common, args: &IdleArgs, server: &Server) -> anyhow::Result<Report> {
    let pid = server.pid.ok_or_else(|| {
        anyhow::anyhow!("idle needs the server's pid (--server-pid) to read its memory")
    })?;
    let target = target_of(common, server);
    let bar = super::progress(common, "idle");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = crate::cpu::rss_bytes(pid)?;
    bar.set_message(format!("opening {} connections", args.conns));
    let tally = Tally::new();
    let stop = CancellationToken::new();
    let room_size = args.room_size.max(1);
    let held = members::join_many(
        std::slice::from_ref(&target),
        0,
        args.conns,
        args.connect_concurrency,
        |n| format!("chan:idle-{}", n / room_size),
        &tally,
        &stop,
    )
    .await?;
    bar.set_message("settling");
    tokio::time::sleep(super::secs(common.duration)).await;
    let after = crate::cpu::rss_bytes(pid)?;
    let closed = tally.closed.load(Ordering::Relaxed);
    stop.cancel();
    drop(held);
    bar.finish_and_clear();
    let conns = args.conns as u64;
    let mut report = Report {
        scenario: "idle".into(),
        target: common.target.name().into(),
        conns,
        duration_s: common.duration,
        rss_bytes: Some(after),
        rss_bytes_per_conn: Some(after.saturating_sub(before) as f64 / conns.max(1) as f64),
        ..Report::default()
    };
    report.notes.push(format!(
        "server RSS {before} bytes before connecting, {after} with {conns} connections"
    ));
    if closed > 0 {
        report
            .notes
            .push(format!("{closed} connections closed while idle"));
    }
    Ok(report)
}
