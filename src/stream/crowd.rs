//! The crowd of a stream: spectators across the cluster, the peak, cheers; and the browse list.
//!
//! Counts and cheers are not pushed as they change: each node takes them once per
//! `crowd_every_ms` (its spectators into the broker's per-node counts, its cheers into the
//! store's totals), reads the cluster's figures back, and pushes one `stream.crowd` to its own
//! members when anything changed. A flood of cheers is a handful of store writes per second per
//! node, and each spectator gets at most one push per tick.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use guildhall_protocol::{ev, ErrorBody, ErrorCode, Push, StreamCrowd, StreamList, StreamPage};

use super::{stream_of_room, StreamMeta, StreamService};
use crate::auth::User;
use crate::clock::now_ms;
use crate::guild::errors::db_error;
use crate::hub::event::FrameCache;
use crate::hub::room::RoomState;
use crate::store::stream::{self as rows, ListFilter};
use crate::store::{to_i64, to_u64};

/// A stream watched on this node at a tick: its room here, its settings, its spectators across
/// the cluster.
type Watched = (Arc<RoomState>, Arc<StreamMeta>, u64);

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

impl StreamService {
    /// A cheer from a spectator in the stream's room (the session checked that).
    pub fn cheer(&self, user: &User, stream: u64, emoji: &str) -> Result<(), ErrorBody> {
        if !self.config.cheer_emojis.iter().any(|e| e == emoji) {
            return Err(ErrorBody::new(
                ErrorCode::Invalid,
                format!("cheers are one of {}", self.config.cheer_emojis.join(" ")),
            ));
        }
        self.cheer_rate
            .entry(user.id.clone())
            .or_default()
            .try_take(now_ms(), self.config.cheers_per_10s, 10_000)
            .map_err(|wait_ms| {
                ErrorBody::retry_after(
                    ErrorCode::RateLimited,
                    format!("at most {} cheers per 10 s", self.config.cheers_per_10s),
                    wait_ms,
                )
            })?;
        *self
            .pending_cheers
            .lock()
            .entry(to_i64(stream))
            .or_default()
            .entry(emoji.to_owned())
            .or_default() += 1;
        self.metrics.stream_cheers.increment(1);
        Ok(())
    }

    /// One crowd tick of this node: its cheers since the last tick added to the totals, and
    /// each watched stream's count recorded and its figures read back, all in one transaction
    /// (one commit a tick however many streams: SQLite syncs each commit to disk); then one
    /// `stream.crowd` to the local members of each stream whose figures changed.
    pub async fn crowd_tick(&self) {
        let feeds = self.hub.rooms.feeds.all();
        self.metrics.stream_feeds.set(feeds.len() as f64);
        // Each count is a broker round trip: take them all at once.
        let counted = futures::future::join_all(feeds.iter().map(|feed| async move {
            let id = stream_of_room(&feed.room)?;
            let room = self.hub.rooms.get(&feed.room)?;
            let viewers = self.hub.feed_count(&room).await;
            match self.meta(id).await {
                Ok(meta) => Some((room, meta, viewers)),
                Err(e) => {
                    tracing::debug!(error = %e.msg, stream = id, "crowd tick skipped a stream");
                    None
                }
            }
        }))
        .await;
        let mut watched: Vec<Watched> = counted.into_iter().flatten().collect();
        watched.sort_unstable_by_key(|(_, meta, _)| meta.id);
        let cheers = std::mem::take(&mut *self.pending_cheers.lock());
        if watched.is_empty() && cheers.is_empty() {
            return;
        }
        let figures = match self.record_tick(&cheers, &watched).await {
            Ok(figures) => figures,
            Err(e) => {
                tracing::warn!(error = %e, "crowd tick failed; its cheers wait for the next");
                let mut pending = self.pending_cheers.lock();
                for (stream, by_emoji) in cheers {
                    for (emoji, n) in by_emoji {
                        *pending.entry(stream).or_default().entry(emoji).or_default() += n;
                    }
                }
                return;
            }
        };
        for ((room, meta, viewers), (peak, totals)) in watched.iter().zip(figures) {
            let crowd = StreamCrowd {
                stream: to_u64(meta.id),
                viewers: *viewers,
                peak: to_u64(peak),
                cheers: totals
                    .into_iter()
                    .map(|(emoji, n)| (emoji, to_u64(n)))
                    .collect::<BTreeMap<_, _>>(),
            };
            if self
                .last_crowd
                .get(&meta.id)
                .is_some_and(|last| *last == crowd)
            {
                continue;
            }
            let frames = FrameCache::default();
            room.broadcast_droppable(|session| {
                frames.get(session.codec, || Push {
                    ev: Cow::Borrowed(ev::STREAM_CROWD),
                    room: Some(Cow::Borrowed(&*room.name)),
                    ep: None,
                    off: None,
                    d: &crowd,
                })
            });
            self.last_crowd.insert(meta.id, crowd);
        }
    }

