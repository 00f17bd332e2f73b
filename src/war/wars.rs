//! The life of a war: registration for a weekly cycle, matchmaking passes, the start (with
//! each side's roster), and the end: scores computed from the store's runs alone, the winner,
//! war coins through the ledger, MVPs, Elo and streaks, guild XP, the stored result and the
//! `war.ended` event.

use guildhall_protocol::{ev, ErrorBody, WarBoard, WarEnded, WarRegistered, WarReward};

use super::replica::{side_board, war_key};
use super::WarService;
use crate::auth::User;
use crate::clock::now_ms;
use crate::domain::guild::levels::with_war_bonus;
use crate::domain::guild::roles::{permit, Action};
use crate::domain::moderation::ladder::{guild_standing, GuildStanding};
use crate::domain::war::matchmaking::{find_match, Candidate};
use crate::domain::war::results::{
    elo_after, outcome, rewards, streak_after, xp_source, Outcome, Streak,
};
use crate::domain::war::scoring::{tally, Tally};
use crate::domain::war::{Membership, Run, Window};
use crate::guild::errors::{self, db_error};
use crate::store::guild::ledger::{self, Applied, Entry};
use crate::store::guild::{guilds, lock_guild, members, Tx};
use crate::store::war::runs::{self, Contest};
use crate::store::war::wars::{self as war_rows, StandingRow, WarRow};
use crate::store::{to_i64, to_u64};

/// Members active within this many days count as the guild's active members for matchmaking.
const ACTIVE_DAYS: u64 = 7;
/// How many recent guild-vs-guild scores a PvE benchmark is the median of.
const BENCHMARK_SAMPLE: i64 = 50;

impl WarService {
    /// `war.register`: the leader or an officer registers the guild for the cycle whose
    /// registration is open.
    pub async fn register(&self, user: &User, guild: i64) -> Result<WarRegistered, ErrorBody> {
        self.check_war_role(guild, &user.id).await?;
        // RULES.md § Moderation: a guild with 10 members banned in 30 days skips its war.
        let standing = self.moderation.accountability(to_u64(guild)).await?;
        if matches!(
            guild_standing(standing.banned_30d),
            GuildStanding::SkipWar | GuildStanding::Review
        ) {
            return Err(errors::forbidden(format!(
                "the guild sits out wars: {} of its members were banned in 30 days",
                standing.banned_30d
            )));
        }
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let cycle = war_rows::registering_cycle(&mut conn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::conflict("war registration is not open"))?;
        if !war_rows::register(&mut conn, guild, cycle, to_i64(now_ms()), &user.id)
            .await
            .map_err(db_error)?
        {
            return Err(errors::conflict("the guild is registered already"));
        }
        Ok(WarRegistered {
            guild: to_u64(guild),
            cycle_at: to_u64(cycle),
        })
    }

