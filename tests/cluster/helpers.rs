//! Real node processes on loopback ports against Redis and PostgreSQL, each test with its own
//! Redis key prefix and PostgreSQL schema; a Redis server of its own and a cuttable TCP proxy
//! in front of PostgreSQL for the failure tests.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use guildhall::auth::Authenticator;
use guildhall::config::Secret;
use guildhall_protocol::Codec;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

#[path = "../common/client.rs"]
mod client;
pub use client::*;

pub const SECRET: &str = "cluster-test-secret";

pub fn database_url() -> String {
    std::env::var("GUILDHALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn redis_url() -> String {
    std::env::var("GUILDHALL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}{:012x}", n & 0xffff_ffff_ffff)
}

/// A port nobody listens on right now.
pub async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

/// Fails (never skips) when a service the tests need is not running.
pub async fn require(addr: &str, what: &str, how: &str) {
    if TcpStream::connect(addr).await.is_err() {
        panic!("{what} is not reachable at {addr}: {how}");
    }
}

pub struct Cluster {
    pub prefix: String,
    pub schema: String,
    pub redis_url: String,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    auth: Authenticator,
}

impl Cluster {
    pub async fn new() -> Self {
        Self::with_redis(redis_url()).await
    }

    pub async fn with_redis(redis_url: String) -> Self {
        require(
            "127.0.0.1:5432",
            "PostgreSQL",
            "start it with `pg_ctlcluster 15 main start` (or set GUILDHALL_TEST_DATABASE_URL)",
        )
        .await;
        if redis_url == self::redis_url() {
            require(
                "127.0.0.1:6379",
                "Redis",
                "start it with `redis-server --daemonize yes` (or set GUILDHALL_TEST_REDIS_URL)",
            )
            .await;
        }
        Self {
            prefix: unique("t"),
            schema: unique("c_"),
            redis_url,
            database_url: database_url(),
            dir: tempfile::tempdir().expect("tempdir"),
            auth: Authenticator::hs256(&Secret::new(SECRET)),
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.auth
            .mint(user, Some(&format!("{user} name")), &[], 3600)
            .expect("mint")
    }

    pub async fn node(&self, name: &str) -> Node {
        self.node_with(name, &self.database_url, &[]).await
    }

    /// Starts a node process and waits until it answers `/healthz`.
    pub async fn node_with(&self, name: &str, database_url: &str, env: &[(&str, &str)]) -> Node {
        let port = free_port().await;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let mut command = Command::new(env!("CARGO_BIN_EXE_guildhall"));
        command
            .args(["serve", "--bind", &addr.to_string(), "--node-id", name])
            .args([
                "--redis-url",
                &self.redis_url,
                "--database-url",
                database_url,
            ])
            .arg("--data-dir")
            .arg(self.dir.path().join(name))
            .env("GUILDHALL_JWT_SECRET", SECRET)
            .env("GUILDHALL_REDIS_PREFIX", &self.prefix)
            .env("GUILDHALL_DATABASE_SCHEMA", &self.schema)
            .env("GUILDHALL_CHAT__MIN_GAP_MS", "0")
            .env("GUILDHALL_CHAT__MAX_PER_WINDOW", "100000")
            .env("GUILDHALL_CHAT__REPEAT_WINDOW_MS", "0")
            .env("GUILDHALL_LIMITS__FRAMES_PER_SEC", "10000")
            .env("GUILDHALL_LIMITS__FRAME_BURST", "10000")
            .env("GUILDHALL_SHUTDOWN_GRACE_MS", "3000")
            .env(
                "RUST_LOG",
                std::env::var("GUILDHALL_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("spawn guildhall");
        let node = Node {
            name: name.to_owned(),
            addr,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(addr).await.is_ok() && http_get(addr, "/healthz").await.0 == 200 {
                return node;
            }
            assert!(Instant::now() < deadline, "node {name} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A connected platform moderator.
    pub async fn moderator(&self, node: &Node, user: &str, codec: Codec) -> Client {
        let token = self
            .auth
            .mint(
                user,
                Some(&format!("{user} name")),
                &["moderator".to_owned()],
                3600,
            )
            .expect("mint");
        let mut client = Client::connect(&node.url(), codec).await;
        let reply = client.hello(&token).await;
        assert_eq!(reply["ok"], true, "hello on {}: {reply}", node.name);
        client
    }

    /// A client on a node that said hello (and, optionally, joined a room).
    pub async fn client(&self, node: &Node, user: &str, codec: Codec) -> Client {
        let mut client = Client::connect(&node.url(), codec).await;
        let reply = client.hello(&self.token(user)).await;
        assert_eq!(reply["ok"], true, "hello on {}: {reply}", node.name);
        client
    }

    pub async fn member(
        &self,
        node: &Node,
        user: &str,
        codec: Codec,
        room: &str,
    ) -> (Client, Value) {
        let mut client = self.client(node, user, codec).await;
        let reply = client.request("room.join", json!({ "room": room })).await;
        assert_eq!(reply["ok"], true, "join on {}: {reply}", node.name);
        (client, reply["d"].clone())
    }

    /// Resumes on a node with `hello.resume`; the hello reply's data.
    pub async fn resume(
        &self,
        node: &Node,
        user: &str,
        codec: Codec,
        room: &str,
        ep: &Value,
        off: u64,
    ) -> (Client, Value) {
        let mut client = Client::connect(&node.url(), codec).await;
        let hello = json!({ "token": self.token(user), "v": 1, "resume": [{ "room": room, "ep": ep, "off": off }] });
        let reply = client.request("hello", hello).await;
        assert_eq!(reply["ok"], true, "resume on {}: {reply}", node.name);
        (client, reply["d"].clone())
    }

    /// Every stored message of a room, straight from PostgreSQL.
    pub async fn stored_texts(&self, room: &str) -> Vec<String> {
        let pool = sqlx::PgPool::connect(&self.database_url)
            .await
            .expect("connect");
        let sql = format!(
            "SELECT text FROM \"{}\".chat_messages WHERE room = $1 ORDER BY id",
            self.schema
        );
        sqlx::query_scalar(&sql)
            .bind(room)
            .fetch_all(&pool)
            .await
            .expect("query")
    }

    /// Drops the test's schema.
    pub async fn cleanup(self) {
        if let Ok(pool) = sqlx::PgPool::connect(&self.database_url).await {
            let _ = sqlx::query(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ))
            .execute(&pool)
            .await;
        }
    }
}

pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    child: Child,
}

impl Node {
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// SIGKILL: no drain, no flush.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, as a deploy would; returns when the process has exited.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("pid").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits")
            .expect("status")
    }
}

/// A Redis server of the test's own, so it can be killed and restarted empty.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub async fn start() -> Self {
        let port = free_port().await;
        let mut redis = Self { port, child: None };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the server; everything it held is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    pub async fn restart_empty(&mut self) {
        self.kill().await;
        self.spawn().await;
    }
}

/// A TCP proxy that can cut every connection and refuse new ones, to make a database
/// unreachable while it keeps running.
pub struct Proxy {
    pub port: u16,
    up: Arc<parking_lot::Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(parking_lot::Mutex::new(CancellationToken::new()));
        let stop = CancellationToken::new();
        let (shared, stopped) = (up.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                let cut = shared.lock().clone();
                if cut.is_cancelled() {
                    continue; // down: the connection is dropped at once
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Self { port, up, stop }
    }

    /// Cuts every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.lock().cancel();
    }

    pub fn restore(&self) {
        *self.up.lock() = CancellationToken::new();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn chat_offsets(msgs: &[Value]) -> Vec<u64> {
    msgs.iter()
        .map(|m| m["off"].as_u64().expect("off"))
        .collect()
}

/// The server-to-server API key the guild tests' nodes are configured with.
pub const API_KEY: &str = "cluster-test-api-key";

impl Cluster {
    /// A node with the server-to-server API on (`GUILDHALL_API_KEY`).
    pub async fn guild_node(&self, name: &str) -> Node {
        self.node_with(name, &self.database_url, &[("GUILDHALL_API_KEY", API_KEY)])
            .await
    }

    /// Runs a statement against the test's database; the rows it touched. Name tables with
    /// the schema: `"{schema}".guild_transfers`.
    pub async fn sql_exec(&self, sql: &str) -> u64 {
        let pool = sqlx::PgPool::connect(&self.database_url)
            .await
            .expect("connect");
        let done = sqlx::query(sql).execute(&pool).await.expect("sql");
        pool.close().await;
        done.rows_affected()
    }

    /// One BIGINT value from the test's database (`None` for SQL NULL).
    pub async fn sql_i64(&self, sql: &str) -> Option<i64> {
        let pool = sqlx::PgPool::connect(&self.database_url)
            .await
            .expect("connect");
        let value: Option<i64> = sqlx::query_scalar(sql).fetch_one(&pool).await.expect("sql");
        pool.close().await;
        value
    }
}

/// A call to the node's `/api` with the test API key.
pub async fn api(node: &Node, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    http_json(node.addr, method, path, Some(API_KEY), body).await
}

/// Credits a user's wallet with DNA through `/api`; the new balance.
pub async fn credit_dna(node: &Node, user: &str, amount: u64, idem: &str) -> u64 {
    let body = json!({ "currency": "dna", "amount": amount, "idem": idem });
    let (status, reply) = api(
        node,
        "POST",
        &format!("/api/wallets/{user}/credit"),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "credit {user}: {reply}");
    reply["balance"].as_u64().expect("balance")
}
