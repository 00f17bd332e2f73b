//! Idempotency keys: a mutating op retried with the same `idem` (say, after a reconnect on a
//! flaky network) gets the first result instead of acting twice. Keys are per user and live
//! for a configured time (5 minutes). A retry that arrives while the first attempt is still
//! running waits for it. Failed attempts are forgotten, so a retry acts again.
//!
//! In cluster mode the keys are also claimed in a [`SharedIdem`] (Redis), so a retry that lands
//! on another node after its first node died returns the first result too.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use guildhall_protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

/// What the shared store says about a key.
pub enum Claim {
    /// Nobody had it: this attempt acts.
    Owner,
    /// Another attempt is acting right now.
    Busy,
    /// Done before: its result, serialized.
    Done(Vec<u8>),
}

/// Idempotency keys shared by every node.
#[async_trait]
pub trait SharedIdem: Send + Sync + 'static {
    /// Claims a key for an attempt (held for a short time while it acts).
    async fn claim(&self, user: &str, key: &str) -> Result<Claim, String>;
    /// Records the result (`Some`) for the TTL, or releases the claim (`None`) after a failure.
    async fn complete(&self, user: &str, key: &str, result: Option<&[u8]>);
}

/// How long a retry waits for an attempt running on another node.
const SHARED_WAIT: Duration = Duration::from_secs(10);

type Outcome<T> = Option<Result<T, guildhall_protocol::ErrorBody>>;

enum Entry<T> {
    Running(watch::Receiver<Outcome<T>>),
    Done { value: T, at: Instant },
}

pub struct IdemCache<T> {
    map: DashMap<(Arc<str>, String), Entry<T>>,
    ttl: Duration,
    shared: Option<Arc<dyn SharedIdem>>,
}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> IdemCache<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            map: DashMap::new(),
            ttl,
            shared: None,
        }
    }

    pub fn with_shared(ttl: Duration, shared: Option<Arc<dyn SharedIdem>>) -> Self {
        Self {
            map: DashMap::new(),
            ttl,
            shared,
        }
    }

    /// Asks the shared store first: the result of an attempt made on another node, or the
    /// right to act (also when the store is unreachable: the local cache still protects
    /// retries on this node).
    async fn claim_shared(&self, user: &str, key: &str) -> Option<Result<T, ErrorBody>> {
        let shared = self.shared.as_ref()?;
        let deadline = Instant::now() + SHARED_WAIT;
        loop {
            match shared.claim(user, key).await {
                Ok(Claim::Owner) => return None,
                Ok(Claim::Done(bytes)) => match serde_json::from_slice(&bytes) {
                    Ok(value) => return Some(Ok(value)),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable shared idempotency result");
                        return None;
                    }
                },
                Ok(Claim::Busy) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(Claim::Busy) => {
                    return Some(Err(ErrorBody::new(
                        ErrorCode::Unavailable,
                        "an earlier attempt with this idem is still running; retry",
                    )))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "shared idempotency store unavailable");
                    return None;
                }
            }
        }
    }

    /// Runs `act` once per (user, key) within the TTL; later calls return its result.
    pub async fn run<F>(
        &self,
        user: &Arc<str>,
        key: &str,
        act: F,
    ) -> Result<T, guildhall_protocol::ErrorBody>
    where
        F: Future<Output = Result<T, guildhall_protocol::ErrorBody>>,
    {
        let map_key = (user.clone(), key.to_owned());
        let tx = match self.map.entry(map_key.clone()) {
            MapEntry::Occupied(mut e) => match e.get() {
                Entry::Done { value, at } if at.elapsed() < self.ttl => return Ok(value.clone()),
                Entry::Running(rx) => {
                    let mut rx = rx.clone();
                    drop(e);
                    return wait(&mut rx).await;
                }
                Entry::Done { .. } => {
                    let (tx, rx) = watch::channel(None);
                    e.insert(Entry::Running(rx));
                    tx
                }
            },
            MapEntry::Vacant(e) => {
                let (tx, rx) = watch::channel(None);
                e.insert(Entry::Running(rx));
                tx
            }
        };
        let mut guard = RunningGuard {
            map: &self.map,
            key: Some(map_key.clone()),
        };
        let result = match self.claim_shared(user, key).await {
            Some(earlier) => earlier,
            None => {
                let result = act.await;
                if let Some(shared) = &self.shared {
                    let stored = result
                        .as_ref()
                        .ok()
                        .and_then(|v| serde_json::to_vec(v).ok());
                    shared.complete(user, key, stored.as_deref()).await;
                }
                result
            }
        };
        guard.key = None;
        match &result {
            Ok(value) => {
                self.map.insert(
                    map_key,
                    Entry::Done {
                        value: value.clone(),
                        at: Instant::now(),
                    },
                );
            }
            Err(_) => {
                self.map.remove(&map_key);
            }
        }
        let _ = tx.send(Some(result.clone()));
        result
    }

    /// Forgets results older than the TTL.
    pub fn sweep(&self) {
        self.map.retain(|_, e| match e {
            Entry::Done { at, .. } => at.elapsed() < self.ttl,
            Entry::Running(_) => true,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Removes a `Running` entry whose attempt was dropped midway (its connection closed), so the
/// key does not stay stuck; waiters see the closed channel and are told to retry.
struct RunningGuard<'a, T> {
    map: &'a DashMap<(Arc<str>, String), Entry<T>>,
    key: Option<(Arc<str>, String)>,
}

impl<T> Drop for RunningGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.map
                .remove_if(&key, |_, e| matches!(e, Entry::Running(_)));
        }
    }
}

