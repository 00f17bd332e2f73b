//! Live moderation on one node, in both codecs: mutes (room, platform, shadow), deletions,
//! kicks and bans, room modes, the audit log.

use guildhall::auth::{unix_now_secs, Claims};
use serde_json::json;

use crate::guild_helpers::{ok, refused};
use crate::helpers::*;

const HOUR_MS: u64 = 3_600_000;

#[tokio::test]
async fn live_room_actions_in_both_codecs() {
    for codec in codecs() {
        let server = TestServer::start().await;
        let room = "chan:lobby";
        let mut moder = server.moderator("mod", codec).await;
        let (mut alice, _) = server.member("alice", codec, room).await;
        let (mut bob, _) = server.member("bob", codec, room).await;
        ok(&moder.request("room.join", json!({ "room": room })).await);

        // Members cannot moderate at all.
        let msg = refused(
            &alice
                .request(
                    "mod.mute",
                    json!({ "room": room, "user": "bob", "duration": "1h" }),
                )
                .await,
            "forbidden",
        );
        assert_eq!(msg, "only moderators may do this", "{codec:?}");

        // A room mute: the next message is refused with the time left; other rooms are fine.
        let muted = ok(&moder
            .request(
                "mod.mute",
                json!({ "room": room, "user": "alice", "duration": "1h", "reason": "flood" }),
            )
            .await);
        let until = muted["until"].as_u64().expect("until");
        assert!(
            until > guildhall::clock::now_ms() + HOUR_MS - 60_000,
            "{codec:?}"
        );
        let reply = alice
            .request("chat.send", json!({ "room": room, "text": "let me talk" }))
            .await;
        refused(&reply, "muted");
        let left = reply["err"]["retry_ms"].as_u64().expect("retry_ms");
        assert!(
            (HOUR_MS - 60_000..=HOUR_MS).contains(&left),
            "{codec:?}: {left}"
        );
        ok(&alice
            .request("room.join", json!({ "room": "chan:other" }))
            .await);
        ok(&alice
            .request(
                "chat.send",
                json!({ "room": "chan:other", "text": "elsewhere" }),
            )
            .await);
        ok(&moder
            .request("mod.unmute", json!({ "room": room, "user": "alice" }))
            .await);
        let sent = ok(&alice
            .request("chat.send", json!({ "room": room, "text": "back" }))
            .await);
        assert!(sent["off"].as_u64().is_some());

        // A platform mute reaches every room; permanent has no retry.
        ok(&moder
            .request(
                "mod.mute",
                json!({ "user": "alice", "duration": "permanent" }),
            )
            .await);
        let reply = alice
            .request("chat.send", json!({ "room": "chan:other", "text": "x" }))
            .await;
        refused(&reply, "muted");
        assert!(reply["err"].get("retry_ms").is_none(), "{codec:?}: {reply}");
        ok(&moder
            .request("mod.unmute", json!({ "user": "alice" }))
            .await);

        // Deleting a message: everyone is told, and history no longer has it.
        ok(&alice
            .request("chat.send", json!({ "room": room, "text": "regrettable" }))
            .await);
        let msg = loop {
            let msg = bob.next_event("chat.msg").await;
            if msg["d"]["text"] == "regrettable" {
                break msg;
            }
        };
        let id = msg["d"]["id"].as_u64().expect("id");
        ok(&moder
            .request(
                "mod.delete",
                json!({ "room": room, "id": id, "reason": "rude" }),
            )
            .await);
        loop {
            let deleted = bob.next_event("chat.deleted").await;
            if deleted["d"]["id"] == id {
                assert_eq!(deleted["d"]["by"]["id"], "mod", "{codec:?}");
                break;
            }
        }
        let history = ok(&bob.request("chat.history", json!({ "room": room })).await);
        assert!(
            !history["msgs"]
                .as_array()
                .expect("msgs")
                .iter()
                .any(|m| m["id"] == id),
            "{codec:?}: {history}"
        );
        let (_, joined) = server.member("late", codec, room).await;
        assert!(
            !joined["history"]
                .as_array()
                .expect("history")
                .iter()
                .any(|m| m["id"] == id),
            "{codec:?}: the join's cached history drops it too"
        );

        // A kick removes all of a user's connections from the room; they may come back.
        let (mut alice2, _) = server.member("alice", codec, room).await;
        ok(&moder
            .request("mod.kick", json!({ "room": room, "user": "alice" }))
            .await);
        for c in [&mut alice, &mut alice2] {
            let kicked = c.next_event("room.kicked").await;
            assert_eq!(kicked["d"]["user"]["id"], "alice", "{codec:?}");
            assert_eq!(kicked["d"]["ban"], false, "{codec:?}");
            refused(
                &c.request("chat.send", json!({ "room": room, "text": "still here?" }))
                    .await,
                "not_member",
            );
        }
        ok(&alice.request("room.join", json!({ "room": room })).await);

        // A room ban: out, and no way back in until unbanned.
        ok(&moder
            .request("mod.ban", json!({ "room": room, "user": "alice" }))
            .await);
        let kicked = alice.next_event("room.kicked").await;
        assert_eq!(kicked["d"]["ban"], true, "{codec:?}");
        refused(
            &alice.request("room.join", json!({ "room": room })).await,
            "banned",
        );
        refused(
            &alice2.request("room.join", json!({ "room": room })).await,
            "banned",
        );
        refused(
            &alice2
                .request("chat.history", json!({ "room": room }))
                .await,
            "banned",
        );
        ok(&moder
            .request("mod.unban", json!({ "room": room, "user": "alice" }))
            .await);
        ok(&alice.request("room.join", json!({ "room": room })).await);

        // A platform ban closes every connection with 4003 and refuses the next hello.
        let mut carl = server.client("carl", codec).await;
        ok(&moder.request("mod.ban", json!({ "user": "carl" })).await);
        assert_eq!(carl.expect_close().await, 4003, "{codec:?}");
        let mut again = Client::connect(&server.url(), codec).await;
        let hello = again.hello(&server.token("carl")).await;
        refused(&hello, "banned");

        // Every action is in the audit log, newest first.
        let audit = ok(&moder.request("mod.audit", json!({ "user": "alice" })).await);
        let actions: Vec<&str> = audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            ["unban", "ban", "kick", "delete", "unmute", "mute", "unmute", "mute"],
            "{codec:?}"
        );
        let first = &audit["entries"][7];
        assert_eq!(first["actor"]["id"], "mod", "{codec:?}");
        assert_eq!(first["room"], room, "{codec:?}");
        assert_eq!(first["reason"], "flood", "{codec:?}");
        refused(&bob.request("mod.audit", json!({})).await, "forbidden");
        server.stop().await;
    }
}

