//! What a core and a process spent, read from `/proc`. A core's busy time includes the
//! kernel's softirq work for loopback traffic, which the process's own rusage misses.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context;

/// Clock ticks per second of `/proc` times.
pub fn clk_tck() -> u64 {
    // Asked once: it cannot change while the process runs, and `Sampler::start` needs it at
    // the start of a measured span, on the generator's own thread, where forking `getconf`
    // would be counted as the generator's work.
    static CLK_TCK: OnceLock<u64> = OnceLock::new();
    *CLK_TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Busy and total ticks of one core since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreTicks {
    pub busy: u64,
    pub total: u64,
}

/// Parses the `cpuN` line of `/proc/stat` text.
pub fn parse_core(stat: &str, core: usize) -> Option<CoreTicks> {
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    if v.len() < 8 {
        return None;
    }
    let idle = v[3] + v[4];
    let total: u64 = v[..8].iter().sum();
    Some(CoreTicks {
        busy: total - idle,
        total,
    })
}

pub fn read_core(core: usize) -> anyhow::Result<CoreTicks> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_core(&stat, core).with_context(|| format!("no cpu{core} in /proc/stat"))
}

/// utime + stime of a process, in ticks, from `/proc/<pid>/stat` text.
pub fn parse_proc_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' come: state(0) ppid(1) ... utime(11) stime(12).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn read_proc_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_proc_ticks(&stat).context("unreadable /proc/<pid>/stat")
}

/// Resident memory of a process, bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    parse_rss(&status).context("no VmRSS")
}

pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU spent over a span of wall time by a core and, optionally, a process.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spent {
    /// Busy share of the core (0..1), when a core was named.
    pub core_busy: Option<f64>,
    /// Busy microseconds of the core.
    pub core_busy_us: Option<f64>,
    /// CPU microseconds of the process.
    pub proc_us: Option<f64>,
    pub wall: Duration,
}

/// Samples a core and a process at the start of a span; `finish` gives what they spent.
pub struct Sampler {
    core: Option<(usize, CoreTicks)>,
    proc: Option<(u32, u64)>,
    started: Instant,
    tck: u64,
}

impl Sampler {
    pub fn start(core: Option<usize>, pid: Option<u32>) -> Self {
        // Before the first readings, so that the process's one `getconf` is not in the span.
        let tck = clk_tck();
        Self {
            core: core.and_then(|c| read_core(c).ok().map(|t| (c, t))),
            proc: pid.and_then(|p| read_proc_ticks(p).ok().map(|t| (p, t))),
            started: Instant::now(),
            tck,
        }
    }

    pub fn finish(&self) -> Spent {
        let us_per_tick = 1_000_000.0 / self.tck as f64;
        let mut spent = Spent {
            wall: self.started.elapsed(),
            ..Spent::default()
        };
        if let Some((core, before)) = self.core {
            if let Ok(after) = read_core(core) {
                let busy = after.busy.saturating_sub(before.busy);
                let total = after.total.saturating_sub(before.total).max(1);
                spent.core_busy = Some(busy as f64 / total as f64);
                spent.core_busy_us = Some(busy as f64 * us_per_tick);
            }
        }
        if let Some((pid, before)) = self.proc {
            if let Ok(after) = read_proc_ticks(pid) {
                spent.proc_us = Some(after.saturating_sub(before) as f64 * us_per_tick);
            }
        }
        spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_cores() {
        let stat =
            "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 1 4 50 2 1 3 0 0 0\ncpu1 5 0 6 50 0 0 0 0 0 0\n";
        assert_eq!(
            parse_core(stat, 0),
            Some(CoreTicks {
                busy: 14,
                total: 66
            })
        );
        assert_eq!(
            parse_core(stat, 1),
            Some(CoreTicks {
                busy: 11,
                total: 61
            })
        );
        assert_eq!(parse_core(stat, 2), None);
    }

    #[test]
    fn parses_process_times_and_rss() {
        let stat = "1234 (guild hall) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 100 1000 200";
        assert_eq!(parse_proc_ticks(stat), Some(325));
        assert_eq!(
            parse_rss("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2 * 1024 * 1024)
        );
        assert_eq!(parse_rss("Name:\tx\n"), None);
    }

    #[test]
    fn samples_this_process() {
        let sampler = Sampler::start(Some(0), Some(std::process::id()));
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let spent = sampler.finish();
        assert!(spent.core_busy.is_some_and(|b| (0.0..=1.0).contains(&b)));
        assert!(spent.proc_us.is_some());
    }
}
