//! Malformed and abusive input: each gets its error code (or close code), and both the
//! connection (when it is kept) and the server go on serving.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use guildhall_protocol::Codec;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{codecs, Client, TestServer, WAIT};

fn err_code(reply: &Value) -> &str {
    reply["err"]["code"].as_str().unwrap_or("")
}

/// The next reply, whatever its id (pushes met on the way are queued).
async fn next_reply(client: &mut Client) -> Value {
    loop {
        let frame = client
            .next_frame(WAIT)
            .await
            .unwrap_or_else(|| panic!("no reply; closed: {:?}", client.closed));
        if frame.get("ok").is_some() {
            return frame;
        }
        client.pushes.push_back(frame);
    }
}

fn fresh_user() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("fresh{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A new client, in each codec, is still served.
async fn assert_server_serves(server: &TestServer) {
    for codec in codecs() {
        let mut fresh = server.client(&fresh_user(), codec).await;
        let pong = fresh.request("ping", json!({})).await;
        assert_eq!(
            pong["ok"], true,
            "a fresh {codec:?} client is not served: {pong}"
        );
        let join = fresh
            .request("room.join", json!({ "room": "chan:after" }))
            .await;
        assert_eq!(
            join["ok"], true,
            "a fresh {codec:?} client cannot join: {join}"
        );
    }
}

/// The connection still answers, and the server still serves new clients.
async fn assert_still_served(server: &TestServer, client: &mut Client) {
    let pong = client.request("ping", json!({})).await;
    assert_eq!(pong["ok"], true, "the connection stopped answering: {pong}");
    assert!(pong["d"]["t"].is_u64(), "{pong}");
    assert!(client.closed.is_none(), "closed: {:?}", client.closed);
    assert_server_serves(server).await;
}

#[tokio::test]
async fn malformed_json_gets_bad_frame_without_id() {
    let server = TestServer::start().await;
    let mut client = server.client("alice", Codec::Json).await;
    for garbage in [r#"{"op":"#, "not json at all", r#"{"id": 3, "op": "ping""#] {
        client.send_raw(Message::Text(garbage.into())).await;
        let reply = next_reply(&mut client).await;
        assert_eq!(reply["ok"], false, "{garbage:?}: {reply}");
        assert_eq!(err_code(&reply), "bad_frame", "{garbage:?}: {reply}");
        assert!(
            reply.get("id").is_none(),
            "{garbage:?}: an undecodable frame has no id to answer: {reply}"
        );
        assert_still_served(&server, &mut client).await;
    }
}

#[tokio::test]
async fn malformed_msgpack_gets_bad_frame() {
    let server = TestServer::start().await;
    let mut client = server.client("alice", Codec::MsgPack).await;
    let truncated_map = {
        let whole =
            rmp_serde::to_vec_named(&json!({ "id": 9, "op": "ping", "d": {} })).expect("msgpack");
        whole[..whole.len() / 2].to_vec()
    };
    let cases: [(&str, Vec<u8>); 3] = [
        ("reserved byte 0xc1", vec![0xc1]),
        ("truncated map", truncated_map),
        ("a map missing its values", vec![0x82, 0xa2, b'o', b'p']),
    ];
    for (what, bytes) in cases {
        client.send_raw(Message::Binary(bytes.into())).await;
        let reply = next_reply(&mut client).await;
        assert_eq!(reply["ok"], false, "{what}: {reply}");
        assert_eq!(err_code(&reply), "bad_frame", "{what}: {reply}");
        assert_still_served(&server, &mut client).await;
    }
}

#[tokio::test]
async fn unknown_op_gets_unknown_op_with_its_id() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let mut client = server.client("alice", codec).await;
        let reply = client.request("room.dance", json!({})).await;
        assert_eq!(reply["ok"], false, "{codec:?}: {reply}");
        assert_eq!(err_code(&reply), "unknown_op", "{codec:?}: {reply}");
        assert!(
            reply["id"].is_u64(),
            "{codec:?}: the reply carries the request's id: {reply}"
        );
        assert_still_served(&server, &mut client).await;
    }
}

#[tokio::test]
async fn wrong_payload_type_gets_bad_frame_with_its_id() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let (mut client, _) = server.member("alice", codec, "chan:payload").await;
        let cases = [
            ("chat.send", json!({ "room": "chan:payload", "text": 5 })),
            ("chat.send", json!({ "room": "chan:payload" })),
            ("room.join", json!({ "room": 7 })),
            ("hello", json!("token")),
        ];
        for (op, d) in cases {
            let reply = client.request(op, d.clone()).await;
            assert_eq!(reply["ok"], false, "{codec:?} {op} {d}: {reply}");
            assert_eq!(err_code(&reply), "bad_frame", "{codec:?} {op} {d}: {reply}");
            assert!(
                reply["id"].is_u64(),
                "{codec:?}: the reply carries the request's id: {reply}"
            );
            assert_still_served(&server, &mut client).await;
        }
    }
}

