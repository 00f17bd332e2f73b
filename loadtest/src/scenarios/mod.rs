//! The scenarios. Each is bounded in connections and time and sends only to loopback.

pub mod bare;
pub mod cluster;
pub mod connect;
pub mod fanout;
pub mod idle;
pub mod members;
pub mod raid;
pub mod rooms;
pub mod spectate;

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{Common, TargetKind};
use crate::gh::Tokens;
use crate::target::{self, ClusterNodes, GuildhallExtras, GuildhallOptions, Server};

/// Starts (or attaches to) the server the options name.
pub async fn server(common: &Common) -> anyhow::Result<Server> {
    if let Some(url) = &common.url {
        return Ok(Server::attach(
            url.clone(),
            common.server_pid,
            common.server_core,
        ));
    }
    match common.target {
        TargetKind::Guildhall => {
            let bin = server_bin(common);
            let opts = GuildhallOptions {
                bin: &bin,
                core: Some(common.spawn_core),
                secret: &common.jwt_secret,
                redis_url: None,
                node_id: None,
                redis_prefix: None,
            };
            target::start_guildhall(&opts).await
        }
        TargetKind::Socketio => target::start_socketio(Some(common.spawn_core), None).await,
    }
}

/// The Guildhall binary to start: `--server-bin`, or the workspace's release build.
fn server_bin(common: &Common) -> PathBuf {
    common
        .server_bin
        .clone()
        .unwrap_or_else(target::default_server_bin)
}

/// Starts `count` Guildhall nodes of a cluster on the server core, joined by the Redis at
/// `redis_url` under `prefix` (see [`target::start_nodes`]).
pub async fn start_nodes(
    common: &Common,
    redis_url: &str,
    prefix: &str,
    count: usize,
    extras: &GuildhallExtras<'_>,
) -> anyhow::Result<Vec<Server>> {
    let bin = server_bin(common);
    let cluster = ClusterNodes {
        bin: &bin,
        core: common.spawn_core,
        secret: &common.jwt_secret,
        redis_url,
        prefix,
        count,
    };
    target::start_nodes(&cluster, extras).await
}

pub fn tokens(common: &Common) -> Tokens {
    Tokens::new(&common.jwt_secret)
}

/// A spinner with a live message, hidden with `--quiet` or when stderr is not a terminal.
pub fn progress(common: &Common, what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if common.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {prefix}: {msg}") {
        bar.set_style(style);
    }
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}
