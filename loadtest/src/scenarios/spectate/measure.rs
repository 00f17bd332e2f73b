//! The parent's measurement: the ramp, the window, the drain, and the report.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::json;
use tokio::sync::mpsc;

use super::accounting::{plan, Counts, WindowMoves};
use super::owner::Owner;
use super::protocol::{spawn_worker, tell, Down, Heard, Up, PROGRESS_EVERY};
use super::worker::JOIN_ROUNDS;
use super::SpectateArgs;
use crate::cli::Common;
use crate::cpu::Sampler;
use crate::report::Report;
use crate::stats::{per_sec, Latency};
use crate::text::now_us;

/// Moves before the window, so it starts in the steady state.
const WARMUP: Duration = Duration::from_secs(1);
/// After the last move, at least this long for its deliveries and the owner's replies.
const DRAIN: Duration = Duration::from_secs(2);
/// How long the spectators may take to join, in all.
const RAMP_TIMEOUT: Duration = Duration::from_secs(900);
/// The drain ends when the window's deliveries stop growing for this long (or all came).
const DRAIN_STALL: Duration = Duration::from_secs(3);
/// The longest drain: a server far behind is reported as such, not waited for.
const DRAIN_MAX: Duration = Duration::from_secs(120);

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

pub(super) async fn measure(
    common: &Common,
    args: &SpectateArgs,
    urls: &[String],
    pids: &[u32],
    core: Option<usize>,
) -> anyhow::Result<(Report, Latency)> {
    let bar = crate::scenarios::progress(common, "spectate");
    let tokens = crate::scenarios::tokens(common);
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
    let span = crate::scenarios::secs(common.duration);
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
    crate::scenarios::fanout::fill_cpu(&mut report, &spent, total.in_span);
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

    #[test]
    fn clock_is_utc_time_of_day() {
        // 2026-11-24T05:23:15.678Z
        assert_eq!(clock(1_795_497_795_678_123), "05:23:15.678");
        assert_eq!(clock(0), "00:00:00.000");
    }
}
