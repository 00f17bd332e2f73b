//! Moderation across two nodes: a mute on one node stops the next message on the other at
//! once; kicks and bans remove every connection; a platform ban closes connections everywhere;
//! a block reaches the blocker's connections on every node.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_mute_on_one_node_stops_the_next_message_on_the_other() {
    let cluster = Cluster::new().await;
    let a = cluster.node("a").await;
    let b = cluster.node("b").await;
    for codec in codecs() {
        let room = format!("chan:mod-{codec:?}");
        let mut moder = cluster.moderator(&a, "mod", codec).await;
        let (mut noisy, _) = cluster.member(&b, "noisy", codec, &room).await;
        let ok = noisy
            .request("chat.send", json!({ "room": room, "text": "before" }))
            .await;
        assert_eq!(ok["ok"], true, "{ok}");
        let muted = moder
            .request(
                "mod.mute",
                json!({ "room": room, "user": "noisy", "duration": "1h" }),
            )
            .await;
        assert_eq!(muted["ok"], true, "{muted}");
        let acked = Instant::now();
        // Send until refused: the refusal must come within 100 ms of the acknowledgement.
        let mut accepted = 0;
        let refusal = loop {
            let reply = noisy
                .request(
                    "chat.send",
                    json!({ "room": room, "text": format!("after {accepted}") }),
                )
                .await;
            if reply["ok"] == false {
                break reply;
            }
            accepted += 1;
            assert!(
                acked.elapsed() < Duration::from_millis(100),
                "{codec:?}: still accepted after 100 ms"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let waited = acked.elapsed();
        assert_eq!(refusal["err"]["code"], "muted", "{codec:?}: {refusal}");
        assert!(refusal["err"]["retry_ms"].as_u64().is_some(), "{refusal}");
        assert!(
            waited < Duration::from_millis(100),
            "{codec:?}: refused after {waited:?}"
        );
        eprintln!("{codec:?}: refused {waited:?} after the ack ({accepted} accepted in between)");
        // Unmuting on B lets the message through on B and is enforced on A too.
        let unmuted = moder
            .request("mod.unmute", json!({ "room": room, "user": "noisy" }))
            .await;
        assert_eq!(unmuted["ok"], true, "{unmuted}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let reply = noisy
            .request("chat.send", json!({ "room": room, "text": "free" }))
            .await;
        assert_eq!(reply["ok"], true, "{reply}");
    }
    cluster.cleanup().await;
}

#[tokio::test]
async fn kicks_and_bans_remove_every_connection_on_every_node() {
    let cluster = Cluster::new().await;
    let a = cluster.node("a").await;
    let b = cluster.node("b").await;
    let codec = guildhall_protocol::Codec::MsgPack;
    let room = "chan:arena";
    let mut moder = cluster.moderator(&a, "mod", codec).await;
    let (mut on_a, _) = cluster.member(&a, "pest", codec, room).await;
    let (mut on_b, _) = cluster.member(&b, "pest", codec, room).await;
    let (mut bystander, _) = cluster.member(&b, "by", codec, room).await;
    let kick = moder
        .request("mod.kick", json!({ "room": room, "user": "pest" }))
        .await;
    assert_eq!(kick["ok"], true, "{kick}");
    for c in [&mut on_a, &mut on_b] {
        let kicked = c.next_event("room.kicked").await;
        assert_eq!(kicked["d"]["user"]["id"], "pest");
        let reply = c
            .request("chat.send", json!({ "room": room, "text": "still here" }))
            .await;
        assert_eq!(reply["err"]["code"], "not_member", "{reply}");
    }
    assert_eq!(bystander.next_event("room.kicked").await["d"]["ban"], false);

    // A ban from the room: both out again, and neither node lets them back in.
    for c in [&mut on_a, &mut on_b] {
        let reply = c.request("room.join", json!({ "room": room })).await;
        assert_eq!(reply["ok"], true, "{reply}");
    }
    let ban = moder
        .request("mod.ban", json!({ "room": room, "user": "pest" }))
        .await;
    assert_eq!(ban["ok"], true, "{ban}");
    for c in [&mut on_a, &mut on_b] {
        assert_eq!(c.next_event("room.kicked").await["d"]["ban"], true);
        let reply = c.request("room.join", json!({ "room": room })).await;
        assert_eq!(reply["err"]["code"], "banned", "{reply}");
    }

    // A platform ban closes the user's connections on both nodes with 4003.
    let ban = moder.request("mod.ban", json!({ "user": "pest" })).await;
    assert_eq!(ban["ok"], true, "{ban}");
    assert_eq!(on_a.expect_close().await, 4003);
    assert_eq!(on_b.expect_close().await, 4003);
    let mut again = Client::connect(&b.url(), codec).await;
    let hello = again.hello(&cluster.token("pest")).await;
    assert_eq!(hello["err"]["code"], "banned", "{hello}");

    // The audit log, read on the other node, has every action.
    let mut moder_b = cluster.moderator(&b, "mod2", codec).await;
    let audit = moder_b
        .request("mod.audit", json!({ "user": "pest" }))
        .await;
    let actions: Vec<&str> = audit["d"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["ban", "ban", "kick"], "{audit}");
    cluster.cleanup().await;
}

#[tokio::test]
async fn a_block_reaches_the_blockers_connections_on_every_node() {
    let cluster = Cluster::new().await;
    let a = cluster.node("a").await;
    let b = cluster.node("b").await;
    let codec = guildhall_protocol::Codec::Json;
    let room = "chan:town";
    let (mut bob_a, _) = cluster.member(&a, "bob", codec, room).await;
    let (mut bob_b, _) = cluster.member(&b, "bob", codec, room).await;
    let (mut alice, _) = cluster.member(&b, "alice", codec, room).await;
    let (mut carol, _) = cluster.member(&a, "carol", codec, room).await;
    let block = bob_b.request("block.add", json!({ "user": "alice" })).await;
    assert_eq!(block["ok"], true, "{block}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = alice
        .request("chat.send", json!({ "room": room, "text": "hidden" }))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    let sent = carol
        .request("chat.send", json!({ "room": room, "text": "visible" }))
        .await;
    assert_eq!(sent["ok"], true, "{sent}");
    for bob in [&mut bob_a, &mut bob_b] {
        let seen = bob.next_event("chat.msg").await;
        assert_eq!(seen["d"]["text"], "visible", "{seen}");
    }
    // Alice's DM to bob is refused on either node as a closed inbox.
    let dm = "dm:alice:bob";
    let joined = alice.request("room.join", json!({ "room": dm })).await;
    assert_eq!(joined["ok"], true, "{joined}");
    let reply = alice
        .request("chat.send", json!({ "room": dm, "text": "hi" }))
        .await;
    assert_eq!(reply["err"]["code"], "unavailable", "{reply}");
    cluster.cleanup().await;
}

#[tokio::test]
async fn guild_officers_moderate_lower_ranks_across_nodes() {
    let cluster = Cluster::new().await;
    let a = cluster.guild_node("a").await;
    let b = cluster.guild_node("b").await;
    for codec in codecs() {
        let suffix = format!("{codec:?}").to_lowercase();
        let (lead_id, off_id, mem_id) = (
            format!("lead-{suffix}"),
            format!("off-{suffix}"),
            format!("mem-{suffix}"),
        );
        credit_dna(&a, &lead_id, 5_000, &format!("fund-{lead_id}")).await;
        let mut lead = cluster.client(&a, &lead_id, codec).await;
        let created = lead
            .request(
                "guild.create",
                json!({ "name": format!("Wardens {suffix}"), "tag": if suffix == "json" { "WJS" } else { "WMP" } }),
            )
            .await;
        assert_eq!(created["ok"], true, "{created}");
        let guild = created["d"]["guild"]["id"].as_u64().expect("id");
        let room = format!("guild:{guild}");
        let (status, _) = api(
            &a,
            "POST",
            &format!("/api/guilds/{guild}/xp"),
            Some(&json!({ "source": "raid_victory", "idem": format!("r-{suffix}") })),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = api(
            &a,
            "POST",
            &format!("/api/guilds/{guild}/xp"),
            Some(&json!({ "source": "war_win", "idem": format!("w-{suffix}") })),
        )
        .await;
        assert_eq!(status, 200);
        let mut off = cluster.client(&a, &off_id, codec).await;
        let mut mem = cluster.client(&b, &mem_id, codec).await;
        for c in [&mut off, &mut mem] {
            let joined = c.request("guild.join", json!({ "guild": guild })).await;
            assert_eq!(joined["ok"], true, "{joined}");
            let entered = c.request("room.join", json!({ "room": room })).await;
            assert_eq!(entered["ok"], true, "{entered}");
        }
        for _ in 0..3 {
            let promoted = lead
                .request("guild.promote", json!({ "guild": guild, "user": off_id }))
                .await;
            assert_eq!(promoted["ok"], true, "{promoted}");
        }
        // The officer on A mutes the member on B: B refuses the member's next message.
        let muted = off
            .request(
                "mod.mute",
                json!({ "room": room, "user": mem_id, "duration": "1h" }),
            )
            .await;
        assert_eq!(muted["ok"], true, "{muted}");
        let reply = mem
            .request("chat.send", json!({ "room": room, "text": "hey" }))
            .await;
        assert_eq!(reply["err"]["code"], "muted", "{codec:?}: {reply}");
        // Not the leader, and a member moderates no one.
        let reply = off
            .request(
                "mod.mute",
                json!({ "room": room, "user": lead_id, "duration": "1h" }),
            )
            .await;
        assert_eq!(reply["err"]["code"], "forbidden", "{reply}");
        assert_eq!(
            reply["err"]["msg"], "you can only moderate members of lower rank",
            "{reply}"
        );
        let reply = mem
            .request("mod.kick", json!({ "room": room, "user": off_id }))
            .await;
        assert_eq!(
            reply["err"]["msg"], "only moderators may do this",
            "{reply}"
        );
    }
    cluster.cleanup().await;
}
