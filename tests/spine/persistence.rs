//! Chat history survives a restart of the node.

use guildhall_protocol::Codec;
use serde_json::json;

use crate::helpers::TestServer;

#[tokio::test]
async fn history_survives_a_restart() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.member("alice", Codec::Json, "chan:keep").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = alice
            .request(
                "chat.send",
                json!({ "room": "chan:keep", "text": format!("kept {i}") }),
            )
            .await;
        assert_eq!(r["ok"], true);
        ids.push(alice.next_event("chat.msg").await["d"]["id"].clone());
    }
    alice.close().await;
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, |_| {}).await;
    let (_bob, joined) = server.member("bob", Codec::MsgPack, "chan:keep").await;
    let history = joined["history"].as_array().expect("history");
    let texts: Vec<_> = history
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["kept 0", "kept 1", "kept 2", "kept 3", "kept 4"]);
    let got_ids: Vec<_> = history.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(got_ids, ids, "the ids pushed live are the ids in history");
}

#[tokio::test]
async fn an_acknowledged_message_is_committed() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.member("alice", Codec::Json, "chan:ack").await;
    let r = alice
        .request(
            "chat.send",
            json!({ "room": "chan:ack", "text": "durable" }),
        )
        .await;
    assert_eq!(r["ok"], true);
    // Read the database file directly, through a separate connection: the row is there.
    let db = server.dir.path().join(guildhall::store::sqlite::DB_FILE);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM chat_messages WHERE room = 'chan:ack' AND text = 'durable'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(n, 1);
}
