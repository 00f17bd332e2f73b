//! Wars and raids over three nodes, Redis and PostgreSQL: 100,000 runs (some sent twice, to
//! another node) go in concurrently through all three, one node is SIGKILLed midway and
//! restarted, and the war scores and raid HP every node serves, every connected client sees
//! and the store keeps equal the values computed here, independently, from the runs sent.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use guildhall_protocol::Codec;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::{api, credit_dna, try_http_json, Client, Cluster, Node, API_KEY};

const RUNS: usize = 100_000;
const DUPLICATES: usize = 5_000;
const BATCH: usize = 500;
const MEMBERS: usize = 20;
const BOSS_HP: u64 = 1_000_000_000_000;
/// The nodes' `wars.board_every_ms`.
const BOARD_EVERY_MS: u64 = 100;

const ENV: [(&str, &str); 8] = [
    ("GUILDHALL_API_KEY", API_KEY),
    ("GUILDHALL_GAME__PERKS__RAID_LEVEL", "1"),
    ("GUILDHALL_GAME__RAID__BOSS__HP", "1000000000000"),
    ("GUILDHALL_GAME__WAR__SCHEDULE__ENABLED", "false"),
    ("GUILDHALL_RUNS__MAX_DNA_PER_MINUTE", "1000000000000"),
    ("GUILDHALL_WARS__BOARD_EVERY_MS", "100"), // BOARD_EVERY_MS
    ("GUILDHALL_WARS__RECONCILE_EVERY_MS", "1000"),
    ("GUILDHALL_WARS__SNAPSHOT_EVERY_MS", "1000"),
];

async fn war_node(cluster: &Cluster, name: &str) -> Node {
    cluster.node_with(name, &cluster.database_url, &ENV).await
}

/// A guild of `MEMBERS` users named `{prefix}0` (the leader) … on `node`.
async fn guild_of(cluster: &Cluster, node: &Node, prefix: &str, tag: &str) -> i64 {
    let leader = format!("{prefix}0");
    credit_dna(node, &leader, 5_000, &format!("fund-{leader}")).await;
    let mut lead = cluster.client(node, &leader, Codec::Json).await;
    let reply = lead
        .request(
            "guild.create",
            json!({ "name": format!("Guild {tag}"), "tag": tag }),
        )
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let guild = reply["d"]["guild"]["id"].as_i64().expect("guild id");
    for i in 1..MEMBERS {
        let mut c = cluster
            .client(node, &format!("{prefix}{i}"), Codec::Json)
            .await;
        let r = c.request("guild.join", json!({ "guild": guild })).await;
        assert_eq!(r["ok"], true, "{r}");
    }
    guild
}

#[derive(Clone)]
struct SentRun {
    id: String,
    user: String,
    dna: u64,
}

/// The war score of one side, computed here from the runs sent (RULES.md § Guild wars).
fn expected_score(runs: &[SentRun], prefix: &str) -> u64 {
    let mut by_user: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.user.starts_with(prefix)) {
        by_user.entry(r.user.clone()).or_default().push(r.dna);
    }
    let mut raw = 0;
    let mut milestones = 0;
    for dnas in by_user.values_mut() {
        dnas.sort_unstable_by(|a, b| b.cmp(a));
        let best: u64 = dnas.iter().take(10).sum();
        raw += best;
        for (at, bonus) in [(10_000, 5_000), (50_000, 20_000), (100_000, 50_000)] {
            if best >= at {
                milestones += bonus;
            }
        }
    }
    let pct = match by_user.len() * 100 {
        p if p >= MEMBERS * 100 => 125,
        p if p >= MEMBERS * 90 => 115,
        p if p >= MEMBERS * 80 => 110,
        _ => 100,
    };
    raw * pct / 100 + milestones
}

