//! The server under test: started here (a release build pinned to a core, on loopback) or
//! named by the user (`--url`, `--server-pid`, `--server-core`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A running server and what the generator needs to measure it.
pub struct Server {
    pub url: String,
    pub pid: Option<u32>,
    pub core: Option<usize>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A server someone else runs.
    pub fn attach(url: String, pid: Option<u32>, core: Option<usize>) -> Self {
        Self {
            url,
            pid,
            core,
            child: None,
            _dir: None,
        }
    }

    pub async fn stop(mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// The workspace's release binary of the server.
pub fn default_server_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/guildhall")
}

pub fn socketio_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/socketio")
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Settings for a Guildhall node under load: chat limits meant for people are lifted (the
/// benchmark measures fan-out, not the anti-spam rules), and the store lives on tmpfs when
/// there is one, so the figures are the server's and not the disk's.
pub struct GuildhallOptions<'a> {
    pub bin: &'a Path,
    pub core: Option<usize>,
    pub secret: &'a str,
    pub redis_url: Option<&'a str>,
    pub node_id: Option<&'a str>,
    pub redis_prefix: Option<&'a str>,
}

/// What a node needs beyond [`GuildhallOptions`] for the store-backed scenarios: PostgreSQL
/// (URL and a schema of the run's own, which the node creates and migrates), the
/// server-to-server API key, and any further `GUILDHALL_*` settings (applied last, so they
/// override the load settings above). The default adds nothing: SQLite, no API.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuildhallExtras<'a> {
    pub database_url: Option<&'a str>,
    pub database_schema: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub env: &'a [(&'a str, &'a str)],
}

pub async fn start_guildhall(opts: &GuildhallOptions<'_>) -> anyhow::Result<Server> {
    start_guildhall_with(opts, &GuildhallExtras::default()).await
}

/// The nodes of a cluster: `count` release servers on one core, joined by the Redis at
/// `redis_url` under `prefix`, named `lt0`, `lt1`, …, started one at a time (the first creates
/// and migrates a shared schema). If one fails, those started are stopped.
pub struct ClusterNodes<'a> {
    pub bin: &'a Path,
    pub core: usize,
    pub secret: &'a str,
    pub redis_url: &'a str,
    pub prefix: &'a str,
    pub count: usize,
}

pub async fn start_nodes(
    cluster: &ClusterNodes<'_>,
    extras: &GuildhallExtras<'_>,
) -> anyhow::Result<Vec<Server>> {
    let mut nodes: Vec<Server> = Vec::with_capacity(cluster.count);
    for i in 0..cluster.count {
        let node_id = format!("lt{i}");
        let opts = GuildhallOptions {
            bin: cluster.bin,
            core: Some(cluster.core),
            secret: cluster.secret,
            redis_url: Some(cluster.redis_url),
            node_id: Some(&node_id),
            redis_prefix: Some(cluster.prefix),
        };
        match start_guildhall_with(&opts, extras).await {
            Ok(node) => nodes.push(node),
            Err(e) => {
                for node in nodes {
                    node.stop().await;
                }
                return Err(e.context(format!("starting node {node_id}")));
            }
        }
    }
    Ok(nodes)
}

/// A run's own part of the PostgreSQL and the Redis its nodes share: a fresh schema (the
/// first node creates and migrates it) and a fresh key prefix, removed once the nodes stop.
pub struct Store {
    pub schema: String,
    pub prefix: String,
}

/// What became of a [`Store`] after [`Store::clean`]: each part is attempted whatever became
/// of the other, and each scenario words the outcome in its report.
pub struct Cleanup {
    pub schema: anyhow::Result<()>,
    pub keys: anyhow::Result<()>,
}

impl Store {
    /// `<schema_stem><tag>` and `<prefix_stem><tag>`, one random 8-hex-digit tag for both, so
    /// runs against the same databases never share state.
    pub fn fresh(schema_stem: &str, prefix_stem: &str) -> Self {
        let tag = rand::random::<u32>();
        Self {
            schema: format!("{schema_stem}{tag:08x}"),
            prefix: format!("{prefix_stem}{tag:08x}"),
        }
    }

    /// Drops the schema, then deletes the keys under the prefix. Call it only once the nodes
    /// have stopped: a running node would write to them again.
    pub fn clean(&self, database_url: &str, redis_url: &str) -> Cleanup {
        Cleanup {
            schema: drop_schema(database_url, &self.schema),
            keys: drop_redis_keys(redis_url, &self.prefix),
        }
    }
}

