//! Guild test setup on either store: a node on SQLite (embedded) or on PostgreSQL (a schema of
//! its own), plus shortcuts for the steps every guild test repeats.

use guildhall::config::Secret;
use guildhall_protocol::Codec;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, Executor};

use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn database_url() -> String {
    std::env::var("GUILDHALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A node on one backend; the PostgreSQL schema is dropped by [`GuildNode::finish`].
pub struct GuildNode {
    pub server: TestServer,
    schema: Option<String>,
}

impl GuildNode {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut guildhall::Config)) -> Self {
        let schema = (backend == Backend::Postgres).then(|| {
            let n: u64 = rand::random();
            format!("g_{:012x}", n & 0xffff_ffff_ffff)
        });
        let unreachable = backend == Backend::Postgres
            && std::env::var("GUILDHALL_TEST_DATABASE_URL").is_err()
            && tokio::net::TcpStream::connect("127.0.0.1:5432")
                .await
                .is_err();
        // Fails, never skips: a missing database must not pass as a green run.
        assert!(!unreachable, "PostgreSQL is not reachable at 127.0.0.1:5432: start it with `pg_ctlcluster 15 main start` (or set GUILDHALL_TEST_DATABASE_URL)");
        let server_schema = schema.clone();
        let server = TestServer::start_with(move |c| {
            if let Some(schema) = server_schema {
                c.database_url = Some(Secret::new(database_url()));
                c.database_schema = Some(schema);
            }
            tweak(c);
        })
        .await;
        Self { server, schema }
    }

    /// Runs a statement straight against the store (to move time: backdate a join).
    pub async fn sql(&self, statement: &str) {
        sqlx::any::install_default_drivers();
        let url = match &self.schema {
            Some(_) => database_url(),
            None => format!(
                "sqlite://{}",
                self.server.dir.path().join("guildhall.db").display()
            ),
        };
        let mut conn = AnyConnection::connect(&url)
            .await
            .expect("connect to the store");
        if let Some(schema) = &self.schema {
            conn.execute(format!("SET search_path TO \"{schema}\"").as_str())
                .await
                .expect("search path");
        }
        conn.execute(statement).await.expect("statement");
    }

    pub async fn finish(self) {
        let schema = self.schema.clone();
        self.server.stop().await;
        if let Some(schema) = schema {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&database_url()).await {
                let _ = conn
                    .execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str())
                    .await;
            }
        }
    }
}

/// Asserts a reply is ok and returns its `d`.
#[track_caller]
pub fn ok(reply: &Value) -> Value {
    assert_eq!(reply["ok"], true, "expected ok: {reply}");
    reply["d"].clone()
}

/// Asserts a reply is an error with `code` and returns its message.
#[track_caller]
pub fn refused(reply: &Value, code: &str) -> String {
    assert_eq!(reply["ok"], false, "expected {code}: {reply}");
    assert_eq!(reply["err"]["code"], code, "{reply}");
    reply["err"]["msg"].as_str().unwrap_or_default().to_owned()
}

/// Credits the creation price and creates a guild; its id.
pub async fn create_guild(
    server: &TestServer,
    leader: &mut Client,
    user: &str,
    name: &str,
    tag: &str,
) -> u64 {
    server.credit(user, "dna", 5_000).await;
    let reply = leader
        .request("guild.create", json!({ "name": name, "tag": tag }))
        .await;
    let d = ok(&reply);
    d["guild"]["id"].as_u64().expect("guild id")
}

/// Connects `user`, joins the (open) guild, and returns the connection.
pub async fn joiner(server: &TestServer, user: &str, codec: Codec, guild: u64) -> Client {
    let mut client = server.client(user, codec).await;
    let reply = client
        .request("guild.join", json!({ "guild": guild }))
        .await;
    ok(&reply);
    client
}

/// Promotes `user` `times` ranks up as `leader`.
pub async fn promote(leader: &mut Client, guild: u64, user: &str, times: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..times {
        last = ok(&leader
            .request("guild.promote", json!({ "guild": guild, "user": user }))
            .await);
    }
    last
}

/// Gives a guild XP through the API (war and raid results).
pub async fn award_xp(server: &TestServer, guild: u64, source: &str) -> Value {
    let idem = format!("xp-{}", rand::random::<u64>());
    let (status, body) = server
        .api(
            "POST",
            &format!("/api/guilds/{guild}/xp"),
            Some(json!({ "source": source, "idem": idem })),
        )
        .await;
    assert_eq!(status, 200, "xp: {body}");
    body
}

/// The roster of `guild.get`, as (user id, role).
pub async fn roster(client: &mut Client, guild: u64) -> Vec<(String, String)> {
    let d = ok(&client.request("guild.get", json!({ "guild": guild })).await);
    d["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user"]["id"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub async fn wallet_dna(client: &mut Client) -> u64 {
    let d = ok(&client.request("wallet.get", json!({})).await);
    d["balances"]["dna"].as_u64().expect("dna balance")
}
