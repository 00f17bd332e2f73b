//! Command-line options shared by every scenario.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    Guildhall,
    Socketio,
}

impl TargetKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Guildhall => "guildhall",
            Self::Socketio => "socketio",
        }
    }
}

#[derive(Clone, Debug, Args)]
pub struct Common {
    /// A running server's WebSocket URL; without it a release server is started here.
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Which server: Guildhall, or the Socket.IO peer for comparison.
    #[arg(long, value_enum, default_value = "guildhall", global = true)]
    pub target: TargetKind,
    /// HS256 secret for tokens (the server's `jwt_secret`).
    #[arg(
        long,
        env = "GUILDHALL_JWT_SECRET",
        default_value = "loadtest-secret",
        global = true
    )]
    pub jwt_secret: String,
    /// PID of a running server, to read its CPU and memory.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// The core a running server is pinned to, to read its busy time (softirq included).
    #[arg(long, global = true)]
    pub server_core: Option<usize>,
    /// The core this generator pins itself to.
    #[arg(long, default_value_t = 1, global = true)]
    pub generator_core: usize,
    /// The core a server started here is pinned to.
    #[arg(long, default_value_t = 0, global = true)]
    pub spawn_core: usize,
    /// Path of the server binary to start (default: the workspace's release build).
    #[arg(long, global = true)]
    pub server_bin: Option<PathBuf>,
    /// Seconds of measurement (after warm-up).
    #[arg(long, default_value_t = 10.0, global = true)]
    pub duration: f64,
    /// Write the report as JSON.
    #[arg(long, global = true)]
    pub json: Option<PathBuf>,
    /// Write the latency distribution as SVG.
    #[arg(long, global = true)]
    pub plot: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, global = true)]
    pub quiet: bool,
}
