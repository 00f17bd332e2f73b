//! `cluster`: the fan-out with subscribers spread evenly over several nodes joined by Redis.
//! All nodes share the server core, so its busy time is the cluster's.

use clap::Args;

use super::fanout::{self, FanoutArgs};
use super::members::Target;
use crate::cli::Common;
use crate::report::Report;
use crate::stats::Latency;
use crate::target::{GuildhallExtras, Server};

#[derive(Clone, Debug, Args)]
pub struct ClusterArgs {
    /// Nodes to start (all on the server core).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Redis the nodes share.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    #[command(flatten)]
    pub fanout: FanoutArgs,
}

pub async fn run(common: &Common, args: &ClusterArgs) -> anyhow::Result<(Report, Latency)> {
    let prefix = format!("lt{:08x}", rand::random::<u32>());
    let nodes = super::start_nodes(
        common,
        &args.redis_url,
        &prefix,
        args.nodes.max(1),
        &GuildhallExtras::default(),
    )
    .await?;
    let tokens = super::tokens(common);
    let targets: Vec<Target> = nodes
        .iter()
        .map(|n| Target::Guildhall {
            url: n.url.clone(),
            tokens: tokens.clone(),
        })
        .collect();
    // CPU is read from the shared core; memory is not reported for several processes.
    let measured = Server::attach(nodes[0].url.clone(), None, Some(common.spawn_core));
    let outcome = fanout::run_on(common, &args.fanout, &measured, &targets, "cluster").await;
    for node in nodes {
        node.stop().await;
    }
    let (mut report, latency) = outcome?;
    report.notes.push(format!(
        "{} nodes on core {}, Redis at {}",
        args.nodes, common.spawn_core, args.redis_url
    ));
    Ok((report, latency))
}
