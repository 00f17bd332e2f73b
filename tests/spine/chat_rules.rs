//! Every chat rule over a real socket: a refused message gets its error code, and no other
//! member of the room receives it.

use std::time::{Duration, Instant};

use guildhall::config::ChannelConfig;
use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::helpers::{chat_texts, codecs, Client, TestServer};

/// How long a refused message is given to (wrongly) reach another member.
const QUIET: Duration = Duration::from_millis(300);

fn err_code(reply: &Value) -> &str {
    reply["err"]["code"].as_str().unwrap_or("")
}

async fn send(client: &mut Client, room: &str, text: &str) -> Value {
    client
        .request("chat.send", json!({ "room": room, "text": text }))
        .await
}

/// Checks that `watcher` receives no chat message for a while (presence is skipped).
async fn assert_no_chat(watcher: &mut Client, what: &str) {
    let deadline = Instant::now() + QUIET;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match watcher.next_push_within(left).await {
            None => return,
            Some(push) if push["ev"] == "room.presence" => continue,
            Some(push) => panic!("a refused message ({what:?}) reached another member: {push}"),
        }
    }
}

/// Sends `text`, which must be refused with `code`, and checks `watcher` does not receive it.
async fn assert_refused(
    sender: &mut Client,
    watcher: &mut Client,
    room: &str,
    text: &str,
    code: &str,
) -> Value {
    let reply = send(sender, room, text).await;
    assert_eq!(
        reply["ok"], false,
        "{text:?} in {room} should be refused with {code}: {reply}"
    );
    assert_eq!(err_code(&reply), code, "{text:?} in {room}: {reply}");
    assert_no_chat(watcher, text).await;
    reply
}

/// Sends `text`, which must be accepted, and checks `watcher` receives it unchanged.
async fn assert_accepted(sender: &mut Client, watcher: &mut Client, room: &str, text: &str) {
    let reply = send(sender, room, text).await;
    assert_eq!(
        reply["ok"], true,
        "{text:?} in {room} should be accepted: {reply}"
    );
    let msg = watcher.next_event("chat.msg").await;
    assert_eq!(msg["room"], room, "{msg}");
    assert_eq!(msg["d"]["text"], text, "{msg}");
}

fn retry_ms(reply: &Value) -> u64 {
    reply["err"]["retry_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("rate_limited without retry_ms: {reply}"))
}

#[tokio::test]
async fn text_length_counts_characters_and_empty_is_invalid() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:len-{codec:?}");
        let (mut alice, _) = server.member("alice", codec, &room).await;
        let (mut bob, _) = server.member("bob", codec, &room).await;

        assert_accepted(&mut alice, &mut bob, &room, &"a".repeat(200)).await;
        assert_refused(&mut alice, &mut bob, &room, &"b".repeat(201), "too_long").await;
        // Characters, not bytes: 200 two-byte letters are 400 bytes and still fit.
        assert_accepted(&mut alice, &mut bob, &room, &"é".repeat(200)).await;
        assert_refused(&mut alice, &mut bob, &room, &"é".repeat(201), "too_long").await;
        for blank in ["", " ", "   \t\n  "] {
            assert_refused(&mut alice, &mut bob, &room, blank, "invalid").await;
        }
    }
}

#[tokio::test]
async fn links_are_refused_and_never_delivered() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let room = format!("chan:links-{codec:?}");
        let (mut alice, _) = server.member("alice", codec, &room).await;
        let (mut bob, _) = server.member("bob", codec, &room).await;
        for text in [
            "https://x.example",
            "free gems at https://x.example/claim",
            "www.example.com",
            "discord.gg/abc",
            "join discord.gg/abc now",
        ] {
            assert_refused(&mut alice, &mut bob, &room, text, "link_refused").await;
        }
        // Refusals do not block the sender: ordinary text still goes through.
        assert_accepted(&mut alice, &mut bob, &room, "see you at the gate").await;
    }
}

fn rate_limited_server(
    tweak_more: impl FnOnce(&mut guildhall::Config),
) -> impl FnOnce(&mut guildhall::Config) {
    move |config| {
        config.chat.min_gap_ms = 400;
        config.chat.max_per_window = 3;
        config.chat.window_ms = 3_000;
        tweak_more(config);
    }
}

#[tokio::test]
async fn min_gap_refuses_with_retry_ms_and_accepts_after_it() {
    for codec in codecs() {
        let server = TestServer::start_with(rate_limited_server(|_| {})).await;
        let room = "chan:gap";
        let (mut alice, _) = server.member("alice", codec, room).await;
        let (mut bob, _) = server.member("bob", codec, room).await;

        assert_eq!(send(&mut alice, room, "one").await["ok"], true);
        let refused = send(&mut alice, room, "two").await;
        assert_eq!(err_code(&refused), "rate_limited", "{codec:?}: {refused}");
        let retry = retry_ms(&refused);
        assert!(
            retry > 0 && retry <= 400,
            "retry_ms {retry} should be in (0, 400]"
        );

        tokio::time::sleep(Duration::from_millis(retry)).await;
        let again = send(&mut alice, room, "two").await;
        assert_eq!(
            again["ok"], true,
            "{codec:?}: accepted after waiting retry_ms: {again}"
        );

        // Bob saw each accepted message once and the refused one never.
        let got = bob.drain_chat(Duration::from_millis(500)).await;
        assert_eq!(chat_texts(&got), ["one", "two"], "{codec:?}");
    }
}

