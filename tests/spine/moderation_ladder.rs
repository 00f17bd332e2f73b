//! The penalty ladder, reports and their queue, appeals, guild officers as moderators, and a
//! guild's accountability.

use serde_json::json;

use crate::guild_helpers::*;
use crate::helpers::*;

const DAY_MS: u64 = 86_400_000;

#[tokio::test]
async fn the_ladder_climbs_and_expires() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let codec = guildhall_protocol::Codec::Json;
        let room = "chan:lobby";
        let mut moder = server.moderator("mod", codec).await;
        let (mut bob, _) = server.member("bob", codec, room).await;
        let penalize =
            |category: &str| json!({ "user": "bob", "category": category, "reason": "abuse" });

        // 1: a warning, nothing stops.
        let p = ok(&moder.request("mod.penalize", penalize("spam")).await);
        assert_eq!(
            (p["step"].as_u64(), p["kind"].as_str()),
            (Some(1), Some("warning")),
            "{backend:?}"
        );
        assert!(p.get("ends").is_none(), "{backend:?}");
        ok(&bob
            .request("chat.send", json!({ "room": room, "text": "ok" }))
            .await);
        // 2: a 24-hour chat ban, in force at once.
        let p = ok(&moder.request("mod.penalize", penalize("spam")).await);
        assert_eq!(
            (p["step"].as_u64(), p["kind"].as_str()),
            (Some(2), Some("chat_ban")),
            "{backend:?}"
        );
        let ends = p["ends"].as_u64().expect("ends") - p["starts"].as_u64().expect("starts");
        assert_eq!(ends, DAY_MS, "{backend:?}");
        let reply = bob
            .request("chat.send", json!({ "room": room, "text": "hm" }))
            .await;
        refused(&reply, "muted");
        assert!(reply["err"]["retry_ms"].as_u64().expect("retry") > DAY_MS - 60_000);
        // Expiry is automatic: with the ban's end moved into the past, bob speaks again.
        node.sql("UPDATE penalties SET ends_ms = 1 WHERE kind <> 'warning'")
            .await;
        let (status, _) = server.api("POST", "/api/jobs/run", None).await;
        assert_eq!(status, 200);
        ok(&bob
            .request("chat.send", json!({ "room": room, "text": "free" }))
            .await);
        // 3 and 4: 7 and 30 days of chat and trade ban.
        for (step, days) in [(3, 7), (4, 30)] {
            let p = ok(&moder.request("mod.penalize", penalize("spam")).await);
            assert_eq!(p["step"], step, "{backend:?}");
            assert_eq!(p["kind"], "chat_trade_ban", "{backend:?}");
            let len = p["ends"].as_u64().expect("ends") - p["starts"].as_u64().expect("starts");
            assert_eq!(len, days * DAY_MS, "{backend:?}");
        }
        // The penalised user may appeal; moderators see it.
        let list = ok(&bob.request("mod.penalties", json!({ "user": "bob" })).await);
        let newest = list["penalties"][0]["id"].as_u64().expect("id");
        ok(&bob
            .request(
                "penalty.appeal",
                json!({ "penalty": newest, "note": "it was a joke" }),
            )
            .await);
        refused(
            &bob.request(
                "penalty.appeal",
                json!({ "penalty": newest, "note": "again" }),
            )
            .await,
            "not_found",
        );
        let list = ok(&moder
            .request("mod.penalties", json!({ "user": "bob" }))
            .await);
        assert_eq!(
            list["penalties"][0]["appeal"], "it was a joke",
            "{backend:?}"
        );
        assert_eq!(list["penalties"].as_array().map(Vec::len), Some(4));
        refused(
            &bob.request("mod.penalties", json!({ "user": "mod" })).await,
            "forbidden",
        );
        // 5: permanent; every connection closes and hello is refused.
        let p = ok(&moder.request("mod.penalize", penalize("spam")).await);
        assert_eq!(
            (p["step"].as_u64(), p["kind"].as_str()),
            (Some(5), Some("ban")),
            "{backend:?}"
        );
        assert!(p.get("ends").is_none(), "{backend:?}");
        assert_eq!(bob.expect_close().await, 4003, "{backend:?}");
        let mut again = Client::connect(&server.url(), codec).await;
        refused(&again.hello(&server.token("bob")).await, "banned");

        // Severe categories start higher: hate speech at 7 days, threats at 30.
        let p = ok(&moder
            .request(
                "mod.penalize",
                json!({ "user": "hater", "category": "hate_speech" }),
            )
            .await);
        assert_eq!(p["step"], 3, "{backend:?}");
        let p = ok(&moder
            .request(
                "mod.penalize",
                json!({ "user": "threat", "category": "threats" }),
            )
            .await);
        assert_eq!(p["step"], 4, "{backend:?}");
        node.finish().await;
    }
}

