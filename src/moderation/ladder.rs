//! The penalty ladder as moderators apply it, the audit log they read, and appeals.

use guildhall_protocol::{
    AuditEntry, AuditPage, ModAuditQuery, ModPenalize, Penalty, PenaltyAppeal, PenaltyList,
};

use super::state::Change;
use super::ModerationService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::moderation::access::ModAction;
use crate::domain::moderation::ladder::{
    ends_at, guild_standing, next_step, PenaltyKind, ACCOUNTABILITY_WINDOW_MS,
};
use crate::domain::moderation::reports::Category;
use crate::domain::room::is_valid_user_id;
use crate::guild::db_error;
use crate::guild::errors::{invalid, not_found};
use crate::guild::views::user as user_ref;
use crate::store::guild::members;
use crate::store::moderation::audit::{self, AuditQuery};
use crate::store::moderation::penalties::{self, NewPenalty, PenaltyRow};
use crate::store::moderation::PLATFORM;
use crate::store::{to_i64, to_u64};
use guildhall_protocol::ErrorBody;

const MAX_AUDIT_PAGE: u32 = 200;
const MAX_APPEAL: usize = 1000;

impl ModerationService {
    /// Applies the user's next ladder step for `category` (RULES.md: warning, 24 h, 7 days,
    /// 30 days, permanent; hate speech and threats start higher).
    pub async fn penalize(&self, actor: &User, req: ModPenalize) -> Result<Penalty, ErrorBody> {
        self.authorize(actor, None, Some(&req.user), ModAction::Penalize)
            .await?;
        self.apply_penalty(
            actor,
            &req.user,
            &req.category,
            req.reason.as_deref(),
            req.report,
            false,
        )
        .await
    }

    /// Records a penalty: the ladder's next step, or a plain warning when `warning_only`.
    pub(super) async fn apply_penalty(
        &self,
        actor: &User,
        user: &str,
        category: &str,
        reason: Option<&str>,
        report: Option<u64>,
        warning_only: bool,
    ) -> Result<Penalty, ErrorBody> {
        if !is_valid_user_id(user) {
            return Err(invalid("not a valid user id"));
        }
        let category =
            Category::parse(category).ok_or_else(|| invalid("unknown report category"))?;
        let now = now_ms();
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // A write first (the audit line), so SQLite's write lock is taken before the reads.
        Self::audit(
            &mut tx,
            actor,
            "penalize",
            Some(user),
            None,
            reason,
            Some(category.as_str()),
        )
        .await?;
        let history = penalties::of_user(&mut tx, user).await.map_err(db_error)?;
        let steps: Vec<u32> = history
            .iter()
            .map(|p| u32::try_from(p.step).unwrap_or(0))
            .collect();
        let step = if warning_only {
            crate::domain::moderation::ladder::step(1)
        } else {
            next_step(&steps, category)
        };
        let ends = ends_at(step, now);
        let guild = members::of_user(&mut tx, user)
            .await
            .map_err(db_error)?
            .map(|m| m.guild_id);
        let new = NewPenalty {
            user,
            step: i64::from(step.step),
            kind: step.kind.as_str(),
            category: category.as_str(),
            starts_ms: to_i64(now),
            ends_ms: ends.map(to_i64),
            by: (&actor.id, &actor.name),
            reason,
            report: report.map(to_i64),
            guild,
        };
        let id = penalties::insert(&mut tx, &new).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        if step.kind.blocks_chat() {
            self.announce(Change::ChatBan {
                user: user.to_owned(),
                until: ends,
            })
            .await;
        }
        if step.kind == PenaltyKind::Ban {
            self.announce(Change::Ban {
                scope: PLATFORM.to_owned(),
                user: user.to_owned(),
                until: ends,
            })
            .await;
        }
        Ok(Penalty {
            id: to_u64(id),
            user: user.to_owned(),
            step: step.step,
            kind: step.kind.as_str().to_owned(),
            category: category.as_str().to_owned(),
            starts: now,
            ends,
            by: user_ref(&actor.id, &actor.name),
            reason: reason.map(str::to_owned),
            report,
            appeal: None,
        })
    }

    /// A user's penalties: moderators see anyone's, a user their own.
    pub async fn penalties(&self, actor: &User, user: &str) -> Result<PenaltyList, ErrorBody> {
        if *actor.id != *user {
            self.authorize(actor, None, Some(user), ModAction::Penalize)
                .await?;
        }
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = penalties::of_user(&mut conn, user)
            .await
            .map_err(db_error)?;
        Ok(PenaltyList {
            penalties: rows.into_iter().map(penalty_view).collect(),
        })
    }

    /// The penalised user notes an appeal; moderators see it with the penalty.
    pub async fn appeal(&self, user: &User, req: PenaltyAppeal) -> Result<(), ErrorBody> {
        let note = req.note.trim();
        if note.is_empty() || note.chars().count() > MAX_APPEAL {
            return Err(invalid(format!(
                "an appeal is 1 to {MAX_APPEAL} characters"
            )));
        }
        let id = to_i64(req.penalty);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        Self::audit(
            &mut tx,
            user,
            "appeal",
            Some(&user.id),
            None,
            Some(note),
            Some(&format!("penalty {}", req.penalty)),
        )
        .await?;
        if !penalties::appeal(&mut tx, id, &user.id, note)
            .await
            .map_err(db_error)?
        {
            return Err(not_found(
                "no penalty of yours to appeal, or it is appealed already",
            ));
        }
        tx.commit().await.map_err(db_error)
    }

    /// The audit log, newest first, for moderators.
    pub async fn audit_log(&self, actor: &User, q: ModAuditQuery) -> Result<AuditPage, ErrorBody> {
        self.authorize(actor, None, None, ModAction::Audit).await?;
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_AUDIT_PAGE);
        let query = AuditQuery {
            target: q.user.as_deref(),
            room: q.room.as_deref(),
            actor: q.actor.as_deref(),
            before: q.before.map(to_i64),
            limit: i64::from(limit),
        };
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = audit::query(&mut conn, &query).await.map_err(db_error)?;
        Ok(AuditPage {
            entries: rows
                .into_iter()
                .map(|r| AuditEntry {
                    id: to_u64(r.id),
                    actor: user_ref(&r.actor_id, &r.actor_name),
                    action: r.action,
                    target: r.target,
                    room: r.room,
                    reason: r.reason,
                    details: r.details,
                    at: to_u64(r.ts_ms),
                })
                .collect(),
        })
    }
}

/// A guild's accountability: how many of its members were banned (any penalty past a warning)
/// in the last 30 days, and what that makes its standing.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Accountability {
    pub banned_30d: u32,
    pub standing: &'static str,
}

impl ModerationService {
    pub async fn accountability(&self, guild: u64) -> Result<Accountability, ErrorBody> {
        let since = now_ms().saturating_sub(ACCOUNTABILITY_WINDOW_MS);
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let n = penalties::banned_members_of_guild(&mut conn, to_i64(guild), to_i64(since))
            .await
            .map_err(db_error)?;
        let banned = u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Accountability {
            banned_30d: banned,
            standing: guild_standing(banned).as_str(),
        })
    }
}

fn penalty_view(p: PenaltyRow) -> Penalty {
    Penalty {
        id: to_u64(p.id),
        user: p.user_id,
        step: u32::try_from(p.step).unwrap_or(0),
        kind: p.kind,
        category: p.category,
        starts: to_u64(p.starts_ms),
        ends: p.ends_ms.map(to_u64),
        by: user_ref(&p.by_id, &p.by_name),
        reason: p.reason,
        report: p.report_id.map(to_u64),
        appeal: p.appeal,
    }
}
