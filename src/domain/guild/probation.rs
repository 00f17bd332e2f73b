//! The guild rules that turn on elapsed time: automatic promotion (recruit → member after 7
//! days and 10 activity points), auto-kick of inactive members with a warning first, and the
//! 48-hour window before a leadership transfer takes effect.
//!
//! The caller passes `now_ms`, and a periodic job asks these questions of each member: the
//! answers depend only on stored timestamps, so a job that was down catches up on its next run
//! without a member losing the notice they were promised.

use super::preset::Preset;

pub const HOUR_MS: u64 = 3_600_000;
pub const DAY_MS: u64 = 86_400_000;

/// The automatic promotion due for a member with this role, joined at `joined_ms`, with
/// `points` activity points: `Some(new role name)` when days and points are both met. Days count
/// from joining the guild, not from the last promotion (seed 003: "30 days in guild").
pub fn due_promotion<'p>(
    preset: &'p Preset,
    role: &str,
    joined_ms: u64,
    points: u32,
    now_ms: u64,
) -> Option<&'p str> {
    let in_guild = now_ms.saturating_sub(joined_ms);
    preset
        .promotions
        .iter()
        .find(|p| p.from == role && in_guild >= u64::from(p.days) * DAY_MS && points >= p.points)
        .map(|p| p.to.as_str())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoKick {
    Keep,
    /// Send the warning now (and record `now_ms` as the member's `warned_ms`); the kick will
    /// come at `kick_at_ms` unless they are active again.
    Warn {
        kick_at_ms: u64,
    },
    Kick,
}

/// The auto-kick decision for one member. `days` is the guild's setting (`None` = off);
/// `warned_ms` is when the last warning went out.
///
/// - The warning goes out at `days - warning_days` days of inactivity (11 of 14).
/// - A warning counts only if sent at or after the last activity: activity after it resets the
///   whole cycle, and the member is warned afresh next time.
/// - The kick comes at `days` days of inactivity, but never sooner than `warning_days` after
///   the warning was sent, so a member always gets the full notice even if the job was down
///   when the warning was due. No warning, no kick.
/// - Protected members and the leader are always kept.
pub fn auto_kick(
    preset: &Preset,
    days: Option<u32>,
    last_active_ms: u64,
    warned_ms: Option<u64>,
    protected: bool,
    is_leader: bool,
    now_ms: u64,
) -> AutoKick {
    let Some(days) = days else {
        return AutoKick::Keep;
    };
    if protected || is_leader {
        return AutoKick::Keep;
    }
    let notice_ms = u64::from(preset.auto_kick_warning_days) * DAY_MS;
    let kick_after_ms = u64::from(days) * DAY_MS;
    let warn_after_ms = kick_after_ms.saturating_sub(notice_ms);
    let inactive_ms = now_ms.saturating_sub(last_active_ms);
    match warned_ms.filter(|&w| w >= last_active_ms) {
        Some(warned) => {
            let kick_at = kick_at_ms(last_active_ms, kick_after_ms, warned, notice_ms);
            if now_ms >= kick_at {
                AutoKick::Kick
            } else {
                AutoKick::Keep
            }
        }
        None if inactive_ms >= warn_after_ms => AutoKick::Warn {
            kick_at_ms: kick_at_ms(last_active_ms, kick_after_ms, now_ms, notice_ms),
        },
        None => AutoKick::Keep,
    }
}

/// `days` of inactivity, or the full notice after the warning, whichever is later.
fn kick_at_ms(last_active_ms: u64, kick_after_ms: u64, warned_ms: u64, notice_ms: u64) -> u64 {
    last_active_ms
        .saturating_add(kick_after_ms)
        .max(warned_ms.saturating_add(notice_ms))
}

/// Whether `days` is one of the auto-kick settings the preset offers (`None`, off, always is).
pub fn auto_kick_choice_ok(preset: &Preset, days: Option<u32>) -> bool {
    days.is_none_or(|d| preset.auto_kick_choices.contains(&d))
}

/// When a leadership transfer asked for at `now_ms` takes effect: now + 48 h (the window in
/// which it can be cancelled, against hijacked accounts).
pub fn transfer_effective_at(preset: &Preset, now_ms: u64) -> u64 {
    now_ms.saturating_add(preset.transfer_confirm_hours.saturating_mul(HOUR_MS))
}

