//! Guild XP and levels, perks, guild chat, runs reported by the game backend, daily logins,
//! presence in the guild room, and the scheduled rules (probation, auto-kick, transfers).

use std::time::Duration;

use serde_json::json;

use crate::guild_helpers::*;
use crate::helpers::*;

const DAY_MS: u64 = 86_400_000;

#[tokio::test]
async fn levels_perks_chat_and_runs() {
    for backend in BACKENDS {
        for codec in codecs() {
            levels_perks_chat_and_runs_on(backend, codec).await;
        }
    }
}

async fn levels_perks_chat_and_runs_on(backend: Backend, codec: guildhall_protocol::Codec) {
    let node = GuildNode::start(backend).await;
    let server = &node.server;
    let ctx = format!("{backend:?} {codec:?}");
    let mut lead = server.client("lead", codec).await;
    let guild = create_guild(server, &mut lead, "lead", "Level Climbers", "LVL").await;
    let room = format!("guild:{guild}");
    ok(&lead.request("room.join", json!({ "room": room })).await);

    // Guild chat opens at level 5.
    let msg = refused(
        &lead
            .request("chat.send", json!({ "room": room, "text": "hello?" }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "guild chat unlocks at level 5", "{ctx}");

    // A run before any perk: no bonus; 1 XP per 100 DNA.
    let run = |id: &str, dna: u64| json!({ "user": "lead", "run_id": id, "dna": dna });
    let (status, r) = server
        .api("POST", "/api/runs", Some(run("r1", 1_000)))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["dna"].as_u64(), r["bonus_pct"].as_u64()),
        (Some(1_000), Some(0)),
        "{ctx}"
    );
    let info = ok(&lead.request("guild.get", json!({ "guild": guild })).await);
    assert_eq!(info["guild"]["xp"], 10, "{ctx}");
    // The same run again is recognised and changes nothing.
    let (_, again) = server
        .api("POST", "/api/runs", Some(run("r1", 1_000)))
        .await;
    assert_eq!(again["duplicate"], true, "{ctx}");
    assert_eq!(again["balance"], 1_000, "{ctx}");

    // 10,000 (raid) + 1,000 (war win) + the 10 above: level 5 (11,000), with its perks pushed.
    award_xp(server, guild, "raid_victory").await;
    let up = lead.next_event("guild.level_up").await;
    assert_eq!(up["d"]["level"], 4, "{ctx}: 10,010 XP is level 4");
    let perks: Vec<&str> = up["d"]["perks"]
        .as_array()
        .expect("perks")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(perks, ["dna_bonus_5"], "{ctx}");
    let note = award_xp(server, guild, "war_win").await;
    assert_eq!(
        (note["level"].as_u64(), note["xp"].as_u64()),
        (Some(5), Some(11_010)),
        "{ctx}"
    );
    let up = lead.next_event("guild.level_up").await;
    assert_eq!(up["d"]["perks"], json!(["guild_chat"]), "{ctx}");
    let info = ok(&lead.request("guild.get", json!({ "guild": guild })).await);
    assert_eq!(info["guild"]["wins"], 1, "{ctx}");
    assert_eq!(
        info["guild"]["next_level_xp"], 21_000,
        "{ctx}: 5→6 costs 10,000"
    );

    // Chat now works, with the guild's own profanity setting.
    ok(&lead
        .request("chat.send", json!({ "room": room, "text": "gg all" }))
        .await);
    ok(&lead
        .request(
            "guild.edit",
            json!({ "guild": guild, "profanity": "strict" }),
        )
        .await);
    refused(
        &lead
            .request("chat.send", json!({ "room": room, "text": "well damn" }))
            .await,
        "filtered",
    );
    ok(&lead
        .request("guild.edit", json!({ "guild": guild, "profanity": "off" }))
        .await);
    ok(&lead
        .request("chat.send", json!({ "room": room, "text": "well damn" }))
        .await);

    // From level 3 a run's DNA gets +5%: 100 → 105.
    let (_, r) = server.api("POST", "/api/runs", Some(run("r2", 100))).await;
    assert_eq!(
        (r["dna"].as_u64(), r["bonus_pct"].as_u64()),
        (Some(105), Some(5)),
        "{ctx}"
    );
    assert_eq!(r["balance"], 1_105, "{ctx}");
    node.finish().await;
}

