//! Guilds across nodes: the checks made under the guild's lock (officer limit, capacity, the
//! wallet and the vault) hold whichever node each competing request comes to; a kick removes
//! the member's connections from the guild room on every node; a due leadership transfer takes
//! effect once, from whichever node runs the jobs.

use std::time::Duration;

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::helpers::{api, codecs, credit_dna, Client, Cluster, Node};

/// What creating a guild costs (SupaSnake preset).
const CREATE_COST: u64 = 5_000;

/// The reply's data, after checking that the op succeeded.
fn ok(reply: &Value, what: &str) -> Value {
    assert_eq!(reply["ok"], true, "{what}: {reply}");
    reply["d"].clone()
}

/// The error code of a refused op.
fn code(reply: &Value) -> &str {
    assert_eq!(reply["ok"], false, "expected a refusal: {reply}");
    reply["err"]["code"].as_str().unwrap_or_default()
}

fn codec_of(i: usize) -> Codec {
    codecs()[i % 2]
}

/// Funds `leader` and has them create a guild on `node`; their client and the guild id.
async fn create_guild(cluster: &Cluster, node: &Node, leader: &str, codec: Codec) -> (Client, u64) {
    credit_dna(node, leader, CREATE_COST, &format!("fund-{leader}")).await;
    let mut client = cluster.client(node, leader, codec).await;
    let reply = client
        .request(
            "guild.create",
            json!({ "name": "Night Shift", "tag": "NIGHT" }),
        )
        .await;
    let d = ok(&reply, "guild.create");
    assert_eq!(d["role"], "leader");
    let id = d["guild"]["id"].as_u64().expect("guild id");
    (client, id)
}

/// A user connected to `node` who joined the guild (as a recruit).
async fn joiner(cluster: &Cluster, node: &Node, user: &str, codec: Codec, guild: u64) -> Client {
    let mut client = cluster.client(node, user, codec).await;
    let reply = client
        .request("guild.join", json!({ "guild": guild }))
        .await;
    let d = ok(&reply, &format!("{user} joins"));
    assert_eq!(d["role"], "recruit");
    client
}

/// Promotes `user` `times` ranks up; the role reached.
async fn promote(leader: &mut Client, guild: u64, user: &str, times: usize) -> String {
    let mut role = String::new();
    for _ in 0..times {
        let reply = leader
            .request("guild.promote", json!({ "guild": guild, "user": user }))
            .await;
        let d = ok(&reply, &format!("promote {user}"));
        assert_eq!(d["user"], user);
        role = d["role"].as_str().expect("role").to_owned();
    }
    role
}

/// `guild.get`'s data.
async fn guild_get(client: &mut Client, guild: u64) -> Value {
    let reply = client.request("guild.get", json!({ "guild": guild })).await;
    ok(&reply, "guild.get")
}

