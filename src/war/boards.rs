//! The live scoreboards: pushed to a contest room's local members at most once per
//! `board_every_ms` while runs arrive (state ticks: no offset, the latest replaces the last,
//! a full queue drops one and the next carries everything), sent to each member as it joins,
//! and read by `war.get`, `raid.get` and the API. The final state is the `war.ended` or
//! `raid.ended` event of the room's log, which is never dropped.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use guildhall_protocol::{ev, ErrorBody, Push, RaidBoard, RaidPhase, WarBoard};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::replica::{parse_key, Contest};
use super::WarService;
use crate::guild::errors::{self, db_error};
use crate::hub::event::{encode_frame, FrameCache};
use crate::session::handle::SessionHandle;
use crate::store::war::{raids as raid_rows, wars as war_rows};
use crate::store::{to_i64, to_u64};

/// A contest's scoreboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Board {
    War(WarBoard),
    Raid(RaidBoard),
}

impl Board {
    fn event(&self) -> &'static str {
        match self {
            Board::War(_) => ev::WAR_BOARD,
            Board::Raid(_) => ev::RAID_BOARD,
        }
    }
}

/// Pushes changed scoreboards every `board_every_ms` until `stop`.
pub async fn run(service: Arc<WarService>, stop: CancellationToken) {
    let every = Duration::from_millis(service.config.board_every_ms.max(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        service.push_boards();
    }
}

impl WarService {
    /// The live scoreboard of a contest this node holds.
    fn live_board(&self, key: &str) -> Option<(Board, Option<RaidPhase>, bool)> {
        let contest = self.contests.get(key)?.clone();
        let mut c = contest.lock();
        Some(match &mut *c {
            Contest::War(w) => (Board::War(w.board(&self.preset, "active")), None, false),
            Contest::Raid(r) => {
                let board = r.board(&self.preset, "active");
                let change = match r.announced_phase {
                    Some(before) if before != board.phase => Some(RaidPhase {
                        raid: to_u64(r.id),
                        from: before,
                        to: board.phase,
                        remaining: board.remaining,
                    }),
                    _ => None,
                };
                r.announced_phase = Some(board.phase);
                let defeated = board.remaining == 0;
                (Board::Raid(board), change, defeated)
            }
        })
    }

    /// Sends the changed scoreboards to the members of their rooms on this node.
    pub fn push_boards(self: &Arc<Self>) {
        let changed: Vec<String> = self.dirty.lock().drain().collect();
        for key in changed {
            let Some((board, phase, defeated)) = self.live_board(&key) else {
                continue;
            };
            if defeated {
                if let Board::Raid(b) = &board {
                    let service = self.clone();
                    let raid = b.raid;
                    tokio::spawn(async move {
                        if let Err(e) = service.end_raid(to_i64(raid)).await {
                            tracing::warn!(error = %e.msg, raid, "ending a defeated raid failed");
                        }
                    });
                }
            }
            let Some(room) = self.hub.rooms.get(&key) else {
                continue;
            };
            if let Some(change) = phase {
                let frames = FrameCache::default();
                room.broadcast_droppable(|s| {
                    frames.get(s.codec, || push(&key, ev::RAID_PHASE, &change))
                });
            }
            let frames = FrameCache::default();
            room.broadcast_droppable(|s| frames.get(s.codec, || push(&key, board.event(), &board)));
        }
    }

    /// Sends a contest's current scoreboard to one member that just joined its room.
    pub fn send_board(&self, session: &SessionHandle, room: &str) {
        let Some((board, _, _)) = self.live_board(room) else {
            return;
        };
        if let Some(frame) = encode_frame(session.codec, &push(room, board.event(), &board)) {
            session.outbox.send_droppable(frame);
        }
    }

    /// The scoreboard of a war or raid: live while it runs, its result once it has ended.
    pub async fn board(&self, key: &str) -> Result<Board, ErrorBody> {
        if let Some((board, _, _)) = self.live_board(key) {
            return Ok(board);
        }
        let (is_war, id) = parse_key(key).ok_or_else(|| errors::not_found("no such contest"))?;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let result = if is_war {
            war_rows::get(&mut conn, id)
                .await
                .map_err(db_error)?
                .ok_or_else(|| errors::not_found("no such war"))?
                .result
        } else {
            raid_rows::get(&mut conn, id)
                .await
                .map_err(db_error)?
                .ok_or_else(|| errors::not_found("no such raid"))?
                .result
        };
        drop(conn);
        match result {
            Some(json) if is_war => serde_json::from_str::<guildhall_protocol::WarEnded>(&json)
                .map(|r| Board::War(r.board))
                .map_err(unreadable),
            Some(json) => serde_json::from_str::<guildhall_protocol::RaidEnded>(&json)
                .map(|r| Board::Raid(r.board))
                .map_err(unreadable),
            // Active in the store but not held here yet: load it and answer from it.
            None => {
                self.load(key).await?;
                self.live_board(key)
                    .map(|(b, _, _)| b)
                    .ok_or_else(|| errors::not_found("no such contest"))
            }
        }
    }
}

/// A stored result that does not parse: the server's fault, not the caller's.
fn unreadable(e: serde_json::Error) -> ErrorBody {
    tracing::error!(error = %e, "a stored war or raid result is unreadable");
    ErrorBody::new(
        guildhall_protocol::ErrorCode::Internal,
        "the stored result is unreadable",
    )
}

fn push<'a, T: Serialize>(room: &'a str, ev: &'static str, d: &'a T) -> Push<'a, &'a T> {
    Push {
        ev: Cow::Borrowed(ev),
        room: Some(Cow::Borrowed(room)),
        ep: None,
        off: None,
        d,
    }
}
