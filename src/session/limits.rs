//! Per-connection and per-user bounds: frame rate, strikes for refused frames, connection caps.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::Limits;

/// One clock for every limiter: making one calibrates it (reads CPUID), which costs more than
/// the rest of a handshake.
fn clock() -> &'static DefaultClock {
    static CLOCK: OnceLock<DefaultClock> = OnceLock::new();
    CLOCK.get_or_init(DefaultClock::default)
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

/// The frame rate a connection may send, and how many refused frames it may cause before the
/// server gives up on it.
pub struct FrameLimiter {
    frames: DefaultDirectRateLimiter,
    strikes: DefaultDirectRateLimiter,
}

impl FrameLimiter {
    pub fn new(limits: &Limits) -> Self {
        let frames =
            Quota::per_second(nz(limits.frames_per_sec)).allow_burst(nz(limits.frame_burst));
        let strikes = Quota::per_minute(nz(limits.strikes_per_min));
        Self {
            frames: RateLimiter::direct_with_clock(frames, clock().clone()),
            strikes: RateLimiter::direct_with_clock(strikes, clock().clone()),
        }
    }

    /// Ok to serve the frame now, or the ms to wait.
    pub fn check_frame(&self) -> Result<(), u64> {
        self.frames.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(clock().now());
            wait.as_millis().max(1) as u64
        })
    }

    /// Records a refused frame; false once the connection has used up its strikes.
    pub fn strike(&self) -> bool {
        self.strikes.check().is_ok()
    }
}

/// Counts connections per user and per IP. A slot is released when dropped.
pub struct ConnRegistry {
    per_user: DashMap<Arc<str>, usize>,
    per_ip: DashMap<IpAddr, usize>,
    max_per_user: usize,
    max_per_ip: usize,
}

pub struct UserSlot {
    registry: Arc<ConnRegistry>,
    user: Arc<str>,
}

pub struct IpSlot {
    registry: Arc<ConnRegistry>,
    ip: IpAddr,
}

impl ConnRegistry {
    pub fn new(limits: &Limits) -> Self {
        Self {
            per_user: DashMap::new(),
            per_ip: DashMap::new(),
            max_per_user: limits.max_conns_per_user,
            max_per_ip: limits.max_conns_per_ip,
        }
    }

    pub fn admit_user(self: &Arc<Self>, user: &Arc<str>) -> Option<UserSlot> {
        let mut count = self.per_user.entry(user.clone()).or_insert(0);
        if self.max_per_user > 0 && *count >= self.max_per_user {
            return None;
        }
        *count += 1;
        Some(UserSlot {
            registry: self.clone(),
            user: user.clone(),
        })
    }

    pub fn admit_ip(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        if self.max_per_ip == 0 {
            return Some(IpSlot {
                registry: self.clone(),
                ip,
            });
        }
        let mut count = self.per_ip.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            registry: self.clone(),
            ip,
        })
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        self.registry
            .per_user
            .remove_if_mut(&self.user, |_, count| {
                *count = count.saturating_sub(1);
                *count == 0
            });
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if self.registry.max_per_ip == 0 {
            return;
        }
        self.registry.per_ip.remove_if_mut(&self.ip, |_, count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_cap_and_release() {
        let limits = Limits {
            max_conns_per_user: 2,
            ..Limits::default()
        };
        let reg = Arc::new(ConnRegistry::new(&limits));
        let u: Arc<str> = "u".into();
        let a = reg.admit_user(&u).expect("first");
        let _b = reg.admit_user(&u).expect("second");
        assert!(reg.admit_user(&u).is_none());
        drop(a);
        assert!(reg.admit_user(&u).is_some());
    }

    #[test]
    fn ip_cap_zero_is_unlimited() {
        let reg = Arc::new(ConnRegistry::new(&Limits::default()));
        let slots: Vec<_> = (0..1000)
            .filter_map(|_| reg.admit_ip(IpAddr::from([127, 0, 0, 1])))
            .collect();
        assert_eq!(slots.len(), 1000);
    }

    #[test]
    fn frame_rate_and_strikes() {
        let limits = Limits {
            frames_per_sec: 1,
            frame_burst: 3,
            strikes_per_min: 2,
            ..Limits::default()
        };
        let l = FrameLimiter::new(&limits);
        assert!((0..3).all(|_| l.check_frame().is_ok()));
        let wait = l.check_frame().expect_err("over the burst");
        assert!((1..=1000).contains(&wait), "{wait}");
        assert!(l.strike() && l.strike());
        assert!(!l.strike());
    }
}
