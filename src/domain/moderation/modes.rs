//! A live room's moderation state (RULES.md § Moderation): mutes of 1 hour, 24 hours or for
//! good, and the room modes a moderator can switch on — slow mode, members-only, and panic mode
//! (only accounts of some age may speak, against a raid of fresh accounts).
//!
//! Modes sit on top of the send limits of `send_window`: those hold for everyone, these are a
//! moderator's choice for one room and let the privileged through.

use std::fmt;

use super::ladder::{DAY_MS, HOUR_MS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MuteDuration {
    OneHour,
    OneDay,
    Permanent,
}

impl MuteDuration {
    pub const ALL: [MuteDuration; 3] = [
        MuteDuration::OneHour,
        MuteDuration::OneDay,
        MuteDuration::Permanent,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MuteDuration::OneHour => "1h",
            MuteDuration::OneDay => "24h",
            MuteDuration::Permanent => "permanent",
        }
    }

    /// When a mute given at `now_ms` ends; `None` = permanent.
    pub fn until(self, now_ms: u64) -> Option<u64> {
        match self {
            MuteDuration::OneHour => Some(now_ms.saturating_add(HOUR_MS)),
            MuteDuration::OneDay => Some(now_ms.saturating_add(DAY_MS)),
            MuteDuration::Permanent => None,
        }
    }
}

/// Time left of a mute ending at `until` (None = permanent): None when it is over, Some(None)
/// permanent, Some(Some(ms)).
///
/// The end itself is already free (`now_ms == until` is over), as with penalties in `ladder`.
pub fn mute_left(until: Option<u64>, now_ms: u64) -> Option<Option<u64>> {
    match until {
        None => Some(None),
        Some(end) if now_ms >= end => None,
        Some(end) => Some(Some(end - now_ms)),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomModes {
    /// Minimum gap between one speaker's messages, ms; 0 = off.
    pub slow_ms: u64,
    pub members_only: bool,
    pub panic: bool,
}

/// Longest slow-mode gap a moderator can set: an hour (longer is a mute of the whole room).
pub const MAX_SLOW_MS: u64 = 3_600_000;

/// Whether `slow_ms` is a slow-mode setting a moderator may choose (0 switches it off).
pub fn slow_ms_ok(slow_ms: u64) -> bool {
    slow_ms <= MAX_SLOW_MS
}

/// What a speaker brings to a room's modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Speaker {
    /// Moderator, admin, or the room's guild officer or above.
    pub privileged: bool,
    /// The token says member, or a member of the room's guild.
    pub member: bool,
    pub account_created_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeRefusal {
    MembersOnly,
    Panic { min_days: u32 },
    Slow { retry_ms: u64 },
}

impl fmt::Display for ModeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MembersOnly => f.write_str("this room is in members-only mode"),
            Self::Panic { min_days } => write!(
                f,
                "this room is in panic mode: accounts younger than {min_days} day{} cannot speak",
                if min_days == 1 { "" } else { "s" }
            ),
            Self::Slow { retry_ms } => {
                // Rounded up to the tenth: a client that waits what it is told must get through.
                let tenths = retry_ms.div_ceil(100);
                write!(f, "slow mode: wait {}.{} s", tenths / 10, tenths % 10)
            }
        }
    }
}