#[tokio::test]
async fn window_cap_refuses_until_the_oldest_message_leaves_the_window() {
    for codec in codecs() {
        let server = TestServer::start_with(rate_limited_server(|_| {})).await;
        let room = "chan:window";
        let (mut alice, _) = server.member("alice", codec, room).await;
        let (mut bob, _) = server.member("bob", codec, room).await;

        let first_sent = Instant::now();
        let mut first_acked = first_sent;
        for text in ["m1", "m2", "m3"] {
            let reply = send(&mut alice, room, text).await;
            assert_eq!(reply["ok"], true, "{codec:?} {text}: {reply}");
            if text == "m1" {
                first_acked = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(420)).await;
        }
        let fourth_sent = Instant::now();
        let refused = send(&mut alice, room, "m4").await;
        let fourth_acked = Instant::now();
        assert_eq!(
            err_code(&refused),
            "rate_limited",
            "{codec:?}: the 4th in the window: {refused}"
        );
        let retry = retry_ms(&refused);
        // The first message leaves the window 3 s after the server took it: somewhere between
        // our sending and our receiving its ack, and likewise for the refusal (±2 ms of rounding).
        let ms = |d: Duration| d.as_millis() as i64;
        let earliest = 3_000 - ms(fourth_acked - first_sent) - 2;
        let latest = 3_000 - ms(fourth_sent - first_acked) + 2;
        assert!(
            (earliest..=latest).contains(&(retry as i64)),
            "{codec:?}: retry_ms {retry} should be the time until the first message leaves the window, in {earliest}..={latest}"
        );
        assert!(
            retry > 400,
            "{codec:?}: retry_ms {retry} is the window, not the gap"
        );

        tokio::time::sleep(Duration::from_millis(retry)).await;
        let reply = send(&mut alice, room, "m4").await;
        assert_eq!(
            reply["ok"], true,
            "{codec:?}: accepted once the first left the window: {reply}"
        );

        let got = bob.drain_chat(Duration::from_millis(500)).await;
        assert_eq!(chat_texts(&got), ["m1", "m2", "m3", "m4"], "{codec:?}");
    }
}

#[tokio::test]
async fn rate_limits_are_per_room_and_per_user() {
    for codec in codecs() {
        let server = TestServer::start_with(rate_limited_server(|_| {})).await;
        let (a, b) = ("chan:rl-a", "chan:rl-b");
        let (mut alice, _) = server.member("alice", codec, a).await;
        assert_eq!(
            alice.request("room.join", json!({ "room": b })).await["ok"],
            true
        );
        let (mut bob, _) = server.member("bob", codec, a).await;

        // The gap: alice is limited in room a only, and only alice.
        assert_eq!(send(&mut alice, a, "a1").await["ok"], true);
        assert_eq!(err_code(&send(&mut alice, a, "a2").await), "rate_limited");
        assert_eq!(
            send(&mut alice, b, "b1").await["ok"],
            true,
            "{codec:?}: another room is unaffected"
        );
        assert_eq!(
            send(&mut bob, a, "bob1").await["ok"],
            true,
            "{codec:?}: another user is unaffected"
        );

        // The window: fill alice's in room a.
        for text in ["a2", "a3"] {
            tokio::time::sleep(Duration::from_millis(420)).await;
            assert_eq!(
                send(&mut alice, a, text).await["ok"],
                true,
                "{codec:?} {text}"
            );
        }
        tokio::time::sleep(Duration::from_millis(420)).await;
        let refused = send(&mut alice, a, "a4").await;
        assert_eq!(
            err_code(&refused),
            "rate_limited",
            "{codec:?}: alice's window in room a is full: {refused}"
        );
        assert!(retry_ms(&refused) > 400, "{refused}");
        assert_eq!(
            send(&mut alice, b, "b2").await["ok"],
            true,
            "{codec:?}: another room is unaffected"
        );
        assert_eq!(
            send(&mut bob, a, "bob2").await["ok"],
            true,
            "{codec:?}: another user is unaffected"
        );
    }
}

#[tokio::test]
async fn the_same_text_twice_is_spam() {
    for codec in codecs() {
        let server = TestServer::start_with(|config| config.chat.repeat_window_ms = 60_000).await;
        let room = "chan:spam";
        let (mut alice, _) = server.member("alice", codec, room).await;
        let (mut bob, _) = server.member("bob", codec, room).await;

        assert_accepted(&mut alice, &mut bob, room, "gg wp").await;
        for repeat in ["gg wp", "GG WP", "  gg   wp ", "Gg\twP"] {
            assert_refused(&mut alice, &mut bob, room, repeat, "spam").await;
        }
        assert_accepted(&mut alice, &mut bob, room, "good game").await;
        // Another user saying the same is not spam (alice first skips her own echoes).
        alice.drain_chat(Duration::from_millis(200)).await;
        assert_accepted(&mut bob, &mut alice, room, "good game").await;
    }
}

