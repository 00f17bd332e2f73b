//! A user's own safety tools: blocks (at most 100; silent), personal mutes of a user or a
//! room (silent; filter pushes for the muter only), and who may send them DMs.

use std::collections::HashSet;
use std::sync::Arc;

use guildhall_protocol::{ErrorBody, ErrorCode, PersonalMute, PersonalMutes, Settings, UserList};

use super::state::Change;
use super::users::NodeUsers;
use super::ModerationService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::moderation::access::{DmPolicy, MAX_BLOCKS};
use crate::domain::room::{is_valid_user_id, RoomName};
use crate::guild::db_error;
use crate::guild::errors::invalid;
use crate::session::handle::Hides;
use crate::store::guild::GuildDb;
use crate::store::moderation::safety;
use crate::store::to_i64;

const USER_PREFIX: &str = "user:";
/// Most personally muted users, and most muted rooms, one user keeps.
const MAX_PERSONAL_MUTES: usize = 100;
const ROOM_PREFIX: &str = "room:";

impl ModerationService {
    pub async fn block(&self, user: &User, target: &str) -> Result<(), ErrorBody> {
        if !is_valid_user_id(target) || target == &*user.id {
            return Err(invalid("block another user, by id"));
        }
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let added = safety::block(&mut tx, &user.id, target, to_i64(now_ms()))
            .await
            .map_err(db_error)?;
        let count = safety::count_blocks(&mut tx, &user.id)
            .await
            .map_err(db_error)?;
        if added && usize::try_from(count).unwrap_or(usize::MAX) > MAX_BLOCKS {
            return Err(ErrorBody::new(
                ErrorCode::LimitReached,
                format!("at most {MAX_BLOCKS} blocked users"),
            ));
        }
        tx.commit().await.map_err(db_error)?;
        self.hides_changed(user).await;
        Ok(())
    }

    pub async fn unblock(&self, user: &User, target: &str) -> Result<(), ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        safety::unblock(&mut conn, &user.id, target)
            .await
            .map_err(db_error)?;
        drop(conn);
        self.hides_changed(user).await;
        Ok(())
    }

    pub async fn blocks(&self, user: &User) -> Result<UserList, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let users = safety::blocked_by(&mut conn, &user.id)
            .await
            .map_err(db_error)?;
        Ok(UserList { users })
    }

    pub async fn personal_mute(
        &self,
        user: &User,
        req: PersonalMute,
        on: bool,
    ) -> Result<(), ErrorBody> {
        let target = match (req.user, req.room) {
            (Some(u), None) if is_valid_user_id(&u) && u != *user.id => format!("{USER_PREFIX}{u}"),
            (None, Some(r)) if RoomName::parse(&r).is_ok() => format!("{ROOM_PREFIX}{r}"),
            _ => return Err(invalid("mute one other user or one room")),
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        if on {
            // Bounded like blocks: 100 users and 100 rooms.
            let kind = if target.starts_with(USER_PREFIX) { USER_PREFIX } else { ROOM_PREFIX };
            let held = safety::mutes_of(&mut conn, &user.id)
                .await
                .map_err(db_error)?;
            let same_kind = held.iter().filter(|t| t.starts_with(kind)).count();
            if same_kind >= MAX_PERSONAL_MUTES && !held.contains(&target) {
                return Err(ErrorBody::new(
                    ErrorCode::LimitReached,
                    format!("at most {MAX_PERSONAL_MUTES} muted users and {MAX_PERSONAL_MUTES} muted rooms"),
                ));
            }
            safety::add_mute(&mut conn, &user.id, &target).await
        } else {
            safety::remove_mute(&mut conn, &user.id, &target).await
        }
        .map_err(db_error)?;
        drop(conn);
        self.hides_changed(user).await;
        Ok(())
    }

    pub async fn personal_mutes(&self, user: &User) -> Result<PersonalMutes, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let targets = safety::mutes_of(&mut conn, &user.id)
            .await
            .map_err(db_error)?;
        let mut mutes = PersonalMutes {
            users: Vec::new(),
            rooms: Vec::new(),
        };
        for t in targets {
            if let Some(u) = t.strip_prefix(USER_PREFIX) {
                mutes.users.push(u.to_owned());
            } else if let Some(r) = t.strip_prefix(ROOM_PREFIX) {
                mutes.rooms.push(r.to_owned());
            }
        }
        Ok(mutes)
    }

    pub async fn settings(&self, user: &User) -> Result<Settings, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let dm = safety::dm_setting(&mut conn, &user.id)
            .await
            .map_err(db_error)?
            .and_then(|d| DmPolicy::parse(&d))
            .unwrap_or_default();
        Ok(Settings {
            dm: dm.as_str().to_owned(),
        })
    }

    pub async fn set_settings(&self, user: &User, req: Settings) -> Result<Settings, ErrorBody> {
        let dm = DmPolicy::parse(&req.dm).ok_or_else(|| invalid("dm is anyone or friends"))?;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        safety::set_dm(&mut conn, &user.id, dm.as_str())
            .await
            .map_err(db_error)?;
        Ok(Settings {
            dm: dm.as_str().to_owned(),
        })
    }

    /// A user's hides changed: reload them here now, and on other nodes through the log.
    async fn hides_changed(&self, user: &User) {
        if self.users.is_here(&user.id) {
            match reload_hides(&self.db, &user.id).await {
                Ok(hides) => self.users.apply_hides(&user.id, hides),
                Err(e) => tracing::warn!(error = %e.msg, "reloading hides failed"),
            }
        }
        self.announce(Change::Hides {
            user: user.id.to_string(),
        })
        .await;
    }

    /// Loads a connecting user's hides, off the hello's path.
    pub fn load_hides(&self, user: &Arc<str>) {
        spawn_reload(self.db.clone(), self.users.clone(), user.to_string());
    }
}

/// Reloads a user's hides for their connections on this node, off the caller's path.
pub(super) fn spawn_reload(db: Arc<GuildDb>, users: Arc<NodeUsers>, user: String) {
    tokio::spawn(async move {
        match reload_hides(&db, &user).await {
            Ok(hides) => users.apply_hides(&user, hides),
            Err(e) => tracing::warn!(error = %e.msg, "loading hides failed"),
        }
    });
}

/// Reads a user's blocks and personal mutes.
async fn reload_hides(db: &GuildDb, user: &str) -> Result<Hides, ErrorBody> {
    let mut conn = db.pool().acquire().await.map_err(db_error)?;
    let blocked = safety::blocked_by(&mut conn, user)
        .await
        .map_err(db_error)?;
    let mutes = safety::mutes_of(&mut conn, user).await.map_err(db_error)?;
    let mut users: HashSet<Arc<str>> = blocked.into_iter().map(Arc::from).collect();
    let mut rooms = HashSet::new();
    for t in mutes {
        if let Some(u) = t.strip_prefix(USER_PREFIX) {
            users.insert(Arc::from(u));
        } else if let Some(r) = t.strip_prefix(ROOM_PREFIX) {
            rooms.insert(Arc::from(r));
        }
    }
    Ok(Hides { users, rooms })
}
