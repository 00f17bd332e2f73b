//! Chat service: the chat rules of `domain/` joined to the store and the room log.
//!
//! A message is checked, committed to the store (group commit), then published to its room,
//! and only then acknowledged: what a sender was told is sent is durable and in the log.

use std::borrow::Cow;
use std::sync::Arc;

use dashmap::DashMap;
use guildhall_protocol::{ev, ChatMsg, ChatSent, ErrorBody, ErrorCode, UserRef};

use crate::auth::User;
use crate::broker::EventDraft;
use crate::clock::now_ms;
use crate::config::Config;
use crate::domain::chat_rules::{check_text, fingerprint, TextRefusal};
use crate::domain::filter::{FilterHit, FilterLevel, WordFilter};
use crate::domain::send_window::{SendRefusal, SendRule, SendWindow};
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::chat_writer::{ChatWriter, WriteError};
use crate::store::{NewChatMessage, Store};

/// Most messages one `chat.history` page returns.
pub const MAX_HISTORY_PAGE: u32 = 100;

pub struct ChatService {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    writer: ChatWriter,
    hub: Arc<Hub>,
    filter: WordFilter,
    rule: SendRule,
    /// Spectator chat's own limits.
    stream_rule: SendRule,
    windows: DashMap<(Arc<str>, Arc<str>), SendWindow>,
    /// Messages stored whose publish failed, by (user, idem): a retry publishes them.
    unpublished: DashMap<(Arc<str>, String), (Arc<str>, ChatMsg)>,
    metrics: Arc<Metrics>,
}

