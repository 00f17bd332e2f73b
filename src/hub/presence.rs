//! Who is in a room on this node, and the joins and leaves not yet announced. Announcements
//! are batched: at most one `room.presence` push per room per second.

use std::collections::HashMap;
use std::sync::Arc;

use guildhall_protocol::{Presence, UserRef};

#[derive(Default)]
pub struct PresenceState {
    /// Connections per user: a user with two tabs joins once and leaves with the last.
    users: HashMap<Arc<str>, (Arc<str>, u32)>,
    joined: Vec<UserRef>,
    left: Vec<UserRef>,
    dirty: bool,
}

impl PresenceState {
    pub fn join(&mut self, id: &Arc<str>, name: &Arc<str>) {
        let entry = self.users.entry(id.clone()).or_insert_with(|| (name.clone(), 0));
        entry.1 += 1;
        if entry.1 == 1 {
            let user = UserRef { id: id.to_string(), name: name.to_string() };
            // A leave and a join within one batch cancel out.
            if let Some(i) = self.left.iter().position(|u| u.id == user.id) {
                self.left.swap_remove(i);
            } else {
                self.joined.push(user);
            }
            self.dirty = true;
        }
    }

    pub fn leave(&mut self, id: &str) {
        let Some(entry) = self.users.get_mut(id) else { return };
        entry.1 -= 1;
        if entry.1 == 0 {
            let (name, _) = self.users.remove(id).unwrap_or_default();
            if let Some(i) = self.joined.iter().position(|u| u.id == id) {
                self.joined.swap_remove(i);
            } else {
                self.left.push(UserRef { id: id.to_owned(), name: name.to_string() });
            }
            self.dirty = true;
        }
    }

    pub fn count(&self) -> u64 {
        self.users.len() as u64
    }

    /// The announcement due, if anything changed since the last one.
    pub fn take_delta(&mut self) -> Option<Presence> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        Some(Presence {
            joined: std::mem::take(&mut self.joined),
            left: std::mem::take(&mut self.left),
            count: self.count(),
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
        let d = p.take_delta().expect("delta");
        assert_eq!((ids(&d.joined), ids(&d.left), d.count), (vec!["a", "b"], vec![], 2));
        assert!(p.take_delta().is_none());
        p.leave("a");
        assert!(p.take_delta().is_none(), "a still has a connection");
        p.leave("a");
        let d = p.take_delta().expect("delta");
        assert_eq!((ids(&d.joined), ids(&d.left), d.count), (vec![], vec!["a"], 1));
    }

    #[test]
    fn join_and_leave_in_one_batch_cancel() {
        let a: Arc<str> = "a".into();
        let mut p = PresenceState::default();
        p.join(&a, &a);
        p.leave("a");
        let d = p.take_delta().expect("delta");
        assert!(d.joined.is_empty() && d.left.is_empty());
        assert_eq!(d.count, 0);
    }
}