#[tokio::test]
async fn frame_over_64_kib_gets_too_long() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let mut client = server.client("alice", codec).await;
        // A ping is valid with any extra fields, so only the frame's size can refuse it.
        let frame = json!({ "id": 500, "op": "ping", "d": { "pad": "a".repeat(70_000) } });
        let bytes = match client.encode(&frame) {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
            other => panic!("{other:?}"),
        };
        assert!(bytes > 64 * 1024 && bytes < 80_000, "{bytes}");
        client.send_frame(frame).await;
        let reply = next_reply(&mut client).await;
        assert_eq!(reply["ok"], false, "{codec:?}: {reply}");
        assert_eq!(err_code(&reply), "too_long", "{codec:?}: {reply}");
        assert_still_served(&server, &mut client).await;
    }
}

#[tokio::test]
async fn op_before_hello_is_unauthorized_and_closes_4001() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let mut client = Client::connect(&server.url(), codec).await;
        let reply = client
            .request("room.join", json!({ "room": "chan:early" }))
            .await;
        assert_eq!(reply["ok"], false, "{codec:?}: {reply}");
        assert_eq!(err_code(&reply), "unauthorized", "{codec:?}: {reply}");
        assert_eq!(client.expect_close().await, 4001, "{codec:?}");
        assert_server_serves(&server).await;
    }
}

#[tokio::test]
async fn frame_flood_is_rate_limited_and_the_connection_stays_open() {
    let server = TestServer::start_with(|config| {
        config.limits.frames_per_sec = 5;
        config.limits.frame_burst = 5;
        config.limits.strikes_per_min = 1_000;
    })
    .await;
    for codec in codecs() {
        let mut client = server.client(&format!("pinger-{codec:?}"), codec).await;
        for i in 0..20 {
            client
                .send_frame(json!({ "id": 1_000 + i, "op": "ping" }))
                .await;
        }
        let mut ok = 0;
        let mut limited = Vec::new();
        for _ in 0..20 {
            let reply = next_reply(&mut client).await;
            if reply["ok"] == true {
                ok += 1;
            } else {
                assert_eq!(err_code(&reply), "rate_limited", "{codec:?}: {reply}");
                let retry = reply["err"]["retry_ms"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no retry_ms: {reply}"));
                assert!(
                    retry > 0 && retry <= 1_000,
                    "{codec:?}: retry_ms {retry} at 5 frames/s"
                );
                limited.push(retry);
            }
        }
        assert!(ok >= 1, "{codec:?}: the burst is served");
        assert!(
            limited.len() >= 10,
            "{codec:?}: 20 pings at 5/s with a burst of 5: only {} limited",
            limited.len()
        );
        assert!(
            client.closed.is_none(),
            "{codec:?}: closed {:?}",
            client.closed
        );

        // Once the bucket refills, the same connection is served again.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert_still_served(&server, &mut client).await;
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bare socket, for sending whatever a broken client would and watching for the close.
struct Raw {
    ws: Ws,
}

#[derive(Debug)]
enum Got {
    Text(Value),
    Binary(Value),
    Closed(u16),
}

impl Got {
    fn value(&self) -> &Value {
        match self {
            Got::Text(v) | Got::Binary(v) => v,
            Got::Closed(code) => panic!("closed with {code}"),
        }
    }
}

fn encode(codec: Codec, value: &Value) -> Message {
    match codec {
        Codec::Json => Message::Text(value.to_string().into()),
        Codec::MsgPack => Message::Binary(rmp_serde::to_vec_named(value).expect("msgpack").into()),
    }
}

impl Raw {
    async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Self { ws }
    }

    /// False once the connection is gone.
    async fn send(&mut self, message: Message) -> bool {
        self.ws.send(message).await.is_ok()
    }

    async fn next(&mut self) -> Got {
        loop {
            let message = match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("nothing from the server within {WAIT:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Got::Closed(1006),
                Ok(Some(Ok(m))) => m,
            };
            match message {
                Message::Text(t) => {
                    return Got::Text(serde_json::from_str(&t).expect("server JSON"))
                }
                Message::Binary(b) => {
                    return Got::Binary(rmp_serde::from_slice(&b).expect("server MessagePack"))
                }
                Message::Close(frame) => {
                    return Got::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005))
                }
                _ => continue,
            }
        }
    }

    /// Waits for the reply carrying `id`, keeping pushes.
    async fn reply(&mut self, id: u64, pushes: &mut Vec<Got>) -> Got {
        loop {
            let got = self.next().await;
            if let Got::Closed(_) = got {
                return got;
            }
            if got.value().get("ok").is_some() {
                assert_eq!(got.value()["id"], id, "{got:?}");
                return got;
            }
            pushes.push(got);
        }
    }

    async fn hello(&mut self, codec: Codec, token: &str) {
        assert!(
            self.send(encode(
                codec,
                &json!({ "id": 1, "op": "hello", "d": { "token": token, "v": 1 } })
            ))
            .await
        );
        let reply = self.reply(1, &mut Vec::new()).await;
        assert_eq!(reply.value()["ok"], true, "{reply:?}");
    }

    /// Sends `frame` one at a time (each waiting for its answer) until the server closes;
    /// the answers seen and the close code.
    async fn until_closed(
        &mut self,
        max: usize,
        frame: impl Fn(usize) -> Message,
    ) -> (Vec<Value>, u16) {
        let mut replies = Vec::new();
        for i in 0..max {
            if !self.send(frame(i)).await {
                break;
            }
            match self.next().await {
                Got::Closed(code) => return (replies, code),
                got => replies.push(got.value().clone()),
            }
        }
        // Sending failed or the server is slow to close: read what is left.
        loop {
            match self.next().await {
                Got::Closed(code) => return (replies, code),
                got => replies.push(got.value().clone()),
            }
        }
    }
}