async fn wait<T: Clone>(
    rx: &mut watch::Receiver<Outcome<T>>,
) -> Result<T, guildhall_protocol::ErrorBody> {
    use guildhall_protocol::{ErrorBody, ErrorCode};
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome
            .clone()
            .unwrap_or_else(|| Err(ErrorBody::new(ErrorCode::Internal, "internal error"))),
        // The first attempt was dropped (its connection closed mid-op): retry is safe.
        Err(_) => Err(ErrorBody::new(
            ErrorCode::Unavailable,
            "the first attempt was interrupted; retry",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guildhall_protocol::{ErrorBody, ErrorCode};
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn acts_once_per_key() {
        let cache = IdemCache::<u32>::new(Duration::from_secs(60));
        let calls = AtomicU32::new(0);
        let user: Arc<str> = "u".into();
        let act = || async { Ok::<_, ErrorBody>(calls.fetch_add(1, Ordering::SeqCst) + 100) };
        assert_eq!(cache.run(&user, "k", act()).await, Ok(100));
        assert_eq!(cache.run(&user, "k", act()).await, Ok(100));
        assert_eq!(cache.run(&user, "other", act()).await, Ok(101));
        let other_user: Arc<str> = "v".into();
        assert_eq!(cache.run(&other_user, "k", act()).await, Ok(102));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failures_are_not_remembered() {
        let cache = IdemCache::<u32>::new(Duration::from_secs(60));
        let user: Arc<str> = "u".into();
        let failed = cache
            .run(&user, "k", async {
                Err(ErrorBody::new(ErrorCode::Unavailable, "down"))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(cache.run(&user, "k", async { Ok(7) }).await, Ok(7));
    }

    #[tokio::test]
    async fn a_concurrent_retry_waits_for_the_first() {
        let cache = Arc::new(IdemCache::<u32>::new(Duration::from_secs(60)));
        let user: Arc<str> = "u".into();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let (cache, user) = (cache.clone(), user.clone());
            tokio::spawn(async move {
                cache
                    .run(&user, "k", async {
                        let _ = released.await;
                        Ok(1)
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let second = {
            let (cache, user) = (cache.clone(), user.clone());
            tokio::spawn(async move { cache.run(&user, "k", async { Ok(2) }).await })
        };
        tokio::task::yield_now().await;
        let _ = release.send(());
        assert_eq!(first.await.expect("join"), Ok(1));
        assert_eq!(second.await.expect("join"), Ok(1));
    }

    #[tokio::test]
    async fn an_abandoned_attempt_frees_its_key() {
        let cache = IdemCache::<u32>::new(Duration::from_secs(60));
        let user: Arc<str> = "u".into();
        let abandoned = cache.run(&user, "k", std::future::pending());
        assert!(tokio::time::timeout(Duration::from_millis(10), abandoned)
            .await
            .is_err());
        assert_eq!(cache.run(&user, "k", async { Ok(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn expired_results_act_again() {
        let cache = IdemCache::<u32>::new(Duration::from_millis(0));
        let user: Arc<str> = "u".into();
        assert_eq!(cache.run(&user, "k", async { Ok(1) }).await, Ok(1));
        assert_eq!(cache.run(&user, "k", async { Ok(2) }).await, Ok(2));
        cache.sweep();
        assert!(cache.is_empty());
    }
}
