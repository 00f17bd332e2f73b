//! A minimal Engine.IO v4 / Socket.IO v4 client, enough to drive the
//! comparison peer in `loadtest/peers/socketio/` with the same scenarios as
//! Guildhall: join a room, publish into it, read the fan-out, sit idle.
//!
//! It speaks the wire protocol directly over tokio-tungstenite (no Socket.IO
//! crate), WebSocket transport only:
//!
//! - URL `ws://HOST:PORT/socket.io/?EIO=4&transport=websocket`.
//! - Engine.IO: the server opens with `0{"sid":..,"pingInterval":..,..}`,
//!   pings with `2` (the client answers `3`), and carries Socket.IO packets
//!   as `4` + packet. One Engine.IO packet per WebSocket frame.
//! - Socket.IO: `40` connects to the default namespace (answer
//!   `40{"sid":..}`), events are `42["name",args..]`, `42<id>[..]` asks for an
//!   ack, and the server's ack comes back as `43<id>[args..]`.
//!
//! Receiving is the hot path (about a million `msg` events a second on one
//! core in the fan-out benchmark), so a `42["msg","<text>"]` frame whose text
//! has no escapes is answered by slicing the frame, without JSON parsing;
//! anything else falls back to serde_json.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// Read buffer per connection. tungstenite allocates its read buffer up
/// front (128 KiB by default), which is 13 GiB for 100k idle connections;
/// 16 KiB still holds hundreds of small `msg` frames per read syscall.
pub const DEFAULT_READ_BUFFER: usize = 16 * 1024;

/// Frames a split sender may queue ahead of its writer task before `chat`
/// waits: bounded so an open-loop publisher that outruns the socket gets
/// back-pressure instead of growing memory without limit.
const SEND_QUEUE: usize = 1024;

/// Frames the writer task feeds before forcing a flush, so a long burst
/// does not hold earlier frames back indefinitely.
const MAX_BATCH: usize = 256;

/// The pong for a payload-less ping: static so answering costs no allocation.
const PONG: Utf8Bytes = Utf8Bytes::from_static("3");

/// What the handshake learned about the session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Engine.IO session id (from the open packet).
    pub engine_sid: String,
    /// Socket.IO socket id in the default namespace (from the connect answer).
    pub socket_sid: String,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long the server waits for the pong before dropping the connection.
    pub ping_timeout: Duration,
}

/// A connected Socket.IO client (default namespace) on one WebSocket.
///
/// Server pings are answered while `recv_msg`/`join` is being awaited, so an
/// idle connection must keep a `recv_msg` pending: the server drops a client
/// that misses `ping_interval + ping_timeout` (45 s by default).
pub struct SioClient {
    ws: Ws,
    info: SessionInfo,
    next_ack_id: u64,
    /// `msg` events that arrived while `join` waited for its ack; handed out
    /// by the next `recv_msg` calls so none is lost.
    pending: VecDeque<String>,
    acks: u64,
}

