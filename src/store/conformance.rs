//! The contract every [`Store`] implementation must meet; run by `tests/store` against each
//! backend, so that switching backends cannot change what clients see.
//!
//! [`run_all`] panics, naming the backend and the check, at the first deviation. It works on
//! any migrated-or-not store, empty or not: every check writes to rooms of its own, named with
//! a random tag per run, and only ever reads those rooms back.
//!
//! This is test support compiled into the library (so backends in other crates can use it);
//! nothing in the server calls it.

use futures::future::join_all;
use guildhall_protocol::{ChatMsg, UserRef};

use super::{NewChatMessage, Store};

/// A plausible clock value (late 2025, in ms) for messages whose timestamp is not under test.
const BASE_TS: u64 = 1_763_900_000_000;

/// Runs every check of the contract against `store`, migrating it first (twice).
pub async fn run_all(store: &dyn Store) {
    let c = Checker::new(store);
    c.kind_is_stable();
    c.migrate_is_idempotent().await;
    c.health_ok().await;
    c.empty_batch().await;
    c.batch_ids_in_input_order().await;
    c.ids_grow_across_batches().await;
    c.mixed_room_batch().await;
    c.identical_messages_get_distinct_ids().await;
    c.paging_with_before().await;
    c.limit().await;
    c.rooms_isolated().await;
    c.unicode_round_trips().await;
    c.long_text_round_trips().await;
    c.ts_preserved().await;
    c.user_preserved().await;
    c.large_batch().await;
    c.concurrent_batches().await;
    c.health_ok().await;
}

struct Checker<'a> {
    store: &'a dyn Store,
    kind: &'static str,
    /// Prefix of every room this run writes, so reruns and other users of the store never
    /// show up in what a check reads back.
    tag: String,
}