/// Drops a schema and everything in it, with `psql`.
fn drop_schema(database_url: &str, schema: &str) -> anyhow::Result<()> {
    let output = std::process::Command::new("psql")
        .args([database_url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .output()
        .context("running psql")?;
    ensure!(
        output.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Deletes the run's Redis keys (the nodes' logs; they would expire in a day anyway).
fn drop_redis_keys(redis_url: &str, prefix: &str) -> anyhow::Result<()> {
    let output = std::process::Command::new("redis-cli")
        .args(["-u", redis_url, "--scan", "--pattern"])
        .arg(format!("{prefix}:*"))
        .output()
        .context("running redis-cli")?;
    ensure!(
        output.status.success(),
        "redis-cli: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let listed = String::from_utf8_lossy(&output.stdout);
    let keys: Vec<&str> = listed.lines().filter(|k| !k.is_empty()).collect();
    for chunk in keys.chunks(256) {
        let status = std::process::Command::new("redis-cli")
            .args(["-u", redis_url, "DEL"])
            .args(chunk)
            .stdout(Stdio::null())
            .status()
            .context("running redis-cli")?;
        ensure!(status.success(), "redis-cli DEL failed");
    }
    Ok(())
}

/// [`start_guildhall`] with a database, an API key or extra settings.
pub async fn start_guildhall_with(
    opts: &GuildhallOptions<'_>,
    extras: &GuildhallExtras<'_>,
) -> anyhow::Result<Server> {
    if !opts.bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p guildhall`",
            opts.bin.display()
        );
    }
    let port = free_port()?;
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")?
    } else {
        tempfile::tempdir()?
    };
    let mut command = pinned(opts.core, opts.bin);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path())
        .env("GUILDHALL_JWT_SECRET", opts.secret)
        .env("GUILDHALL_CHAT__MIN_GAP_MS", "0")
        .env("GUILDHALL_CHAT__MAX_PER_WINDOW", "1000000000")
        .env("GUILDHALL_CHAT__REPEAT_WINDOW_MS", "0")
        .env("GUILDHALL_CHAT__FILTER", "off")
        .env("GUILDHALL_LIMITS__FRAMES_PER_SEC", "1000000")
        .env("GUILDHALL_LIMITS__FRAME_BURST", "1000000")
        .env("GUILDHALL_LIMITS__MAX_CONNS_PER_USER", "0")
        .env("GUILDHALL_LIMITS__MAX_ROOMS_PER_CONN", "64")
        .env("RUST_LOG", "warn");
    if let Some(url) = opts.redis_url {
        command.args(["--redis-url", url]);
    }
    if let Some(node) = opts.node_id {
        command.args(["--node-id", node]);
    }
    if let Some(prefix) = opts.redis_prefix {
        command.env("GUILDHALL_REDIS_PREFIX", prefix);
    }
    if let Some(url) = extras.database_url {
        command.args(["--database-url", url]);
    }
    if let Some(schema) = extras.database_schema {
        command.env("GUILDHALL_DATABASE_SCHEMA", schema);
    }
    if let Some(key) = extras.api_key {
        command.env("GUILDHALL_API_KEY", key);
    }
    for (name, value) in extras.env {
        command.env(name, value);
    }
    let child = command
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting guildhall")?;
    let url = format!("ws://127.0.0.1:{port}/ws");
    wait_listening(port).await?;
    Ok(Server {
        url,
        pid: child.id(),
        core: opts.core,
        child: Some(child),
        _dir: Some(dir),
    })
}

pub async fn start_socketio(
    core: Option<usize>,
    redis_url: Option<&str>,
) -> anyhow::Result<Server> {
    let dir = socketio_dir();
    if !dir.join("node_modules").is_dir() {
        bail!(
            "the Socket.IO peer is not installed: run `npm ci` in {}",
            dir.display()
        );
    }
    let port = free_port()?;
    let mut command = pinned(core, Path::new("node"));
    command
        .arg("server.js")
        .current_dir(&dir)
        .env("PORT", port.to_string());
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting node")?;
    wait_listening(port).await?;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    Ok(Server {
        url,
        pid: child.id(),
        core,
        child: Some(child),
        _dir: None,
    })
}

/// A command run under `taskset -c <core>` when a core is given.
fn pinned(core: Option<usize>, program: &Path) -> Command {
    match core {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        }
        None => Command::new(program),
    }
}

async fn wait_listening(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not listen on port {port} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Pins the calling thread (the generator runs on one thread) to a core.
pub fn pin_self(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}
