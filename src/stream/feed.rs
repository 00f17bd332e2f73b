//! Opening a stream, publishing its events and ending it: the owner's side.

use std::borrow::Cow;

use guildhall_protocol::{
    ev, ErrorBody, ErrorCode, StreamAnnotate, StreamEnd, StreamInfo, StreamOpen, StreamPublished,
};

use super::{log_unavailable, not_found, StreamMeta, StreamService};
use crate::auth::User;
use crate::broker::EventDraft;
use crate::clock::now_ms;
use crate::domain::stream::{check_open, FeedKind, OpenAsk, MAX_ANNOTATION_CHARS};
use crate::guild::errors::db_error;
use crate::store::guild::is_unique_violation;
use crate::store::stream::{self as rows, EventRow, NewStream};
use crate::store::to_i64;

fn forbidden(msg: &str) -> ErrorBody {
    ErrorBody::new(ErrorCode::Forbidden, msg)
}

impl StreamService {
    pub async fn open(&self, user: &User, req: StreamOpen) -> Result<StreamInfo, ErrorBody> {
        let guild = self.guild_of(&user.id).await?;
        let ask = OpenAsk {
            game: &req.game,
            title: &req.title,
            visibility: req.visibility.as_deref(),
            delay_s: req.delay_s,
            guild_live: req.guild_live,
            has_broadcast: req.broadcast.is_some(),
            has_board: req.board.is_some(),
            owner_guild: guild,
        };
        let visibility = check_open(&ask, self.config.max_delay_s).map_err(|r| {
            let code = match r {
                crate::domain::stream::OpenRefusal::NoGuild => ErrorCode::Forbidden,
                _ => ErrorCode::Invalid,
            };
            ErrorBody::new(code, r.message())
        })?;
        // No transaction: the checks read, the insert is one statement, and the unique index
        // keeps a board to one live stream (on SQLite a transaction that reads, then writes,
        // can fail to take the write lock while other writers run).
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let broadcast = req.broadcast.map(to_i64);
        if let Some(b) = broadcast {
            let row = rows::broadcast(&mut conn, b)
                .await
                .map_err(db_error)?
                .ok_or_else(|| ErrorBody::new(ErrorCode::NotFound, "no such broadcast"))?;
            if row.owner != *user.id {
                return Err(forbidden("boards are added by the broadcast's owner"));
            }
            if row.status != "live" {
                return Err(forbidden("this broadcast has ended"));
            }
        }
        let id = rows::insert(
            &mut conn,
            &NewStream {
                owner: &user.id,
                guild_id: guild,
                game: &req.game,
                title: &req.title,
                visibility: visibility.as_str(),
                delay_ms: i64::from(req.delay_s) * 1000,
                guild_live: req.guild_live,
                run_id: req.run_id.as_deref(),
                broadcast_id: broadcast,
                board: req.board.map(i64::from),
                started_ms: to_i64(now_ms()),
            },
        )
        .await
        .map_err(|e| {
            // A board has one live stream (a unique index), whichever node opens it.
            if is_unique_violation(&e) {
                ErrorBody::new(ErrorCode::Conflict, "that board already has a live stream")
            } else {
                db_error(e)
            }
        })?;
        let row = rows::get(&mut conn, id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)?;
        self.remember(&row);
        Ok(super::views::info(&row))
    }

    async fn owned(&self, user: &User, id: u64) -> Result<std::sync::Arc<StreamMeta>, ErrorBody> {
        let meta = self.meta(to_i64(id)).await?;
        if *meta.owner != *user.id {
            return Err(forbidden("only the stream's owner publishes to it"));
        }
        Ok(meta)
    }

    /// The owner's event: checked, placed in the log, stored, then answered.
    pub async fn publish(
        &self,
        user: &User,
        stream: u64,
        kind: &str,
        d: serde_json::Value,
    ) -> Result<StreamPublished, ErrorBody> {
        let kind = FeedKind::parse(kind)
            .filter(|k| k.is_publishable())
            .ok_or_else(|| {
                ErrorBody::new(ErrorCode::Invalid, "kind is start, move, tick or data")
            })?;
        let meta = self.owned(user, stream).await?;
        self.append(&meta, kind, d).await
    }

    pub async fn annotate(
        &self,
        user: &User,
        req: StreamAnnotate,
    ) -> Result<StreamPublished, ErrorBody> {
        let meta = self.meta(to_i64(req.stream)).await?;
        if *meta.owner != *user.id && !self.owns_broadcast(user, meta.broadcast).await? {
            return Err(forbidden(
                "annotations are the stream's or its broadcast's owner's",
            ));
        }
        let valid = match req.kind.as_str() {
            "text" => req
                .text
                .as_ref()
                .is_some_and(|t| !t.is_empty() && t.chars().count() <= MAX_ANNOTATION_CHARS),
            "arrow" => req.arrow.is_some(),
            "highlight" => req.highlight.is_some(),
            _ => false,
        };
        if !valid {
            return Err(ErrorBody::new(
                ErrorCode::Invalid,
                format!(
                    "an annotation is text (1 to {MAX_ANNOTATION_CHARS} characters), arrow or highlight, with its field"
                ),
            ));
        }
        let mut d = serde_json::to_value(&req).map_err(|e| crate::chat::internal("encoding", e))?;
        if let Some(obj) = d.as_object_mut() {
            obj.remove("stream");
        }
        self.append(&meta, FeedKind::Annotation, d).await
    }

