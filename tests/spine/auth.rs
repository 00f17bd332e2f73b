//! hello with good, expired, badly signed and missing tokens; no hello in time.

use guildhall::auth::{unix_now_secs, Claims};
use guildhall_protocol::close;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::helpers::{codecs, Client, TestServer, SECRET};

fn sign(claims: &Claims, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test]
async fn good_token_is_welcomed_in_both_codecs() {
    let server = TestServer::start().await;
    for codec in codecs() {
        let mut client = Client::connect(&server.url(), codec).await;
        let reply = client.hello(&server.token("alice")).await;
        assert_eq!(reply["ok"], true, "{reply}");
        let d = &reply["d"];
        assert_eq!(d["user"], json!({ "id": "alice", "name": "alice name" }));
        assert!(d["session"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(d["node"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(d["heartbeat_ms"], 25_000);
        assert_eq!(d["resumed"], json!([]));
        // Served after hello.
        assert_eq!(client.request("ping", json!({})).await["ok"], true);
    }
}

async fn refused(server: &TestServer, codec: guildhall_protocol::Codec, hello: serde_json::Value) {
    let mut client = Client::connect(&server.url(), codec).await;
    let reply = client.request("hello", hello).await;
    assert_eq!(reply["ok"], false, "{reply}");
    assert_eq!(reply["err"]["code"], "unauthorized", "{reply}");
    assert_eq!(client.expect_close().await, close::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_badly_signed_and_missing_tokens_are_refused() {
    let server = TestServer::start().await;
    let expired = Claims {
        sub: "alice".into(),
        name: None,
        exp: unix_now_secs() - 3_600,
        ..Claims::default()
    };
    let valid = Claims {
        sub: "alice".into(),
        name: None,
        exp: unix_now_secs() + 3_600,
        ..Claims::default()
    };
    for codec in codecs() {
        refused(
            &server,
            codec,
            json!({ "token": sign(&expired, SECRET), "v": 1 }),
        )
        .await;
        refused(
            &server,
            codec,
            json!({ "token": sign(&valid, "another-secret"), "v": 1 }),
        )
        .await;
        refused(&server, codec, json!({ "v": 1 })).await;
        refused(&server, codec, json!({ "token": "garbage", "v": 1 })).await;
    }
    // The server is unharmed.
    let mut ok = server.client("bob", guildhall_protocol::Codec::Json).await;
    assert_eq!(ok.request("ping", json!({})).await["ok"], true);
}

#[tokio::test]
async fn wrong_protocol_version_is_refused() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server.url(), guildhall_protocol::Codec::Json).await;
    let reply = client
        .request("hello", json!({ "token": server.token("alice"), "v": 2 }))
        .await;
    assert_eq!(reply["err"]["code"], "unsupported_version");
    assert_eq!(client.expect_close().await, close::PROTOCOL);
}

#[tokio::test]
async fn no_hello_in_time_closes_4001() {
    let server = TestServer::start_with(|c| c.limits.hello_timeout_ms = 300).await;
    let mut client = Client::connect(&server.url(), guildhall_protocol::Codec::Json).await;
    let started = std::time::Instant::now();
    assert_eq!(client.expect_close().await, close::UNAUTHORIZED);
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn platform_roles_come_from_the_token() {
    let server = TestServer::start().await;
    let auth = guildhall::auth::Authenticator::hs256(&guildhall::config::Secret::new(SECRET));
    let token = auth
        .mint("mod1", Some("Mod"), &["moderator".into()], 60)
        .expect("mint");
    let user = auth.verify(&token).expect("verify");
    assert!(user.roles.moderator);
    let mut client = Client::connect(&server.url(), guildhall_protocol::Codec::Json).await;
    assert_eq!(client.hello(&token).await["d"]["user"]["name"], "Mod");
}