#[tokio::test]
async fn a_shadow_muted_user_is_heard_only_by_themselves() {
    let server = TestServer::start().await;
    let codec = guildhall_protocol::Codec::Json;
    let room = "chan:lobby";
    let mut moder = server.moderator("mod", codec).await;
    let (mut troll, _) = server.member("troll", codec, room).await;
    let (mut bob, _) = server.member("bob", codec, room).await;
    ok(&moder
        .request(
            "mod.mute",
            json!({ "room": room, "user": "troll", "duration": "24h", "shadow": true }),
        )
        .await);
    let sent = ok(&troll
        .request("chat.send", json!({ "room": room, "text": "spam spam" }))
        .await);
    let echoed = troll.next_event("chat.msg").await;
    assert_eq!(echoed["d"]["text"], "spam spam");
    assert_eq!(
        echoed["off"], sent["off"],
        "it looks like any message to its author"
    );
    ok(&bob
        .request("chat.send", json!({ "room": room, "text": "hi" }))
        .await);
    let seen = bob.next_event("chat.msg").await;
    assert_eq!(
        seen["d"]["text"], "hi",
        "bob never sees the shadow-muted message"
    );
    assert!(seen["off"].as_u64() > sent["off"].as_u64());
    let history = ok(&bob.request("chat.history", json!({ "room": room })).await);
    assert!(
        !history.to_string().contains("spam spam"),
        "nor is it stored"
    );
}

