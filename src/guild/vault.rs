//! The guild vault and the member's wallet: donations in, officer payouts out, every move a
//! pair of ledger entries.

use std::collections::BTreeMap;

use guildhall_protocol::{
    ev, Donated, Donation, GuildDonate, GuildPayout, PaidOut, Payout, VaultView, Wallet,
};

use super::errors::{self, db_error};
use super::{now, to_i64, to_u64, views, GuildService};
use crate::auth::User;
use crate::domain::guild::probation::DAY_MS;
use crate::domain::guild::roles::{permit, Action};
use crate::domain::guild::vault::{check_donation, check_payout, day_of, donated_today};
use crate::store::guild::ledger::{self, Applied, Entry};
use crate::store::guild::members;

/// How far back the vault log reaches (RULES.md: donations and expenditure of 30 days).
const VAULT_LOG_DAYS: u64 = 30;
/// Most entries a vault log or wallet view returns.
const MAX_LOG: i64 = 500;
const WALLET_RECENT: i64 = 50;
/// Longest payout reason, chars.
const MAX_REASON: usize = 200;

impl GuildService {
    /// Donates from the member's wallet to the vault. With an `idem` key a repeat (a retry
    /// after a lost reply, on any node) answers the first result and moves nothing.
    pub async fn donate(
        &self,
        user: &User,
        req: GuildDonate,
        idem: Option<&str>,
    ) -> Result<Donated, errors::Body> {
        let p = &*self.preset;
        let id = to_i64(req.guild);
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(p, &actor.role, Action::Donate).map_err(errors::denied)?;
        let now = now();
        let vault_account = ledger::guild_account(id);
        let user_account = ledger::user_account(&user.id);
        let idem_key = idem.map(|k| format!("donate:{}:{k}", user.id));
        if let Some(key) = &idem_key {
            if ledger::by_idem(&mut tx, key)
                .await
                .map_err(db_error)?
                .is_some()
            {
                return self
                    .donated_now(&mut tx, &vault_account, &user_account)
                    .await;
            }
        }
        let vault = ledger::balance(&mut tx, &vault_account, &p.currency)
            .await
            .map_err(db_error)?;
        let today = day_of(to_u64(now));
        let so_far = donated_today(
            to_u64(actor.donated_day),
            to_u64(actor.donated_amount),
            today,
        );
        check_donation(&p.vault, req.amount, so_far, to_u64(vault))
            .map_err(|r| errors::limit(r.message(&p.vault)))?;
        let amount = to_i64(req.amount);
        let debit = Entry {
            account: &user_account,
            currency: &p.currency,
            delta: -amount,
            kind: "donation",
            reason: Some(&vault_account),
            actor: Some(&user.id),
            idem: idem_key.as_deref(),
            now_ms: now,
        };
        let balance = match ledger::apply(&mut tx, &debit).await {
            Ok(Applied::Done(row)) => row.balance,
            // A concurrent repeat committed first: answer as it did, change nothing.
            Ok(Applied::Duplicate(_)) => {
                drop(tx);
                let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
                return self
                    .donated_now(&mut conn, &vault_account, &user_account)
                    .await;
            }
            Err(e) => return Err(errors::ledger(e, &p.currency)),
        };
        let credit = Entry {
            account: &vault_account,
            currency: &p.currency,
            delta: amount,
            kind: "donation",
            reason: None,
            actor: Some(&user.id),
            idem: None,
            now_ms: now,
        };
        let vault = match ledger::apply(&mut tx, &credit).await {
            Ok(Applied::Done(row)) | Ok(Applied::Duplicate(row)) => row.balance,
            Err(e) => return Err(errors::ledger(e, &p.currency)),
        };
        members::set_donated(
            &mut tx,
            id,
            &user.id,
            to_i64(today),
            to_i64(so_far) + amount,
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_DONATION,
            &Donation {
                user: views::user(&user.id, &user.name),
                amount: req.amount,
                vault: to_u64(vault),
            },
        )
        .await;
        Ok(Donated {
            vault: to_u64(vault),
            balance: to_u64(balance),
        })
    }

    async fn donated_now(
        &self,
        conn: &mut sqlx::AnyConnection,
        vault_account: &str,
        user_account: &str,
    ) -> Result<Donated, errors::Body> {
        let c = &self.preset.currency;
        let vault = ledger::balance(conn, vault_account, c)
            .await
            .map_err(db_error)?;
        let balance = ledger::balance(conn, user_account, c)
            .await
            .map_err(db_error)?;
        Ok(Donated {
            vault: to_u64(vault),
            balance: to_u64(balance),
        })
    }

