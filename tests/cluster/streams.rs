//! Spectator streams across nodes: a 5-second delay kept to the half-second on every node, in
//! order; late joiners (on a node already watching and on one that starts watching then) never
//! see an event newer than now − delay; crowd counts agree across nodes within 2 s of joins and
//! leaves; a cheer flood becomes a bounded number of pushes with exact totals; a replay played
//! on another node reproduces the stream.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::helpers::{now_ms, Client, Cluster};

fn ok(reply: &Value) -> Value {
    assert_eq!(reply["ok"], true, "{reply}");
    reply["d"].clone()
}

/// Reads pushes until `until`, or until `max` `stream.event`s are in; those events with the
/// local time each arrived.
async fn events_until(client: &mut Client, until: Instant, max: usize) -> Vec<(Value, u64)> {
    let mut out = Vec::new();
    while out.len() < max {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Some(push) = client.next_push_within(left).await {
            if push["ev"] == "stream.event" {
                out.push((push, now_ms()));
            }
        }
    }
    out
}

fn ts(event: &Value) -> u64 {
    event["d"]["ts"].as_u64().expect("ts")
}

fn off(event: &Value) -> u64 {
    event["off"].as_u64().expect("off")
}

#[tokio::test]
async fn a_five_second_delay_holds_on_every_node_and_late_joiners_never_see_newer() {
    let cluster = Cluster::new().await;
    let (a, b, c) = (
        cluster.node("a").await,
        cluster.node("b").await,
        cluster.node("c").await,
    );
    let mut owner = cluster.client(&a, "owner", Codec::Json).await;
    let info = ok(&owner
        .request("stream.open", json!({ "game": "snake", "delay_s": 5 }))
        .await);
    let id = info["id"].as_u64().expect("id");
    let room = format!("stream:{id}");
    let (on_a, _) = cluster.member(&a, "fan_a", Codec::MsgPack, &room).await;
    let (on_b, _) = cluster.member(&b, "fan_b", Codec::Json, &room).await;
    // Each spectator reads on its own, so an arrival time is when it arrived: the ten events
    // (or what came of them by the deadline), then whatever follows them, which must be
    // nothing, until 8.3 s (1.5 s past the last event's due time) and for 300 ms at least.
    let started = Instant::now();
    let end = started + Duration::from_millis(12_000);
    let read = |who: &'static str, mut client: Client| {
        tokio::spawn(async move {
            let got = events_until(&mut client, end, 10).await;
            let quiet = (started + Duration::from_millis(8_300))
                .max(Instant::now() + Duration::from_millis(300));
            let more = events_until(&mut client, quiet, usize::MAX).await;
            (who, got, more)
        })
    };
    let readers = [read("a", on_a), read("b", on_b)];

    // Ten events, 200 ms apart, published on node a.
    let mut sent = Vec::new();
    for i in 0..10 {
        let kind = if i == 0 { "start" } else { "move" };
        let p = ok(&owner
            .request(
                "stream.publish",
                json!({ "stream": id, "kind": kind, "d": { "i": i } }),
            )
            .await);
        sent.push(p["ts"].as_u64().expect("ts"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 6 s after the first event: about half are out. One joiner on a node that watches
    // already (b), one on a node that has never seen the stream (c); each reads from its join.
    tokio::time::sleep_until((started + Duration::from_millis(6_000)).into()).await;
    let late_b = cluster.client(&b, "late_b", Codec::Json).await;
    let late_c = cluster.client(&c, "late_c", Codec::MsgPack).await;
    let mut late_readers = Vec::new();
    for (who, mut late) in [("late on b", late_b), ("late on c", late_c)] {
        let reply = ok(&late.request("room.join", json!({ "room": room })).await);
        let replied_at = now_ms();
        let joined_off = reply["off"].as_u64().expect("the joiner's position");
        late_readers.push((replied_at, joined_off, read(who, late)));
    }

    for reader in readers {
        let (who, got, more) = reader.await.expect("reader");
        let payloads: Vec<Value> = got.iter().map(|(e, _)| e["d"]["d"]["i"].clone()).collect();
        assert_eq!(
            payloads,
            (0..10).map(|i| json!(i)).collect::<Vec<_>>(),
            "node {who}: every event, in order"
        );
        for ((event, at), sent_ts) in got.iter().zip(&sent) {
            assert_eq!(ts(event), *sent_ts);
            let after = at - sent_ts;
            assert!(
                (5_000..=5_500).contains(&after),
                "node {who}: {event} arrived {after} ms after publication"
            );
        }
        assert!(more.is_empty(), "node {who}: more after the last: {more:?}");
    }
    // Each late joiner first gets the state up to its position, at once and never newer than
    // now − delay; then the rest, each on time, and nothing twice.
    for (replied_at, joined_off, reader) in late_readers {
        let (who, got, more) = reader.await.expect("reader");
        let split = got
            .iter()
            .position(|(e, _)| off(e) > joined_off)
            .unwrap_or(got.len());
        let (backlog, rest) = got.split_at(split);
        assert!(!backlog.is_empty(), "{who}: the state as of now - delay");
        assert_eq!(backlog[0].0["d"]["kind"], "start");
        for (event, at) in backlog {
            assert!(
                ts(event) + 5_000 <= *at,
                "{who}: a joiner got an event newer than now - delay: {event} at {at}"
            );
            assert!(
                *at <= replied_at + 100,
                "{who}: the state comes at once; {event} came at {at}, the reply at {replied_at}"
            );
        }
        let offs: Vec<u64> = backlog.iter().map(|(e, _)| off(e)).collect();
        assert!(offs.windows(2).all(|w| w[0] < w[1]), "{who}: {offs:?}");
        let mut last = *offs.last().expect("the state");
        assert_eq!(
            last, joined_off,
            "{who}: the state reaches the joiner's position"
        );
        for (event, at) in rest {
            let after = at - ts(event);
            assert!(
                (5_000..=5_500).contains(&after),
                "{who}: {event} arrived {after} ms after publication"
            );
            let next = off(event);
            assert!(next == last + 1, "{who}: after {last} came {next}");
            last = next;
        }
        assert_eq!(
            rest.last().map(|(e, _)| e["d"]["d"]["i"].clone()),
            Some(json!(9)),
            "{who}"
        );
        assert!(more.is_empty(), "{who}: more after the last: {more:?}");
    }
    cluster.cleanup().await;
}

/// Waits for a `stream.crowd` push satisfying `done`; (the push, pushes seen meanwhile).
async fn crowd_until(
    client: &mut Client,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> (Value, usize) {
    let deadline = Instant::now() + within;
    let mut seen = 0;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        let Some(push) = client.next_push_within(Duration::from_millis(100)).await else {
            continue;
        };
        if push["ev"] == "stream.crowd" {
            seen += 1;
            last = push["d"].clone();
            if done(&last) {
                return (last, seen);
            }
        }
    }
    panic!("no matching stream.crowd within {within:?}; last {last}");
}

#[tokio::test]
async fn counts_and_cheers_agree_across_nodes_with_bounded_pushes() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let mut owner = cluster.client(&a, "owner", Codec::Json).await;
    let id = ok(&owner
        .request("stream.open", json!({ "game": "chess" }))
        .await)["id"]
        .as_u64()
        .expect("id");
    let room = format!("stream:{id}");
    ok(&owner.request("room.join", json!({ "room": room })).await);
    let mut fans = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (fan, _) = cluster
            .member(node, &format!("fan{i}"), Codec::MsgPack, &room)
            .await;
        fans.push(fan);
    }
    let joined = Instant::now();
    let (crowd, _) = crowd_until(&mut owner, Duration::from_secs(3), |d| d["viewers"] == 13).await;
    assert!(joined.elapsed() <= Duration::from_millis(2_500), "{crowd}");
    // Both fans read up to the full count: the pushes counted below are the flood's.
    for who in [0, 1] {
        crowd_until(&mut fans[who], Duration::from_secs(3), |d| {
            d["viewers"] == 13
        })
        .await;
    }

    // A flood: every fan sends 8 cheers, one after another; 5 per 10 s each pass.
    let flood_start = Instant::now();
    let emojis = ["👏", "🔥", "❤️"];
    let mut accepted: BTreeMap<String, u64> = BTreeMap::new();
    for (i, fan) in fans.iter_mut().enumerate() {
        for k in 0..8 {
            let emoji = emojis[(i + k) % 3];
            let r = fan
                .request("stream.cheer", json!({ "stream": id, "emoji": emoji }))
                .await;
            if r["ok"] == true {
                *accepted.entry(emoji.to_owned()).or_default() += 1;
            } else {
                assert_eq!(r["err"]["code"], "rate_limited", "{r}");
            }
        }
    }
    assert_eq!(accepted.values().sum::<u64>(), 60);
    let want = json!(accepted);
    for who in [0, 1] {
        let (crowd, pushes) = crowd_until(&mut fans[who], Duration::from_secs(4), |d| {
            d["cheers"] == want
        })
        .await;
        assert_eq!(crowd["viewers"], 13);
        // One push per node tick at most: 60 cheers became a handful of pushes.
        let elapsed = flood_start.elapsed();
        let bound = elapsed.as_secs() as usize + 4;
        assert!(pushes <= bound, "{pushes} crowd pushes in {elapsed:?}");
    }

    // Leaves on node b show on node a within 2 s; the peak stays.
    for fan in fans.iter_mut().skip(1).step_by(2) {
        ok(&fan.request("room.leave", json!({ "room": room })).await);
    }
    let left = Instant::now();
    let (crowd, _) = crowd_until(&mut owner, Duration::from_secs(3), |d| d["viewers"] == 7).await;
    assert!(left.elapsed() <= Duration::from_millis(2_500), "{crowd}");
    assert_eq!(crowd["peak"], 13);
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_replay_on_another_node_reproduces_the_stream() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.node("a").await, cluster.node("b").await);
    let mut owner = cluster.client(&a, "owner", Codec::MsgPack).await;
    let id = ok(&owner
        .request("stream.open", json!({ "game": "snake", "delay_s": 2 }))
        .await)["id"]
        .as_u64()
        .expect("id");
    let mut sent = Vec::new();
    for i in 0..20 {
        let kind = match i {
            0 => "start",
            _ if i % 7 == 0 => "tick",
            _ if i % 5 == 0 => "data",
            _ => "move",
        };
        let dir = ["up", "left", "down", "right"][i % 4];
        let d = json!({ "i": i, "dir": dir });
        let p = ok(&owner
            .request(
                "stream.publish",
                json!({ "stream": id, "kind": kind, "d": d }),
            )
            .await);
        sent.push(json!({ "kind": kind, "ts": p["ts"], "d": d }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end = ok(&owner
        .request("stream.end", json!({ "stream": id, "keep": true }))
        .await);
    assert_eq!(end["status"], "ended");
    let mut viewer = cluster.client(&b, "viewer", Codec::Json).await;
    let started = ok(&viewer
        .request("stream.replay", json!({ "stream": id, "speed": 8 }))
        .await);
    assert_eq!(started["events"], 21);
    let until = Instant::now() + Duration::from_millis(800);
    let played = events_until(&mut viewer, until, usize::MAX).await;
    let bodies: Vec<Value> = played.iter().map(|(e, _)| e["d"].clone()).collect();
    assert_eq!(bodies.len(), 21);
    assert_eq!(
        &bodies[..20],
        &sent[..],
        "the same events, kinds, times and payloads"
    );
    assert_eq!(bodies[20]["kind"], "end");
    cluster.cleanup().await;
}
