//! Reports: any user files one; moderators see the queue by urgency, claim and resolve.

use guildhall_protocol::{
    ChatMsg, ModReportsQuery, ModResolve, Report, ReportCreate, ReportCreated, ReportList,
};

use super::ModerationService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::moderation::access::ModAction;
use crate::domain::moderation::reports::{
    priority, Category, Priority, ReportStatus, CONTEXT_LINES, MAX_REPORT_TEXT,
};
use crate::domain::room::{is_valid_user_id, RoomName};
use crate::guild::db_error;
use crate::guild::errors::{conflict, invalid, not_found};
use crate::guild::views::user as user_ref;
use crate::store::moderation::reports::{self, NewReport, ReportRow, StatusChange};
use crate::store::{to_i64, to_u64};
use guildhall_protocol::ErrorBody;

const MAX_QUEUE_PAGE: u32 = 200;

impl ModerationService {
    /// Files a report. A message report snapshots the room's lines around the message, so the
    /// moderator sees what happened even if they are deleted later.
    pub async fn report(
        &self,
        reporter: &User,
        req: ReportCreate,
    ) -> Result<ReportCreated, ErrorBody> {
        let category =
            Category::parse(&req.category).ok_or_else(|| invalid("unknown report category"))?;
        if !is_valid_user_id(&req.user) || *req.user == *reporter.id {
            return Err(invalid("report another user, by id"));
        }
        let text = req.text.trim();
        if text.is_empty() || text.chars().count() > MAX_REPORT_TEXT {
            return Err(invalid(format!(
                "the text is 1 to {MAX_REPORT_TEXT} characters"
            )));
        }
        if let Some(room) = &req.room {
            RoomName::parse(room).map_err(|e| invalid(e.to_string()))?;
        }
        let now = to_i64(now_ms());
        // The context is read before the transaction: it only has to be what the room showed.
        let context = match (&req.room, req.message) {
            (Some(room), Some(message)) => {
                let id = to_i64(message);
                let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
                let author = reports::author(&mut conn, room, id)
                    .await
                    .map_err(db_error)?;
                if author.as_deref() != Some(&*req.user) {
                    return Err(invalid("that message is not the reported user's"));
                }
                let rows = reports::context(&mut conn, room, id, i64::from(CONTEXT_LINES))
                    .await
                    .map_err(db_error)?;
                let msgs: Vec<ChatMsg> = rows
                    .into_iter()
                    .map(|r| ChatMsg {
                        id: to_u64(r.id),
                        from: user_ref(&r.user_id, &r.user_name),
                        text: r.text,
                        ts: to_u64(r.ts_ms),
                    })
                    .collect();
                serde_json::to_string(&msgs)
                    .map_err(|e| crate::chat::internal("encoding report context", e))?
            }
            (None, Some(_)) => return Err(invalid("a message report names its room")),
            _ => "[]".to_owned(),
        };
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // The insert comes first (it takes SQLite's write lock); then the count includes it.
        let new = NewReport {
            reporter: (&reporter.id, &reporter.name),
            user: &req.user,
            room: req.room.as_deref(),
            message: req.message.map(to_i64),
            category: category.as_str(),
            text,
            priority: Priority::Low.rank(),
            context: &context,
            now_ms: now,
        };
        let id = reports::insert(&mut tx, &new).await.map_err(db_error)?;
        let open = reports::open_against(&mut tx, &req.user)
            .await
            .map_err(db_error)?;
        let prio = priority(category, u32::try_from(open).unwrap_or(u32::MAX));
        // Repeated reports raise the earlier ones too.
        reports::raise_priority(&mut tx, &req.user, prio.rank())
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(ReportCreated { id: to_u64(id) })
    }

