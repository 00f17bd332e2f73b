//! Offset bookkeeping for one subscribed room: decides, for each event that arrives over
//! pub/sub, whether to deliver it, drop it as already seen, fill a gap first, or start over
//! because the room's log has a new epoch. Pure: the subscriber does the I/O.

use std::sync::Arc;

/// The last event of a room this node delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub ep: Arc<str>,
    pub last: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The next event: deliver it.
    Deliver,
    /// Already delivered (a gap fill or the join read got there first).
    Duplicate,
    /// Events between the cursor and this one are missing: read them from the tail first.
    Gap,
    /// The log was restarted (Redis lost its data): local members must reload.
    NewEpoch,
}

impl Cursor {
    pub fn step(&self, ep: &str, off: u64) -> Step {
        if *self.ep != *ep {
            Step::NewEpoch
        } else if off <= self.last {
            Step::Duplicate
        } else if off == self.last + 1 {
            Step::Deliver
        } else {
            Step::Gap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let c = Cursor {
            ep: "e1".into(),
            last: 10,
        };
        assert_eq!(c.step("e1", 11), Step::Deliver);
        assert_eq!(c.step("e1", 10), Step::Duplicate);
        assert_eq!(c.step("e1", 3), Step::Duplicate);
        assert_eq!(c.step("e1", 13), Step::Gap);
        assert_eq!(c.step("e2", 1), Step::NewEpoch);
        assert_eq!(c.step("e2", 11), Step::NewEpoch);
    }
}
