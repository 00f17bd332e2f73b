//! Logging: human-readable by default, JSON lines on request; `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // `try_init` so tests that start several servers in one process do not panic.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
