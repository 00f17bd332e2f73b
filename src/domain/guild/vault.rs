//! The guild vault's limits (seed 003 §1.4, RULES.md § Guilds): a member donates at most
//! `daily_per_member` per UTC day, the vault holds at most `cap`, and payouts cannot take more
//! than it holds.
//!
//! Only the limits live here. Whether the donor's wallet holds the amount, and who may donate
//! or spend (`roles::Action::Donate`, `SpendVault`), the store and the service decide; the store
//! applies the donation, the vault and the ledger entry in one transaction.

use super::preset::VaultRules;
use super::probation::DAY_MS;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultRefusal {
    /// Zero: a donation or payout of nothing would still write a ledger line.
    #[error("the amount must be more than 0")]
    NotPositive,
    /// The member's daily donation limit; `left` may still go in today.
    #[error("that passes your daily donation limit; {left} left today")]
    DailyLimit { left: u64 },
    /// The vault's cap; `room` may still go in.
    #[error("that would overfill the vault; room for {room}")]
    VaultFull { room: u64 },
    /// A payout larger than the vault.
    #[error("the vault holds only {vault}")]
    Empty { vault: u64 },
}

impl VaultRefusal {
    /// The text with the preset's limits in it, for the member: "at most 10000 a day; 2500
    /// left today", "the vault holds at most 50000; room for 300". `Display` lacks the limits
    /// because the variants carry only what is left.
    pub fn message(&self, rules: &VaultRules) -> String {
        match self {
            VaultRefusal::DailyLimit { left } => format!(
                "at most {} a day; {left} left today",
                rules.daily_per_member
            ),
            VaultRefusal::VaultFull { room } => {
                format!("the vault holds at most {}; room for {room}", rules.cap)
            }
            other => other.to_string(),
        }
    }
}

/// UTC day number of a timestamp (days since 1970-01-01): the daily limit resets at 00:00 UTC
/// for everyone, whatever their time zone.
pub fn day_of(ts_ms: u64) -> u64 {
    ts_ms / DAY_MS
}

/// Donated so far today, given what the member's record says (the day of their last donation
/// and the total of that day): a record from an earlier day counts for nothing.
pub fn donated_today(last_day: u64, amount_that_day: u64, today: u64) -> u64 {
    if last_day == today {
        amount_that_day
    } else {
        0
    }
}

pub fn check_donation(
    rules: &VaultRules,
    amount: u64,
    donated_today: u64,
    vault: u64,
) -> Result<(), VaultRefusal> {
    if amount == 0 {
        return Err(VaultRefusal::NotPositive);
    }
    let left = rules.daily_per_member.saturating_sub(donated_today);
    if amount > left {
        return Err(VaultRefusal::DailyLimit { left });
    }
    // All or nothing, never a partial donation: the member asked for this amount.
    let room = rules.cap.saturating_sub(vault);
    if amount > room {
        return Err(VaultRefusal::VaultFull { room });
    }
    Ok(())
}

pub fn check_payout(vault: u64, amount: u64) -> Result<(), VaultRefusal> {
    if amount == 0 {
        return Err(VaultRefusal::NotPositive);
    }
    if amount > vault {
        return Err(VaultRefusal::Empty { vault });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> VaultRules {
        VaultRules {
            daily_per_member: 10_000,
            cap: 50_000,
        }
    }

    #[test]
    fn donation_table() {
        let r = rules();
        // (amount, donated today, vault, result)
        let table = [
            (10_000, 0, 0, Ok(())),
            (10_001, 0, 0, Err(VaultRefusal::DailyLimit { left: 10_000 })),
            (2_500, 7_500, 0, Ok(())),
            (
                2_501,
                7_500,
                0,
                Err(VaultRefusal::DailyLimit { left: 2_500 }),
            ),
            (1, 10_000, 0, Err(VaultRefusal::DailyLimit { left: 0 })),
            (1, 12_000, 0, Err(VaultRefusal::DailyLimit { left: 0 })),
            (0, 0, 0, Err(VaultRefusal::NotPositive)),
            (10_000, 0, 40_000, Ok(())),
            (300, 0, 49_700, Ok(())),
            (301, 0, 49_700, Err(VaultRefusal::VaultFull { room: 300 })),
            (1, 0, 50_000, Err(VaultRefusal::VaultFull { room: 0 })),
            (1, 0, 60_000, Err(VaultRefusal::VaultFull { room: 0 })),
        ];
        for (amount, today, vault, expect) in table {
            assert_eq!(
                check_donation(&r, amount, today, vault),
                expect,
                "{amount} after {today} today into {vault}"
            );
        }
    }

    #[test]
    fn the_next_utc_day_resets_the_limit() {
        let r = rules();
        let late = 19_999 * DAY_MS + DAY_MS - 1; // 23:59:59.999 UTC
        let midnight = late + 1;
        assert_eq!(day_of(late), 19_999);
        assert_eq!(day_of(midnight), 20_000);
        let last_day = day_of(late);
        let today = donated_today(last_day, 10_000, day_of(late));
        assert_eq!(
            check_donation(&r, 1, today, 0),
            Err(VaultRefusal::DailyLimit { left: 0 })
        );
        let today = donated_today(last_day, 10_000, day_of(midnight));
        assert_eq!(today, 0);
        assert_eq!(check_donation(&r, 10_000, today, 0), Ok(()));
    }

    #[test]
    fn payout_table() {
        let table = [
            (5_000, 5_000, Ok(())),
            (5_000, 1, Ok(())),
            (120, 121, Err(VaultRefusal::Empty { vault: 120 })),
            (0, 1, Err(VaultRefusal::Empty { vault: 0 })),
            (5_000, 0, Err(VaultRefusal::NotPositive)),
        ];
        for (vault, amount, expect) in table {
            assert_eq!(check_payout(vault, amount), expect, "{amount} from {vault}");
        }
    }

    #[test]
    fn refusal_texts() {
        let r = rules();
        let table = [
            (
                VaultRefusal::DailyLimit { left: 2_500 },
                "at most 10000 a day; 2500 left today",
            ),
            (
                VaultRefusal::VaultFull { room: 300 },
                "the vault holds at most 50000; room for 300",
            ),
            (
                VaultRefusal::Empty { vault: 120 },
                "the vault holds only 120",
            ),
            (VaultRefusal::NotPositive, "the amount must be more than 0"),
        ];
        for (refusal, text) in table {
            assert_eq!(refusal.message(&r), text);
        }
        assert_eq!(
            VaultRefusal::DailyLimit { left: 2_500 }.to_string(),
            "that passes your daily donation limit; 2500 left today"
        );
    }
}