impl SioClient {
    /// Connects, completes the Engine.IO open and the namespace connect.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_from(url, None).await
    }

    /// Same, from a given local address (many 127.0.0.x source addresses for
    /// large scenarios).
    pub async fn connect_from(url: &str, local: Option<IpAddr>) -> Result<Self> {
        let config = WebSocketConfig::default().read_buffer_size(DEFAULT_READ_BUFFER);
        Self::connect_with(url, local, config).await
    }

    /// Same, with an explicit WebSocket configuration (buffer sizes).
    pub async fn connect_with(
        url: &str,
        local: Option<IpAddr>,
        config: WebSocketConfig,
    ) -> Result<Self> {
        let tcp = tcp_connect(url, local).await?;
        let (ws, _response) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
            .await
            .with_context(|| format!("websocket handshake with {url}"))?;
        let mut client = SioClient {
            ws,
            info: SessionInfo {
                engine_sid: String::new(),
                socket_sid: String::new(),
                ping_interval: Duration::ZERO,
                ping_timeout: Duration::ZERO,
            },
            next_ack_id: 0,
            pending: VecDeque::new(),
            acks: 0,
        };
        client.handshake().await?;
        Ok(client)
    }

    async fn handshake(&mut self) -> Result<()> {
        let open = loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => break t,
                // Control frames may precede the open packet in principle.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => bail!("expected the Engine.IO open packet, got {other:?}"),
                Some(Err(e)) => return Err(e).context("reading the Engine.IO open packet"),
                None => bail!("closed before the Engine.IO open packet"),
            }
        };
        let (sid, ping_interval, ping_timeout) = parse_open(&open)?;
        self.info.engine_sid = sid;
        self.info.ping_interval = ping_interval;
        self.info.ping_timeout = ping_timeout;

        self.ws
            .send(Message::Text(Utf8Bytes::from_static("40")))
            .await
            .context("sending the namespace connect")?;
        loop {
            let Some(frame) = self.ws.next().await else {
                bail!("closed before the namespace connect answer");
            };
            let text = match frame.context("reading the namespace connect answer")? {
                Message::Text(t) => t,
                Message::Close(_) => bail!("closed before the namespace connect answer"),
                _ => continue,
            };
            match parse_packet(&text)? {
                Packet::Connect(payload) => {
                    self.info.socket_sid = parse_connect(payload)?;
                    return Ok(());
                }
                Packet::ConnectError(payload) => bail!("namespace connect refused: {payload}"),
                Packet::Ping(payload) => self.ws.send(pong(payload)).await?,
                Packet::Close | Packet::Disconnect => {
                    bail!("closed before the namespace connect answer")
                }
                _ => {}
            }
        }
    }

    /// What the handshake learned (ids, heartbeat timing).
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Acks received for chats (join acks are consumed by `join`).
    pub fn acks(&self) -> u64 {
        self.acks
    }

    /// emit("join", room) and wait for its ack.
    ///
    /// `msg` events arriving meanwhile are kept for `recv_msg`.
    pub async fn join(&mut self, room: &str) -> Result<()> {
        let id = self.next_ack_id;
        self.next_ack_id += 1;
        self.ws
            .send(Message::Text(
                encode_event(Some(id), "join", &[room]).into(),
            ))
            .await
            .context("sending join")?;
        loop {
            let Some(frame) = self.ws.next().await else {
                bail!("closed while waiting for the join ack");
            };
            match classify(frame)? {
                Step::Ack { id: got, ok } if got == id => {
                    if ok {
                        return Ok(());
                    }
                    bail!("server refused join {room:?}");
                }
                Step::Ack { .. } => self.acks += 1,
                Step::Msg(m) => self.pending.push_back(m.into_string()),
                Step::Reply(r) => self.ws.send(r).await.context("answering a ping")?,
                Step::Closed => bail!("closed while waiting for the join ack"),
                Step::Skip => {}
            }
        }
    }

    /// emit("chat", room, text) without waiting for the ack (open-loop
    /// publishing); acks are consumed by recv.
    ///
    /// Returns once the frame is written and flushed to the socket.
    pub async fn chat(&mut self, room: &str, text: &str) -> Result<()> {
        let frame = encode_event(Some(self.next_ack_id), "chat", &[room, text]);
        self.next_ack_id += 1;
        self.ws
            .send(Message::Text(frame.into()))
            .await
            .context("sending chat")
    }

    /// The next `msg` event's text; answers pings and skips acks/other
    /// packets on the way. None when closed.
    ///
    /// Cancel-safe (e.g. under `tokio::time::timeout`): a frame is only
    /// taken off the socket when it is handled in the same poll.
    pub async fn recv_msg(&mut self) -> Result<Option<String>> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(Some(m));
        }
        Ok(self.recv_payload().await?.map(MsgPayload::into_string))
    }

    /// Like `recv_msg`, but the text is a zero-copy slice of the received
    /// frame when it needed no unescaping (no allocation per message).
    pub async fn recv_msg_bytes(&mut self) -> Result<Option<Bytes>> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(Some(Bytes::from(m.into_bytes())));
        }
        Ok(self.recv_payload().await?.map(MsgPayload::into_bytes))
    }

    async fn recv_payload(&mut self) -> Result<Option<MsgPayload>> {
        loop {
            let Some(frame) = self.ws.next().await else {
                return Ok(None);
            };
            match classify(frame)? {
                Step::Msg(m) => return Ok(Some(m)),
                Step::Ack { .. } => self.acks += 1,
                Step::Reply(r) => self.ws.send(r).await.context("answering a ping")?,
                Step::Closed => return Ok(None),
                Step::Skip => {}
            }
        }
    }

    /// Closes the WebSocket politely (close frame), ignoring a peer that is
    /// already gone.
    pub async fn close(mut self) -> Result<()> {
        match self.ws.close(None).await {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed) => Ok(()),
            Err(e) => Err(e).context("closing"),
        }
    }

    /// Splits into a sender half (chat) and a receiver half (recv_msg,
    /// answering pings through a shared channel) so publishers and readers
    /// can run as separate tasks.
    ///
    /// The WebSocket sink moves into a spawned writer task that both halves
    /// feed: pongs must go out even when nobody ever chats (idle
    /// connections), so the receiver cannot depend on the sender half being
    /// polled. Must be called inside a tokio runtime (it spawns).
    /// The WebSocket is closed once both halves are dropped.
    pub fn split(self) -> (SioSender, SioReceiver) {
        let (sink, stream) = self.ws.split();
        let (data_tx, data_rx) = mpsc::channel(SEND_QUEUE);
        let (ctrl_tx, ctrl_rx) = mpsc::unbounded_channel();
        let writer_error = Arc::new(OnceLock::new());
        let err_slot = Arc::clone(&writer_error);
        tokio::spawn(async move {
            if let Err(e) = write_loop(sink, ctrl_rx, data_rx).await {
                // Kept so the halves can say why the connection stopped
                // instead of a bare "channel closed".
                let _ = err_slot.set(e.to_string());
            }
        });
        let sender = SioSender {
            data: data_tx,
            next_ack_id: self.next_ack_id,
            writer_error: Arc::clone(&writer_error),
        };
        let receiver = SioReceiver {
            stream,
            ctrl: ctrl_tx,
            pending: self.pending,
            acks: self.acks,
            writer_error,
            info: self.info,
        };
        (sender, receiver)
    }
}

/// The publishing half of a split [`SioClient`].
pub struct SioSender {
    data: mpsc::Sender<Message>,
    next_ack_id: u64,
    writer_error: Arc<OnceLock<String>>,
}

