//! Resume after a dropped connection: exactly the missed events, in order, no duplicate; or
//! `recovered: false` when the tail no longer reaches back.

use std::time::Duration;

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::helpers::{codecs, offsets, Client, TestServer};

async fn send(client: &mut Client, room: &str, text: &str) -> u64 {
    let r = client
        .request("chat.send", json!({ "room": room, "text": text }))
        .await;
    assert_eq!(r["ok"], true, "{r}");
    r["d"]["off"].as_u64().expect("off")
}

async fn resume_hello(
    server: &TestServer,
    user: &str,
    codec: Codec,
    resume: Value,
) -> (Client, Value) {
    let mut client = Client::connect(&server.url(), codec).await;
    let reply = client
        .request(
            "hello",
            json!({ "token": server.token(user), "v": 1, "resume": resume }),
        )
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    (client, reply["d"].clone())
}

#[tokio::test]
async fn resume_receives_exactly_the_missed_messages_in_order() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:resume-{codec:?}");
        let (mut alice, joined) = server.member("alice", codec, &room).await;
        let ep = joined["ep"].as_str().expect("ep").to_owned();
        let (mut bob, _) = server.member("bob", Codec::Json, &room).await;
        let seen = send(&mut alice, &room, "before").await;
        assert_eq!(
            alice.next_event("chat.msg").await["off"].as_u64(),
            Some(seen)
        );
        alice.drop_connection();

        let mut missed = Vec::new();
        for i in 0..5 {
            missed.push(send(&mut bob, &room, &format!("missed {i}")).await);
        }
        let (mut alice, hello) = resume_hello(
            &server,
            "alice",
            codec,
            json!([{ "room": room, "ep": ep, "off": seen }]),
        )
        .await;
        let last = *missed.last().expect("missed");
        assert_eq!(
            hello["resumed"],
            json!([{ "room": room, "recovered": true, "ep": ep, "off": last }]),
            "the position the replay ends at"
        );
        let got = alice.drain_chat(Duration::from_millis(300)).await;
        assert_eq!(offsets(&got), missed);
        assert_eq!(got[0]["d"]["text"], "missed 0");

        // Live delivery carries on from there, with no gap and no repeat.
        let next = send(&mut bob, &room, "live").await;
        assert_eq!(
            alice.next_event("chat.msg").await["off"].as_u64(),
            Some(next)
        );
    }
}

