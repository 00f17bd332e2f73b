//! Prometheus metrics. Handles are created once and kept, so the hot path increments an atomic
//! instead of looking a name up in the registry.

use std::sync::OnceLock;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub struct Metrics {
    pub connections: Gauge,
    pub rooms: Gauge,
    pub handshakes: Counter,
    pub frames_in: Counter,
    pub frames_out: Counter,
    /// Socket writes (flushes): frames_out / writes is the coalescing factor.
    pub writes: Counter,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub queue_overflows: Counter,
    pub dropped_frames: Counter,
    pub rate_limited: Counter,
    pub bad_frames: Counter,
    pub store_batch_seconds: Histogram,
    pub store_batch_rows: Histogram,
    /// Stream events published through this node.
    pub stream_events: Counter,
    /// Cheers taken by this node.
    pub stream_cheers: Counter,
    /// Streams watched on this node (each with its feed).
    pub stream_feeds: Gauge,
}

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; several servers in one test process share it).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("guildhall_store_batch_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("guildhall_store_batch_rows".into()),
                        &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 256.0, 1024.0],
                    )
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metrics buckets rejected");
                    return None;
                }
            };
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics is empty");
                    None
                }
            }
        })
        .as_ref()
}

impl Metrics {
    pub fn new() -> Self {
        prometheus();
        metrics::describe_gauge!(
            "guildhall_connections",
            "Open, authenticated WebSocket connections"
        );
        metrics::describe_gauge!("guildhall_rooms", "Rooms with members on this node");
        metrics::describe_counter!(
            "guildhall_queue_overflows_total",
            "Connections closed 4008 because their outbound queue was full"
        );
        metrics::describe_counter!(
            "guildhall_rate_limited_total",
            "Frames or messages refused by a rate limit"
        );
        metrics::describe_histogram!(
            "guildhall_store_batch_seconds",
            "Time to commit one group-commit batch"
        );
        metrics::describe_counter!(
            "guildhall_stream_events_total",
            "Stream events published through this node"
        );
        metrics::describe_counter!("guildhall_stream_cheers_total", "Cheers taken by this node");
        metrics::describe_gauge!(
            "guildhall_stream_feeds",
            "Streams with spectators on this node"
        );
        Self {
            connections: metrics::gauge!("guildhall_connections"),
            rooms: metrics::gauge!("guildhall_rooms"),
            handshakes: metrics::counter!("guildhall_handshakes_total"),
            frames_in: metrics::counter!("guildhall_frames_in_total"),
            frames_out: metrics::counter!("guildhall_frames_out_total"),
            writes: metrics::counter!("guildhall_writes_total"),
            bytes_in: metrics::counter!("guildhall_bytes_in_total"),
            bytes_out: metrics::counter!("guildhall_bytes_out_total"),
            queue_overflows: metrics::counter!("guildhall_queue_overflows_total"),
            dropped_frames: metrics::counter!("guildhall_dropped_frames_total"),
            rate_limited: metrics::counter!("guildhall_rate_limited_total"),
            bad_frames: metrics::counter!("guildhall_bad_frames_total"),
            store_batch_seconds: metrics::histogram!("guildhall_store_batch_seconds"),
            store_batch_rows: metrics::histogram!("guildhall_store_batch_rows"),
            stream_events: metrics::counter!("guildhall_stream_events_total"),
            stream_cheers: metrics::counter!("guildhall_stream_cheers_total"),
            stream_feeds: metrics::gauge!("guildhall_stream_feeds"),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
