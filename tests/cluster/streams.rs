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

/// Reads pushes until `until`; the `stream.event`s with the local time each arrived.
async fn events_until(client: &mut Client, until: Instant) -> Vec<(Value, u64)> {
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        if let Some(push) = client.next_push_within(left).await {
            if push["ev"] == "stream.event" {
                out.push((push, now_ms()));
            }
        }
    }
}

fn ts(event: &Value) -> u64 {
    event["d"]["ts"].as_u64().expect("ts")
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
    // Each spectator reads on its own, so an arrival time is when it arrived.
    let started = Instant::now();
    let end = started + Duration::from_millis(8_000);
    let readers = [("a", on_a), ("b", on_b)].map(|(who, mut client)| {
        tokio::spawn(async move { (who, events_until(&mut client, end).await) })
    });

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
    // already (b), one on a node that has never seen the stream (c).
    tokio::time::sleep_until((started + Duration::from_millis(6_000)).into()).await;
    let mut late_b = cluster.client(&b, "late_b", Codec::Json).await;
    let mut late_c = cluster.client(&c, "late_c", Codec::MsgPack).await;
    let mut seen_upto = Vec::new();
    for late in [&mut late_b, &mut late_c] {
        let joined_at = now_ms();
        let reply = ok(&late.request("room.join", json!({ "room": room })).await);
        let backlog = events_until(late, Instant::now() + Duration::from_millis(100)).await;
        assert!(!backlog.is_empty(), "the state as of now - delay");
        assert_eq!(backlog[0].0["d"]["kind"], "start");
        for (event, _) in &backlog {
            assert!(
                ts(event) + 5_000 <= joined_at + 100,
                "a joiner got an event newer than now - delay: {event}"
            );
        }
        assert!(reply["off"].as_u64() <= backlog.last().and_then(|(e, _)| e["off"].as_u64()));
        let offs: Vec<u64> = backlog
            .iter()
            .filter_map(|(e, _)| e["off"].as_u64())
            .collect();
        assert!(offs.windows(2).all(|w| w[0] < w[1]), "{offs:?}");
        seen_upto.push(offs.last().copied().unwrap_or(0));
    }

    for reader in readers {
        let (who, got) = reader.await.expect("reader");
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
    }
    // The late joiners got the rest (read now, after the fact: only "not early" can be
    // checked), and nothing twice.
    for (late, upto) in [&mut late_b, &mut late_c].into_iter().zip(seen_upto) {
        let rest = events_until(late, Instant::now() + Duration::from_millis(300)).await;
        let mut last = upto;
        for (event, at) in &rest {
            assert!(*at >= ts(event) + 5_000, "{event} came early");
            let off = event["off"].as_u64().expect("off");
            assert!(off == last + 1, "after {last} came {off}");
            last = off;
        }
        assert_eq!(
            rest.last().map(|(e, _)| e["d"]["d"]["i"].clone()),
            Some(json!(9))
        );
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
    let (_, _) = crowd_until(&mut fans[1], Duration::from_secs(3), |d| d["viewers"] == 13).await;

    // A flood: every fan tries 8 cheers at once; 5 per 10 s each pass.
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
    let flood_done = Instant::now();
    for who in [0, 1] {
        let (crowd, pushes) = crowd_until(&mut fans[who], Duration::from_secs(4), |d| {
            d["cheers"] == want
        })
        .await;
        assert_eq!(crowd["viewers"], 13);
        // One push per node tick at most: 60 cheers became a handful of pushes.
        let bound = flood_done.elapsed().as_secs() as usize + 4;
        assert!(pushes <= bound, "{pushes} crowd pushes");
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
    let played = events_until(&mut viewer, Instant::now() + Duration::from_millis(800)).await;
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
