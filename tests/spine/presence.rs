//! `room.presence`: who joined and left, batched, counting users rather than connections.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::helpers::{codecs, Client, TestServer};

fn ids(users: &Value) -> Vec<String> {
    users
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The shape every presence push has: its room, no log position, the lists and the count.
fn check_shape(push: &Value, room: &str) {
    assert_eq!(push["ev"], "room.presence", "{push}");
    assert_eq!(push["room"], room, "{push}");
    assert!(
        push.get("ep").is_none() && push.get("off").is_none(),
        "presence is not in the room log: {push}"
    );
    assert!(push["d"]["count"].is_u64(), "{push}");
    for list in ["joined", "left"] {
        let users = push["d"][list]
            .as_array()
            .unwrap_or_else(|| panic!("{list} is a list: {push}"));
        for user in users {
            assert!(
                user["id"].is_string() && user["name"].is_string(),
                "users are {{id, name}}: {push}"
            );
        }
    }
}

fn mentions(push: &Value, user: &str) -> bool {
    ids(&push["d"]["joined"])
        .iter()
        .chain(ids(&push["d"]["left"]).iter())
        .any(|id| id == user)
}

/// The presence pushes for `room` that arrive within `wait`; other pushes are skipped.
async fn presence_within(client: &mut Client, room: &str, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.next_push_within(left).await {
            None => return out,
            Some(push) if push["ev"] == "room.presence" => {
                check_shape(&push, room);
                out.push(push);
            }
            Some(_) => {}
        }
        if left.is_zero() {
            return out;
        }
    }
}

/// The first presence push for `room` within `wait` that satisfies `want`.
async fn presence_until(
    client: &mut Client,
    room: &str,
    wait: Duration,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.next_push_within(left).await {
            Some(push) if push["ev"] == "room.presence" => {
                check_shape(&push, room);
                if want(&push) {
                    return push;
                }
                seen.push(push);
            }
            Some(_) => {}
            None => panic!("no presence push with {what} within {wait:?}; saw {seen:?}"),
        }
    }
}

#[tokio::test]
async fn a_join_is_announced_to_members_with_the_count() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:p-{codec:?}");
        let (mut alice, _) = server.member("alice", codec, &room).await;
        let (_bob, _) = server.member("bob", codec, &room).await;
        let push = presence_until(
            &mut alice,
            &room,
            Duration::from_secs(2),
            "bob joined",
            |p| ids(&p["d"]["joined"]).contains(&"bob".to_owned()),
        )
        .await;
        let bob = push["d"]["joined"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["id"] == "bob")
            .cloned();
        assert_eq!(
            bob,
            Some(json!({ "id": "bob", "name": "bob name" })),
            "{codec:?}: {push}"
        );
        assert_eq!(push["d"]["count"], 2, "{codec:?}: {push}");
        assert!(ids(&push["d"]["left"]).is_empty(), "{codec:?}: {push}");
    }
}

#[tokio::test]
async fn joins_within_a_second_are_batched() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:batch-{codec:?}");
        let (mut first, _) = server.member("first", codec, &room).await;
        // The first member's own arrival is announced before the crowd comes.
        presence_until(
            &mut first,
            &room,
            Duration::from_secs(3),
            "first joined",
            |p| p["d"]["count"] == 1,
        )
        .await;

        let users: Vec<String> = (0..5).map(|i| format!("crowd{i}")).collect();
        let mut crowd = Vec::new();
        for user in &users {
            crowd.push(server.client(user, codec).await);
        }
        // Spread over 600 ms: one second of batching covers them with at most one boundary.
        for (i, client) in crowd.iter_mut().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let reply = client.request("room.join", json!({ "room": room })).await;
            assert_eq!(reply["ok"], true, "{reply}");
        }

        let pushes = presence_within(&mut first, &room, Duration::from_millis(2_500)).await;
        assert!(!pushes.is_empty(), "{codec:?}: the joins were announced");
        assert!(
            pushes.len() <= 2,
            "{codec:?}: 5 joins within a second take at most 2 pushes: {pushes:?}"
        );
        let joined: BTreeSet<String> = pushes.iter().flat_map(|p| ids(&p["d"]["joined"])).collect();
        let want: BTreeSet<String> = users.iter().cloned().collect();
        assert_eq!(joined, want, "{codec:?}: {pushes:?}");
        assert_eq!(
            pushes.last().map(|p| p["d"]["count"].clone()),
            Some(json!(6)),
            "{codec:?}: {pushes:?}"
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Departure {
    /// `room.leave` on each connection.
    Leave,
    /// The first connection closes cleanly, the last one drops without a close.
    Disconnect,
}

async fn two_connections_count_once(codec: Codec, how: Departure) {
    let server = TestServer::start().await;
    let room = "chan:tabs";
    let (mut alice, _) = server.member("alice", codec, room).await;
    presence_until(
        &mut alice,
        room,
        Duration::from_secs(3),
        "alice joined",
        |p| p["d"]["count"] == 1,
    )
    .await;

    let (mut bob1, _) = server.member("bob", codec, room).await;
    let (mut bob2, _) = server.member("bob", codec, room).await;
    let push = presence_until(
        &mut alice,
        room,
        Duration::from_secs(2),
        "bob joined",
        |p| mentions(p, "bob"),
    )
    .await;
    assert_eq!(
        ids(&push["d"]["joined"]),
        ["bob"],
        "{codec:?}: bob counts once: {push}"
    );
    assert_eq!(push["d"]["count"], 2, "{codec:?}: {push}");
    let later = presence_within(&mut alice, room, Duration::from_millis(1_500)).await;
    assert!(
        later.iter().all(|p| !mentions(p, "bob")),
        "{codec:?}: bob's second connection is not news: {later:?}"
    );

    // One connection goes: bob is still here.
    match how {
        Departure::Leave => {
            let reply = bob1.request("room.leave", json!({ "room": room })).await;
            assert_eq!(reply["ok"], true, "{reply}");
        }
        Departure::Disconnect => bob1.close().await,
    }
    let later = presence_within(&mut alice, room, Duration::from_millis(1_500)).await;
    assert!(
        later.iter().all(|p| !mentions(p, "bob")),
        "{codec:?} {how:?}: bob is still present: {later:?}"
    );
    assert!(
        later.iter().all(|p| p["d"]["count"] == 2),
        "{codec:?} {how:?}: {later:?}"
    );

    // The last one goes: bob has left.
    match how {
        Departure::Leave => {
            let reply = bob2.request("room.leave", json!({ "room": room })).await;
            assert_eq!(reply["ok"], true, "{reply}");
        }
        Departure::Disconnect => bob2.drop_connection(),
    }
    let push = presence_until(
        &mut alice,
        room,
        Duration::from_millis(2_500),
        "bob left",
        |p| mentions(p, "bob"),
    )
    .await;
    assert_eq!(
        ids(&push["d"]["left"]),
        ["bob"],
        "{codec:?} {how:?}: {push}"
    );
    assert!(
        ids(&push["d"]["joined"]).is_empty(),
        "{codec:?} {how:?}: {push}"
    );
    assert_eq!(push["d"]["count"], 1, "{codec:?} {how:?}: {push}");
}

#[tokio::test]
async fn a_user_with_two_connections_counts_once_and_leaves_with_the_last_room_leave() {
    for codec in codecs() {
        two_connections_count_once(codec, Departure::Leave).await;
    }
}

#[tokio::test]
async fn a_user_with_two_connections_counts_once_and_leaves_when_the_last_disconnects() {
    for codec in codecs() {
        two_connections_count_once(codec, Departure::Disconnect).await;
    }
}