#[tokio::test]
async fn first_login_of_the_day_earns_guild_xp_once() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let codec = guildhall_protocol::Codec::Json;
        let mut lead = server.client("lead", codec).await;
        let guild = create_guild(server, &mut lead, "lead", "Early Birds", "EARLY").await;
        let xp = |d: serde_json::Value| d["guild"]["xp"].as_u64().expect("xp");
        let before = xp(ok(&lead
            .request("guild.get", json!({ "guild": guild }))
            .await));
        for _ in 0..3 {
            let c = server.client("lead", codec).await;
            c.close().await;
        }
        // Logins are counted in batches, once a second: wait for it.
        let mut after = before;
        for _ in 0..150 {
            after = xp(ok(&lead
                .request("guild.get", json!({ "guild": guild }))
                .await));
            if after > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            after,
            before + 10,
            "{backend:?}: 10 XP for the day's first login"
        );
        for _ in 0..2 {
            let c = server.client("lead", codec).await;
            c.close().await;
        }
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let later = xp(ok(&lead
            .request("guild.get", json!({ "guild": guild }))
            .await));
        assert_eq!(
            later,
            before + 10,
            "{backend:?}: later logins that day earn nothing"
        );
        node.finish().await;
    }
}

#[tokio::test]
async fn presence_in_the_guild_room() {
    let node = GuildNode::start(Backend::Sqlite).await;
    let server = &node.server;
    let codec = guildhall_protocol::Codec::Json;
    let mut lead = server.client("lead", codec).await;
    let guild = create_guild(server, &mut lead, "lead", "Present Company", "HERE").await;
    let room = format!("guild:{guild}");
    ok(&lead.request("room.join", json!({ "room": room })).await);
    let mut mem = joiner(server, "mem", codec, guild).await;
    ok(&mem.request("room.join", json!({ "room": room })).await);
    let online = next_presence(&mut lead, "mem").await;
    assert_eq!(online, "online");
    ok(&mem
        .request("guild.status", json!({ "guild": guild, "state": "in_run" }))
        .await);
    assert_eq!(next_presence(&mut lead, "mem").await, "in_run");
    let info = ok(&lead.request("guild.get", json!({ "guild": guild })).await);
    let row = info["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["id"] == "mem")
        .cloned()
        .expect("mem listed");
    assert_eq!(row["presence"], "in_run");
    refused(
        &mem.request(
            "guild.status",
            json!({ "guild": guild, "state": "offline" }),
        )
        .await,
        "invalid",
    );
    mem.close().await;
    assert_eq!(next_presence(&mut lead, "mem").await, "offline");
    node.finish().await;
}

async fn next_presence(client: &mut Client, user: &str) -> String {
    loop {
        let push = client.next_event("guild.member_presence").await;
        if push["d"]["user"]["id"] == user {
            return push["d"]["state"].as_str().unwrap_or_default().to_owned();
        }
    }
}

#[tokio::test]
async fn probation_auto_kick_and_transfers_run_on_schedule() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let codec = guildhall_protocol::Codec::Json;
        let mut lead = server.client("lead", codec).await;
        let guild = create_guild(server, &mut lead, "lead", "Probation Inc", "PROB").await;
        ok(&lead
            .request("room.join", json!({ "room": format!("guild:{guild}") }))
            .await);
        for user in ["early", "short", "vet", "idle", "safe"] {
            let _ = joiner(server, user, codec, guild).await;
        }
        let now = guildhall::clock::now_ms();
        let ago = |days: u64| now - days * DAY_MS;
        // early: 7 days and 10 points → member. short: 7 days but 9 points → stays.
        node.sql(&format!(
            "UPDATE guild_members SET joined_ms = {}, points = 10 WHERE user_id = 'early'",
            ago(7)
        ))
        .await;
        node.sql(&format!(
            "UPDATE guild_members SET joined_ms = {}, points = 9 WHERE user_id = 'short'",
            ago(8)
        ))
        .await;
        // vet: a member 30 days in with 100 points → veteran.
        node.sql(&format!(
            "UPDATE guild_members SET role = 'member', joined_ms = {}, points = 100 WHERE user_id = 'vet'",
            ago(30)
        ))
        .await;
        // Auto-kick after 14 days: idle and safe inactive for 12 days; safe is protected.
        ok(&lead
            .request(
                "guild.edit",
                json!({ "guild": guild, "auto_kick_days": 14 }),
            )
            .await);
        refused(
            &lead
                .request(
                    "guild.edit",
                    json!({ "guild": guild, "auto_kick_days": 10 }),
                )
                .await,
            "invalid",
        );
        node.sql(&format!(
            "UPDATE guild_members SET active_ms = {} WHERE user_id IN ('idle', 'safe')",
            ago(12)
        ))
        .await;
        ok(&lead
            .request(
                "guild.protect",
                json!({ "guild": guild, "user": "safe", "protected": true }),
            )
            .await);

        let (status, report) = server.api("POST", "/api/jobs/run", None).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["promoted"], 2, "{backend:?}: {report}");
        assert_eq!(report["warned"], 1, "{backend:?}: {report}");
        assert_eq!(report["kicked"], 0, "{backend:?}: no kick without notice");
        let warning = lead.next_event("guild.auto_kick_warning").await;
        assert_eq!(warning["d"]["user"]["id"], "idle", "{backend:?}");
        let kick_at = warning["d"]["kick_at"].as_u64().expect("kick_at");
        assert!(
            kick_at >= now + 2 * DAY_MS,
            "{backend:?}: 14 days of inactivity"
        );

        // Three days on (the warning backdated with the inactivity): kicked.
        node.sql(&format!(
            "UPDATE guild_members SET active_ms = {}, warned_ms = {} WHERE user_id = 'idle'",
            ago(15),
            ago(3)
        ))
        .await;
        let (_, report) = server.api("POST", "/api/jobs/run", None).await;
        assert_eq!(report["kicked"], 1, "{backend:?}: {report}");
        let kicked = lead.next_event("guild.member_kicked").await;
        assert_eq!(kicked["d"]["user"]["id"], "idle", "{backend:?}");
        assert_eq!(kicked["d"]["auto"], true, "{backend:?}");
        let members = roster(&mut lead, guild).await;
        let role = |u: &str| {
            members
                .iter()
                .find(|(id, _)| id == u)
                .map(|(_, r)| r.clone())
        };
        assert_eq!(role("early").as_deref(), Some("member"), "{backend:?}");
        assert_eq!(role("short").as_deref(), Some("recruit"), "{backend:?}");
        assert_eq!(role("vet").as_deref(), Some("veteran"), "{backend:?}");
        assert_eq!(role("idle"), None, "{backend:?}");
        assert_eq!(
            role("safe").as_deref(),
            Some("recruit"),
            "{backend:?}: protected"
        );

        // A transfer completes once its window has passed; the old leader steps down to officer.
        ok(&lead
            .request("guild.transfer", json!({ "guild": guild, "user": "vet" }))
            .await);
        let (_, report) = server.api("POST", "/api/jobs/run", None).await;
        assert_eq!(report["transfers"], 0, "{backend:?}: still in its 48 hours");
        node.sql("UPDATE guild_transfers SET effective_ms = 0")
            .await;
        let (_, report) = server.api("POST", "/api/jobs/run", None).await;
        assert_eq!(report["transfers"], 1, "{backend:?}: {report}");
        let changed = lead.next_event("guild.leader_changed").await;
        assert_eq!(changed["d"]["to"]["id"], "vet", "{backend:?}");
        let members = roster(&mut lead, guild).await;
        assert!(
            members.contains(&("vet".into(), "leader".into())),
            "{backend:?}"
        );
        assert!(
            members.contains(&("lead".into(), "officer".into())),
            "{backend:?}"
        );
        let info = ok(&lead.request("guild.get", json!({ "guild": guild })).await);
        assert_eq!(info["guild"]["leader"]["id"], "vet", "{backend:?}");
        node.finish().await;
    }
}

