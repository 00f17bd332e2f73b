//! Statistics for the load generator: end-to-end latency histograms, rates, medians of
//! repeated runs, and the "knee" of an offered-load sweep.
//!
//! Latencies are kept in microseconds in an HdrHistogram so that tails (p99.9, max) are
//! exact to three significant digits no matter how many samples a run takes, and so that
//! per-connection histograms can be merged cheaply at the end of a run.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Smallest latency the histogram distinguishes, in microseconds.
pub const LATENCY_LOW_US: u64 = 1;
/// Largest latency the histogram tracks, in microseconds (10 minutes). Anything slower is
/// recorded as this value and counted in [`Latency::clamped`].
pub const LATENCY_HIGH_US: u64 = 10 * 60 * 1_000_000;
/// Significant decimal digits kept by the histogram.
pub const LATENCY_SIGFIG: u8 = 3;

/// End-to-end latencies in microseconds (HdrHistogram, 1 µs .. 10 min, 3 significant digits).
#[derive(Clone, Debug)]
pub struct Latency {
    hist: Histogram<u64>,
    /// Samples above [`LATENCY_HIGH_US`] that were recorded as the maximum instead. Kept so
    /// a report can say its max is a floor rather than silently under-reporting the tail.
    clamped: u64,
}

impl Latency {
    /// An empty histogram covering 1 µs .. 10 min at 3 significant digits.
    pub fn new() -> Self {
        // The bounds are constants that satisfy HdrHistogram's rules (low >= 1,
        // high >= 2 * low, sigfig <= 5), so construction cannot fail.
        let hist = Histogram::new_with_bounds(LATENCY_LOW_US, LATENCY_HIGH_US, LATENCY_SIGFIG)
            .expect("constant histogram bounds are valid");
        Self { hist, clamped: 0 }
    }

    /// Records one latency. Values above 10 minutes are recorded as 10 minutes and counted
    /// in [`Latency::clamped`]; the call never panics and never drops a sample.
    pub fn record_us(&mut self, us: u64) {
        let high = self.hist.high();
        if us > high {
            self.clamped = self.clamped.saturating_add(1);
        }
        self.hist.saturating_record(us.min(high));
    }

    /// How many recorded samples exceeded the histogram's range and were clamped to its max.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Adds every sample (and clamp count) of `other` into `self`.
    pub fn merge(&mut self, other: &Latency) {
        if self.hist.add(&other.hist).is_err() {
            // Unreachable while both sides come from `Latency::new` (same bounds), but a
            // histogram built elsewhere could be wider: fold it in value by value, clamping,
            // rather than losing its samples.
            let high = self.hist.high();
            for v in other.hist.iter_recorded() {
                let value = v.value_iterated_to();
                if value > high {
                    self.clamped = self.clamped.saturating_add(v.count_at_value());
                }
                self.hist
                    .saturating_record_n(value.min(high), v.count_at_value());
            }
        }
        self.clamped = self.clamped.saturating_add(other.clamped);
    }

    /// Number of samples recorded (clamped ones included).
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// Count, mean and tail percentiles in milliseconds; all zero when empty.
    pub fn summary(&self) -> LatencySummary {
        if self.hist.is_empty() {
            // HdrHistogram's max() is undefined on an empty histogram; report zeros instead.
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.hist.len(),
            mean_ms: self.hist.mean() / 1000.0,
            p50_ms: us_to_ms(self.hist.value_at_quantile(0.50)),
            p99_ms: us_to_ms(self.hist.value_at_quantile(0.99)),
            p999_ms: us_to_ms(self.hist.value_at_quantile(0.999)),
            max_ms: us_to_ms(self.hist.max()),
        }
    }

    /// The underlying histogram (values in microseconds), e.g. for plotting.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Forgets every sample, e.g. at the end of a warm-up period.
    pub fn reset(&mut self) {
        self.hist.reset();
        self.clamped = 0;
    }

