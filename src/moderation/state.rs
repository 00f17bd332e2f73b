//! What every node knows of moderation, in memory so that enforcement costs no store read on
//! the chat path: mutes, bans, room modes and chat bans in force. Loaded from the store at
//! start and kept current by the `sys:moderation` log, which every node follows; an action is
//! applied on the acting node before it is acknowledged, and on the others as its event
//! arrives (a Redis round trip).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::domain::moderation::modes::RoomModes;
use crate::store::moderation::restrictions::{BanRow, ModeRow, MuteRow};
use crate::store::moderation::PLATFORM;

/// The system room moderation changes travel through.
pub const SYS_ROOM: &str = "sys:moderation";
pub const SYS_EVENT: &str = "sys.moderation";

/// One change, as the `sys:moderation` log carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Mute {
        scope: String,
        user: String,
        until: Option<u64>,
        shadow: bool,
    },
    Unmute {
        scope: String,
        user: String,
    },
    Ban {
        scope: String,
        user: String,
        until: Option<u64>,
    },
    Unban {
        scope: String,
        user: String,
    },
    Mode {
        room: String,
        slow_ms: u64,
        members_only: bool,
        panic: bool,
    },
    /// A ladder penalty that stops chat (until `until`; None = permanent).
    ChatBan {
        user: String,
        until: Option<u64>,
    },
    /// A user's blocks or personal mutes changed: nodes holding their connections reload them.
    Hides {
        user: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restriction {
    /// None: permanent.
    pub until: Option<u64>,
    pub shadow: bool,
}

impl Restriction {
    fn live(&self, now_ms: u64) -> bool {
        self.until.is_none_or(|u| u > now_ms)
    }
}

/// A user's restrictions by scope (a room, or the platform): lookups borrow the user id, so
/// the chat path allocates nothing to find that there are none.
type ByUser = DashMap<Arc<str>, Vec<(Arc<str>, Restriction)>>;

/// What the store holds in force, as a reload reads it.
pub struct StoreView {
    pub mutes: Vec<MuteRow>,
    pub bans: Vec<BanRow>,
    pub modes: Vec<ModeRow>,
    pub chat_bans: Vec<(String, Option<i64>)>,
    pub hiders: Vec<String>,
}

/// The later of two ends (None: never).
fn longer(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

/// Replaces a map's contents key by key: stale keys go, the rest is overwritten in place.
fn replace_all<V>(map: &DashMap<Arc<str>, V>, new: HashMap<Arc<str>, V>) {
    map.retain(|k, _| new.contains_key(k));
    for (k, v) in new {
        map.insert(k, v);
    }
}

#[derive(Default)]
pub struct ModState {
    /// Changes applied so far (see [`ModState::load`]).
    generation: AtomicU64,
    /// Users with any block or personal mute: only their connections load hides.
    hiders: dashmap::DashSet<Arc<str>>,
    mutes: ByUser,
    bans: ByUser,
    modes: DashMap<Arc<str>, RoomModes>,
    chat_bans: DashMap<Arc<str>, Restriction>,
}

fn put(map: &ByUser, scope: &str, user: &str, r: Restriction) {
    let mut entry = map.entry(Arc::from(user)).or_default();
    match entry.iter_mut().find(|(s, _)| &**s == scope) {
        Some((_, slot)) => *slot = r,
        None => entry.push((Arc::from(scope), r)),
    }
}

fn lift(map: &ByUser, scope: &str, user: &str) {
    if let Some(mut entry) = map.get_mut(user) {
        entry.retain(|(s, _)| &**s != scope);
    }
    map.remove_if(user, |_, v| v.is_empty());
}

fn find(map: &ByUser, scope: &str, user: &str, now_ms: u64) -> Option<Restriction> {
    map.get(user)?
        .iter()
        .find(|(s, r)| &**s == scope && r.live(now_ms))
        .map(|(_, r)| *r)
}

fn sweep_map(map: &ByUser, now_ms: u64) {
    map.retain(|_, v| {
        v.retain(|(_, r)| r.live(now_ms));
        !v.is_empty()
    });
}

fn to_u64(v: Option<i64>) -> Option<u64> {
    v.map(|v| u64::try_from(v).unwrap_or(0))
}

impl ModState {
    /// How many changes have been applied so far: a reload read before a change must not
    /// overwrite it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces everything with the store's view, read when the state was at `generation`.
    /// Refused (false) if a change was applied since: the caller reads again. Entries still in
    /// force are never removed on the way, so a check racing a reload never sees a gap.
    pub fn load(&self, generation: u64, view: StoreView) -> bool {
        if self.generation() != generation {
            return false;
        }
        let mut mutes: HashMap<Arc<str>, Vec<(Arc<str>, Restriction)>> = HashMap::new();
        for m in view.mutes {
            let r = Restriction {
                until: to_u64(m.until_ms),
                shadow: m.shadow != 0,
            };
            mutes
                .entry(Arc::from(m.user_id.as_str()))
                .or_default()
                .push((Arc::from(m.scope.as_str()), r));
        }
        let mut bans: HashMap<Arc<str>, Vec<(Arc<str>, Restriction)>> = HashMap::new();
        for b in view.bans {
            let r = Restriction {
                until: to_u64(b.until_ms),
                shadow: false,
            };
            bans.entry(Arc::from(b.user_id.as_str()))
                .or_default()
                .push((Arc::from(b.scope.as_str()), r));
        }
        let modes: HashMap<Arc<str>, RoomModes> = view
            .modes
            .into_iter()
            .map(|m| {
                let modes = RoomModes {
                    slow_ms: u64::try_from(m.slow_ms).unwrap_or(0),
                    members_only: m.members_only != 0,
                    panic: m.panic != 0,
                };
                (Arc::from(m.room.as_str()), modes)
            })
            .collect();
        let mut chat_bans: HashMap<Arc<str>, Restriction> = HashMap::new();
        for (user, until) in view.chat_bans {
            let until = to_u64(until);
            let slot = chat_bans
                .entry(Arc::from(user.as_str()))
                .or_insert(Restriction {
                    until,
                    shadow: false,
                });
            slot.until = longer(slot.until, until);
        }
        replace_all(&self.mutes, mutes);
        replace_all(&self.bans, bans);
        replace_all(&self.modes, modes);
        replace_all(&self.chat_bans, chat_bans);
        let hiders: HashSet<Arc<str>> = view.hiders.iter().map(|h| Arc::from(h.as_str())).collect();
        self.hiders.retain(|h| hiders.contains(h));
        for h in hiders {
            self.hiders.insert(h);
        }
        true
    }

    /// Applies one change (idempotent: the acting node applies it twice).
    pub fn apply(&self, change: &Change) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        match change {
            Change::Mute {
                scope,
                user,
                until,
                shadow,
            } => {
                let r = Restriction {
                    until: *until,
                    shadow: *shadow,
                };
                put(&self.mutes, scope, user, r);
            }
            Change::Unmute { scope, user } => lift(&self.mutes, scope, user),
            Change::Ban { scope, user, until } => {
                let r = Restriction {
                    until: *until,
                    shadow: false,
                };
                put(&self.bans, scope, user, r);
            }
            Change::Unban { scope, user } => lift(&self.bans, scope, user),
            Change::Mode {
                room,
                slow_ms,
                members_only,
                panic,
            } => {
                let modes = RoomModes {
                    slow_ms: *slow_ms,
                    members_only: *members_only,
                    panic: *panic,
                };
                if modes == RoomModes::default() {
                    self.modes.remove(room.as_str());
                } else {
                    self.modes.insert(Arc::from(room.as_str()), modes);
                }
            }
            Change::ChatBan { user, until } => self.apply_chat_ban(user, *until),
            Change::Hides { user } => {
                self.hiders.insert(Arc::from(user.as_str()));
            }
        }
    }

    /// A longer ban wins over a shorter one already in force.
    fn apply_chat_ban(&self, user: &str, until: Option<u64>) {
        let mut entry = self
            .chat_bans
            .entry(Arc::from(user))
            .or_insert(Restriction {
                until,
                shadow: false,
            });
        entry.until = longer(entry.until, until);
    }

    /// Whether the user has ever blocked or muted anyone (their hides are worth loading).
    pub fn hides_anything(&self, user: &str) -> bool {
        self.hiders.contains(user)
    }

    /// The mute that applies to `user` in `room` now: the room's own or the platform's.
    pub fn mute(&self, room: &str, user: &str, now_ms: u64) -> Option<Restriction> {
        find(&self.mutes, room, user, now_ms).or_else(|| find(&self.mutes, PLATFORM, user, now_ms))
    }

    pub fn banned(&self, scope: &str, user: &str, now_ms: u64) -> Option<Restriction> {
        find(&self.bans, scope, user, now_ms)
    }

    pub fn chat_ban(&self, user: &str, now_ms: u64) -> Option<Restriction> {
        self.chat_bans
            .get(user)
            .map(|r| *r)
            .filter(|r| r.live(now_ms))
    }

    pub fn modes(&self, room: &str) -> RoomModes {
        self.modes.get(room).map(|m| *m).unwrap_or_default()
    }

    /// Drops what has expired.
    pub fn sweep(&self, now_ms: u64) {
        sweep_map(&self.mutes, now_ms);
        sweep_map(&self.bans, now_ms);
        self.chat_bans.retain(|_, r| r.live(now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_and_expire() {
        let s = ModState::default();
        s.apply(&Change::Mute {
            scope: "chan:a".into(),
            user: "u".into(),
            until: Some(1_000),
            shadow: false,
        });
        assert!(s.mute("chan:a", "u", 999).is_some());
        assert!(s.mute("chan:a", "u", 1_000).is_none(), "over at its end");
        assert!(s.mute("chan:b", "u", 0).is_none(), "another room");
        s.apply(&Change::Mute {
            scope: PLATFORM.into(),
            user: "u".into(),
            until: None,
            shadow: true,
        });
        assert_eq!(
            s.mute("chan:b", "u", 5_000),
            Some(Restriction {
                until: None,
                shadow: true
            }),
            "a platform mute applies in every room"
        );
        s.apply(&Change::Unmute {
            scope: PLATFORM.into(),
            user: "u".into(),
        });
        assert!(s.mute("chan:b", "u", 5_000).is_none());
        s.apply(&Change::ChatBan {
            user: "u".into(),
            until: Some(10),
        });
        s.apply(&Change::ChatBan {
            user: "u".into(),
            until: Some(5),
        });
        assert!(s.chat_ban("u", 9).is_some(), "the longer ban stands");
        s.sweep(20);
        assert!(s.chat_ban("u", 9).is_none(), "swept");
    }

    fn view(mutes: &[(&str, &str)]) -> StoreView {
        StoreView {
            mutes: mutes
                .iter()
                .map(|(scope, user)| MuteRow {
                    scope: (*scope).into(),
                    user_id: (*user).into(),
                    until_ms: None,
                    shadow: 0,
                })
                .collect(),
            bans: Vec::new(),
            modes: Vec::new(),
            chat_bans: Vec::new(),
            hiders: Vec::new(),
        }
    }

    #[test]
    fn a_reload_replaces_in_place_and_never_undoes_a_newer_change() {
        let s = ModState::default();
        assert!(s.load(s.generation(), view(&[("chan:a", "u"), ("chan:a", "v")])));
        assert!(s.mute("chan:a", "u", 0).is_some());
        // The store no longer has v's mute: it goes, u's stays.
        assert!(s.load(s.generation(), view(&[("chan:a", "u")])));
        assert!(s.mute("chan:a", "u", 0).is_some());
        assert!(s.mute("chan:a", "v", 0).is_none());
        // A read taken before a change is refused: the change stands.
        let before = s.generation();
        s.apply(&Change::Mute {
            scope: "chan:a".into(),
            user: "w".into(),
            until: None,
            shadow: false,
        });
        assert!(!s.load(before, view(&[("chan:a", "u")])));
        assert!(s.mute("chan:a", "w", 0).is_some());
    }
}
