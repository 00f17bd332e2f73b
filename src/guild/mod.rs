//! Guild service: the guild rules of `domain/guild` joined to the store, the wallet ledger and
//! the `guild:<id>` room logs.
//!
//! Every change to a guild is one store transaction that begins by locking the guild
//! ([`crate::store::guild::lock_guild`]); checks (role, rank, capacity, officer count, vault
//! limits) are made inside it, so they hold whatever node the competing request came to. The
//! event announcing a change is published after the commit: what members see has happened.

pub mod errors;
pub mod jobs;
mod lifecycle;
mod logins;
mod membership;
mod presence;
mod progress;
pub mod run_credits;
mod vault;
pub mod views;

use std::borrow::Cow;
use std::sync::Arc;

use dashmap::DashMap;
use guildhall_protocol::ErrorBody;
use serde::Serialize;

use crate::broker::EventDraft;
use crate::clock::now_ms;
use crate::domain::filter::WordFilter;
use crate::domain::guild::preset::Preset;
use crate::hub::Hub;
use crate::store::guild::{lock_guild, members, GuildDb, Tx};
use crate::store::{to_i64, to_u64};

pub use errors::db_error;
pub use presence::ChatGate;
pub use progress::{LevelUpNote, RunCredit};

pub struct GuildService {
    pub preset: Arc<Preset>,
    db: Arc<GuildDb>,
    hub: Arc<Hub>,
    node_id: Arc<str>,
    /// Guild names pass the same slur filter as chat.
    filter: WordFilter,
    /// Users whose login was already counted today (by UTC day), so a reconnecting client's
    /// hello costs no store read. Swept when the day changes.
    logins_seen: DashMap<Arc<str>, logins::LoginSeen>,
    /// Hellos noted since the last count of logins.
    logins_pending: parking_lot::Mutex<std::collections::HashSet<Arc<str>>>,
}

/// The room of a guild.
pub fn room_of(guild: i64) -> String {
    format!("guild:{guild}")
}

/// The guild id of a `guild:<id>` room name.
pub fn guild_of_room(room: &str) -> Option<i64> {
    room.strip_prefix("guild:")?.parse().ok()
}

impl GuildService {
    pub fn new(preset: Arc<Preset>, db: Arc<GuildDb>, hub: Arc<Hub>, node_id: Arc<str>) -> Self {
        Self {
            preset,
            db,
            hub,
            node_id,
            filter: WordFilter::builtin(),
            logins_seen: DashMap::new(),
            logins_pending: parking_lot::Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// Forgets logins of earlier days.
    pub fn sweep(&self) {
        let today = crate::domain::guild::vault::day_of(now_ms());
        self.logins_seen.retain(|_, seen| seen.day >= today);
    }

    pub fn db(&self) -> &Arc<GuildDb> {
        &self.db
    }

    /// Begins a transaction holding the guild's write lock.
    async fn locked(&self, guild: i64) -> Result<Tx, ErrorBody> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !lock_guild(&mut tx, guild).await.map_err(db_error)? {
            return Err(errors::no_guild());
        }
        Ok(tx)
    }

    /// The actor's membership of the guild, inside a transaction.
    async fn actor(tx: &mut Tx, guild: i64, user: &str) -> Result<members::MemberRow, ErrorBody> {
        members::get(tx, guild, user)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::not_member)
    }

    /// Announces a change in the guild's room. The change is committed already; if the room
    /// log is unreachable the event is lost for live members (they see it on their next
    /// `guild.get`), which is logged rather than reported to the actor as a failure.
    async fn publish(&self, guild: i64, ev: &'static str, payload: &impl Serialize) {
        let d = match serde_json::to_value(payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, ev, "encoding a guild event failed");
                return;
            }
        };
        let draft = EventDraft {
            ev: Cow::Borrowed(ev),
            d,
            ts_ms: now_ms(),
        };
        if let Err(e) = self.hub.publish(&room_of(guild), draft).await {
            tracing::warn!(error = %e, guild, ev, "a guild event was not published");
        }
    }
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

fn now() -> i64 {
    to_i64(now_ms())
}