    /// Pays a member out of the vault (officers and up).
    pub async fn payout(
        &self,
        user: &User,
        req: GuildPayout,
        idem: Option<&str>,
    ) -> Result<PaidOut, errors::Body> {
        let p = &*self.preset;
        let id = to_i64(req.guild);
        if req
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON)
        {
            return Err(errors::invalid(format!(
                "the reason is longer than {MAX_REASON} characters"
            )));
        }
        let mut tx = self.locked(id).await?;
        let actor = Self::actor(&mut tx, id, &user.id).await?;
        permit(p, &actor.role, Action::SpendVault).map_err(errors::denied)?;
        let target = members::get(&mut tx, id, &req.user)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::target_not_member)?;
        let vault_account = ledger::guild_account(id);
        let vault = ledger::balance(&mut tx, &vault_account, &p.currency)
            .await
            .map_err(db_error)?;
        check_payout(to_u64(vault), req.amount).map_err(|r| match r {
            crate::domain::guild::vault::VaultRefusal::Empty { .. } => errors::Body::new(
                guildhall_protocol::ErrorCode::InsufficientFunds,
                r.message(&p.vault),
            ),
            other => errors::invalid(other.message(&p.vault)),
        })?;
        let now = now();
        let amount = to_i64(req.amount);
        let idem_key = idem.map(|k| format!("payout:{}:{k}", user.id));
        let debit = Entry {
            account: &vault_account,
            currency: &p.currency,
            delta: -amount,
            kind: "payout",
            reason: req.reason.as_deref(),
            actor: Some(&user.id),
            idem: idem_key.as_deref(),
            now_ms: now,
        };
        let vault = match ledger::apply(&mut tx, &debit).await {
            Ok(Applied::Done(row)) => row.balance,
            Ok(Applied::Duplicate(_)) => {
                drop(tx);
                let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
                let vault = ledger::balance(&mut conn, &vault_account, &p.currency)
                    .await
                    .map_err(db_error)?;
                return Ok(PaidOut {
                    vault: to_u64(vault),
                });
            }
            Err(e) => return Err(errors::ledger(e, &p.currency)),
        };
        let target_account = ledger::user_account(&target.user_id);
        let credit = Entry {
            account: &target_account,
            currency: &p.currency,
            delta: amount,
            kind: "payout",
            reason: req.reason.as_deref(),
            actor: Some(&user.id),
            idem: None,
            now_ms: now,
        };
        ledger::apply(&mut tx, &credit)
            .await
            .map_err(|e| errors::ledger(e, &p.currency))?;
        tx.commit().await.map_err(db_error)?;
        self.publish(
            id,
            ev::GUILD_PAYOUT,
            &Payout {
                user: views::user(&target.user_id, &target.user_name),
                by: views::user(&user.id, &user.name),
                amount: req.amount,
                vault: to_u64(vault),
                reason: req.reason,
            },
        )
        .await;
        Ok(PaidOut {
            vault: to_u64(vault),
        })
    }

    /// The vault and its last 30 days of donations and payouts, for members.
    pub async fn vault(&self, user: &User, guild: u64) -> Result<VaultView, errors::Body> {
        let p = &*self.preset;
        let id = to_i64(guild);
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        members::get(&mut conn, id, &user.id)
            .await
            .map_err(db_error)?
            .ok_or_else(errors::not_member)?;
        let account = ledger::guild_account(id);
        let vault = ledger::balance(&mut conn, &account, &p.currency)
            .await
            .map_err(db_error)?;
        let since = now() - to_i64(VAULT_LOG_DAYS * DAY_MS);
        let log = ledger::recent(&mut conn, &account, since, MAX_LOG)
            .await
            .map_err(db_error)?;
        Ok(VaultView {
            vault: to_u64(vault),
            cap: p.vault.cap,
            log: log.into_iter().map(views::ledger_entry).collect(),
        })
    }

    /// The caller's balances (every preset currency, zero when never credited) and last entries.
    pub async fn wallet(&self, user: &str) -> Result<Wallet, errors::Body> {
        let p = &*self.preset;
        let mut conn = self.db.pool().acquire().await.map_err(db_error)?;
        let account = ledger::user_account(user);
        let mut balances: BTreeMap<String, u64> = [p.currency.clone(), p.war_currency.clone()]
            .into_iter()
            .map(|c| (c, 0))
            .collect();
        for (currency, balance) in ledger::balances(&mut conn, &account)
            .await
            .map_err(db_error)?
        {
            balances.insert(currency, to_u64(balance));
        }
        let recent = ledger::recent(&mut conn, &account, 0, WALLET_RECENT)
            .await
            .map_err(db_error)?;
        Ok(Wallet {
            balances,
            recent: recent.into_iter().map(views::ledger_entry).collect(),
        })
    }
}
