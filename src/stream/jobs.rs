//! The stream service's clocks on each node: releasing delayed events, the crowd ticks, and
//! the purge of replays nobody keeps.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::StreamService;
use crate::clock::now_ms;

/// How often delayed events are released: the most a delivery is late by this clock.
const RELEASE_EVERY: Duration = Duration::from_millis(10);
/// Idle streams and unkept replays are looked for this often.
const PURGE_EVERY: Duration = Duration::from_secs(60);

impl StreamService {
    /// The minute's work: idle streams ended, replays kept or purged. Idempotent: every node
    /// runs it.
    pub async fn housekeeping(&self) {
        if let Err(e) = self.end_idle().await {
            tracing::warn!(error = %e.msg, "ending idle streams failed");
        }
        if let Err(e) = self.purge().await {
            tracing::warn!(error = %e.msg, "purging stream replays failed");
        }
    }
}

pub async fn run(streams: Arc<StreamService>, stop: CancellationToken) {
    let mut release = tokio::time::interval(RELEASE_EVERY);
    release.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut crowd = tokio::time::interval(Duration::from_millis(
        streams.config().crowd_every_ms.max(100),
    ));
    crowd.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purge = tokio::time::interval(PURGE_EVERY);
    purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                // Cheers taken here reach the totals before the node goes.
                streams.crowd_tick().await;
                return;
            }
            _ = release.tick() => streams.hub.rooms.feeds.release_due(now_ms()),
            _ = crowd.tick() => {
                streams.crowd_tick().await;
                streams.sweep(now_ms());
            }
            _ = purge.tick() => streams.housekeeping().await,
        }
    }
}