/// The roster's users holding `role`, sorted.
fn holding(info: &Value, role: &str) -> Vec<String> {
    let mut users: Vec<String> = info["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["role"] == role)
        .map(|m| m["user"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    users.sort();
    users
}

fn role_of(info: &Value, user: &str) -> String {
    info["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user"]["id"] == user)
        .and_then(|m| m["role"].as_str())
        .unwrap_or("<not a member>")
        .to_owned()
}

async fn join_room(client: &mut Client, guild: u64) {
    let reply = client
        .request("room.join", json!({ "room": format!("guild:{guild}") }))
        .await;
    ok(&reply, "join the guild room");
}

/// Whether an event of this name arrives within `wait` (other pushes are skipped).
async fn sees(client: &mut Client, ev: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let push = client.next_push_within(left).await?;
        if push["ev"] == ev {
            return Some(push);
        }
    }
}

#[tokio::test]
async fn sixth_officer_race_across_nodes() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.guild_node("a").await, cluster.guild_node("b").await);
    let (mut lead_a, guild) = create_guild(&cluster, &a, "boss", Codec::Json).await;
    let mut lead_b = cluster.client(&b, "boss", Codec::MsgPack).await;
    let nodes = [&a, &b];
    for i in 0..4 {
        let user = format!("off{i}");
        joiner(&cluster, nodes[i % 2], &user, codec_of(i), guild).await;
        // recruit → member → veteran → officer
        assert_eq!(promote(&mut lead_a, guild, &user, 3).await, "officer");
    }
    let vets = ["vet0", "vet1"];
    for (i, user) in vets.iter().enumerate() {
        joiner(&cluster, nodes[i], user, codec_of(i + 1), guild).await;
        assert_eq!(promote(&mut lead_b, guild, user, 2).await, "veteran");
    }
    assert_eq!(
        holding(&guild_get(&mut lead_a, guild).await, "officer").len(),
        4
    );

    for round in 0..3 {
        // Alternate who is promoted through which node.
        let (on_a, on_b) = if round % 2 == 0 {
            (vets[0], vets[1])
        } else {
            (vets[1], vets[0])
        };
        let (ra, rb) = tokio::join!(
            lead_a.request("guild.promote", json!({ "guild": guild, "user": on_a })),
            lead_b.request("guild.promote", json!({ "guild": guild, "user": on_b })),
        );
        let outcomes = [(on_a, &ra), (on_b, &rb)];
        let winners: Vec<&str> = outcomes
            .iter()
            .filter(|(_, r)| r["ok"] == true)
            .map(|(u, _)| *u)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one promotion to the fifth officer place: {ra} / {rb}"
        );
        let winner = winners[0];
        for (user, reply) in outcomes {
            if user == winner {
                assert_eq!(reply["d"]["role"], "officer", "round {round}: {reply}");
                assert_eq!(reply["d"]["user"], user);
            } else {
                assert_eq!(code(reply), "limit_reached", "round {round}: {reply}");
            }
        }
        // Both nodes read the same roster: five officers, the loser still a veteran.
        for client in [&mut lead_a, &mut lead_b] {
            let info = guild_get(client, guild).await;
            let officers = holding(&info, "officer");
            assert_eq!(officers.len(), 5, "round {round}: {officers:?}");
            assert!(officers.iter().any(|o| o == winner), "round {round}");
            let loser = if winner == on_a { on_b } else { on_a };
            assert_eq!(role_of(&info, loser), "veteran", "round {round}");
        }
        // Back to four officers for the next round.
        let reply = lead_a
            .request("guild.demote", json!({ "guild": guild, "user": winner }))
            .await;
        assert_eq!(ok(&reply, "demote")["role"], "veteran");
    }
    cluster.cleanup().await;
}

