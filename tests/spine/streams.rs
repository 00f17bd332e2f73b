//! Spectator streams on one node: the delay, what a late joiner and a resume get, who may
//! watch (and who live), bad input, cheers summed into crowd pushes, the browse list,
//! broadcasts with annotations, spectator chat, replays and their purge, and the backend API.

use std::time::{Duration, Instant};

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::guild_helpers::*;
use crate::helpers::*;

async fn open(client: &mut Client, d: Value) -> (u64, String) {
    let info = ok(&client.request("stream.open", d).await);
    let id = info["id"].as_u64().expect("id");
    assert_eq!(info["room"], format!("stream:{id}"));
    assert_eq!(info["status"], "live");
    (id, format!("stream:{id}"))
}

async fn publish(client: &mut Client, stream: u64, kind: &str, d: Value) -> Value {
    ok(&client
        .request(
            "stream.publish",
            json!({ "stream": stream, "kind": kind, "d": d }),
        )
        .await)
}

/// The `stream.event` pushes that arrive within `wait`, with the local time each arrived.
async fn feed_events(client: &mut Client, wait: Duration) -> Vec<(Value, u64)> {
    let mut out = Vec::new();
    while let Some(push) = client.next_push_within(wait).await {
        if push["ev"] == "stream.event" {
            out.push((push, now_ms()));
        }
    }
    out
}

fn payloads(events: &[(Value, u64)]) -> Vec<Value> {
    events.iter().map(|(e, _)| e["d"]["d"].clone()).collect()
}

