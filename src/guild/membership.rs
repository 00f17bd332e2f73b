//! Who is in a guild and in which role: join, apply and review, invite and accept, leave, kick,
//! promote, demote, leadership transfer, protection from auto-kick.

use guildhall_protocol::{
    ev, Application, ApplicationList, GuildApply, GuildInfo, GuildProtect, GuildReview,
    GuildTarget, Invite, InviteList, MemberJoined, MemberKicked, MemberLeft, MemberRoleChanged,
    RoleChanged, TransferCancelled, TransferPending,
};

use super::errors::{self, db_error};
use super::{now, to_i64, to_u32, to_u64, views, GuildService, Tx};
use crate::auth::User;
use crate::domain::guild::levels::capacity;
use crate::domain::guild::probation::transfer_effective_at;
use crate::domain::guild::profile::JoinPolicy;
use crate::domain::guild::roles::{
    check_role_room, demotion, permit, permit_on, promotion, Action,
};
use crate::store::guild::guilds::{self, GuildRow};
use crate::store::guild::requests::{self, NewRequest, TransferRow, APPLY, INVITE};
use crate::store::guild::{is_unique_violation, members};

/// Longest application note, chars.
const MAX_NOTE: usize = 200;

impl GuildService {
    /// Joins an open guild.
    pub async fn join(&self, user: &User, guild: u64) -> Result<GuildInfo, errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        let row = self.guild_row(&mut tx, id).await?;
        match JoinPolicy::parse(&row.join_policy) {
            Some(JoinPolicy::Open) => {}
            Some(JoinPolicy::Approval) => {
                return Err(errors::forbidden(
                    "this guild reviews applications: use guild.apply",
                ))
            }
            _ => return Err(errors::forbidden("this guild is invite only")),
        }
        self.admit(&mut tx, &row, &user.id, &user.name).await?;
        self.joined(tx, id, &user.id, &user.name).await
    }

    /// Applies to a guild that reviews applications.
    pub async fn apply(&self, user: &User, req: GuildApply) -> Result<(), errors::Body> {
        let id = to_i64(req.guild);
        if req
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE)
        {
            return Err(errors::invalid(format!(
                "the note is longer than {MAX_NOTE} characters"
            )));
        }
        let mut tx = self.locked(id).await?;
        let row = self.guild_row(&mut tx, id).await?;
        match JoinPolicy::parse(&row.join_policy) {
            Some(JoinPolicy::Approval) => {}
            Some(JoinPolicy::Open) => {
                return Err(errors::invalid("this guild is open: use guild.join"))
            }
            _ => return Err(errors::forbidden("this guild is invite only")),
        }
        self.not_in_a_guild(&mut tx, &user.id).await?;
        let request = NewRequest {
            guild: id,
            user_id: &user.id,
            kind: APPLY,
            user_name: Some(&user.name),
            note: req.note.as_deref(),
            by: None,
            now_ms: now(),
        };
        insert_request(&mut tx, &request, "you have already applied to this guild").await?;
        tx.commit().await.map_err(db_error)
    }

    /// Pending applications, for those who review them.
    pub async fn applications(
        &self,
        user: &User,
        guild: u64,
    ) -> Result<ApplicationList, errors::Body> {
        let id = to_i64(guild);
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let actor = members::get(&mut conn, id, &user.id)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::not_member)?;
        permit(&self.preset, &actor.role, Action::Review).map_err(errors::denied)?;
        let rows = requests::of_guild(&mut conn, id, APPLY)
            .await
            .map_err(db_error)?;
        let applications = rows
            .into_iter()
            .map(|r| Application {
                user: views::user(&r.user_id, r.user_name.as_deref().unwrap_or(&r.user_id)),
                note: r.note,
                at: to_u64(r.created_ms),
            })
            .collect();
        Ok(ApplicationList { applications })
    }

    /// Accepts or rejects an application.
    pub async fn review(&self, user: &User, req: GuildReview) -> Result<(), errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(&self.preset, &actor.role, Action::Review).map_err(errors::denied)?;
        let application = requests::take(&mut tx, id, &req.user, APPLY)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::not_found("no application from that user"))?;
        if !req.accept {
            return tx.commit().await.map_err(db_error);
        }
        let row = self.guild_row(&mut tx, id).await?;
        let name = application.user_name.unwrap_or_else(|| req.user.clone());
        self.admit(&mut tx, &row, &req.user, &name).await?;
        self.joined(tx, id, &req.user, &name).await.map(|_| ())
    }

    /// Invites a user (any join policy).
    pub async fn invite(&self, user: &User, req: GuildTarget) -> Result<(), errors::Body> {
        let id = to_i64(req.guild);
        if !crate::domain::room::is_valid_user_id(&req.user) {
            return Err(errors::invalid("not a valid user id"));
        }
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(&self.preset, &actor.role, Action::Invite).map_err(errors::denied)?;
        if members::get(&mut tx, id, &req.user)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(errors::conflict("that user is already a member"));
        }
        let request = NewRequest {
            guild: id,
            user_id: &req.user,
            kind: INVITE,
            user_name: None,
            note: None,
            by: Some((&user.id, &user.name)),
            now_ms: now(),
        };
        insert_request(&mut tx, &request, "that user is already invited").await?;
        tx.commit().await.map_err(db_error)
    }

    /// The caller's pending invites.
    pub async fn invites(&self, user: &User) -> Result<InviteList, errors::Body> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = requests::of_user(&mut conn, &user.id, INVITE)
            .await
            .map_err(db_error)?;
        let mut invites = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(g) = guilds::get(&mut conn, r.guild_id).await.map_err(db_error)? else {
                continue;
            };
            let by_id = r.by_id.unwrap_or_default();
            invites.push(Invite {
                guild: to_u64(g.id),
                name: g.name,
                tag: g.tag,
                by: views::user(&by_id, r.by_name.as_deref().unwrap_or(&by_id)),
                at: to_u64(r.created_ms),
            });
        }
        Ok(InviteList { invites })
    }

    pub async fn accept(&self, user: &User, guild: u64) -> Result<GuildInfo, errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        take_invite(&mut tx, id, &user.id).await?;
        let row = self.guild_row(&mut tx, id).await?;
        self.admit(&mut tx, &row, &user.id, &user.name).await?;
        self.joined(tx, id, &user.id, &user.name).await
    }

    pub async fn decline(&self, user: &User, guild: u64) -> Result<(), errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        take_invite(&mut tx, id, &user.id).await?;
        tx.commit().await.map_err(db_error)
    }

    /// Leaves a guild. The leader cannot: leadership is transferred first, or the guild
    /// disbanded, so a guild is never without a leader.
    pub async fn leave(&self, user: &User, guild: u64) -> Result<(), errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        if actor.role == self.preset.leader().name {
            return Err(errors::forbidden(
                "the leader must transfer leadership or disband the guild before leaving",
            ));
        }
        self.remove_member(&mut tx, id, &user.id).await?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_MEMBER_LEFT,
            &MemberLeft {
                user: views::user(&user.id, &actor.user_name),
            },
        )
        .await;
        Ok(())
    }

    pub async fn kick(&self, user: &User, req: GuildTarget) -> Result<(), errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let target = self.target(&mut tx, id, &req.user).await?;
        permit_on(&self.preset, &actor.role, &target.role, Action::Kick).map_err(errors::denied)?;
        self.remove_member(&mut tx, id, &target.user_id).await?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_MEMBER_KICKED,
            &MemberKicked {
                user: views::user(&target.user_id, &target.user_name),
                by: Some(views::user(&user.id, &user.name)),
                auto: false,
            },
        )
        .await;
        Ok(())
    }

    /// Moves a member one role up. Role limits (at most 5 officers) are checked under the
    /// guild's lock, so two promotions racing on two nodes cannot both take the last place.
    pub async fn promote(
        &self,
        user: &User,
        req: GuildTarget,
    ) -> Result<RoleChanged, errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let target = self.target(&mut tx, id, &req.user).await?;
        let role = promotion(&self.preset, &actor.role, &target.role).map_err(errors::denied)?;
        let holding = members::count_role(&mut tx, id, &role.name)
            .await
            .map_err(db_error)?;
        check_role_room(role, to_u32(holding)).map_err(errors::denied)?;
        members::set_role(&mut tx, id, &target.user_id, &role.name)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.announce_role(
            id,
            ev::GUILD_MEMBER_PROMOTED,
            &target,
            &role.name,
            Some(user),
        )
        .await;
        Ok(RoleChanged {
            user: target.user_id,
            role: role.name.clone(),
        })
    }

    pub async fn demote(&self, user: &User, req: GuildTarget) -> Result<RoleChanged, errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let target = self.target(&mut tx, id, &req.user).await?;
        let role = demotion(&self.preset, &actor.role, &target.role).map_err(errors::denied)?;
        members::set_role(&mut tx, id, &target.user_id, &role.name)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.announce_role(
            id,
            ev::GUILD_MEMBER_DEMOTED,
            &target,
            &role.name,
            Some(user),
        )
        .await;
        Ok(RoleChanged {
            user: target.user_id,
            role: role.name.clone(),
        })
    }

    pub(super) async fn announce_role(
        &self,
        guild: i64,
        ev: &'static str,
        target: &members::MemberRow,
        role: &str,
        by: Option<&User>,
    ) {
        let change = MemberRoleChanged {
            user: views::user(&target.user_id, &target.user_name),
            role: role.to_owned(),
            by: by.map(|u| views::user(&u.id, &u.name)),
        };
        self.publish(guild, ev, &change).await;
    }

    /// Starts a leadership transfer; it takes effect after the confirmation window unless
    /// cancelled (see `jobs`).
    pub async fn transfer(
        &self,
        user: &User,
        req: GuildTarget,
    ) -> Result<TransferPending, errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(&self.preset, &actor.role, Action::Transfer).map_err(errors::denied)?;
        if *req.user == *user.id {
            return Err(errors::invalid("you already lead this guild"));
        }
        let target = self.target(&mut tx, id, &req.user).await?;
        if requests::transfer(&mut tx, id)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(errors::conflict(
                "a leadership transfer is already pending; cancel it first",
            ));
        }
        let effective = transfer_effective_at(&self.preset, to_u64(now()));
        let row = TransferRow {
            guild_id: id,
            from_id: user.id.to_string(),
            from_name: user.name.to_string(),
            to_id: target.user_id.clone(),
            to_name: target.user_name.clone(),
            effective_ms: to_i64(effective),
        };
        requests::insert_transfer(&mut tx, &row)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let pending = TransferPending {
            from: views::user(&row.from_id, &row.from_name),
            to: views::user(&row.to_id, &row.to_name),
            effective_at: effective,
        };
        self.publish(id, ev::GUILD_TRANSFER_PENDING, &pending).await;
        Ok(pending)
    }

    /// Cancels a pending transfer: the leader can, and so can the member it would promote.
    pub async fn transfer_cancel(&self, user: &User, guild: u64) -> Result<(), errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let pending = requests::transfer(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::not_found("no leadership transfer is pending"))?;
        if *pending.to_id != *user.id {
            permit(&self.preset, &actor.role, Action::Transfer).map_err(errors::denied)?;
        }
        requests::delete_transfer(&mut tx, id)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_TRANSFER_CANCELLED,
            &TransferCancelled {
                by: views::user(&user.id, &user.name),
            },
        )
        .await;
        Ok(())
    }

    /// Protects a member from auto-kick, or lifts the protection.
    pub async fn protect(&self, user: &User, req: GuildProtect) -> Result<(), errors::Body> {
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        let target = self.target(&mut tx, id, &req.user).await?;
        permit_on(&self.preset, &actor.role, &target.role, Action::Protect)
            .map_err(errors::denied)?;
        members::set_protected(&mut tx, id, &target.user_id, req.protected)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    pub(super) async fn guild_row(&self, tx: &mut Tx, id: i64) -> Result<GuildRow, errors::Body> {
        guilds::get(tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::no_guild)
    }

    async fn target(
        &self,
        tx: &mut Tx,
        guild: i64,
        user: &str,
    ) -> Result<members::MemberRow, errors::Body> {
        members::get(tx, guild, user)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::target_not_member)
    }

    async fn not_in_a_guild(&self, tx: &mut Tx, user: &str) -> Result<(), errors::Body> {
        match members::of_user(tx, user).await.map_err(db_error)? {
            Some(_) => Err(errors::conflict("already in a guild")),
            None => Ok(()),
        }
    }

    /// Adds a member under the guild's lock, if the user is in no guild and there is room.
    async fn admit(
        &self,
        tx: &mut Tx,
        row: &GuildRow,
        user: &str,
        name: &str,
    ) -> Result<(), errors::Body> {
        self.not_in_a_guild(tx, user).await?;
        let cap = capacity(&self.preset, to_u32(row.level));
        if row.member_count >= i64::from(cap) {
            return Err(errors::limit(format!("the guild is full ({cap} members)")));
        }
        let now = now();
        match members::insert(tx, row.id, user, name, &self.preset.join_role, now).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(errors::conflict("already in a guild"))
            }
            Err(e) => return Err(db_error(e)),
        }
        guilds::add_members(tx, row.id, 1, now)
            .await
            .map_err(db_error)?;
        // Their next hello today counts as a member's login.
        self.logins_seen.remove(user);
        requests::clear_user(tx, user).await.map_err(db_error)
    }

    /// Commits an admission and announces it.
    async fn joined(
        &self,
        mut tx: Tx,
        id: i64,
        user: &str,
        name: &str,
    ) -> Result<GuildInfo, errors::Body> {
        let info = self.info(&mut tx, id, false).await?;
        tx.commit().await.map_err(db_error)?;
        let role = self.preset.join_role.clone();
        self.publish(
            id,
            ev::GUILD_MEMBER_JOINED,
            &MemberJoined {
                user: views::user(user, name),
                role: role.clone(),
            },
        )
        .await;
        Ok(GuildInfo {
            role: Some(role),
            ..info
        })
    }

    /// Removes a member and whatever pending transfer names them.
    pub(super) async fn remove_member(
        &self,
        tx: &mut Tx,
        guild: i64,
        user: &str,
    ) -> Result<(), errors::Body> {
        if !members::remove(tx, guild, user).await.map_err(db_error)? {
            return Err(errors::target_not_member());
        }
        guilds::add_members(tx, guild, -1, now())
            .await
            .map_err(db_error)?;
        if let Some(t) = requests::transfer(tx, guild).await.map_err(db_error)? {
            if t.to_id == user {
                requests::delete_transfer(tx, guild)
                    .await
                    .map_err(db_error)?;
            }
        }
        Ok(())
    }
}

async fn insert_request(
    tx: &mut Tx,
    request: &NewRequest<'_>,
    repeat: &str,
) -> Result<(), errors::Body> {
    match requests::insert(tx, request).await {
        Ok(()) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(errors::conflict(repeat)),
        Err(e) => Err(db_error(e)),
    }
}

async fn take_invite(tx: &mut Tx, guild: i64, user: &str) -> Result<(), errors::Body> {
    requests::take(tx, guild, user, INVITE)
        .await
        .map_err(db_error)?
        .map(|_| ())
        .ok_or_else(|| errors::not_found("no invite from this guild"))
}
