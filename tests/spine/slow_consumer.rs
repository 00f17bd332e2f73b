//! A client that never reads is closed with 4008; the rest of the room keeps receiving on time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use guildhall_protocol::{close, Codec};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::TestServer;

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_others_keep_receiving() {
    let server = TestServer::start_with(|c| {
        c.limits.outbound_queue = 32;
        c.limits.socket_send_buffer = 8 * 1024;
    })
    .await;
    let room = "chan:slow";

    // The stalled client: a small receive buffer, joins, then stops reading.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket.connect(server.addr).await.expect("connect");
    let (mut stalled, _) = tokio_tungstenite::client_async(server.url(), stream)
        .await
        .expect("ws");
    let hello = json!({ "id": 1, "op": "hello", "d": { "token": server.token("sloth"), "v": 1 } });
    stalled
        .send(Message::Text(hello.to_string().into()))
        .await
        .expect("hello");
    let join = json!({ "id": 2, "op": "room.join", "d": { "room": room } });
    stalled
        .send(Message::Text(join.to_string().into()))
        .await
        .expect("join");

    let (mut reader, _) = server.member("reader", Codec::MsgPack, room).await;
    let mut senders = Vec::new();
    for i in 0..4 {
        senders.push(
            server
                .member(&format!("talker{i}"), Codec::Json, room)
                .await
                .0,
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Flood the room until the server reports the overflow (bounded in count and time).
    let overflowed = Arc::new(AtomicBool::new(false));
    let text = "x".repeat(180);
    let max_per_sender = 5_000;
    let mut tasks = Vec::new();
    for (i, mut sender) in senders.into_iter().enumerate() {
        let (text, overflowed) = (text.clone(), overflowed.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            while sent < max_per_sender && !overflowed.load(Ordering::Relaxed) {
                let r = sender
                    .request(
                        "chat.send",
                        json!({ "room": room, "text": format!("{i}-{sent}-{text}") }),
                    )
                    .await;
                assert_eq!(r["ok"], true, "{r}");
                sent += 1;
            }
            sent
        }));
    }
    // Once the overflow is reported, the stalled client reads again and must find the 4008
    // close after what fitted in its buffers.
    let addr = server.addr;
    let watcher = {
        let overflowed = overflowed.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while overflows(addr).await < 1 {
                assert!(Instant::now() < deadline, "no queue overflow reported");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            overflowed.store(true, Ordering::Relaxed);
            loop {
                match tokio::time::timeout(Duration::from_secs(10), stalled.next()).await {
                    Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                    Ok(Some(Ok(_))) => continue,
                    _ => return None,
                }
            }
        })
    };

    // The reader receives every message, and promptly, while the stalled member overflows.
    let mut received = 0u64;
    let mut worst_lag_ms = 0u64;
    let mut total = None;
    let mut tasks = Some(tasks);
    loop {
        if total.is_none()
            && tasks
                .as_ref()
                .is_some_and(|t| t.iter().all(|t| t.is_finished()))
        {
            let mut sum = 0;
            for task in tasks.take().unwrap_or_default() {
                sum += task.await.expect("sender");
            }
            total = Some(sum);
        }
        if total == Some(received) {
            break;
        }
        let Some(push) = reader.next_push_within(Duration::from_millis(200)).await else {
            continue;
        };
        if push["ev"] != "chat.msg" {
            continue;
        }
        let lag = guildhall::clock::now_ms().saturating_sub(push["d"]["ts"].as_u64().expect("ts"));
        worst_lag_ms = worst_lag_ms.max(lag);
        received += 1;
    }
    assert!(received > 0);
    assert!(
        worst_lag_ms < 1_000,
        "a stalled member must not slow the room: worst lag {worst_lag_ms} ms"
    );
    assert_eq!(watcher.await.expect("watcher"), Some(close::SLOW_CONSUMER));
}

async fn overflows(addr: std::net::SocketAddr) -> u64 {
    let (_, body) = crate::helpers::http_get(addr, "/metrics").await;
    body.lines()
        .find(|l| l.starts_with("guildhall_queue_overflows_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}
