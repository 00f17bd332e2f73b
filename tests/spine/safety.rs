//! A user's own tools: blocks (silent, at most 100), personal mutes of a user or a room, and
//! who may send them direct messages.

use serde_json::json;

use crate::guild_helpers::{ok, refused};
use crate::helpers::*;

#[tokio::test]
async fn blocks_hide_messages_and_close_dms_silently() {
    for codec in codecs() {
        let server = TestServer::start().await;
        let room = "chan:lobby";
        let (mut bob, _) = server.member("bob", codec, room).await;
        let (mut alice, _) = server.member("alice", codec, room).await;
        let (mut carol, _) = server.member("carol", codec, room).await;
        let dm = "dm:alice:bob";
        ok(&alice.request("room.join", json!({ "room": dm })).await);
        ok(&alice
            .request("chat.send", json!({ "room": dm, "text": "psst" }))
            .await);

        ok(&bob.request("block.add", json!({ "user": "alice" })).await);
        let list = ok(&bob.request("block.list", json!({})).await);
        assert_eq!(list["users"], json!(["alice"]), "{codec:?}");
        // Alice's DM fails exactly as a closed inbox does, with nothing that names the block.
        let blocked = refused(
            &alice
                .request("chat.send", json!({ "room": dm, "text": "hello?" }))
                .await,
            "unavailable",
        );
        ok(&carol
            .request("settings.set", json!({ "dm": "friends" }))
            .await);
        let closed_dm = "dm:alice:carol";
        ok(&alice
            .request("room.join", json!({ "room": closed_dm }))
            .await);
        let closed = refused(
            &alice
                .request("chat.send", json!({ "room": closed_dm, "text": "hello?" }))
                .await,
            "unavailable",
        );
        assert_eq!(
            blocked, closed,
            "{codec:?}: a block reads like a closed inbox"
        );
        // Bob's DM to alice fails the same way: a block cuts both directions.
        ok(&bob.request("room.join", json!({ "room": dm })).await);
        refused(
            &bob.request("chat.send", json!({ "room": dm, "text": "x" }))
                .await,
            "unavailable",
        );

        // In rooms, bob no longer sees alice; carol still does.
        ok(&alice
            .request("chat.send", json!({ "room": room, "text": "from alice" }))
            .await);
        ok(&carol
            .request("chat.send", json!({ "room": room, "text": "from carol" }))
            .await);
        let seen = bob.next_event("chat.msg").await;
        assert_eq!(seen["d"]["text"], "from carol", "{codec:?}");
        let seen_by_carol = carol.next_event("chat.msg").await;
        assert_eq!(seen_by_carol["d"]["text"], "from alice", "{codec:?}");
        // Another connection of bob's, opened later, hides alice too.
        let (mut bob2, _) = server.member("bob", codec, room).await;
        ok(&alice
            .request("chat.send", json!({ "room": room, "text": "again" }))
            .await);
        ok(&carol
            .request("chat.send", json!({ "room": room, "text": "c2" }))
            .await);
        assert_eq!(
            bob2.next_event("chat.msg").await["d"]["text"],
            "c2",
            "{codec:?}"
        );

        ok(&bob
            .request("block.remove", json!({ "user": "alice" }))
            .await);
        ok(&alice
            .request("chat.send", json!({ "room": room, "text": "unblocked" }))
            .await);
        loop {
            let m = bob.next_event("chat.msg").await;
            if m["d"]["from"]["id"] == "alice" {
                assert_eq!(m["d"]["text"], "unblocked", "{codec:?}");
                break;
            }
        }
        ok(&alice
            .request("chat.send", json!({ "room": dm, "text": "hi again" }))
            .await);
        server.stop().await;
    }
}

#[tokio::test]
async fn personal_mutes_are_silent_and_bounded() {
    let server = TestServer::start().await;
    let codec = guildhall_protocol::Codec::Json;
    let (mut bob, _) = server.member("bob", codec, "chan:a").await;
    ok(&bob.request("room.join", json!({ "room": "chan:b" })).await);
    let (mut loud, _) = server.member("loud", codec, "chan:a").await;
    ok(&loud.request("room.join", json!({ "room": "chan:b" })).await);
    let (mut quiet, _) = server.member("quiet", codec, "chan:a").await;
    ok(&quiet
        .request("room.join", json!({ "room": "chan:b" }))
        .await);

    ok(&bob.request("mute.add", json!({ "user": "loud" })).await);
    ok(&bob.request("mute.add", json!({ "room": "chan:b" })).await);
    let mutes = ok(&bob.request("mute.list", json!({})).await);
    assert_eq!(mutes, json!({ "users": ["loud"], "rooms": ["chan:b"] }));
    ok(&loud
        .request("chat.send", json!({ "room": "chan:a", "text": "LOUD" }))
        .await);
    ok(&quiet
        .request("chat.send", json!({ "room": "chan:b", "text": "in b" }))
        .await);
    ok(&quiet
        .request("chat.send", json!({ "room": "chan:a", "text": "in a" }))
        .await);
    let seen = bob.next_event("chat.msg").await;
    assert_eq!(
        seen["d"]["text"], "in a",
        "the muted user and the muted room are silent"
    );
    // The muted user can still talk to everyone else and is never told.
    assert_eq!(quiet.next_event("chat.msg").await["d"]["text"], "LOUD");
    refused(
        &bob.request("mute.add", json!({ "user": "loud", "room": "chan:a" }))
            .await,
        "invalid",
    );
    ok(&bob
        .request("mute.remove", json!({ "room": "chan:b" }))
        .await);
    ok(&quiet
        .request("chat.send", json!({ "room": "chan:b", "text": "heard" }))
        .await);
    assert_eq!(bob.next_event("chat.msg").await["d"]["text"], "heard");

    // At most 100 blocks.
    for i in 0..100 {
        ok(&bob
            .request("block.add", json!({ "user": format!("u{i}") }))
            .await);
    }
    let msg = refused(
        &bob.request("block.add", json!({ "user": "one-too-many" }))
            .await,
        "limit_reached",
    );
    assert_eq!(msg, "at most 100 blocked users");
    // Blocking someone already blocked is not a new block.
    ok(&bob.request("block.add", json!({ "user": "u7" })).await);
}