#[tokio::test]
async fn fifty_first_member_race() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.guild_node("a").await, cluster.guild_node("b").await);
    let (mut lead, guild) = create_guild(&cluster, &a, "boss", Codec::MsgPack).await;
    let nodes = [&a, &b];
    // 47 joins, spread over both nodes, all at once: each must count.
    let mut tasks = Vec::new();
    for i in 0..47 {
        let (cluster_url, user) = (nodes[i % 2].url(), format!("m{i:02}"));
        let token = cluster.token(&user);
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(&cluster_url, codec_of(i)).await;
            assert_eq!(client.hello(&token).await["ok"], true);
            let reply = client
                .request("guild.join", json!({ "guild": guild }))
                .await;
            assert_eq!(reply["ok"], true, "{user} joins: {reply}");
            client.close().await;
        }));
    }
    for t in tasks {
        t.await.expect("join task");
    }
    let info = guild_get(&mut lead, guild).await;
    assert_eq!(info["guild"]["members"], 48);
    assert_eq!(info["guild"]["capacity"], 50);
    assert_eq!(info["members"].as_array().map(Vec::len), Some(48));

    // Three users race for the last two places, on two nodes.
    let racers = ["r0", "r1", "r2"];
    let mut clients = Vec::new();
    for (i, user) in racers.iter().enumerate() {
        clients.push(cluster.client(nodes[i % 2], user, codec_of(i)).await);
    }
    let [c0, c1, c2] = &mut clients[..] else {
        unreachable!()
    };
    let join = json!({ "guild": guild });
    let (r0, r1, r2) = tokio::join!(
        c0.request("guild.join", join.clone()),
        c1.request("guild.join", join.clone()),
        c2.request("guild.join", join.clone()),
    );
    let replies = [&r0, &r1, &r2];
    let won: Vec<usize> = (0..3).filter(|&i| replies[i]["ok"] == true).collect();
    assert_eq!(
        won.len(),
        2,
        "two places for three racers: {r0} / {r1} / {r2}"
    );
    let lost = (0..3).find(|i| !won.contains(i)).expect("a loser");
    assert_eq!(code(replies[lost]), "limit_reached", "{}", replies[lost]);
    for &i in &won {
        assert_eq!(replies[i]["d"]["role"], "recruit");
    }
    let info = guild_get(&mut lead, guild).await;
    assert_eq!(info["guild"]["members"], 50, "{}", info["guild"]);
    assert_eq!(info["members"].as_array().map(Vec::len), Some(50));
    assert_eq!(role_of(&info, racers[lost]), "<not a member>");

    // Full: a further join is refused on either node, and changes nothing.
    let mut late = cluster.client(&b, "late", Codec::Json).await;
    let reply = late.request("guild.join", join.clone()).await;
    assert_eq!(code(&reply), "limit_reached", "{reply}");
    let reply = clients[lost].request("guild.join", join.clone()).await;
    assert_eq!(code(&reply), "limit_reached", "{reply}");

    // One place frees up: the loser and the late user race for it.
    let leaver = won[0];
    let reply = clients[leaver].request("guild.leave", join.clone()).await;
    ok(&reply, "leave");
    let (rl, rt) = tokio::join!(
        clients[lost].request("guild.join", join.clone()),
        late.request("guild.join", join.clone()),
    );
    let oks = [&rl, &rt].iter().filter(|r| r["ok"] == true).count();
    assert_eq!(oks, 1, "one place for two racers: {rl} / {rt}");
    for r in [&rl, &rt] {
        if r["ok"] != true {
            assert_eq!(code(r), "limit_reached", "{r}");
        }
    }
    let info = guild_get(&mut late, guild).await;
    assert_eq!(info["guild"]["members"], 50);
    assert_eq!(info["members"].as_array().map(Vec::len), Some(50));
    // The count the store keeps matches the roster.
    let schema = &cluster.schema;
    let rows = cluster
        .sql_i64(&format!(
            "SELECT COUNT(*) FROM \"{schema}\".guild_members WHERE guild_id = {guild}"
        ))
        .await;
    assert_eq!(rows, Some(50));
    cluster.cleanup().await;
}