#[tokio::test]
async fn spectators_get_each_event_after_the_delay_and_joiners_the_state_as_of_then() {
    let server = TestServer::start().await;
    let codec = Codec::MsgPack;
    let mut owner = server.client("owner", codec).await;
    let (id, room) = open(
        &mut owner,
        json!({ "game": "snake", "title": "run", "delay_s": 1 }),
    )
    .await;
    // The owner watches live.
    let joined = ok(&owner.request("room.join", json!({ "room": room })).await);
    assert_eq!(joined["off"], 0);
    let (mut early, _) = server.member("early", codec, &room).await;

    publish(&mut owner, id, "start", json!({ "seed": 7 })).await;
    for i in 0..3 {
        publish(&mut owner, id, "move", json!({ "i": i })).await;
    }
    let live = feed_events(&mut owner, Duration::from_millis(300)).await;
    assert_eq!(live.len(), 4, "the owner sees every event at once");
    for (event, at) in &live {
        let ts = event["d"]["ts"].as_u64().expect("ts");
        assert!(at.saturating_sub(ts) < 500, "owner late: {event}");
    }

    let delayed = feed_events(&mut early, Duration::from_millis(1_500)).await;
    assert_eq!(
        payloads(&delayed),
        vec![
            json!({"seed": 7}),
            json!({"i": 0}),
            json!({"i": 1}),
            json!({"i": 2})
        ]
    );
    let offs: Vec<u64> = delayed
        .iter()
        .map(|(e, _)| e["off"].as_u64().expect("off"))
        .collect();
    assert!(offs.windows(2).all(|w| w[0] < w[1]), "in order: {offs:?}");
    for (event, at) in &delayed {
        let ts = event["d"]["ts"].as_u64().expect("ts");
        assert!(*at >= ts + 1_000, "{event} arrived {} ms after", at - ts);
        assert!(*at <= ts + 1_400, "{event} arrived {} ms after", at - ts);
    }

    // A tick replaces what came before it for joiners.
    publish(&mut owner, id, "tick", json!({ "full": 1 })).await;
    publish(&mut owner, id, "data", json!({ "sound": "ding" })).await;
    publish(&mut owner, id, "move", json!({ "i": 3 })).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // Published just now: not for a delayed joiner yet.
    let fresh = publish(&mut owner, id, "move", json!({ "i": 4 })).await;
    let mut late = server.client("late", codec).await;
    let joined_at = now_ms();
    let reply = ok(&late.request("room.join", json!({ "room": room })).await);
    let state = feed_events(&mut late, Duration::from_millis(200)).await;
    assert_eq!(
        payloads(&state),
        vec![json!({"seed": 7}), json!({"full": 1}), json!({"i": 3})],
        "start, last tick, moves since; no data, nothing newer than now - delay"
    );
    for (event, _) in &state {
        assert!(event["d"]["ts"].as_u64().expect("ts") + 1_000 <= joined_at + 50);
    }
    assert!(reply["off"].as_u64() < fresh["off"].as_u64());
    assert_eq!(reply["off"], state.last().expect("state").0["off"]);
    // Joining again answers where this spectator's feed stands, not the log's newest.
    let again = ok(&late.request("room.join", json!({ "room": room })).await);
    assert_eq!(again["off"], reply["off"]);
    // Then the rest, on time.
    let rest = feed_events(&mut late, Duration::from_millis(1_300)).await;
    assert_eq!(payloads(&rest), vec![json!({"i": 4})]);
    assert!(rest[0].1 >= fresh["ts"].as_u64().expect("ts") + 1_000);

    // A live joiner gets everything up to now.
    let mut owner2 = server.client("owner", codec).await;
    ok(&owner2.request("room.join", json!({ "room": room })).await);
    let state = feed_events(&mut owner2, Duration::from_millis(200)).await;
    assert_eq!(
        payloads(&state),
        vec![
            json!({"seed": 7}),
            json!({"full": 1}),
            json!({"i": 3}),
            json!({"i": 4})
        ]
    );

    // The end reaches everyone, delayed, and joiners after it.
    let ended = ok(&owner
        .request("stream.end", json!({ "stream": id, "d": { "score": 12 } }))
        .await);
    assert_eq!(ended["status"], "ended");
    let tail = feed_events(&mut early, Duration::from_millis(1_300)).await;
    let kinds: Vec<&str> = tail
        .iter()
        .filter_map(|(e, _)| e["d"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["tick", "data", "move", "move", "end"]);
    refused(
        &owner
            .request("stream.publish", json!({ "stream": id, "kind": "move" }))
            .await,
        "conflict",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resume_gets_exactly_what_it_missed() {
    let server = TestServer::start().await;
    let codec = Codec::Json;
    let mut owner = server.client("owner", codec).await;
    let (id, room) = open(&mut owner, json!({ "game": "chess", "delay_s": 0 })).await;
    let (mut fan, joined) = server.member("fan", codec, &room).await;
    let ep = joined["ep"].as_str().expect("ep").to_owned();
    publish(&mut owner, id, "start", json!({})).await;
    publish(&mut owner, id, "move", json!("e4")).await;
    let seen = feed_events(&mut fan, Duration::from_millis(300)).await;
    assert_eq!(seen.len(), 2);
    let last = seen[1].0["off"].as_u64().expect("off");
    fan.drop_connection();

    publish(&mut owner, id, "move", json!("e5")).await;
    publish(&mut owner, id, "move", json!("Nf3")).await;
    let mut fan = server.client("fan", codec).await;
    let reply = ok(&fan
        .request(
            "room.join",
            json!({ "room": room, "since": { "ep": ep, "off": last } }),
        )
        .await);
    assert_eq!(reply["recovered"], true);
    let missed = feed_events(&mut fan, Duration::from_millis(300)).await;
    assert_eq!(payloads(&missed), vec![json!("e5"), json!("Nf3")]);

    // From a position the stream never had: the state instead, flagged.
    let mut other = server.client("other", codec).await;
    let reply = ok(&other
        .request(
            "room.join",
            json!({ "room": room, "since": { "ep": "gone", "off": 1 } }),
        )
        .await);
    assert_eq!(reply["recovered"], false);
    let state = feed_events(&mut other, Duration::from_millis(300)).await;
    assert_eq!(
        payloads(&state),
        vec![json!({}), json!("e4"), json!("e5"), json!("Nf3")]
    );
    assert_eq!(state[0].0["d"]["kind"], "start");
    server.stop().await;
}

#[tokio::test]
async fn guild_streams_keep_outsiders_out_and_guild_mates_watch_live() {
    for backend in BACKENDS {
        guild_streams_on(backend).await;
    }
}

async fn guild_streams_on(backend: Backend) {
    let node = GuildNode::start_with(backend, |_| {}).await;
    let server = &node.server;
    let codec = Codec::Json;
    let mut lead = server.client("s_lead", codec).await;
    let guild = create_guild(server, &mut lead, "s_lead", "Stream Team", "STR").await;
    let mut mate = joiner(server, "s_mate", codec, guild).await;
    let mut outsider = server.client("s_out", codec).await;

    // Without a guild, a guild stream cannot be opened.
    refused(
        &outsider
            .request(
                "stream.open",
                json!({ "game": "snake", "visibility": "guild" }),
            )
            .await,
        "forbidden",
    );
    let (id, room) = open(
        &mut lead,
        json!({ "game": "snake", "visibility": "guild", "delay_s": 2, "guild_live": true }),
    )
    .await;
    let join = outsider.request("room.join", json!({ "room": room })).await;
    refused(&join, "forbidden");
    let chat_join = outsider
        .request("room.join", json!({ "room": format!("stream-chat:{id}") }))
        .await;
    refused(&chat_join, "forbidden");
    refused(
        &outsider
            .request("stream.get", json!({ "stream": id }))
            .await,
        "forbidden",
    );
    // A platform moderator watches, delayed.
    let mut moderator = server.moderator("s_mod", codec).await;
    ok(&moderator
        .request("room.join", json!({ "room": room }))
        .await);

    ok(&mate.request("room.join", json!({ "room": room })).await);
    let sent = publish(&mut lead, id, "start", json!({ "n": 1 })).await;
    let live = feed_events(&mut mate, Duration::from_millis(400)).await;
    assert_eq!(
        payloads(&live),
        vec![json!({ "n": 1 })],
        "guild-mate is live"
    );
    assert!(live[0].1 < sent["ts"].as_u64().expect("ts") + 1_000);
    assert!(
        feed_events(&mut moderator, Duration::from_millis(400))
            .await
            .is_empty(),
        "the moderator waits out the delay"
    );
    let later = feed_events(&mut moderator, Duration::from_millis(2_000)).await;
    assert_eq!(payloads(&later), vec![json!({ "n": 1 })]);

    // Listed to its guild, not to others.
    let mine = ok(&mate.request("stream.list", json!({})).await);
    assert!(mine["streams"]
        .as_array()
        .expect("list")
        .iter()
        .any(|s| s["id"] == id));
    let theirs = ok(&outsider.request("stream.list", json!({})).await);
    assert!(!theirs["streams"]
        .as_array()
        .expect("list")
        .iter()
        .any(|s| s["id"] == id));
    node.finish().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_code_and_changes_nothing() {
    let server = TestServer::start_with(|c| {
        c.streams.max_event_bytes = 64;
        c.streams.max_events_per_sec = 5;
    })
    .await;
    let codec = Codec::Json;
    let mut owner = server.client("owner", codec).await;
    let mut fan = server.client("fan", codec).await;
    for (d, want) in [
        (json!({ "game": "snake", "delay_s": 901 }), "invalid"),
        (json!({ "game": "" }), "invalid"),
        (
            json!({ "game": "snake", "visibility": "friends" }),
            "invalid",
        ),
        (json!({ "game": "snake", "board": 1 }), "invalid"),
        (json!({ "game": "snake", "broadcast": 999 }), "not_found"),
        (json!({ "title": "no game" }), "bad_frame"),
    ] {
        refused(&owner.request("stream.open", d).await, want);
    }
    let (id, room) = open(&mut owner, json!({ "game": "snake" })).await;
    for (d, want) in [
        (json!({ "stream": id, "kind": "win" }), "invalid"),
        (json!({ "stream": id, "kind": "end" }), "invalid"),
        (json!({ "stream": id, "kind": "annotation" }), "invalid"),
        (
            json!({ "stream": id, "kind": "move", "d": "x".repeat(100) }),
            "too_long",
        ),
        (json!({ "stream": 999_999, "kind": "move" }), "not_found"),
    ] {
        refused(&owner.request("stream.publish", d).await, want);
    }
    refused(
        &fan.request("stream.publish", json!({ "stream": id, "kind": "move" }))
            .await,
        "forbidden",
    );
    refused(
        &fan.request("stream.end", json!({ "stream": id })).await,
        "forbidden",
    );
    // Cheering takes being in the room.
    refused(
        &fan.request("stream.cheer", json!({ "stream": id, "emoji": "👏" }))
            .await,
        "not_member",
    );
    ok(&fan.request("room.join", json!({ "room": room })).await);
    refused(
        &fan.request("stream.cheer", json!({ "stream": id, "emoji": "💩" }))
            .await,
        "invalid",
    );
    // A live stream has no replay yet.
    refused(
        &fan.request("stream.replay", json!({ "stream": id })).await,
        "conflict",
    );
    refused(
        &fan.request("stream.replay", json!({ "stream": id, "speed": 0.5 }))
            .await,
        "invalid",
    );
    refused(
        &fan.request("stream.list", json!({ "sort": "loudest" }))
            .await,
        "invalid",
    );
    refused(
        &fan.request("stream.list", json!({ "limit": 0 })).await,
        "invalid",
    );
    refused(
        &fan.request("room.join", json!({ "room": "stream:123456" }))
            .await,
        "not_found",
    );
    refused(
        &fan.request(
            "stream.annotate",
            json!({ "stream": id, "ply": 1, "type": "text", "text": "hi" }),
        )
        .await,
        "forbidden",
    );
    // An arrow needs its arrow.
    refused(
        &owner
            .request(
                "stream.annotate",
                json!({ "stream": id, "ply": 1, "type": "arrow" }),
            )
            .await,
        "invalid",
    );
    // Publishing faster than the stream's rate.
    let mut limited = 0;
    for i in 0..10 {
        let r = owner
            .request(
                "stream.publish",
                json!({ "stream": id, "kind": "move", "d": i }),
            )
            .await;
        if r["ok"] == false {
            refused(&r, "rate_limited");
            limited += 1;
        }
    }
    assert_eq!(limited, 5, "5 per second pass");
    // Nothing refused reached the feed.
    let got = feed_events(&mut fan, Duration::from_millis(300)).await;
    assert_eq!(payloads(&got), (0..5).map(|i| json!(i)).collect::<Vec<_>>());
    // An end whose payload is too large is refused before the stream closes: it stays live,
    // and a proper end still works.
    refused(
        &owner
            .request("stream.end", json!({ "stream": id, "d": "x".repeat(100) }))
            .await,
        "too_long",
    );
    let info = owner.request("stream.get", json!({ "stream": id })).await;
    assert_eq!(info["d"]["status"], "live", "{info}");
    let ended = owner
        .request("stream.end", json!({ "stream": id, "d": {} }))
        .await;
    assert_eq!(ended["d"]["status"], "ended", "{ended}");
    server.stop().await;
}

#[tokio::test]
async fn cheers_and_spectators_become_one_crowd_push_per_tick_with_exact_totals() {
    let server = TestServer::start_with(|c| {
        c.streams.crowd_every_ms = 200;
        c.streams.cheers_per_10s = 3;
    })
    .await;
    let codec = Codec::MsgPack;
    let mut owner = server.client("owner", codec).await;
    let (id, room) = open(&mut owner, json!({ "game": "snake" })).await;
    ok(&owner.request("room.join", json!({ "room": room })).await);
    let mut fans = Vec::new();
    for i in 0..8 {
        let (fan, _) = server.member(&format!("fan{i}"), codec, &room).await;
        fans.push(fan);
    }
    // Every fan cheers 5 times: 3 pass each, 2 are refused.
    let mut accepted = 0;
    for fan in fans.iter_mut() {
        for k in 0..5 {
            let emoji = if k % 2 == 0 { "🔥" } else { "👏" };
            let r = fan
                .request("stream.cheer", json!({ "stream": id, "emoji": emoji }))
                .await;
            if r["ok"] == true {
                accepted += 1;
            } else {
                refused(&r, "rate_limited");
                assert_eq!(r["err"]["msg"], "at most 3 cheers per 10 s");
                // The wait is until this fan's first cheer, a moment ago, leaves the window.
                let retry = r["err"]["retry_ms"].as_u64().expect("retry_ms");
                assert!((5_000..=10_000).contains(&retry), "retry_ms {retry}");
            }
        }
    }
    assert_eq!(accepted, 24);
    // The owner gets the totals in a few pushes, not one per cheer.
    let started = Instant::now();
    let mut pushes = 0;
    let mut last = Value::Null;
    while started.elapsed() < Duration::from_millis(1_500) {
        let Some(push) = owner.next_push_within(Duration::from_millis(300)).await else {
            continue;
        };
        if push["ev"] == "stream.crowd" {
            assert!(push.get("off").is_none());
            pushes += 1;
            last = push["d"].clone();
        }
    }
    assert!(
        pushes <= 9,
        "{pushes} crowd pushes in 1.5 s at one per 200 ms"
    );
    assert_eq!(last["cheers"]["🔥"], 16, "{last}");
    assert_eq!(last["cheers"]["👏"], 8, "{last}");
    assert_eq!(last["viewers"], 9);
    assert_eq!(last["peak"], 9);

    // Leaves lower the count; the peak stays.
    for fan in fans.drain(..4) {
        fan.close().await;
    }
    let crowd = loop {
        let push = owner
            .next_event_within("stream.crowd", Duration::from_secs(3))
            .await;
        if push["d"]["viewers"] == 5 {
            break push["d"].clone();
        }
    };
    assert_eq!(crowd["peak"], 9);
    let info = ok(&owner.request("stream.get", json!({ "stream": id })).await);
    assert_eq!(info["peak"], 9);
    server.stop().await;
}

#[tokio::test]
async fn the_browse_list_features_by_viewers_filters_and_pages() {
    let server = TestServer::start_with(|c| c.streams.crowd_every_ms = 100).await;
    let codec = Codec::Json;
    let mut ids = Vec::new();
    let mut owners = Vec::new();
    for (i, game) in ["snake", "chess", "snake"].iter().enumerate() {
        let mut owner = server.client(&format!("o{i}"), codec).await;
        let (id, _) = open(
            &mut owner,
            json!({ "game": game, "title": format!("t{i}") }),
        )
        .await;
        ids.push(id);
        owners.push(owner);
    }
    let mut hidden_owner = server.client("hid", codec).await;
    let (hidden, _) = open(
        &mut hidden_owner,
        json!({ "game": "snake", "visibility": "unlisted" }),
    )
    .await;
    // Watchers: stream 1 gets 3, stream 2 gets 1, stream 0 none.
    let mut watchers = Vec::new();
    for (n, id) in [(3, ids[1]), (1, ids[2])] {
        for k in 0..n {
            let (w, _) = server
                .member(&format!("w{id}-{k}"), codec, &format!("stream:{id}"))
                .await;
            watchers.push(w);
        }
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut viewer = server.client("browser", codec).await;
    let page = ok(&viewer.request("stream.list", json!({})).await);
    let listed: Vec<u64> = page["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter_map(|s| s["id"].as_u64())
        .collect();
    assert_eq!(listed, vec![ids[1], ids[2], ids[0]], "most watched first");
    assert!(!listed.contains(&hidden), "unlisted streams are not listed");
    assert_eq!(page["streams"][0]["viewers"], 3);

    let recent = ok(&viewer
        .request("stream.list", json!({ "sort": "recent" }))
        .await);
    assert_eq!(recent["streams"][0]["id"], ids[2]);
    let snakes = ok(&viewer
        .request("stream.list", json!({ "game": "snake" }))
        .await);
    assert_eq!(snakes["streams"].as_array().expect("streams").len(), 2);
    let first = ok(&viewer.request("stream.list", json!({ "limit": 2 })).await);
    assert_eq!(first["streams"].as_array().expect("streams").len(), 2);
    let next = first["next"].as_u64().expect("a next page");
    let second = ok(&viewer
        .request("stream.list", json!({ "limit": 2, "cursor": next }))
        .await);
    assert_eq!(second["streams"][0]["id"], ids[0]);
    assert!(second.get("next").is_none());
    // Ended streams leave the list.
    ok(&owners[1]
        .request("stream.end", json!({ "stream": ids[1] }))
        .await);
    let page = ok(&viewer.request("stream.list", json!({})).await);
    assert!(!page["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .any(|s| s["id"] == ids[1]));
    server.stop().await;
}

#[tokio::test]
async fn a_broadcast_groups_boards_with_annotations_viewers_and_peak() {
    let server = TestServer::start_with(|c| c.streams.crowd_every_ms = 100).await;
    let codec = Codec::Json;
    let mut arbiter = server.client("arbiter", codec).await;
    let b = ok(&arbiter
        .request(
            "broadcast.open",
            json!({ "title": "Round 1", "description": "Open" }),
        )
        .await);
    let bid = b["id"].as_u64().expect("id");
    assert_eq!(b["status"], "live");
    let (board1, room1) = open(
        &mut arbiter,
        json!({ "game": "chess", "broadcast": bid, "board": 1 }),
    )
    .await;
    let (_board2, room2) = open(
        &mut arbiter,
        json!({ "game": "chess", "broadcast": bid, "board": 2 }),
    )
    .await;
    refused(
        &arbiter
            .request(
                "stream.open",
                json!({ "game": "chess", "broadcast": bid, "board": 1 }),
            )
            .await,
        "conflict",
    );
    let mut intruder = server.client("intruder", codec).await;
    refused(
        &intruder
            .request(
                "stream.open",
                json!({ "game": "chess", "broadcast": bid, "board": 3 }),
            )
            .await,
        "forbidden",
    );
    let (mut fan, _) = server.member("fan", codec, &room1).await;
    let (_fan2, _) = server.member("fan2", codec, &room2).await;
    let (_fan3, _) = server.member("fan3", codec, &room2).await;
    publish(&mut arbiter, board1, "start", json!({ "fen": "startpos" })).await;
    publish(
        &mut arbiter,
        board1,
        "move",
        json!({ "ply": 1, "san": "e4" }),
    )
    .await;
    ok(&arbiter
        .request(
            "stream.annotate",
            json!({ "stream": board1, "ply": 1, "type": "arrow",
                    "arrow": { "from": "e2", "to": "e4", "color": "green" } }),
        )
        .await);
    ok(&arbiter
        .request(
            "stream.annotate",
            json!({ "stream": board1, "ply": 1, "type": "text", "text": "King's pawn" }),
        )
        .await);
    let got = feed_events(&mut fan, Duration::from_millis(300)).await;
    let kinds: Vec<&str> = got
        .iter()
        .filter_map(|(e, _)| e["d"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["start", "move", "annotation", "annotation"]);
    assert_eq!(
        got[2].0["d"]["d"],
        json!({ "ply": 1, "type": "arrow", "arrow": { "from": "e2", "to": "e4", "color": "green" } })
    );
    // A late joiner gets the annotations with the moves.
    let (mut late, _) = server.member("late", codec, &room1).await;
    let state = feed_events(&mut late, Duration::from_millis(300)).await;
    assert_eq!(state.len(), 4);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let info = ok(&arbiter
        .request("broadcast.get", json!({ "broadcast": bid }))
        .await);
    assert_eq!(info["boards"].as_array().expect("boards").len(), 2);
    assert_eq!(info["boards"][0]["board"], 1);
    assert_eq!(info["viewers"], 4);
    assert_eq!(info["peak"], 4);
    late.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let info = ok(&arbiter
        .request("broadcast.get", json!({ "broadcast": bid }))
        .await);
    assert_eq!(info["viewers"], 3);
    assert_eq!(info["peak"], 4);
    refused(
        &intruder
            .request("broadcast.end", json!({ "broadcast": bid }))
            .await,
        "forbidden",
    );
    let ended = ok(&arbiter
        .request("broadcast.end", json!({ "broadcast": bid }))
        .await);
    assert_eq!(ended["status"], "ended");
    server.stop().await;
}

#[tokio::test]
async fn spectator_chat_has_its_own_rate_and_moderation() {
    let server = TestServer::start_with(|c| {
        c.streams.chat_min_gap_ms = 0;
        c.streams.chat_max_per_window = 2;
        c.chat.max_per_window = 100_000;
    })
    .await;
    let codec = Codec::Json;
    let mut owner = server.client("owner", codec).await;
    let (id, _) = open(&mut owner, json!({ "game": "snake" })).await;
    let chat = format!("stream-chat:{id}");
    let (mut fan, joined) = server.member("fan", codec, &chat).await;
    assert!(joined["history"].is_array());
    for text in ["go go", "nice turn"] {
        ok(&fan
            .request("chat.send", json!({ "room": chat, "text": text }))
            .await);
    }
    // Spectator chat's own window.
    refused(
        &fan.request("chat.send", json!({ "room": chat, "text": "third" }))
            .await,
        "rate_limited",
    );
    // The guild chat limits are not the spectators': elsewhere the same user goes on.
    let (mut lobby, _) = server.member("fan", codec, "chan:lobby").await;
    for i in 0..3 {
        ok(&lobby
            .request(
                "chat.send",
                json!({ "room": "chan:lobby", "text": format!("m{i}") }),
            )
            .await);
    }
    // A moderator mutes in the spectator chat like anywhere.
    let mut moderator = server.moderator("mod", codec).await;
    ok(&moderator
        .request("room.join", json!({ "room": chat }))
        .await);
    ok(&moderator
        .request(
            "mod.mute",
            json!({ "room": chat, "user": "fan", "duration": "1h", "reason": "spam" }),
        )
        .await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut fan2, _) = server.member("fan", codec, &chat).await;
    let send = fan2
        .request("chat.send", json!({ "room": chat, "text": "let me talk" }))
        .await;
    refused(&send, "muted");
    server.stop().await;
}

#[tokio::test]
async fn a_kept_replay_plays_back_the_same_sequence_faster_and_unkept_ones_go() {
    for backend in BACKENDS {
        replays_on(backend).await;
    }
}

async fn replays_on(backend: Backend) {
    let node = GuildNode::start_with(backend, |c| c.streams.unkept_retention_s = 0).await;
    let server = &node.server;
    let codec = Codec::MsgPack;
    let mut owner = server.client("r_owner", codec).await;
    let (kept, _) = open(&mut owner, json!({ "game": "snake" })).await;
    let (dropped, _) = open(&mut owner, json!({ "game": "snake" })).await;
    let mut sent = Vec::new();
    for (i, kind) in ["start", "move", "move", "tick", "move"].iter().enumerate() {
        let p = publish(&mut owner, kept, kind, json!({ "i": i })).await;
        sent.push((
            kind.to_string(),
            json!({ "i": i }),
            p["ts"].as_u64().expect("ts"),
        ));
        publish(&mut owner, dropped, kind, json!({ "i": i })).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before_end = now_ms();
    let ended = ok(&owner
        .request(
            "stream.end",
            json!({ "stream": kept, "keep": true, "d": { "score": 5 } }),
        )
        .await);
    let ended_at = ended["ended_at"].as_u64().expect("ended_at");
    assert!(
        (before_end..=now_ms()).contains(&ended_at),
        "ended when asked: {ended}"
    );
    assert_eq!(
        ended["replay_until"],
        ended_at + 720 * 3_600_000,
        "kept for 720 hours: {ended}"
    );
    ok(&owner
        .request("stream.end", json!({ "stream": dropped }))
        .await);

    let mut viewer = server.client("r_viewer", codec).await;
    let started = ok(&viewer
        .request("stream.replay", json!({ "stream": kept, "speed": 4.0 }))
        .await);
    assert_eq!(started["events"], 6);
    let t0 = Instant::now();
    let played = feed_events(&mut viewer, Duration::from_millis(400)).await;
    assert_eq!(played.len(), 6);
    for (i, (event, _)) in played.iter().enumerate() {
        assert_eq!(event["room"], format!("stream:{kept}"));
        assert_eq!(event["ep"], "replay");
        assert_eq!(event["off"], i as u64 + 1);
        if let Some((kind, d, ts)) = sent.get(i) {
            assert_eq!(event["d"]["kind"], kind.as_str());
            assert_eq!(event["d"]["d"], *d);
            assert_eq!(event["d"]["ts"], *ts);
        }
    }
    assert_eq!(played[5].0["d"]["kind"], "end");
    assert_eq!(played[5].0["d"]["d"], json!({ "score": 5 }));
    // ~500 ms of play at 4× is ~125 ms.
    let span = played[4].1 - played[0].1;
    let original = sent[4].2 - sent[0].2;
    assert!(
        span + 60 >= original / 4 && span <= original / 4 + 150,
        "played {span} ms of {original} ms at 4x"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));

    let (status, ran) = server.api("POST", "/api/streams/jobs/run", None).await;
    assert_eq!(status, 200, "{ran}");
    // Nothing was live; the one stream ended unkept is purged, the kept one stays.
    assert_eq!(ran, json!({ "ended": 0, "purged": 1 }));
    refused(
        &viewer
            .request("stream.replay", json!({ "stream": dropped }))
            .await,
        "not_found",
    );
    ok(&viewer
        .request("stream.replay", json!({ "stream": kept }))
        .await);
    node.finish().await;
}

/// `guildhall_stream_events_total` as /metrics shows it.
async fn stream_events_counted(server: &TestServer) -> f64 {
    let (status, metrics) = server.http_get("/metrics").await;
    assert_eq!(status, 200);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("guildhall_stream_events_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no stream events counter: {metrics}"))
}

#[tokio::test]
async fn a_game_backend_runs_a_stream_through_the_api() {
    let server = TestServer::start().await;
    let (status, info) = server
        .api(
            "POST",
            "/api/streams",
            Some(json!({ "owner": "player9", "game": "snake", "title": "server run" })),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    let id = info["id"].as_u64().expect("id");
    assert_eq!(info["owner"], "player9");
    let (mut fan, _) = server
        .member("fan", Codec::Json, &format!("stream:{id}"))
        .await;
    let before = stream_events_counted(&server).await;
    let (status, published) = server
        .api(
            "POST",
            &format!("/api/streams/{id}/events"),
            Some(json!({ "kind": "start", "d": { "level": 1 } })),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    let got = feed_events(&mut fan, Duration::from_millis(300)).await;
    assert_eq!(payloads(&got), vec![json!({ "level": 1 })]);
    // Operators see streams on /metrics: the event just published is counted (at least it:
    // under `cargo test` other tests of this process count too).
    let after = stream_events_counted(&server).await;
    assert!(
        after >= before + 1.0,
        "{before} events counted, then {after}"
    );
    let (status, bad) = server
        .api(
            "POST",
            &format!("/api/streams/{id}/events"),
            Some(json!({ "kind": "fly" })),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, listed) = server.api("GET", "/api/streams?game=snake", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["streams"][0]["id"], id);
    let (status, ended) = server
        .api(
            "POST",
            &format!("/api/streams/{id}/end"),
            Some(json!({ "keep": true })),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "ended");
    let (status, _) = server
        .api("POST", &format!("/api/streams/{id}/end"), Some(json!({})))
        .await;
    assert_eq!(status, 409);
    server.stop().await;
}

#[tokio::test]
async fn the_top_ten_war_runs_of_a_guild_keep_their_replays_for_48_hours() {
    for backend in BACKENDS {
        war_replays_on(backend).await;
    }
}

async fn war_replays_on(backend: Backend) {
    let node = GuildNode::start_with(backend, |c| {
        c.game
            .overrides
            .insert("war".into(), json!({ "schedule": { "enabled": false } }));
        c.streams.unkept_retention_s = 0;
    })
    .await;
    let server = &node.server;
    let codec = Codec::Json;
    let mut lead = server.client("w_lead", codec).await;
    let guild = create_guild(server, &mut lead, "w_lead", "Replay Keepers", "RPK").await;
    let mut members = vec![lead];
    for u in ["w_1", "w_2"] {
        members.push(joiner(server, u, codec, guild).await);
    }
    let (status, started) = server
        .api(
            "POST",
            "/api/wars/start",
            Some(json!({ "guild": guild, "benchmark": 1_000_000 })),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    // Twelve runs, each streamed: DNA 100, 200, … 1,200.
    let mut streams = Vec::new();
    for i in 0..12u64 {
        let who = (i % 3) as usize;
        let user = ["w_lead", "w_1", "w_2"][who];
        let run_id = format!("war-run-{i}");
        let client = &mut members[who];
        let (id, _) = open(client, json!({ "game": "snake", "run_id": run_id })).await;
        publish(client, id, "start", json!({ "run": i })).await;
        ok(&client.request("stream.end", json!({ "stream": id })).await);
        let (status, run) = server
            .api(
                "POST",
                "/api/runs",
                Some(json!({ "user": user, "run_id": run_id, "dna": (i + 1) * 100, "duration_ms": 60_000 })),
            )
            .await;
        assert_eq!(status, 200, "{run}");
        assert!(run["war"].is_u64(), "the run counts in the war: {run}");
        streams.push(id);
    }
    // A run outside any war, streamed and not kept.
    let (solo, _) = open(
        &mut members[0],
        json!({ "game": "snake", "run_id": "no-war" }),
    )
    .await;
    ok(&members[0]
        .request("stream.end", json!({ "stream": solo }))
        .await);

    let (status, ran) = server.api("POST", "/api/streams/jobs/run", None).await;
    assert_eq!(status, 200, "{ran}");
    // Nothing was live; runs 0 and 1 (not in the top 10) and the run outside the war go.
    assert_eq!(ran, json!({ "ended": 0, "purged": 3 }));
    let viewer = &mut members[1];
    for (i, id) in streams.iter().enumerate() {
        let info = ok(&viewer.request("stream.get", json!({ "stream": id })).await);
        let replay = viewer
            .request("stream.replay", json!({ "stream": id, "speed": 64 }))
            .await;
        if i < 2 {
            assert!(info.get("replay_until").is_none(), "run {i}: {info}");
            // Not in the top 10.
            refused(&replay, "not_found");
        } else {
            let until = info["replay_until"].as_u64().expect("kept");
            let ended = info["ended_at"].as_u64().expect("ended");
            assert_eq!(until, ended + 48 * 3_600_000, "run {i}");
            ok(&replay);
        }
    }
    let replay = viewer
        .request("stream.replay", json!({ "stream": solo }))
        .await;
    refused(&replay, "not_found");
    node.finish().await;
}

#[tokio::test]
async fn a_stream_whose_owner_went_silent_is_ended_and_its_spectators_told() {
    for backend in BACKENDS {
        idle_streams_on(backend).await;
    }
}

async fn idle_streams_on(backend: Backend) {
    let node = GuildNode::start_with(backend, |c| c.streams.idle_end_s = 1).await;
    let server = &node.server;
    let codec = Codec::Json;
    let mut owner = server.client("i_owner", codec).await;
    let (silent, room) = open(&mut owner, json!({ "game": "snake" })).await;
    let (busy, _) = open(&mut owner, json!({ "game": "snake" })).await;
    let (never, _) = open(&mut owner, json!({ "game": "snake" })).await;
    let (mut fan, _) = server.member("i_fan", codec, &room).await;
    publish(&mut owner, silent, "start", json!({})).await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        publish(&mut owner, busy, "move", json!({})).await;
    }
    let (status, ran) = server.api("POST", "/api/streams/jobs/run", None).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(
        ran["ended"], 2,
        "the silent one and the one that never published"
    );
    let events = feed_events(&mut fan, Duration::from_millis(300)).await;
    let last = &events.last().expect("events").0["d"];
    assert_eq!(last["kind"], "end");
    assert_eq!(last["d"], json!({ "reason": "idle" }));
    for (id, want) in [(silent, "ended"), (never, "ended"), (busy, "live")] {
        let info = ok(&owner.request("stream.get", json!({ "stream": id })).await);
        assert_eq!(info["status"], want, "stream {id}");
    }
    // Once ended, nothing more is published to it.
    refused(
        &owner
            .request(
                "stream.publish",
                json!({ "stream": silent, "kind": "move" }),
            )
            .await,
        "conflict",
    );
    node.finish().await;
}
