//! Stored streams and broadcasts as the protocol shows them.

use guildhall_protocol::{BroadcastInfo, StreamInfo};

use crate::store::stream::{BroadcastRow, StreamRow};
use crate::store::to_u64;

pub fn info(row: &StreamRow) -> StreamInfo {
    let ended = row.status != "live";
    StreamInfo {
        id: to_u64(row.id),
        room: super::room_of(row.id),
        owner: row.owner.clone(),
        guild: row.guild_id.map(to_u64),
        game: row.game.clone(),
        title: row.title.clone(),
        visibility: row.visibility.clone(),
        delay_s: u32::try_from(row.delay_ms / 1000).unwrap_or(u32::MAX),
        guild_live: row.guild_live != 0,
        status: row.status.clone(),
        started_at: to_u64(row.started_ms),
        ended_at: row.ended_ms.map(to_u64),
        viewers: to_u64(row.viewers),
        peak: to_u64(row.peak),
        run_id: row.run_id.clone(),
        broadcast: row.broadcast_id.map(to_u64),
        board: row.board.and_then(|b| u32::try_from(b).ok()),
        replay_until: row
            .keep_until
            .filter(|_| ended && row.purged == 0)
            .map(to_u64),
    }
}

pub fn broadcast(row: &BroadcastRow, boards: &[StreamRow], viewers: i64) -> BroadcastInfo {
    BroadcastInfo {
        id: to_u64(row.id),
        owner: row.owner.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        status: row.status.clone(),
        started_at: to_u64(row.started_ms),
        ended_at: row.ended_ms.map(to_u64),
        viewers: to_u64(viewers),
        peak: to_u64(row.peak.max(viewers)),
        boards: boards.iter().map(info).collect(),
    }
}
