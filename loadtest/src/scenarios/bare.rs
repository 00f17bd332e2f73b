//! `bare`: the physical floor. A bare TCP writer (no WebSocket, no runtime, one thread, pinned
//! to the server core) sends frames of the same size as the fan-out's to N loopback sockets,
//! one write per frame per socket; the generator reads them as it reads Guildhall's. What
//! a delivery costs the server core here is what the kernel alone charges for it.
//!
//! With `--batch-us` it writes instead on a fixed tick: every frame that fell due since the
//! last tick goes to each socket in one write. That is the least a writer can do for a given
//! added latency, so it bounds what any write coalescing can reach on this core.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clap::Args;
use tokio::io::AsyncReadExt;

use super::members::Tally;
use crate::cli::Common;
use crate::cpu::Sampler;
use crate::report::Report;
use crate::stats::{per_sec, Latency};
use crate::text::{now_us, stamp_of, stamped};

#[derive(Clone, Debug, Args)]
pub struct BareArgs {
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Messages per second, each written to every subscriber.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Frame size, bytes (a 100-byte chat message is a ~230-byte chat.msg push).
    #[arg(long, default_value_t = 230)]
    pub frame: usize,
    /// Write on a tick of this many µs, all frames due since the last tick in one write per
    /// socket (0: one write per frame, as it falls due).
    #[arg(long, default_value_t = 0)]
    pub batch_us: u64,
}

#[derive(Clone, Debug, Args)]
pub struct BareServerArgs {
    #[arg(long)]
    pub port: u16,
    #[arg(long)]
    pub subscribers: usize,
    #[arg(long)]
    pub rate: f64,
    #[arg(long)]
    pub frame: usize,
    /// Seconds to write for.
    #[arg(long)]
    pub seconds: f64,
    #[arg(long, default_value_t = 0)]
    pub batch_us: u64,
}

/// The writer side, run as its own process on the server core.
pub fn serve(args: &BareServerArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", args.port))?;
    let mut socks: Vec<TcpStream> = Vec::with_capacity(args.subscribers);
    while socks.len() < args.subscribers {
        let (s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        socks.push(s);
    }
    // Wait for the go byte from the generator's first connection.
    let mut go = [0u8; 1];
    socks[0].read_exact(&mut go)?;
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let batch = Duration::from_micros(args.batch_us);
    let started = Instant::now();
    let started_us = now_us();
    let until = started + Duration::from_secs_f64(args.seconds);
    let mut sent: u32 = 0;
    let mut out = Vec::with_capacity(args.frame * 16);
    while Instant::now() < until {
        let wake = write_at(interval * sent, batch);
        if let Some(wait) = (started + wake).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // Frames carry their intended send time: a writer that falls behind shows it as
        // latency, as the open-loop publishers do.
        out.clear();
        let elapsed = started.elapsed();
        while interval * sent <= elapsed {
            let due_us = started_us + (interval * sent).as_micros() as u64;
            let frame = stamped(due_us, u64::from(sent), args.frame);
            out.extend_from_slice(&frame.as_bytes()[..args.frame]);
            sent += 1;
            if batch.is_zero() {
                break;
            }
        }
        for s in &mut socks {
            s.write_all(&out)?;
        }
    }
    Ok(())
}

/// When the writer next writes, counted from its start: when the next frame falls due, or,
/// on a tick, the first tick at or after it.
fn write_at(next_due: Duration, batch: Duration) -> Duration {
    if batch.is_zero() {
        return next_due;
    }
    let ticks = next_due.as_nanos().div_ceil(batch.as_nanos());
    batch * u32::try_from(ticks).unwrap_or(u32::MAX)
}

pub async fn run(common: &Common, args: &BareArgs) -> anyhow::Result<(Report, Latency)> {
    let port = crate::target::free_port()?;
    let span = super::secs(common.duration);
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new("taskset")
        .arg("-c")
        .arg(common.spawn_core.to_string())
        .arg(exe)
        .args([
            "bare-server",
            "--port",
            &port.to_string(),
            "--subscribers",
            &args.subscribers.to_string(),
        ])
        .args([
            "--rate",
            &args.rate.to_string(),
            "--frame",
            &args.frame.to_string(),
        ])
        .args(["--seconds", &span.as_secs_f64().to_string()])
        .args(["--batch-us", &args.batch_us.to_string()])
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let mut socks = Vec::with_capacity(args.subscribers);
    for n in 0..args.subscribers {
        let mut attempt = 0;
        let sock = loop {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::new(crate::gh::source_ip(n), 0))?;
            match socket
                .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                .await
            {
                Ok(s) => break s,
                Err(_) if attempt < 100 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        socks.push(sock);
    }
    let tally = Tally::new();
    tally.open_window(span + Duration::from_secs(1));
    let frame = args.frame;
    let generator = Sampler::start(Some(common.generator_core), Some(std::process::id()));
    let sampler = Sampler::start(Some(common.spawn_core), pid);
    let mut readers = Vec::new();
    for (i, mut sock) in socks.into_iter().enumerate() {
        if i == 0 {
            tokio::io::AsyncWriteExt::write_all(&mut sock, b"g").await?;
        }
        let tally = tally.clone();
        readers.push(tokio::spawn(async move {
            let mut buf = vec![0u8; frame * 64];
            let mut have = 0;
            loop {
                match sock.read(&mut buf[have..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => have += n,
                }
                let whole = have / frame * frame;
                for chunk in buf[..whole].chunks(frame) {
                    if let Some(stamp) = stamp_of(chunk) {
                        tally.record_stamp(stamp);
                    }
                }
                buf.copy_within(whole..have, 0);
                have -= whole;
            }
        }));
    }
    child.wait().await?;
    for r in readers {
        let _ = r.await;
    }
    let spent = sampler.finish();
    let gen = generator.finish();
    let latency = tally.take();
    let mut report = Report {
        scenario: "bare".into(),
        target: "bare-tcp".into(),
        conns: args.subscribers as u64,
        duration_s: span.as_secs_f64(),
        offered_per_sec: args.rate,
        delivered: latency.len(),
        delivered_per_sec: per_sec(latency.len(), span),
        ..Report::default()
    }
    .with_generator_busy(gen.core_busy.unwrap_or(0.0));
    if args.batch_us > 0 {
        report
            .notes
            .push(format!("one write per socket every {} µs", args.batch_us));
    }
    super::fanout::fill_cpu(&mut report, &spent, latency.len());
    let summary = latency.summary();
    Ok((report.with_latency(&summary), latency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbatched_writes_fall_on_each_frame() {
        let due = Duration::from_micros(5_988);
        assert_eq!(write_at(due, Duration::ZERO), due);
    }

    #[test]
    fn batched_writes_fall_on_the_first_tick_at_or_after_the_frame() {
        let tick = Duration::from_millis(10);
        assert_eq!(write_at(Duration::ZERO, tick), Duration::ZERO);
        assert_eq!(write_at(Duration::from_millis(6), tick), tick);
        assert_eq!(
            write_at(tick, tick),
            tick,
            "a frame due on a tick goes with it"
        );
        assert_eq!(
            write_at(Duration::from_micros(10_001), tick),
            Duration::from_millis(20)
        );
    }
}
