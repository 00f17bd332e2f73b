//! Two clients chatting in a channel and in a DM, across codecs.

use guildhall_protocol::Codec;
use serde_json::json;

use crate::helpers::{chat_texts, codecs, TestServer};

#[tokio::test]
async fn two_clients_chat_in_a_channel() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:lobby-{codec:?}");
        let (mut alice, joined) = server.member("alice", codec, &room).await;
        assert_eq!(joined["off"], 0);
        assert!(joined["ep"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(joined["history"], json!([]));
        // Bob speaks the other codec: the server answers each in kind.
        let other = if codec == Codec::Json {
            Codec::MsgPack
        } else {
            Codec::Json
        };
        let (mut bob, _) = server.member("bob", other, &room).await;

        let sent = alice
            .request("chat.send", json!({ "room": room, "text": "gg" }))
            .await;
        assert_eq!(sent["ok"], true, "{sent}");
        assert_eq!(sent["d"]["off"], 1);
        let reply = bob
            .request("chat.send", json!({ "room": room, "text": "wp" }))
            .await;
        assert_eq!(reply["d"]["off"], 2);

        for client in [&mut alice, &mut bob] {
            let first = client.next_event("chat.msg").await;
            let second = client.next_event("chat.msg").await;
            assert_eq!(first["room"], room);
            assert_eq!(first["ep"], joined["ep"]);
            assert_eq!(
                (first["off"].as_u64(), second["off"].as_u64()),
                (Some(1), Some(2))
            );
            assert_eq!(
                first["d"]["from"],
                json!({ "id": "alice", "name": "alice name" })
            );
            assert_eq!(first["d"]["text"], "gg");
            assert_eq!(second["d"]["from"]["id"], "bob");
            assert!(second["d"]["id"].as_u64() > first["d"]["id"].as_u64());
            assert!(first["d"]["ts"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000));
        }
    }
}

#[tokio::test]
async fn direct_messages_reach_only_the_pair() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let (mut alice, _) = server.member("alice", codec, "dm:alice:bob").await;
        let (mut bob, _) = server.member("bob", codec, "dm:alice:bob").await;
        let mut carol = server.client("carol", codec).await;
        let refused = carol
            .request("room.join", json!({ "room": "dm:alice:bob" }))
            .await;
        assert_eq!(refused["err"]["code"], "forbidden", "{refused}");
        let refused = carol
            .request("chat.history", json!({ "room": "dm:alice:bob" }))
            .await;
        assert_eq!(refused["err"]["code"], "forbidden", "{refused}");

        let text = format!("psst {codec:?}");
        assert_eq!(
            alice
                .request("chat.send", json!({ "room": "dm:alice:bob", "text": text }))
                .await["ok"],
            true
        );
        assert_eq!(bob.next_event("chat.msg").await["d"]["text"], text);
        assert_eq!(alice.next_event("chat.msg").await["d"]["text"], text);
        assert!(carol
            .next_push_within(std::time::Duration::from_millis(300))
            .await
            .is_none());
    }
}

#[tokio::test]
async fn join_returns_recent_history_and_history_pages_back() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.member("alice", Codec::Json, "chan:hist").await;
    for i in 0..60 {
        let r = alice
            .request(
                "chat.send",
                json!({ "room": "chan:hist", "text": format!("m{i}") }),
            )
            .await;
        assert_eq!(r["ok"], true, "{r}");
    }
    for codec in codecs() {
        let (mut bob, joined) = server.member("bob", codec, "chan:hist").await;
        let history = joined["history"].as_array().expect("history").clone();
        assert_eq!(history.len(), 50, "last 50 on join");
        assert_eq!(history[0]["text"], "m10");
        assert_eq!(history[49]["text"], "m59");
        assert_eq!(joined["off"], 60);

        let before = history[0]["id"].as_u64().expect("id");
        let page = bob
            .request(
                "chat.history",
                json!({ "room": "chan:hist", "before": before, "limit": 4 }),
            )
            .await;
        let texts = chat_texts(
            &page["d"]["msgs"]
                .as_array()
                .expect("msgs")
                .iter()
                .map(|m| json!({ "d": m }))
                .collect::<Vec<_>>(),
        );
        assert_eq!(texts, ["m6", "m7", "m8", "m9"]);
        let capped = bob
            .request(
                "chat.history",
                json!({ "room": "chan:hist", "limit": 1000 }),
            )
            .await;
        assert_eq!(capped["d"]["msgs"].as_array().map(Vec::len), Some(60));
        bob.close().await;
    }
}

#[tokio::test]
async fn joining_twice_answers_the_position_and_leave_stops_delivery() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.member("alice", Codec::Json, "chan:twice").await;
    let (mut bob, _) = server.member("bob", Codec::Json, "chan:twice").await;
    alice
        .request("chat.send", json!({ "room": "chan:twice", "text": "one" }))
        .await;
    let again = bob
        .request("room.join", json!({ "room": "chan:twice" }))
        .await;
    assert_eq!(again["ok"], true);
    assert_eq!(again["d"]["off"], 1);
    assert!(again["d"].get("history").is_none());
    assert_eq!(bob.next_event("chat.msg").await["d"]["text"], "one");

    assert_eq!(
        bob.request("room.leave", json!({ "room": "chan:twice" }))
            .await["ok"],
        true
    );
    alice
        .request("chat.send", json!({ "room": "chan:twice", "text": "two" }))
        .await;
    assert!(bob
        .drain_chat(std::time::Duration::from_millis(300))
        .await
        .is_empty());
    let refused = bob
        .request("chat.send", json!({ "room": "chan:twice", "text": "hi" }))
        .await;
    assert_eq!(refused["err"]["code"], "not_member");
}
