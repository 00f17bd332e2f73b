//! Spectator streams: a player's (or a game server's) live run or game, published event by
//! event into the room `stream:<id>` and watched there, delayed, by anyone its visibility
//! allows. Opening, publishing and ending (`feed`), who watches and how (here), the crowd —
//! viewers, peak, cheers — (`crowd`), broadcasts of several boards (`broadcasts`), and replays
//! with their expiry (`replays`).
//!
//! The log orders a stream's events across nodes; each node's feed (`hub::feed`) applies the
//! delay. Every event is also stored, for the nodes that start watching late and for replays.

pub mod broadcasts;
pub mod crowd;
pub mod feed;
pub mod jobs;
pub mod replays;
pub mod views;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use guildhall_protocol::{ev, ErrorBody, ErrorCode};
use parking_lot::Mutex;

use crate::auth::User;
use crate::broker::{BrokerError, EventDraft};
use crate::config::StreamsConfig;
use crate::domain::room::RoomName;
use crate::domain::stream::{watch, Audience, RateWindow, Viewer, Visibility, Watch};
use crate::guild::errors::db_error;
use crate::hub::event::LogEvent;
use crate::hub::{Hub, PendingJoin};
use crate::metrics::Metrics;
use crate::session::handle::SessionHandle;
use crate::store::guild::{members, GuildDb};
use crate::store::stream::{self as rows, StreamRow};
use crate::store::{to_i64, to_u64};

/// What never changes about a stream once it is open: kept per node after the first read.
#[derive(Clone, Debug)]
pub struct StreamMeta {
    pub id: i64,
    pub owner: Arc<str>,
    pub guild: Option<i64>,
    pub visibility: Visibility,
    pub delay_ms: u64,
    pub guild_live: bool,
    pub broadcast: Option<i64>,
}

impl StreamMeta {
    fn of(row: &StreamRow) -> Self {
        Self {
            id: row.id,
            owner: row.owner.as_str().into(),
            guild: row.guild_id,
            visibility: Visibility::parse(&row.visibility).unwrap_or(Visibility::Unlisted),
            delay_ms: to_u64(row.delay_ms),
            guild_live: row.guild_live != 0,
            broadcast: row.broadcast_id,
        }
    }

    pub fn room(&self) -> String {
        room_of(self.id)
    }
}

/// The `d` of a `stream.event`: its kind, when it happened, and the game's payload (left out
/// when there is none: the server never sends null).
pub fn event_body(kind: &str, ts: u64, d: serde_json::Value) -> serde_json::Value {
    let mut body = serde_json::json!({ "kind": kind, "ts": ts });
    if !d.is_null() {
        body["d"] = d;
    }
    body
}

/// The `d` of a stored event's `stream.event` (its payload was JSON when stored).
pub fn stored_body(row: &rows::EventRow) -> serde_json::Value {
    let d = serde_json::from_str(&row.d).unwrap_or_default();
    event_body(&row.kind, to_u64(row.ts_ms), d)
}

pub fn room_of(id: i64) -> String {
    format!("stream:{id}")
}

/// The stream a `stream:<id>` or `stream-chat:<id>` room belongs to.
pub fn stream_of_room(room: &str) -> Option<i64> {
    let id = room
        .strip_prefix("stream:")
        .or_else(|| room.strip_prefix("stream-chat:"))?;
    id.parse::<u64>().ok().map(to_i64)
}

pub struct StreamService {
    config: StreamsConfig,
    db: Arc<GuildDb>,
    hub: Arc<Hub>,
    meta: DashMap<i64, Arc<StreamMeta>>,
    /// Events per stream in the last second, for the publish rate.
    publish_rate: DashMap<i64, RateWindow>,
    /// Cheers per user in the last 10 s.
    cheer_rate: DashMap<Arc<str>, RateWindow>,
    /// Cheers taken on this node since its last crowd tick, by stream and emoji.
    pending_cheers: Mutex<HashMap<i64, HashMap<String, u64>>>,
    /// The crowd last pushed to this node's members, by stream.
    last_crowd: DashMap<i64, guildhall_protocol::StreamCrowd>,
    metrics: Arc<Metrics>,
}

pub fn not_found() -> ErrorBody {
    ErrorBody::new(ErrorCode::NotFound, "no such stream")
}

fn log_unavailable(e: BrokerError) -> ErrorBody {
    tracing::warn!(error = %e, "stream log unavailable");
    ErrorBody::new(
        ErrorCode::Unavailable,
        "the stream's log is unavailable; retry",
    )
}

