//! One WebSocket connection: read → limit → decode → dispatch → reply. The read loop lives
//! here, op handlers in `dispatch.rs`, the socket writer in `writer.rs`.

pub mod dispatch;
mod guild_ops;
pub mod handle;
pub mod limits;
mod mod_ops;
pub mod queue;
mod stream_ops;
mod war_ops;
pub mod writer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures::stream::SplitStream;
use futures::StreamExt;
use guildhall_protocol::{close, ClientFrame, ClientOp, Codec, ErrorBody, ErrorCode, Reply};

use crate::hub::event::encode_frame;
use crate::hub::Joined;
use crate::services::Services;
use handle::{Closer, Outbox, SessionHandle};
use limits::{FrameLimiter, IpSlot, UserSlot};
use queue::FrameQueue;

/// Whether the read loop goes on after a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Serves one upgraded socket until it closes or the node drains.
pub async fn serve(
    socket: WebSocket,
    services: Arc<Services>,
    peer: SocketAddr,
    codec: Option<Codec>,
    ip_slot: IpSlot,
) {
    // Built outside the async body: every local of an async fn keeps its slot in the task for
    // the connection's whole life, and this task is most of an idle connection's memory.
    let (mut conn, stream, writer) = start(socket, services, codec, ip_slot);
    let span = tracing::info_span!("conn", %peer, session = tracing::field::Empty, user = tracing::field::Empty);
    tracing::Instrument::instrument(conn.run(stream), span).await;
    Box::pin(conn.cleanup()).await;
    conn.closer.close(close::NORMAL, "bye");
    conn.outbox.close();
    let _ = writer.await;
}

/// Splits the socket, starts the writer task and builds the connection's state.
fn start(
    socket: WebSocket,
    services: Arc<Services>,
    codec: Option<Codec>,
    ip_slot: IpSlot,
) -> (
    Connection,
    SplitStream<WebSocket>,
    tokio::task::JoinHandle<()>,
) {
    let (sink, stream) = socket.split();
    let queue = Arc::new(FrameQueue::new(services.config.limits.outbound_queue));
    let closer = Arc::new(Closer::default());
    let outbox = Outbox::new(queue.clone(), closer.clone(), services.metrics.clone());
    let coalesce = Duration::from_micros(services.config.limits.write_coalesce_us);
    let writer = tokio::spawn(writer::run(
        sink,
        queue,
        closer.clone(),
        services.metrics.clone(),
        coalesce,
    ));
    let conn = Connection {
        limiter: FrameLimiter::new(&services.config.limits),
        services,
        outbox,
        closer,
        preferred_codec: codec,
        session: None,
        rooms: HashMap::new(),
        last_seen: Instant::now(),
        _user_slot: None,
        _ip_slot: ip_slot,
    };
    (conn, stream, writer)
}

pub(crate) struct Connection {
    services: Arc<Services>,
    outbox: Outbox,
    closer: Arc<Closer>,
    limiter: FrameLimiter,
    preferred_codec: Option<Codec>,
    session: Option<Arc<SessionHandle>>,
    rooms: HashMap<Arc<str>, Joined>,
    last_seen: Instant,
    _user_slot: Option<UserSlot>,
    _ip_slot: IpSlot,
}

