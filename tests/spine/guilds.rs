//! The guild lifecycle over real sockets, in both codecs, on SQLite and on PostgreSQL: create,
//! join, roles and ranks, applications, invites, edits, transfer, leave, kick, disband.

use serde_json::json;

use crate::guild_helpers::*;
use crate::helpers::*;

#[tokio::test]
async fn lifecycle_on_both_stores_in_both_codecs() {
    for backend in BACKENDS {
        for codec in codecs() {
            lifecycle(backend, codec).await;
        }
    }
}

async fn lifecycle(backend: Backend, codec: guildhall_protocol::Codec) {
    let node = GuildNode::start(backend).await;
    let server = &node.server;
    let ctx = format!("{backend:?} {codec:?}");

    // Creating costs 5,000 DNA, taken in the same step as the guild is made.
    let mut alice = server.client("alice", codec).await;
    server.credit("alice", "dna", 6_000).await;
    let created = ok(&alice
        .request(
            "guild.create",
            json!({ "name": "CYBER Lords", "tag": "CLRD", "description": "Competitive CYBER guild." }),
        )
        .await);
    assert_eq!(created["role"], "leader", "{ctx}");
    assert_eq!(created["guild"]["members"], 1, "{ctx}");
    assert_eq!(created["guild"]["capacity"], 50, "{ctx}");
    assert_eq!(created["guild"]["level"], 1, "{ctx}");
    let guild = created["guild"]["id"].as_u64().expect("id");
    assert_eq!(wallet_dna(&mut alice).await, 1_000, "{ctx}");
    let room = format!("guild:{guild}");
    ok(&alice.request("room.join", json!({ "room": room })).await);

    // Without the price nothing is created and the wallet stays at zero, never below.
    let mut bob = server.client("bob", codec).await;
    let msg = refused(
        &bob.request("guild.create", json!({ "name": "Broke", "tag": "BRK" }))
            .await,
        "insufficient_funds",
    );
    assert!(msg.contains("dna"), "{ctx}: {msg}");
    assert_eq!(wallet_dna(&mut bob).await, 0, "{ctx}");
    // A taken name (in any case) is refused and the price is not taken.
    let mut carol = server.client("carol", codec).await;
    server.credit("carol", "dna", 5_000).await;
    refused(
        &carol
            .request(
                "guild.create",
                json!({ "name": "cyber LORDS", "tag": "NEW" }),
            )
            .await,
        "conflict",
    );
    refused(
        &carol
            .request("guild.create", json!({ "name": "Other", "tag": "CLRD" }))
            .await,
        "conflict",
    );
    refused(
        &carol
            .request("guild.create", json!({ "name": "Other", "tag": "lower" }))
            .await,
        "invalid",
    );
    assert_eq!(
        wallet_dna(&mut carol).await,
        5_000,
        "{ctx}: nothing half-applied"
    );

    // Joining an open guild: a recruit, announced in the room.
    let joined = ok(&bob.request("guild.join", json!({ "guild": guild })).await);
    assert_eq!(joined["role"], "recruit", "{ctx}");
    let push = alice.next_event("guild.member_joined").await;
    assert_eq!(push["d"]["user"]["id"], "bob", "{ctx}");
    assert_eq!(push["room"], room.as_str(), "{ctx}");
    refused(
        &bob.request("guild.join", json!({ "guild": guild })).await,
        "conflict",
    );

    // Permissions are checked on the server and named when missing.
    let msg = refused(
        &bob.request("guild.kick", json!({ "guild": guild, "user": "alice" }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission kick", "{ctx}");

    // recruit → member → veteran → officer; the leader role only moves by transfer.
    let roles: Vec<String> = {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let d = ok(&alice
                .request("guild.promote", json!({ "guild": guild, "user": "bob" }))
                .await);
            seen.push(d["role"].as_str().unwrap_or_default().to_owned());
        }
        seen
    };
    assert_eq!(roles, ["member", "veteran", "officer"], "{ctx}");
    let promoted = alice.next_event("guild.member_promoted").await;
    assert_eq!(promoted["d"]["by"]["id"], "alice", "{ctx}");
    refused(
        &alice
            .request("guild.promote", json!({ "guild": guild, "user": "bob" }))
            .await,
        "invalid",
    );

    // An officer edits the guild message but not the profile.
    ok(&bob
        .request(
            "guild.edit",
            json!({ "guild": guild, "message": "War tonight" }),
        )
        .await);
    let profile = alice.next_event("guild.profile").await;
    assert_eq!(profile["d"]["guild"]["message"], "War tonight", "{ctx}");
    let msg = refused(
        &bob.request(
            "guild.edit",
            json!({ "guild": guild, "message": "x", "description": "hijacked" }),
        )
        .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission edit_profile", "{ctx}");
    let info = ok(&alice.request("guild.get", json!({ "guild": guild })).await);
    assert_eq!(
        info["guild"]["message"], "War tonight",
        "{ctx}: the refused edit changed nothing"
    );
    assert_eq!(
        info["guild"]["description"], "Competitive CYBER guild.",
        "{ctx}"
    );

    // Invites: an officer invites, the invitee sees it and accepts.
    ok(&bob
        .request("guild.invite", json!({ "guild": guild, "user": "dave" }))
        .await);
    refused(
        &bob.request("guild.invite", json!({ "guild": guild, "user": "dave" }))
            .await,
        "conflict",
    );
    let mut dave = server.client("dave", codec).await;
    let invites = ok(&dave.request("guild.invites", json!({})).await);
    assert_eq!(invites["invites"][0]["guild"], guild, "{ctx}");
    assert_eq!(invites["invites"][0]["by"]["id"], "bob", "{ctx}");
    let accepted = ok(&dave
        .request("guild.accept", json!({ "guild": guild }))
        .await);
    assert_eq!(accepted["role"], "recruit", "{ctx}");

    // Approval: applications are reviewed by an officer.
    ok(&alice
        .request(
            "guild.edit",
            json!({ "guild": guild, "join_policy": "approval" }),
        )
        .await);
    let mut erin = server.client("erin", codec).await;
    refused(
        &erin.request("guild.join", json!({ "guild": guild })).await,
        "forbidden",
    );
    ok(&erin
        .request(
            "guild.apply",
            json!({ "guild": guild, "note": "daily player" }),
        )
        .await);
    let apps = ok(&bob
        .request("guild.applications", json!({ "guild": guild }))
        .await);
    assert_eq!(apps["applications"][0]["user"]["id"], "erin", "{ctx}");
    assert_eq!(apps["applications"][0]["note"], "daily player", "{ctx}");
    refused(
        &dave
            .request("guild.applications", json!({ "guild": guild }))
            .await,
        "forbidden",
    );
    ok(&bob
        .request(
            "guild.review",
            json!({ "guild": guild, "user": "erin", "accept": true }),
        )
        .await);
    promote(&mut alice, guild, "erin", 2).await; // veteran

    // Nobody acts on an equal or higher rank; officers kick recruits and members only.
    let msg = refused(
        &bob.request("guild.kick", json!({ "guild": guild, "user": "erin" }))
            .await,
        "forbidden",
    );
    assert!(msg.contains("lower rank"), "{ctx}: {msg}");
    refused(
        &bob.request("guild.demote", json!({ "guild": guild, "user": "alice" }))
            .await,
        "forbidden",
    );
    ok(&bob
        .request("guild.kick", json!({ "guild": guild, "user": "dave" }))
        .await);
    let kicked = alice.next_event("guild.member_kicked").await;
    assert_eq!(kicked["d"]["user"]["id"], "dave", "{ctx}");
    assert_eq!(kicked["d"]["by"]["id"], "bob", "{ctx}");
    refused(
        &dave.request("room.join", json!({ "room": room })).await,
        "forbidden",
    );
    refused(
        &dave.request("chat.history", json!({ "room": room })).await,
        "forbidden",
    );
    let members = roster(&mut alice, guild).await;
    assert_eq!(
        members,
        [
            ("alice".to_owned(), "leader".to_owned()),
            ("bob".to_owned(), "officer".to_owned()),
            ("erin".to_owned(), "veteran".to_owned()),
        ],
        "{ctx}"
    );

    // Demotion moves one rank down.
    let d = ok(&alice
        .request("guild.demote", json!({ "guild": guild, "user": "erin" }))
        .await);
    assert_eq!(d["role"], "member", "{ctx}");

    // Leadership transfer waits 48 hours and can be cancelled in it.
    let pending = ok(&alice
        .request("guild.transfer", json!({ "guild": guild, "user": "bob" }))
        .await);
    let window =
        pending["effective_at"].as_u64().expect("effective_at") - guildhall::clock::now_ms();
    assert!(
        (47 * 3_600_000..=48 * 3_600_000).contains(&window),
        "{ctx}: {window}"
    );
    refused(
        &alice
            .request("guild.transfer", json!({ "guild": guild, "user": "erin" }))
            .await,
        "conflict",
    );
    ok(&alice
        .request("guild.transfer_cancel", json!({ "guild": guild }))
        .await);
    alice.next_event("guild.transfer_cancelled").await;
    refused(
        &alice
            .request("guild.transfer_cancel", json!({ "guild": guild }))
            .await,
        "not_found",
    );

    // The leader cannot leave; others can.
    refused(
        &alice
            .request("guild.leave", json!({ "guild": guild }))
            .await,
        "forbidden",
    );
    ok(&erin.request("guild.leave", json!({ "guild": guild })).await);
    let left = alice.next_event("guild.member_left").await;
    assert_eq!(left["d"]["user"]["id"], "erin", "{ctx}");

    // Disbanding is the leader's: the room hears it and empties.
    let msg = refused(
        &bob.request("guild.disband", json!({ "guild": guild }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission disband", "{ctx}");
    ok(&alice
        .request("guild.disband", json!({ "guild": guild }))
        .await);
    alice.next_event("guild.disbanded").await;
    refused(
        &alice
            .request("chat.send", json!({ "room": room, "text": "anyone?" }))
            .await,
        "not_member",
    );
    refused(
        &alice.request("guild.get", json!({ "guild": guild })).await,
        "not_found",
    );
    // Free to found another now.
    server.credit("alice", "dna", 5_000).await;
    ok(&alice
        .request(
            "guild.create",
            json!({ "name": "CYBER Lords", "tag": "CLRD" }),
        )
        .await);
    node.finish().await;
}

#[tokio::test]
async fn search_filters_and_sorts() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let codec = guildhall_protocol::Codec::Json;
        let specs = [
            ("a1", "Snake Pit", "PIT", "en", "na", "competitive"),
            ("a2", "Serpent Club", "SRP", "fr", "eu", "casual"),
            ("a3", "Pit Vipers", "VPR", "en", "eu", "none"),
        ];
        let mut ids = Vec::new();
        for (user, name, tag, lang, region, focus) in specs {
            let mut leader = server.client(user, codec).await;
            server.credit(user, "dna", 5_000).await;
            let d = ok(&leader
                .request(
                    "guild.create",
                    json!({ "name": name, "tag": tag, "language": lang, "region": region, "war_focus": focus }),
                )
                .await);
            ids.push(d["guild"]["id"].as_u64().expect("id"));
        }
        // Members: Serpent Club 3, Pit Vipers 2, Snake Pit 1.
        for (i, user) in ["m1", "m2"].iter().enumerate() {
            let _ = joiner(server, user, codec, ids[1]).await;
            if i == 0 {
                let _ = joiner(server, "m3", codec, ids[2]).await;
            }
        }
        award_xp(server, ids[2], "raid_victory").await; // Pit Vipers: level 5
        award_xp(server, ids[0], "war_win").await; // Snake Pit: 1 win
        award_xp(server, ids[2], "war_loss").await;

        let mut c = server.client("searcher", codec).await;
        let names = |d: &serde_json::Value| -> Vec<String> {
            d["guilds"]
                .as_array()
                .expect("guilds")
                .iter()
                .map(|g| g["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let by_members = ok(&c.request("guild.search", json!({})).await);
        assert_eq!(
            names(&by_members),
            ["Serpent Club", "Pit Vipers", "Snake Pit"],
            "{backend:?}"
        );
        let by_level = ok(&c.request("guild.search", json!({ "sort": "level" })).await);
        assert_eq!(names(&by_level)[0], "Pit Vipers", "{backend:?}");
        let by_rate = ok(&c
            .request("guild.search", json!({ "sort": "win_rate" }))
            .await);
        assert_eq!(names(&by_rate)[0], "Snake Pit", "{backend:?}");
        assert_eq!(by_rate["guilds"][0]["win_rate"], 1.0, "{backend:?}");
        let text = ok(&c.request("guild.search", json!({ "q": "pit" })).await);
        assert_eq!(
            names(&text),
            ["Pit Vipers", "Snake Pit"],
            "{backend:?}: name or tag, any case"
        );
        let tag = ok(&c.request("guild.search", json!({ "q": "srp" })).await);
        assert_eq!(names(&tag), ["Serpent Club"], "{backend:?}");
        let en = ok(&c
            .request("guild.search", json!({ "language": "en", "region": "eu" }))
            .await);
        assert_eq!(names(&en), ["Pit Vipers"], "{backend:?}");
        let comp = ok(&c
            .request("guild.search", json!({ "war_focus": "competitive" }))
            .await);
        assert_eq!(names(&comp), ["Snake Pit"], "{backend:?}");
        let casual = ok(&c
            .request("guild.search", json!({ "activity": "casual", "limit": 1 }))
            .await);
        assert_eq!(names(&casual).len(), 1, "{backend:?}");
        let open = ok(&c
            .request("guild.search", json!({ "open_slots": true }))
            .await);
        assert_eq!(names(&open).len(), 3, "{backend:?}");
        let escaped = ok(&c.request("guild.search", json!({ "q": "%" })).await);
        assert!(names(&escaped).is_empty(), "{backend:?}: % is literal");
        refused(
            &c.request("guild.search", json!({ "sort": "vibes" })).await,
            "invalid",
        );
        refused(
            &c.request("guild.search", json!({ "activity": "frantic" }))
                .await,
            "invalid",
        );
        node.finish().await;
    }
}