    pub async fn reports(&self, actor: &User, q: ModReportsQuery) -> Result<ReportList, ErrorBody> {
        self.authorize(actor, None, None, ModAction::Reports)
            .await?;
        let status = match q.status.as_deref() {
            Some(s) => Some(
                ReportStatus::parse(s)
                    .ok_or_else(|| invalid("status is pending, reviewing, resolved or dismissed"))?
                    .as_str(),
            ),
            None => None,
        };
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_QUEUE_PAGE);
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let rows = reports::list(&mut conn, status, i64::from(limit))
            .await
            .map_err(db_error)?;
        Ok(ReportList {
            reports: rows.into_iter().map(report_view).collect(),
        })
    }

    /// Takes a pending report for review; two moderators cannot both claim it.
    pub async fn claim(&self, actor: &User, report: u64) -> Result<Report, ErrorBody> {
        self.authorize(actor, None, None, ModAction::Reports)
            .await?;
        let id = to_i64(report);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        Self::audit(
            &mut tx,
            actor,
            "claim",
            None,
            None,
            None,
            Some(&format!("report {report}")),
        )
        .await?;
        let change = StatusChange {
            status: ReportStatus::Reviewing.as_str(),
            moderator: &actor.id,
            resolution: None,
            note: None,
            resolved_ms: None,
        };
        let moved = reports::set_status(&mut tx, id, &[ReportStatus::Pending.as_str()], &change)
            .await
            .map_err(db_error)?;
        if !moved {
            return Err(match reports::get(&mut tx, id).await.map_err(db_error)? {
                None => not_found("no such report"),
                Some(_) => conflict("that report is not pending"),
            });
        }
        let row = reports::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("no such report"))?;
        tx.commit().await.map_err(db_error)?;
        Ok(report_view(row))
    }

    /// Closes a report: `dismiss`, `warn` (a warning on the ladder's record) or `penalize`
    /// (the user's next ladder step in the report's category).
    pub async fn resolve(&self, actor: &User, req: ModResolve) -> Result<Report, ErrorBody> {
        self.authorize(actor, None, None, ModAction::Reports)
            .await?;
        let (status, penalty) = match req.action.as_str() {
            "dismiss" => (ReportStatus::Dismissed, None),
            "warn" => (ReportStatus::Resolved, Some(true)),
            "penalize" => (ReportStatus::Resolved, Some(false)),
            _ => return Err(invalid("action is dismiss, warn or penalize")),
        };
        let id = to_i64(req.report);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        Self::audit(
            &mut tx,
            actor,
            "resolve",
            None,
            None,
            req.note.as_deref(),
            Some(&format!("report {} {}", req.report, req.action)),
        )
        .await?;
        let open = [
            ReportStatus::Pending.as_str(),
            ReportStatus::Reviewing.as_str(),
        ];
        let change = StatusChange {
            status: status.as_str(),
            moderator: &actor.id,
            resolution: Some(&req.action),
            note: req.note.as_deref(),
            resolved_ms: Some(to_i64(now_ms())),
        };
        let moved = reports::set_status(&mut tx, id, &open, &change)
            .await
            .map_err(db_error)?;
        let row = reports::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("no such report"))?;
        if !moved {
            return Err(conflict("that report is closed already"));
        }
        tx.commit().await.map_err(db_error)?;
        if let Some(warning_only) = penalty {
            self.apply_penalty(
                actor,
                &row.user_id,
                &row.category,
                req.note.as_deref(),
                Some(req.report),
                warning_only,
            )
            .await?;
        }
        Ok(report_view(row))
    }
}

fn report_view(r: ReportRow) -> Report {
    let priority = match r.priority {
        3.. => Priority::Critical,
        2 => Priority::High,
        1 => Priority::Medium,
        _ => Priority::Low,
    };
    Report {
        id: to_u64(r.id),
        reporter: user_ref(&r.reporter_id, &r.reporter_name),
        user: r.user_id,
        room: r.room,
        message: r.message_id.map(to_u64),
        category: r.category,
        text: r.text,
        status: r.status,
        priority: priority.as_str().to_owned(),
        claimed_by: r.claimed_by,
        resolution: r.resolution,
        note: r.note,
        context: serde_json::from_str(&r.context).unwrap_or_default(),
        created: to_u64(r.created_ms),
        resolved: r.resolved_ms.map(to_u64),
    }
}