impl Connection {
    async fn run(&mut self, mut stream: SplitStream<WebSocket>) {
        let limits = &self.services.config.limits;
        let hello_deadline = tokio::time::sleep(Duration::from_millis(limits.hello_timeout_ms));
        tokio::pin!(hello_deadline);
        let heartbeat_every = Duration::from_millis(limits.heartbeat_ms.max(100));
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + heartbeat_every,
            heartbeat_every,
        );
        let shutdown = self.services.shutdown.clone();
        let closed = self.closer.token().clone();
        loop {
            let flow = tokio::select! {
                biased;
                _ = closed.cancelled() => Flow::Stop,
                _ = shutdown.cancelled() => {
                    self.closer.close(close::DRAINING, "server draining, reconnect");
                    Flow::Stop
                }
                _ = &mut hello_deadline, if self.session.is_none() => {
                    self.closer.close(close::UNAUTHORIZED, "no hello in time");
                    Flow::Stop
                }
                _ = heartbeat.tick() => self.on_heartbeat(heartbeat_every),
                message = stream.next() => self.on_message(message).await,
            };
            if flow == Flow::Stop {
                return;
            }
        }
    }

    fn on_heartbeat(&mut self, every: Duration) -> Flow {
        // Three missed intervals: the peer is gone without a close (a phone that lost signal).
        if self.last_seen.elapsed() > every * 3 {
            self.closer.close(close::NORMAL, "idle timeout");
            return Flow::Stop;
        }
        self.outbox
            .send_droppable(Message::Ping(Default::default()));
        Flow::Continue
    }

    async fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Flow {
        let message = match message {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::debug!(error = %e, "read failed");
                if is_capacity_error(&e) {
                    self.closer.close(close::MESSAGE_TOO_BIG, "frame too large");
                }
                return Flow::Stop;
            }
            None => return Flow::Stop,
        };
        self.last_seen = Instant::now();
        match message {
            Message::Text(text) => self.on_frame(Codec::Json, text.as_bytes()).await,
            Message::Binary(bytes) => self.on_frame(Codec::MsgPack, &bytes).await,
            Message::Ping(_) | Message::Pong(_) => Flow::Continue,
            Message::Close(_) => Flow::Stop,
        }
    }

    async fn on_frame(&mut self, codec: Codec, bytes: &[u8]) -> Flow {
        let metrics = &self.services.metrics;
        metrics.frames_in.increment(1);
        metrics.bytes_in.increment(bytes.len() as u64);
        let max = self.services.config.limits.max_frame_bytes;
        if bytes.len() > max {
            self.reply_err(
                codec,
                None,
                ErrorBody::new(
                    ErrorCode::TooLong,
                    format!("frames are limited to {max} bytes"),
                ),
            );
            return self.strike(close::PROTOCOL, "too many oversized frames");
        }
        if let Err(retry_ms) = self.limiter.check_frame() {
            self.services.metrics.rate_limited.increment(1);
            // The frame is not served, but its id is worth reading so a pipelining client
            // knows which request to retry.
            let id = ClientFrame::decode(codec, bytes).ok().and_then(|f| f.id);
            self.reply_err(
                codec,
                id,
                ErrorBody::retry_after(ErrorCode::RateLimited, "too many frames", retry_ms),
            );
            return self.strike(close::ABUSE, "rate limit abuse");
        }
        let frame = match ClientFrame::decode(codec, bytes) {
            Ok(frame) => frame,
            Err(e) => {
                self.services.metrics.bad_frames.increment(1);
                self.reply_err(
                    codec,
                    None,
                    ErrorBody::new(ErrorCode::BadFrame, e.to_string()),
                );
                return self.strike(close::PROTOCOL, "too many malformed frames");
            }
        };
        let op = match ClientOp::parse(&frame.op, &frame.d) {
            Ok(op) => op,
            Err(e) => {
                self.services.metrics.bad_frames.increment(1);
                let code = match e {
                    guildhall_protocol::ops::OpError::Unknown(_) => ErrorCode::UnknownOp,
                    guildhall_protocol::ops::OpError::Payload { .. } => ErrorCode::BadFrame,
                };
                self.reply_err(codec, frame.id, ErrorBody::new(code, e.to_string()));
                return self.strike(close::PROTOCOL, "too many malformed frames");
            }
        };
        // Boxed: an op's future (a join, a send waiting for its commit) is large, and inlined
        // it would make every idle connection's task as large as the largest op.
        Box::pin(self.dispatch(codec, frame.id, op, frame.idem)).await
    }

    fn strike(&mut self, code: u16, reason: &'static str) -> Flow {
        if self.limiter.strike() {
            Flow::Continue
        } else {
            self.closer.close(code, reason);
            Flow::Stop
        }
    }

    fn reply<T: serde::Serialize>(
        &self,
        codec: Codec,
        id: Option<u64>,
        result: Result<T, ErrorBody>,
    ) {
        let reply = match result {
            Ok(d) => Reply::ok(id, d),
            Err(e) => Reply::err(id, e),
        };
        if let Some(frame) = encode_frame(codec, &reply) {
            self.outbox.send(frame);
        }
    }

    fn reply_err(&self, codec: Codec, id: Option<u64>, err: ErrorBody) {
        self.reply::<()>(codec, id, Err(err));
    }

    async fn cleanup(&mut self) {
        let rooms: Vec<Joined> = self.rooms.drain().map(|(_, joined)| joined).collect();
        match self.session.clone() {
            Some(session) => {
                for joined in &rooms {
                    self.left(&session, joined).await;
                }
                self.services.moderation.users.unregister(&session);
            }
            None => {
                for joined in &rooms {
                    self.services.hub.leave(joined).await;
                }
            }
        }
        if self.session.take().is_some() {
            self.services.metrics.connections.decrement(1.0);
        }
    }
}

fn is_capacity_error(e: &axum::Error) -> bool {
    e.to_string().contains("Space limit exceeded")
        || e.to_string().to_lowercase().contains("too long")
}
