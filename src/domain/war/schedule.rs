//! The weekly war calendar (RULES.md § Guild wars): registration opens on one weekday, and on
//! another the registered guilds are matched and their 96-hour wars begin. Times are wall-clock
//! times in the preset's time zone (SupaSnake: Wednesday 00:00 and Thursday 12:00,
//! America/Los_Angeles), so a war starts at noon in Los Angeles in winter and in summer alike.
//!
//! A week's war is a *cycle*, named by the instant its matchmaking begins (`cycle_ms`): guilds
//! register for a cycle, and the scheduler opens and matches cycles by that name, so two nodes
//! that disagree by a second about "now" still talk about the same week.
//!
//! Wall-clock rules meet daylight saving here: a time that does not exist that day (02:30 when
//! clocks spring forward) happens an hour later; a time that happens twice (01:30 when clocks
//! fall back) happens the first time.

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// When the wars of a week happen. `Default` is SupaSnake's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Off: wars start only when the admin API starts them.
    pub enabled: bool,
    /// An IANA zone name, e.g. "America/Los_Angeles".
    pub time_zone: String,
    pub registration_opens: WeeklyTime,
    /// Registration closes and matchmaking begins; the matched wars start at once.
    pub war_starts: WeeklyTime,
}

/// A weekday ("mon" … "sun", or the full English name) and a time of day ("HH:MM").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyTime {
    pub day: String,
    pub at: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            enabled: true,
            time_zone: "America/Los_Angeles".into(),
            registration_opens: WeeklyTime {
                day: "wed".into(),
                at: "00:00".into(),
            },
            war_starts: WeeklyTime {
                day: "thu".into(),
                at: "12:00".into(),
            },
        }
    }
}

/// Where the calendar stands at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Guilds may register for the cycle whose matchmaking begins at `cycle_ms`.
    Registration { opened_ms: u64, cycle_ms: u64 },
    /// Between a cycle's start and the next registration.
    Closed {
        next_open_ms: u64,
        next_cycle_ms: u64,
    },
}

/// A checked schedule: the zone and both weekly times parsed.
#[derive(Clone, Copy, Debug)]
pub struct Calendar {
    tz: Tz,
    opens: (Weekday, NaiveTime),
    starts: (Weekday, NaiveTime),
}

const DAY_MS: i64 = 86_400_000;

fn parse_weekly(what: &str, t: &WeeklyTime) -> Result<(Weekday, NaiveTime), String> {
    let day = t
        .day
        .parse::<Weekday>()
        .map_err(|_| format!("{what}.day {:?} is not a weekday (mon … sun)", t.day))?;
    let at = NaiveTime::parse_from_str(&t.at, "%H:%M")
        .map_err(|_| format!("{what}.at {:?} is not a time of day (HH:MM)", t.at))?;
    Ok((day, at))
}

impl Schedule {
    /// Parses the zone and the two times; the error names the bad key.
    pub fn calendar(&self) -> Result<Calendar, String> {
        let tz = self
            .time_zone
            .parse::<Tz>()
            .map_err(|_| format!("time_zone {:?} is not an IANA zone", self.time_zone))?;
        let opens = parse_weekly("registration_opens", &self.registration_opens)?;
        let starts = parse_weekly("war_starts", &self.war_starts)?;
        if opens == starts {
            return Err("registration_opens and war_starts are the same instant".into());
        }
        Ok(Calendar { tz, opens, starts })
    }
}

impl Calendar {
    /// The instants (ms) of a weekly time in the two weeks around `at_ms`, ascending.
    fn occurrences(&self, (day, time): (Weekday, NaiveTime), at_ms: u64) -> Vec<u64> {
        let at = i64::try_from(at_ms).unwrap_or(i64::MAX);
        let Some(utc) = Utc.timestamp_millis_opt(at).single() else {
            return Vec::new();
        };
        let today = utc.with_timezone(&self.tz).date_naive();
        (-8..=8)
            .filter_map(|offset| today.checked_add_signed(Duration::days(offset)))
            .filter(|date| date.weekday() == day)
            .filter_map(|date| {
                let local = date.and_time(time);
                // A time skipped by the clock change happens an hour later.
                self.tz
                    .from_local_datetime(&local)
                    .earliest()
                    .or_else(|| {
                        self.tz
                            .from_local_datetime(&(local + Duration::hours(1)))
                            .earliest()
                    })
                    .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
            })
            .collect()
    }

    /// The first cycle start strictly after `at_ms`.
    pub fn next_cycle(&self, at_ms: u64) -> Option<u64> {
        self.occurrences(self.starts, at_ms)
            .into_iter()
            .find(|&t| t > at_ms)
    }

    /// The last cycle start at or before `at_ms`.
    pub fn last_cycle(&self, at_ms: u64) -> Option<u64> {
        self.occurrences(self.starts, at_ms)
            .into_iter()
            .rev()
            .find(|&t| t <= at_ms)
    }

