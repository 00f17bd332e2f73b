//! The wallet credit of runs. A run reported alone (`POST /api/runs`, `run.submit`) is
//! credited as it is answered; runs reported in batches are credited by the war jobs, a few
//! hundred per transaction. Either way a run is credited once: its ledger entry has the run's
//! key, and the `credited` flag is claimed in the transaction that credits it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use guildhall_protocol::ErrorBody;

use super::WarService;
use crate::guild::errors::db_error;
use crate::guild::run_credits::RunToCredit;
use crate::guild::RunCredit;
use crate::store::to_u64;
use crate::store::war::runs;

/// Runs one credit transaction takes.
const RUNS_PER_TRANSACTION: i64 = 500;
/// How long one pass of the jobs may spend crediting before it yields to the other jobs.
const PASS_BUDGET: Duration = Duration::from_secs(2);

impl WarService {
    /// Credits runs reported in batches, transaction after transaction, until none is left or
    /// the pass's time is up; how many were credited.
    pub async fn credit_runs(&self) -> Result<u32, ErrorBody> {
        let started = Instant::now();
        let mut credited = 0;
        while started.elapsed() < PASS_BUDGET {
            let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
            let pending = runs::uncredited(&mut conn, RUNS_PER_TRANSACTION)
                .await
                .map_err(db_error)?;
            drop(conn);
            if pending.is_empty() {
                break;
            }
            let ids: Vec<&str> = pending.iter().map(|r| r.run_id.as_str()).collect();
            let mut tx = self.db.begin().await.map_err(db_error)?;
            // The claim first: it is the write that orders this transaction (and SQLite's
            // lock), and a run credited meanwhile is not claimed again.
            let claimed: HashSet<String> = runs::claim_uncredited(&mut tx, &ids)
                .await
                .map_err(db_error)?
                .into_iter()
                .collect();
            let batch: Vec<RunToCredit> = pending
                .iter()
                .filter(|r| claimed.contains(&r.run_id))
                .map(|r| RunToCredit {
                    user: r.user_id.clone(),
                    run_id: r.run_id.clone(),
                    dna: to_u64(r.dna),
                })
                .collect();
            let done = self.guilds.credit_runs_in(&mut tx, &batch).await?;
            tx.commit().await.map_err(db_error)?;
            self.guilds.announce_credited(&done).await;
            credited += done.runs;
        }
        Ok(credited)
    }

    /// Credits one run's DNA to its runner (with the guild's bonus and XP: the guild
    /// service's `run_reported`) and marks it credited.
    pub async fn credit_one(
        &self,
        user: &str,
        run_id: &str,
        dna: u64,
    ) -> Result<RunCredit, ErrorBody> {
        let credit = self.guilds.run_reported(user, run_id, dna).await?;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        runs::mark_credited(&mut conn, run_id)
            .await
            .map_err(db_error)?;
        Ok(credit)
    }
}
