//! What game backends report: wallet credits and debits, finished runs (DNA with the guild's
//! bonus, guild XP), war and raid results, and daily logins. Level-ups are announced in the
//! guild's room with the perks they unlock.

use guildhall_protocol::{ev, LevelUp};
use serde::Serialize;

use super::errors::{self, db_error};
use super::{now, to_i64, to_u32, to_u64, GuildService, Tx};
use crate::domain::guild::levels::{
    dna_bonus_pct, level_for_xp, perks_unlocked, with_dna_bonus, xp_for, xp_from_dna, XpSource,
};
use crate::store::guild::guilds::{self, GuildRow};
use crate::store::guild::ledger::{self, Applied, Entry, LedgerRow};
use crate::store::guild::{lock_guild, members};

/// Activity points a member earns per run reported (probation counts them).
const POINTS_PER_RUN: i64 = 1;

/// The outcome of a reported run.
#[derive(Clone, Debug, Serialize)]
pub struct RunCredit {
    /// DNA credited: the run's DNA with the guild's bonus.
    pub dna: u64,
    pub bonus_pct: u32,
    pub balance: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guild: Option<u64>,
    /// True when this run id was reported before; nothing changed.
    pub duplicate: bool,
}

/// What an award inside a transaction did.
pub struct XpAward {
    pub guild: i64,
    pub level_up: Option<LevelUp>,
    /// Given before under the same key: nothing changed.
    pub duplicate: bool,
}

/// A guild's XP after an award.
#[derive(Clone, Debug, Serialize)]
pub struct LevelUpNote {
    pub guild: u64,
    pub xp: u64,
    pub level: u32,
    pub duplicate: bool,
}

impl GuildService {
    /// Credits (positive `delta`) or debits a wallet; `idem` makes it apply once.
    pub async fn adjust_wallet(
        &self,
        user: &str,
        currency: &str,
        delta: i64,
        reason: Option<&str>,
        idem: &str,
    ) -> Result<(LedgerRow, bool), errors::Body> {
        let p = &*self.preset;
        if currency != p.currency && currency != p.war_currency {
            return Err(errors::invalid(format!(
                "currency is {} or {}",
                p.currency, p.war_currency
            )));
        }
        if delta == 0 {
            return Err(errors::invalid("the amount must be more than 0"));
        }
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let account = ledger::user_account(user);
        // Keys are per wallet: two users' credits never collide on one key.
        let key = format!("api:{user}:{idem}");
        let entry = Entry {
            account: &account,
            currency,
            delta,
            kind: if delta > 0 { "credit" } else { "debit" },
            reason,
            actor: None,
            idem: Some(&key),
            now_ms: now(),
        };
        match ledger::apply(&mut tx, &entry).await {
            Ok(Applied::Done(row)) => {
                tx.commit().await.map_err(db_error)?;
                Ok((row, false))
            }
            Ok(Applied::Duplicate(row)) => Ok((row, true)),
            Err(e) => Err(errors::ledger(e, currency)),
        }
    }

    /// Credits a finished run's DNA (with the guild's DNA bonus) once per run id, and gives the
    /// guild its XP for the DNA and the member an activity point.
    pub async fn run_reported(
        &self,
        user: &str,
        run_id: &str,
        dna: u64,
    ) -> Result<RunCredit, errors::Body> {
        let p = &*self.preset;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let guild = members::of_user(&mut conn, user)
            .await
            .map_err(db_error)?
            .map(|m| m.guild_id);
        drop(conn);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // Lock the guild first (when there is one) so the level that sets the bonus and the XP
        // added are one consistent step; a member who left meanwhile earns no guild share.
        let mut row = None;
        if let Some(g) = guild {
            if lock_guild(&mut tx, g).await.map_err(db_error)? {
                let still = members::get(&mut tx, g, user).await.map_err(db_error)?;
                if still.is_some() {
                    row = guilds::get(&mut tx, g).await.map_err(db_error)?;
                }
            }
        }
        let level = row.as_ref().map_or(1, |g| to_u32(g.level));
        let bonus_pct = if row.is_some() {
            dna_bonus_pct(p, level)
        } else {
            0
        };
        let credited = if row.is_some() {
            with_dna_bonus(p, level, dna)
        } else {
            dna
        };
        let account = ledger::user_account(user);
        let key = format!("run:{run_id}");
        let now = now();
        let entry = Entry {
            account: &account,
            currency: &p.currency,
            delta: to_i64(credited),
            kind: "run",
            reason: Some(run_id),
            actor: None,
            idem: Some(&key),
            now_ms: now,
        };
        let balance = match ledger::apply(&mut tx, &entry).await {
            Ok(Applied::Done(r)) => r.balance,
            Ok(Applied::Duplicate(first)) => {
                return Ok(RunCredit {
                    dna: to_u64(first.delta),
                    bonus_pct,
                    balance: to_u64(first.balance),
                    guild: guild.map(to_u64),
                    duplicate: true,
                })
            }
            Err(e) => return Err(errors::ledger(e, &p.currency)),
        };
        let mut level_up = None;
        if let Some(g) = &row {
            let member = members::get(&mut tx, g.id, user).await.map_err(db_error)?;
            let before = member.map_or(0, |m| to_u64(m.dna_collected));
            members::add_dna(&mut tx, user, to_i64(dna))
                .await
                .map_err(db_error)?;
            members::add_activity(&mut tx, user, POINTS_PER_RUN, now)
                .await
                .map_err(db_error)?;
            let xp = xp_from_dna(p, before, dna);
            level_up = self.add_xp(&mut tx, g, xp, now).await?;
        }
        tx.commit().await.map_err(db_error)?;
        if let (Some(g), Some(up)) = (&row, level_up) {
            self.publish(g.id, ev::GUILD_LEVEL_UP, &up).await;
        }
        Ok(RunCredit {
            dna: credited,
            bonus_pct,
            balance: to_u64(balance),
            guild: row.map(|g| to_u64(g.id)),
            duplicate: false,
        })
    }

