//! The `guildhall` command: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use guildhall::auth::Authenticator;
use guildhall::config::{CliOverrides, Config, Secret};

#[derive(Parser)]
#[command(
    name = "guildhall",
    version,
    about = "Real-time social server for games"
)]
struct Cli {
    /// TOML config file; `GUILDHALL_*` env vars and flags override it.
    #[arg(long, global = true, env = "GUILDHALL_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, generated JWT secret).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true, env = "GUILDHALL_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve WebSocket clients (default address 127.0.0.1:7700).
    Serve {
        /// Address to listen on.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Redis URL for cluster mode (env GUILDHALL_REDIS_URL); absent: in-process broker.
        #[arg(long)]
        redis_url: Option<String>,
        /// PostgreSQL URL (env GUILDHALL_DATABASE_URL); absent: SQLite in the data directory.
        #[arg(long)]
        database_url: Option<String>,
        /// This node's name (env GUILDHALL_NODE_ID); random when absent.
        #[arg(long)]
        node_id: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// PostgreSQL URL (env GUILDHALL_DATABASE_URL); absent: SQLite in the data directory.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Print a signed token for a user (HS256 secret from the config, env or data directory).
    Token {
        /// The user id (`sub`).
        user_id: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Platform role: moderator or admin (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    guildhall::telemetry::init(cli.log_json);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = CliOverrides {
        data_dir: cli.data_dir.clone(),
        ..CliOverrides::default()
    };
    match &cli.command {
        Command::Serve {
            bind,
            redis_url,
            database_url,
            node_id,
        } => {
            overrides.bind = *bind;
            overrides.redis_url = redis_url.clone();
            overrides.database_url = database_url.clone().map(Secret::new);
            overrides.node_id = node_id.clone();
        }
        Command::Migrate { database_url } => {
            overrides.database_url = database_url.clone().map(Secret::new)
        }
        Command::Token { .. } => {}
    }
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    match cli.command {
        Command::Serve { .. } => {
            let server = guildhall::Server::build(config).await?;
            server
                .run_until_stopped(guildhall::app::shutdown_signal())
                .await
        }
        Command::Migrate { .. } => {
            guildhall::app::open_store(&config).await?.close().await;
            println!("migrations applied");
            Ok(())
        }
        Command::Token {
            user_id,
            name,
            roles,
            ttl,
        } => {
            let auth = Authenticator::from_config(&config)?;
            println!("{}", auth.mint(&user_id, name.as_deref(), &roles, ttl)?);
            Ok(())
        }
    }
}
