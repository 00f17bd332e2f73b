//! The last chat messages of a room, kept in memory while the room has local members, so a
//! join serves its history without a database read. Filled from the store on the first join
//! and from the room's log after that; ordered by message id, as the store orders history.

use std::collections::VecDeque;

use guildhall_protocol::ChatMsg;

pub struct RecentChat {
    /// Whether the store's history has been merged in: until then the cache may miss older
    /// messages and is not served.
    loaded: bool,
    msgs: VecDeque<ChatMsg>,
    limit: usize,
}

impl RecentChat {
    pub fn new(limit: usize) -> Self {
        Self {
            loaded: false,
            msgs: VecDeque::new(),
            limit,
        }
    }

    /// A message from the room's log.
    pub fn observe(&mut self, msg: ChatMsg) {
        match self.msgs.back() {
            Some(last) if last.id >= msg.id => {
                // Out of id order (two nodes' writes crossing) or a repeat: insert in place.
                match self.msgs.binary_search_by_key(&msg.id, |m| m.id) {
                    Ok(_) => return,
                    Err(at) => self.msgs.insert(at, msg),
                }
            }
            _ => self.msgs.push_back(msg),
        }
        while self.msgs.len() > self.limit {
            self.msgs.pop_front();
        }
    }

    /// A message was deleted: it goes, and the next join reloads from the store so the cache
    /// is full again (the store no longer returns it).
    pub fn forget(&mut self, id: u64) {
        if let Ok(at) = self.msgs.binary_search_by_key(&id, |m| m.id) {
            self.msgs.remove(at);
            self.loaded = false;
        }
    }

    /// The cached history, once loaded.
    pub fn snapshot(&self) -> Option<Vec<ChatMsg>> {
        self.loaded.then(|| self.msgs.iter().cloned().collect())
    }

    /// Merges the store's latest messages (oldest first) with what the log delivered since,
    /// and serves from memory from now on.
    pub fn install(&mut self, from_store: Vec<ChatMsg>) -> Vec<ChatMsg> {
        for msg in from_store {
            self.observe(msg);
        }
        self.loaded = true;
        self.msgs.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guildhall_protocol::UserRef;

    fn msg(id: u64) -> ChatMsg {
        ChatMsg {
            id,
            from: UserRef {
                id: "u".into(),
                name: "u".into(),
            },
            text: format!("m{id}"),
            ts: id,
        }
    }

    fn ids(msgs: &[ChatMsg]) -> Vec<u64> {
        msgs.iter().map(|m| m.id).collect()
    }

    #[test]
    fn served_only_after_the_store_is_merged() {
        let mut r = RecentChat::new(3);
        r.observe(msg(10));
        assert!(r.snapshot().is_none());
        assert_eq!(
            ids(&r.install(vec![msg(7), msg(8), msg(9), msg(10)])),
            [8, 9, 10]
        );
        r.observe(msg(11));
        assert_eq!(ids(&r.snapshot().expect("loaded")), [9, 10, 11]);
    }

    #[test]
    fn keeps_id_order_without_repeats() {
        let mut r = RecentChat::new(5);
        r.install(vec![]);
        for id in [1, 3, 2, 3, 5, 4] {
            r.observe(msg(id));
        }
        assert_eq!(ids(&r.snapshot().expect("loaded")), [1, 2, 3, 4, 5]);
        r.observe(msg(0));
        assert_eq!(
            ids(&r.snapshot().expect("loaded")),
            [1, 2, 3, 4, 5],
            "older than the window and trimmed"
        );
    }
}