#[tokio::test]
async fn room_modes() {
    let server = TestServer::start().await;
    let codec = guildhall_protocol::Codec::MsgPack;
    let room = "chan:event";
    let mut moder = server.moderator("mod", codec).await;
    ok(&moder.request("room.join", json!({ "room": room })).await);
    let (mut anon, _) = server.member("anon", codec, room).await;
    let claims = |user: &str, member: bool, age_days: u64| Claims {
        sub: user.to_owned(),
        exp: unix_now_secs() + 3600,
        member,
        created_at: Some(unix_now_secs() - age_days * 86_400),
        ..Default::default()
    };
    let mut fan = server
        .client_with_token(&server.token_with(claims("fan", true, 30)), codec)
        .await;
    ok(&fan.request("room.join", json!({ "room": room })).await);
    let mut newbie = server
        .client_with_token(&server.token_with(claims("newbie", true, 1)), codec)
        .await;
    ok(&newbie.request("room.join", json!({ "room": room })).await);

    // Slow mode: one message per 2 s per user.
    let mode = ok(&moder
        .request("mod.mode", json!({ "room": room, "slow_ms": 2000 }))
        .await);
    assert_eq!(
        mode,
        json!({ "slow_ms": 2000, "members_only": false, "panic": false })
    );
    let push = anon.next_event("room.mode").await;
    assert_eq!(push["d"]["slow_ms"], 2000);
    ok(&anon
        .request("chat.send", json!({ "room": room, "text": "one" }))
        .await);
    let reply = anon
        .request("chat.send", json!({ "room": room, "text": "two" }))
        .await;
    let msg = refused(&reply, "rate_limited");
    assert!(msg.starts_with("slow mode"), "{msg}");
    assert!(reply["err"]["retry_ms"].as_u64().expect("retry") <= 2000);
    // Moderators are not slowed.
    ok(&moder
        .request("chat.send", json!({ "room": room, "text": "a" }))
        .await);
    ok(&moder
        .request("chat.send", json!({ "room": room, "text": "b" }))
        .await);

    // Members only: the token's `member` claim.
    ok(&moder
        .request(
            "mod.mode",
            json!({ "room": room, "slow_ms": 0, "members_only": true }),
        )
        .await);
    let msg = refused(
        &anon
            .request("chat.send", json!({ "room": room, "text": "me too" }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "this room is in members-only mode");
    ok(&fan
        .request("chat.send", json!({ "room": room, "text": "member here" }))
        .await);

    // Panic: only accounts at least 7 days old.
    ok(&moder
        .request(
            "mod.mode",
            json!({ "room": room, "members_only": false, "panic": true }),
        )
        .await);
    let msg = refused(
        &newbie
            .request("chat.send", json!({ "room": room, "text": "hello" }))
            .await,
        "forbidden",
    );
    assert!(msg.contains("panic mode"), "{msg}");
    refused(
        &anon
            .request("chat.send", json!({ "room": room, "text": "no age" }))
            .await,
        "forbidden",
    );
    ok(&fan
        .request("chat.send", json!({ "room": room, "text": "veteran" }))
        .await);
    ok(&moder
        .request("mod.mode", json!({ "room": room, "panic": false }))
        .await);
    ok(&newbie
        .request("chat.send", json!({ "room": room, "text": "now?" }))
        .await);
    refused(
        &moder
            .request("mod.mode", json!({ "room": room, "slow_ms": 3_600_001 }))
            .await,
        "invalid",
    );
}