    /// The actor may act for the guild in wars and raids (`Action::War`).
    pub(super) async fn check_war_role(&self, guild: i64, user: &str) -> Result<(), ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let member = members::get(&mut conn, guild, user)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::not_member)?;
        permit(&self.preset, &member.role, Action::War).map_err(errors::denied)
    }

    /// Opens registration for the cycle starting at `cycle_ms` (the scheduler at the
    /// calendar's time, or an admin now).
    pub async fn open_registration(&self, cycle_ms: u64) -> Result<u64, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        war_rows::open_cycle(&mut conn, to_i64(cycle_ms), to_i64(now_ms()))
            .await
            .map_err(db_error)?;
        Ok(cycle_ms)
    }

    /// Closes the open registration and starts matchmaking now; the cycle, if one was open.
    pub async fn start_matching(&self) -> Result<Option<u64>, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let Some(cycle) = war_rows::registering_cycle(&mut conn)
            .await
            .map_err(db_error)?
        else {
            return Ok(None);
        };
        war_rows::start_matching(&mut conn, cycle, to_i64(now_ms()))
            .await
            .map_err(db_error)?;
        Ok(Some(to_u64(cycle)))
    }

    /// One matchmaking pass over every cycle in matchmaking: wars for the pairs found, PvE
    /// wars for guilds that waited too long. Returns the wars started.
    pub async fn match_pass(&self) -> Result<Vec<i64>, ErrorBody> {
        let now = now_ms();
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let cycles = war_rows::matching_cycles(&mut conn)
            .await
            .map_err(db_error)?;
        let mut started = Vec::new();
        for (cycle, matching_ms) in cycles {
            let waiting = war_rows::waiting(&mut conn, cycle)
                .await
                .map_err(db_error)?;
            if waiting.is_empty() {
                war_rows::close_cycle(&mut conn, cycle, to_i64(now))
                    .await
                    .map_err(db_error)?;
                continue;
            }
            let mut candidates = Vec::with_capacity(waiting.len());
            for (guild, registered) in waiting {
                let Some(row) = guilds::get(&mut conn, guild).await.map_err(db_error)? else {
                    continue;
                };
                let since = now.saturating_sub(ACTIVE_DAYS * 86_400_000);
                let active = members::count_active(&mut conn, guild, to_i64(since))
                    .await
                    .map_err(db_error)?;
                let elo = war_rows::standing(&mut conn, guild)
                    .await
                    .map_err(db_error)?
                    .map_or(self.preset.war.results.elo.start, |s| {
                        u32::try_from(s.elo.max(0)).unwrap_or(u32::MAX)
                    });
                candidates.push(Candidate {
                    guild,
                    level: u32::try_from(row.level.max(0)).unwrap_or(u32::MAX),
                    elo,
                    active_members: u32::try_from(active.max(0)).unwrap_or(u32::MAX),
                    region: row.region.unwrap_or_default(),
                    // Every guild is owed its narrow search from the start of matchmaking.
                    registered_ms: to_u64(registered.max(matching_ms)),
                });
            }
            let matching = find_match(&self.preset.war.matchmaking, &candidates, now);
            drop(conn);
            for pair in matching.pairs {
                match self
                    .start_war(pair.a, Some(pair.b), None, Some(cycle))
                    .await
                {
                    Ok(w) => started.push(w.id),
                    Err(e) => {
                        tracing::warn!(error = %e.msg, a = pair.a, b = pair.b, "starting a war failed")
                    }
                }
            }
            for guild in matching.pve {
                let benchmark = self.benchmark().await?;
                match self
                    .start_war(guild, None, Some(benchmark), Some(cycle))
                    .await
                {
                    Ok(w) => started.push(w.id),
                    Err(e) => tracing::warn!(error = %e.msg, guild, "starting a PvE war failed"),
                }
            }
            conn = self.db.pool().acquire().await.map_err(db_error)?;
        }
        Ok(started)
    }

    /// The score a PvE war must beat: the median of recent guild-vs-guild final scores, or
    /// the preset's when there are none yet.
    async fn benchmark(&self) -> Result<u64, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let mut scores = war_rows::recent_scores(&mut conn, BENCHMARK_SAMPLE)
            .await
            .map_err(db_error)?;
        if scores.is_empty() {
            return Ok(self.preset.war.pve_benchmark);
        }
        scores.sort_unstable();
        Ok(to_u64(scores[scores.len() / 2]))
    }

    /// Starts a war now: `a` against `b`, or a PvE war of `a` against `benchmark`. Neither
    /// guild may be at war already.
    pub async fn start_war(
        &self,
        a: i64,
        b: Option<i64>,
        benchmark: Option<u64>,
        cycle: Option<i64>,
    ) -> Result<WarRow, ErrorBody> {
        if b == Some(a) {
            return Err(errors::invalid("a guild cannot fight itself"));
        }
        if b.is_none() && benchmark.is_none() {
            return Err(errors::invalid("a war needs two guilds or a benchmark"));
        }
        let now = now_ms();
        let window = Window::war(&self.preset.war, now);
        let mut tx = self.db.begin().await.map_err(db_error)?;
        // Lock in id order, so two starts over the same guilds never wait on each other.
        let mut sides = vec![a];
        sides.extend(b);
        let mut order = sides.clone();
        order.sort_unstable();
        for g in &order {
            if !lock_guild(&mut tx, *g).await.map_err(db_error)? {
                return Err(errors::no_guild());
            }
        }
        for g in &sides {
            if war_rows::active_of_guild(&mut tx, *g)
                .await
                .map_err(db_error)?
                .is_some()
            {
                return Err(errors::conflict(format!("guild {g} is at war already")));
            }
        }
        let id = war_rows::insert(
            &mut tx,
            a,
            b,
            benchmark.map(to_i64),
            to_i64(window.start_ms),
            to_i64(window.end_ms),
        )
        .await
        .map_err(db_error)?;
        for g in &sides {
            let users = members::ids(&mut tx, *g).await.map_err(db_error)?;
            war_rows::add_to_roster(&mut tx, id, *g, &users)
                .await
                .map_err(db_error)?;
            if let Some(cycle) = cycle {
                war_rows::assign(&mut tx, *g, cycle, id)
                    .await
                    .map_err(db_error)?;
            }
        }
        let row = war_rows::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::not_found("the war just started is gone"))?;
        tx.commit().await.map_err(db_error)?;
        let key = war_key(id);
        self.load(&key).await?;
        self.announce_contest(&key, "started").await;
        // Both guilds' rooms hear of it: that is where members learn the war room's name.
        if let Ok(super::boards::Board::War(board)) = self.board(&key).await {
            for g in &sides {
                self.publish_room(&crate::guild::room_of(*g), ev::GUILD_WAR_STARTED, &board)
                    .await;
            }
        }
        tracing::info!(war = id, a, ?b, ?benchmark, "war started");
        Ok(row)
    }

    /// Ends wars whose window (and its grace for late reports) has passed; the wars ended.
    pub async fn end_due_wars(&self) -> Result<Vec<i64>, ErrorBody> {
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let settled_before = now_ms().saturating_sub(self.config.settle_grace_ms);
        let due = war_rows::due(&mut conn, to_i64(settled_before))
            .await
            .map_err(db_error)?;
        drop(conn);
        let mut ended = Vec::new();
        for id in due {
            if self.end_war(id).await?.is_some() {
                ended.push(id);
            }
        }
        Ok(ended)
    }

    /// Ends a war and pays its results, once: `None` when it had ended already. Its window
    /// closes now if it had not yet (an admin ending it early).
    pub async fn end_war(&self, id: i64) -> Result<Option<WarEnded>, ErrorBody> {
        let mut tx = self.db.begin().await.map_err(db_error)?;
        if !war_rows::close(&mut tx, id).await.map_err(db_error)? {
            return Ok(None);
        }
        let mut row = war_rows::get(&mut tx, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| errors::not_found("no such war"))?;
        let now = to_i64(now_ms());
        if row.end_ms > now {
            war_rows::set_end(&mut tx, id, now)
                .await
                .map_err(db_error)?;
            row.end_ms = now;
        }
        let ended = self.settle(&mut tx, &row).await?;
        // The guilds' XP and the members' coins commit with the result. Guild rows before
        // accounts, each in order, as every transaction that takes both does, so that none of
        // them waits for another holding what it needs.
        let mut awards = Vec::new();
        let mut sides: Vec<u64> = ended.board.sides.iter().map(|s| s.guild).collect();
        sides.sort_unstable();
        for guild in sides {
            let result = if ended.winner == Some(guild) {
                Outcome::Win
            } else {
                Outcome::Loss
            };
            let award = self
                .guilds
                .award_xp_in(
                    &mut tx,
                    to_i64(guild),
                    xp_source(result),
                    &format!("war:{id}:{guild}"),
                )
                .await?;
            awards.push(award);
        }
        let mut payees: Vec<&WarReward> =
            ended.rewards.iter().filter(|r| r.war_coins > 0).collect();
        payees.sort_by(|a, b| a.user.cmp(&b.user));
        for r in payees {
            self.pay(
                &mut tx,
                &r.user,
                &self.preset.war_currency,
                r.war_coins,
                &format!("war:{id}:{}", r.user),
                "war_reward",
                id,
            )
            .await?;
        }
        let json = serde_json::to_string(&ended).map_err(|e| {
            ErrorBody::new(
                guildhall_protocol::ErrorCode::Internal,
                format!("encoding a result: {e}"),
            )
        })?;
        let score_b = row
            .guild_b
            .and_then(|_| ended.board.sides.get(1))
            .map(|s| to_i64(s.score));
        let score_a = ended.board.sides.first().map_or(0, |s| to_i64(s.score));
        let winner = ended.winner.map(to_i64);
        war_rows::set_result(&mut tx, id, score_a, score_b, winner, &json)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;

        let key = war_key(id);
        self.forget(&key);
        self.announce_contest(&key, "ended").await;
        self.publish_room(&key, ev::WAR_ENDED, &ended).await;
        for award in &awards {
            self.guilds.announce_level_up(award).await;
        }
        tracing::info!(war = id, winner = ?ended.winner, "war ended");
        Ok(Some(ended))
    }

    /// The result of a closed war, read from the store inside its closing transaction, with
    /// Elo and streaks written there; the caller pays the rewards it lists.
    async fn settle(&self, tx: &mut Tx, row: &WarRow) -> Result<WarEnded, ErrorBody> {
        let rules = &self.preset.war;
        let window = Window {
            start_ms: to_u64(row.start_ms),
            end_ms: to_u64(row.end_ms),
        };
        let rows = runs::of_contest(tx, Contest::War(row.id), i64::MAX)
            .await
            .map_err(db_error)?;
        let roster = war_rows::roster(tx, row.id).await.map_err(db_error)?;
        let users: Vec<&str> = roster.iter().map(|(_, u)| u.as_str()).collect();
        let now_in: std::collections::HashMap<String, i64> = members::guilds_of(tx, &users)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        let sides: Vec<i64> = std::iter::once(row.guild_a).chain(row.guild_b).collect();
        let mut tallies: Vec<(i64, Tally)> = Vec::new();
        for g in &sides {
            let counted: Vec<Run> = rows
                .iter()
                .filter(|r| r.guild_id == Some(*g))
                .filter(|r| window.contains(to_u64(r.finished_ms)))
                // Membership was settled when the run was accepted (its guild is stored with
                // it): the run stands at the window's start, where every roster entry covers it.
                .map(|r| Run {
                    id: r.run_id.clone(),
                    user: r.user_id.clone(),
                    dna: to_u64(r.dna),
                    at_ms: window.start_ms,
                })
                .collect();
            // Who was on the side counts from the start; who has left since is not there at
            // the end (and gets no reward).
            let memberships: Vec<Membership> = roster
                .iter()
                .filter(|(guild, _)| guild == g)
                .map(|(_, user)| Membership {
                    user: user.clone(),
                    from_ms: window.start_ms,
                    until_ms: (now_in.get(user) != Some(g)).then_some(window.last_ms()),
                })
                .collect();
            tallies.push((*g, tally(&rules.scoring, &counted, &memberships, window)));
        }
        let score = |i: usize| tallies.get(i).map_or(0, |(_, t)| t.score.total);
        let first = match row.benchmark {
            Some(bench) if row.guild_b.is_none() => outcome(score(0), to_u64(bench)),
            _ => outcome(score(0), score(1)),
        };
        let winner = match first {
            Outcome::Win => Some(row.guild_a),
            Outcome::Loss => row.guild_b,
            Outcome::Draw => None,
        };
        let mut paid = Vec::new();
        let mut mvps = Vec::new();
        for (i, (g, t)) in tallies.iter().enumerate() {
            let result = if i == 0 { first } else { first.opposite() };
            let level = guilds::get(tx, *g)
                .await
                .map_err(db_error)?
                .map_or(1, |r| u32::try_from(r.level.max(1)).unwrap_or(1));
            for r in rewards(&rules.results, t, result) {
                if r.mvp {
                    mvps.push(r.user.clone());
                }
                let coins = with_war_bonus(&self.preset, level, r.war_coins);
                paid.push(WarReward {
                    user: r.user,
                    guild: to_u64(*g),
                    war_coins: coins,
                    mvp: r.mvp,
                });
            }
            // A PvE war moves no Elo: there is no rating on the other side.
            if row.guild_b.is_some() {
                let before = war_rows::standing(tx, *g).await.map_err(db_error)?;
                let elo = before.map_or(rules.results.elo.start, |s| {
                    u32::try_from(s.elo.max(0)).unwrap_or(u32::MAX)
                });
                let streak = before.map_or(Streak::default(), |s| Streak {
                    wins: u32::try_from(s.win_streak.max(0)).unwrap_or(0),
                    losses: u32::try_from(s.loss_streak.max(0)).unwrap_or(0),
                });
                let streak = streak_after(streak, result);
                war_rows::set_standing(
                    tx,
                    *g,
                    StandingRow {
                        elo: i64::from(elo_after(&rules.results.elo, elo, result)),
                        win_streak: i64::from(streak.wins),
                        loss_streak: i64::from(streak.losses),
                    },
                )
                .await
                .map_err(db_error)?;
            }
        }
        let board = WarBoard {
            war: to_u64(row.id),
            starts_at: window.start_ms,
            ends_at: window.end_ms,
            sides: tallies.iter().map(|(g, t)| side_board(*g, t)).collect(),
            benchmark: row.benchmark.map(to_u64),
            runs: tallies
                .iter()
                .flat_map(|(_, t)| &t.members)
                .map(|m| u64::from(m.runs))
                .sum(),
            status: "ended".into(),
        };
        Ok(WarEnded {
            board,
            winner: winner.map(to_u64),
            mvps,
            rewards: paid,
        })
    }

    /// Credits a reward once (by `idem`), inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn pay(
        &self,
        tx: &mut Tx,
        user: &str,
        currency: &str,
        amount: u64,
        idem: &str,
        kind: &str,
        contest: i64,
    ) -> Result<(), ErrorBody> {
        let account = ledger::user_account(user);
        let reason = contest.to_string();
        let entry = Entry {
            account: &account,
            currency,
            delta: to_i64(amount),
            kind,
            reason: Some(&reason),
            actor: None,
            idem: Some(idem),
            now_ms: to_i64(now_ms()),
        };
        match ledger::apply(tx, &entry).await {
            Ok(Applied::Done(_) | Applied::Duplicate(_)) => Ok(()),
            Err(e) => Err(errors::ledger(e, currency)),
        }
    }
}