#[tokio::test]
async fn resume_is_exact_while_the_room_keeps_talking() {
    let server = TestServer::start().await;
    let room = "chan:busy";
    let (mut alice, joined) = server.member("alice", Codec::MsgPack, room).await;
    let ep = joined["ep"].as_str().expect("ep").to_owned();
    let (mut bob, _) = server.member("bob", Codec::Json, room).await;
    let first = send(&mut bob, room, "m0").await;
    assert_eq!(
        alice.next_event("chat.msg").await["off"].as_u64(),
        Some(first)
    );
    alice.drop_connection();

    // Bob keeps sending while Alice reconnects, so live events race with the tail read.
    let total = 200u64;
    let talker = tokio::spawn(async move {
        for i in 1..total {
            send(&mut bob, room, &format!("m{i}")).await;
        }
        bob
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (mut alice, hello) = resume_hello(
        &server,
        "alice",
        Codec::MsgPack,
        json!([{ "room": room, "ep": ep, "off": first }]),
    )
    .await;
    assert_eq!(hello["resumed"][0]["recovered"], true);
    let _bob = talker.await.expect("talker");
    let got = alice.drain_chat(Duration::from_millis(500)).await;
    let want: Vec<u64> = (first + 1..=total).collect();
    assert_eq!(
        offsets(&got),
        want,
        "every message after the resume point, once, in order"
    );
}

#[tokio::test]
async fn join_with_since_recovers_too() {
    let server = TestServer::start().await;
    let room = "chan:since";
    let (mut bob, joined) = server.member("bob", Codec::Json, room).await;
    let ep = joined["ep"].clone();
    for i in 0..4 {
        send(&mut bob, room, &format!("m{i}")).await;
    }
    let mut alice = server.client("alice", Codec::Json).await;
    let reply = alice
        .request(
            "room.join",
            json!({ "room": room, "since": { "ep": ep, "off": 2 } }),
        )
        .await;
    assert_eq!(reply["d"]["recovered"], true, "{reply}");
    assert_eq!(reply["d"]["off"], 4);
    assert!(
        reply["d"].get("history").is_none(),
        "no history when recovered"
    );
    assert_eq!(
        offsets(&alice.drain_chat(Duration::from_millis(300)).await),
        [3, 4]
    );
}

#[tokio::test]
async fn beyond_the_tail_or_across_epochs_is_not_recovered() {
    let server = TestServer::start_with(|c| c.rooms.tail_max_events = 3).await;
    let room = "chan:short";
    let (mut bob, joined) = server.member("bob", Codec::Json, room).await;
    let ep = joined["ep"].as_str().expect("ep").to_owned();
    for i in 0..6 {
        send(&mut bob, room, &format!("m{i}")).await;
    }
    // The tail holds offsets 4..=6: resuming from 3 is exact, from 2 is not.
    let (mut ok, hello) = resume_hello(
        &server,
        "alice",
        Codec::Json,
        json!([{ "room": room, "ep": ep, "off": 3 }]),
    )
    .await;
    assert_eq!(hello["resumed"][0]["recovered"], true);
    assert_eq!(
        offsets(&ok.drain_chat(Duration::from_millis(300)).await),
        [4, 5, 6]
    );

    for codec in codecs() {
        let (mut lost, hello) = resume_hello(
            &server,
            "carol",
            codec,
            json!([{ "room": room, "ep": ep, "off": 2 }]),
        )
        .await;
        assert_eq!(
            hello["resumed"],
            json!([{ "room": room, "recovered": false, "ep": ep, "off": 6 }]),
            "rejoined at the current position, to reload from"
        );
        assert!(
            lost.drain_chat(Duration::from_millis(300)).await.is_empty(),
            "nothing partial is replayed"
        );

        let mut other = server.client("dave", codec).await;
        let reply = other
            .request(
                "room.join",
                json!({ "room": room, "since": { "ep": "not-the-epoch", "off": 2 } }),
            )
            .await;
        assert_eq!(reply["d"]["recovered"], false, "{reply}");
        // Not recovered: the reply carries history to reload from.
        assert_eq!(reply["d"]["history"].as_array().map(Vec::len), Some(6));
    }
}

#[tokio::test]
async fn a_restart_changes_the_epoch() {
    let server = TestServer::start().await;
    let (mut bob, joined) = server.member("bob", Codec::Json, "chan:restart").await;
    send(&mut bob, "chan:restart", "before restart").await;
    let ep = joined["ep"].clone();
    bob.close().await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |_| {}).await;
    let (_alice, hello) = resume_hello(
        &server,
        "alice",
        Codec::Json,
        json!([{ "room": "chan:restart", "ep": ep, "off": 0 }]),
    )
    .await;
    assert_eq!(hello["resumed"][0]["recovered"], false);
}

#[tokio::test]
async fn a_resume_entry_for_a_room_not_allowed_is_not_rejoined() {
    let server = TestServer::start().await;
    let (_bob, hello) = resume_hello(
        &server,
        "carol",
        Codec::Json,
        json!([{ "room": "dm:alice:bob", "ep": "x", "off": 1 }, { "room": "bad name", "ep": "x", "off": 1 }]),
    )
    .await;
    assert_eq!(
        hello["resumed"],
        json!([{ "room": "dm:alice:bob", "recovered": false }, { "room": "bad name", "recovered": false }]),
        "no position: the connection is not in these rooms"
    );
}