impl SioSender {
    /// emit("chat", room, text) without waiting for the ack; the ack is
    /// consumed by the receiver half.
    ///
    /// Returns once the frame is queued for the writer task (it waits only
    /// when the queue is full).
    pub async fn chat(&mut self, room: &str, text: &str) -> Result<()> {
        let frame = encode_event(Some(self.next_ack_id), "chat", &[room, text]);
        self.next_ack_id += 1;
        self.data
            .send(Message::Text(frame.into()))
            .await
            .map_err(|_| writer_gone(&self.writer_error))
    }
}

/// The reading half of a split [`SioClient`]; answers server pings through
/// the writer task.
pub struct SioReceiver {
    stream: SplitStream<Ws>,
    ctrl: mpsc::UnboundedSender<Message>,
    pending: VecDeque<String>,
    acks: u64,
    writer_error: Arc<OnceLock<String>>,
    info: SessionInfo,
}

impl SioReceiver {
    /// What the handshake learned (ids, heartbeat timing).
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Acks received for chats sent by the sender half.
    pub fn acks(&self) -> u64 {
        self.acks
    }

    /// The next `msg` event's text; answers pings and skips acks/other
    /// packets on the way. None when closed.
    pub async fn recv_msg(&mut self) -> Result<Option<String>> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(Some(m));
        }
        Ok(self.recv_payload().await?.map(MsgPayload::into_string))
    }

    /// Like `recv_msg`, but zero-copy when the text needed no unescaping.
    pub async fn recv_msg_bytes(&mut self) -> Result<Option<Bytes>> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(Some(Bytes::from(m.into_bytes())));
        }
        Ok(self.recv_payload().await?.map(MsgPayload::into_bytes))
    }

    async fn recv_payload(&mut self) -> Result<Option<MsgPayload>> {
        loop {
            let Some(frame) = self.stream.next().await else {
                return Ok(None);
            };
            match classify(frame)? {
                Step::Msg(m) => return Ok(Some(m)),
                Step::Ack { .. } => self.acks += 1,
                Step::Reply(r) => self
                    .ctrl
                    .send(r)
                    .map_err(|_| writer_gone(&self.writer_error))?,
                Step::Closed => return Ok(None),
                Step::Skip => {}
            }
        }
    }
}

fn writer_gone(slot: &OnceLock<String>) -> anyhow::Error {
    match slot.get() {
        Some(e) => anyhow!("socket.io writer stopped: {e}"),
        None => anyhow!("socket.io writer stopped"),
    }
}