/// Privileged speakers pass every mode. Members-only: `member` needed. Panic: account at least
/// `panic_min_days` old (unknown age fails). Slow: at least `slow_ms` since `last_sent_ms` (None
/// passes).
///
/// Checked in that order, so the refusal names the mode the speaker can do least about: a
/// non-member is told the room is members-only, not to wait and then be refused anyway.
pub fn check_modes(
    modes: &RoomModes,
    speaker: &Speaker,
    panic_min_days: u32,
    last_sent_ms: Option<u64>,
    now_ms: u64,
) -> Result<(), ModeRefusal> {
    if speaker.privileged {
        return Ok(());
    }
    if modes.members_only && !speaker.member {
        return Err(ModeRefusal::MembersOnly);
    }
    if modes.panic {
        let min_age_ms = u64::from(panic_min_days).saturating_mul(DAY_MS);
        // An account "created" after now (clock skew) is 0 days old, not very old.
        let old_enough = speaker
            .account_created_ms
            .is_some_and(|created| now_ms.saturating_sub(created) >= min_age_ms);
        if !old_enough {
            return Err(ModeRefusal::Panic {
                min_days: panic_min_days,
            });
        }
    }
    if modes.slow_ms > 0 {
        if let Some(last) = last_sent_ms {
            let since = now_ms.saturating_sub(last);
            if since < modes.slow_ms {
                return Err(ModeRefusal::Slow {
                    retry_ms: modes.slow_ms - since,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const SEC: u64 = 1_000;
    const HOUR: u64 = HOUR_MS;
    const DAY: u64 = DAY_MS;

    #[test]
    fn mute_durations() {
        // (text, duration, until given at T0)
        let table = [
            ("1h", MuteDuration::OneHour, Some(T0 + HOUR)),
            ("24h", MuteDuration::OneDay, Some(T0 + 24 * HOUR)),
            ("permanent", MuteDuration::Permanent, None),
        ];
        for (text, d, until) in table {
            assert_eq!(MuteDuration::parse(text), Some(d));
            assert_eq!(d.as_str(), text);
            assert_eq!(d.until(T0), until, "{text}");
        }
        for bad in ["", "1H", "2h", "1d", "forever", "24"] {
            assert_eq!(MuteDuration::parse(bad), None, "{bad:?}");
        }
        assert_eq!(MuteDuration::OneDay.until(u64::MAX), Some(u64::MAX));
    }

    #[test]
    fn time_left_of_a_mute() {
        // (until, now, left)
        let table = [
            (Some(T0 + HOUR), T0, Some(Some(HOUR))),
            (Some(T0 + HOUR), T0 + HOUR - 1, Some(Some(1))),
            (Some(T0 + HOUR), T0 + HOUR, None),
            (Some(T0 + HOUR), T0 + DAY, None),
            (None, T0, Some(None)),
            (None, u64::MAX, Some(None)),
        ];
        for (until, now, left) in table {
            assert_eq!(mute_left(until, now), left, "until {until:?} at {now}");
        }
        // A one-hour mute given now is over in exactly an hour.
        let until = MuteDuration::OneHour.until(T0);
        assert_eq!(mute_left(until, T0 + 59 * 60 * SEC), Some(Some(60 * SEC)));
        assert_eq!(mute_left(until, T0 + HOUR), None);
    }

    fn speaker(privileged: bool, member: bool, age_days: Option<u64>) -> Speaker {
        Speaker {
            privileged,
            member,
            account_created_ms: age_days.map(|d| T0 - d * DAY),
        }
    }

    #[test]
    fn modes_table() {
        let off = RoomModes::default();
        let members = RoomModes {
            members_only: true,
            ..off
        };
        let panic = RoomModes { panic: true, ..off };
        let slow = RoomModes {
            slow_ms: 10 * SEC,
            ..off
        };
        let all = RoomModes {
            slow_ms: 10 * SEC,
            members_only: true,
            panic: true,
        };
        let guest = speaker(false, false, Some(30));
        let member = speaker(false, true, Some(30));
        let newbie = speaker(false, true, Some(6));
        let unknown = speaker(false, true, None);
        let moderator = speaker(true, false, None);
        let just_sent = Some(T0 - 2 * SEC);
        // (modes, speaker, last sent, result)
        let table = [
            (off, guest, just_sent, Ok(())),
            (off, unknown, None, Ok(())),
            (members, guest, None, Err(ModeRefusal::MembersOnly)),
            (members, member, None, Ok(())),
            (members, moderator, None, Ok(())),
            (panic, newbie, None, Err(ModeRefusal::Panic { min_days: 7 })),
            (
                panic,
                unknown,
                None,
                Err(ModeRefusal::Panic { min_days: 7 }),
            ),
            (panic, speaker(false, false, Some(7)), None, Ok(())),
            (panic, member, None, Ok(())),
            (panic, moderator, None, Ok(())),
            (slow, member, None, Ok(())),
            (
                slow,
                member,
                just_sent,
                Err(ModeRefusal::Slow { retry_ms: 8 * SEC }),
            ),
            (slow, member, Some(T0 - 10 * SEC), Ok(())),
            (
                slow,
                member,
                Some(T0 - 10 * SEC + 1),
                Err(ModeRefusal::Slow { retry_ms: 1 }),
            ),
            (slow, moderator, just_sent, Ok(())),
            // All at once: the first that fails is named.
            (all, guest, just_sent, Err(ModeRefusal::MembersOnly)),
            (
                all,
                newbie,
                just_sent,
                Err(ModeRefusal::Panic { min_days: 7 }),
            ),
            (
                all,
                member,
                just_sent,
                Err(ModeRefusal::Slow { retry_ms: 8 * SEC }),
            ),
            (all, member, None, Ok(())),
            (all, moderator, just_sent, Ok(())),
        ];
        for (i, (modes, who, last, expect)) in table.into_iter().enumerate() {
            assert_eq!(
                check_modes(&modes, &who, 7, last, T0),
                expect,
                "row {i}: {modes:?} {who:?}"
            );
        }
    }

    #[test]
    fn panic_age_boundary() {
        let panic = RoomModes {
            panic: true,
            ..RoomModes::default()
        };
        let created = |ms: u64| Speaker {
            privileged: false,
            member: true,
            account_created_ms: Some(ms),
        };
        // (created, min days, passes)
        let table = [
            (T0 - 7 * DAY, 7, true),
            (T0 - 7 * DAY + 1, 7, false),
            (T0 - DAY, 1, true),
            (T0, 0, true),
            // Created "in the future" by a skewed clock: 0 days old.
            (T0 + HOUR, 1, false),
            (T0 + HOUR, 0, true),
            (0, u32::MAX, false),
        ];
        for (c, days, passes) in table {
            assert_eq!(
                check_modes(&panic, &created(c), days, None, T0).is_ok(),
                passes,
                "created {c}, {days} days"
            );
        }
    }

    #[test]
    fn refusal_messages() {
        let table = [
            (
                ModeRefusal::MembersOnly,
                "this room is in members-only mode",
            ),
            (
                ModeRefusal::Panic { min_days: 7 },
                "this room is in panic mode: accounts younger than 7 days cannot speak",
            ),
            (
                ModeRefusal::Panic { min_days: 1 },
                "this room is in panic mode: accounts younger than 1 day cannot speak",
            ),
            (
                ModeRefusal::Slow { retry_ms: 1_200 },
                "slow mode: wait 1.2 s",
            ),
            (
                ModeRefusal::Slow { retry_ms: 1_201 },
                "slow mode: wait 1.3 s",
            ),
            (ModeRefusal::Slow { retry_ms: 1 }, "slow mode: wait 0.1 s"),
            (
                ModeRefusal::Slow { retry_ms: 8_000 },
                "slow mode: wait 8.0 s",
            ),
            (
                ModeRefusal::Slow {
                    retry_ms: MAX_SLOW_MS,
                },
                "slow mode: wait 3600.0 s",
            ),
        ];
        for (refusal, text) in table {
            assert_eq!(refusal.to_string(), text);
        }
    }

    #[test]
    fn slow_mode_settings() {
        assert_eq!(MAX_SLOW_MS, HOUR);
        for (ms, ok) in [(0, true), (3 * SEC, true), (HOUR, true), (HOUR + 1, false)] {
            assert_eq!(slow_ms_ok(ms), ok, "{ms}");
        }
    }
}
