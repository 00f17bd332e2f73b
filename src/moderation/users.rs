//! This node's connections by user: so a platform ban can close all of a user's connections,
//! and so the user's hides (blocks, personal mutes) are loaded once and shared by them.

use std::sync::{Arc, Weak};

use dashmap::DashMap;

use crate::session::handle::{HideList, Hides, SessionHandle};

#[derive(Default)]
struct Entry {
    sessions: Vec<Weak<SessionHandle>>,
    hides: Arc<HideList>,
}

#[derive(Default)]
pub struct NodeUsers {
    users: DashMap<Arc<str>, Entry>,
}

impl NodeUsers {
    /// The hides a new connection of `user` shares; true when the user had no connection here
    /// (the caller then loads them from the store).
    pub fn hides_for(&self, user: &Arc<str>) -> (Arc<HideList>, bool) {
        let mut fresh = false;
        let entry = self.users.entry(user.clone()).or_insert_with(|| {
            fresh = true;
            Entry::default()
        });
        (entry.hides.clone(), fresh)
    }

    pub fn register(&self, session: &Arc<SessionHandle>) {
        let mut entry = self.users.entry(session.user.id.clone()).or_default();
        // Under the entry's lock, like `apply_hides`: the flag cannot miss a change.
        session
            .hides_any
            .store(entry.hides.any(), std::sync::atomic::Ordering::Relaxed);
        entry.sessions.push(Arc::downgrade(session));
    }

    /// Installs a user's new hides for their connections on this node.
    pub fn apply_hides(&self, user: &str, hides: Hides) {
        if let Some(entry) = self.users.get_mut(user) {
            let any = entry.hides.replace(hides);
            for session in entry.sessions.iter().filter_map(Weak::upgrade) {
                session
                    .hides_any
                    .store(any, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Forgets a connection; the user's entry goes with their last one.
    pub fn unregister(&self, session: &Arc<SessionHandle>) {
        let target = Arc::as_ptr(session);
        let user = &session.user.id;
        if let Some(mut entry) = self.users.get_mut(user) {
            entry
                .sessions
                .retain(|w| w.upgrade().is_some_and(|s| Arc::as_ptr(&s) != target));
        }
        self.users.remove_if(user, |_, e| e.sessions.is_empty());
    }

    /// The user's live connections on this node.
    pub fn sessions(&self, user: &str) -> Vec<Arc<SessionHandle>> {
        self.users
            .get(user)
            .map(|e| e.sessions.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    }

    /// Whether the user has a connection here.
    pub fn is_here(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }
}