    async fn owns_broadcast(&self, user: &User, broadcast: Option<i64>) -> Result<bool, ErrorBody> {
        let Some(b) = broadcast else {
            return Ok(false);
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        Ok(rows::broadcast(&mut conn, b)
            .await
            .map_err(db_error)?
            .is_some_and(|row| row.owner == *user.id))
    }

    /// An event's payload as stored: its JSON, refused when over `max_event_bytes`.
    fn payload(&self, d: &serde_json::Value) -> Result<String, ErrorBody> {
        let payload = serde_json::to_string(d).map_err(|e| crate::chat::internal("encoding", e))?;
        if payload.len() > self.config.max_event_bytes {
            return Err(ErrorBody::new(
                ErrorCode::TooLong,
                format!(
                    "an event's payload is at most {} bytes of JSON",
                    self.config.max_event_bytes
                ),
            ));
        }
        Ok(payload)
    }

    /// Places an event in the stream's log and stores it; refused when the stream ended, the
    /// payload is too large or the stream publishes too fast.
    async fn append(
        &self,
        meta: &StreamMeta,
        kind: FeedKind,
        d: serde_json::Value,
    ) -> Result<StreamPublished, ErrorBody> {
        let payload = self.payload(&d)?;
        let now = now_ms();
        if kind != FeedKind::End {
            self.publish_rate
                .entry(meta.id)
                .or_default()
                .try_take(now, self.config.max_events_per_sec, 1_000)
                .map_err(|wait_ms| {
                    ErrorBody::retry_after(
                        ErrorCode::RateLimited,
                        "publishing too fast to this stream",
                        wait_ms,
                    )
                })?;
            let row = self.row(meta.id).await?;
            if row.status != "live" {
                return Err(ErrorBody::new(ErrorCode::Conflict, "this stream has ended"));
            }
        }
        let draft = EventDraft {
            ev: Cow::Borrowed(ev::STREAM_EVENT),
            d: super::event_body(kind.as_str(), now, d),
            ts_ms: now,
        };
        let event = self
            .hub
            .publish(&meta.room(), draft)
            .await
            .map_err(log_unavailable)?;
        let row = EventRow {
            ep: event.ep.to_string(),
            off: to_i64(event.off),
            ts_ms: to_i64(event.ts_ms),
            kind: kind.as_str().to_owned(),
            d: payload,
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        rows::insert_event(&mut conn, meta.id, &row)
            .await
            .map_err(db_error)?;
        self.metrics.stream_events.increment(1);
        Ok(StreamPublished {
            off: event.off,
            ts: event.ts_ms,
        })
    }

    /// Ends a live stream: closed to publishing first (so nothing follows its end), then its
    /// "end" event goes out.
    pub async fn end(&self, user: &User, req: StreamEnd) -> Result<StreamInfo, ErrorBody> {
        let meta = self.owned(user, req.stream).await?;
        let now = now_ms();
        let keep_until = req
            .keep
            .then(|| to_i64(now + self.config.replay_ttl_hours * 3_600_000));
        if !self.close(&meta, now, keep_until, req.d).await? {
            return Err(ErrorBody::new(ErrorCode::Conflict, "this stream has ended"));
        }
        let row = self.row(meta.id).await?;
        Ok(super::views::info(&row))
    }

    /// Closes a live stream to publishing, then sends its "end" event with `d`. False when it
    /// had ended already (on another node, or by an earlier call): only one end is announced.
    async fn close(
        &self,
        meta: &StreamMeta,
        now: u64,
        keep_until: Option<i64>,
        d: serde_json::Value,
    ) -> Result<bool, ErrorBody> {
        // A payload the end event could not carry is refused before the stream closes, so
        // the refusal changes nothing.
        self.payload(&d)?;
        let closed = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            rows::end(&mut conn, meta.id, to_i64(now), keep_until)
                .await
                .map_err(db_error)?
        };
        if closed {
            self.append(meta, FeedKind::End, d).await?;
        }
        Ok(closed)
    }

    /// Ends the live streams that published nothing for `idle_end_s`: an owner whose phone died
    /// mid-run never sends its end. Spectators get an "end" event with `{"reason": "idle"}`.
    pub async fn end_idle(&self) -> Result<usize, ErrorBody> {
        let now = now_ms();
        let before = to_i64(now.saturating_sub(self.config.idle_end_s * 1000));
        let idle = {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            rows::idle_live(&mut conn, before).await.map_err(db_error)?
        };
        let mut ended = 0;
        for id in idle {
            let meta = self.meta(id).await?;
            // Another node may have ended it a moment ago: only one announces it.
            let idle_end = serde_json::json!({ "reason": "idle" });
            if self.close(&meta, now, None, idle_end).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// A stream as anyone allowed to watch it sees it.
    pub async fn get(&self, user: &User, stream: u64) -> Result<StreamInfo, ErrorBody> {
        let id = to_i64(stream);
        self.watch_as(user, id).await?;
        let row = self.row(id).await?;
        Ok(super::views::info(&row))
    }
}