    /// The histogram as text, to hand it to another process (e.g. a worker's to its parent):
    /// `<clamped>:<HdrHistogram V2 encoding in hex>`. [`Latency::decode`] reads it back.
    pub fn encode(&self) -> anyhow::Result<String> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.hist, &mut bytes)
            .map_err(|e| anyhow::anyhow!("encoding a histogram: {e:?}"))?;
        let mut text = format!("{}:", self.clamped);
        for b in bytes {
            let _ = write!(text, "{b:02x}");
        }
        Ok(text)
    }

    /// Reads what [`Latency::encode`] wrote.
    pub fn decode(text: &str) -> anyhow::Result<Self> {
        let (clamped, hex) = text
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("an encoded histogram is <clamped>:<hex>"))?;
        let clamped: u64 = clamped.parse()?;
        if hex.len() % 2 != 0 || !hex.is_ascii() {
            anyhow::bail!("an encoded histogram's bytes are pairs of hex digits");
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("decoding a histogram: {e:?}"))?;
        // Folded into a histogram of the usual bounds, so it merges with any other.
        let mut latency = Latency::new();
        latency.merge(&Latency {
            hist: decoded,
            clamped,
        });
        Ok(latency)
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Latency figures of one run, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// Events per second over a span; 0 for a zero span.
pub fn per_sec(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// Median of samples (mean of the middle two for an even count); None when empty; NaNs ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        Some(v[mid])
    } else {
        // Halve before adding so two huge finite values cannot overflow to infinity.
        Some(v[mid - 1] / 2.0 + v[mid] / 2.0)
    }
}

/// One step of an offered-load sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepStep {
    /// Messages published per second.
    pub offered_per_sec: f64,
    /// Messages received per second, summed over all subscribers.
    pub delivered_per_sec: f64,
    /// The delivery rate the offered rate should produce (offered × subscribers).
    pub expected_per_sec: f64,
    /// 99th-percentile end-to-end latency at this step.
    pub p99_ms: f64,
}

impl SweepStep {
    /// Whether the server kept up at this step: it delivered at least `min_ratio` of the
    /// expected rate and its p99 stayed within `max_p99_ms`. NaN figures count as failing,
    /// since a step whose measurement broke cannot vouch for the server.
    pub fn keeps_up(&self, min_ratio: f64, max_p99_ms: f64) -> bool {
        self.delivered_per_sec >= min_ratio * self.expected_per_sec && self.p99_ms <= max_p99_ms
    }
}

