//! Store backends against the shared contract (`guildhall::store::conformance`), plus what only
//! PostgreSQL has: schemas, several stores on one database, connection failures.
//!
//! The PostgreSQL tests need a server: `postgres://postgres@127.0.0.1:5432/test` unless
//! `GUILDHALL_TEST_DATABASE_URL` says otherwise. They fail, never skip, when it is not there:
//! a silently skipped backend is an untested one. Each test works in a schema of its own,
//! `t_<random hex>`, dropped at the end whether the test passed or not.

mod mutants;

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use guildhall::store::conformance;
use guildhall::store::postgres::PostgresStore;
use guildhall::store::sqlite::SqliteStore;
use guildhall::store::{NewChatMessage, Store};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const DATABASE_URL_ENV: &str = "GUILDHALL_TEST_DATABASE_URL";

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let store = SqliteStore::open(dir.path())
        .await
        .expect("opening SQLite in a fresh temp dir");
    conformance::run_all(&store).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_conforms() {
    in_fresh_schema(|url, schema| async move {
        let store = PostgresStore::connect(&url, Some(&schema))
            .await
            .expect("connecting the store");
        assert_eq!(store.kind(), "postgres");
        conformance::run_all(&store).await;
        store.close().await;
    })
    .await;
}

/// Two nodes sharing one database: each gets its own pool, both write the same room at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_stores_get_distinct_ids() {
    const PER_WRITER: usize = 200;
    in_fresh_schema(|url, schema| async move {
        // Connecting and migrating at the same moment is what two nodes starting together do:
        // both race to create the schema and apply the migrations.
        let (a, b) = tokio::join!(
            PostgresStore::connect(&url, Some(&schema)),
            PostgresStore::connect(&url, Some(&schema))
        );
        let (a, b) = (
            Arc::new(a.expect("connecting store a")),
            Arc::new(b.expect("connecting store b")),
        );
        let (ma, mb) = tokio::join!(a.migrate(), b.migrate());
        ma.expect("migrating from store a");
        mb.expect("migrating from store b");

        let room = "war-room";
        let writer = |store: Arc<PostgresStore>, name: &'static str| {
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(PER_WRITER);
                // Batches of 1 to 9 rows, so single-row and multi-row inserts interleave.
                let mut size = 1;
                while ids.len() < PER_WRITER {
                    let n = size.min(PER_WRITER - ids.len());
                    let batch: Vec<_> = (ids.len()..ids.len() + n)
                        .map(|i| chat(room, name, &format!("{name} #{i}"), i as u64))
                        .collect();
                    let got = store
                        .insert_chat_batch(&batch)
                        .await
                        .expect("concurrent batch insert");
                    assert_eq!(got.len(), n);
                    ids.extend(got);
                    size = size % 9 + 1;
                }
                ids
            })
        };
        let (ids_a, ids_b) = tokio::join!(writer(a.clone(), "a"), writer(b.clone(), "b"));
        let (ids_a, ids_b) = (ids_a.expect("writer a"), ids_b.expect("writer b"));

        for (name, ids) in [("a", &ids_a), ("b", &ids_b)] {
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "writer {name}'s ids must grow in the order it wrote: {ids:?}"
            );
        }
        let distinct: HashSet<u64> = ids_a.iter().chain(&ids_b).copied().collect();
        assert_eq!(
            distinct.len(),
            2 * PER_WRITER,
            "ids must be unique across stores"
        );

        let history = a
            .chat_history(room, None, 1000)
            .await
            .expect("reading history");
        assert_eq!(
            history.len(),
            2 * PER_WRITER,
            "history must hold every message of both writers"
        );
        assert!(
            history.windows(2).all(|w| w[0].id < w[1].id),
            "history must be oldest first"
        );
        let listed: HashSet<u64> = history.iter().map(|m| m.id).collect();
        assert_eq!(
            listed, distinct,
            "history must list exactly the ids the writers were given"
        );
        for (name, ids) in [("a", &ids_a), ("b", &ids_b)] {
            let texts: Vec<&str> = history
                .iter()
                .filter(|m| m.from.id == name)
                .map(|m| m.text.as_str())
                .collect();
            let want: Vec<String> = (0..ids.len()).map(|i| format!("{name} #{i}")).collect();
            assert_eq!(
                texts, want,
                "writer {name}'s messages must appear once each, in the order written"
            );
        }

        a.close().await;
        b.close().await;
    })
    .await;
}

/// Schema names are spliced into SQL, so anything outside `[a-z0-9_]` must be refused before
/// any connection is made (the URL here points nowhere).
#[tokio::test]
async fn postgres_refuses_bad_schema_names() {
    let nowhere = "postgres://postgres@127.0.0.1:1/none";
    let too_long = "a".repeat(64);
    for bad in [
        "",
        "Upper",
        "a-b",
        "a b",
        "a\"b",
        "x\"; DROP SCHEMA public; --",
        "caf\u{e9}",
        too_long.as_str(),
    ] {
        let started = Instant::now();
        let err = PostgresStore::connect(nowhere, Some(bad)).await.err();
        let err = err.unwrap_or_else(|| panic!("schema name {bad:?} must be refused"));
        assert!(
            err.to_string().contains("invalid schema name"),
            "schema name {bad:?}: unexpected error {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refusing {bad:?} must not wait on the network"
        );
    }
}

/// A database that is down must fail `connect` in bounded time (acquire_timeout), not hang.
#[tokio::test]
async fn postgres_unreachable_fails_in_bounded_time() {
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(15),
        PostgresStore::connect(
            "postgres://postgres@127.0.0.1:1/none",
            Some("t_unreachable"),
        ),
    )
    .await
    .expect("connect to an unreachable database must give up within its acquire timeout");
    assert!(result.is_err(), "connecting to a closed port must fail");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

fn chat(room: &str, user: &str, text: &str, ts_ms: u64) -> NewChatMessage {
    NewChatMessage {
        room: room.into(),
        user_id: user.into(),
        user_name: user.into(),
        text: text.to_owned(),
        ts_ms,
    }
}

fn database_url() -> String {
    std::env::var(DATABASE_URL_ENV).unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// Runs `test` with the database URL and a fresh schema name, then drops the schema, also
/// when the test panicked (the panic is passed on afterwards).
async fn in_fresh_schema<F, Fut>(test: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let url = database_url();
    let admin = admin_pool(&url).await;
    let schema = format!("t_{:016x}", rand::random::<u64>());
    let outcome = AssertUnwindSafe(test(url, schema.clone()))
        .catch_unwind()
        .await;
    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&admin)
        .await;
    admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    dropped.unwrap_or_else(|e| panic!("dropping test schema {schema}: {e}"));
}

/// A connection outside any test schema, for creating and dropping schemas. Failing here is
/// the "PostgreSQL is not running" case, so the message says how to fix it.
async fn admin_pool(url: &str) -> PgPool {
    let attempt = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await;
    match attempt {
        Ok(pool) => match sqlx::query("SELECT 1").execute(&pool).await {
            Ok(_) => pool,
            Err(e) => panic!("{}", not_reachable(url, &e)),
        },
        Err(e) => panic!("{}", not_reachable(url, &e)),
    }
}

fn not_reachable(url: &str, error: &sqlx::Error) -> String {
    format!(
        "PostgreSQL not reachable at {url} ({error}): start it with `pg_ctlcluster 15 main start` \
         (the database must exist: `createdb -h 127.0.0.1 -U postgres test`), or set {DATABASE_URL_ENV} \
         to a server where the user may create schemas"
    )
}
