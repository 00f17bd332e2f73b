//! The crowd of a stream: spectators across the cluster, the peak, cheers; and the browse list.
//!
//! Counts and cheers are not pushed as they change: each node takes them once per
//! `crowd_every_ms` (its spectators into the broker's per-node counts, its cheers into the
//! store's totals), reads the cluster's figures back, and pushes one `stream.crowd` to its own
//! members when anything changed. A flood of cheers is a handful of store writes per second per
//! node, and each spectator gets at most one push per tick.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use guildhall_protocol::{ev, ErrorBody, ErrorCode, Push, StreamCrowd, StreamList, StreamPage};

use super::{stream_of_room, StreamService};
use crate::auth::User;
use crate::clock::now_ms;
use crate::guild::errors::db_error;
use crate::hub::event::FrameCache;
use crate::hub::feed::Feed;
use crate::store::stream::{self as rows, ListFilter};
use crate::store::{to_i64, to_u64};

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
        let allowed = self
            .cheer_rate
            .entry(user.id.clone())
            .or_default()
            .try_take(now_ms(), self.config.cheers_per_10s, 10_000);
        if !allowed {
            return Err(ErrorBody::retry_after(
                ErrorCode::RateLimited,
                "cheering too fast",
                1_000,
            ));
        }
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

    /// Adds this node's cheers since the last tick to the store's totals. Cheers of a failed
    /// write go back to be added next time.
    async fn flush_cheers(&self) {
        let pending = std::mem::take(&mut *self.pending_cheers.lock());
        for (stream, by_emoji) in pending {
            for (emoji, n) in by_emoji {
                let written = async {
                    let mut conn = self.db.pool().acquire().await?;
                    rows::add_cheers(&mut conn, stream, &emoji, to_i64(n)).await
                }
                .await;
                if let Err(e) = written {
                    tracing::warn!(error = %e, stream, "adding cheers failed; retrying next tick");
                    *self
                        .pending_cheers
                        .lock()
                        .entry(stream)
                        .or_default()
                        .entry(emoji)
                        .or_default() += n;
                }
            }
        }
    }

    /// One crowd tick of this node: cheers in, then each watched stream's figures out to its
    /// local members.
    pub async fn crowd_tick(&self) {
        self.flush_cheers().await;
        let feeds = self.hub.rooms.feeds.all();
        self.metrics.stream_feeds.set(feeds.len() as f64);
        for feed in feeds {
            if let Err(e) = self.crowd_of(&feed).await {
                tracing::debug!(error = %e.msg, room = %feed.room, "crowd tick failed");
            }
        }
    }

    async fn crowd_of(&self, feed: &Arc<Feed>) -> Result<(), ErrorBody> {
        let Some(id) = stream_of_room(&feed.room) else {
            return Ok(());
        };
        let Some(room) = self.hub.rooms.get(&feed.room) else {
            return Ok(());
        };
        let viewers = self.hub.feed_count(&room).await;
        let meta = self.meta(id).await?;
        let (peak, cheers) = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            let peak = rows::record_crowd(&mut conn, id, to_i64(viewers))
                .await
                .map_err(db_error)?;
            let cheers = rows::cheers(&mut conn, id).await.map_err(db_error)?;
            if let Some(b) = meta.broadcast {
                rows::record_broadcast_peak(&mut conn, b)
                    .await
                    .map_err(db_error)?;
            }
            (peak, cheers)
        };
        let crowd = StreamCrowd {
            stream: to_u64(id),
            viewers,
            peak: to_u64(peak),
            cheers: cheers
                .into_iter()
                .map(|(emoji, n)| (emoji, to_u64(n)))
                .collect::<BTreeMap<_, _>>(),
        };
        if self.last_crowd.get(&id).is_some_and(|last| *last == crowd) {
            return Ok(());
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
        self.last_crowd.insert(id, crowd);
        Ok(())
    }

    /// Forgets the last crowd of streams no longer watched here, so a new watcher gets one.
    pub fn forget_unwatched(&self) {
        let watched = self.watched_here();
        self.last_crowd.retain(|id, _| watched.contains(id));
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
