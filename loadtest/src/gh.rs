//! The Guildhall side of the wire, written here from `protocol/README.md`: connect (from a
//! chosen source address), `hello`, `room.join`, `chat.send`, and a cheap read of pushes.

use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

/// Signs HS256 tokens the way a game's auth service would.
#[derive(Clone)]
pub struct Tokens {
    key: EncodingKey,
}

impl Tokens {
    pub fn new(secret: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
        }
    }

    pub fn mint(&self, user: &str) -> anyhow::Result<String> {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 24 * 3600;
        let claims = json!({ "sub": user, "name": user, "exp": exp });
        Ok(jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &self.key,
        )?)
    }
}

/// The host:port of a `ws://` URL.
pub fn socket_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.strip_prefix("ws://").context("only ws:// URLs")?;
    let host_port = rest.split('/').next().unwrap_or(rest);
    host_port
        .parse()
        .with_context(|| format!("{host_port} is not an IP:port"))
}

/// Small buffers: the generator holds tens of thousands of sockets.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

/// Opens a WebSocket, optionally from a given local address (to spread connections over
/// many 127.0.0.x source addresses when one would run out of ports).
pub async fn connect(url: &str, local: Option<IpAddr>) -> anyhow::Result<Ws> {
    connect_with(url, local, ws_config()).await
}

/// [`connect`] with a WebSocket configuration of the caller's (e.g. a smaller read buffer:
/// tungstenite zero-fills the free part of it before every read).
pub async fn connect_with(
    url: &str,
    local: Option<IpAddr>,
    config: WebSocketConfig,
) -> anyhow::Result<Ws> {
    let addr = socket_addr(url)?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = local {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// Sends one request and waits for its reply, skipping pushes.
pub async fn request(ws: &mut Ws, id: u64, op: &str, d: Value) -> anyhow::Result<Value> {
    let frame = json!({ "id": id, "op": op, "d": d });
    ws.send(Message::Text(frame.to_string().into())).await?;
    while let Some(message) = ws.next().await {
        let text = match message? {
            Message::Text(t) => t,
            Message::Close(frame) => bail!("closed during {op}: {frame:?}"),
            _ => continue,
        };
        let value: Value = serde_json::from_str(&text)?;
        if value.get("id").and_then(Value::as_u64) == Some(id) {
            if value["ok"] == true {
                return Ok(value["d"].clone());
            }
            bail!("{op} refused: {}", value["err"]);
        }
    }
    bail!("closed during {op}")
}

/// Connects, says hello as `user` and joins `room`.
pub async fn member(
    url: &str,
    local: Option<IpAddr>,
    tokens: &Tokens,
    user: &str,
    room: &str,
) -> anyhow::Result<Ws> {
    member_with(url, local, tokens, user, room, ws_config()).await
}

/// [`member`] over a connection made with [`connect_with`].
pub async fn member_with(
    url: &str,
    local: Option<IpAddr>,
    tokens: &Tokens,
    user: &str,
    room: &str,
    config: WebSocketConfig,
) -> anyhow::Result<Ws> {
    let mut ws = connect_with(url, local, config).await?;
    request(
        &mut ws,
        1,
        "hello",
        json!({ "token": tokens.mint(user)?, "v": 1 }),
    )
    .await?;
    request(&mut ws, 2, "room.join", json!({ "room": room })).await?;
    Ok(ws)
}

/// A `chat.send` frame (JSON), built without a JSON serializer: room and text are plain ASCII.
pub fn chat_send(id: u64, room: &str, text: &str) -> Message {
    Message::Text(
        format!(r#"{{"id":{id},"op":"chat.send","d":{{"room":"{room}","text":"{text}"}}}}"#).into(),
    )
}

/// Source addresses 127.0.0.1 .. 127.0.0.250, round robin by connection number.
pub fn source_ip(n: usize) -> IpAddr {
    IpAddr::from([127, 0, 0, 1 + (n % 250) as u8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_frames() {
        assert_eq!(
            socket_addr("ws://127.0.0.1:7700/ws").expect("addr").port(),
            7700
        );
        assert!(socket_addr("http://x").is_err());
        let Message::Text(t) = chat_send(7, "chan:f", "1:2:xx") else {
            panic!("text")
        };
        let v: Value = serde_json::from_str(&t).expect("json");
        assert_eq!(v["d"]["text"], "1:2:xx");
        assert_eq!(source_ip(0), IpAddr::from([127, 0, 0, 1]));
        assert_eq!(source_ip(250), IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn tokens_are_jwts() {
        let t = Tokens::new("s").mint("u1").expect("mint");
        assert_eq!(t.split('.').count(), 3);
    }
}
