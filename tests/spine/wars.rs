//! Wars and raids on one node, on SQLite and on PostgreSQL: registration by rank, matchmaking
//! on demand, runs from the backend (idempotent, flagged when implausible), the live war room
//! a spectator watches, the result with its rewards, a raid from start to defeat, and runs
//! from clients where the config allows them.

use std::time::Duration;

use guildhall_protocol::Codec;
use serde_json::{json, Value};

use crate::guild_helpers::*;
use crate::helpers::*;

fn tweak(c: &mut guildhall::Config) {
    // Raids from level 1, no weekly calendar: every war here starts on demand.
    c.game
        .overrides
        .insert("perks".into(), json!({ "raid_level": 1 }));
    c.game
        .overrides
        .insert("war".into(), json!({ "schedule": { "enabled": false } }));
    c.runs.max_dna_per_run = 5_000;
    c.wars.board_every_ms = 50;
}

async fn report(server: &TestServer, user: &str, run_id: &str, dna: u64) -> (u16, Value) {
    server
        .api(
            "POST",
            "/api/runs",
            Some(json!({ "user": user, "run_id": run_id, "dna": dna, "duration_ms": 60_000 })),
        )
        .await
}

/// Waits for a scoreboard push that satisfies `done`; the last one seen.
async fn board_until(client: &mut Client, ev: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let push = client.next_event_within(ev, left).await;
        if done(&push["d"]) {
            return push["d"].clone();
        }
    }
}

#[tokio::test]
async fn a_war_from_registration_to_rewards_and_a_raid() {
    for backend in BACKENDS {
        war_and_raid_on(backend).await;
    }
}