/// Owns the sink of a split client. Pongs (`ctrl`) go before queued chats so
/// a publisher saturating the socket cannot starve the heartbeat; frames
/// already queued are fed together and flushed once, so a burst costs one
/// write syscall instead of one per frame.
async fn write_loop(
    mut sink: SplitSink<Ws, Message>,
    mut ctrl: mpsc::UnboundedReceiver<Message>,
    mut data: mpsc::Receiver<Message>,
) -> Result<(), tungstenite::Error> {
    let mut ctrl_open = true;
    let mut data_open = true;
    loop {
        let first = tokio::select! {
            biased;
            m = ctrl.recv(), if ctrl_open => match m {
                Some(m) => m,
                None => {
                    ctrl_open = false;
                    continue;
                }
            },
            m = data.recv(), if data_open => match m {
                Some(m) => m,
                None => {
                    data_open = false;
                    continue;
                }
            },
            else => break,
        };
        sink.feed(first).await?;
        for _ in 1..MAX_BATCH {
            let next = match ctrl.try_recv() {
                Ok(m) => m,
                Err(_) => match data.try_recv() {
                    Ok(m) => m,
                    Err(_) => break,
                },
            };
            sink.feed(next).await?;
        }
        sink.flush().await?;
    }
    // Both halves are gone: say goodbye. The peer may have left first.
    match sink.close().await {
        Ok(()) | Err(tungstenite::Error::ConnectionClosed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Resolves the URL's host and opens the TCP connection, bound to `local`
/// when given.
async fn tcp_connect(url: &str, local: Option<IpAddr>) -> Result<TcpStream> {
    let uri: Uri = url.parse().with_context(|| format!("bad URL {url:?}"))?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some(other) => bail!("unsupported scheme {other:?} in {url:?} (only ws://)"),
        None => bail!("no scheme in {url:?}"),
    }
    let host = uri
        .host()
        .with_context(|| format!("no host in {url:?}"))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .collect();
    // A bound source address only reaches targets of its own family.
    let addr = addrs
        .iter()
        .copied()
        .find(|a| local.is_none_or(|l| l.is_ipv4() == a.is_ipv4()))
        .with_context(|| format!("no usable address for {host}"))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = local {
        // Lets a source port still in TIME_WAIT from an earlier run be reused;
        // large scenarios cycle through many ports per source address.
        socket.set_reuseaddr(true)?;
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("binding to {ip}"))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    // Small frames (pongs, single chats) must not wait on Nagle + delayed ACK.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Reads `sid`, `pingInterval` and `pingTimeout` from an Engine.IO open
/// packet (`0{...}`).
pub fn parse_open(frame: &str) -> Result<(String, Duration, Duration)> {
    let json = frame
        .strip_prefix('0')
        .with_context(|| format!("expected the Engine.IO open packet, got {frame:?}"))?;
    let v: serde_json::Value =
        serde_json::from_str(json).with_context(|| format!("bad open packet {frame:?}"))?;
    let sid = v
        .get("sid")
        .and_then(|s| s.as_str())
        .with_context(|| format!("open packet without sid: {frame:?}"))?
        .to_owned();
    let ms = |key: &str| -> Result<Duration> {
        v.get(key)
            .and_then(|x| x.as_u64())
            .map(Duration::from_millis)
            .with_context(|| format!("open packet without {key}: {frame:?}"))
    };
    Ok((sid, ms("pingInterval")?, ms("pingTimeout")?))
}

/// The socket id from a namespace connect answer's payload (`{"sid":".."}`).
fn parse_connect(payload: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(payload)
        .with_context(|| format!("bad namespace connect answer {payload:?}"))?;
    v.get("sid")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .with_context(|| format!("namespace connect answer without sid: {payload:?}"))
}

/// Where a `msg` event's text is.
#[derive(Debug, PartialEq)]
pub enum MsgText {
    /// Byte range of the text inside the frame: it had no escapes.
    Range(Range<usize>),
    /// The text, unescaped by serde_json.
    Owned(String),
}

/// One inbound Engine.IO packet, as far as this client cares.
#[derive(Debug, PartialEq)]
pub enum Packet<'a> {
    /// `0{...}`: Engine.IO open (JSON payload).
    Open(&'a str),
    /// `1`: Engine.IO close.
    Close,
    /// `2<payload>`: ping; answer `3<payload>`.
    Ping(&'a str),
    /// `3<payload>`: pong.
    Pong(&'a str),
    /// `6`: noop.
    Noop,
    /// `40<json>`: namespace connected.
    Connect(&'a str),
    /// `41`: namespace disconnected.
    Disconnect,
    /// `44<json>`: namespace connect refused.
    ConnectError(&'a str),
    /// `42[..."msg",text]`: the event the fan-out is made of.
    Msg(MsgText),
    /// Any other event.
    Event,
    /// `43<id>[args...]`; `ok` when the first argument is `true`.
    Ack { id: u64, ok: bool },
    /// Anything else (binary events, upgrade packets, other namespaces).
    Other,
}

/// Parses one text frame. Only malformed packets this client must
/// understand (open, events, acks) are errors; unknown ones are `Other`.
pub fn parse_packet(frame: &str) -> Result<Packet<'_>> {
    let bytes = frame.as_bytes();
    let Some(&kind) = bytes.first() else {
        bail!("empty Engine.IO packet");
    };
    let rest = &frame[1..];
    Ok(match kind {
        b'4' => return parse_socketio(frame),
        b'2' => Packet::Ping(rest),
        b'3' => Packet::Pong(rest),
        b'0' => Packet::Open(rest),
        b'1' => Packet::Close,
        b'6' => Packet::Noop,
        _ => Packet::Other,
    })
}

/// Parses `4<socket.io packet>`; `frame` still has the leading `4` so
/// message ranges are relative to the whole frame.
fn parse_socketio(frame: &str) -> Result<Packet<'_>> {
    let Some(&kind) = frame.as_bytes().get(1) else {
        bail!("empty Socket.IO packet");
    };
    let mut start = 2;
    // A namespace other than "/" is written before the id: `/chat,`. This
    // client only joins the default one, so such packets are not for it.
    if frame.as_bytes().get(start) == Some(&b'/') {
        return Ok(Packet::Other);
    }
    Ok(match kind {
        b'0' => Packet::Connect(&frame[start..]),
        b'1' => Packet::Disconnect,
        b'4' => Packet::ConnectError(&frame[start..]),
        b'2' => {
            // Skip an ack id the server may ask for (`42<id>[...]`).
            start += digits_len(&frame.as_bytes()[start..]);
            parse_event(frame, start)?
        }
        b'3' => {
            let n = digits_len(&frame.as_bytes()[start..]);
            let id: u64 = frame[start..start + n]
                .parse()
                .with_context(|| format!("ack without an id: {frame:?}"))?;
            let args = &frame[start + n..];
            let ok = if args == "[true]" {
                true
            } else {
                let v: Vec<serde_json::Value> = serde_json::from_str(args)
                    .with_context(|| format!("bad ack arguments: {frame:?}"))?;
                v.first() == Some(&serde_json::Value::Bool(true))
            };
            Packet::Ack { id, ok }
        }
        _ => Packet::Other,
    })
}

fn digits_len(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// `frame[start..]` is the event's JSON array.
fn parse_event(frame: &str, start: usize) -> Result<Packet<'_>> {
    let array = &frame[start..];
    if let Some(after) = array.strip_prefix("[\"") {
        // The event name up to its closing quote, unless it has escapes
        // (`m\u0073g` is also "msg"): those go to serde_json below.
        if let Some(end) = memchr::memchr2(b'"', b'\\', after.as_bytes()) {
            if after.as_bytes()[end] == b'"' {
                if &after[..end] != "msg" {
                    // Not ours; no need to look further.
                    return Ok(Packet::Event);
                }
                // Fast path: `["msg","<text>"]` with no `\` or `"` inside
                // the text, so the text is exactly the bytes between the
                // quotes. A `"` inside would mean more arguments
                // (`"a","b"`), which the slow path sorts out.
                let text = after[end..]
                    .strip_prefix("\",\"")
                    .and_then(|b| b.strip_suffix("\"]"));
                if let Some(text) = text {
                    if memchr::memchr2(b'\\', b'"', text.as_bytes()).is_none() {
                        let begin = start + 2 + end + 3;
                        return Ok(Packet::Msg(MsgText::Range(begin..begin + text.len())));
                    }
                }
            }
        }
    }
    let v: Vec<serde_json::Value> =
        serde_json::from_str(array).with_context(|| format!("bad event packet: {frame:?}"))?;
    let mut args = v.into_iter();
    match args.next() {
        Some(serde_json::Value::String(name)) if name == "msg" => match args.next() {
            Some(serde_json::Value::String(text)) => Ok(Packet::Msg(MsgText::Owned(text))),
            _ => bail!("msg event without a string argument: {frame:?}"),
        },
        Some(serde_json::Value::String(_)) => Ok(Packet::Event),
        _ => bail!("event without a name: {frame:?}"),
    }
}

/// Encodes `42[<id>]["name","arg",...]` with string arguments.
pub fn encode_event(ack_id: Option<u64>, name: &str, args: &[&str]) -> String {
    let cap = 8 + name.len() + args.iter().map(|a| a.len() + 3).sum::<usize>();
    let mut out = String::with_capacity(cap);
    out.push_str("42");
    if let Some(id) = ack_id {
        push_u64(&mut out, id);
    }
    out.push('[');
    push_json_str(&mut out, name);
    for a in args {
        out.push(',');
        push_json_str(&mut out, a);
    }
    out.push(']');
    out
}

fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends `s` as a JSON string. Load-generator texts never need escaping,
/// so that case is a plain copy; the rest follows RFC 8259.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let v = c as u32 as usize;
                    out.push_str("\\u00");
                    out.push(char::from(HEX[v >> 4]));
                    out.push(char::from(HEX[v & 0xf]));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// The pong for a ping carrying `payload` (normally empty).
fn pong(payload: &str) -> Message {
    if payload.is_empty() {
        Message::Text(PONG)
    } else {
        Message::Text(format!("3{payload}").into())
    }
}

/// A received `msg` text: still inside its frame, or unescaped.
enum MsgPayload {
    Frame(Utf8Bytes, Range<usize>),
    Owned(String),
}

impl MsgPayload {
    fn into_string(self) -> String {
        match self {
            MsgPayload::Frame(f, r) => f.as_str()[r].to_owned(),
            MsgPayload::Owned(s) => s,
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            MsgPayload::Frame(f, r) => {
                let b: &Bytes = f.as_ref();
                b.slice(r)
            }
            MsgPayload::Owned(s) => Bytes::from(s.into_bytes()),
        }
    }
}

/// What the receive loops do with one WebSocket frame.
enum Step {
    Msg(MsgPayload),
    Ack {
        id: u64,
        ok: bool,
    },
    /// Send this back (a pong).
    Reply(Message),
    Closed,
    Skip,
}

fn classify(frame: Result<Message, tungstenite::Error>) -> Result<Step> {
    let text = match frame {
        Ok(Message::Text(t)) => t,
        Ok(Message::Close(_)) => return Ok(Step::Closed),
        // WebSocket pings are answered by tungstenite itself; binary frames
        // are Socket.IO attachments, which this client never asks for.
        Ok(_) => return Ok(Step::Skip),
        Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
            return Ok(Step::Closed)
        }
        Err(e) => return Err(e).context("reading from the socket.io server"),
    };
    Ok(match parse_packet(&text)? {
        Packet::Msg(MsgText::Range(r)) => Step::Msg(MsgPayload::Frame(text, r)),
        Packet::Msg(MsgText::Owned(s)) => Step::Msg(MsgPayload::Owned(s)),
        Packet::Ack { id, ok } => Step::Ack { id, ok },
        Packet::Ping(payload) => Step::Reply(pong(payload)),
        Packet::Close | Packet::Disconnect => Step::Closed,
        Packet::ConnectError(payload) => bail!("socket.io connect error: {payload}"),
        Packet::Open(_)
        | Packet::Pong(_)
        | Packet::Noop
        | Packet::Connect(_)
        | Packet::Event
        | Packet::Other => Step::Skip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_text(frame: &str) -> String {
        match parse_packet(frame).expect("parses") {
            Packet::Msg(MsgText::Range(r)) => frame[r].to_owned(),
            Packet::Msg(MsgText::Owned(s)) => s,
            other => panic!("not a msg: {other:?}"),
        }
    }

    #[test]
    fn msg_fast_path_slices_the_frame() {
        let f = r#"42["msg","7:1712345678:hello world"]"#;
        assert_eq!(
            parse_packet(f).expect("parses"),
            Packet::Msg(MsgText::Range(10..34))
        );
        assert_eq!(msg_text(f), "7:1712345678:hello world");
        assert_eq!(msg_text(r#"42["msg",""]"#), "");
        assert!(matches!(
            parse_packet(r#"42["msg","é ü"]"#).expect("parses"),
            Packet::Msg(MsgText::Range(_))
        ));
        assert_eq!(msg_text(r#"42["msg","é ü"]"#), "é ü");
    }

    #[test]
    fn msg_slow_path_unescapes() {
        let f = r#"42["msg","say \"hi\"\n\\ok\u0001"]"#;
        assert!(matches!(
            parse_packet(f).expect("parses"),
            Packet::Msg(MsgText::Owned(_))
        ));
        assert_eq!(msg_text(f), "say \"hi\"\n\\ok\u{1}");
        // Extra arguments look like quotes inside the text: must not slice.
        assert_eq!(msg_text(r#"42["msg","a","b"]"#), "a");
        // Whitespace the fast path does not expect.
        assert_eq!(msg_text(r#"42[ "msg" , "x" ]"#), "x");
        // An escaped event name is still "msg".
        assert_eq!(msg_text(r#"42["m\u0073g","x"]"#), "x");
        assert_eq!(parse_packet(r#"42["msgx","x"]"#).expect("p"), Packet::Event);
        // An event asking for an ack.
        assert_eq!(msg_text(r#"4217["msg","x"]"#), "x");
        assert!(parse_packet(r#"42["msg",5]"#).is_err());
        assert!(parse_packet(r#"42["msg","x""#).is_err());
    }

    #[test]
    fn other_packets() {
        assert_eq!(parse_packet("2").expect("p"), Packet::Ping(""));
        assert_eq!(parse_packet("2probe").expect("p"), Packet::Ping("probe"));
        assert_eq!(parse_packet("3").expect("p"), Packet::Pong(""));
        assert_eq!(parse_packet("1").expect("p"), Packet::Close);
        assert_eq!(parse_packet("6").expect("p"), Packet::Noop);
        assert_eq!(
            parse_packet(r#"40{"sid":"abc"}"#).expect("p"),
            Packet::Connect(r#"{"sid":"abc"}"#)
        );
        assert_eq!(parse_packet("41").expect("p"), Packet::Disconnect);
        assert_eq!(
            parse_packet(r#"44{"message":"no"}"#).expect("p"),
            Packet::ConnectError(r#"{"message":"no"}"#)
        );
        assert_eq!(
            parse_packet("4312[true]").expect("p"),
            Packet::Ack { id: 12, ok: true }
        );
        assert_eq!(
            parse_packet("430[false]").expect("p"),
            Packet::Ack { id: 0, ok: false }
        );
        assert_eq!(
            parse_packet("433[ true ]").expect("p"),
            Packet::Ack { id: 3, ok: true }
        );
        assert_eq!(
            parse_packet("433[]").expect("p"),
            Packet::Ack { id: 3, ok: false }
        );
        assert!(parse_packet("43[true]").is_err());
        assert_eq!(
            parse_packet(r#"42["other","x"]"#).expect("p"),
            Packet::Event
        );
        assert_eq!(
            parse_packet(r#"42/admin,["msg","x"]"#).expect("p"),
            Packet::Other
        );
        assert_eq!(parse_packet("451-[\"msg\"]").expect("p"), Packet::Other);
        assert!(parse_packet("").is_err());
        assert!(parse_packet("4").is_err());
    }

    #[test]
    fn open_packet() {
        let (sid, interval, timeout) = parse_open(
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
        )
        .expect("parses");
        assert_eq!(sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(interval, Duration::from_millis(25000));
        assert_eq!(timeout, Duration::from_millis(20000));
        assert!(parse_open(r#"0{"sid":"x"}"#).is_err());
        assert!(parse_open(r#"40{"sid":"x"}"#).is_err());
        assert_eq!(parse_connect(r#"{"sid":"abc"}"#).expect("sid"), "abc");
    }

    #[test]
    fn encodes_events() {
        assert_eq!(
            encode_event(Some(0), "join", &["room-1"]),
            r#"420["join","room-1"]"#
        );
        assert_eq!(
            encode_event(Some(1234567), "chat", &["r", "3:99:abc def"]),
            r#"421234567["chat","r","3:99:abc def"]"#
        );
        assert_eq!(encode_event(None, "ping", &[]), r#"42["ping"]"#);
        assert_eq!(
            encode_event(Some(u64::MAX), "x", &[]),
            format!("42{}[\"x\"]", u64::MAX)
        );
    }

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "quote \" backslash \\ slash /",
            "nl\ncr\rtab\tbell\u{7}nul\u{0}us\u{1f}",
            "unicode é 😀 \u{2028}",
            "",
        ] {
            let frame = encode_event(None, "chat", &["room", s]);
            let v: Vec<serde_json::Value> = serde_json::from_str(&frame[2..]).expect("valid JSON");
            assert_eq!(v[2], serde_json::Value::String(s.to_owned()), "{s:?}");
            // And what we encode, we read back.
            let echoed = format!(r#"42["msg",{}]"#, serde_json::to_string(s).expect("json"));
            assert_eq!(msg_text(&echoed), s);
        }
    }

    #[test]
    fn pong_echoes_payload() {
        assert_eq!(pong(""), Message::Text(Utf8Bytes::from_static("3")));
        assert_eq!(pong("probe"), Message::Text("3probe".into()));
    }

    #[test]
    fn payload_conversions() {
        let frame: Utf8Bytes = r#"42["msg","abc"]"#.into();
        let Packet::Msg(MsgText::Range(r)) = parse_packet(&frame).expect("parses") else {
            panic!("fast path expected");
        };
        let p = MsgPayload::Frame(frame.clone(), r.clone());
        assert_eq!(p.into_bytes(), Bytes::from_static(b"abc"));
        assert_eq!(MsgPayload::Frame(frame, r).into_string(), "abc");
    }

    #[test]
    fn rejects_non_ws_urls() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        for url in [
            "wss://127.0.0.1:1/socket.io/",
            "http://127.0.0.1:1/",
            "127.0.0.1:1",
        ] {
            let err = rt.block_on(SioClient::connect(url)).err().expect("error");
            assert!(
                err.to_string().contains("scheme") || err.to_string().contains("URL"),
                "{url}: {err:#}"
            );
        }
    }

    /// The comparison peer, started by the tests on a free port.
    mod peer {
        use std::path::PathBuf;
        use std::process::Stdio;
        use std::sync::OnceLock;
        use std::time::Duration;

        use tokio::io::{AsyncBufReadExt, BufReader};
        use tokio::process::{Child, Command};

        pub struct Peer {
            pub child: Child,
            pub port: u16,
        }

        impl Peer {
            pub fn url(&self) -> String {
                format!(
                    "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
                    self.port
                )
            }

            /// SIGTERM, and the server must exit 0 promptly.
            pub async fn stop(mut self) {
                let pid = self.child.id().expect("peer still running");
                let status = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .expect("run kill");
                assert!(status.success(), "kill -TERM {pid} failed");
                let exit = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                    .await
                    .expect("peer did not exit within 10 s of SIGTERM")
                    .expect("wait for peer");
                assert!(exit.success(), "peer exited with {exit} on SIGTERM");
            }
        }

        fn dir() -> PathBuf {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/socketio")
        }

        /// Makes sure node and the peer's node_modules are there: runs
        /// `npm ci` when node_modules is missing (the lockfile is committed),
        /// and fails with what to do otherwise. Once per test binary, since
        /// two concurrent `npm ci` would delete each other's node_modules.
        fn ensure_installed() {
            static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
            if let Err(e) = INSTALLED.get_or_init(install) {
                panic!("{e}");
            }
        }

        fn install() -> Result<(), String> {
            let dir = dir();
            let node = std::process::Command::new("node").arg("--version").output();
            match node {
                Ok(o) if o.status.success() => {}
                _ => {
                    return Err(
                        "`node` is not runnable: the Socket.IO peer tests need Node.js 20+ on PATH"
                            .into(),
                    )
                }
            }
            if dir.join("node_modules/socket.io/package.json").exists() {
                return Ok(());
            }
            let out = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    return Err(format!(
                        "node_modules missing in {} and `npm ci` failed ({}):\n{}",
                        dir.display(),
                        o.status,
                        String::from_utf8_lossy(&o.stderr)
                    ))
                }
                Err(e) => {
                    return Err(format!(
                    "node_modules missing in {} and `npm` could not run ({e}): run `npm ci` there",
                    dir.display()
                ))
                }
            }
            if !dir.join("node_modules/socket.io/package.json").exists() {
                return Err(format!(
                    "`npm ci` ran but socket.io is still missing in {}",
                    dir.display()
                ));
            }
            Ok(())
        }

        /// A private redis-server on a free port, killed on drop.
        pub struct Redis {
            _child: Child,
            pub url: String,
        }

        pub async fn redis() -> Redis {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
                l.local_addr().expect("local addr").port()
            };
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("redis-server must be installed for the cluster test (apt-get install redis-server)");
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "redis-server did not start"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Redis {
                _child: child,
                url: format!("redis://127.0.0.1:{port}"),
            }
        }

        /// Starts `node server.js` with PORT=0 (the OS picks a free port)
        /// and waits for its `listening <port>` line.
        pub async fn start(env: &[(&str, &str)]) -> Peer {
            ensure_installed();
            let mut cmd = Command::new("node");
            cmd.arg("server.js")
                .current_dir(dir())
                .env("PORT", "0")
                .env_remove("REDIS_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true);
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().expect("spawn node server.js");
            let stdout = child.stdout.take().expect("piped stdout");
            let mut lines = BufReader::new(stdout).lines();
            let port = tokio::time::timeout(Duration::from_secs(15), async {
                while let Some(line) = lines.next_line().await.expect("read peer stdout") {
                    if let Some(p) = line.strip_prefix("listening ") {
                        return p.trim().parse::<u16>().expect("port number");
                    }
                }
                panic!("peer exited before printing `listening <port>`");
            })
            .await
            .expect("peer did not print `listening <port>` within 15 s");
            // Keep draining stdout so the peer never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Peer { child, port }
        }
    }

    const WAIT: Duration = Duration::from_secs(10);

    async fn next_msg(c: &mut SioClient) -> String {
        tokio::time::timeout(WAIT, c.recv_msg())
            .await
            .expect("timed out waiting for msg")
            .expect("recv")
            .expect("connection closed")
    }

    #[tokio::test]
    async fn fan_out_against_node_peer() {
        let peer = peer::start(&[]).await;
        let url = peer.url();

        let mut publisher = SioClient::connect(&url).await.expect("connect publisher");
        let mut reader = SioClient::connect_from(&url, Some("127.0.0.1".parse().expect("ip")))
            .await
            .expect("connect reader");
        let split_reader = SioClient::connect(&url)
            .await
            .expect("connect split reader");
        assert!(!publisher.info().engine_sid.is_empty());
        assert!(!publisher.info().socket_sid.is_empty());
        assert_eq!(publisher.info().ping_interval, Duration::from_millis(25000));

        publisher.join("room-1").await.expect("join");
        reader.join("room-1").await.expect("join");
        let mut split_reader = split_reader;
        split_reader.join("room-1").await.expect("join");
        let (_split_tx, mut split_rx) = split_reader.split();

        let split_task = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..101 {
                let m = tokio::time::timeout(WAIT, split_rx.recv_msg_bytes())
                    .await
                    .expect("timed out waiting for msg")
                    .expect("recv")
                    .expect("connection closed");
                got.push(String::from_utf8(m.to_vec()).expect("utf8"));
            }
            got
        });

        let sent: Vec<String> = (0..100)
            .map(|i| format!("{i}:1712345678:payload"))
            .collect();
        for s in &sent {
            publisher.chat("room-1", s).await.expect("chat");
        }
        let tricky = "quote \" backslash \\ newline \n é";
        publisher.chat("room-1", tricky).await.expect("chat");

        let mut got = Vec::new();
        for _ in 0..100 {
            got.push(next_msg(&mut reader).await);
        }
        assert_eq!(got, sent, "plain reader: all 100, in order");
        assert_eq!(next_msg(&mut reader).await, tricky);

        let split_got = split_task.await.expect("split reader task");
        assert_eq!(
            &split_got[..100],
            &sent[..],
            "split reader: all 100, in order"
        );
        assert_eq!(split_got[100], tricky);

        // The publisher is in the room too: it reads its own messages, with
        // the 101 chat acks consumed on the way.
        for s in &sent {
            assert_eq!(&next_msg(&mut publisher).await, s);
        }
        assert_eq!(next_msg(&mut publisher).await, tricky);

        // A different room hears nothing of room-1.
        let mut other = SioClient::connect(&url).await.expect("connect");
        other.join("room-2").await.expect("join");
        publisher
            .chat("room-1", "not for room-2")
            .await
            .expect("chat");
        publisher.chat("room-2", "for room-2").await.expect("chat");
        assert_eq!(next_msg(&mut other).await, "for room-2");

        publisher.close().await.expect("close");
        peer.stop().await;
        // After the server is gone the reader sees the end, not a hang
        // (once it has read the room-1 message still queued for it).
        assert_eq!(next_msg(&mut reader).await, "not for room-2");
        let end = tokio::time::timeout(WAIT, reader.recv_msg())
            .await
            .expect("reader hung after server exit");
        assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    }

    #[tokio::test]
    async fn answers_pings_when_idle_and_split() {
        // Heartbeat of 200 + 200 ms: a client that never answered would be
        // dropped well within the 2 s idle wait below.
        let peer = peer::start(&[("PING_INTERVAL", "200"), ("PING_TIMEOUT", "200")]).await;
        let url = peer.url();

        let mut plain = SioClient::connect(&url).await.expect("connect");
        plain.join("idle").await.expect("join");
        let split = {
            let mut c = SioClient::connect(&url).await.expect("connect");
            c.join("idle").await.expect("join");
            c
        };
        assert_eq!(split.info().ping_interval, Duration::from_millis(200));
        let (mut tx, mut rx) = split.split();

        // Both sit in recv for 2 s with nothing to read: only pings arrive.
        // Polled together, since a client only answers pings while read.
        let idle = Duration::from_secs(2);
        let (p, r) = tokio::join!(
            tokio::time::timeout(idle, plain.recv_msg()),
            tokio::time::timeout(idle, rx.recv_msg())
        );
        assert!(
            p.is_err(),
            "plain client: expected no message and no close while idle, got {p:?}"
        );
        assert!(
            r.is_err(),
            "split client: expected no message and no close while idle, got {r:?}"
        );

        // Still connected: a chat from the split sender reaches both.
        tx.chat("idle", "still here").await.expect("chat");
        assert_eq!(next_msg(&mut plain).await, "still here");
        let m = tokio::time::timeout(WAIT, rx.recv_msg())
            .await
            .expect("timed out")
            .expect("recv")
            .expect("closed");
        assert_eq!(m, "still here");
        // The ack of that chat comes back to the receiver half, not as a msg.
        tx.chat("idle", "second").await.expect("chat");
        let m = tokio::time::timeout(WAIT, rx.recv_msg())
            .await
            .expect("timed out")
            .expect("recv")
            .expect("closed");
        assert_eq!(m, "second");
        assert!(rx.acks() >= 1, "acks seen: {}", rx.acks());

        peer.stop().await;
    }

    #[tokio::test]
    async fn cluster_through_redis_adapter() {
        let redis = peer::redis().await;
        let a = peer::start(&[("REDIS_URL", &redis.url)]).await;
        let b = peer::start(&[("REDIS_URL", &redis.url)]).await;

        let mut publisher = SioClient::connect(&a.url()).await.expect("connect to a");
        let mut reader = SioClient::connect(&b.url()).await.expect("connect to b");
        publisher.join("shared").await.expect("join");
        reader.join("shared").await.expect("join");

        // The adapter subscribes to Redis asynchronously after start-up:
        // probe until a message crosses, then drain the extra probes.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no message crossed from a to b through Redis"
            );
            publisher.chat("shared", "probe").await.expect("chat");
            match tokio::time::timeout(Duration::from_millis(100), reader.recv_msg()).await {
                Ok(Ok(Some(m))) if m == "probe" => break,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => {}
            }
        }
        for i in 0..100 {
            publisher
                .chat("shared", &format!("c:{i}"))
                .await
                .expect("chat");
        }
        let mut got = Vec::new();
        while got.len() < 100 {
            let m = next_msg(&mut reader).await;
            if m != "probe" {
                got.push(m);
            }
        }
        let want: Vec<String> = (0..100).map(|i| format!("c:{i}")).collect();
        assert_eq!(got, want, "all 100 across the cluster, in order");

        a.stop().await;
        b.stop().await;
    }
}
