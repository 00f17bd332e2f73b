//! Test servers on port 0 with a fresh data directory each; the protocol client is shared with
//! the other test binaries.

use std::net::SocketAddr;

use guildhall::auth::Authenticator;
use guildhall::config::{Config, Secret};
use guildhall::Server;
use guildhall_protocol::Codec;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[path = "../common/client.rs"]
mod client;
pub use client::*;

pub const SECRET: &str = "spine-test-secret";
/// The server-to-server API key of test servers.
pub const API_KEY: &str = "spine-test-api-key";

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: TempDir,
    stop: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
    auth: Authenticator,
}

/// A config for tests: fixed secret, fresh data dir, and chat limits loose enough that tests
/// can chat quickly (tests of the limits set their own).
pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config {
        bind: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        jwt_secret: Some(Secret::new(SECRET)),
        api_key: Some(Secret::new(API_KEY)),
        ..Config::default()
    };
    config.chat.min_gap_ms = 0;
    config.chat.max_per_window = 100_000;
    config.chat.repeat_window_ms = 0;
    config.limits.frames_per_sec = 10_000;
    config.limits.frame_burst = 10_000;
    config.shutdown_grace_ms = 2_000;
    config
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), tweak).await
    }

    /// Starts on an existing data directory (a restart).
    pub async fn start_in(dir: TempDir, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(&dir);
        tweak(&mut config);
        let server = Server::build(config).await.expect("server builds");
        let addr = server.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let handle =
            tokio::spawn(server.run_until_stopped(async move { stopped.cancelled().await }));
        Self {
            addr,
            dir,
            stop,
            handle,
            auth: Authenticator::hs256(&Secret::new(SECRET)),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn token(&self, user: &str) -> String {
        self.auth
            .mint(user, Some(&format!("{user} name")), &[], 3600)
            .expect("mint")
    }

    /// A token with every claim given (roles, `member`, `created_at`).
    pub fn token_with(&self, claims: guildhall::auth::Claims) -> String {
        self.auth.mint_claims(&claims).expect("mint")
    }

    /// A connected platform moderator.
    pub async fn moderator(&self, user: &str, codec: Codec) -> Client {
        let token = self.token_with(guildhall::auth::Claims {
            sub: user.to_owned(),
            name: Some(format!("{user} name")),
            exp: guildhall::auth::unix_now_secs() + 3600,
            roles: vec!["moderator".to_owned()],
            ..Default::default()
        });
        self.client_with_token(&token, codec).await
    }

    pub async fn client_with_token(&self, token: &str, codec: Codec) -> Client {
        let mut client = Client::connect(&self.url(), codec).await;
        let reply = client.hello(token).await;
        assert_eq!(reply["ok"], true, "hello failed: {reply}");
        client
    }

    /// A connected client that has said hello.
    pub async fn client(&self, user: &str, codec: Codec) -> Client {
        let mut client = Client::connect(&self.url(), codec).await;
        let reply = client.hello(&self.token(user)).await;
        assert_eq!(reply["ok"], true, "hello failed: {reply}");
        client
    }

    /// A client that joined `room` (history and position in the reply).
    pub async fn member(&self, user: &str, codec: Codec, room: &str) -> (Client, Value) {
        let mut client = self.client(user, codec).await;
        let reply = client.request("room.join", json!({ "room": room })).await;
        assert_eq!(reply["ok"], true, "join failed: {reply}");
        (client, reply["d"].clone())
    }

    /// Starts draining and waits for the node to stop; the data directory is handed back.
    pub async fn stop(self) -> TempDir {
        self.stop.cancel();
        self.handle.await.expect("server task").expect("server run");
        self.dir
    }

    pub fn begin_stop(&self) {
        self.stop.cancel();
    }

    pub async fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await
    }

    /// A call to the server-to-server API with the test key.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        http_json(self.addr, method, path, Some(API_KEY), body.as_ref()).await
    }

    /// Credits a wallet through the API.
    pub async fn credit(&self, user: &str, currency: &str, amount: u64) -> Value {
        let idem = format!("credit-{user}-{}", rand::random::<u64>());
        let body = json!({ "currency": currency, "amount": amount, "idem": idem });
        let (status, reply) = self
            .api("POST", &format!("/api/wallets/{user}/credit"), Some(body))
            .await;
        assert_eq!(status, 200, "credit: {reply}");
        reply
    }
}
