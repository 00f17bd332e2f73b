//! Moderation service: live room actions (mute, kick, ban, delete, modes), the penalty ladder,
//! reports, the audit log, and users' own safety tools (blocks, personal mutes, DM settings).
//!
//! Every action is written to the store with its audit line in one transaction, applied to
//! this node's [`state::ModState`], then announced: on `sys:moderation` for every node's
//! state, and in the room concerned when its members must see it (a deleted message, a kick).

mod actions;
mod enforce;
mod ladder;
mod reports;
mod safety;
pub mod state;
pub mod users;

use std::borrow::Cow;
use std::sync::{Arc, Weak};

use dashmap::DashMap;
use guildhall_protocol::ErrorBody;
use serde::{Deserialize, Serialize};

use crate::auth::User;
use crate::broker::EventDraft;
use crate::clock::now_ms;
use crate::config::ModerationConfig;
use crate::domain::guild::roles::{permit, Action};
use crate::domain::moderation::access::{may_moderate, ModAction, Moderator};
use crate::guild::errors::{self, db_error};
use crate::guild::{guild_of_room, GuildService};
use crate::hub::event::LogEvent;
use crate::hub::{Hub, SystemListener};
use crate::store::guild::{members, GuildDb};
use crate::store::moderation::{audit, penalties, restrictions, safety as safety_store};
use crate::store::to_i64;
use state::{Change, ModState, StoreView, SYS_EVENT, SYS_ROOM};
use users::NodeUsers;

pub use enforce::{GuildSpeaker, SendVerdict};
pub use ladder::Accountability;

pub struct ModerationService {
    db: Arc<GuildDb>,
    hub: Arc<Hub>,
    guilds: Arc<GuildService>,
    config: ModerationConfig,
    pub state: ModState,
    pub users: Arc<NodeUsers>,
    /// When each user last spoke in each room, for slow mode (per node).
    last_sent: DashMap<(Arc<str>, Arc<str>), u64>,
}

impl ModerationService {
    pub fn new(
        db: Arc<GuildDb>,
        hub: Arc<Hub>,
        guilds: Arc<GuildService>,
        config: ModerationConfig,
    ) -> Arc<Self> {
        let service = Arc::new(Self {
            db,
            hub,
            guilds,
            config,
            state: ModState::default(),
            users: Arc::new(NodeUsers::default()),
            last_sent: DashMap::new(),
        });
        let listener = Arc::new(Listener {
            service: Arc::downgrade(&service),
        });
        service.hub.rooms.set_system_listener(SYS_ROOM, listener);
        service
    }

