//! Group commit for chat messages. Senders queue a message and wait; one task takes everything
//! queued (up to a batch limit), writes it in one transaction and answers each sender with its
//! id. Under load one fsync covers hundreds of messages; alone, a message is written at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{NewChatMessage, Store, StoreError};
use crate::metrics::Metrics;

struct Job {
    msg: NewChatMessage,
    done: oneshot::Sender<Result<u64, Arc<StoreError>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the store did not commit within {0} ms")]
    Timeout(u64),
    #[error("store error: {0}")]
    Store(Arc<StoreError>),
    #[error("the writer has stopped")]
    Stopped,
}

#[derive(Clone)]
pub struct ChatWriter {
    tx: mpsc::Sender<Job>,
    timeout: Duration,
}

impl ChatWriter {
    /// Starts the writer task. It stops after `stop` is cancelled and everything queued by then
    /// is written.
    pub fn spawn(
        store: Arc<dyn Store>,
        batch_max: usize,
        timeout: Duration,
        metrics: Arc<Metrics>,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        // The queue bound is a few batches: beyond that senders wait (and time out) rather
        // than pile up memory while the store is down.
        let (tx, rx) = mpsc::channel(batch_max.max(1) * 8);
        tracker.spawn(run(store, rx, batch_max.max(1), metrics, stop));
        Self { tx, timeout }
    }

    /// Queues a message and waits for its commit; the message id on success.
    pub async fn write(&self, msg: NewChatMessage) -> Result<u64, WriteError> {
        let (done, rx) = oneshot::channel();
        let ms = self.timeout.as_millis() as u64;
        let wait = async {
            self.tx
                .send(Job { msg, done })
                .await
                .map_err(|_| WriteError::Stopped)?;
            match rx.await {
                Ok(Ok(id)) => Ok(id),
                Ok(Err(e)) => Err(WriteError::Store(e)),
                Err(_) => Err(WriteError::Stopped),
            }
        };
        tokio::time::timeout(self.timeout, wait)
            .await
            .map_err(|_| WriteError::Timeout(ms))?
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Job>,
    batch_max: usize,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(batch_max);
    loop {
        let first = tokio::select! {
            job = rx.recv() => job,
            _ = stop.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A job whose sender gave up (timed out) is still written: it may be retried with the
        // same idempotency key, and history must not depend on the sender's patience.
        let msgs: Vec<NewChatMessage> = batch.iter().map(|j| j.msg.clone()).collect();
        let started = Instant::now();
        let result = store.insert_chat_batch(&msgs).await;
        metrics
            .store_batch_seconds
            .record(started.elapsed().as_secs_f64());
        metrics.store_batch_rows.record(msgs.len() as f64);
        match result {
            Ok(ids) => {
                for (job, id) in batch.drain(..).zip(ids) {
                    let _ = job.done.send(Ok(id));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, rows = msgs.len(), "chat batch write failed");
                let e = Arc::new(e);
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(e.clone()));
                }
            }
        }
    }
}
