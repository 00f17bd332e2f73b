//! What happens to acknowledged messages when a node, Redis or PostgreSQL fails.

use std::time::{Duration, Instant};

use guildhall_protocol::{close, Codec};
use serde_json::{json, Value};

use crate::helpers::{chat_offsets, Client, Cluster, OwnRedis, Proxy};

async fn send(client: &mut Client, room: &str, text: &str) -> Value {
    client
        .request("chat.send", json!({ "room": room, "text": text }))
        .await
}

async fn sent_off(client: &mut Client, room: &str, text: &str) -> u64 {
    let r = send(client, room, text).await;
    assert_eq!(r["ok"], true, "{r}");
    r["d"]["off"].as_u64().expect("off")
}

#[tokio::test]
async fn a_killed_nodes_clients_resume_elsewhere_with_nothing_lost() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:sigkill";
    let (mut alice, joined) = cluster.member(&a, "alice", Codec::MsgPack, room).await;
    let (mut bob, _) = cluster.member(&b, "bob", Codec::Json, room).await;
    let mut acked = Vec::new();
    for i in 0..3 {
        acked.push(format!("alice {i}"));
        sent_off(&mut alice, room, &format!("alice {i}")).await;
    }
    let mut last = 0;
    for _ in 0..3 {
        last = alice.next_event("chat.msg").await["off"]
            .as_u64()
            .expect("off");
    }
    a.kill().await;
    let mut missed = Vec::new();
    for i in 0..5 {
        acked.push(format!("bob {i}"));
        missed.push(sent_off(&mut bob, room, &format!("bob {i}")).await);
    }
    let (mut alice, hello) = cluster
        .resume(&b, "alice", Codec::MsgPack, room, &joined["ep"], last)
        .await;
    assert_eq!(hello["resumed"][0]["recovered"], true);
    assert_eq!(
        chat_offsets(&alice.drain_chat(Duration::from_millis(500)).await),
        missed
    );
    assert_eq!(
        cluster.stored_texts(room).await,
        acked,
        "every acknowledged message stored once, in order"
    );
    cluster.cleanup().await;
}

#[tokio::test]
async fn sigterm_drains_a_node_and_its_clients_resume_elsewhere() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:sigterm";
    let (mut alice, joined) = cluster.member(&a, "alice", Codec::Json, room).await;
    let (mut bob, _) = cluster.member(&b, "bob", Codec::MsgPack, room).await;
    let first = sent_off(&mut bob, room, "before").await;
    assert_eq!(
        alice.next_event("chat.msg").await["off"].as_u64(),
        Some(first)
    );

    let status = a.terminate().await;
    assert!(status.success(), "a drained node exits cleanly: {status:?}");
    assert_eq!(alice.expect_close().await, close::DRAINING);
    let missed = vec![sent_off(&mut bob, room, "during").await];
    let (mut alice, hello) = cluster
        .resume(&b, "alice", Codec::Json, room, &joined["ep"], first)
        .await;
    assert_eq!(hello["resumed"][0]["recovered"], true);
    assert_eq!(
        chat_offsets(&alice.drain_chat(Duration::from_millis(500)).await),
        missed
    );
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_redis_restart_keeps_local_delivery_and_announces_the_new_epoch() {
    let mut redis = OwnRedis::start().await;
    let cluster = Cluster::with_redis(redis.url()).await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:redis-restart";
    let (mut alice, joined) = cluster.member(&a, "alice", Codec::Json, room).await;
    let (mut carol, _) = cluster.member(&a, "carol", Codec::MsgPack, room).await;
    let (mut bob, _) = cluster.member(&b, "bob", Codec::Json, room).await;
    sent_off(&mut alice, room, "before").await;
    for c in [&mut alice, &mut carol, &mut bob] {
        assert_eq!(c.next_event("chat.msg").await["d"]["text"], "before");
    }

    redis.kill().await;
    // Redis is down: a send on node a is stored and still reaches node a's members.
    let r = send(&mut alice, room, "while redis is down").await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        carol.next_event("chat.msg").await["d"]["text"],
        "while redis is down"
    );
    assert_eq!(
        alice.next_event("chat.msg").await["d"]["text"],
        "while redis is down"
    );

    redis.restart_empty().await;
    // The nodes reconnect by themselves and tell their clients the log restarted.
    for c in [&mut alice, &mut carol, &mut bob] {
        let reset = c
            .next_event_within("room.reset", Duration::from_secs(15))
            .await;
        assert_eq!(reset["room"], room);
        assert_ne!(reset["d"]["ep"], joined["ep"], "a new epoch");
    }
    // Cross-node delivery works again, and history still has everything.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = send(&mut bob, room, "after").await;
        if r["ok"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sends keep failing after redis returned: {r}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for c in [&mut alice, &mut carol] {
        assert_eq!(c.next_event("chat.msg").await["d"]["text"], "after");
    }
    let history = alice.request("chat.history", json!({ "room": room })).await;
    let texts: Vec<_> = history["d"]["msgs"]
        .as_array()
        .expect("msgs")
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [
            json!("before"),
            json!("while redis is down"),
            json!("after")
        ]
    );
    cluster.cleanup().await;
}