async fn war_and_raid_on(backend: Backend) {
    let node = GuildNode::start_with(backend, tweak).await;
    let server = &node.server;
    let codec = Codec::Json;
    let ctx = format!("{backend:?}");

    let mut lead_a = server.client("lead_a", codec).await;
    let a = create_guild(server, &mut lead_a, "lead_a", "Alpha Snakes", "ALP").await;
    let mut recruit = joiner(server, "a1", codec, a).await;
    for u in ["a2", "a3"] {
        joiner(server, u, codec, a).await;
    }
    let mut lead_b = server.client("lead_b", codec).await;
    let b = create_guild(server, &mut lead_b, "lead_b", "Beta Vipers", "BET").await;
    joiner(server, "b1", codec, b).await;

    // Registration: closed until opened; then the leader's call, once.
    let closed = lead_a.request("war.register", json!({ "guild": a })).await;
    refused(&closed, "conflict");
    let (status, opened) = server
        .api(
            "POST",
            "/api/wars/registration/open",
            Some(json!({ "cycle_at": 4_000_000_000_000u64 })),
        )
        .await;
    assert_eq!(status, 200, "{ctx}: {opened}");
    refused(
        &recruit.request("war.register", json!({ "guild": a })).await,
        "forbidden",
    );
    let reg = ok(&lead_a.request("war.register", json!({ "guild": a })).await);
    assert_eq!(reg["cycle_at"], 4_000_000_000_000u64, "{ctx}");
    refused(
        &lead_a.request("war.register", json!({ "guild": a })).await,
        "conflict",
    );
    ok(&lead_b.request("war.register", json!({ "guild": b })).await);
    // The guild room is where members hear that their war began, and its room.
    ok(&lead_b
        .request("room.join", json!({ "room": format!("guild:{b}") }))
        .await);

    // Matchmaking now: two level-1 guilds at 1,500 Elo meet.
    let (status, started) = server.api("POST", "/api/wars/start", None).await;
    assert_eq!(status, 200, "{ctx}: {started}");
    let war = started["wars"][0]
        .as_i64()
        .unwrap_or_else(|| panic!("{ctx}: no war started: {started}"));
    let room = format!("war:{war}");
    let started = lead_b.next_event("guild.war_started").await;
    assert_eq!(started["d"]["war"], war, "{ctx}: {started}");
    assert_eq!(started["d"]["runs"], 0, "{ctx}");

    // A spectator from neither guild watches; the board comes first.
    let mut spectator = server.client("spec", codec).await;
    ok(&spectator
        .request("room.join", json!({ "room": room }))
        .await);
    let first = spectator.next_event("war.board").await;
    assert_eq!(first["d"]["status"], "active", "{ctx}");
    assert_eq!(first["d"]["runs"], 0, "{ctx}");
    refused(
        &spectator
            .request("room.join", json!({ "room": "war:999999" }))
            .await,
        "not_found",
    );
    refused(
        &spectator
            .request("chat.send", json!({ "room": room, "text": "go alpha" }))
            .await,
        "not_found",
    );

    // Runs. A: lead 3,000 + 1,000; a1 2,000; a2 an outlier of 9,000 (flagged, counted);
    // a3 none. B: lead 4,000, b1 6 runs of 500.
    let runs: Vec<(&str, &str, u64)> = vec![
        ("lead_a", "ra1", 3_000),
        ("lead_a", "ra2", 1_000),
        ("a1", "ra3", 2_000),
        ("a2", "ra4", 9_000),
        ("lead_b", "rb1", 4_000),
        ("b1", "rb2", 500),
        ("b1", "rb3", 500),
        ("b1", "rb4", 500),
        ("b1", "rb5", 500),
        ("b1", "rb6", 500),
        ("b1", "rb7", 500),
    ];
    for (user, id, dna) in &runs {
        let (status, body) = report(server, user, id, *dna).await;
        assert_eq!(status, 200, "{ctx}: {body}");
        assert_eq!(body["war"], war, "{ctx}: {body}");
        assert_eq!(body["duplicate"], false, "{ctx}: {body}");
    }
    // A retry is answered, not counted; someone in no guild counts nowhere.
    let (_, again) = report(server, "lead_a", "ra1", 3_000).await;
    assert_eq!(again["duplicate"], true, "{ctx}: {again}");
    let (status, stolen) = report(server, "a3", "ra1", 3_000).await;
    assert_eq!(status, 409, "{ctx}: another player's run id: {stolen}");
    let (_, loner) = report(server, "loner", "rl1", 100).await;
    assert_eq!(loner["war"], Value::Null, "{ctx}: {loner}");
    let (_, flagged) = server.api("GET", "/api/runs/flagged", None).await;
    let flags: Vec<&str> = flagged["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["flag"].as_str())
        .collect();
    assert_eq!(flags, ["dna_per_run"], "{ctx}: {flagged}");

    // A: raw 15,000, 3 of 4 took part (75 %: ×1.0), lead_a reached no milestone; a2's 9,000
    // neither. B: raw 7,000, 2 of 2 (×1.25) = 8,750.
    let live = board_until(&mut spectator, "war.board", |d| d["runs"] == 11).await;
    let sides = live["sides"].as_array().expect("sides");
    assert_eq!(sides[0]["guild"], a, "{ctx}");
    assert_eq!(sides[0]["score"], 15_000, "{ctx}: {live}");
    assert_eq!(sides[0]["participants"], 3, "{ctx}");
    assert_eq!(sides[0]["members"], 4, "{ctx}");
    assert_eq!(sides[0]["multiplier_pct"], 100, "{ctx}");
    assert_eq!(sides[0]["top"][0]["user"], "a2", "{ctx}");
    assert_eq!(sides[1]["score"], 8_750, "{ctx}: {live}");
    assert_eq!(sides[1]["multiplier_pct"], 125, "{ctx}");
    let got = ok(&lead_b.request("war.get", json!({ "war": war })).await);
    assert_eq!(got, live, "{ctx}: war.get is the live board");

    // The end: A wins. Its members get 500 war coins, B's members with 5+ runs 100.
    let (status, ended) = server
        .api("POST", &format!("/api/wars/{war}/end"), None)
        .await;
    assert_eq!(status, 200, "{ctx}: {ended}");
    assert_eq!(ended["winner"], a, "{ctx}");
    let coins: Vec<(String, u64)> = ended["rewards"]
        .as_array()
        .expect("rewards")
        .iter()
        .filter(|r| r["war_coins"].as_u64() > Some(0))
        .map(|r| {
            (
                r["user"].as_str().unwrap_or_default().to_owned(),
                r["war_coins"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut want: Vec<(String, u64)> = ["a1", "a2", "a3", "lead_a"]
        .iter()
        .map(|u| (u.to_string(), 500))
        .chain([("b1".to_string(), 100)])
        .collect();
    want.sort();
    let mut coins_sorted = coins.clone();
    coins_sorted.sort();
    assert_eq!(coins_sorted, want, "{ctx}: {ended}");
    let pushed = spectator.next_event("war.ended").await;
    assert_eq!(pushed["d"], ended, "{ctx}: the room's result is the API's");
    assert!(
        pushed["off"].as_u64().is_some(),
        "{ctx}: the result is in the room's log"
    );
    let wallet = ok(&recruit.request("wallet.get", json!({})).await);
    assert_eq!(wallet["balances"]["war_coins"], 500, "{ctx}: {wallet}");
    let (status, twice) = server
        .api("POST", &format!("/api/wars/{war}/end"), None)
        .await;
    assert_eq!(status, 409, "{ctx}: {twice}");
    let after = ok(&spectator.request("war.get", json!({ "war": war })).await);
    assert_eq!(after, ended["board"], "{ctx}");
    assert_eq!(after["status"], "ended", "{ctx}");
    // A run after the end counts nowhere.
    let (_, late) = report(server, "a1", "late1", 100).await;
    assert_eq!(late["war"], Value::Null, "{ctx}: {late}");

    // A raid: the leader starts it, a member may not, one at a time.
    refused(
        &recruit.request("raid.start", json!({ "guild": a })).await,
        "forbidden",
    );
    let raid_board = ok(&lead_a.request("raid.start", json!({ "guild": a })).await);
    assert_eq!(raid_board["remaining"], 1_000_000, "{ctx}");
    assert_eq!(raid_board["phase"], 1, "{ctx}");
    refused(
        &lead_a.request("raid.start", json!({ "guild": a })).await,
        "conflict",
    );
    let raid = raid_board["raid"].as_i64().expect("raid id");
    let raid_room = format!("raid:{raid}");
    let mut watcher = server.client("watcher", codec).await;
    ok(&watcher
        .request("room.join", json!({ "room": raid_room }))
        .await);
    watcher.next_event("raid.board").await;
    // 5 runs of 4,000 DNA by a1: 200,000 damage; 2 by lead_a of 4,000: 80,000. Then a1's
    // sixth, 4,000 again: 320,000 in all, phase 1 still (680,000 left).
    for i in 0..6 {
        let (status, body) = report(server, "a1", &format!("raid-a1-{i}"), 4_000).await;
        assert_eq!(status, 200, "{ctx}: {body}");
        assert_eq!(body["raid"], raid, "{ctx}: {body}");
    }
    for i in 0..2 {
        report(server, "lead_a", &format!("raid-lead-{i}"), 4_000).await;
    }
    let hp = board_until(&mut watcher, "raid.board", |d| d["runs"] == 8).await;
    assert_eq!(hp["remaining"], 1_000_000 - 320_000, "{ctx}: {hp}");
    assert_eq!(hp["phase"], 1, "{ctx}");
    assert_eq!(hp["top"][0]["user"], "a1", "{ctx}");
    assert_eq!(hp["top"][0]["damage"], 240_000, "{ctx}");
    // One more of a2 for 50,000 damage... capped: 5,000 DNA max is the outlier line, so
    // 4,900 DNA = 49,000: 631,000 left, phase 2 (at 666,666 and below).
    report(server, "a2", "raid-a2-0", 4_900).await;
    let phase = watcher.next_event("raid.phase").await;
    assert_eq!(phase["d"]["from"], 1, "{ctx}");
    assert_eq!(phase["d"]["to"], 2, "{ctx}");
    assert_eq!(phase["d"]["remaining"], 631_000, "{ctx}");

    // Over before the boss fell: defeat; only the 5+ runs tier pays (a1: 2,000 DNA).
    let (status, raid_end) = server
        .api("POST", &format!("/api/raids/{raid}/end"), None)
        .await;
    assert_eq!(status, 200, "{ctx}: {raid_end}");
    assert_eq!(raid_end["victory"], false, "{ctx}");
    assert_eq!(raid_end["board"]["remaining"], 631_000, "{ctx}");
    assert_eq!(
        raid_end["rewards"],
        json!([{ "user": "a1", "dna": 2_000, "mvp": false }]),
        "{ctx}"
    );
    let pushed = watcher.next_event("raid.ended").await;
    assert_eq!(pushed["d"], raid_end, "{ctx}");

    // Clients may not report their own runs unless the config says so.
    refused(
        &lead_a
            .request(
                "run.submit",
                json!({ "run_id": "c1", "dna": 10, "duration_ms": 60_000 }),
            )
            .await,
        "forbidden",
    );
    node.finish().await;
}

#[tokio::test]
async fn client_runs_where_allowed_and_outliers_refused_by_policy() {
    let server = TestServer::start_with(|c| {
        tweak(c);
        c.runs.client_submit = true;
        c.runs.outliers = guildhall::config::OutlierPolicy::Refuse;
    })
    .await;
    let mut player = server.client("p1", Codec::MsgPack).await;
    let run = json!({ "run_id": "c1", "dna": 1_000, "duration_ms": 60_000 });
    let first = ok(&player.request("run.submit", run.clone()).await);
    assert_eq!(first["duplicate"], false);
    let again = ok(&player.request("run.submit", run).await);
    assert_eq!(again["duplicate"], true);
    assert_eq!(wallet_dna(&mut player).await, 1_000, "credited once");

    // Too short, or too rich: refused, flagged, and refused the same way on a retry.
    let short = json!({ "run_id": "c2", "dna": 10, "duration_ms": 1 });
    refused(
        &player.request("run.submit", short.clone()).await,
        "implausible",
    );
    refused(&player.request("run.submit", short).await, "implausible");
    let rich = json!({ "run_id": "c3", "dna": 5_001, "duration_ms": 60_000 });
    refused(&player.request("run.submit", rich).await, "implausible");
    assert_eq!(
        wallet_dna(&mut player).await,
        1_000,
        "refused runs pay nothing"
    );
    let (_, flagged) = server.api("GET", "/api/runs/flagged", None).await;
    let mut flags: Vec<(String, bool)> = flagged["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["flag"].as_str().unwrap_or_default().to_owned(),
                r["counted"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        [
            ("dna_per_run".to_owned(), false),
            ("too_short".to_owned(), false)
        ]
    );
    // Platform moderators read them over the socket too; players may not.
    let mut moderator = server.moderator("mod1", Codec::Json).await;
    let listed = ok(&moderator
        .request("run.flagged", json!({ "limit": 1 }))
        .await);
    assert_eq!(listed["runs"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["runs"][0]["run_id"], "c3", "newest first: {listed}");
    assert_eq!(listed["runs"][0]["counted"], false);
    refused(&player.request("run.flagged", json!({})).await, "forbidden");
    // Bad input: a clear code, nothing stored.
    refused(
        &player
            .request(
                "run.submit",
                json!({ "run_id": "", "dna": 1, "duration_ms": 60_000 }),
            )
            .await,
        "invalid",
    );
    let batch: Vec<Value> = (0..3)
        .map(|i| json!({ "user": "p2", "run_id": format!("b{i}"), "dna": 100, "duration_ms": 60_000 }))
        .chain([json!({ "user": "p2", "run_id": "b0", "dna": 100, "duration_ms": 60_000 })])
        .collect();
    let (status, answers) = server
        .api("POST", "/api/runs/batch", Some(json!({ "runs": batch })))
        .await;
    assert_eq!(status, 200, "{answers}");
    let dup: Vec<bool> = answers["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["d"]["duplicate"].as_bool().expect("answered"))
        .collect();
    assert_eq!(dup, [false, false, false, true], "{answers}");
    // Batched runs reach the wallet through the credit job.
    let (status, jobs) = server.api("POST", "/api/wars/jobs/run", None).await;
    assert_eq!(status, 200, "{jobs}");
    let mut p2 = server.client("p2", Codec::Json).await;
    assert_eq!(wallet_dna(&mut p2).await, 300);
    server.stop().await;
}

/// The weekday names of yesterday and tomorrow in UTC, for a calendar whose registration is
/// open now.
fn around_today() -> (String, String) {
    use chrono::{Datelike, Duration, Utc};
    let name = |d: chrono::DateTime<Utc>| d.weekday().to_string().to_lowercase();
    (
        name(Utc::now() - Duration::days(1)),
        name(Utc::now() + Duration::days(1)),
    )
}

#[tokio::test]
async fn the_calendar_opens_registration_pve_faces_its_benchmark_and_banned_guilds_sit_out() {
    let (yesterday, tomorrow) = around_today();
    let node = GuildNode::start_with(Backend::Sqlite, move |c| {
        tweak(c);
        c.game.overrides.insert(
            "war".into(),
            json!({ "schedule": {
                "enabled": true,
                "time_zone": "UTC",
                "registration_opens": { "day": yesterday, "at": "00:00" },
                "war_starts": { "day": tomorrow, "at": "00:00" },
            } }),
        );
    })
    .await;
    let server = &node.server;
    let mut lead = server.client("lead", Codec::Json).await;
    let guild = create_guild(server, &mut lead, "lead", "Solo Runners", "SOLO").await;

    // Registration opened yesterday: the jobs (which also ran when the node started) open the
    // cycle that starts tomorrow at 00:00.
    let (status, jobs) = server.api("POST", "/api/wars/jobs/run", None).await;
    assert_eq!(status, 200, "{jobs}");
    let cycle = jobs["opened"].as_u64().expect("a cycle opened");
    let tomorrow_midnight = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis() as u64;
    assert_eq!(cycle, tomorrow_midnight);
    let reg = ok(&lead
        .request("war.register", json!({ "guild": guild }))
        .await);
    assert_eq!(reg["cycle_at"], cycle);

    // A PvE war: the guild against a benchmark of 1,000; it scores 1,500 × 1.25 and wins.
    let (status, started) = server
        .api(
            "POST",
            "/api/wars/start",
            Some(json!({ "guild": guild, "benchmark": 1_000 })),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let war = started["wars"][0].as_u64().expect("war");
    report(server, "lead", "pve-1", 1_500).await;
    let (status, ended) = server
        .api("POST", &format!("/api/wars/{war}/end"), None)
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["board"]["benchmark"], 1_000);
    assert_eq!(ended["board"]["sides"][0]["score"], 1_875);
    assert_eq!(ended["winner"], guild);
    // A guild already at war cannot start another; the ended one no longer holds it.
    let (status, again) = server
        .api(
            "POST",
            "/api/wars/start",
            Some(json!({ "guild": guild, "benchmark": 10 })),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    let (status, busy) = server
        .api(
            "POST",
            "/api/wars/start",
            Some(json!({ "guild": guild, "benchmark": 10 })),
        )
        .await;
    assert_eq!(status, 409, "{busy}");

    // Ten members banned in 30 days: the guild sits out wars (RULES.md § Moderation).
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..10 {
        node.sql(&format!(
            "INSERT INTO penalties (user_id, step, kind, category, starts_ms, by_id, by_name, guild_id) \
             VALUES ('banned{i}', 4, 'ban', 'harassment', {now}, 'mod', 'Mod', {guild})"
        ))
        .await;
    }
    let (_, opened) = server
        .api(
            "POST",
            "/api/wars/registration/open",
            Some(json!({ "cycle_at": cycle + 7 * 86_400_000 })),
        )
        .await;
    assert!(opened["cycle_at"].is_u64(), "{opened}");
    let msg = refused(
        &lead
            .request("war.register", json!({ "guild": guild }))
            .await,
        "forbidden",
    );
    assert!(msg.contains("10 of its members"), "{msg}");
    node.finish().await;
}

/// A whole-cluster restart (here, the one node): the war's scoreboard comes back from the
/// snapshot saved at drain, the runs after it count on top, and the result is exact.
#[tokio::test]
async fn a_war_resumes_after_a_restart() {
    let server = TestServer::start_with(tweak).await;
    let codec = Codec::Json;
    let mut lead_a = server.client("ra_lead", codec).await;
    let a = create_guild(&server, &mut lead_a, "ra_lead", "Restart Alpha", "RSA").await;
    let mut lead_b = server.client("rb_lead", codec).await;
    let b = create_guild(&server, &mut lead_b, "rb_lead", "Restart Beta", "RSB").await;
    let (_, started) = server
        .api("POST", "/api/wars/start", Some(json!({ "guilds": [a, b] })))
        .await;
    let war = started["wars"][0].as_u64().expect("war");
    for i in 0..12u64 {
        report(&server, "ra_lead", &format!("before-{i}"), 1_000 + i).await;
    }
    let (_, before) = server.api("GET", &format!("/api/wars/{war}"), None).await;
    assert_eq!(before["runs"], 12, "{before}");
    drop((lead_a, lead_b));

    let dir = server.stop().await;
    let server = TestServer::start_in(dir, tweak).await;
    let (_, after) = server.api("GET", &format!("/api/wars/{war}"), None).await;
    assert_eq!(after, before, "the board survives the restart");
    // A retry of a run counted before the restart is still a retry; new runs count on top.
    let (_, again) = report(&server, "ra_lead", "before-3", 1_003).await;
    assert_eq!(again["duplicate"], true, "{again}");
    report(&server, "rb_lead", "after-1", 4_000).await;
    report(&server, "ra_lead", "after-2", 5_000).await;
    let (_, ended) = server
        .api("POST", &format!("/api/wars/{war}/end"), None)
        .await;
    // A's best 10 of 1,000..1,011 and 5,000: 5,000 + 1,003..1,011 = 14,063, ×1.25 (1 of 1)
    // + 5,000 for reaching 10,000. B: 4,000 × 1.25.
    assert_eq!(
        ended["board"]["sides"][0]["score"],
        14_063 * 125 / 100 + 5_000,
        "{ended}"
    );
    assert_eq!(ended["board"]["sides"][1]["score"], 5_000, "{ended}");
    assert_eq!(ended["board"]["runs"], 14, "{ended}");
    server.stop().await;
}

/// A boss that falls: the raid ends by itself at the killing blow (no call to end it), a
/// victory, with the 10+ runs tier and its cosmetic, the 5-9 runs tier, and the top 3 damage
/// dealers as MVPs.
#[tokio::test]
async fn a_fallen_boss_ends_the_raid_in_victory() {
    let server = TestServer::start_with(|c| {
        tweak(c);
        c.game
            .overrides
            .insert("raid".into(), json!({ "boss": { "hp": 300_000 } }));
    })
    .await;
    let codec = Codec::Json;
    let mut lead = server.client("v_lead", codec).await;
    let guild = create_guild(&server, &mut lead, "v_lead", "Boss Slayers", "SLAY").await;
    for u in ["v1", "v2", "v3"] {
        joiner(&server, u, codec, guild).await;
    }
    let board = ok(&lead.request("raid.start", json!({ "guild": guild })).await);
    let raid = board["raid"].as_u64().expect("raid");
    let mut watcher = server.client("v_watch", codec).await;
    ok(&watcher
        .request("room.join", json!({ "room": format!("raid:{raid}") }))
        .await);
    // v1: 10 runs of 1,000 DNA (100,000 damage); v2: 6 of 1,500 (90,000); v3: 2 of 2,000
    // (40,000); the leader's 3,000 (30,000) and then a 5,000 that lands the blow with 40,000 of
    // its 50,000: 300,000 in all.
    for i in 0..10 {
        report(&server, "v1", &format!("v1-{i}"), 1_000).await;
    }
    for i in 0..6 {
        report(&server, "v2", &format!("v2-{i}"), 1_500).await;
    }
    for i in 0..2 {
        report(&server, "v3", &format!("v3-{i}"), 2_000).await;
    }
    report(&server, "v_lead", "lead-1", 3_000).await;
    report(&server, "v_lead", "lead-2", 5_000).await;
    let ended = watcher.next_event("raid.ended").await["d"].clone();
    assert_eq!(ended["victory"], true, "{ended}");
    assert_eq!(ended["board"]["remaining"], 0);
    assert_eq!(ended["board"]["phase"], 3);
    // The leader dealt 30,000 + 40,000 (the blow counts what it took, not its overkill).
    assert_eq!(ended["mvps"], json!(["v1", "v2", "v_lead"]), "{ended}");
    assert_eq!(ended["board"]["top"][2]["damage"], 70_000, "{ended}");
    let mut rewards: Vec<(String, u64, Option<String>)> = ended["rewards"]
        .as_array()
        .expect("rewards")
        .iter()
        .filter(|r| r["dna"].as_u64() > Some(0))
        .map(|r| {
            (
                r["user"].as_str().unwrap_or_default().to_owned(),
                r["dna"].as_u64().unwrap_or(0),
                r["cosmetic"].as_str().map(str::to_owned),
            )
        })
        .collect();
    rewards.sort();
    assert_eq!(
        rewards,
        [
            (
                "v1".to_owned(),
                5_000,
                Some("inferno_demon_skin".to_owned())
            ),
            ("v2".to_owned(), 2_000, None),
        ]
    );
    // Over: a later run counts in no raid, and the guild may start the next one.
    let (_, late) = report(&server, "v1", "v1-late", 100).await;
    assert_eq!(late["raid"], Value::Null, "{late}");
    ok(&lead.request("raid.start", json!({ "guild": guild })).await);
    server.stop().await;
}

/// A run that finished inside the war's window but is reported after it (a phone that was
/// offline) still counts while the war waits out its grace; the jobs settle it after that.
#[tokio::test]
async fn late_reports_count_until_the_war_is_settled() {
    let server = TestServer::start_with(|c| {
        tweak(c);
        c.game.overrides.insert(
            "war".into(),
            json!({ "duration_ms": 400, "schedule": { "enabled": false } }),
        );
        c.wars.settle_grace_ms = 1_500;
        // The jobs run when this test calls them (and once at start).
        c.wars.tick_ms = 3_600_000;
    })
    .await;
    let codec = Codec::Json;
    let mut lead_a = server.client("la", codec).await;
    let a = create_guild(&server, &mut lead_a, "la", "Late Alpha", "LTA").await;
    let mut lead_b = server.client("lb", codec).await;
    let b = create_guild(&server, &mut lead_b, "lb", "Late Beta", "LTB").await;
    let (_, started) = server
        .api("POST", "/api/wars/start", Some(json!({ "guilds": [a, b] })))
        .await;
    let war = started["wars"][0].as_u64().expect("war");
    let (_, board) = server.api("GET", &format!("/api/wars/{war}"), None).await;
    let starts_at = board["starts_at"].as_u64().expect("starts_at");
    // Every run says when it finished: whether it is in the window does not depend on how
    // long this test takes.
    let run = |id: &str, dna: u64, at: u64| json!({ "user": "la", "run_id": id, "dna": dna, "duration_ms": 60_000, "finished_at": at });
    let (_, on_time) = server
        .api(
            "POST",
            "/api/runs",
            Some(run("on-time", 1_000, starts_at + 50)),
        )
        .await;
    assert_eq!(on_time["war"], war, "finished inside the window: {on_time}");

    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, inside) = server
        .api(
            "POST",
            "/api/runs",
            Some(run("late-inside", 2_000, starts_at + 100)),
        )
        .await;
    assert_eq!(inside["war"], war, "finished inside the window: {inside}");
    let (_, after) = server
        .api(
            "POST",
            "/api/runs",
            Some(run("late-after", 2_000, starts_at + 500)),
        )
        .await;
    assert_eq!(
        after["war"],
        Value::Null,
        "finished after the window: {after}"
    );
    let (_, jobs) = server.api("POST", "/api/wars/jobs/run", None).await;
    assert_eq!(jobs["wars_ended"], json!([]), "still in its grace: {jobs}");

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, jobs) = server.api("POST", "/api/wars/jobs/run", None).await;
    assert_eq!(jobs["wars_ended"], json!([war]), "{jobs}");
    let (_, ended) = server.api("GET", &format!("/api/wars/{war}"), None).await;
    assert_eq!(ended["status"], "ended");
    assert_eq!(ended["runs"], 2, "{ended}");
    assert_eq!(ended["sides"][0]["raw"], 3_000, "{ended}");
    server.stop().await;
}
