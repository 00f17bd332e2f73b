//! The conformance suite must fail a store that breaks the contract, or a passing run proves
//! nothing. Each mutant wraps a working SQLite store and breaks one promise.

use std::panic::AssertUnwindSafe;

use async_trait::async_trait;
use futures::FutureExt;
use guildhall::store::conformance;
use guildhall::store::sqlite::SqliteStore;
use guildhall::store::{NewChatMessage, Store, StoreError};
use guildhall_protocol::ChatMsg;

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// History pages come back newest first.
    HistoryNewestFirst,
    /// `before` is treated as inclusive.
    BeforeInclusive,
    /// One message too many per page.
    LimitOffByOne,
    /// Ids returned in reverse of the input order.
    IdsReversed,
    /// Texts are trimmed on the way in.
    TrimsText,
    /// Timestamps lose their high bits.
    TruncatesTs,
    /// User names are not kept (the id is stored in their place).
    NameFromId,
    /// An empty batch is an error.
    EmptyBatchFails,
    /// Migrating twice fails.
    MigrateOnce,
    /// Large batches are cut short.
    CapsBatchAt100,
}

struct Mutant {
    inner: SqliteStore,
    fault: Fault,
    migrated: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Store for Mutant {
    async fn migrate(&self) -> Result<(), StoreError> {
        if matches!(self.fault, Fault::MigrateOnce)
            && self
                .migrated
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Closed);
        }
        self.inner.migrate().await
    }

    async fn insert_chat_batch(&self, batch: &[NewChatMessage]) -> Result<Vec<u64>, StoreError> {
        let mut batch = batch.to_vec();
        match self.fault {
            Fault::EmptyBatchFails if batch.is_empty() => return Err(StoreError::Closed),
            Fault::TrimsText => batch
                .iter_mut()
                .for_each(|m| m.text = m.text.trim().to_owned()),
            Fault::TruncatesTs => batch
                .iter_mut()
                .for_each(|m| m.ts_ms = u64::from(m.ts_ms as u32)),
            Fault::NameFromId => batch
                .iter_mut()
                .for_each(|m| m.user_name = m.user_id.clone()),
            Fault::CapsBatchAt100 => batch.truncate(100),
            _ => {}
        }
        let mut ids = self.inner.insert_chat_batch(&batch).await?;
        if matches!(self.fault, Fault::IdsReversed) {
            ids.reverse();
        }
        Ok(ids)
    }

    async fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<ChatMsg>, StoreError> {
        let before = match self.fault {
            Fault::BeforeInclusive => before.map(|b| b.saturating_add(1)),
            _ => before,
        };
        let limit = match self.fault {
            Fault::LimitOffByOne => limit.saturating_add(1),
            _ => limit,
        };
        let mut page = self.inner.chat_history(room, before, limit).await?;
        if matches!(self.fault, Fault::HistoryNewestFirst) {
            page.reverse();
        }
        Ok(page)
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.inner.health().await
    }

    async fn close(&self) {
        self.inner.close().await
    }

    fn kind(&self) -> &'static str {
        "mutant"
    }
}

#[tokio::test]
async fn conformance_fails_every_mutant() {
    let faults = [
        Fault::HistoryNewestFirst,
        Fault::BeforeInclusive,
        Fault::LimitOffByOne,
        Fault::IdsReversed,
        Fault::TrimsText,
        Fault::TruncatesTs,
        Fault::NameFromId,
        Fault::EmptyBatchFails,
        Fault::MigrateOnce,
        Fault::CapsBatchAt100,
    ];
    let mut survivors = Vec::new();
    for fault in faults {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let inner = SqliteStore::open(dir.path()).await.expect("opening SQLite");
        let store = Mutant {
            inner,
            fault,
            migrated: false.into(),
        };
        let caught = AssertUnwindSafe(conformance::run_all(&store))
            .catch_unwind()
            .await
            .is_err();
        store.close().await;
        if !caught {
            survivors.push(fault);
        }
    }
    assert!(
        survivors.is_empty(),
        "the conformance suite passed stores with these faults: {survivors:?}"
    );
}
