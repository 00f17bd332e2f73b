//! The life of a raid: started by the guild's leader or an officer (or the admin API) once the
//! guild has the level, fought by the members' runs for 48 hours, over when the boss falls or
//! the window closes: rewards by run count, MVPs, guild XP, the stored result and the
//! `raid.ended` event.

use guildhall_protocol::{ev, ErrorBody, RaidBoard, RaidEnded, RaidReward};

use super::replica::{raid_key, LoggedRun, RaidLive};
use super::WarService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::guild::levels::raid_unlocked;
use crate::domain::raid::{raid_rewards, raid_state, top_damage, window, xp_source};
use crate::domain::war::Run;
use crate::guild::errors::{self, db_error};
use crate::store::guild::{guilds, lock_guild};
use crate::store::war::raids as raid_rows;
use crate::store::war::runs::{self, Contest};
use crate::store::{to_i64, to_u64};

impl WarService {
    /// `raid.start`: the leader or an officer starts the guild's raid.
    pub async fn start_raid_as(&self, user: &User, guild: i64) -> Result<RaidBoard, ErrorBody> {
        self.check_war_role(guild, &user.id).await?;
        self.start_raid(guild, &user.id).await
    }

    /// Starts a raid for the guild now; one at a time per guild.
    pub async fn start_raid(&self, guild: i64, by: &str) -> Result<RaidBoard, ErrorBody> {
        let rules = &self.preset.raid;
        let now = now_ms();
        let w = window(rules, now);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !lock_guild(&mut tx, guild).await.map_err(db_error)? {
            return Err(errors::no_guild());
        }
        let row = guilds::get(&mut tx, guild)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::no_guild)?;
        let level = u32::try_from(row.level.max(0)).unwrap_or(u32::MAX);
        if !raid_unlocked(&self.preset, level) {
            return Err(errors::forbidden(format!(
                "raids open at guild level {}",
                self.preset.perks.raid_level
            )));
        }
        if raid_rows::active_of_guild(&mut tx, guild)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(errors::conflict("the guild's raid is on already"));
        }
        let id = raid_rows::insert(
            &mut tx,
            guild,
            to_i64(rules.boss.hp),
            to_i64(w.start_ms),
            to_i64(w.end_ms),
            by,
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let key = raid_key(id);
        self.load(&key).await?;
        self.announce_contest(&key, "started").await;
        tracing::info!(raid = id, guild, "raid started");
        let board = match self.board(&key).await? {
            super::boards::Board::Raid(b) => b,
            super::boards::Board::War(_) => return Err(errors::not_found("no such raid")),
        };
        self.publish_room(
            &crate::guild::room_of(guild),
            ev::GUILD_RAID_STARTED,
            &board,
        )
        .await;
        Ok(board)
    }

    /// Ends raids whose window (and its grace for late reports) has passed; the raids ended.
    pub async fn end_due_raids(&self) -> Result<Vec<i64>, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let settled_before = now_ms().saturating_sub(self.config.settle_grace_ms);
        let due = raid_rows::due(&mut conn, to_i64(settled_before))
            .await
            .map_err(db_error)?;
        drop(conn);
        let mut ended = Vec::new();
        for id in due {
            if self.end_raid(id).await?.is_some() {
                ended.push(id);
            }
        }
        Ok(ended)
    }

    /// Ends a raid and pays its rewards, once: `None` when it had ended already. The boss
    /// fell (victory) if the store's runs took its HP inside the window; otherwise defeat.
    pub async fn end_raid(&self, id: i64) -> Result<Option<RaidEnded>, ErrorBody> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !raid_rows::close(&mut tx, id).await.map_err(db_error)? {
            return Ok(None);
        }
        let row = raid_rows::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::not_found("no such raid"))?;
        let rows = runs::of_contest(&mut tx, Contest::Raid(id), i64::MAX)
            .await
            .map_err(db_error)?;
        let mut live = RaidLive::new(&row);
        let rules = live.rules(&self.preset);
        let w = crate::domain::war::Window {
            start_ms: to_u64(row.start_ms),
            end_ms: to_u64(row.end_ms),
        };
        let counted: Vec<Run> = rows
            .iter()
            .map(|r| Run {
                id: r.run_id.clone(),
                user: r.user_id.clone(),
                dna: to_u64(r.dna),
                at_ms: to_u64(r.finished_ms),
            })
            .collect();
        let state = raid_state(&rules, &counted, w);
        let victory = state.defeated_ms.is_some();
        // The guild's XP first, then the raiders' DNA: guild rows before accounts, as every
        // transaction that takes both does (see `wars::end_war`).
        let award = self
            .guilds
            .award_xp_in(
                &mut tx,
                row.guild_id,
                xp_source(victory),
                &format!("raid:{id}"),
            )
            .await?;
        let mut paid = Vec::new();
        for r in raid_rewards(&rules, &state, victory) {
            if r.dna > 0 {
                self.pay(
                    &mut tx,
                    &r.user,
                    &self.preset.currency,
                    r.dna,
                    &format!("raid:{id}:{}", r.user),
                    "raid_reward",
                    id,
                )
                .await?;
            }
            paid.push(RaidReward {
                user: r.user,
                dna: r.dna,
                cosmetic: r.cosmetic,
                mvp: r.mvp,
            });
        }
        let mvps = if victory {
            top_damage(&state, rules.mvps)
                .into_iter()
                .map(|r| r.user.clone())
                .collect()
        } else {
            Vec::new()
        };
        for r in rows.iter().filter_map(LoggedRun::of) {
            live.add(&r);
        }
        let status = if victory { "victory" } else { "defeat" };
        let board = live.board(&self.preset, status);
        let ended = RaidEnded {
            board,
            victory,
            mvps,
            rewards: paid,
        };
        let json = serde_json::to_string(&ended).map_err(|e| {
            ErrorBody::new(
                guildhall_protocol::ErrorCode::Internal,
                format!("encoding a result: {e}"),
            )
        })?;
        raid_rows::set_result(&mut tx, id, status, to_i64(state.remaining), &json)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;

        let key = raid_key(id);
        self.forget(&key);
        self.announce_contest(&key, "ended").await;
        self.publish_room(&key, ev::RAID_ENDED, &ended).await;
        self.guilds.announce_level_up(&award).await;
        tracing::info!(raid = id, victory, "raid ended");
        Ok(Some(ended))
    }
}
