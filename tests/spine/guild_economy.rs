//! Wallets, the ledger and the guild vault: donation limits, the vault cap, officer payouts,
//! idempotent submissions, and balances that never go below zero. Also the API's key check.

use serde_json::json;

use crate::guild_helpers::*;
use crate::helpers::*;

#[tokio::test]
async fn vault_rules_on_both_stores() {
    for backend in BACKENDS {
        for codec in codecs() {
            vault_rules(backend, codec).await;
        }
    }
}

async fn vault_rules(backend: Backend, codec: guildhall_protocol::Codec) {
    let node = GuildNode::start(backend).await;
    let server = &node.server;
    let ctx = format!("{backend:?} {codec:?}");
    let mut leader = server.client("lead", codec).await;
    let guild = create_guild(server, &mut leader, "lead", "Vault Keepers", "VLT").await;
    let mut rec = joiner(server, "rec", codec, guild).await;
    ok(&leader
        .request("room.join", json!({ "room": format!("guild:{guild}") }))
        .await);
    server.credit("rec", "dna", 30_000).await;

    // Recruits cannot donate, and say so.
    let msg = refused(
        &rec.request("guild.donate", json!({ "guild": guild, "amount": 100 }))
            .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission donate", "{ctx}");
    promote(&mut leader, guild, "rec", 1).await; // member

    // 10,000 a day exactly; one more is refused and nothing moves.
    let d = ok(&rec
        .request_idem(
            "guild.donate",
            "d-1",
            json!({ "guild": guild, "amount": 10_000 }),
        )
        .await);
    assert_eq!(
        (d["vault"].as_u64(), d["balance"].as_u64()),
        (Some(10_000), Some(20_000)),
        "{ctx}"
    );
    let donation = leader.next_event("guild.donation").await;
    assert_eq!(donation["d"]["user"]["id"], "rec", "{ctx}");
    assert_eq!(donation["d"]["amount"], 10_000, "{ctx}");
    assert_eq!(donation["d"]["vault"], 10_000, "{ctx}");
    let msg = refused(
        &rec.request("guild.donate", json!({ "guild": guild, "amount": 1 }))
            .await,
        "limit_reached",
    );
    assert_eq!(msg, "at most 10000 a day; 0 left today", "{ctx}");
    // The same submission again (a retry after a lost reply) answers the same and moves nothing.
    let again = ok(&rec
        .request_idem(
            "guild.donate",
            "d-1",
            json!({ "guild": guild, "amount": 10_000 }),
        )
        .await);
    assert_eq!(again["vault"], 10_000, "{ctx}");
    assert_eq!(wallet_dna(&mut rec).await, 20_000, "{ctx}");

    // Yesterday's donations do not count today.
    node.sql("UPDATE guild_members SET donated_day = donated_day - 1")
        .await;
    ok(&rec
        .request("guild.donate", json!({ "guild": guild, "amount": 5_000 }))
        .await);

    // The vault holds at most 50,000.
    for (i, user) in ["m1", "m2", "m3", "m4"].iter().enumerate() {
        let mut m = joiner(server, user, codec, guild).await;
        promote(&mut leader, guild, user, 1).await;
        server.credit(user, "dna", 10_000).await;
        let amount = if i < 3 { 10_000 } else { 6_000 };
        let reply = m
            .request("guild.donate", json!({ "guild": guild, "amount": amount }))
            .await;
        if i < 3 {
            ok(&reply);
        } else {
            // 15,000 + 30,000 = 45,000 in the vault: room for 5,000.
            let msg = refused(&reply, "limit_reached");
            assert_eq!(msg, "the vault holds at most 50000; room for 5000", "{ctx}");
            assert_eq!(wallet_dna(&mut m).await, 10_000, "{ctx}");
        }
    }

    // A donation larger than the wallet: insufficient funds, nothing moves, never negative.
    let mut poor = joiner(server, "poor", codec, guild).await;
    promote(&mut leader, guild, "poor", 1).await;
    server.credit("poor", "dna", 50).await;
    refused(
        &poor
            .request("guild.donate", json!({ "guild": guild, "amount": 100 }))
            .await,
        "insufficient_funds",
    );
    assert_eq!(wallet_dna(&mut poor).await, 50, "{ctx}");

    // Payouts: officers and up; not more than the vault holds.
    let msg = refused(
        &rec.request(
            "guild.payout",
            json!({ "guild": guild, "user": "poor", "amount": 10 }),
        )
        .await,
        "forbidden",
    );
    assert_eq!(msg, "missing permission spend_vault", "{ctx}");
    refused(
        &leader
            .request(
                "guild.payout",
                json!({ "guild": guild, "user": "poor", "amount": 45_001 }),
            )
            .await,
        "insufficient_funds",
    );
    let paid = ok(&leader
        .request(
            "guild.payout",
            json!({ "guild": guild, "user": "poor", "amount": 500, "reason": "war MVP" }),
        )
        .await);
    assert_eq!(paid["vault"], 44_500, "{ctx}");
    let payout = leader.next_event("guild.payout").await;
    assert_eq!(payout["d"]["user"]["id"], "poor", "{ctx}");
    assert_eq!(payout["d"]["by"]["id"], "lead", "{ctx}");
    assert_eq!(payout["d"]["reason"], "war MVP", "{ctx}");
    assert_eq!(wallet_dna(&mut poor).await, 550, "{ctx}");

    // Every move is in the log members can read, with who and why.
    let view = ok(&poor.request("guild.vault", json!({ "guild": guild })).await);
    assert_eq!(view["vault"], 44_500, "{ctx}");
    assert_eq!(view["cap"], 50_000, "{ctx}");
    let log = view["log"].as_array().expect("log");
    let donations = log.iter().filter(|e| e["kind"] == "donation").count();
    assert_eq!(donations, 5, "{ctx}: {log:?}");
    let payout = log.iter().find(|e| e["kind"] == "payout").expect("payout");
    assert_eq!(payout["delta"], -500, "{ctx}");
    assert_eq!(payout["actor"], "lead", "{ctx}");
    assert_eq!(payout["reason"], "war MVP", "{ctx}");
    let mut outsider = server.client("outsider", codec).await;
    refused(
        &outsider
            .request("guild.vault", json!({ "guild": guild }))
            .await,
        "not_member",
    );
    // The member's own wallet shows the ledger lines too.
    let wallet = ok(&poor.request("wallet.get", json!({})).await);
    assert_eq!(wallet["balances"]["war_coins"], 0, "{ctx}");
    assert_eq!(wallet["recent"][0]["kind"], "payout", "{ctx}");
    node.finish().await;
}

#[tokio::test]
async fn wallet_api_applies_each_entry_once_and_never_goes_negative() {
    for backend in BACKENDS {
        let node = GuildNode::start(backend).await;
        let server = &node.server;
        let credit =
            json!({ "currency": "dna", "amount": 700, "reason": "purchase", "idem": "order-1" });
        let (status, first) = server
            .api("POST", "/api/wallets/pat/credit", Some(credit.clone()))
            .await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["balance"], 700);
        assert_eq!(first["duplicate"], false);
        let (_, repeat) = server
            .api("POST", "/api/wallets/pat/credit", Some(credit))
            .await;
        assert_eq!(repeat["duplicate"], true, "{backend:?}");
        assert_eq!(repeat["balance"], 700, "{backend:?}");
        let debit = json!({ "currency": "dna", "amount": 701, "idem": "spend-1" });
        let (status, body) = server
            .api("POST", "/api/wallets/pat/debit", Some(debit))
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "insufficient_funds");
        let debit = json!({ "currency": "dna", "amount": 700, "idem": "spend-2" });
        let (status, body) = server
            .api("POST", "/api/wallets/pat/debit", Some(debit))
            .await;
        assert_eq!((status, &body["balance"]), (200, &json!(0)), "{body}");
        let (status, body) = server
            .api(
                "POST",
                "/api/wallets/pat/credit",
                Some(json!({ "currency": "gems", "amount": 1, "idem": "x" })),
            )
            .await;
        assert_eq!((status, &body["error"]["code"]), (400, &json!("invalid")));
        let (_, wallet) = server.api("GET", "/api/wallets/pat", None).await;
        assert_eq!(wallet["balances"]["dna"], 0);
        let kinds: Vec<_> = wallet["recent"]
            .as_array()
            .expect("recent")
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            kinds,
            ["debit", "credit"],
            "{backend:?}: newest first, the refused debit absent"
        );
        node.finish().await;
    }
}

#[tokio::test]
async fn the_api_needs_its_key() {
    let server = TestServer::start().await;
    let path = "/api/wallets/pat";
    let (status, body) = http_json(server.addr, "GET", path, None, None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("unauthorized"))
    );
    let (status, _) = http_json(server.addr, "GET", path, Some("wrong"), None).await;
    assert_eq!(status, 401);
    let (status, _) = server.api("GET", path, None).await;
    assert_eq!(status, 200);
    let off = TestServer::start_with(|c| c.api_key = None).await;
    let (status, body) = http_json(off.addr, "GET", path, Some(API_KEY), None).await;
    assert_eq!(
        status, 503,
        "without a configured key the API is off: {body}"
    );
}
