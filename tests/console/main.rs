//! The moderator console (`/console`) end to end: a real headless Chromium, driven over
//! WebDriver (chromedriver, spawned here), signs in with a moderator token, watches a room live
//! and mutes a player, who is then refused by the server; the audit log shows it. The players
//! are protocol clients over real sockets; the server runs in-process on SQLite.
//!
//! Chromium and chromedriver must be installed (`apt-get install -y chromium chromium-driver`;
//! `.ci/run` does it): without them this test fails, it never skips.

use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use futures::FutureExt;
use guildhall::auth::Authenticator;
use guildhall::config::{Config, Secret};
use guildhall::Server;
use guildhall_protocol::Codec;
use serde_json::json;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[path = "../common/client.rs"]
mod client;
use client::Client;

const SECRET: &str = "console-test-secret";
const ROOM: &str = "chan:lobby";
/// How long the page may take to show something.
const UI_WAIT: Duration = Duration::from_secs(10);
const INSTALL: &str = "install them with `apt-get install -y chromium chromium-driver` \
                       (.ci/run does this when chromedriver is missing)";

// ---- the server ----

struct TestServer {
    addr: SocketAddr,
    _dir: TempDir,
    stop: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
    auth: Authenticator,
}

impl TestServer {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            bind: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().to_path_buf(),
            jwt_secret: Some(Secret::new(SECRET)),
            ..Config::default()
        };
        config.chat.min_gap_ms = 0;
        config.chat.max_per_window = 100_000;
        config.chat.repeat_window_ms = 0;
        config.shutdown_grace_ms = 2_000;
        let server = Server::build(config).await.expect("server builds");
        let addr = server.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let handle =
            tokio::spawn(server.run_until_stopped(async move { stopped.cancelled().await }));
        Self {
            addr,
            _dir: dir,
            stop,
            handle,
            auth: Authenticator::hs256(&Secret::new(SECRET)),
        }
    }

    fn token(&self, user: &str, name: &str, roles: &[&str]) -> String {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        self.auth
            .mint(user, Some(name), &roles, 3600)
            .expect("mint")
    }

    /// A player who said hello and joined [`ROOM`].
    async fn player(&self, user: &str, name: &str) -> Client {
        let mut client = Client::connect(&format!("ws://{}/ws", self.addr), Codec::Json).await;
        let reply = client.hello(&self.token(user, name, &[])).await;
        assert_eq!(reply["ok"], true, "hello: {reply}");
        let reply = client.request("room.join", json!({ "room": ROOM })).await;
        assert_eq!(reply["ok"], true, "join: {reply}");
        client
    }

    async fn stop(self) {
        self.stop.cancel();
        self.handle.await.expect("server task").expect("server run");
    }
}

/// Sends a message and returns its id, read from the sender's own `chat.msg` push.
async fn say(client: &mut Client, text: &str) -> u64 {
    let reply = client
        .request("chat.send", json!({ "room": ROOM, "text": text }))
        .await;
    assert_eq!(reply["ok"], true, "chat.send {text:?}: {reply}");
    let off = reply["d"]["off"].as_u64().expect("off");
    loop {
        let push = client.next_event("chat.msg").await;
        if push["off"].as_u64() == Some(off) {
            return push["d"]["id"].as_u64().expect("message id");
        }
    }
}

/// A GET over a bare socket: status line and headers (lowercased names), and the body.
async fn raw_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers");
    (head.to_lowercase(), body.to_owned())
}

// ---- the browser ----

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn spawn(chromedriver: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}; {INSTALL}", chromedriver.display()));
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Until it listens; a missing Chromium shows later, when the session opens.
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        while StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}); {INSTALL}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open_browser(driver: &Driver, chromium: &Path) -> Browser {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
            ],
        },
    });
    let capabilities = capabilities.as_object().cloned().expect("an object");
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("opening a Chromium session through chromedriver: {e}"))
}

/// The page's status line, for failure messages.
async fn status_line(browser: &Browser) -> String {
    match browser.find(Locator::Id("status")).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(e) => format!("(no #status: {e})"),
    }
}

async fn wait_for(browser: &Browser, css: &str) -> Element {
    match browser
        .wait()
        .at_most(UI_WAIT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!(
            "no `{css}` on the page within {UI_WAIT:?} ({e}); status: {:?}",
            status_line(browser).await
        ),
    }
}