fn channel(level: &str) -> ChannelConfig {
    serde_json::from_value(json!({ "filter": level })).expect("channel config")
}

const MEDIUM: &str = "chan:lobby";
const STRICT: &str = "chan:strict";
const OFF: &str = "chan:off";

/// A server whose `chan:strict` filters strictly and `chan:off` not at all; other channels use
/// the default (medium). Alice and bob are members of all three.
async fn filter_rooms(codec: Codec) -> (TestServer, Client, Client) {
    let server = TestServer::start_with(|config| {
        config
            .chat
            .channels
            .insert(STRICT.into(), channel("strict"));
        config.chat.channels.insert(OFF.into(), channel("off"));
    })
    .await;
    let mut alice = server.client("alice", codec).await;
    let mut bob = server.client("bob", codec).await;
    for room in [MEDIUM, STRICT, OFF] {
        assert_eq!(
            alice.request("room.join", json!({ "room": room })).await["ok"],
            true
        );
        assert_eq!(
            bob.request("room.join", json!({ "room": room })).await["ok"],
            true
        );
    }
    (server, alice, bob)
}

#[tokio::test]
async fn strong_profanity_is_refused_in_medium_and_strict_and_allowed_when_off() {
    for codec in codecs() {
        let (_server, mut alice, mut bob) = filter_rooms(codec).await;
        for text in ["what the fuck", "this is shit"] {
            assert_refused(&mut alice, &mut bob, MEDIUM, text, "filtered").await;
            assert_refused(&mut alice, &mut bob, STRICT, text, "filtered").await;
            assert_accepted(&mut alice, &mut bob, OFF, text).await;
        }
        // A clean message passes even the strict filter.
        assert_accepted(
            &mut alice,
            &mut bob,
            STRICT,
            "good game everyone, see you tomorrow",
        )
        .await;
    }
}

#[tokio::test]
async fn mild_profanity_is_refused_only_in_strict() {
    for codec in codecs() {
        let (_server, mut alice, mut bob) = filter_rooms(codec).await;
        let text = "damn that boss hurt";
        assert_refused(&mut alice, &mut bob, STRICT, text, "filtered").await;
        assert_accepted(&mut alice, &mut bob, MEDIUM, text).await;
        assert_accepted(&mut alice, &mut bob, OFF, text).await;
    }
}

#[tokio::test]
async fn obfuscated_profanity_is_refused_in_medium() {
    for codec in codecs() {
        let (_server, mut alice, mut bob) = filter_rooms(codec).await;
        for text in ["FuUuCK this", "f.u.c.k off", "total sh1t"] {
            assert_refused(&mut alice, &mut bob, MEDIUM, text, "filtered").await;
        }
    }
}

/// The first word of the shipped slur list (never spelled out in this file).
fn first_slur() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/filters/slurs.txt");
    let list = std::fs::read_to_string(path).expect("data/filters/slurs.txt");
    list.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .expect("a word in slurs.txt")
        .to_owned()
}

#[tokio::test]
async fn slurs_are_refused_in_every_channel_even_with_the_filter_off() {
    let slur = first_slur();
    for codec in codecs() {
        let (_server, mut alice, mut bob) = filter_rooms(codec).await;
        let text = format!("you {slur}");
        for room in [MEDIUM, STRICT, OFF] {
            // Checked by hand so that the word never appears in the test output.
            let reply = send(&mut alice, room, &text).await;
            assert_eq!(
                reply["ok"], false,
                "{codec:?}: the first listed slur in {room} should be refused"
            );
            assert_eq!(
                err_code(&reply),
                "filtered",
                "{codec:?}: the first listed slur in {room}: code {}",
                err_code(&reply)
            );
            let leaked = bob.drain_chat(QUIET).await;
            assert!(
                leaked.is_empty(),
                "{codec:?}: a refused slur reached another member in {room}"
            );
        }
        // chan:off really is off (strong profanity passes there), and it still works.
        assert_accepted(&mut alice, &mut bob, OFF, "what the fuck").await;
        assert_accepted(&mut alice, &mut bob, OFF, "sorry, wrong window").await;
    }
}

#[tokio::test]
async fn sending_to_a_room_not_joined_is_not_member() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let theirs = format!("chan:theirs-{codec:?}");
        let mine = format!("chan:mine-{codec:?}");
        let (mut alice, _) = server.member("alice", codec, &mine).await;
        let (mut bob, _) = server.member("bob", codec, &theirs).await;
        assert_refused(&mut alice, &mut bob, &theirs, "hello there", "not_member").await;

        // Leaving a room ends the right to send to it.
        assert_eq!(
            alice.request("room.join", json!({ "room": theirs })).await["ok"],
            true
        );
        assert_eq!(
            alice.request("room.leave", json!({ "room": theirs })).await["ok"],
            true
        );
        assert_refused(&mut alice, &mut bob, &theirs, "still here?", "not_member").await;
    }
}