#[tokio::test]
async fn the_game_preset_comes_from_config() {
    // KROG clubs: tags of 2 to 6, roles named after seed 004, permission names of its own.
    let node = GuildNode::start_with(Backend::Sqlite, |c| {
        c.game.preset = "krog".into();
        c.game.overrides.insert("capacity".into(), json!(2));
    })
    .await;
    let server = &node.server;
    let codec = guildhall_protocol::Codec::MsgPack;
    let mut owner = server.client("owner", codec).await;
    server.credit("owner", "dna", 5_000).await;
    let d = ok(&owner
        .request("guild.create", json!({ "name": "Knights", "tag": "KN" }))
        .await);
    assert_eq!(d["role"], "owner");
    assert_eq!(d["guild"]["capacity"], 2, "the studio's override");
    let guild = d["guild"]["id"].as_u64().expect("id");
    let mut newbie = joiner(server, "newbie", codec, guild).await;
    let msg = refused(
        &newbie
            .request("guild.kick", json!({ "guild": guild, "user": "owner" }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission kick_members");
    let mut third = server.client("third", codec).await;
    let msg = refused(
        &third.request("guild.join", json!({ "guild": guild })).await,
        "limit_reached",
    );
    assert_eq!(msg, "the guild is full (2 members)");
    node.finish().await;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir);
    config.game.preset = "chess960".into();
    let bad = guildhall::Server::build(config).await;
    assert!(bad.is_err(), "an unknown preset is refused at startup");
}