async fn wait_gone(browser: &Browser, css: &str) {
    let deadline = Instant::now() + UI_WAIT;
    while !browser
        .find_all(Locator::Css(css))
        .await
        .expect("find")
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "`{css}` still on the page after {UI_WAIT:?}; status: {:?}",
            status_line(browser).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_status(browser: &Browser, wanted: &str) -> String {
    let deadline = Instant::now() + UI_WAIT;
    loop {
        let status = status_line(browser).await;
        if status.contains(wanted) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the status line never said {wanted:?}; it says {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(browser: &Browser, css: &str) {
    let element = wait_for(browser, css).await;
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
}

async fn text_of(browser: &Browser, css: &str) -> String {
    wait_for(browser, css).await.text().await.expect("text")
}

// ---- the tests ----

#[tokio::test]
async fn the_console_is_served_with_a_strict_content_security_policy() {
    let server = TestServer::start().await;
    for (path, kind) in [
        ("/console", "text/html"),
        ("/console/", "text/html"),
        ("/console/console.js", "text/javascript"),
        ("/console/console.css", "text/css"),
    ] {
        let (head, body) = raw_get(server.addr, path).await;
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
        let csp = head
            .lines()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("{path} has no CSP: {head}"));
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: CSP {csp:?} lacks {part:?}");
        }
        assert!(!csp.contains("unsafe"), "{path}: CSP {csp:?}");
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
        assert!(!body.is_empty(), "{path}: empty body");
    }
    // No inline script anywhere, and nothing user-provided can become markup.
    let (_, html) = raw_get(server.addr, "/console").await;
    assert!(html.contains(r#"<script src="/console/console.js" defer></script>"#));
    assert_eq!(html.matches("<script").count(), 1, "one script, external");
    let handler = html.split(" on").skip(1).find(|rest| {
        let name_len = rest.chars().take_while(char::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    });
    assert_eq!(handler, None, "an inline event handler attribute");
    let (_, js) = raw_get(server.addr, "/console/console.js").await;
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.contains(sink), "console.js uses {sink}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_moderator_watches_a_room_live_and_mutes_a_player() {
    let started = Instant::now();
    let chromedriver = on_path(&["chromedriver"])
        .unwrap_or_else(|| panic!("chromedriver is not on PATH: {INSTALL}"));
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"])
        .unwrap_or_else(|| panic!("Chromium is not on PATH: {INSTALL}"));

    let server = TestServer::start().await;
    // Alice is in the lobby (so it is live) and has said something before the console opens;
    // Bob reports that message.
    let mut alice = server.player("alice", "Alice").await;
    let first = say(&mut alice, "anyone up for a raid?").await;
    let mut bob = server.player("bob", "Bob").await;
    let report = bob
        .request(
            "report.create",
            json!({ "user": "alice", "category": "spam", "text": "<i>spams</i> the lobby",
                    "room": ROOM, "message": first }),
        )
        .await;
    assert_eq!(report["ok"], true, "report.create: {report}");
    let report = report["d"]["id"].as_u64().expect("report id");

    let driver = Driver::spawn(&chromedriver);
    let browser = open_browser(&driver, &chromium).await;
    let outcome = AssertUnwindSafe(tokio::time::timeout(
        Duration::from_secs(60),
        scenario(&browser, &server, &mut alice, first, report),
    ))
    .catch_unwind()
    .await;
    // The browser and chromedriver go whatever happened.
    let _ = browser.close().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("the console scenario took more than 60 s"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    bob.close().await;
    alice.close().await;
    server.stop().await;
    eprintln!("console scenario: {:?}", started.elapsed());
}

async fn scenario(
    browser: &Browser,
    server: &TestServer,
    alice: &mut Client,
    first: u64,
    report: u64,
) {
    browser
        .goto(&format!("http://{}/console", server.addr))
        .await
        .expect("open /console");
    assert_eq!(
        browser.title().await.expect("title"),
        "Guildhall moderator console"
    );

    // A player's token is turned away.
    let player_token = server.token("eve", "Eve", &[]);
    wait_for(browser, "#token")
        .await
        .send_keys(&player_token)
        .await
        .expect("type");
    click(browser, "#signin").await;
    wait_status(browser, "forbidden").await;
    let form = wait_for(browser, "#signin-form").await;
    assert!(
        form.is_displayed().await.expect("displayed"),
        "still signed out"
    );

    // Sign in as a moderator: the live rooms show the lobby with Alice and Bob.
    let token = server.token("mia", "Mia", &["moderator"]);
    let field = wait_for(browser, "#token").await;
    field.clear().await.expect("clear");
    field.send_keys(&token).await.expect("type");
    click(browser, "#signin").await;
    let lobby = wait_for(browser, &format!("#rooms [data-room=\"{ROOM}\"]")).await;
    assert_eq!(
        lobby.attr("data-members").await.expect("attr").as_deref(),
        Some("2")
    );
    assert_eq!(text_of(browser, "#whoami").await, "Mia (mia)");

    // The report queue shows Bob's report with its context, as text.
    let item = format!("#reports [data-report=\"{report}\"]");
    let shown = text_of(browser, &item).await;
    assert!(
        shown.contains("<i>spams</i> the lobby"),
        "report: {shown:?}"
    );
    let context = text_of(
        browser,
        &format!("{item} .context [data-context-id=\"{first}\"]"),
    )
    .await;
    assert!(context.contains("anyone up for a raid?"), "{context:?}");
    click(browser, &format!("{item} [data-action=\"claim\"]")).await;
    wait_status(browser, &format!("claimed report #{report}")).await;
    click(browser, &format!("{item} [data-action=\"warn\"]")).await;
    wait_status(browser, &format!("report #{report} resolved")).await;
    wait_gone(browser, &item).await;

    // Open the lobby: its history has Alice's first message.
    click(browser, &format!("#rooms [data-room=\"{ROOM}\"]")).await;
    wait_for(browser, &format!("#room-panel[data-joined=\"{ROOM}\"]")).await;
    wait_for(browser, &format!("#messages [data-msg-id=\"{first}\"]")).await;

    // A message sent now arrives live, shown as text even when it looks like markup.
    let hostile = "<b>gg</b> <img src=x> mods";
    let id = say(alice, hostile).await;
    let line = format!("#messages [data-msg-id=\"{id}\"]");
    let message = wait_for(browser, &line).await;
    assert_eq!(
        message.attr("data-user").await.expect("attr").as_deref(),
        Some("alice")
    );
    assert_eq!(text_of(browser, &format!("{line} .text")).await, hostile);
    assert!(browser
        .find_all(Locator::Css("#messages b, #messages img"))
        .await
        .expect("find")
        .is_empty());

    // Mute Alice from her message: the server refuses her next message with `muted`.
    click(browser, &format!("{line} [data-action=\"mute\"]")).await;
    wait_status(browser, "muted alice in chan:lobby until").await;
    let refused = alice
        .request("chat.send", json!({ "room": ROOM, "text": "am I muted?" }))
        .await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["err"]["code"], "muted", "{refused}");
    let left = refused["err"]["retry_ms"].as_u64().expect("retry_ms");
    assert!((3_500_000..=3_600_000).contains(&left), "retry_ms {left}");

    // The audit log shows the mute (and the report's handling).
    let entry = wait_for(
        browser,
        "#audit [data-audit-action=\"mute\"][data-target=\"alice\"]",
    )
    .await;
    let entry = entry.text().await.expect("text");
    assert!(
        entry.contains("Mia mute alice in chan:lobby (1h)"),
        "{entry:?}"
    );
    wait_for(browser, "#audit [data-audit-action=\"resolve\"]").await;

    // Her penalty history has the warning from the report.
    click(browser, &format!("{line} [data-action=\"history\"]")).await;
    let warning = text_of(
        browser,
        "#penalties[data-user=\"alice\"] [data-kind=\"warning\"]",
    )
    .await;
    assert!(
        warning.contains(&format!("report #{report}")),
        "{warning:?}"
    );

    // Slow mode from the modes form; the room's members are told.
    let slow = wait_for(browser, "#mode-slow").await;
    slow.clear().await.expect("clear");
    slow.send_keys("5").await.expect("type");
    click(browser, "#mode-apply").await;
    wait_status(
        browser,
        "chan:lobby: slow 5 s, members only false, panic false",
    )
    .await;
    let mode = alice.next_event("room.mode").await;
    assert_eq!(mode["d"]["slow_ms"], 5000, "{mode}");

    // CONSOLE_SCREENSHOT=page.png keeps a picture of the console at this point.
    if let Some(path) = std::env::var_os("CONSOLE_SCREENSHOT") {
        let png = browser.screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write the screenshot");
    }

    // Delete the message: it leaves the console, and Alice's client is told.
    click(browser, &format!("{line} [data-action=\"delete\"]")).await;
    wait_gone(browser, &line).await;
    let deleted = alice.next_event("chat.deleted").await;
    assert_eq!(deleted["d"]["id"].as_u64(), Some(id), "{deleted}");
}
