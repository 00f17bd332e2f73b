//! The run, war and raid ops of a connection: each goes straight to the war service.

use guildhall_protocol::{ErrorBody, ErrorCode, WarOp};

use super::dispatch::ReplyBody;
use super::Connection;
use crate::auth::User;
use crate::store::to_i64;
use crate::war::boards::Board;
use crate::war::replica::{raid_key, war_key};
use crate::war::RunReport;

impl Connection {
    pub(super) async fn war_op(&self, user: &User, op: WarOp) -> Result<ReplyBody, ErrorBody> {
        let w = &self.services.wars;
        match op {
            WarOp::RunSubmit(run) => {
                if !w.runs_config().client_submit {
                    return Err(ErrorBody::new(
                        ErrorCode::Forbidden,
                        "runs are reported by the game's server here, not by clients",
                    ));
                }
                let report = RunReport {
                    run_id: run.run_id,
                    user: user.id.to_string(),
                    dna: run.dna,
                    duration_ms: Some(run.duration_ms),
                    finished_at: run.finished_at,
                };
                let accepted = w.submit_run(report.clone()).await?;
                // A client's run is credited as it is answered, like a backend's single report.
                if !accepted.duplicate {
                    w.credit_one(&report.user, &report.run_id, report.dna)
                        .await?;
                }
                Ok(ReplyBody::RunAccepted(accepted))
            }
            WarOp::Register(req) => w
                .register(user, to_i64(req.guild))
                .await
                .map(ReplyBody::WarRegistered),
            WarOp::Get(req) => w.board(&war_key(to_i64(req.war))).await.map(board),
            WarOp::RaidStart(req) => w
                .start_raid_as(user, to_i64(req.guild))
                .await
                .map(|b| ReplyBody::RaidBoard(Box::new(b))),
            WarOp::RaidGet(req) => w.board(&raid_key(to_i64(req.raid))).await.map(board),
            WarOp::Flagged(req) => {
                if !user.is_moderator() {
                    return Err(ErrorBody::new(
                        ErrorCode::Forbidden,
                        "flagged runs are for platform moderators",
                    ));
                }
                w.flagged_runs(req.limit.unwrap_or(100))
                    .await
                    .map(ReplyBody::FlaggedRuns)
            }
        }
    }
}

fn board(b: Board) -> ReplyBody {
    match b {
        Board::War(b) => ReplyBody::WarBoard(Box::new(b)),
        Board::Raid(b) => ReplyBody::RaidBoard(Box::new(b)),
    }
}