pub fn transfer_due(effective_ms: u64, now_ms: u64) -> bool {
    now_ms >= effective_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start far from 0, so that no subtraction can hide at the epoch.
    const T0: u64 = 1_700_000_000_000;
    const HOUR: u64 = HOUR_MS;
    const DAY: u64 = DAY_MS;

    fn snake() -> Preset {
        Preset::builtin("supasnake").expect("builtin")
    }

    #[test]
    fn automatic_promotion_table() {
        let p = snake();
        // (role, time in guild, points, due)
        let table: &[(&str, u64, u32, Option<&str>)] = &[
            ("recruit", 6 * DAY + 23 * HOUR, 10, None),
            ("recruit", 7 * DAY - 1, 100, None),
            ("recruit", 7 * DAY, 9, None),
            ("recruit", 7 * DAY, 10, Some("member")),
            ("recruit", 40 * DAY, 500, Some("member")),
            ("member", 29 * DAY, 100, None),
            ("member", 30 * DAY, 99, None),
            ("member", 30 * DAY, 100, Some("veteran")),
            ("veteran", 365 * DAY, 10_000, None),
            ("officer", 365 * DAY, 10_000, None),
            ("leader", 365 * DAY, 10_000, None),
        ];
        for &(role, elapsed, points, due) in table {
            assert_eq!(
                due_promotion(&p, role, T0, points, T0 + elapsed),
                due,
                "{role} after {elapsed} ms with {points} points"
            );
        }
        // A clock behind the join time promotes no one.
        assert_eq!(due_promotion(&p, "recruit", T0, 10, T0 - DAY), None);
    }

    #[test]
    fn krog_newcomers_need_only_the_week() {
        let p = Preset::builtin("krog").expect("builtin");
        assert_eq!(due_promotion(&p, "newcomer", T0, 0, T0 + 7 * DAY - 1), None);
        assert_eq!(
            due_promotion(&p, "newcomer", T0, 0, T0 + 7 * DAY),
            Some("member")
        );
    }

    #[test]
    fn auto_kick_after_fourteen_days() {
        let p = snake();
        let at = |now_day: u64, warned_day: Option<u64>| {
            auto_kick(
                &p,
                Some(14),
                T0,
                warned_day.map(|d| T0 + d * DAY),
                false,
                false,
                T0 + now_day * DAY,
            )
        };
        // (day now, day warned, decision)
        let table = [
            (10, None, AutoKick::Keep),
            (
                11,
                None,
                AutoKick::Warn {
                    kick_at_ms: T0 + 14 * DAY,
                },
            ),
            (12, Some(11), AutoKick::Keep),
            (13, Some(11), AutoKick::Keep),
            (14, Some(11), AutoKick::Kick),
            (20, Some(11), AutoKick::Kick),
            // The job was down until day 13: the warning goes out then, with full notice.
            (
                13,
                None,
                AutoKick::Warn {
                    kick_at_ms: T0 + 16 * DAY,
                },
            ),
            (14, Some(13), AutoKick::Keep),
            (15, Some(13), AutoKick::Keep),
            (16, Some(13), AutoKick::Kick),
            // Never a kick without a warning, however long the member was away.
            (
                40,
                None,
                AutoKick::Warn {
                    kick_at_ms: T0 + 43 * DAY,
                },
            ),
        ];
        for (now, warned, expect) in table {
            assert_eq!(at(now, warned), expect, "day {now}, warned {warned:?}");
        }
        // Just before the edges.
        assert_eq!(
            auto_kick(&p, Some(14), T0, None, false, false, T0 + 11 * DAY - 1),
            AutoKick::Keep
        );
        assert_eq!(
            auto_kick(
                &p,
                Some(14),
                T0,
                Some(T0 + 11 * DAY),
                false,
                false,
                T0 + 14 * DAY - 1
            ),
            AutoKick::Keep
        );
    }

    #[test]
    fn auto_kick_exemptions() {
        let p = snake();
        let warned = Some(T0 + 11 * DAY);
        let now = T0 + 30 * DAY;
        assert_eq!(
            auto_kick(&p, None, T0, warned, false, false, now),
            AutoKick::Keep
        );
        assert_eq!(
            auto_kick(&p, Some(14), T0, warned, true, false, now),
            AutoKick::Keep
        );
        assert_eq!(
            auto_kick(&p, Some(14), T0, warned, false, true, now),
            AutoKick::Keep
        );
        assert_eq!(
            auto_kick(&p, Some(14), T0, warned, false, false, now),
            AutoKick::Kick
        );
    }

    #[test]
    fn activity_after_the_warning_resets_it() {
        let p = snake();
        let warned = Some(T0 + 11 * DAY);
        let back = T0 + 12 * DAY;
        // Active on day 12: day 14 is only 2 days of inactivity.
        assert_eq!(
            auto_kick(&p, Some(14), back, warned, false, false, T0 + 14 * DAY),
            AutoKick::Keep
        );
        // Away again: the old warning no longer counts, a new one goes out at 11 days.
        assert_eq!(
            auto_kick(&p, Some(14), back, warned, false, false, back + 11 * DAY),
            AutoKick::Warn {
                kick_at_ms: back + 14 * DAY
            }
        );
        assert_eq!(
            auto_kick(&p, Some(14), back, warned, false, false, back + 30 * DAY),
            AutoKick::Warn {
                kick_at_ms: back + 33 * DAY
            }
        );
    }

    #[test]
    fn other_settings_warn_three_days_ahead() {
        let p = snake();
        for (days, warn_day) in [(7, 4), (30, 27)] {
            let decide = |now: u64| auto_kick(&p, Some(days), T0, None, false, false, now);
            assert_eq!(decide(T0 + warn_day * DAY - 1), AutoKick::Keep);
            assert_eq!(
                decide(T0 + warn_day * DAY),
                AutoKick::Warn {
                    kick_at_ms: T0 + u64::from(days) * DAY
                }
            );
        }
        assert!(auto_kick_choice_ok(&p, None));
        assert!(auto_kick_choice_ok(&p, Some(14)));
        assert!(!auto_kick_choice_ok(&p, Some(10)));
    }

    #[test]
    fn transfer_waits_48_hours() {
        let p = snake();
        let effective = transfer_effective_at(&p, T0);
        assert_eq!(effective, T0 + 48 * HOUR);
        assert!(!transfer_due(effective, T0));
        assert!(!transfer_due(effective, T0 + 47 * HOUR));
        assert!(!transfer_due(effective, effective - 1));
        assert!(transfer_due(effective, effective));
        assert!(transfer_due(effective, effective + DAY));
    }
}
