//! Everything a connection needs from the node, built once in `app.rs` and shared.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Authenticator;
use crate::chat::ChatService;
use crate::config::Config;
use crate::guild::GuildService;
use crate::hub::Hub;
use crate::idem::{IdemCache, SharedIdem};
use crate::metrics::Metrics;
use crate::moderation::ModerationService;
use crate::session::limits::ConnRegistry;
use crate::store::Store;
use crate::stream::StreamService;
use crate::war::WarService;

pub struct Services {
    pub config: Arc<Config>,
    pub node_id: Arc<str>,
    pub auth: Authenticator,
    pub hub: Arc<Hub>,
    pub chat: ChatService,
    pub guilds: Arc<GuildService>,
    pub moderation: Arc<ModerationService>,
    pub wars: Arc<WarService>,
    pub streams: Arc<StreamService>,
    pub store: Arc<dyn Store>,
    /// First results of mutating ops by (user, idem), as the reply's `d`.
    pub idem: IdemCache<serde_json::Value>,
    pub metrics: Arc<Metrics>,
    pub conns: Arc<ConnRegistry>,
    /// Cancelled when the node starts draining: sessions close with 1001.
    pub shutdown: CancellationToken,
    /// Every session task, so a drain can wait for them.
    pub sessions: TaskTracker,
    next_session: AtomicU64,
}

impl Services {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<Config>,
        node_id: Arc<str>,
        auth: Authenticator,
        hub: Arc<Hub>,
        chat: ChatService,
        guilds: Arc<GuildService>,
        moderation: Arc<ModerationService>,
        wars: Arc<WarService>,
        streams: Arc<StreamService>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        shared_idem: Option<Arc<dyn SharedIdem>>,
    ) -> Self {
        let ttl = std::time::Duration::from_millis(config.chat.idem_ttl_ms);
        let idem = IdemCache::with_shared(ttl, shared_idem);
        let conns = Arc::new(ConnRegistry::new(&config.limits));
        Self {
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
            idem,
            metrics,
            conns,
            shutdown,
            sessions: TaskTracker::new(),
            next_session: AtomicU64::new(1),
        }
    }

    /// A session id unique within this node's lifetime, prefixed with the node id.
    pub fn new_session_id(&self) -> Arc<str> {
        let n = self.next_session.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.node_id).into()
    }
}