#[tokio::test]
async fn sustained_flood_closes_4009_and_spares_other_clients() {
    let server = TestServer::start_with(|config| {
        config.limits.frames_per_sec = 5;
        config.limits.frame_burst = 5;
        config.limits.strikes_per_min = 3;
    })
    .await;
    for codec in codecs() {
        let room = format!("chan:flood-{codec:?}");
        let (mut bystander, _) = server
            .member(&format!("bystander-{codec:?}"), codec, &room)
            .await;
        let mut flooder = Raw::connect(&server.url()).await;
        flooder
            .hello(codec, &server.token(&format!("flooder-{codec:?}")))
            .await;
        let (replies, code) = flooder
            .until_closed(40, |i| {
                encode(codec, &json!({ "id": 100 + i, "op": "ping" }))
            })
            .await;
        assert_eq!(
            code, 4009,
            "{codec:?}: replies before the close: {replies:?}"
        );
        let limited = replies
            .iter()
            .filter(|r| err_code(r) == "rate_limited")
            .count();
        assert!(
            limited >= 1,
            "{codec:?}: warned with rate_limited before the close: {replies:?}"
        );

        // The bystander on the same server is unaffected, and can still chat.
        let sent = bystander
            .request("chat.send", json!({ "room": room, "text": "still here" }))
            .await;
        assert_eq!(sent["ok"], true, "{codec:?}: {sent}");
        assert_still_served(&server, &mut bystander).await;
    }
}

