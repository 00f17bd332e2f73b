//! The join gate: while a member joins, live events are held here; once its backlog (missed
//! events from the tail) is queued, held events newer than the backlog follow and the gate
//! opens. That is what makes recovery exact: nothing between the tail read and live delivery
//! is lost or sent twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::event::LogEvent;

/// Live events one joining member may accumulate before its join finishes; past this it is
/// treated as a slow consumer.
const MAX_HELD: usize = 4_096;

#[derive(Default)]
pub struct Gate {
    open: AtomicBool,
    held: Mutex<Vec<Arc<LogEvent>>>,
}

pub enum Offer {
    /// The gate is open: deliver now.
    Deliver,
    /// Held until the join completes.
    Held,
    /// Too many held events: the member cannot keep up.
    Overflow,
}

impl Gate {
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Called by fan-out, in offset order.
    pub fn offer(&self, event: &Arc<LogEvent>) -> Offer {
        if self.open.load(Ordering::Acquire) {
            return Offer::Deliver;
        }
        let mut held = self.held.lock();
        // Re-check under the lock: `open` flips while the lock is held.
        if self.open.load(Ordering::Acquire) {
            return Offer::Deliver;
        }
        if held.len() >= MAX_HELD {
            return Offer::Overflow;
        }
        held.push(event.clone());
        Offer::Held
    }

    /// Opens the gate after `deliver` has been given every held event with an offset above
    /// `after`. Fan-out that races with this waits on the lock, so order is kept.
    pub fn open(&self, after: u64, mut deliver: impl FnMut(&Arc<LogEvent>)) {
        let mut held = self.held.lock();
        for event in held.drain(..) {
            if event.off > after {
                deliver(&event);
            }
        }
        self.open.store(true, Ordering::Release);
    }
}
