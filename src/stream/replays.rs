//! Replays: a finished stream's stored events played back to one connection at their original
//! pace (or faster), as the same `stream.event` pushes a live spectator gets; and the purge of
//! the replays nobody keeps.
//!
//! A stream is kept when its owner ends it with `keep` (for `replay_ttl_hours`), or when the run
//! it showed is among the top 10 of its guild in a war (for `war_replay_ttl_hours` after it
//! ended). That is decided once the stream has been over for `unkept_retention_s`, so that a run
//! reported after its stream ended still counts; the rest are deleted then.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use guildhall_protocol::{ev, ErrorBody, ErrorCode, Push, ReplayStarted};

use super::StreamService;
use crate::clock::now_ms;
use crate::domain::stream::{replay_schedule, valid_speed, MAX_REPLAY_SPEED};
use crate::guild::errors::db_error;
use crate::hub::event::encode_frame;
use crate::session::handle::SessionHandle;
use crate::store::stream as rows;
use crate::store::{to_i64, to_u64};

/// The runs of a guild in a war whose streams are kept.
const WAR_TOP: i64 = 10;
/// The `ep` of replayed events: not a position in any live log.
pub const REPLAY_EP: &str = "replay";

impl StreamService {
    /// Starts playing a stored stream to a connection; the answer says how much will follow.
    pub async fn replay(
        &self,
        session: &Arc<SessionHandle>,
        stream: u64,
        speed: Option<f64>,
    ) -> Result<ReplayStarted, ErrorBody> {
        let speed = speed.unwrap_or(1.0);
        if !valid_speed(speed) {
            return Err(ErrorBody::new(
                ErrorCode::Invalid,
                format!("speed is 1 to {MAX_REPLAY_SPEED}"),
            ));
        }
        let id = to_i64(stream);
        self.watch_as(&session.user, id).await?;
        let row = self.row(id).await?;
        if row.status == "live" {
            return Err(ErrorBody::new(
                ErrorCode::Conflict,
                "this stream is live: watch it in its room",
            ));
        }
        if row.purged != 0 {
            return Err(ErrorBody::new(
                ErrorCode::NotFound,
                "this stream's replay was not kept",
            ));
        }
        let events = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            rows::events(&mut conn, id).await.map_err(db_error)?
        };
        let times: Vec<u64> = events.iter().map(|e| to_u64(e.ts_ms)).collect();
        let schedule = replay_schedule(&times, speed);
        let started = ReplayStarted {
            stream,
            events: events.len() as u64,
            duration_ms: schedule.last().copied().unwrap_or(0),
        };
        let session = session.clone();
        let room = super::room_of(id);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for (i, (event, at)) in events.into_iter().zip(schedule).enumerate() {
                tokio::time::sleep_until(start + Duration::from_millis(at)).await;
                let body = super::stored_body(&event);
                let push = Push {
                    ev: Cow::Borrowed(ev::STREAM_EVENT),
                    room: Some(Cow::Borrowed(&room)),
                    ep: Some(Cow::Borrowed(REPLAY_EP)),
                    off: Some(i as u64 + 1),
                    d: &body,
                };
                let Some(frame) = encode_frame(session.codec, &push) else {
                    return;
                };
                if !session.outbox.send(frame) {
                    // The connection is gone: so is its replay.
                    return;
                }
            }
        });
        Ok(started)
    }

    /// Keeps the war runs' replays that earned it and deletes the others' events; drops the
    /// kept ones whose time is up. Idempotent: any node may run it.
    pub async fn purge(&self) -> Result<usize, ErrorBody> {
        let now = now_ms();
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let before = to_i64(now.saturating_sub(self.config.unkept_retention_s * 1000));
        let mut purged = 0;
        for (id, run, ended) in rows::unkept(&mut conn, before).await.map_err(db_error)? {
            let top = match &run {
                Some(run) => rows::is_top_war_run(&mut conn, run, WAR_TOP)
                    .await
                    .map_err(db_error)?,
                None => false,
            };
            if top {
                let until = ended + to_i64(self.config.war_replay_ttl_hours * 3_600_000);
                rows::keep(&mut conn, id, until).await.map_err(db_error)?;
            } else {
                rows::purge(&mut conn, id).await.map_err(db_error)?;
                purged += 1;
            }
        }
        for id in rows::expired(&mut conn, to_i64(now))
            .await
            .map_err(db_error)?
        {
            rows::purge(&mut conn, id).await.map_err(db_error)?;
            purged += 1;
        }
        Ok(purged)
    }
}