#[tokio::test]
async fn reports_queue_with_context_and_priority() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let codec = guildhall_protocol::Codec::MsgPack;
        let room = "chan:arena";
        let (mut rude, _) = server.member("rude", codec, room).await;
        let (mut victim, _) = server.member("victim", codec, room).await;
        let mut ids = Vec::new();
        for i in 0..25 {
            let who = if i % 2 == 0 { &mut rude } else { &mut victim };
            ok(&who
                .request(
                    "chat.send",
                    json!({ "room": room, "text": format!("line {i}") }),
                )
                .await);
        }
        let history = ok(&victim
            .request("chat.history", json!({ "room": room, "limit": 100 }))
            .await);
        for m in history["msgs"].as_array().expect("msgs") {
            ids.push((m["id"].as_u64().expect("id"), m["from"]["id"].clone()));
        }
        // Report rude's 13th line (index 12): 12 lines before it, 12 after.
        let (reported, author) = ids[12].clone();
        assert_eq!(author, "rude");
        let created = ok(&victim
            .request(
                "report.create",
                json!({ "user": "rude", "category": "harassment", "text": "insults", "room": room, "message": reported }),
            )
            .await);
        let first = created["id"].as_u64().expect("id");
        refused(
            &victim
                .request(
                    "report.create",
                    json!({ "user": "rude", "category": "harassment", "text": "x", "room": room, "message": ids[1].0 }),
                )
                .await,
            "invalid",
        );
        refused(
            &victim
                .request(
                    "report.create",
                    json!({ "user": "rude", "category": "rudeness", "text": "x" }),
                )
                .await,
            "invalid",
        );
        let mut moder = server.moderator("mod", codec).await;
        let queue = ok(&moder.request("mod.reports", json!({})).await);
        let report = &queue["reports"][0];
        assert_eq!(report["priority"], "low", "{backend:?}");
        assert_eq!(report["status"], "pending", "{backend:?}");
        let context = report["context"].as_array().expect("context");
        assert_eq!(
            context.len(),
            25,
            "{backend:?}: up to 20 each side, all there are"
        );
        assert!(context.iter().any(|m| m["id"] == reported), "{backend:?}");
        // Deleting the message does not take it from the report.
        ok(&moder
            .request("mod.delete", json!({ "room": room, "id": reported }))
            .await);
        let queue = ok(&moder.request("mod.reports", json!({})).await);
        assert_eq!(
            queue["reports"][0]["context"].as_array().map(Vec::len),
            Some(25)
        );

        // A second report raises both; a threat is critical at once.
        let mut other = server.client("other", codec).await;
        ok(&other
            .request(
                "report.create",
                json!({ "user": "rude", "category": "spam", "text": "again" }),
            )
            .await);
        ok(&other
            .request(
                "report.create",
                json!({ "user": "menace", "category": "threats", "text": "said he would find me" }),
            )
            .await);
        let queue = ok(&moder.request("mod.reports", json!({})).await);
        let rows: Vec<(String, String)> = queue["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|r| {
                (
                    r["user"].as_str().unwrap_or_default().to_owned(),
                    r["priority"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("menace".to_owned(), "critical".to_owned()),
                ("rude".to_owned(), "medium".to_owned()),
                ("rude".to_owned(), "medium".to_owned()),
            ],
            "{backend:?}"
        );

        // Claim once; resolve with a penalty; a closed report stays closed.
        let claimed = ok(&moder.request("mod.claim", json!({ "report": first })).await);
        assert_eq!(claimed["status"], "reviewing");
        assert_eq!(claimed["claimed_by"], "mod");
        refused(
            &moder.request("mod.claim", json!({ "report": first })).await,
            "conflict",
        );
        let resolved = ok(&moder
            .request(
                "mod.resolve",
                json!({ "report": first, "action": "penalize", "note": "warned" }),
            )
            .await);
        assert_eq!(resolved["status"], "resolved");
        refused(
            &moder
                .request(
                    "mod.resolve",
                    json!({ "report": first, "action": "dismiss" }),
                )
                .await,
            "conflict",
        );
        let penalties = ok(&moder
            .request("mod.penalties", json!({ "user": "rude" }))
            .await);
        assert_eq!(penalties["penalties"][0]["report"], first, "{backend:?}");
        assert_eq!(penalties["penalties"][0]["kind"], "warning", "{backend:?}");
        refused(&victim.request("mod.reports", json!({})).await, "forbidden");
        node.finish().await;
    }
}

