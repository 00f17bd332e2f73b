//! The result of one load-test run: a human-readable table for the terminal and a JSON file
//! for tooling. The JSON keys are the field names of [`Report`] and are public API: scripts
//! and the benchmark write-up read them, so renaming a field is a breaking change.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::stats::{LatencySummary, SweepStep};

/// Share of the generator's core above which its figures are the generator's limit rather
/// than the server's.
pub const GENERATOR_SATURATED_BUSY: f64 = 0.90;

/// Everything one run measured. Options are None when the scenario or platform cannot
/// measure them (e.g. RSS of a remote server); they serialise as `null`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// "fanout", "rooms", "idle", "connect", "cluster", "bare", "raid" or "spectate".
    pub scenario: String,
    /// "guildhall" or "socketio".
    pub target: String,
    pub conns: u64,
    pub duration_s: f64,
    /// Messages published per second (0 when not applicable).
    pub offered_per_sec: f64,
    pub delivered: u64,
    pub delivered_per_sec: f64,
    pub server_cpu_us_per_delivery: Option<f64>,
    /// 0..1 share of the server core that was busy.
    pub server_core_busy: Option<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub rss_bytes: Option<u64>,
    pub rss_bytes_per_conn: Option<f64>,
    pub handshakes_per_sec: Option<f64>,
    /// 0..1 share of the generator's core that was busy.
    pub generator_core_busy: f64,
    /// True when the generator's core was ≥ 90% busy: the figure is then the generator's,
    /// not the server's.
    pub generator_saturated: bool,
    pub sweep: Vec<SweepStep>,
    pub knee_per_sec: Option<f64>,
    /// The run's headline in its own units when `delivered` is not messages (e.g. raid:
    /// acknowledged runs per second); printed after the table.
    pub summary: Option<String>,
    pub notes: Vec<String>,
    /// A scenario's own figures (e.g. spectate: `missing`, `out_of_order`, `crowd_viewers`):
    /// written as further top-level JSON keys after `notes` and as table rows after `knee`.
    /// Empty for the other scenarios, whose JSON keeps exactly the fields above.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    /// Fills the latency percentiles (p50, p99, p99.9, max) from a summary.
    pub fn with_latency(mut self, s: &LatencySummary) -> Self {
        self.p50_ms = s.p50_ms;
        self.p99_ms = s.p99_ms;
        self.p999_ms = s.p999_ms;
        self.max_ms = s.max_ms;
        self
    }

    /// Sets the generator's busy share and whether that makes it the bottleneck
    /// (≥ [`GENERATOR_SATURATED_BUSY`]), so the two fields cannot disagree.
    pub fn with_generator_busy(mut self, busy: f64) -> Self {
        self.generator_core_busy = busy;
        self.generator_saturated = busy >= GENERATOR_SATURATED_BUSY;
        self
    }

    /// A human-readable table (one metric per line, aligned), with units; Options that are
    /// None print "-". Starts and ends with a loud warning when the generator was saturated.
    pub fn table(&self) -> String {
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), fmt_num);
        let busy = |v: f64| fmt_num(v * 100.0);
        let rss = self.rss_bytes.map(|b| fmt_bytes(b as f64));
        let rss_per_conn = self.rss_bytes_per_conn.map(fmt_bytes);

        let mut rows: Vec<(&str, String, &str)> = vec![
            ("scenario", self.scenario.clone(), ""),
            ("target", self.target.clone(), ""),
            ("connections", fmt_int(self.conns), ""),
            ("duration", fmt_num(self.duration_s), "s"),
            ("offered", fmt_num(self.offered_per_sec), "msg/s"),
            ("delivered", fmt_int(self.delivered), "msg"),
            ("delivered rate", fmt_num(self.delivered_per_sec), "msg/s"),
            (
                "server CPU per delivery",
                opt(self.server_cpu_us_per_delivery),
                "µs",
            ),
            (
                "server core busy",
                opt(self.server_core_busy.map(|v| v * 100.0)),
                "%",
            ),
            ("latency p50", fmt_num(self.p50_ms), "ms"),
            ("latency p99", fmt_num(self.p99_ms), "ms"),
            ("latency p99.9", fmt_num(self.p999_ms), "ms"),
            ("latency max", fmt_num(self.max_ms), "ms"),
            (
                "server RSS",
                rss.as_ref()
                    .map_or_else(|| "-".to_string(), |r| r.0.clone()),
                rss.as_ref().map_or("", |r| r.1),
            ),
            (
                "server RSS per connection",
                rss_per_conn
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |r| r.0.clone()),
                rss_per_conn.as_ref().map_or("", |r| r.1),
            ),
            ("handshakes", opt(self.handshakes_per_sec), "/s"),
            (
                "generator core busy",
                busy(self.generator_core_busy),
                if self.generator_saturated {
                    "%  << SATURATED"
                } else {
                    "%"
                },
            ),
            ("knee", opt(self.knee_per_sec), "msg/s"),
        ];
        rows.extend(
            self.extra
                .iter()
                .map(|(key, value)| (key.as_str(), fmt_value(value), "")),
        );

        let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let value_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);

        let mut out = String::new();
        if self.generator_saturated {
            out.push_str(&self.saturation_warning());
            out.push('\n');
        }
        for (label, value, unit) in &rows {
            // Units are left off for "-" so a missing figure does not look like a measured one.
            let unit = if value == "-" { "" } else { unit };
            let line = format!("{label:<label_w$}  {value:>value_w$} {unit}");
            out.push_str(line.trim_end());
            out.push('\n');
        }

        if !self.sweep.is_empty() {
            out.push('\n');
            out.push_str(&self.sweep_table());
        }

        if let Some(summary) = &self.summary {
            let _ = writeln!(out, "summary: {summary}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        if self.generator_saturated {
            // Repeated at the bottom: long tables scroll the top warning off screen.
            out.push_str(&self.saturation_warning());
            out.push('\n');
        }
        out
    }

    fn saturation_warning(&self) -> String {
        format!(
            "!!! WARNING: GENERATOR SATURATED: the load generator's core was {}% busy \
             (>= {:.0}%); these figures measure the generator, not the server !!!",
            fmt_num(self.generator_core_busy * 100.0),
            GENERATOR_SATURATED_BUSY * 100.0,
        )
    }

    fn sweep_table(&self) -> String {
        let header = [
            "offered msg/s",
            "expected msg/s",
            "delivered msg/s",
            "delivered %",
            "p99 ms",
        ];
        let rows: Vec<[String; 5]> = self
            .sweep
            .iter()
            .map(|s| {
                let ratio = if s.expected_per_sec > 0.0 {
                    fmt_num(s.delivered_per_sec / s.expected_per_sec * 100.0)
                } else {
                    "-".to_string()
                };
                [
                    fmt_num(s.offered_per_sec),
                    fmt_num(s.expected_per_sec),
                    fmt_num(s.delivered_per_sec),
                    ratio,
                    fmt_num(s.p99_ms),
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }

        let mut out = String::from("sweep:\n");
        let cells = |cells: &[String]| {
            cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(out, "  {}", cells(&header));
        for (row, step) in rows.iter().zip(&self.sweep) {
            let marker = if self.knee_per_sec == Some(step.offered_per_sec) {
                "  <- knee"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}{marker}", cells(row));
        }
        out
    }

    /// Pretty JSON to a file (parent directories are created); the keys are exactly the field
    /// names, None → null.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut json = serde_json::to_string_pretty(self).context("serialising the report")?;
        json.push('\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
    }
}

/// A scenario's extra figure for the table: numbers as the others, null as "-".
fn fmt_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".to_string(),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => fmt_int(u),
            (None, Some(f)) => fmt_num(f),
            (None, None) => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A whole number with thousands separators: 1234567 → "1,234,567".
fn fmt_int(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// About four significant digits (at most six decimals), thousands separated:
/// 999666.7 → "999,667", 12.345 → "12.35", 0.31234 → "0.3123".
fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    let s = format!("{x:.decimals$}");
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut out = format!("{sign}{}", group_thousands(int));
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Digits grouped by thousands: "2000000" → "2,000,000".
pub(crate) fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in binary units: (value, unit), e.g. ("12.35", "MiB").
fn fmt_bytes(bytes: f64) -> (String, &'static str) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    (fmt_num(v), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Latency;
    use serde_json::Value;

    fn sample() -> Report {
        Report {
            scenario: "fanout".into(),
            target: "guildhall".into(),
            conns: 10_000,
            duration_s: 30.0,
            offered_per_sec: 100.0,
            delivered: 30_000_000,
            delivered_per_sec: 1_000_000.0,
            server_cpu_us_per_delivery: Some(0.75),
            server_core_busy: Some(0.75),
            p50_ms: 1.5,
            p99_ms: 4.25,
            p999_ms: 9.5,
            max_ms: 20.0,
            rss_bytes: Some(512 * 1024 * 1024),
            rss_bytes_per_conn: Some(53_687.091_2),
            handshakes_per_sec: None,
            generator_core_busy: 0.5,
            generator_saturated: false,
            sweep: vec![
                SweepStep {
                    offered_per_sec: 50.0,
                    delivered_per_sec: 500_000.0,
                    expected_per_sec: 500_000.0,
                    p99_ms: 2.0,
                },
                SweepStep {
                    offered_per_sec: 100.0,
                    delivered_per_sec: 800_000.0,
                    expected_per_sec: 1_000_000.0,
                    p99_ms: 40.0,
                },
            ],
            knee_per_sec: Some(50.0),
            summary: None,
            notes: vec!["warm-up 5 s discarded".into()],
            extra: serde_json::Map::new(),
        }
    }

    fn json_of(r: &Report) -> Value {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("report.json");
        r.write_json(&path).expect("write_json");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.ends_with('\n'), "file should end with a newline");
        assert!(text.contains("\n  \""), "JSON should be pretty-printed");
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn json_has_exactly_the_field_names_as_keys() {
        let v = json_of(&sample());
        let keys: Vec<&str> = v
            .as_object()
            .expect("top level is an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "scenario",
                "target",
                "conns",
                "duration_s",
                "offered_per_sec",
                "delivered",
                "delivered_per_sec",
                "server_cpu_us_per_delivery",
                "server_core_busy",
                "p50_ms",
                "p99_ms",
                "p999_ms",
                "max_ms",
                "rss_bytes",
                "rss_bytes_per_conn",
                "handshakes_per_sec",
                "generator_core_busy",
                "generator_saturated",
                "sweep",
                "knee_per_sec",
                "summary",
                "notes",
            ]
        );
    }

    #[test]
    fn json_values_round_trip() {
        let v = json_of(&sample());
        assert_eq!(v["scenario"], "fanout");
        assert_eq!(v["target"], "guildhall");
        assert_eq!(v["conns"], 10_000);
        assert_eq!(v["duration_s"], 30.0);
        assert_eq!(v["offered_per_sec"], 100.0);
        assert_eq!(v["delivered"], 30_000_000);
        assert_eq!(v["delivered_per_sec"], 1_000_000.0);
        assert_eq!(v["server_cpu_us_per_delivery"], 0.75);
        assert_eq!(v["server_core_busy"], 0.75);
        assert_eq!(v["p50_ms"], 1.5);
        assert_eq!(v["p99_ms"], 4.25);
        assert_eq!(v["p999_ms"], 9.5);
        assert_eq!(v["max_ms"], 20.0);
        assert_eq!(v["rss_bytes"], 512 * 1024 * 1024);
        assert_eq!(v["rss_bytes_per_conn"], 53_687.091_2);
        assert_eq!(v["generator_core_busy"], 0.5);
        assert_eq!(v["generator_saturated"], false);
        assert_eq!(v["knee_per_sec"], 50.0);
        assert_eq!(v["notes"][0], "warm-up 5 s discarded");
        let sweep = v["sweep"].as_array().expect("sweep is an array");
        assert_eq!(sweep.len(), 2);
        assert_eq!(sweep[1]["offered_per_sec"], 100.0);
        assert_eq!(sweep[1]["delivered_per_sec"], 800_000.0);
        assert_eq!(sweep[1]["expected_per_sec"], 1_000_000.0);
        assert_eq!(sweep[1]["p99_ms"], 40.0);
    }

    #[test]
    fn json_none_is_null_not_missing() {
        let v = json_of(&Report::default());
        for key in [
            "server_cpu_us_per_delivery",
            "server_core_busy",
            "rss_bytes",
            "rss_bytes_per_conn",
            "handshakes_per_sec",
            "knee_per_sec",
            "summary",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
            assert!(v[key].is_null(), "{key} should be null, got {}", v[key]);
        }
        assert_eq!(v["conns"], 0);
        assert_eq!(v["sweep"], Value::Array(vec![]));
    }

    #[test]
    fn write_json_overwrites_and_reports_bad_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.json");
        let mut r = sample();
        r.write_json(&path).expect("first write");
        r.conns = 7;
        r.write_json(&path).expect("second write");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
            .expect("valid JSON");
        assert_eq!(v["conns"], 7);
        // A directory cannot be written as a file: the error must name the path.
        let err = r
            .write_json(dir.path())
            .expect_err("writing over a directory");
        assert!(
            format!("{err:#}").contains(&dir.path().display().to_string()),
            "{err:#}"
        );
    }

    #[test]
    fn extras_follow_the_fields_in_json_and_table() {
        let mut r = sample();
        r.extra.insert("missing".into(), Value::from(12_345u64));
        r.extra.insert("ramp_s".into(), Value::from(12.5));
        r.extra.insert("crowd_viewers".into(), Value::Null);
        let v = json_of(&r);
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            &keys[keys.len() - 4..],
            ["notes", "missing", "ramp_s", "crowd_viewers"]
        );
        assert_eq!(v["missing"], 12_345);
        assert!(v["crowd_viewers"].is_null());
        let t = r.table();
        let line = |label: &str| {
            t.lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("no {label} line in\n{t}"))
                .to_string()
        };
        assert!(line("missing").ends_with("12,345"), "{t}");
        assert!(line("ramp_s").ends_with("12.50"), "{t}");
        assert!(line("crowd_viewers").ends_with(" -"), "{t}");
    }

    #[test]
    fn with_latency_fills_percentiles() {
        let mut l = Latency::new();
        for us in 1..=10_000 {
            l.record_us(us);
        }
        let s = l.summary();
        let r = Report::default().with_latency(&s);
        assert_eq!(r.p50_ms, s.p50_ms);
        assert_eq!(r.p99_ms, s.p99_ms);
        assert_eq!(r.p999_ms, s.p999_ms);
        assert_eq!(r.max_ms, s.max_ms);
        assert!(r.p50_ms > 4.9 && r.p50_ms < 5.1, "{}", r.p50_ms);
        assert!(r.p99_ms > r.p50_ms && r.p999_ms > r.p99_ms && r.max_ms >= r.p999_ms);
    }

    #[test]
    fn with_generator_busy_sets_saturation_at_90_percent() {
        assert!(
            !Report::default()
                .with_generator_busy(0.899)
                .generator_saturated
        );
        assert!(
            Report::default()
                .with_generator_busy(0.90)
                .generator_saturated
        );
        let r = Report::default().with_generator_busy(0.97);
        assert!(r.generator_saturated);
        assert_eq!(r.generator_core_busy, 0.97);
    }

    #[test]
    fn table_warns_loudly_when_saturated() {
        let mut r = sample();
        r.generator_core_busy = 0.97;
        r.generator_saturated = true;
        let t = r.table();
        let first = t.lines().next().expect("non-empty table");
        assert!(first.contains("SATURATED"), "first line: {first}");
        assert!(
            first.contains("97"),
            "first line should give the busy share: {first}"
        );
        assert!(first.contains("not the server"), "{first}");
        let busy = t
            .lines()
            .find(|l| l.starts_with("generator core busy"))
            .expect("generator line");
        assert!(
            busy.contains("97.00 %") && busy.contains("SATURATED"),
            "{busy}"
        );
        assert!(
            t.lines().last().expect("non-empty").contains("SATURATED"),
            "{t}"
        );
    }

    #[test]
    fn table_prints_the_summary_before_the_notes() {
        let t = sample().table();
        assert!(!t.contains("summary:"), "{t}");
        let r = Report {
            summary: Some("1,234 acknowledged runs/s".into()),
            ..sample()
        };
        let t = r.table();
        let at = t
            .find("summary: 1,234 acknowledged runs/s\n")
            .expect("summary line");
        assert!(at < t.find("note: ").expect("a note"), "{t}");
    }

    #[test]
    fn table_has_no_saturation_warning_otherwise() {
        let t = sample().table();
        assert!(!t.to_lowercase().contains("saturated"), "{t}");
        assert!(!t.contains("!!!"), "{t}");
    }

    #[test]
    fn table_has_values_with_units() {
        let t = sample().table();
        let line = |label: &str| {
            t.lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("no {label} line in\n{t}"))
                .to_string()
        };
        assert!(line("scenario").ends_with("fanout"));
        assert!(line("target").ends_with("guildhall"));
        assert!(
            line("connections").ends_with("10,000"),
            "{}",
            line("connections")
        );
        assert!(
            line("duration").ends_with("30.00 s"),
            "{}",
            line("duration")
        );
        assert!(line("delivered rate").ends_with("1,000,000 msg/s"));
        assert!(line("delivered  ").ends_with("30,000,000 msg"));
        assert!(line("server CPU per delivery").ends_with("0.7500 µs"));
        assert!(line("server core busy").ends_with("75.00 %"));
        assert!(line("latency p50").ends_with("1.500 ms"));
        assert!(line("latency p99 ").ends_with("4.250 ms"));
        assert!(line("latency p99.9").ends_with("9.500 ms"));
        assert!(line("latency max").ends_with("20.00 ms"));
        assert!(
            line("server RSS  ").ends_with("512.0 MiB"),
            "{}",
            line("server RSS  ")
        );
        assert!(line("server RSS per connection").ends_with("52.43 KiB"));
        assert!(line("generator core busy").ends_with("50.00 %"));
        assert!(line("knee").ends_with("50.00 msg/s"));
        assert!(t.contains("note: warm-up 5 s discarded"));
    }

    #[test]
    fn table_prints_dash_for_none() {
        let t = sample().table();
        let hs = t
            .lines()
            .find(|l| l.starts_with("handshakes"))
            .expect("handshakes line");
        assert!(
            hs.ends_with(" -"),
            "None should print '-' without a unit: {hs:?}"
        );

        let t = Report::default().table();
        for label in [
            "server CPU per delivery",
            "server core busy",
            "server RSS  ",
            "server RSS per connection",
            "handshakes",
            "knee",
        ] {
            let l = t
                .lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("no {label} line in\n{t}"));
            assert!(l.ends_with(" -"), "{l:?}");
        }
    }

    #[test]
    fn table_values_are_aligned() {
        let t = sample().table();
        // Every metric line's value ends in the same column (before the unit), so the
        // first character after the label column is at the same offset everywhere.
        let metric_lines: Vec<&str> = t.lines().take_while(|l| !l.is_empty()).collect();
        assert!(metric_lines.len() >= 18, "{t}");
        let label_w = metric_lines
            .iter()
            .map(|l| l.find("  ").expect("label separator"))
            .max()
            .expect("lines");
        let value_ends: Vec<usize> = metric_lines
            .iter()
            .map(|l| {
                let rest = &l[label_w..];
                let value_start = label_w + (rest.len() - rest.trim_start().len());
                let value_len = rest.trim_start().split(' ').next().map_or(0, str::len);
                l[..value_start + value_len].chars().count()
            })
            .collect();
        assert!(
            value_ends.windows(2).all(|w| w[0] == w[1]),
            "values not right-aligned: {value_ends:?}\n{t}"
        );
    }

    #[test]
    fn table_lists_sweep_and_marks_knee() {
        let t = sample().table();
        assert!(t.contains("sweep:"), "{t}");
        let knee_lines: Vec<&str> = t.lines().filter(|l| l.contains("<- knee")).collect();
        assert_eq!(knee_lines.len(), 1, "{t}");
        assert!(
            knee_lines[0].trim_start().starts_with("50.00"),
            "{}",
            knee_lines[0]
        );
        // 800,000 of 1,000,000 expected.
        assert!(t.contains("80.00"), "{t}");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1_000), "1,000");
        assert_eq!(fmt_int(1_234_567), "1,234,567");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(999_666.7), "999,667");
        assert_eq!(fmt_num(1_234.6), "1,235");
        assert_eq!(fmt_num(12.345_6), "12.35");
        assert_eq!(fmt_num(0.312_34), "0.3123");
        assert_eq!(fmt_num(-1_500.0), "-1,500");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_bytes(512.0), ("512.0".to_string(), "B"));
        assert_eq!(fmt_bytes(1_536.0), ("1.500".to_string(), "KiB"));
        assert_eq!(fmt_bytes(3.0 * 1024.0 * 1024.0 * 1024.0).1, "GiB");
    }
}