#[tokio::test]
async fn postgres_outage_refuses_sends_clearly_and_recovers() {
    let cluster = Cluster::new().await;
    let proxy = Proxy::start("127.0.0.1:5432".parse().expect("addr")).await;
    let url = cluster
        .database_url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let a = cluster
        .node_with("a", &url, &[("GUILDHALL_STORE__WRITE_TIMEOUT_MS", "2000")])
        .await;
    let room = "chan:pg-outage";
    let (mut alice, _) = cluster.member(&a, "alice", Codec::Json, room).await;
    let (mut bob, _) = cluster.member(&a, "bob", Codec::MsgPack, room).await;
    sent_off(&mut alice, room, "before").await;
    assert_eq!(bob.next_event("chat.msg").await["d"]["text"], "before");

    proxy.cut();
    let started = Instant::now();
    let r = send(&mut alice, room, "during").await;
    assert_eq!(
        r["ok"], false,
        "never acknowledged while the store is down: {r}"
    );
    assert_eq!(r["err"]["code"], "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "a bounded wait: {:?}",
        started.elapsed()
    );
    assert!(
        bob.drain_chat(Duration::from_millis(300)).await.is_empty(),
        "nothing unstored is delivered"
    );
    let (status, body) = crate::helpers::http_get(a.addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"store\""), "{body}");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = alice
            .request_idem(
                "chat.send",
                "after-1",
                json!({ "room": room, "text": "after" }),
            )
            .await;
        if r["ok"] == true {
            break;
        }
        assert_eq!(r["err"]["code"], "unavailable", "{r}");
        assert!(Instant::now() < deadline, "the node did not recover: {r}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(bob.next_event("chat.msg").await["d"]["text"], "after");
    assert!(
        bob.drain_chat(Duration::from_millis(300)).await.is_empty(),
        "retries delivered once"
    );
    assert_eq!(cluster.stored_texts(room).await, ["before", "after"]);
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_retry_on_another_node_after_a_crash_acts_once() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:idem-cluster";
    let (mut alice, _) = cluster.member(&a, "alice", Codec::Json, room).await;
    let (mut bob, _) = cluster.member(&b, "bob", Codec::MsgPack, room).await;
    let d = json!({ "room": room, "text": "exactly once" });
    let first = alice.request_idem("chat.send", "k-crash", d.clone()).await;
    assert_eq!(first["ok"], true, "{first}");
    // The ack may have been lost with node a; the client retries on node b.
    a.kill().await;
    let (mut alice, _) = cluster.member(&b, "alice", Codec::MsgPack, room).await;
    let retry = alice.request_idem("chat.send", "k-crash", d).await;
    assert_eq!(
        retry["d"], first["d"],
        "the first result, from another node"
    );
    assert_eq!(
        bob.drain_chat(Duration::from_millis(500)).await.len(),
        1,
        "delivered once"
    );
    assert_eq!(
        cluster.stored_texts(room).await,
        ["exactly once"],
        "stored once"
    );
    cluster.cleanup().await;
}