impl StreamService {
    pub fn new(
        config: StreamsConfig,
        db: Arc<GuildDb>,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            metrics,
            config,
            db,
            hub,
            meta: DashMap::new(),
            publish_rate: DashMap::new(),
            cheer_rate: DashMap::new(),
            pending_cheers: Mutex::new(HashMap::new()),
            last_crowd: DashMap::new(),
        })
    }

    pub fn config(&self) -> &StreamsConfig {
        &self.config
    }

    async fn row(&self, id: i64) -> Result<StreamRow, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        rows::get(&mut conn, id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)
    }

    pub async fn meta(&self, id: i64) -> Result<Arc<StreamMeta>, ErrorBody> {
        if let Some(meta) = self.meta.get(&id) {
            return Ok(meta.clone());
        }
        let row = self.row(id).await?;
        Ok(self.remember(&row))
    }

    fn remember(&self, row: &StreamRow) -> Arc<StreamMeta> {
        let meta = Arc::new(StreamMeta::of(row));
        self.meta.insert(row.id, meta.clone());
        meta
    }

    /// The guild a user is in, if any.
    pub async fn guild_of(&self, user: &str) -> Result<Option<i64>, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        Ok(members::of_user(&mut conn, user)
            .await
            .map_err(db_error)?
            .map(|m| m.guild_id))
    }

    /// Whether and how a user watches a stream; `forbidden` when its visibility keeps them
    /// out.
    pub async fn watch_as(
        &self,
        user: &User,
        id: i64,
    ) -> Result<(Arc<StreamMeta>, Watch), ErrorBody> {
        let meta = self.meta(id).await?;
        // The user's guild matters only to guild streams and live guild-mates.
        let needs_guild = *user.id != *meta.owner
            && meta.guild.is_some()
            && (meta.visibility == Visibility::Guild || meta.guild_live);
        let guild = if needs_guild {
            self.guild_of(&user.id).await?
        } else {
            None
        };
        let audience = Audience {
            visibility: meta.visibility,
            owner: &meta.owner,
            guild: meta.guild,
            guild_live: meta.guild_live,
        };
        let viewer = Viewer {
            id: &user.id,
            guild,
            moderator: user.is_moderator(),
        };
        match watch(&audience, &viewer) {
            Some(w) => Ok((meta, w)),
            None => Err(ErrorBody::new(
                ErrorCode::Forbidden,
                "this stream is for its owner's guild",
            )),
        }
    }

    /// Whether a user may enter a stream's room (its feed or its chat).
    pub async fn may_enter(&self, user: &User, room: &RoomName) -> Result<(), ErrorBody> {
        let id = stream_of_room(room.as_str()).ok_or_else(not_found)?;
        self.watch_as(user, id).await.map(|_| ())
    }

    /// Adds a session to a stream's feed room: live or delayed as the stream says for this
    /// user.
    pub async fn join(
        &self,
        session: &Arc<SessionHandle>,
        room: &RoomName,
        since: Option<(&str, u64)>,
    ) -> Result<PendingJoin, ErrorBody> {
        let id = stream_of_room(room.as_str()).ok_or_else(not_found)?;
        let (meta, how) = self.watch_as(&session.user, id).await?;
        let history = self.history(id, room.as_str());
        self.hub
            .join_feed(session, room.as_str(), since, how, meta.delay_ms, history)
            .await
            .map_err(log_unavailable)
    }

    /// Every stored event of a stream, as log events of its room.
    async fn history(&self, id: i64, room: &str) -> Result<Vec<Arc<LogEvent>>, BrokerError> {
        let stored = {
            let mut conn = self
                .db
                .pool()
                .acquire()
                .await
                .map_err(|e| BrokerError::Unavailable(e.to_string()))?;
            rows::events(&mut conn, id)
                .await
                .map_err(|e| BrokerError::Unavailable(e.to_string()))?
        };
        let room: Arc<str> = room.into();
        Ok(stored
            .into_iter()
            .map(|row| {
                let draft = EventDraft {
                    ev: Cow::Borrowed(ev::STREAM_EVENT),
                    d: stored_body(&row),
                    ts_ms: to_u64(row.ts_ms),
                };
                Arc::new(LogEvent::new(
                    room.clone(),
                    row.ep.as_str().into(),
                    to_u64(row.off),
                    draft,
                ))
            })
            .collect())
    }

    /// Forgets what no longer needs remembering: idle rate windows, and, for streams nobody
    /// here watches any more, their settings (unless published to: read again on demand) and
    /// their last crowd (so a new watcher gets one).
    pub fn sweep(&self, now_ms: u64) {
        self.publish_rate.retain(|_, w| !w.is_idle(now_ms, 1_000));
        self.cheer_rate.retain(|_, w| !w.is_idle(now_ms, 10_000));
        let watched: std::collections::HashSet<i64> = self
            .hub
            .rooms
            .feeds
            .all()
            .iter()
            .filter_map(|f| stream_of_room(&f.room))
            .collect();
        self.meta
            .retain(|id, _| watched.contains(id) || self.publish_rate.contains_key(id));
        self.last_crowd.retain(|id, _| watched.contains(id));
    }
}