#[tokio::test]
async fn double_donation_across_nodes_applies_once() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.guild_node("a").await, cluster.guild_node("b").await);
    let (mut lead, guild) = create_guild(&cluster, &a, "boss", Codec::Json).await;
    assert_eq!(credit_dna(&b, "giver", 3_000, "fund-giver").await, 3_000);
    let mut on_a = joiner(&cluster, &a, "giver", Codec::MsgPack, guild).await;
    let mut on_b = cluster.client(&b, "giver", Codec::Json).await;
    // Recruits may not donate.
    let reply = on_a
        .request_idem(
            "guild.donate",
            "early",
            json!({ "guild": guild, "amount": 1 }),
        )
        .await;
    assert_eq!(code(&reply), "forbidden", "{reply}");
    assert!(
        reply["err"]["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("donate"),
        "{reply}"
    );
    assert_eq!(promote(&mut lead, guild, "giver", 1).await, "member");

    // The same donation, same key, on two nodes at once: applied once, both answered alike.
    let donation = json!({ "guild": guild, "amount": 1_000 });
    let (ra, rb) = tokio::join!(
        on_a.request_idem("guild.donate", "don-1", donation.clone()),
        on_b.request_idem("guild.donate", "don-1", donation.clone()),
    );
    for r in [&ra, &rb] {
        let d = ok(r, "donate");
        assert_eq!(d["vault"], 1_000, "{r}");
        assert_eq!(d["balance"], 2_000, "{r}");
    }
    let wallet = ok(&on_b.request("wallet.get", json!({})).await, "wallet.get");
    assert_eq!(wallet["balances"]["dna"], 2_000, "{wallet}");
    let user_donations = wallet["recent"]
        .as_array()
        .expect("recent")
        .iter()
        .filter(|e| e["kind"] == "donation")
        .count();
    assert_eq!(user_donations, 1, "{wallet}");
    let vault = ok(
        &lead.request("guild.vault", json!({ "guild": guild })).await,
        "guild.vault",
    );
    assert_eq!(vault["vault"], 1_000, "{vault}");
    let log = vault["log"].as_array().expect("log");
    let donations: Vec<&Value> = log.iter().filter(|e| e["kind"] == "donation").collect();
    assert_eq!(donations.len(), 1, "{vault}");
    assert_eq!(donations[0]["delta"], 1_000);
    assert_eq!(donations[0]["actor"], "giver");
    assert_eq!(
        guild_get(&mut lead, guild).await["guild"]["vault"],
        1_000,
        "the profile's vault"
    );

    // More than the wallet holds: refused whole.
    let reply = on_a
        .request_idem(
            "guild.donate",
            "don-2",
            json!({ "guild": guild, "amount": 2_500 }),
        )
        .await;
    assert_eq!(code(&reply), "insufficient_funds", "{reply}");
    let wallet = ok(&on_a.request("wallet.get", json!({})).await, "wallet.get");
    assert_eq!(wallet["balances"]["dna"], 2_000);
    let vault = ok(
        &on_b.request("guild.vault", json!({ "guild": guild })).await,
        "guild.vault",
    );
    assert_eq!(vault["vault"], 1_000);

    // Two different donations that the wallet covers only one of, on two nodes at once.
    let half = json!({ "guild": guild, "amount": 1_500 });
    let (ra, rb) = tokio::join!(
        on_a.request_idem("guild.donate", "don-3", half.clone()),
        on_b.request_idem("guild.donate", "don-4", half.clone()),
    );
    let oks = [&ra, &rb].iter().filter(|r| r["ok"] == true).count();
    assert_eq!(oks, 1, "the wallet covers one: {ra} / {rb}");
    for r in [&ra, &rb] {
        if r["ok"] == true {
            assert_eq!(r["d"]["balance"], 500, "{r}");
            assert_eq!(r["d"]["vault"], 2_500, "{r}");
        } else {
            assert_eq!(code(r), "insufficient_funds", "{r}");
        }
    }
    let wallet = ok(&on_b.request("wallet.get", json!({})).await, "wallet.get");
    assert_eq!(wallet["balances"]["dna"], 500);
    let vault = ok(
        &lead.request("guild.vault", json!({ "guild": guild })).await,
        "guild.vault",
    );
    assert_eq!(vault["vault"], 2_500);
    assert_eq!(
        vault["log"]
            .as_array()
            .expect("log")
            .iter()
            .filter(|e| e["kind"] == "donation")
            .count(),
        2
    );

    // The store agrees: no balance was ever negative, and the entries add up to the balance.
    let schema = &cluster.schema;
    let lowest = cluster
        .sql_i64(&format!(
            "SELECT MIN(balance) FROM \"{schema}\".ledger WHERE account = 'user:giver'"
        ))
        .await;
    assert!(lowest.is_some_and(|b| b >= 0), "lowest balance {lowest:?}");
    let sum = cluster
        .sql_i64(&format!(
            "SELECT SUM(delta)::BIGINT FROM \"{schema}\".ledger WHERE account = 'user:giver'"
        ))
        .await;
    assert_eq!(sum, Some(500));
    let vault_sum = cluster
        .sql_i64(&format!(
            "SELECT SUM(delta)::BIGINT FROM \"{schema}\".ledger WHERE account = 'guild:{guild}'"
        ))
        .await;
    assert_eq!(vault_sum, Some(2_500));
    cluster.cleanup().await;
}

