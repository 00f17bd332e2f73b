//! A connection's outbound queue of pre-encoded frames: bounded, never blocking the sender,
//! and taken by the writer all at once.
//!
//! A mutex around a `VecDeque` plus a `Notify`, rather than an mpsc channel: an empty queue
//! allocates nothing (a channel allocates a block of slots up front, per connection), the
//! writer swaps the whole backlog out under one lock instead of popping frame by frame, and
//! the writer is woken only when the queue goes from empty to not empty.

use std::collections::VecDeque;

use axum::extract::ws::Message;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What happened to a pushed frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue holds its limit: the client is not reading.
    Full,
    /// The connection is gone.
    Closed,
}

pub struct FrameQueue {
    state: Mutex<State>,
    ready: Notify,
    limit: usize,
}

struct State {
    frames: VecDeque<Message>,
    closed: bool,
}

/// Capacity a writer's batch buffer may keep between batches; a larger one (after a burst) is
/// given back so an idle connection does not hold its peak.
const KEEP_CAPACITY: usize = 16;

impl FrameQueue {
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
            limit: limit.max(1),
        }
    }

    pub fn push(&self, frame: Message) -> Pushed {
        let mut state = self.state.lock();
        if state.closed {
            return Pushed::Closed;
        }
        if state.frames.len() >= self.limit {
            return Pushed::Full;
        }
        let was_empty = state.frames.is_empty();
        state.frames.push_back(frame);
        drop(state);
        if was_empty {
            // Stores a permit when the writer is busy, so the wake-up is never lost.
            self.ready.notify_one();
        }
        Pushed::Queued
    }

    /// Waits for frames and moves all of them into `batch` (which must be empty); false once
    /// the queue is closed and drained.
    pub async fn take(&self, batch: &mut VecDeque<Message>) -> bool {
        loop {
            if self.try_take(batch) {
                return true;
            }
            if self.state.lock().closed {
                return false;
            }
            self.ready.notified().await;
        }
    }

    /// Moves whatever is queued to the end of `batch`; false when nothing was. An empty batch
    /// trades buffers with the queue (no copy); a non-empty one has the frames appended.
    pub fn try_take(&self, batch: &mut VecDeque<Message>) -> bool {
        if batch.is_empty() && batch.capacity() > KEEP_CAPACITY {
            *batch = VecDeque::new();
        }
        let mut state = self.state.lock();
        if state.frames.is_empty() {
            return false;
        }
        if batch.is_empty() {
            std::mem::swap(&mut state.frames, batch);
        } else {
            batch.append(&mut state.frames);
        }
        true
    }

    /// Refuses further frames; the writer still drains what is queued.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.ready.notify_one();
    }

    pub fn len(&self) -> usize {
        self.state.lock().frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Message {
        Message::Binary(vec![n].into())
    }

    #[tokio::test]
    async fn bounded_and_taken_whole() {
        let q = FrameQueue::new(3);
        assert_eq!(q.push(frame(1)), Pushed::Queued);
        assert_eq!(q.push(frame(2)), Pushed::Queued);
        assert_eq!(q.push(frame(3)), Pushed::Queued);
        assert_eq!(q.push(frame(4)), Pushed::Full);
        let mut batch = VecDeque::new();
        assert!(q.take(&mut batch).await);
        assert_eq!(batch.len(), 3);
        assert!(q.is_empty());
        assert_eq!(q.push(frame(5)), Pushed::Queued, "room again once taken");
    }

    #[tokio::test]
    async fn a_push_wakes_a_waiting_writer() {
        let q = std::sync::Arc::new(FrameQueue::new(8));
        let writer = {
            let q = q.clone();
            tokio::spawn(async move {
                let mut batch = VecDeque::new();
                q.take(&mut batch).await.then_some(batch.len())
            })
        };
        tokio::task::yield_now().await;
        q.push(frame(1));
        assert_eq!(writer.await.expect("writer"), Some(1));
    }

    #[tokio::test]
    async fn close_refuses_and_ends_the_writer_after_the_backlog() {
        let q = FrameQueue::new(8);
        q.push(frame(1));
        q.close();
        assert_eq!(q.push(frame(2)), Pushed::Closed);
        let mut batch = VecDeque::new();
        assert!(q.take(&mut batch).await, "the backlog is still written");
        batch.clear();
        assert!(!q.take(&mut batch).await);
    }

    #[test]
    fn a_non_empty_batch_gets_the_queue_appended() {
        let q = FrameQueue::new(8);
        let mut batch = VecDeque::from([frame(1)]);
        q.push(frame(2));
        q.push(frame(3));
        assert!(q.try_take(&mut batch));
        let got: Vec<_> = batch.iter().map(|m| m.clone().into_data()[0]).collect();
        assert_eq!(got, [1, 2, 3], "in order, nothing lost");
        assert!(q.is_empty());
    }

    #[test]
    fn a_large_batch_buffer_is_given_back() {
        let q = FrameQueue::new(100);
        for n in 0..100 {
            q.push(frame(n));
        }
        let mut batch = VecDeque::new();
        assert!(q.try_take(&mut batch));
        batch.clear();
        assert!(batch.capacity() >= 100);
        q.push(frame(1));
        assert!(q.try_take(&mut batch));
        batch.clear();
        assert!(
            batch.capacity() <= KEEP_CAPACITY.max(1),
            "{}",
            batch.capacity()
        );
    }
}