impl<'a> Checker<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            kind: store.kind(),
            tag: format!("conformance-{:016x}", rand::random::<u64>()),
        }
    }

    fn room(&self, name: &str) -> String {
        format!("{}/{name}", self.tag)
    }

    /// Inserts a batch, checking the part of the contract every insert shares: one id per
    /// message, strictly increasing in input order.
    async fn insert(&self, check: &str, batch: &[NewChatMessage]) -> Vec<u64> {
        let ids = self
            .store
            .insert_chat_batch(batch)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "[{}] {check}: insert_chat_batch of {} rows failed: {e}",
                    self.kind,
                    batch.len()
                )
            });
        assert_eq!(
            ids.len(),
            batch.len(),
            "[{}] {check}: insert_chat_batch must return one id per message, in input order",
            self.kind
        );
        if let Some(pair) = ids.windows(2).find(|w| w[0] >= w[1]) {
            panic!(
                "[{}] {check}: ids must increase in input order (clients rely on ids growing with time); \
                 got {} then {} in {ids:?}",
                self.kind, pair[0], pair[1]
            );
        }
        ids
    }

    async fn history(
        &self,
        check: &str,
        room: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Vec<ChatMsg> {
        self.store.chat_history(room, before, limit).await.unwrap_or_else(|e| {
            panic!("[{}] {check}: chat_history({room:?}, before={before:?}, limit={limit}) failed: {e}", self.kind)
        })
    }

    /// Asserts that a history page is exactly `expected`, with a message that says what the
    /// page was asked for.
    async fn expect_history(
        &self,
        check: &str,
        room: &str,
        before: Option<u64>,
        limit: u32,
        expected: &[ChatMsg],
    ) {
        let got = self.history(check, room, before, limit).await;
        assert_eq!(
            got, expected,
            "[{}] {check}: chat_history({room:?}, before={before:?}, limit={limit}) must return the newest \
             matching messages with id < before, oldest first, every field exactly as written",
            self.kind
        );
    }

    fn kind_is_stable(&self) {
        assert!(!self.kind.is_empty(), "kind() must name the backend");
        assert_eq!(
            self.store.kind(),
            self.kind,
            "kind() must not change between calls"
        );
    }

    async fn migrate_is_idempotent(&self) {
        for attempt in 1..=2 {
            self.store.migrate().await.unwrap_or_else(|e| {
                panic!(
                    "[{}] migrate (call {attempt}) must succeed and be idempotent: {e}",
                    self.kind
                )
            });
        }
    }

    async fn health_ok(&self) {
        self.store.health().await.unwrap_or_else(|e| {
            panic!("[{}] health must be ok on a working store: {e}", self.kind)
        });
    }

    async fn empty_batch(&self) {
        let ids = self.store.insert_chat_batch(&[]).await.unwrap_or_else(|e| {
            panic!(
                "[{}] empty batch: insert_chat_batch(&[]) must succeed: {e}",
                self.kind
            )
        });
        assert!(
            ids.is_empty(),
            "[{}] empty batch: insert_chat_batch(&[]) must return no ids, got {ids:?}",
            self.kind
        );
    }

    async fn batch_ids_in_input_order(&self) {
        let check = "batch ids in input order";
        let room = self.room("order");
        let batch: Vec<_> = (0..5)
            .map(|i| msg(&room, "u1", "Ann", &format!("order #{i}"), BASE_TS + i))
            .collect();
        let ids = self.insert(check, &batch).await;
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn ids_grow_across_batches(&self) {
        let check = "ids grow across batches";
        let room = self.room("grow");
        let mut all_ids = Vec::new();
        let mut all_msgs = Vec::new();
        for (n, size) in [3u64, 1, 1, 4].into_iter().enumerate() {
            let batch: Vec<_> = (0..size)
                .map(|i| {
                    msg(
                        &room,
                        "u1",
                        "Ann",
                        &format!("batch {n} #{i}"),
                        BASE_TS + 10 * n as u64 + i,
                    )
                })
                .collect();
            let ids = self.insert(check, &batch).await;
            if let (Some(last), Some(first)) = (all_ids.last(), ids.first()) {
                assert!(
                    first > last,
                    "[{}] {check}: a later batch must get higher ids than an earlier one; got {first} after {last}",
                    self.kind
                );
            }
            all_ids.extend(ids);
            all_msgs.extend(batch);
        }
        self.expect_history(check, &room, None, 100, &expected(&all_ids, &all_msgs))
            .await;
    }

    async fn mixed_room_batch(&self) {
        let check = "one batch across rooms";
        let (a, b) = (self.room("mix-a"), self.room("mix-b"));
        let batch = vec![
            msg(&a, "u1", "Ann", "a1", BASE_TS),
            msg(&b, "u2", "Bob", "b1", BASE_TS + 1),
            msg(&a, "u1", "Ann", "a2", BASE_TS + 2),
            msg(&b, "u2", "Bob", "b2", BASE_TS + 3),
            msg(&a, "u3", "Cy", "a3", BASE_TS + 4),
        ];
        let ids = self.insert(check, &batch).await;
        let (mut in_a, mut in_b) = (Vec::new(), Vec::new());
        for (id, m) in ids.iter().zip(&batch) {
            if *m.room == *a {
                in_a.push(chat(*id, m))
            } else {
                in_b.push(chat(*id, m))
            }
        }
        self.expect_history(check, &a, None, 100, &in_a).await;
        self.expect_history(check, &b, None, 100, &in_b).await;
    }

    async fn identical_messages_get_distinct_ids(&self) {
        let check = "identical messages";
        let room = self.room("twins");
        let one = msg(&room, "u1", "Ann", "gg", BASE_TS);
        let batch = vec![one.clone(), one.clone(), one];
        let ids = self.insert(check, &batch).await;
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn paging_with_before(&self) {
        let check = "paging with before";
        let room = self.room("paging");
        let batch: Vec<_> = (0..10)
            .map(|i| msg(&room, "u1", "Ann", &format!("page #{i}"), BASE_TS + i))
            .collect();
        let ids = self.insert(check, &batch).await;
        let all = expected(&ids, &batch);

        self.expect_history(check, &room, None, 3, &all[7..]).await;
        self.expect_history(check, &room, Some(ids[7]), 3, &all[4..7])
            .await;
        // Fewer than `limit` left: the rest, not an error and not padding.
        self.expect_history(check, &room, Some(ids[2]), 3, &all[..2])
            .await;
        // `before` is exclusive.
        self.expect_history(check, &room, Some(ids[0]), 3, &[])
            .await;
        self.expect_history(check, &room, Some(ids[9] + 1), 100, &all)
            .await;
        self.expect_history(check, &room, Some(0), 100, &[]).await;
        // Clients send `before` as any u64; values past the backend's integer range mean "all".
        self.expect_history(check, &room, Some(u64::MAX), 100, &all)
            .await;
        self.expect_history(check, &room, Some(i64::MAX as u64), 100, &all)
            .await;

        // Walking pages backwards visits every message once.
        let mut walked: Vec<ChatMsg> = Vec::new();
        let mut before = None;
        loop {
            let page = self.history(check, &room, before, 4).await;
            let Some(first) = page.first() else { break };
            assert!(
                page.len() <= 4,
                "[{}] {check}: a page must hold at most `limit` messages",
                self.kind
            );
            before = Some(first.id);
            walked.splice(0..0, page);
            assert!(
                walked.len() <= all.len(),
                "[{}] {check}: walking pages backwards never ends",
                self.kind
            );
        }
        assert_eq!(
            walked, all,
            "[{}] {check}: walking pages of 4 backwards must visit every message once",
            self.kind
        );
    }

    async fn limit(&self) {
        let check = "limit";
        let room = self.room("limit");
        let batch: Vec<_> = (0..6)
            .map(|i| msg(&room, "u1", "Ann", &format!("limit #{i}"), BASE_TS + i))
            .collect();
        let ids = self.insert(check, &batch).await;
        let all = expected(&ids, &batch);
        self.expect_history(check, &room, None, 0, &[]).await;
        self.expect_history(check, &room, None, 1, &all[5..]).await;
        self.expect_history(check, &room, None, 5, &all[1..]).await;
        self.expect_history(check, &room, None, 6, &all).await;
        self.expect_history(check, &room, None, 7, &all).await;
        self.expect_history(check, &room, None, u32::MAX, &all)
            .await;
    }

    async fn rooms_isolated(&self) {
        let check = "rooms isolated";
        // Names that a case-folding, trimming, prefix-matching, pattern-matching or
        // normalizing comparison would confuse.
        let names = [
            "iso",
            "ISO",
            "iso ",
            "is",
            "iso/x",
            "is_",
            "is%",
            "iso-\u{e9}",
            "iso-e\u{301}",
        ];
        let mut pages = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let room = self.room(name);
            let batch = vec![msg(
                &room,
                "u1",
                "Ann",
                &format!("only in {name:?}"),
                BASE_TS + i as u64,
            )];
            let ids = self.insert(check, &batch).await;
            pages.push((room, expected(&ids, &batch)));
        }
        for (room, page) in &pages {
            self.expect_history(check, room, None, 100, page).await;
        }
        self.expect_history(check, &self.room("never-written"), None, 100, &[])
            .await;
    }

    async fn unicode_round_trips(&self) {
        let check = "unicode round-trips exactly";
        let room = self.room("unicode");
        let texts = [
            "👋🏽 hi",
            // ZWJ sequence and flags: several code points per visible character.
            "👨\u{200d}👩\u{200d}👧\u{200d}👦 🇫🇷🇯🇵",
            "漢字 かな カナ 한국어 中文",
            // Combining and precomposed forms must both come back as written, not normalized.
            "e\u{301} vs \u{e9}",
            "Z\u{351}\u{36b}\u{343}a\u{310}\u{324}l\u{336}g\u{327}o",
            "مرحبا \u{200f}שלום",
            "\u{feff}bom \u{200b}zero-width",
            "\u{10ffff} \u{fffd} \u{1d11e}",
            "tab\there\nnew line\r\ncrlf",
            "  leading and trailing  ",
            "quotes ' \" \\ ; -- /* %_ $1 ? :name",
        ];
        let batch: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| msg(&room, "u1", "Ann", t, BASE_TS + i as u64))
            .collect();
        let ids = self.insert(check, &batch).await;
        let got = self.history(check, &room, None, 100).await;
        assert_eq!(
            got.len(),
            texts.len(),
            "[{}] {check}: every message must come back",
            self.kind
        );
        for (got, want) in got.iter().zip(texts) {
            assert_eq!(
                got.text.as_bytes(),
                want.as_bytes(),
                "[{}] {check}: text must come back byte for byte: got {:?}, wrote {want:?}",
                self.kind,
                got.text
            );
        }
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn long_text_round_trips(&self) {
        let check = "200-character text";
        let room = self.room("long");
        // 200 characters is the rules' maximum (chat_rules::DEFAULT_MAX_CHARS); as 1- to
        // 4-byte characters it is 500 bytes, which a byte-counted column would cut.
        let mixed: String = "é漢🙂a".chars().cycle().take(200).collect();
        let ascii = "x".repeat(200);
        assert_eq!(mixed.chars().count(), 200);
        let batch = vec![
            msg(&room, "u1", "Ann", &mixed, BASE_TS),
            msg(&room, "u1", "Ann", &ascii, BASE_TS + 1),
        ];
        let ids = self.insert(check, &batch).await;
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn ts_preserved(&self) {
        let check = "ts_ms preserved";
        let room = self.room("ts");
        // Out-of-order timestamps too: the store orders by id, never by ts.
        let stamps = [
            BASE_TS,
            0,
            1,
            BASE_TS - 1,
            4_102_444_800_000,
            i64::MAX as u64,
            u64::MAX,
        ];
        let batch: Vec<_> = stamps
            .iter()
            .map(|ts| msg(&room, "u1", "Ann", &format!("at {ts}"), *ts))
            .collect();
        let ids = self.insert(check, &batch).await;
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn user_preserved(&self) {
        let check = "user preserved";
        let room = self.room("users");
        let batch = vec![
            msg(&room, "u-42", "Ann", "plain", BASE_TS),
            msg(
                &room,
                "u-\u{fc}n\u{ef}-🙂",
                "O'Brien \"the\" 龍 🐉",
                "unicode user",
                BASE_TS + 1,
            ),
            msg(
                &room,
                "e\u{301}",
                "Jose\u{301} ",
                "combining user, trailing space",
                BASE_TS + 2,
            ),
            msg(
                &room,
                "",
                "",
                "empty user fields are the caller's business",
                BASE_TS + 3,
            ),
        ];
        let ids = self.insert(check, &batch).await;
        self.expect_history(check, &room, None, 100, &expected(&ids, &batch))
            .await;
    }

    async fn large_batch(&self) {
        let check = "large batch (500 rows, one call)";
        let room = self.room("large");
        let batch: Vec<_> = (0..500u64)
            .map(|i| {
                msg(
                    &room,
                    &format!("u{}", i % 7),
                    &format!("User {}", i % 7),
                    &format!("large #{i}"),
                    BASE_TS + i,
                )
            })
            .collect();
        let ids = self.insert(check, &batch).await;
        let all = expected(&ids, &batch);
        self.expect_history(check, &room, None, 500, &all).await;
        self.expect_history(check, &room, None, 1000, &all).await;
        self.expect_history(check, &room, Some(ids[250]), 50, &all[200..250])
            .await;
    }

    /// The chat writer inserts one batch at a time, but history reads and other nodes' writers
    /// run alongside; concurrent batches must neither fail nor share or reorder ids.
    async fn concurrent_batches(&self) {
        let check = "concurrent batches";
        let room = self.room("concurrent");
        let batches: Vec<Vec<NewChatMessage>> = (0..8u64)
            .map(|b| {
                (0..25u64)
                    .map(|i| {
                        msg(
                            &room,
                            &format!("u{b}"),
                            "Ann",
                            &format!("c{b} #{i}"),
                            BASE_TS + i,
                        )
                    })
                    .collect()
            })
            .collect();
        let results = join_all(batches.iter().map(|batch| self.insert(check, batch))).await;
        let mut rows: Vec<ChatMsg> = results
            .iter()
            .zip(&batches)
            .flat_map(|(ids, batch)| expected(ids, batch))
            .collect();
        rows.sort_by_key(|m| m.id);
        if let Some(pair) = rows.windows(2).find(|w| w[0].id == w[1].id) {
            panic!(
                "[{}] {check}: two messages got the same id {}",
                self.kind, pair[0].id
            );
        }
        self.expect_history(check, &room, None, 1000, &rows).await;
    }
}

fn msg(room: &str, user_id: &str, user_name: &str, text: &str, ts_ms: u64) -> NewChatMessage {
    NewChatMessage {
        room: room.into(),
        user_id: user_id.into(),
        user_name: user_name.into(),
        text: text.to_owned(),
        ts_ms,
    }
}

fn chat(id: u64, m: &NewChatMessage) -> ChatMsg {
    ChatMsg {
        id,
        from: UserRef {
            id: m.user_id.to_string(),
            name: m.user_name.to_string(),
        },
        text: m.text.clone(),
        ts: m.ts_ms,
    }
}

/// What history must return for a batch just written with `ids`, oldest first.
fn expected(ids: &[u64], batch: &[NewChatMessage]) -> Vec<ChatMsg> {
    ids.iter().zip(batch).map(|(id, m)| chat(*id, m)).collect()
}
