//! Draining closes every client with 1001 and flushes what was acknowledged.

use guildhall_protocol::{close, Codec};
use serde_json::json;

use crate::helpers::{codecs, Client, TestServer};

#[tokio::test]
async fn drain_closes_clients_with_1001() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for (i, codec) in codecs().into_iter().cycle().take(6).enumerate() {
        clients.push(
            server
                .member(&format!("user{i}"), codec, "chan:drain")
                .await
                .0,
        );
    }
    let (mut last, _) = server.member("writer", Codec::Json, "chan:drain").await;
    let acked = last
        .request(
            "chat.send",
            json!({ "room": "chan:drain", "text": "before drain" }),
        )
        .await;
    assert_eq!(acked["ok"], true);

    server.begin_stop();
    for client in clients.iter_mut().chain(std::iter::once(&mut last)) {
        assert_eq!(client.expect_close().await, close::DRAINING);
    }
    let url = server.url();
    let dir = server.stop().await;
    // The node is gone: new connections are refused.
    assert!(tokio_tungstenite::connect_async(url).await.is_err());

    let server = TestServer::start_in(dir, |_| {}).await;
    let mut again = Client::connect(&server.url(), Codec::Json).await;
    again.hello(&server.token("writer")).await;
    let history = again
        .request("chat.history", json!({ "room": "chan:drain" }))
        .await;
    assert_eq!(history["d"]["msgs"][0]["text"], "before drain");
}
