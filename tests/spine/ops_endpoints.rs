//! What operators and clients rely on outside chat: health, readiness, metrics, server time,
//! the per-user connection cap, and the `guildhall token` command.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::helpers::{codecs, http_get, Client, TestServer, SECRET};

/// The sum of a metric's samples over all label sets, if it is exported at all.
fn metric(body: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let value = if rest.starts_with('{') {
            rest.rsplit_once(' ').map(|(_, v)| v)
        } else if rest.starts_with(' ') {
            Some(rest.trim())
        } else {
            None
        };
        if let Some(v) = value.and_then(|v| v.trim().parse::<f64>().ok()) {
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

#[tokio::test]
async fn healthz_readyz_and_metrics() {
    let server = TestServer::start().await;

    let (status, body) = server.http_get("/healthz").await;
    assert_eq!((status, body.trim()), (200, "ok"));

    let (status, body) = http_get(server.addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let ready: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/readyz is JSON ({e}): {body}"));
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["store"]["kind"], "sqlite", "{ready}");
    assert_eq!(ready["broker"]["kind"], "memory", "{ready}");
    assert_eq!(ready["store"]["status"]["ok"], true, "{ready}");
    assert_eq!(ready["broker"]["status"]["ok"], true, "{ready}");

    // Some traffic, so that every metric has a sample (a stored message for the histogram).
    let mut clients = Vec::new();
    for codec in codecs() {
        let (mut client, _) = server
            .member(&format!("metered-{codec:?}"), codec, "chan:metrics")
            .await;
        let sent = client
            .request(
                "chat.send",
                json!({ "room": "chan:metrics", "text": format!("count me {codec:?}") }),
            )
            .await;
        assert_eq!(sent["ok"], true, "{sent}");
        clients.push(client);
    }

    let (status, body) = server.http_get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "guildhall_connections",
        "guildhall_frames_in_total",
        "guildhall_queue_overflows_total",
        "guildhall_store_batch_seconds",
    ] {
        assert!(body.contains(name), "/metrics lacks {name}:\n{body}");
    }
    // The values move with the traffic (other tests share the process, so only lower bounds).
    let connections = metric(&body, "guildhall_connections").expect("guildhall_connections sample");
    assert!(
        connections >= 2.0,
        "two connections are open: {connections}"
    );
    let frames =
        metric(&body, "guildhall_frames_in_total").expect("guildhall_frames_in_total sample");
    assert!(
        frames >= 6.0,
        "hello, join and chat.send on two connections: {frames}"
    );
    let batches = metric(&body, "guildhall_store_batch_seconds_count")
        .expect("guildhall_store_batch_seconds_count sample");
    assert!(batches >= 1.0, "a message was stored: {batches}");
    drop(clients);
}

#[tokio::test]
async fn ping_returns_the_server_time() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let mut client = server.client("alice", codec).await;
        let pong = client.request("ping", json!({})).await;
        assert_eq!(pong["ok"], true, "{pong}");
        let t = pong["d"]["t"]
            .as_u64()
            .unwrap_or_else(|| panic!("t in ms: {pong}"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        assert!(
            t.abs_diff(now) <= 3_000,
            "{codec:?}: server time {t} vs ours {now}"
        );
    }
}

/// A hello as `user` on a new connection: the reply, and the connection.
async fn try_hello(
    server: &TestServer,
    user: &str,
    codec: guildhall_protocol::Codec,
) -> (Value, Client) {
    let mut client = Client::connect(&server.url(), codec).await;
    let reply = client.hello(&server.token(user)).await;
    (reply, client)
}

#[tokio::test]
async fn per_user_connection_cap() {
    let server = TestServer::start_with(|config| config.limits.max_conns_per_user = 2).await;
    for codec in codecs() {
        let user = format!("capped-{codec:?}");
        let first = server.client(&user, codec).await;
        let mut second = server.client(&user, codec).await;

        let (reply, mut third) = try_hello(&server, &user, codec).await;
        assert_eq!(reply["ok"], false, "{codec:?}: a third connection: {reply}");
        assert_eq!(reply["err"]["code"], "conn_limit", "{codec:?}: {reply}");
        assert_eq!(third.expect_close().await, 4003, "{codec:?}");

        // Another user is not affected; the two open connections still work.
        let mut other = server.client(&format!("other-{codec:?}"), codec).await;
        assert_eq!(other.request("ping", json!({})).await["ok"], true);
        assert_eq!(second.request("ping", json!({})).await["ok"], true);

        // Closing one frees its slot, and only one.
        first.close().await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut replacement = loop {
            let (reply, client) = try_hello(&server, &user, codec).await;
            if reply["ok"] == true {
                break client;
            }
            assert_eq!(reply["err"]["code"], "conn_limit", "{codec:?}: {reply}");
            assert!(
                Instant::now() < deadline,
                "{codec:?}: the closed connection's slot was never released"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(replacement.request("ping", json!({})).await["ok"], true);
        let (reply, mut extra) = try_hello(&server, &user, codec).await;
        assert_eq!(
            reply["err"]["code"], "conn_limit",
            "{codec:?}: still at most 2: {reply}"
        );
        assert_eq!(extra.expect_close().await, 4003, "{codec:?}");
    }
}

#[tokio::test]
async fn token_cli_prints_a_token_the_server_accepts() {
    let server = TestServer::start().await;
    let cli_dir = tempfile::tempdir().expect("tempdir");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_guildhall"))
        .args(["token", "alice", "--name", "Alice", "--data-dir"])
        .arg(cli_dir.path())
        .env("GUILDHALL_JWT_SECRET", SECRET)
        .env_remove("GUILDHALL_CONFIG")
        .output()
        .await
        .expect("run guildhall token");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "guildhall token failed: {stderr}");
    // The whole of stdout is the token, so that TOKEN=$(guildhall token ...) works.
    let token = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT on stdout, nothing else: {token:?}"
    );

    for codec in codecs() {
        let mut client = Client::connect(&server.url(), codec).await;
        let reply = client.hello(&token).await;
        assert_eq!(reply["ok"], true, "{codec:?}: {reply}");
        assert_eq!(reply["d"]["user"]["id"], "alice", "{reply}");
        assert_eq!(reply["d"]["user"]["name"], "Alice", "{reply}");
    }
}
