//! `guildhall-loadtest`: parses the scenario and its options, pins itself, runs, reports.

use clap::{Parser, Subcommand};
use guildhall_loadtest::cli::Common;
use guildhall_loadtest::scenarios::{
    self, bare, cluster, connect, fanout, idle, raid, rooms, spectate,
};
use guildhall_loadtest::{plot, target};

#[derive(Parser)]
#[command(
    name = "guildhall-loadtest",
    version,
    about = "Load generator for Guildhall (loopback only)"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// One room, many subscribers, open-loop publishers.
    Fanout(fanout::FanoutArgs),
    /// Many guild-sized rooms chatting.
    Rooms(rooms::RoomsArgs),
    /// Idle authenticated connections: server memory per connection.
    Idle(idle::IdleArgs),
    /// A connection storm: handshakes per second.
    Connect(connect::ConnectArgs),
    /// The fan-out over several nodes joined by Redis.
    Cluster(cluster::ClusterArgs),
    /// Runs through the API into a raid over several nodes, with exact totals.
    Raid(raid::RaidArgs),
    /// The floor: a bare TCP writer of the same frames, no WebSocket and no runtime.
    Bare(bare::BareArgs),
    /// The writer side of `bare` (started by it, pinned to the server core).
    #[command(hide = true)]
    BareServer(bare::BareServerArgs),
    /// One stream, many spectators over several nodes: delivery latency and CPU per delivery.
    Spectate(spectate::SpectateArgs),
    /// One process's share of `spectate`'s spectators (started by it).
    #[command(hide = true)]
    SpectateWorker(spectate::WorkerArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::BareServer(args) = &cli.scenario {
        return bare::serve(args);
    }
    // One thread on one core: the generator's cost is then exactly that core's busy time.
    if !target::pin_self(cli.common.generator_core) {
        eprintln!(
            "warning: could not pin the generator to core {}",
            cli.common.generator_core
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Scenario::SpectateWorker(args) = &cli.scenario {
        return runtime.block_on(spectate::worker(&cli.common, args));
    }
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let common = &cli.common;
    let (report, latency) = match &cli.scenario {
        Scenario::Cluster(args) => cluster::run(common, args).await?,
        Scenario::Raid(args) => raid::run(common, args).await?,
        Scenario::Bare(args) => bare::run(common, args).await?,
        Scenario::Spectate(args) => spectate::run(common, args).await?,
        scenario => {
            let server = scenarios::server(common).await?;
            let outcome = match scenario {
                Scenario::Fanout(args) => fanout::run(common, args, &server).await,
                Scenario::Rooms(args) => rooms::run(common, args, &server).await,
                Scenario::Idle(args) => idle::run(common, args, &server)
                    .await
                    .map(|r| (r, Default::default())),
                Scenario::Connect(args) => connect::run(common, args, &server).await,
                Scenario::Cluster(_)
                | Scenario::Raid(_)
                | Scenario::Bare(_)
                | Scenario::BareServer(_)
                | Scenario::Spectate(_)
                | Scenario::SpectateWorker(_) => {
                    anyhow::bail!("handled above")
                }
            };
            server.stop().await;
            outcome?
        }
    };
    println!("{}", report.table());
    if let Some(path) = &common.json {
        report.write_json(path)?;
    }
    if let Some(path) = &common.plot {
        let title = format!(
            "{} — {} ({} conns)",
            report.scenario, report.target, report.conns
        );
        plot::write_svg(
            path,
            &plot::latency_svg(&title, &[(report.target.as_str(), latency.histogram())]),
        )?;
    }
    Ok(())
}