#[tokio::test]
async fn kicked_member_leaves_the_room_on_every_node() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.guild_node("a").await, cluster.guild_node("b").await);
    let (mut lead, guild) = create_guild(&cluster, &a, "boss", Codec::Json).await;
    // Level 5 for guild chat: 10,000 + 1,000 XP.
    for (source, idem) in [("raid_victory", "x1"), ("war_win", "x2")] {
        let body = json!({ "source": source, "idem": idem });
        let (status, reply) =
            api(&b, "POST", &format!("/api/guilds/{guild}/xp"), Some(&body)).await;
        assert_eq!(status, 200, "{source}: {reply}");
    }
    let info = guild_get(&mut lead, guild).await;
    assert_eq!(info["guild"]["level"], 5, "{}", info["guild"]);

    let room = format!("guild:{guild}");
    let mut kicked_a = joiner(&cluster, &a, "kim", Codec::MsgPack, guild).await;
    let mut kicked_b = cluster.client(&b, "kim", Codec::Json).await;
    let mut stays_b = joiner(&cluster, &b, "sam", Codec::MsgPack, guild).await;
    for client in [&mut lead, &mut kicked_a, &mut kicked_b, &mut stays_b] {
        join_room(client, guild).await;
    }
    // Guild chat works for the member from both nodes before the kick.
    for (i, client) in [&mut kicked_a, &mut kicked_b].into_iter().enumerate() {
        let reply = client
            .request(
                "chat.send",
                json!({ "room": room, "text": format!("hi {i}") }),
            )
            .await;
        ok(&reply, "chat before the kick");
    }
    for client in [&mut lead, &mut kicked_a, &mut kicked_b, &mut stays_b] {
        client.next_event("chat.msg").await;
        client.next_event("chat.msg").await;
    }

    let reply = lead
        .request("guild.kick", json!({ "guild": guild, "user": "kim" }))
        .await;
    ok(&reply, "kick");
    for client in [&mut kicked_a, &mut kicked_b, &mut stays_b, &mut lead] {
        let push = client.next_event("guild.member_kicked").await;
        assert_eq!(push["room"], room.as_str());
        assert_eq!(push["d"]["user"]["id"], "kim", "{push}");
        assert_eq!(push["d"]["by"]["id"], "boss", "{push}");
    }
    // The room goes on without them: the member who stays on node b hears the next message,
    // neither of the kicked user's connections does.
    let reply = lead
        .request("chat.send", json!({ "room": room, "text": "after" }))
        .await;
    ok(&reply, "chat after the kick");
    let heard = stays_b.next_event("chat.msg").await;
    assert_eq!(heard["d"]["text"], "after");
    for (node, client) in [("a", &mut kicked_a), ("b", &mut kicked_b)] {
        let leaked = client.drain_chat(Duration::from_millis(500)).await;
        assert!(
            leaked.is_empty(),
            "kicked connection on {node} got {leaked:?}"
        );
    }
    for (node, client) in [("a", &mut kicked_a), ("b", &mut kicked_b)] {
        let reply = client
            .request("chat.send", json!({ "room": room, "text": "still here?" }))
            .await;
        assert_eq!(code(&reply), "not_member", "send from {node}: {reply}");
        // And they cannot walk back in.
        let reply = client.request("room.join", json!({ "room": room })).await;
        assert_eq!(reply["ok"], false, "rejoin on {node}: {reply}");
    }
    let info = guild_get(&mut stays_b, guild).await;
    assert_eq!(role_of(&info, "kim"), "<not a member>");
    assert_eq!(info["guild"]["members"], 2);
    cluster.cleanup().await;
}

