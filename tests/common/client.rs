//! A protocol client over a real socket that speaks either codec, shared by the test binaries.
// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use guildhall_protocol::Codec;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(5);

/// A bare HTTP/1.1 GET, enough for the operational endpoints.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A bare HTTP/1.1 request with an optional bearer key and JSON body, for `/api`. The body of
/// the answer is parsed as JSON (`null` when it is not JSON).
pub async fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    try_http_json(addr, method, path, bearer, body)
        .await
        .expect("the HTTP exchange completes")
}

/// [`http_json`], with `None` when the connection fails or breaks (a node that was killed).
pub async fn try_http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = bearer
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub codec: Codec,
    next_id: u64,
    /// Pushes that arrived while waiting for a reply, oldest first.
    pub pushes: VecDeque<Value>,
    pub closed: Option<(u16, String)>,
}

impl Client {
    pub async fn connect(url: &str, codec: Codec) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Self {
            ws,
            codec,
            next_id: 1,
            pushes: VecDeque::new(),
            closed: None,
        }
    }

    pub async fn hello(&mut self, token: &str) -> Value {
        self.request("hello", json!({ "token": token, "v": 1 }))
            .await
    }

    pub fn encode(&self, value: &Value) -> Message {
        match self.codec {
            Codec::Json => Message::Text(value.to_string().into()),
            Codec::MsgPack => {
                Message::Binary(rmp_serde::to_vec_named(value).expect("msgpack").into())
            }
        }
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    pub async fn send_frame(&mut self, frame: Value) {
        let message = self.encode(&frame);
        self.send_raw(message).await;
    }

    /// Sends an op and waits for its reply; pushes met on the way are queued.
    pub async fn request(&mut self, op: &str, d: Value) -> Value {
        self.request_frame(json!({ "op": op, "d": d })).await
    }

    pub async fn request_idem(&mut self, op: &str, idem: &str, d: Value) -> Value {
        self.request_frame(json!({ "op": op, "idem": idem, "d": d }))
            .await
    }

    pub async fn request_frame(&mut self, mut frame: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.send_frame(frame).await;
        self.reply_to(Some(id)).await
    }

    /// Waits for the reply carrying `id` (or, for `None`, the next reply without one).
    pub async fn reply_to(&mut self, id: Option<u64>) -> Value {
        loop {
            let frame = self
                .next_frame(WAIT)
                .await
                .unwrap_or_else(|| panic!("no reply to {id:?}; closed: {:?}", self.closed));
            if frame.get("ok").is_some() {
                let got = frame.get("id").and_then(Value::as_u64);
                assert_eq!(got, id, "reply for another request: {frame}");
                return frame;
            }
            self.pushes.push_back(frame);
        }
    }

    /// The next push (queued first), or None within the timeout.
    pub async fn next_push_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(p) = self.pushes.pop_front() {
            return Some(p);
        }
        let frame = self.next_frame(wait).await?;
        assert!(
            frame.get("ev").is_some(),
            "unexpected reply while waiting for a push: {frame}"
        );
        Some(frame)
    }

    pub async fn next_push(&mut self) -> Value {
        self.next_push_within(WAIT)
            .await
            .unwrap_or_else(|| panic!("no push; closed: {:?}", self.closed))
    }

    /// The next push with this event name, skipping others (presence, mostly).
    pub async fn next_event(&mut self, ev: &str) -> Value {
        loop {
            let push = self.next_push().await;
            if push["ev"] == ev {
                return push;
            }
        }
    }

    /// The next push with this event name within `wait`, others skipped.
    pub async fn next_event_within(&mut self, ev: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let push = self
                .next_push_within(left)
                .await
                .unwrap_or_else(|| panic!("no {ev} within {wait:?}; closed: {:?}", self.closed));
            if push["ev"] == ev {
                return push;
            }
        }
    }

    /// All `chat.msg` pushes that arrive within `wait`, other events skipped.
    pub async fn drain_chat(&mut self, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(push) = self.next_push_within(wait).await {
            if push["ev"] == "chat.msg" {
                out.push(push);
            }
        }
        out
    }

    /// The next decoded data frame; None on timeout or close (recorded in `closed`).
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed.get_or_insert((1006, String::new()));
                    return None;
                }
                Ok(Some(Ok(m))) => m,
            };
            match message {
                Message::Text(t) => return Some(serde_json::from_str(&t).expect("server JSON")),
                Message::Binary(b) => {
                    return Some(rmp_serde::from_slice(&b).expect("server MessagePack"))
                }
                Message::Close(frame) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    self.closed = Some((code, reason));
                    return None;
                }
                _ => continue,
            }
        }
    }

    /// Reads until the server closes; the close code.
    pub async fn expect_close(&mut self) -> u16 {
        while self.closed.is_none() {
            if self.next_frame(WAIT).await.is_none() && self.closed.is_none() {
                panic!("the server did not close the connection");
            }
        }
        self.closed.as_ref().map(|c| c.0).unwrap_or_default()
    }

    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
    }

    /// Drops the TCP connection without a close handshake (a phone losing signal).
    pub fn drop_connection(self) {
        drop(self);
    }
}

/// Wall-clock milliseconds since the Unix epoch, as the server stamps events.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

pub fn codecs() -> [Codec; 2] {
    [Codec::Json, Codec::MsgPack]
}

pub fn chat_texts(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["d"]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub fn offsets(msgs: &[Value]) -> Vec<u64> {
    msgs.iter()
        .map(|m| m["off"].as_u64().expect("off"))
        .collect()
}