    /// When registration for the cycle starting at `cycle_ms` opens: the last opening before
    /// it (at most a week before).
    pub fn opening_of(&self, cycle_ms: u64) -> Option<u64> {
        self.occurrences(self.opens, cycle_ms)
            .into_iter()
            .rev()
            .find(|&t| t < cycle_ms && i64::try_from(cycle_ms - t).is_ok_and(|d| d <= 7 * DAY_MS))
    }

    /// Where the calendar stands at `now_ms`.
    pub fn phase(&self, now_ms: u64) -> Option<Phase> {
        let next_cycle = self.next_cycle(now_ms)?;
        let opened = self.opening_of(next_cycle)?;
        if opened <= now_ms {
            return Some(Phase::Registration {
                opened_ms: opened,
                cycle_ms: next_cycle,
            });
        }
        Some(Phase::Closed {
            next_open_ms: opened,
            next_cycle_ms: next_cycle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> u64 {
        let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("a valid instant");
        u64::try_from(t.timestamp_millis()).expect("after 1970")
    }

    fn calendar() -> Calendar {
        Schedule::default()
            .calendar()
            .expect("the default schedule is valid")
    }

    #[test]
    fn supasnake_week_in_winter_and_summer() {
        let c = calendar();
        // 2026-11-25 is a Wednesday; Los Angeles is UTC-8 in November.
        // (now, expected phase)
        let table = [
            (
                "2026-11-24T12:00:00Z",
                Phase::Closed {
                    next_open_ms: ms("2026-11-25T08:00:00Z"),
                    next_cycle_ms: ms("2026-11-26T20:00:00Z"),
                },
            ),
            (
                "2026-11-25T08:00:00Z",
                Phase::Registration {
                    opened_ms: ms("2026-11-25T08:00:00Z"),
                    cycle_ms: ms("2026-11-26T20:00:00Z"),
                },
            ),
            (
                "2026-11-26T19:59:59.999Z",
                Phase::Registration {
                    opened_ms: ms("2026-11-25T08:00:00Z"),
                    cycle_ms: ms("2026-11-26T20:00:00Z"),
                },
            ),
            (
                "2026-11-26T20:00:00Z",
                Phase::Closed {
                    next_open_ms: ms("2026-12-02T08:00:00Z"),
                    next_cycle_ms: ms("2026-12-03T20:00:00Z"),
                },
            ),
            // July: UTC-7, noon is 19:00 UTC.
            (
                "2026-07-16T18:00:00Z",
                Phase::Registration {
                    opened_ms: ms("2026-07-15T07:00:00Z"),
                    cycle_ms: ms("2026-07-16T19:00:00Z"),
                },
            ),
        ];
        for (now, want) in table {
            assert_eq!(c.phase(ms(now)), Some(want), "{now}");
        }
        assert_eq!(
            c.last_cycle(ms("2026-11-30T00:00:00Z")),
            Some(ms("2026-11-26T20:00:00Z"))
        );
        assert_eq!(
            c.last_cycle(ms("2026-11-26T20:00:00Z")),
            Some(ms("2026-11-26T20:00:00Z"))
        );
        assert_eq!(
            c.next_cycle(ms("2026-11-26T20:00:00Z")),
            Some(ms("2026-12-03T20:00:00Z"))
        );
    }

    #[test]
    fn times_the_clock_skips_or_repeats() {
        // Clocks in Los Angeles go forward on 2027-03-14 at 02:00 and back on 2026-11-01.
        let spring = Schedule {
            registration_opens: WeeklyTime {
                day: "sun".into(),
                at: "02:30".into(),
            },
            ..Schedule::default()
        }
        .calendar()
        .expect("valid");
        // 02:30 does not exist that day: it happens at 03:30 PDT = 10:30 UTC.
        assert_eq!(
            spring.opening_of(ms("2027-03-18T19:00:00Z")),
            Some(ms("2027-03-14T10:30:00Z"))
        );
        let autumn = Schedule {
            registration_opens: WeeklyTime {
                day: "sunday".into(),
                at: "01:30".into(),
            },
            ..Schedule::default()
        }
        .calendar()
        .expect("valid");
        // 01:30 happens twice: the first time, still PDT (UTC-7).
        assert_eq!(
            autumn.opening_of(ms("2026-11-05T20:00:00Z")),
            Some(ms("2026-11-01T08:30:00Z"))
        );
    }

    #[test]
    fn bad_schedules_name_their_key() {
        let bad = |s: Schedule| s.calendar().expect_err("refused");
        let zone = bad(Schedule {
            time_zone: "Mars/Olympus".into(),
            ..Schedule::default()
        });
        assert!(zone.contains("time_zone"), "{zone}");
        let day = bad(Schedule {
            war_starts: WeeklyTime {
                day: "someday".into(),
                at: "12:00".into(),
            },
            ..Schedule::default()
        });
        assert!(day.contains("war_starts.day"), "{day}");
        let at = bad(Schedule {
            registration_opens: WeeklyTime {
                day: "wed".into(),
                at: "25:00".into(),
            },
            ..Schedule::default()
        });
        assert!(at.contains("registration_opens.at"), "{at}");
        let same = bad(Schedule {
            registration_opens: Schedule::default().war_starts,
            ..Schedule::default()
        });
        assert!(same.contains("same instant"), "{same}");
    }
}