#[tokio::test]
async fn leadership_transfer_and_jobs_lease() {
    let cluster = Cluster::new().await;
    let (a, b) = (cluster.guild_node("a").await, cluster.guild_node("b").await);
    // The jobs API needs the key.
    let (status, _) = crate::helpers::http_json(a.addr, "POST", "/api/jobs/run", None, None).await;
    assert_eq!(status, 401);
    let (mut lead, guild) = create_guild(&cluster, &a, "boss", Codec::Json).await;
    let mut heir = joiner(&cluster, &b, "heir", Codec::MsgPack, guild).await;
    let mut other = joiner(&cluster, &b, "other", Codec::Json, guild).await;
    let mut other_a = cluster.client(&a, "other", Codec::MsgPack).await;
    for client in [&mut lead, &mut heir, &mut other, &mut other_a] {
        join_room(client, guild).await;
    }
    let reply = lead
        .request("guild.transfer", json!({ "guild": guild, "user": "heir" }))
        .await;
    let pending = ok(&reply, "transfer");
    assert_eq!(pending["from"]["id"], "boss");
    assert_eq!(pending["to"]["id"], "heir");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let effective = pending["effective_at"].as_u64().expect("effective_at");
    let window = effective.saturating_sub(now_ms);
    assert!(
        window > 47 * 3_600_000 && window <= 48 * 3_600_000,
        "48 h window, got {window} ms"
    );
    for client in [&mut lead, &mut heir, &mut other, &mut other_a] {
        let push = client.next_event("guild.transfer_pending").await;
        assert_eq!(push["d"]["to"]["id"], "heir", "{push}");
    }

    // Not due yet: the jobs leave it pending, whichever node runs them.
    for node in [&a, &b] {
        let (status, report) = api(node, "POST", "/api/jobs/run", None).await;
        assert_eq!(status, 200, "jobs on {}: {report}", node.name);
        assert_eq!(report["transfers"], 0, "jobs on {}: {report}", node.name);
    }
    let info = guild_get(&mut heir, guild).await;
    assert_eq!(info["guild"]["leader"]["id"], "boss");
    assert_eq!(role_of(&info, "heir"), "recruit");
    let schema = &cluster.schema;
    let left = cluster
        .sql_i64(&format!(
            "SELECT COUNT(*) FROM \"{schema}\".guild_transfers WHERE guild_id = {guild}"
        ))
        .await;
    assert_eq!(left, Some(1), "the transfer is still pending");

    // The window has passed: both nodes run the jobs at once; leadership moves once.
    let touched = cluster
        .sql_exec(&format!(
            "UPDATE \"{schema}\".guild_transfers SET effective_ms = 0 WHERE guild_id = {guild}"
        ))
        .await;
    assert_eq!(touched, 1);
    let ((sa, ra), (sb, rb)) = tokio::join!(
        api(&a, "POST", "/api/jobs/run", None),
        api(&b, "POST", "/api/jobs/run", None),
    );
    assert_eq!((sa, sb), (200, 200), "{ra} / {rb}");
    let moved = ra["transfers"].as_u64().unwrap_or(99) + rb["transfers"].as_u64().unwrap_or(99);
    assert_eq!(moved, 1, "one node completes the transfer: {ra} / {rb}");

    for (who, client) in [
        ("boss on a", &mut lead),
        ("heir on b", &mut heir),
        ("other on b", &mut other),
        ("other on a", &mut other_a),
    ] {
        let push = client.next_event("guild.leader_changed").await;
        assert_eq!(push["d"]["from"]["id"], "boss", "{who}: {push}");
        assert_eq!(push["d"]["to"]["id"], "heir", "{who}: {push}");
        assert!(
            sees(client, "guild.leader_changed", Duration::from_millis(300))
                .await
                .is_none(),
            "{who}: leadership changed twice"
        );
    }
    for client in [&mut lead, &mut other] {
        let info = guild_get(client, guild).await;
        assert_eq!(info["guild"]["leader"]["id"], "heir");
        assert_eq!(role_of(&info, "heir"), "leader");
        assert_eq!(role_of(&info, "boss"), "officer");
        assert_eq!(holding(&info, "leader"), ["heir"]);
    }
    // The new leader leads: they may promote; the old one no longer may.
    let reply = heir
        .request("guild.promote", json!({ "guild": guild, "user": "other" }))
        .await;
    assert_eq!(ok(&reply, "the new leader promotes")["role"], "member");
    let reply = lead
        .request("guild.promote", json!({ "guild": guild, "user": "other" }))
        .await;
    assert_eq!(code(&reply), "forbidden", "{reply}");
    // Nothing is left to do.
    let (_, report) = api(&b, "POST", "/api/jobs/run", None).await;
    assert_eq!(report["transfers"], 0, "{report}");
    cluster.cleanup().await;
}
