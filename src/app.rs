//! Wiring: builds the store, broker, hub and services from a config, serves HTTP, and drains on
//! shutdown (stop accepting, close sessions with 1001, flush writes, close the store).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Authenticator;
use crate::broker::memory::{MemoryBroker, Retention};
use crate::broker::redis::RedisBroker;
use crate::broker::Broker;
use crate::chat::ChatService;
use crate::config::Config;
use crate::guild::GuildService;
use crate::hub::{Hub, Rooms};
use crate::metrics::Metrics;
use crate::moderation::ModerationService;
use crate::services::Services;
use crate::store::chat_writer::ChatWriter;
use crate::store::guild::GuildDb;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

/// How often batched presence changes go out (the protocol promises at most once a second),
/// and noted daily logins are counted.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);
/// How often expired rate windows, idempotency keys and idle room logs are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// A built node, bound to its port, not yet serving.
pub struct Server {
    listener: TcpListener,
    services: Arc<Services>,
    /// The in-process broker, when there is no Redis; its idle logs are swept.
    memory_broker: Option<Arc<MemoryBroker>>,
    background: TaskTracker,
    /// Stops the store writer and the broker's tasks, last of all.
    infra_stop: CancellationToken,
}

/// Opens the store named by the config (PostgreSQL when `database_url` is set, else SQLite in
/// the data directory) and applies its migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match &config.database_url {
        Some(url) => Arc::new(
            PostgresStore::connect(url.expose(), config.database_schema.as_deref())
                .await
                .context("connecting to PostgreSQL")?,
        ),
        None => Arc::new(
            SqliteStore::open(&config.data_dir)
                .await
                .with_context(|| format!("opening SQLite in {}", config.data_dir.display()))?,
        ),
    };
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

impl Server {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let metrics = Arc::new(Metrics::new());
        let auth = Authenticator::from_config(&config).context("loading the JWT key")?;
        let store = open_store(&config).await?;

        let node_id: Arc<str> = config.node_id.clone().unwrap_or_else(random_node_id).into();
        let background = TaskTracker::new();
        let infra_stop = CancellationToken::new();

        let rooms = Arc::new(Rooms::new(
            metrics.clone(),
            config.chat.history_on_join as usize,
        ));
        let retention = Retention {
            max_events: config.rooms.tail_max_events,
            max_age: Duration::from_secs(config.rooms.tail_max_age_secs),
        };
        let idem_ttl = Duration::from_millis(config.chat.idem_ttl_ms);
        let (broker, memory_broker, shared_idem): (Arc<dyn Broker>, _, _) = match &config.redis_url
        {
            Some(url) => {
                let broker = RedisBroker::connect(
                    url,
                    &config.redis_prefix,
                    node_id.clone(),
                    rooms.clone(),
                    retention,
                    &background,
                    infra_stop.clone(),
                )
                .await
                .context("connecting to Redis")?;
                let shared_idem = Some(broker.shared_idem(idem_ttl));
                (Arc::new(broker), None, shared_idem)
            }
            None => {
                let broker = Arc::new(MemoryBroker::new(rooms.clone(), retention));
                (broker.clone(), Some(broker), None)
            }
        };
        let hub = Arc::new(Hub::new(rooms, broker));
        let preset = config
            .game
            .resolve()
            .context("resolving the [game] preset")?;
        let guild_db = Arc::new(
            GuildDb::open(&config)
                .await
                .context("opening the guild store")?,
        );
        let guilds = Arc::new(GuildService::new(
            Arc::new(preset),
            guild_db.clone(),
            hub.clone(),
            node_id.clone(),
        ));
        let moderation = ModerationService::new(
            guild_db.clone(),
            hub.clone(),
            guilds.clone(),
            config.moderation.clone(),
        );
        moderation.start().await.context("starting moderation")?;
        let wars = crate::war::WarService::new(crate::war::WarDeps {
            runs: config.runs.clone(),
            wars: config.wars.clone(),
            db: guild_db.clone(),
            hub: hub.clone(),
            guilds: guilds.clone(),
            moderation: moderation.clone(),
            node_id: node_id.clone(),
        });
        wars.start().await.context("starting wars and raids")?;
        let streams = crate::stream::StreamService::new(
            config.streams.clone(),
            guild_db,
            hub.clone(),
            metrics.clone(),
        );