#[tokio::test]
async fn guild_officers_moderate_their_room_on_lower_ranks_only() {
    let node = GuildNode::start(Backend::Sqlite).await;
    let server = &node.server;
    let codec = guildhall_protocol::Codec::Json;
    let mut lead = server.client("lead", codec).await;
    let guild = create_guild(server, &mut lead, "lead", "Mod Squad", "MODS").await;
    let room = format!("guild:{guild}");
    let mut off = joiner(server, "off", codec, guild).await;
    promote(&mut lead, guild, "off", 3).await; // officer
    let mut mem = joiner(server, "mem", codec, guild).await;
    let mute = |user: &str| json!({ "room": room, "user": user, "duration": "1h" });
    ok(&off.request("mod.mute", mute("mem")).await);
    let msg = refused(&off.request("mod.mute", mute("lead")).await, "forbidden");
    assert_eq!(msg, "you can only moderate members of lower rank");
    let msg = refused(&mem.request("mod.mute", mute("off")).await, "forbidden");
    assert_eq!(msg, "only moderators may do this");
    // Not in another room, and not platform-wide.
    refused(
        &off.request(
            "mod.mute",
            json!({ "room": "chan:lobby", "user": "mem", "duration": "1h" }),
        )
        .await,
        "forbidden",
    );
    refused(
        &off.request("mod.ban", json!({ "room": room, "user": "mem" }))
            .await,
        "forbidden",
    );
    // The muted member's guild chat is refused (the guild needs level 5 to chat at all).
    award_xp(server, guild, "raid_victory").await;
    award_xp(server, guild, "war_win").await;
    ok(&mem.request("room.join", json!({ "room": room })).await);
    refused(
        &mem.request("chat.send", json!({ "room": room, "text": "hey" }))
            .await,
        "muted",
    );
    ok(&off.request("room.join", json!({ "room": room })).await);
    ok(&off
        .request("chat.send", json!({ "room": room, "text": "behave" }))
        .await);
    node.finish().await;
}

#[tokio::test]
async fn guild_accountability_counts_banned_members() {
    let node = GuildNode::start(Backend::Sqlite).await;
    let server = &node.server;
    let codec = guildhall_protocol::Codec::Json;
    let mut lead = server.client("lead", codec).await;
    let guild = create_guild(server, &mut lead, "lead", "Rowdy Bunch", "ROWDY").await;
    let mut moder = server.moderator("mod", codec).await;
    let standing = |body: &serde_json::Value| body["accountability"].clone();
    for i in 0..6 {
        let user = format!("m{i}");
        let _ = joiner(server, &user, codec, guild).await;
        // A warning does not count; a chat ban does.
        ok(&moder
            .request("mod.penalize", json!({ "user": user, "category": "spam" }))
            .await);
        let (_, body) = server
            .api("GET", &format!("/api/guilds/{guild}"), None)
            .await;
        assert_eq!(standing(&body)["banned_30d"], i, "warnings only so far");
        if i < 5 {
            ok(&moder
                .request("mod.penalize", json!({ "user": user, "category": "spam" }))
                .await);
        }
    }
    let (status, body) = server
        .api("GET", &format!("/api/guilds/{guild}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        standing(&body),
        json!({ "banned_30d": 5, "standing": "warning" }),
        "5 members banned in 30 days flag the guild"
    );
    node.finish().await;
}
