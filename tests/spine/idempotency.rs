//! A `chat.send` retried with the same `idem` after a reconnect is delivered once.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{codecs, TestServer};

#[tokio::test]
async fn a_retry_after_reconnect_is_delivered_once() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:idem-{codec:?}");
        let (mut bob, _) = server.member("bob", codec, &room).await;
        let (mut alice, _) = server.member("alice", codec, &room).await;
        let d = json!({ "room": room, "text": "exactly once" });
        // Keys are per user, across rooms: each round uses its own.
        let (key1, key2) = (format!("key-1-{codec:?}"), format!("key-2-{codec:?}"));
        let first = alice.request_idem("chat.send", &key1, d.clone()).await;
        assert_eq!(first["ok"], true, "{first}");
        // The ack is lost with the connection; the client reconnects and retries.
        alice.drop_connection();
        let (mut alice, _) = server.member("alice", codec, &room).await;
        let retry = alice.request_idem("chat.send", &key1, d.clone()).await;
        assert_eq!(retry["d"], first["d"], "the retry returns the first result");

        let got = bob.drain_chat(Duration::from_millis(400)).await;
        assert_eq!(got.len(), 1, "delivered once: {got:?}");
        let history = alice.request("chat.history", json!({ "room": room })).await;
        assert_eq!(
            history["d"]["msgs"].as_array().map(Vec::len),
            Some(1),
            "stored once"
        );

        // Another key acts again; the same key from another user is another key.
        let other = alice
            .request_idem(
                "chat.send",
                &key2,
                json!({ "room": room, "text": "second" }),
            )
            .await;
        assert_eq!(
            other["d"]["off"].as_u64(),
            first["d"]["off"].as_u64().map(|o| o + 1)
        );
        let bobs = bob
            .request_idem("chat.send", &key1, json!({ "room": room, "text": "bob's" }))
            .await;
        assert_ne!(bobs["d"]["off"], first["d"]["off"]);
    }
}

#[tokio::test]
async fn refused_attempts_are_not_remembered() {
    let server = TestServer::start().await;
    let (mut alice, _) = server
        .member(
            "alice",
            guildhall_protocol::Codec::Json,
            "chan:idem-refused",
        )
        .await;
    let bad = alice
        .request_idem(
            "chat.send",
            "k",
            json!({ "room": "chan:idem-refused", "text": "x".repeat(201) }),
        )
        .await;
    assert_eq!(bad["err"]["code"], "too_long");
    let good = alice
        .request_idem(
            "chat.send",
            "k",
            json!({ "room": "chan:idem-refused", "text": "fixed" }),
        )
        .await;
    assert_eq!(good["ok"], true, "{good}");
    let long_key = "k".repeat(65);
    let refused = alice
        .request_idem(
            "chat.send",
            &long_key,
            json!({ "room": "chan:idem-refused", "text": "y" }),
        )
        .await;
    assert_eq!(refused["err"]["code"], "invalid");
}