#[tokio::test]
async fn repeated_malformed_frames_close_4010() {
    let server = TestServer::start_with(|config| config.limits.strikes_per_min = 3).await;
    for codec in codecs() {
        let (mut bystander, _) = server
            .member(&format!("bystander-{codec:?}"), codec, "chan:garbage")
            .await;
        let mut broken = Raw::connect(&server.url()).await;
        broken
            .hello(codec, &server.token(&format!("broken-{codec:?}")))
            .await;
        let garbage = |_| match codec {
            Codec::Json => Message::Text(r#"{"op":"#.into()),
            Codec::MsgPack => Message::Binary(vec![0xc1].into()),
        };
        let (replies, code) = broken.until_closed(40, garbage).await;
        assert_eq!(
            code, 4010,
            "{codec:?}: replies before the close: {replies:?}"
        );
        assert!(
            replies.len() >= 3,
            "{codec:?}: the strikes allowed were answered: {replies:?}"
        );
        assert!(
            replies.iter().all(|r| err_code(r) == "bad_frame"),
            "{codec:?}: {replies:?}"
        );
        assert_still_served(&server, &mut bystander).await;
    }
}

#[tokio::test]
async fn room_names_are_checked() {
    let server = TestServer::start().await;
    let long = format!("chan:{}", "a".repeat(200));
    let cases: Vec<(&str, &str)> = vec![
        ("lobby", "invalid"),
        ("chan:", "invalid"),
        ("chan:has space", "invalid"),
        ("chan:ünï", "invalid"),
        (&long, "invalid"),
        ("", "invalid"),
        ("nope:1", "not_found"),
        ("war:1", "not_found"),
        // Guild rooms are for the guild's members: carol is in none.
        ("guild:1", "forbidden"),
        ("guild:abc", "not_found"),
        ("dm:alice:bob", "forbidden"),
        ("dm:bob:alice", "invalid"),
        ("dm:carol:alice", "invalid"),
    ];
    for codec in codecs() {
        let mut carol = server.client("carol", codec).await;
        for (room, code) in &cases {
            let reply = carol.request("room.join", json!({ "room": room })).await;
            assert_eq!(reply["ok"], false, "{codec:?} {room:?}: {reply}");
            assert_eq!(err_code(&reply), *code, "{codec:?} {room:?}: {reply}");
            assert_still_served(&server, &mut carol).await;
        }
        // Her own DM, named canonically, is hers to enter.
        let reply = carol
            .request("room.join", json!({ "room": "dm:alice:carol" }))
            .await;
        assert_eq!(reply["ok"], true, "{codec:?}: {reply}");
    }
}

/// `?codec=` chooses the codec of pushes; replies answer in the codec of the request.
#[tokio::test]
async fn codec_query_parameter_sets_the_codec_of_pushes() {
    let server = TestServer::start().await;
    for (pushes_in, speaks) in [(Codec::MsgPack, Codec::Json), (Codec::Json, Codec::MsgPack)] {
        let param = match pushes_in {
            Codec::Json => "json",
            Codec::MsgPack => "msgpack",
        };
        let room = format!("chan:codec-{param}");
        let mut raw = Raw::connect(&format!("{}?codec={param}", server.url())).await;
        let same_as = |got: &Got, codec: Codec| {
            matches!(
                (got, codec),
                (Got::Text(_), Codec::Json) | (Got::Binary(_), Codec::MsgPack)
            )
        };

        let hello =
            json!({ "id": 1, "op": "hello", "d": { "token": server.token("alice"), "v": 1 } });
        assert!(raw.send(encode(speaks, &hello)).await);
        let mut pushes = Vec::new();
        let reply = raw.reply(1, &mut pushes).await;
        assert_eq!(reply.value()["ok"], true, "{reply:?}");
        assert!(
            same_as(&reply, speaks),
            "the hello reply comes in the request's codec: {reply:?}"
        );

        assert!(
            raw.send(encode(
                speaks,
                &json!({ "id": 2, "op": "room.join", "d": { "room": room } })
            ))
            .await
        );
        let reply = raw.reply(2, &mut pushes).await;
        assert_eq!(reply.value()["ok"], true, "{reply:?}");
        assert!(
            same_as(&reply, speaks),
            "the join reply comes in the request's codec: {reply:?}"
        );

        let (mut bob, _) = server.member("bob", speaks, &room).await;
        let sent = bob
            .request("chat.send", json!({ "room": room, "text": "hi alice" }))
            .await;
        assert_eq!(sent["ok"], true, "{sent}");

        let chat = loop {
            let got = if pushes.is_empty() {
                raw.next().await
            } else {
                pushes.remove(0)
            };
            assert!(
                got.value().get("ev").is_some(),
                "only pushes expected now: {got:?}"
            );
            assert!(
                same_as(&got, pushes_in),
                "?codec={param}: pushes come as {pushes_in:?}: {got:?}"
            );
            if got.value()["ev"] == "chat.msg" {
                break got;
            }
        };
        assert_eq!(chat.value()["d"]["text"], "hi alice", "{chat:?}");
        assert_eq!(chat.value()["room"], room.as_str(), "{chat:?}");

        assert!(
            raw.send(encode(speaks, &json!({ "id": 3, "op": "ping" })))
                .await
        );
        let reply = raw.reply(3, &mut pushes).await;
        assert_eq!(reply.value()["ok"], true, "{reply:?}");
        assert!(
            same_as(&reply, speaks),
            "replies stay in the request's codec: {reply:?}"
        );
        assert!(pushes.iter().all(|p| same_as(p, pushes_in)), "{pushes:?}");
    }

    // An unknown codec is refused at the upgrade.
    let refused = tokio_tungstenite::connect_async(format!("{}?codec=xml", server.url())).await;
    assert!(refused.is_err(), "?codec=xml should be refused");
    assert_server_serves(&server).await;
}

#[tokio::test]
async fn a_frame_over_the_transport_limit_closes_1009_and_spares_others() {
    let server = TestServer::start().await;
    let mut client = server.client("big", Codec::Json).await;
    let huge = format!(
        r#"{{"op":"ping","d":{{"pad":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    client.send_raw(Message::Text(huge.into())).await;
    assert_eq!(
        client.expect_close().await,
        guildhall_protocol::close::MESSAGE_TOO_BIG
    );
    let mut other = server.client("small", Codec::Json).await;
    assert_eq!(other.request("ping", json!({})).await["ok"], true);
}