        let writer = ChatWriter::spawn(
            store.clone(),
            config.store.batch_max,
            Duration::from_millis(config.store.write_timeout_ms),
            metrics.clone(),
            &background,
            infra_stop.clone(),
        );
        let chat = ChatService::new(
            config.clone(),
            store.clone(),
            writer,
            hub.clone(),
            metrics.clone(),
        );
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let services = Arc::new(Services::new(
            config,
            node_id,
            auth,
            hub,
            chat,
            guilds,
            moderation,
            wars,
            streams,
            store,
            metrics,
            CancellationToken::new(),
            shared_idem,
        ));
        Ok(Self {
            listener,
            services,
            memory_broker,
            background,
            infra_stop,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Serves until `stop` resolves, then drains.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            services,
            memory_broker,
            background,
            infra_stop,
        } = self;
        let ticks_stop = CancellationToken::new();
        background.spawn(presence_ticker(services.clone(), ticks_stop.clone()));
        background.spawn(sweeper(services.clone(), memory_broker, ticks_stop.clone()));
        background.spawn(crate::war::jobs::run_local(
            services.wars.clone(),
            ticks_stop.clone(),
        ));
        background.spawn(crate::stream::jobs::run(
            services.streams.clone(),
            ticks_stop.clone(),
        ));
        background.spawn(crate::guild::jobs::run(
            services.guilds.clone(),
            services.config.guilds.clone(),
            ticks_stop.clone(),
        ));

        let addr = listener.local_addr()?;
        tracing::info!(%addr, node = %services.node_id, store = services.store.kind(), broker = services.hub.broker.kind(), "serving ws://{addr}/ws");
        let shutdown = services.shutdown.clone();
        let app = crate::http::router(services.clone());
        let send_buffer = services.config.limits.socket_send_buffer;
        let listener =
            axum::serve::ListenerExt::tap_io(listener, move |tcp: &mut tokio::net::TcpStream| {
                tune_socket(tcp, send_buffer);
            });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("draining");
            shutdown.cancel();
        })
        .await
        .context("serving HTTP")?;

        // Sessions saw the cancel and are closing with 1001; give them the grace period.
        let grace = Duration::from_millis(services.config.shutdown_grace_ms);
        services.sessions.close();
        if tokio::time::timeout(grace, services.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = services.sessions.len(),
                "sessions still open after the grace period"
            );
        }
        ticks_stop.cancel();
        infra_stop.cancel();
        background.close();
        background.wait().await;
        services.store.close().await;
        services.guilds.db().close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn presence_ticker(services: Arc<Services>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PRESENCE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                services.hub.flush_presence().await;
                if let Err(e) = services.guilds.flush_logins().await {
                    tracing::warn!(error = %e.msg, "counting daily logins failed");
                }
            }
        }
    }
}

async fn sweeper(
    services: Arc<Services>,
    broker: Option<Arc<MemoryBroker>>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                services.chat.sweep();
                services.guilds.sweep();
                services.moderation.sweep();
                // Picks up changes whose announcement a broker outage lost.
                if let Err(e) = services.moderation.refresh().await {
                    tracing::warn!(error = %e.msg, "refreshing moderation state failed");
                }
                services.idem.sweep();
                if let Some(broker) = &broker {
                    broker.sweep();
                }
            }
        }
    }
}

/// Small frames must not wait for Nagle; the send buffer is bounded when configured.
fn tune_socket(tcp: &tokio::net::TcpStream, send_buffer: usize) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
    if send_buffer > 0 {
        if let Err(e) = socket2::SockRef::from(tcp).set_send_buffer_size(send_buffer) {
            tracing::debug!(error = %e, "SO_SNDBUF not set");
        }
    }
}

fn random_node_id() -> String {
    let n: u32 = rand::random();
    format!("n{:06x}", n & 0xff_ffff)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