impl ChatService {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        writer: ChatWriter,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let rule = SendRule {
            min_gap_ms: config.chat.min_gap_ms,
            window_ms: config.chat.window_ms,
            max_in_window: config.chat.max_per_window,
            repeat_window_ms: config.chat.repeat_window_ms,
        };
        let stream_rule = SendRule {
            min_gap_ms: config.streams.chat_min_gap_ms,
            window_ms: config.streams.chat_window_ms,
            max_in_window: config.streams.chat_max_per_window,
            repeat_window_ms: config.chat.repeat_window_ms,
        };
        Self {
            config,
            store,
            writer,
            hub,
            filter: WordFilter::builtin(),
            rule,
            stream_rule,
            windows: DashMap::new(),
            unpublished: DashMap::new(),
            metrics,
        }
    }

    /// The send limits of a room: spectator chat has its own.
    fn rule_for(&self, room: &str) -> &SendRule {
        if room.starts_with("stream-chat:") {
            &self.stream_rule
        } else {
            &self.rule
        }
    }

    /// Sends a message to a room the sender has joined (`room` is the joined room's name).
    /// `filter` replaces the configured profanity level (a guild's own setting).
    /// With an idempotency key, a message stored by an earlier attempt whose publish failed is
    /// published now instead of being stored twice.
    pub async fn send(
        &self,
        user: &User,
        room: &Arc<str>,
        text: &str,
        idem: Option<&str>,
        filter: Option<FilterLevel>,
    ) -> Result<ChatSent, ErrorBody> {
        let pending_key = idem.map(|k| (user.id.clone(), k.to_owned()));
        if let Some(key) = &pending_key {
            let stored = self.unpublished.get(key).map(|m| m.clone());
            if let Some((stored_room, msg)) = stored {
                if stored_room == *room {
                    let sent = self.publish(room, msg).await?;
                    self.unpublished.remove(key);
                    return Ok(sent);
                }
            }
        }
        check_text(
            text,
            self.config.chat.max_chars,
            &self.filter,
            filter.unwrap_or_else(|| self.config.filter_for(room)),
        )
        .map_err(text_error)?;
        let now = now_ms();
        let print = fingerprint(text);
        {
            // Check and record under the entry's lock so two connections of one user cannot
            // both take the last slot. Nothing awaits while it is held.
            let mut window = self
                .windows
                .entry((user.id.clone(), room.clone()))
                .or_default();
            let rule = self.rule_for(room);
            window
                .check(rule, now, print)
                .map_err(|refusal| self.send_error(refusal))?;
            window.record(rule, now, print);
        }
        let msg = NewChatMessage {
            room: room.clone(),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            text: text.to_owned(),
            ts_ms: now,
        };
        let id = match self.writer.write(msg).await {
            Ok(id) => id,
            Err(e) => {
                // Not sent: the attempt must not count against the retry.
                if let Some(mut window) = self.windows.get_mut(&(user.id.clone(), room.clone())) {
                    window.unrecord(now);
                }
                return Err(write_error(e));
            }
        };
        let payload = ChatMsg {
            id,
            from: UserRef {
                id: user.id.to_string(),
                name: user.name.to_string(),
            },
            text: text.to_owned(),
            ts: now,
        };
        let sent = self.publish(room, payload.clone()).await;
        if sent.is_err() {
            if let Some(key) = pending_key {
                self.unpublished.insert(key, (room.clone(), payload));
            }
        }
        sent
    }

    async fn publish(&self, room: &Arc<str>, msg: ChatMsg) -> Result<ChatSent, ErrorBody> {
        let ts_ms = msg.ts;
        let d = serde_json::to_value(&msg).map_err(|e| internal("encoding chat.msg", e))?;
        let event = self
            .hub
            .publish(room, EventDraft { ev: Cow::Borrowed(ev::CHAT_MSG), d, ts_ms })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "publishing a stored chat message failed");
                ErrorBody::new(
                    ErrorCode::Unavailable,
                    "the message is stored but could not be delivered live; retry with the same idem",
                )
            })?;
        Ok(ChatSent { off: event.off })
    }

    /// A page of a room's history, oldest first.
    pub async fn history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMsg>, ErrorBody> {
        let limit = limit.clamp(1, MAX_HISTORY_PAGE);
        self.store
            .chat_history(room, before, limit)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, room, "reading chat history failed");
                ErrorBody::new(ErrorCode::Unavailable, "history is unavailable right now")
            })
    }

    /// Drops send windows with nothing left to remember, and unpublished messages whose
    /// idempotency key has expired.
    pub fn sweep(&self) {
        let now = now_ms();
        self.windows
            .retain(|(_, room), w| !w.is_idle(self.rule_for(room), now));
        let ttl = self.config.chat.idem_ttl_ms;
        self.unpublished
            .retain(|_, (_, msg)| now.saturating_sub(msg.ts) < ttl);
    }

    fn send_error(&self, refusal: SendRefusal) -> ErrorBody {
        match refusal {
            SendRefusal::RateLimited { retry_ms } => {
                self.metrics.rate_limited.increment(1);
                ErrorBody::retry_after(
                    ErrorCode::RateLimited,
                    "sending too fast in this room",
                    retry_ms,
                )
            }
            SendRefusal::Spam => ErrorBody::new(ErrorCode::Spam, "the same message was just sent"),
        }
    }
}

fn text_error(refusal: TextRefusal) -> ErrorBody {
    match refusal {
        TextRefusal::Empty => ErrorBody::new(ErrorCode::Invalid, "text is empty"),
        TextRefusal::ControlCharacter => {
            ErrorBody::new(ErrorCode::Invalid, "text contains control characters")
        }
        TextRefusal::TooLong { max } => ErrorBody::new(
            ErrorCode::TooLong,
            format!("text is longer than {max} characters"),
        ),
        TextRefusal::Link => {
            ErrorBody::new(ErrorCode::LinkRefused, "links are not allowed in chat")
        }
        TextRefusal::Filtered(FilterHit::Slur) => {
            ErrorBody::new(ErrorCode::Filtered, "the message contains a slur")
        }
        TextRefusal::Filtered(FilterHit::Profanity) => ErrorBody::new(
            ErrorCode::Filtered,
            "the message contains words this channel filters",
        ),
    }
}

fn write_error(e: WriteError) -> ErrorBody {
    tracing::warn!(error = %e, "chat message not stored");
    ErrorBody::new(
        ErrorCode::Unavailable,
        "the message could not be stored; retry with the same idem",
    )
}

pub fn internal(what: &str, e: impl std::fmt::Display) -> ErrorBody {
    tracing::error!(error = %e, "{what}");
    ErrorBody::new(ErrorCode::Internal, "internal error")
}
