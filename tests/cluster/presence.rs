//! Room presence counted across nodes.

use std::time::{Duration, Instant};

use guildhall_protocol::Codec;
use serde_json::json;

use crate::helpers::{Client, Cluster};

/// Waits for a presence push with this count (within 3 s); returns the pushes seen.
async fn until_count(client: &mut Client, want: u64) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let Some(push) = client.next_push_within(Duration::from_millis(200)).await else {
            continue;
        };
        if push["ev"] == "room.presence" {
            seen.push(push.clone());
            if push["d"]["count"] == want {
                return seen;
            }
        }
    }
    panic!("no presence count {want} within 3 s; saw {seen:?}");
}

#[tokio::test]
async fn counts_are_cluster_wide() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let room = "chan:crowd";
    let (mut alice, _) = cluster.member(&a, "alice", Codec::Json, room).await;
    let (_carol, _) = cluster.member(&a, "carol", Codec::MsgPack, room).await;
    let (mut bob, _) = cluster.member(&b, "bob", Codec::Json, room).await;
    until_count(&mut alice, 3).await;
    until_count(&mut bob, 3).await;
    let (_dave, _) = cluster.member(&a, "dave", Codec::Json, room).await;
    let seen = until_count(&mut bob, 4).await;
    let joined: Vec<_> = seen
        .iter()
        .flat_map(|p| p["d"]["joined"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        joined.iter().any(|u| u["id"] == "dave"),
        "joins on node a reach node b: {seen:?}"
    );

    assert_eq!(
        bob.request("room.leave", json!({ "room": room })).await["ok"],
        true
    );
    let seen = until_count(&mut alice, 3).await;
    let left: Vec<_> = seen
        .iter()
        .flat_map(|p| p["d"]["left"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(left.iter().any(|u| u["id"] == "bob"), "{seen:?}");
    cluster.cleanup().await;
}
