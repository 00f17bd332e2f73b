//! The parent ↔ worker protocol: the JSON-line messages each way, and starting a worker
//! process and telling it things.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::accounting::Counts;
use super::SpectateArgs;
use crate::cli::Common;

/// How often a worker reports the window's deliveries while the parent drains.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Up {
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
pub(super) enum Down {
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

pub(super) fn emit(up: &Up) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, up)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

pub(super) struct Worker {
    pub(super) child: Child,
    stdin: ChildStdin,
}

pub(super) enum Heard {
    Up(Up),
    Gone(String),
}

/// Starts worker `index`, which joins spectators `first .. first + count` to `room` on `url`.
pub(super) fn spawn_worker(
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

pub(super) async fn tell(worker: &mut Worker, down: &Down) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(down)?;
    line.push(b'\n');
    worker.stdin.write_all(&line).await?;
    worker.stdin.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