/// Sends every batch through whichever nodes are up, retrying until each run is answered.
async fn submit_all(
    addrs: Arc<Mutex<Vec<Option<SocketAddr>>>>,
    queue: Arc<Mutex<VecDeque<Vec<Value>>>>,
    acked: Arc<AtomicUsize>,
    worker: usize,
) {
    let mut turn = worker;
    loop {
        let Some(mut batch) = queue.lock().pop_front() else {
            return;
        };
        while !batch.is_empty() {
            turn += 1;
            let addr = {
                let up: Vec<SocketAddr> = addrs.lock().iter().flatten().copied().collect();
                up[turn % up.len()]
            };
            let body = json!({ "runs": batch });
            let answer =
                try_http_json(addr, "POST", "/api/runs/batch", Some(API_KEY), Some(&body)).await;
            let Some((200, reply)) = answer else {
                // A node that died mid-request: the same runs go to another node.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let results = reply["results"].as_array().cloned().unwrap_or_default();
            let mut again = Vec::new();
            for (run, result) in batch.iter().zip(&results) {
                if result["ok"] == true {
                    acked.fetch_add(1, Ordering::Relaxed);
                } else {
                    again.push(run.clone());
                }
            }
            batch = again;
        }
    }
}

/// Polls a node's scoreboard until `ok` holds; the last board.
async fn served_until(addr: SocketAddr, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, board)) = try_http_json(addr, "GET", path, Some(API_KEY), None).await {
            if ok(&board) || tokio::time::Instant::now() > deadline {
                return board;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} on {addr} never answered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads a client's pushes until its latest war board has `war` scores and its latest raid
/// board `remaining` HP (or time runs out); both latest boards, and how many war boards came.
async fn pushed_until(client: &mut Client, war: &[u64], remaining: u64) -> (Value, Value, u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (mut war_board, mut raid_board) = (Value::Null, Value::Null);
    let mut war_boards = 0;
    while scores(&war_board) != war || raid_board["remaining"] != remaining {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(push) = client.next_push_within(left).await else {
            break;
        };
        match push["ev"].as_str() {
            Some("war.board") => {
                war_board = push["d"].clone();
                war_boards += 1;
            }
            Some("raid.board") => raid_board = push["d"].clone(),
            _ => {}
        }
    }
    (war_board, raid_board, war_boards)
}

fn scores(board: &Value) -> Vec<u64> {
    board["sides"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["score"].as_u64()).collect())
        .unwrap_or_default()
}

