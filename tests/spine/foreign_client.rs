//! A client written from the protocol specification alone, in another language: runs the Python
//! smoke script (`clients/python/smoke.py`) against a live server, once per codec.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::helpers::TestServer;

const INSTALL: &str =
    "run `python3 -m pip install -r clients/python/requirements.txt` (from the repository root)";

fn python_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join("python")
}

/// Fails (never skips) when python3 or the client's packages are missing.
async fn require_python() {
    let output = Command::new("python3")
        .args(["-c", "import websockets, msgpack"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3, then {INSTALL}"));
    assert!(
        output.status.success(),
        "python3 lacks the client's packages: {INSTALL}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn python_client_passes_the_smoke_test_in_both_codecs() {
    require_python().await;
    let server = TestServer::start().await;
    let script = python_dir().join("smoke.py");
    for codec in ["json", "msgpack"] {
        let room = format!("chan:foreign-{codec}");
        let run = Command::new("python3")
            .arg(&script)
            .args(["--url", &server.url()])
            .args(["--token-a", &server.token("py_ada")])
            .args(["--token-b", &server.token("py_bob")])
            .args(["--codec", codec])
            .args(["--room", &room])
            .current_dir(python_dir())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .unwrap_or_else(|_| panic!("smoke.py ({codec}) did not finish within 120 s"))
            .unwrap_or_else(|e| panic!("cannot run python3 ({e}): {INSTALL}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("--- smoke.py ({codec}) ---\n{stdout}{stderr}");
        assert!(
            output.status.success(),
            "smoke.py ({codec}) exited with {}{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status,
            if output.status.code() == Some(2) { format!(": {INSTALL}") } else { String::new() },
        );
        assert!(
            stdout.contains(" passed, 0 failed"),
            "smoke.py ({codec}) printed no summary:\n{stdout}\n{stderr}"
        );
    }
}