/// Where a sweep stops tracking the offered load: the first step whose delivered rate is below
/// `min_ratio` × expected (e.g. 0.95) or whose p99 exceeds `max_p99_ms`; the knee is the last
/// good step's offered rate. Steps are taken in the order given (the order they were run).
/// None if the first step already fails (or there are no steps); the last step's offered rate
/// if none fails (the knee is then at least that).
pub fn knee(steps: &[SweepStep], min_ratio: f64, max_p99_ms: f64) -> Option<f64> {
    steps
        .iter()
        .take_while(|s| s.keeps_up(min_ratio, max_p99_ms))
        .last()
        .map(|s| s.offered_per_sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when `got` is within HdrHistogram's 3-significant-digit resolution of `want`.
    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= want.abs() * 1e-3 + 1e-9
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        assert!(close(got, want), "{what}: got {got}, want {want}");
    }

    #[test]
    fn empty_latency_summarises_to_zeros() {
        let l = Latency::new();
        assert!(l.is_empty());
        assert_eq!(l.len(), 0);
        assert_eq!(l.clamped(), 0);
        assert_eq!(l.summary(), LatencySummary::default());
    }

    #[test]
    fn default_matches_new() {
        let d = Latency::default();
        let n = Latency::new();
        assert_eq!(d.histogram().low(), n.histogram().low());
        assert_eq!(d.histogram().high(), n.histogram().high());
        assert_eq!(d.histogram().sigfig(), n.histogram().sigfig());
        assert!(d.is_empty());
    }

    #[test]
    fn histogram_bounds_are_1us_to_10min_3_digits() {
        let h = Latency::new();
        assert_eq!(h.histogram().low(), 1);
        assert_eq!(h.histogram().high(), 600_000_000);
        assert_eq!(h.histogram().sigfig(), 3);
    }

    #[test]
    fn uniform_1_to_10000_us_percentiles() {
        let mut l = Latency::new();
        for us in 1..=10_000 {
            l.record_us(us);
        }
        let s = l.summary();
        assert_eq!(s.count, 10_000);
        assert!(!l.is_empty());
        assert_close(s.mean_ms, 5.0005, "mean");
        assert_close(s.p50_ms, 5.0, "p50");
        assert_close(s.p99_ms, 9.9, "p99");
        assert_close(s.p999_ms, 9.99, "p999");
        assert_close(s.max_ms, 10.0, "max");
        assert_eq!(l.clamped(), 0);
    }

    #[test]
    fn summary_is_in_milliseconds_not_microseconds() {
        let mut l = Latency::new();
        l.record_us(2_500);
        let s = l.summary();
        assert_close(s.p50_ms, 2.5, "p50");
        assert_close(s.mean_ms, 2.5, "mean");
        assert_close(s.max_ms, 2.5, "max");
    }

    #[test]
    fn tail_percentiles_see_rare_outliers() {
        // 0.2% of samples are slow: p99 must stay fast while p99.9 and max see the
        // outliers, which fails if the quantiles are taken at the wrong points.
        let mut l = Latency::new();
        for _ in 0..9_980 {
            l.record_us(1_000);
        }
        for _ in 0..20 {
            l.record_us(50_000);
        }
        let s = l.summary();
        assert_close(s.p50_ms, 1.0, "p50");
        assert_close(s.p99_ms, 1.0, "p99");
        assert_close(s.p999_ms, 50.0, "p999");
        assert_close(s.max_ms, 50.0, "max");
    }

    #[test]
    fn quantiles_are_inclusive_at_exact_boundaries() {
        // Exactly half the samples at 1 ms: p50 is 1 ms (the 50th of 100 samples), and a
        // quantile taken even slightly above 0.5 would jump to 9 ms.
        let mut l = Latency::new();
        for _ in 0..500 {
            l.record_us(1_000);
        }
        for _ in 0..490 {
            l.record_us(9_000);
        }
        for _ in 0..9 {
            l.record_us(20_000);
        }
        l.record_us(70_000);
        // 1,000 samples: #500 is 1 ms, #990 is 9 ms, #999 is 20 ms, #1000 is 70 ms.
        let s = l.summary();
        assert_close(s.p50_ms, 1.0, "p50");
        assert_close(s.p99_ms, 9.0, "p99");
        assert_close(s.p999_ms, 20.0, "p999");
        assert_close(s.max_ms, 70.0, "max");
    }

    #[test]
    fn zero_latency_is_recorded() {
        let mut l = Latency::new();
        l.record_us(0);
        assert_eq!(l.len(), 1);
        assert_eq!(l.clamped(), 0);
        assert_eq!(l.summary().max_ms, 0.0);
    }

    #[test]
    fn values_above_range_are_clamped_and_counted() {
        let mut l = Latency::new();
        l.record_us(1_000);
        l.record_us(LATENCY_HIGH_US); // exactly the max is in range
        l.record_us(LATENCY_HIGH_US + 1);
        l.record_us(3_600 * 1_000_000);
        l.record_us(u64::MAX);
        assert_eq!(l.len(), 5, "clamped samples must still be counted");
        assert_eq!(l.clamped(), 3);
        assert_close(l.summary().max_ms, 600_000.0, "max");
    }

    #[test]
    fn merge_adds_samples_and_clamp_counts() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        let mut all = Latency::new();
        for us in 1..=1_000 {
            a.record_us(us);
            all.record_us(us);
        }
        for us in 50_000..51_000 {
            b.record_us(us);
            all.record_us(us);
        }
        b.record_us(u64::MAX);
        all.record_us(u64::MAX);
        a.merge(&b);
        assert_eq!(a.len(), 2_001);
        assert_eq!(a.clamped(), 1);
        assert_eq!(a.summary(), all.summary());
        // The source is left untouched.
        assert_eq!(b.len(), 1_001);
    }

    #[test]
    fn merge_into_empty_and_of_empty() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        b.record_us(700);
        a.merge(&Latency::new());
        assert!(a.is_empty());
        a.merge(&b);
        assert_eq!(a.summary(), b.summary());
        b.merge(&Latency::new());
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn reset_forgets_samples_and_clamps() {
        let mut l = Latency::new();
        l.record_us(5);
        l.record_us(u64::MAX);
        l.reset();
        assert!(l.is_empty());
        assert_eq!(l.clamped(), 0);
        assert_eq!(l.summary(), LatencySummary::default());
        l.record_us(2_000);
        assert_close(l.summary().p50_ms, 2.0, "p50 after reset");
    }

    #[test]
    fn encode_decode_round_trips() {
        let mut l = Latency::new();
        for us in [0, 1, 999, 1_000, 52_345, 9_000_000] {
            l.record_us(us);
        }
        l.record_us(u64::MAX);
        let text = l.encode().expect("encode");
        assert!(text.starts_with("1:"), "{text}");
        let back = Latency::decode(&text).expect("decode");
        assert_eq!(back.len(), l.len());
        assert_eq!(back.clamped(), 1);
        assert_eq!(back.summary(), l.summary());
        let empty = Latency::decode(&Latency::new().encode().expect("encode")).expect("decode");
        assert!(empty.is_empty());
        assert!(Latency::decode("no colon").is_err());
        assert!(Latency::decode("0:abc").is_err());
        assert!(Latency::decode("0:zz").is_err());
        assert!(Latency::decode("x:00").is_err());
    }

    #[test]
    fn summary_serialises_with_field_names() {
        let mut l = Latency::new();
        l.record_us(1_000);
        let v = serde_json::to_value(l.summary()).expect("serialise");
        for key in ["count", "mean_ms", "p50_ms", "p99_ms", "p999_ms", "max_ms"] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert_eq!(v["count"], 1);
    }

    #[test]
    fn per_sec_divides_by_seconds() {
        assert_eq!(per_sec(100, Duration::from_secs(2)), 50.0);
        assert_eq!(per_sec(1, Duration::from_millis(1)), 1000.0);
        assert_close(per_sec(3, Duration::from_micros(1_500_000)), 2.0, "1.5 s");
        assert_eq!(per_sec(0, Duration::from_secs(5)), 0.0);
    }

    #[test]
    fn per_sec_of_zero_span_is_zero() {
        assert_eq!(per_sec(100, Duration::ZERO), 0.0);
        assert_eq!(per_sec(0, Duration::ZERO), 0.0);
        assert!(per_sec(u64::MAX, Duration::from_nanos(1)).is_finite());
    }

    #[test]
    fn median_of_empty_and_all_nan_is_none() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, f64::NAN]), None);
    }

    #[test]
    fn median_odd_count_is_middle_of_sorted() {
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[5.0, -1.0, 100.0, 4.0, 4.5]), Some(4.5));
    }

    #[test]
    fn median_even_count_is_mean_of_middle_two() {
        assert_eq!(median(&[1.0, 2.0]), Some(1.5));
        assert_eq!(median(&[10.0, 1.0, 4.0, 2.0]), Some(3.0));
        assert_eq!(median(&[f64::MAX, f64::MAX]), Some(f64::MAX));
    }

    #[test]
    fn median_ignores_nan() {
        assert_eq!(median(&[f64::NAN, 1.0, 3.0]), Some(2.0));
        assert_eq!(median(&[9.0, f64::NAN, 1.0, 5.0]), Some(5.0));
    }

    #[test]
    fn median_orders_infinities() {
        assert_eq!(median(&[f64::INFINITY, 1.0, f64::NEG_INFINITY]), Some(1.0));
    }

    fn step(offered: f64, delivered: f64, expected: f64, p99: f64) -> SweepStep {
        SweepStep {
            offered_per_sec: offered,
            delivered_per_sec: delivered,
            expected_per_sec: expected,
            p99_ms: p99,
        }
    }

    /// A sweep with 100 subscribers: expected = offered × 100.
    fn sweep(points: &[(f64, f64, f64)]) -> Vec<SweepStep> {
        points
            .iter()
            .map(|&(offered, delivered, p99)| step(offered, delivered, offered * 100.0, p99))
            .collect()
    }

    #[test]
    fn knee_of_empty_sweep_is_none() {
        assert_eq!(knee(&[], 0.95, 100.0), None);
    }

    #[test]
    fn knee_is_last_step_when_all_keep_up() {
        let s = sweep(&[
            (10.0, 1_000.0, 1.0),
            (20.0, 2_000.0, 2.0),
            (40.0, 4_000.0, 3.0),
        ]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(40.0));
    }

    #[test]
    fn knee_when_delivery_falls_behind_expected() {
        // At 40/s the server delivers 3,000 of the expected 4,000 (75% < 95%).
        let s = sweep(&[
            (10.0, 1_000.0, 1.0),
            (20.0, 2_000.0, 2.0),
            (40.0, 3_000.0, 3.0),
            (80.0, 3_100.0, 4.0),
        ]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(20.0));
    }

    #[test]
    fn knee_compares_against_expected_not_offered() {
        // Delivered far exceeds offered (fan-out), yet falls short of offered × subscribers.
        let s = vec![
            step(10.0, 1_000.0, 1_000.0, 1.0),
            step(20.0, 1_500.0, 2_000.0, 1.0),
        ];
        assert_eq!(knee(&s, 0.95, 100.0), Some(10.0));
    }

    #[test]
    fn knee_when_p99_exceeds_limit() {
        let s = sweep(&[
            (10.0, 1_000.0, 5.0),
            (20.0, 2_000.0, 50.0),
            (40.0, 4_000.0, 250.0),
        ]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(20.0));
    }

    #[test]
    fn knee_is_none_when_first_step_fails() {
        let slow = sweep(&[(10.0, 1_000.0, 500.0), (20.0, 2_000.0, 1.0)]);
        assert_eq!(knee(&slow, 0.95, 100.0), None);
        let short = sweep(&[(10.0, 10.0, 1.0), (20.0, 2_000.0, 1.0)]);
        assert_eq!(knee(&short, 0.95, 100.0), None);
    }

    #[test]
    fn knee_stops_at_first_failure_even_if_later_steps_recover() {
        let s = sweep(&[
            (10.0, 1_000.0, 1.0),
            (20.0, 1_000.0, 1.0),
            (40.0, 4_000.0, 1.0),
        ]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(10.0));
    }

    #[test]
    fn knee_thresholds_are_inclusive() {
        // Exactly 95% delivered and exactly the p99 limit still count as keeping up.
        let s = sweep(&[(10.0, 950.0, 100.0), (20.0, 1_899.0, 1.0)]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(10.0));
    }

    #[test]
    fn knee_treats_nan_as_failure() {
        let s = sweep(&[(10.0, 1_000.0, 1.0), (20.0, f64::NAN, 1.0)]);
        assert_eq!(knee(&s, 0.95, 100.0), Some(10.0));
        let s = sweep(&[(10.0, 1_000.0, f64::NAN)]);
        assert_eq!(knee(&s, 0.95, 100.0), None);
    }

    #[test]
    fn sweep_step_serialises_with_field_names() {
        let v = serde_json::to_value(step(1.0, 2.0, 3.0, 4.0)).expect("serialise");
        assert_eq!(v["offered_per_sec"], 1.0);
        assert_eq!(v["delivered_per_sec"], 2.0);
        assert_eq!(v["expected_per_sec"], 3.0);
        assert_eq!(v["p99_ms"], 4.0);
    }
}