    /// Loads what is in force and starts following `sys:moderation`.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.hub
            .broker
            .subscribe(SYS_ROOM)
            .await
            .map_err(|e| anyhow::anyhow!("subscribing to {SYS_ROOM}: {e}"))?;
        self.refresh()
            .await
            .map_err(|e| anyhow::anyhow!("loading moderation state: {}", e.msg))?;
        Ok(())
    }

    /// Reloads the in-memory state from the store. Also run periodically, so a change whose
    /// announcement was lost (the broker was down) still reaches every node.
    pub async fn refresh(&self) -> Result<(), ErrorBody> {
        // A change applied while the store was read wins; read again (a few times at most:
        // the 30 s refresh will come back anyway).
        for _ in 0..3 {
            let generation = self.state.generation();
            let view = self.read_store().await?;
            if self.state.load(generation, view) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn read_store(&self) -> Result<StoreView, ErrorBody> {
        let now = to_i64(now_ms());
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let (mutes, bans, modes) = restrictions::active(&mut conn, now)
            .await
            .map_err(db_error)?;
        let chat_bans = penalties::in_force(&mut conn, now)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|p| (p.user_id, p.ends_ms))
            .collect();
        let hiders = safety_store::hiders(&mut conn).await.map_err(db_error)?;
        Ok(StoreView {
            mutes,
            bans,
            modes,
            chat_bans,
            hiders,
        })
    }

    pub fn sweep(&self) {
        let now = now_ms();
        self.state.sweep(now);
        let slowest = crate::domain::moderation::modes::MAX_SLOW_MS;
        self.last_sent
            .retain(|_, at| now.saturating_sub(*at) < slowest);
    }

    /// Applies a change here at once, then tells the other nodes.
    async fn announce(&self, change: Change) {
        self.state.apply(&change);
        self.on_local_change(&change);
        let d = match serde_json::to_value(&change) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "encoding a moderation change failed");
                return;
            }
        };
        let draft = EventDraft {
            ev: Cow::Borrowed(SYS_EVENT),
            d,
            ts_ms: now_ms(),
        };
        if let Err(e) = self.hub.publish(SYS_ROOM, draft).await {
            // Stored and applied here; other nodes pick it up at their next refresh.
            tracing::warn!(error = %e, "a moderation change was not announced");
        }
    }

    /// What a change does to this node's connections beyond the cached state.
    fn on_local_change(&self, change: &Change) {
        match change {
            Change::Ban { scope, user, .. } if scope == crate::store::moderation::PLATFORM => {
                for session in self.users.sessions(user) {
                    session.close(guildhall_protocol::close::FORBIDDEN, "banned");
                }
            }
            Change::ChatBan { .. } | Change::Ban { .. } => {}
            Change::Hides { user } if self.users.is_here(user) => {
                safety::spawn_reload(self.db.clone(), self.users.clone(), user.clone());
            }
            _ => {}
        }
    }

    /// Publishes an event in a room's own log (members see it).
    async fn room_event(&self, room: &str, ev: &'static str, payload: &impl Serialize) {
        let d = match serde_json::to_value(payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, ev, "encoding a room event failed");
                return;
            }
        };
        let draft = EventDraft {
            ev: Cow::Borrowed(ev),
            d,
            ts_ms: now_ms(),
        };
        if let Err(e) = self.hub.publish(room, draft).await {
            tracing::warn!(error = %e, room, ev, "a moderation event was not published");
        }
    }

    /// Checks that `actor` may take `action` on `target` (a user id, or None for room-wide
    /// actions) in `room` (None: platform-wide).
    async fn authorize(
        &self,
        actor: &User,
        room: Option<&str>,
        target: Option<&str>,
        action: ModAction,
    ) -> Result<(), ErrorBody> {
        if actor.is_moderator() {
            return Ok(());
        }
        let Some(guild) = room.and_then(guild_of_room) else {
            return may_moderate(Moderator::None, action, 0, None, false).map_err(forbidden);
        };
        let preset = &self.guilds.preset;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let actor_role = members::get(&mut conn, guild, &actor.id)
            .await
            .map_err(db_error)?
            .map(|m| m.role);
        let who = match &actor_role {
            Some(role) if permit(preset, role, Action::Mute).is_ok() => {
                Moderator::GuildRank(preset.role(role).map_or(u32::MAX, |r| r.rank))
            }
            _ => Moderator::None,
        };
        let officer_rank = match who {
            Moderator::GuildRank(rank) => rank,
            _ => 0,
        };
        let target_rank = match target {
            Some(t) => members::get(&mut conn, guild, t)
                .await
                .map_err(db_error)?
                .and_then(|m| preset.role(&m.role).map(|r| r.rank)),
            None => None,
        };
        let target_is_mod = target.is_some_and(|t| {
            self.users
                .sessions(t)
                .first()
                .is_some_and(|s| s.user.is_moderator())
        });
        may_moderate(who, action, officer_rank, target_rank, target_is_mod).map_err(forbidden)
    }

    /// Writes an audit line inside the caller's transaction.
    async fn audit(
        conn: &mut sqlx::AnyConnection,
        actor: &User,
        action: &str,
        target: Option<&str>,
        room: Option<&str>,
        reason: Option<&str>,
        details: Option<&str>,
    ) -> Result<(), ErrorBody> {
        let line = audit::NewAudit {
            actor: (&actor.id, &actor.name),
            action,
            target,
            room,
            reason,
            details,
            now_ms: to_i64(now_ms()),
        };
        audit::record(conn, &line).await.map_err(db_error)
    }

    /// A user's name as this node knows it (from a live connection), else their id.
    fn name_of(&self, user: &str) -> String {
        self.users
            .sessions(user)
            .first()
            .map_or_else(|| user.to_owned(), |s| s.user.name.to_string())
    }
}

/// Hears `sys:moderation` for the service without keeping it alive.
struct Listener {
    service: Weak<ModerationService>,
}

impl SystemListener for Listener {
    fn event(&self, event: &LogEvent) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        if event.ev != SYS_EVENT {
            return;
        }
        match Change::deserialize(&event.d) {
            Ok(change) => {
                service.state.apply(&change);
                service.on_local_change(&change);
            }
            Err(e) => tracing::warn!(error = %e, "an unreadable moderation change"),
        }
    }

    fn reset(&self, _room: &str) {
        let Some(service) = self.service.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            if let Err(e) = service.refresh().await {
                tracing::warn!(error = %e.msg, "reloading moderation state failed");
            }
        });
    }
}

fn forbidden(denied: impl std::fmt::Display) -> ErrorBody {
    errors::forbidden(denied.to_string())
}