    /// The store's side of a tick, in one transaction that writes first (so SQLite takes its
    /// write lock at once): cheers added, then per watched stream its peak and cheer totals,
    /// then the broadcasts' peaks. Rows are taken in one order on every node — cheers, streams,
    /// broadcasts, each by id — so two nodes' ticks on PostgreSQL queue rather than deadlock.
    /// `watched` must be sorted by stream id.
    async fn record_tick(
        &self,
        cheers: &HashMap<i64, HashMap<String, u64>>,
        watched: &[Watched],
    ) -> Result<Vec<(i64, Vec<(String, i64)>)>, sqlx::Error> {
        let mut added: Vec<(i64, &str, u64)> = cheers
            .iter()
            .flat_map(|(stream, by_emoji)| {
                by_emoji
                    .iter()
                    .map(move |(emoji, n)| (*stream, emoji.as_str(), *n))
            })
            .collect();
        added.sort_unstable();
        let mut tx = self.db.pool().begin().await?;
        for (stream, emoji, n) in added {
            rows::add_cheers(&mut tx, stream, emoji, to_i64(n)).await?;
        }
        let mut figures = Vec::with_capacity(watched.len());
        for (_, meta, viewers) in watched {
            let peak = rows::record_crowd(&mut tx, meta.id, to_i64(*viewers)).await?;
            let totals = rows::cheers(&mut tx, meta.id).await?;
            figures.push((peak, totals));
        }
        let mut broadcasts: Vec<i64> = watched.iter().filter_map(|(_, m, _)| m.broadcast).collect();
        broadcasts.sort_unstable();
        broadcasts.dedup();
        for b in broadcasts {
            rows::record_broadcast_peak(&mut tx, b).await?;
        }
        tx.commit().await?;
        Ok(figures)
    }

    /// Live streams to browse: public ones and the viewer's own guild's, a page at a time.
    pub async fn list(&self, user: &User, req: StreamList) -> Result<StreamPage, ErrorBody> {
        let viewer_guild = self.guild_of(&user.id).await?;
        self.list_for(viewer_guild, req).await
    }

    /// The browse list as a member of `viewer_guild` (or of no guild) sees it.
    pub async fn list_for(
        &self,
        viewer_guild: Option<i64>,
        req: StreamList,
    ) -> Result<StreamPage, ErrorBody> {
        let recent = match req.sort.as_deref() {
            None | Some("viewers") => false,
            Some("recent") => true,
            Some(_) => {
                return Err(ErrorBody::new(
                    ErrorCode::Invalid,
                    "sort is viewers or recent",
                ))
            }
        };
        let limit = req.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ErrorBody::new(
                ErrorCode::Invalid,
                format!("limit is 1 to {MAX_PAGE}"),
            ));
        }
        let offset = req.cursor.unwrap_or(0);
        let filter = ListFilter {
            recent,
            guild: req.guild.map(to_i64),
            game: req.game.as_deref(),
            broadcast: req.broadcast.map(to_i64),
            viewer_guild,
            offset: to_i64(offset),
            limit: i64::from(limit),
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let found = rows::list_live(&mut conn, &filter)
            .await
            .map_err(db_error)?;
        let next = (found.len() == limit as usize).then(|| offset + u64::from(limit));
        Ok(StreamPage {
            streams: found.iter().map(super::views::info).collect(),
            next,
        })
    }
}