    /// Gives a guild the XP of a war or raid result, once per `idem`.
    pub async fn award_xp(
        &self,
        guild: u64,
        source: XpSource,
        idem: &str,
    ) -> Result<LevelUpNote, errors::Body> {
        let id = to_i64(guild);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        let award = self.award_xp_in(&mut tx, id, source, idem).await?;
        let after = self.guild_row(&mut tx, id).await?;
        tx.commit().await.map_err(db_error)?;
        if let Some(up) = &award.level_up {
            self.publish(id, ev::GUILD_LEVEL_UP, up).await;
        }
        Ok(LevelUpNote {
            guild,
            xp: to_u64(after.xp),
            level: to_u32(after.level),
            duplicate: award.duplicate,
        })
    }

    /// [`Self::award_xp`] inside the caller's transaction (a war's or raid's end, so that the
    /// result and its XP commit together); the caller announces the level-up after its
    /// commit, with [`Self::announce_level_up`].
    pub async fn award_xp_in(
        &self,
        tx: &mut Tx,
        guild: i64,
        source: XpSource,
        idem: &str,
    ) -> Result<XpAward, errors::Body> {
        if !lock_guild(tx, guild).await.map_err(db_error)? {
            return Err(errors::no_guild());
        }
        let row = self.guild_row(tx, guild).await?;
        let amount = xp_for(&self.preset, source);
        // The award's ledger line (in XP, on the guild's XP account) is what makes it apply once.
        let account = format!("guildxp:{guild}");
        let key = format!("xp:{idem}");
        let now = now();
        let entry = Entry {
            account: &account,
            currency: "xp",
            delta: to_i64(amount),
            kind: source.as_str(),
            reason: None,
            actor: None,
            idem: Some(&key),
            now_ms: now,
        };
        match ledger::apply(tx, &entry).await {
            Ok(Applied::Done(_)) => {}
            Ok(Applied::Duplicate(_)) => {
                return Ok(XpAward {
                    guild,
                    level_up: None,
                    duplicate: true,
                })
            }
            Err(e) => return Err(errors::ledger(e, "xp")),
        }
        match source {
            XpSource::WarWin => guilds::record_war(tx, guild, true).await,
            XpSource::WarLoss => guilds::record_war(tx, guild, false).await,
            XpSource::RaidVictory | XpSource::RaidDefeat => Ok(()),
        }
        .map_err(db_error)?;
        let level_up = self.add_xp(tx, &row, amount, now).await?;
        Ok(XpAward {
            guild,
            level_up,
            duplicate: false,
        })
    }

    /// Announces the level-up of a committed award, if it made one.
    pub async fn announce_level_up(&self, award: &XpAward) {
        if let Some(up) = &award.level_up {
            self.publish(award.guild, ev::GUILD_LEVEL_UP, up).await;
        }
    }

    /// Adds XP to a locked guild; the level-up to announce, if the level rose.
    pub(super) async fn add_xp(
        &self,
        tx: &mut Tx,
        row: &GuildRow,
        amount: u64,
        now: i64,
    ) -> Result<Option<LevelUp>, errors::Body> {
        if amount == 0 {
            return Ok(None);
        }
        let xp = to_u64(row.xp).saturating_add(amount);
        let before = to_u32(row.level);
        let level = level_for_xp(&self.preset, xp);
        guilds::set_xp(tx, row.id, to_i64(xp), i64::from(level), now)
            .await
            .map_err(db_error)?;
        Ok((level > before).then(|| LevelUp {
            level,
            xp,
            perks: perks_unlocked(&self.preset, before, level),
        }))
    }
}
