//! The wallet credit of many runs in one transaction: what `run_reported` does for one run
//! (DNA with the guild's bonus, one ledger entry per run under the run's key, the member's DNA
//! and activity, the guild's XP), for a batch, with one lock per guild and one update per
//! member instead of one transaction per run. Runs reported in batches are credited this way.

use std::collections::{BTreeMap, HashMap};

use guildhall_protocol::{ev, LevelUp};

use super::errors::{self, db_error};
use super::{now, to_i64, to_u32, to_u64, GuildService, Tx};
use crate::domain::guild::levels::{with_dna_bonus, xp_from_dna};
use crate::store::guild::ledger::{self, Applied, Entry};
use crate::store::guild::{guilds, lock_guild, members};

/// A run to credit.
#[derive(Clone, Debug)]
pub struct RunToCredit {
    pub user: String,
    pub run_id: String,
    pub dna: u64,
}

/// Level-ups to announce once the transaction has committed.
pub struct Credited {
    pub runs: u32,
    level_ups: Vec<(i64, LevelUp)>,
}

impl GuildService {
    /// Credits runs inside the caller's transaction (which has already claimed them). A run
    /// whose ledger entry exists (credited one by one meanwhile) changes nothing.
    pub async fn credit_runs_in(
        &self,
        tx: &mut Tx,
        runs: &[RunToCredit],
    ) -> Result<Credited, errors::Body> {
        let p = &*self.preset;
        let users: Vec<&str> = runs.iter().map(|r| r.user.as_str()).collect();
        let guild_of: HashMap<String, i64> = members::guilds_of(tx, &users)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        // Guilds locked in id order (two batches never wait on each other), with their level.
        let mut guild_rows = BTreeMap::new();
        let ids: std::collections::BTreeSet<i64> = guild_of.values().copied().collect();
        for g in ids {
            if lock_guild(tx, g).await.map_err(db_error)? {
                if let Some(row) = guilds::get(tx, g).await.map_err(db_error)? {
                    guild_rows.insert(g, row);
                }
            }
        }
        let now = now();
        // Per member of a guild: (DNA collected, runs).
        let mut per_member: BTreeMap<(i64, &str), (u64, i64)> = BTreeMap::new();
        let mut credited = 0u32;
        // Accounts in order (see `war::wars`): never waiting on another transaction's rows
        // while holding rows it waits for.
        let mut runs: Vec<&RunToCredit> = runs.iter().collect();
        runs.sort_by(|a, b| (&a.user, &a.run_id).cmp(&(&b.user, &b.run_id)));
        for run in runs {
            let guild = guild_of.get(&run.user).and_then(|g| guild_rows.get(g));
            let level = guild.map_or(1, |g| to_u32(g.level));
            let amount = match guild {
                Some(_) => with_dna_bonus(p, level, run.dna),
                None => run.dna,
            };
            let account = ledger::user_account(&run.user);
            let key = format!("run:{}", run.run_id);
            let entry = Entry {
                account: &account,
                currency: &p.currency,
                delta: to_i64(amount),
                kind: "run",
                reason: Some(&run.run_id),
                actor: None,
                idem: Some(&key),
                now_ms: now,
            };
            match ledger::apply(tx, &entry).await {
                Ok(Applied::Done(_)) => {}
                Ok(Applied::Duplicate(_)) => continue,
                Err(e) => return Err(errors::ledger(e, &p.currency)),
            }
            credited += 1;
            if let Some(g) = guild {
                let slot = per_member.entry((g.id, run.user.as_str())).or_default();
                slot.0 = slot.0.saturating_add(run.dna);
                slot.1 += 1;
            }
        }
        // XP from DNA depends on what the member had collected before (1 XP per 100 DNA,
        // counted across runs), so it is reckoned per member, then summed per guild.
        let mut xp_of: BTreeMap<i64, u64> = BTreeMap::new();
        for (&(g, user), &(dna, points)) in &per_member {
            let before = members::get(tx, g, user)
                .await
                .map_err(db_error)?
                .map_or(0, |m| to_u64(m.dna_collected));
            members::add_dna(tx, user, to_i64(dna))
                .await
                .map_err(db_error)?;
            members::add_activity(tx, user, points, now)
                .await
                .map_err(db_error)?;
            *xp_of.entry(g).or_default() += xp_from_dna(p, before, dna);
        }
        let mut level_ups = Vec::new();
        for (g, xp) in xp_of {
            if let Some(row) = guild_rows.get(&g) {
                if let Some(up) = self.add_xp(tx, row, xp, now).await? {
                    level_ups.push((g, up));
                }
            }
        }
        Ok(Credited {
            runs: credited,
            level_ups,
        })
    }

    /// Announces the level-ups of a committed batch.
    pub async fn announce_credited(&self, credited: &Credited) {
        for (g, up) in &credited.level_ups {
            self.publish(*g, ev::GUILD_LEVEL_UP, up).await;
        }
    }
}
