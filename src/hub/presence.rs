//! Who is in a room on this node, and the joins and leaves not yet announced. Announcements
//! are batched: at most one `room.presence` push per room per second. Changes on other nodes
//! arrive through the broker and go out with the next batch.

use std::collections::HashMap;
use std::sync::Arc;

use guildhall_protocol::UserRef;

use crate::broker::PresenceDelta;

#[derive(Default)]
pub struct PresenceState {
    /// Connections per user: a user with two tabs joins once and leaves with the last.
    users: HashMap<Arc<str>, (Arc<str>, u32)>,
    local: PresenceDelta,
    remote: PresenceDelta,
    dirty: bool,
}

/// One batch to announce.
pub struct PresenceBatch {
    /// This node's own changes, for the other nodes; None when it has none.
    pub local: Option<PresenceDelta>,
    /// Everything to push to local members: local and remote changes.
    pub all: PresenceDelta,
    /// Distinct users on this node.
    pub local_count: u64,
}

/// Adds a join to a delta; a leave and a join within one batch cancel out.
fn add_join(delta: &mut PresenceDelta, user: UserRef) {
    if let Some(i) = delta.left.iter().position(|u| u.id == user.id) {
        delta.left.swap_remove(i);
    } else {
        delta.joined.push(user);
    }
}

fn add_leave(delta: &mut PresenceDelta, user: UserRef) {
    if let Some(i) = delta.joined.iter().position(|u| u.id == user.id) {
        delta.joined.swap_remove(i);
    } else {
        delta.left.push(user);
    }
}

impl PresenceState {
    pub fn join(&mut self, id: &Arc<str>, name: &Arc<str>) {
        let entry = self
            .users
            .entry(id.clone())
            .or_insert_with(|| (name.clone(), 0));
        entry.1 += 1;
        if entry.1 == 1 {
            add_join(
                &mut self.local,
                UserRef {
                    id: id.to_string(),
                    name: name.to_string(),
                },
            );
            self.dirty = true;
        }
    }

    pub fn leave(&mut self, id: &str) {
        let Some(entry) = self.users.get_mut(id) else {
            return;
        };
        entry.1 -= 1;
        if entry.1 == 0 {
            let (name, _) = self.users.remove(id).unwrap_or_default();
            add_leave(
                &mut self.local,
                UserRef {
                    id: id.to_owned(),
                    name: name.to_string(),
                },
            );
            self.dirty = true;
        }
    }

    pub fn remote(&mut self, delta: PresenceDelta) {
        for user in delta.joined {
            add_join(&mut self.remote, user);
        }
        for user in delta.left {
            add_leave(&mut self.remote, user);
        }
        self.dirty = true;
    }

    pub fn count(&self) -> u64 {
        self.users.len() as u64
    }

    /// The batch due, if anything changed since the last one.
    pub fn take_batch(&mut self) -> Option<PresenceBatch> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let local = std::mem::take(&mut self.local);
        let remote = std::mem::take(&mut self.remote);
        let mut all = local.clone();
        for user in remote.joined {
            add_join(&mut all, user);
        }
        for user in remote.left {
            add_leave(&mut all, user);
        }
        let has_local = !local.joined.is_empty() || !local.left.is_empty();
        Some(PresenceBatch {
            local: has_local.then_some(local),
            all,
            local_count: self.count(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(users: &[UserRef]) -> Vec<&str> {
        users.iter().map(|u| u.id.as_str()).collect()
    }

    #[test]
    fn batches_and_counts_users_not_connections() {
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let mut p = PresenceState::default();
        p.join(&a, &a);
        p.join(&a, &a);
        p.join(&b, &b);
        let d = p.take_batch().expect("batch");
        assert_eq!(
            (ids(&d.all.joined), ids(&d.all.left), d.local_count),
            (vec!["a", "b"], vec![], 2)
        );
        assert!(p.take_batch().is_none());
        p.leave("a");
        assert!(p.take_batch().is_none(), "a still has a connection");
        p.leave("a");
        let d = p.take_batch().expect("batch");
        assert_eq!(
            (ids(&d.all.joined), ids(&d.all.left), d.local_count),
            (vec![], vec!["a"], 1)
        );
    }

    #[test]
    fn join_and_leave_in_one_batch_cancel() {
        let a: Arc<str> = "a".into();
        let mut p = PresenceState::default();
        p.join(&a, &a);
        p.leave("a");
        let d = p.take_batch().expect("batch");
        assert!(d.all.joined.is_empty() && d.all.left.is_empty() && d.local.is_none());
        assert_eq!(d.local_count, 0);
    }

    #[test]
    fn remote_changes_join_the_batch_but_are_not_announced_again() {
        let a: Arc<str> = "a".into();
        let mut p = PresenceState::default();
        p.join(&a, &a);
        p.remote(PresenceDelta {
            joined: vec![UserRef {
                id: "r".into(),
                name: "R".into(),
            }],
            left: vec![],
        });
        let d = p.take_batch().expect("batch");
        assert_eq!(ids(&d.all.joined), vec!["a", "r"]);
        assert_eq!(ids(&d.local.expect("local").joined), vec!["a"]);
        p.remote(PresenceDelta {
            joined: vec![],
            left: vec![UserRef {
                id: "r".into(),
                name: "R".into(),
            }],
        });
        let d = p.take_batch().expect("batch");
        assert!(d.local.is_none());
        assert_eq!(ids(&d.all.left), vec!["r"]);
    }
}
