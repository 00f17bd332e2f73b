//! Clients on different nodes chat in one room and see one order.

use std::time::Duration;

use guildhall_protocol::Codec;
use serde_json::json;

use crate::helpers::{chat_offsets, Cluster};

#[tokio::test]
async fn messages_cross_nodes_in_one_order() {
    let cluster = Cluster::new().await;
    let nodes = [
        cluster.node("a").await,
        cluster.node("b").await,
        cluster.node("c").await,
    ];
    let room = "chan:world";
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for codec in [Codec::Json, Codec::MsgPack] {
            let user = format!("u{i}{}", if codec == Codec::Json { "j" } else { "m" });
            clients.push(cluster.member(node, &user, codec, room).await.0);
        }
    }
    // Everyone talks at once.
    let per_client = 5;
    let mut tasks = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for n in 0..per_client {
                let r = client
                    .request(
                        "chat.send",
                        json!({ "room": room, "text": format!("c{i} m{n}") }),
                    )
                    .await;
                assert_eq!(r["ok"], true, "{r}");
            }
            client
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.expect("sender"));
    }
    let total = clients.len() * per_client;
    let mut orders = Vec::new();
    for client in &mut clients {
        let mut got = Vec::new();
        while got.len() < total {
            got.push(client.next_event("chat.msg").await);
        }
        assert!(
            client
                .drain_chat(Duration::from_millis(300))
                .await
                .is_empty(),
            "nothing twice"
        );
        orders.push(got);
    }
    let want: Vec<u64> = (1..=total as u64).collect();
    for order in &orders {
        assert_eq!(
            chat_offsets(order),
            want,
            "dense offsets, no gap, no repeat"
        );
        let texts: Vec<_> = order.iter().map(|m| &m["d"]["text"]).collect();
        let first: Vec<_> = orders[0].iter().map(|m| &m["d"]["text"]).collect();
        assert_eq!(texts, first, "one order for everyone");
        assert_eq!(order[0]["ep"], orders[0][0]["ep"]);
    }
    // The store has each message once.
    let stored = cluster.stored_texts(room).await;
    assert_eq!(stored.len(), total);
    // A join on any node serves the same history as the store holds (from the node's memory
    // while the room has members there): messages sent through other nodes included.
    for node in &nodes {
        let (_late, joined) = cluster
            .member(node, &format!("late-{}", node.name), Codec::Json, room)
            .await;
        let texts: Vec<String> = joined["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(texts, stored, "history on node {}", node.name);
    }
    let history = clients[0]
        .request("chat.history", json!({ "room": room, "limit": 100 }))
        .await;
    assert_eq!(history["d"]["msgs"].as_array().map(Vec::len), Some(total));
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_late_joiner_on_another_node_resumes_from_the_shared_log() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:shared-log";
    let (mut alice, joined) = cluster.member(&a, "alice", Codec::Json, room).await;
    for i in 0..4 {
        alice
            .request(
                "chat.send",
                json!({ "room": room, "text": format!("m{i}") }),
            )
            .await;
    }
    // Positions from node a are valid on node b: one log per room.
    let (mut bob, hello) = cluster
        .resume(&b, "bob", Codec::MsgPack, room, &joined["ep"], 1)
        .await;
    assert_eq!(hello["resumed"][0]["recovered"], true);
    assert_eq!(
        chat_offsets(&bob.drain_chat(Duration::from_millis(500)).await),
        [2, 3, 4]
    );
    cluster.cleanup().await;
}