/// A client in both rooms, with the instant it had joined them.
async fn spectator(
    cluster: &Cluster,
    node: &Node,
    user: &str,
    war: &str,
    raid: &str,
) -> (Client, Instant) {
    let mut c = cluster.client(node, user, Codec::MsgPack).await;
    for room in [war, raid] {
        let r = c.request("room.join", json!({ "room": room })).await;
        assert_eq!(r["ok"], true, "{r}");
    }
    (c, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_war_scores_and_raid_hp_through_a_node_crash() {
    let cluster = Cluster::new().await;
    let n1 = war_node(&cluster, "w1").await;
    let n2 = war_node(&cluster, "w2").await;
    let n3 = war_node(&cluster, "w3").await;
    let a = guild_of(&cluster, &n1, "a", "ALPHA").await;
    let b = guild_of(&cluster, &n2, "b", "BETA").await;

    let (status, started) = api(
        &n1,
        "POST",
        "/api/wars/start",
        Some(&json!({ "guilds": [a, b] })),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let war = started["wars"][0].as_i64().expect("war id");
    let (status, raid) = api(&n2, "POST", "/api/raids", Some(&json!({ "guild": a }))).await;
    assert_eq!(status, 200, "{raid}");
    let raid = raid["raid"].as_i64().expect("raid id");
    let (war_room, raid_room) = (format!("war:{war}"), format!("raid:{raid}"));
    // Each watcher with the instant it joined (its room may push a board at most every
    // `BOARD_EVERY_MS` however fast the runs come) and whether it watched from the start.
    let mut watchers = Vec::new();
    for (node, user) in [(&n1, "s1"), (&n2, "s2"), (&n3, "s3")] {
        let (client, joined) = spectator(&cluster, node, user, &war_room, &raid_room).await;
        watchers.push((client, joined, true));
    }

    // The runs: both guilds' members (B's last three never play), and some players in no
    // guild; then some of them again, as retries to another node would send them.
    let mut rng = StdRng::seed_from_u64(2026);
    let mut sent: Vec<SentRun> = (0..RUNS)
        .map(|i| {
            let user = match rng.random_range(0..100) {
                0..=47 => format!("a{}", rng.random_range(0..MEMBERS)),
                48..=95 => format!("b{}", rng.random_range(0..MEMBERS - 3)),
                _ => format!("x{}", rng.random_range(0..10)),
            };
            SentRun {
                id: format!("run-{i}"),
                user,
                dna: rng.random_range(1..2_000),
            }
        })
        .collect();
    let unique = sent.clone();
    for _ in 0..DUPLICATES {
        let i = rng.random_range(0..RUNS);
        let again = sent[i].clone();
        sent.push(again);
    }
    // Mix the retries in among the first reports.
    for i in (1..sent.len()).rev() {
        let j = rng.random_range(0..=i);
        sent.swap(i, j);
    }
    let batches: VecDeque<Vec<Value>> = sent
        .chunks(BATCH)
        .map(|c| {
            c.iter()
                .map(|r| json!({ "user": r.user, "run_id": r.id, "dna": r.dna, "duration_ms": 90_000 }))
                .collect()
        })
        .collect();

    let addrs = Arc::new(Mutex::new(vec![
        Some(n1.addr),
        Some(n2.addr),
        Some(n3.addr),
    ]));
    let queue = Arc::new(Mutex::new(batches));
    let acked = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|w| tokio::spawn(submit_all(addrs.clone(), queue.clone(), acked.clone(), w)))
        .collect();

    // Midway, node 3 dies without a word, then comes back.
    while acked.load(Ordering::Relaxed) < sent.len() * 2 / 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    addrs.lock()[2] = None;
    n3.kill().await;
    watchers.pop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n3 = war_node(&cluster, "w3").await;
    addrs.lock()[2] = Some(n3.addr);
    // Joined midway: the runs may all be in by then, so it may get only the board sent on
    // joining.
    let (client, joined) = spectator(&cluster, &n3, "s3b", &war_room, &raid_room).await;
    watchers.push((client, joined, false));
    for w in workers {
        w.await.expect("a submitter");
    }
    assert_eq!(
        acked.load(Ordering::Relaxed),
        sent.len(),
        "every report answered"
    );

    let want = vec![expected_score(&unique, "a"), expected_score(&unique, "b")];
    let damage: u64 = unique
        .iter()
        .filter(|r| r.user.starts_with('a'))
        .map(|r| r.dna * 10)
        .sum();
    let remaining = BOSS_HP - damage;
    let counted = unique.iter().filter(|r| !r.user.starts_with('x')).count() as u64;

    // Every node serves the same, exact scoreboard.
    for node in [&n1, &n2, &n3] {
        let board = served_until(node.addr, &format!("/api/wars/{war}"), |b| {
            scores(b) == want
        })
        .await;
        assert_eq!(scores(&board), want, "war on {}: {board}", node.name);
        assert_eq!(board["runs"], counted, "runs on {}", node.name);
        let hp = served_until(node.addr, &format!("/api/raids/{raid}"), |b| {
            b["remaining"] == remaining
        })
        .await;
        assert_eq!(hp["remaining"], remaining, "raid on {}: {hp}", node.name);
    }
    // Every connected client's latest scoreboard is it too.
    for (w, joined, from_start) in &mut watchers {
        let (board, hp, boards) = pushed_until(w, &want, remaining).await;
        assert_eq!(scores(&board), want, "{board}");
        assert_eq!(hp["remaining"], remaining, "{hp}");
        // Coalesced: one on joining, then at most one per period (and one in flight).
        let most = joined.elapsed().as_millis() as u64 / BOARD_EVERY_MS + 2;
        assert!(
            boards <= most,
            "{boards} war boards in {:?}",
            joined.elapsed()
        );
        if *from_start {
            assert!(boards >= 2, "boards moved while runs came: {boards}");
        } else {
            assert!(boards >= 1, "a board on joining: {boards}");
        }
    }

    // The results, read from the store alone, agree; every client gets them.
    let (status, ended) = api(&n2, "POST", &format!("/api/wars/{war}/end"), None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(scores(&ended["board"]), want, "{ended}");
    let (status, raid_end) = api(&n3, "POST", &format!("/api/raids/{raid}/end"), None).await;
    assert_eq!(status, 200, "{raid_end}");
    assert_eq!(raid_end["board"]["remaining"], remaining);
    for (w, _, _) in &mut watchers {
        let pushed = w.next_event("war.ended").await;
        assert_eq!(scores(&pushed["d"]["board"]), want);
        let pushed = w.next_event("raid.ended").await;
        assert_eq!(pushed["d"]["board"]["remaining"], remaining);
    }
    let schema = &cluster.schema;
    let stored = |col: &str| format!("SELECT {col} FROM \"{schema}\".wars WHERE id = {war}");
    assert_eq!(
        cluster.sql_i64(&stored("score_a")).await,
        Some(want[0] as i64)
    );
    assert_eq!(
        cluster.sql_i64(&stored("score_b")).await,
        Some(want[1] as i64)
    );
    let left = format!("SELECT remaining FROM \"{schema}\".raids WHERE id = {raid}");
    assert_eq!(cluster.sql_i64(&left).await, Some(remaining as i64));
    let stored_runs = format!("SELECT COUNT(*) FROM \"{schema}\".runs");
    assert_eq!(cluster.sql_i64(&stored_runs).await, Some(RUNS as i64));

    drop((n1, n2, n3));
    cluster.cleanup().await;
}
