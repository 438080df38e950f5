//! The command runs with mimalloc giving freed memory back at once (main.rs), unless the
//! operator chose otherwise, in one process.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The purge delay `rapport serve` runs with, given `set` in its environment.
fn purge_delay_of_a_server(set: Option<&str>) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rapport"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir.path());
    cmd.env_remove("MIMALLOC_PURGE_DELAY").stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(v) = set {
        cmd.env("MIMALLOC_PURGE_DELAY", v);
    }
    let mut child = cmd.spawn().unwrap();
    let environ = format!("/proc/{}/environ", child.id());
    let started = Instant::now();
    let mut found = None;
    // The first image has no value until it starts itself again (same process id).
    while found.is_none() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
        let vars = std::fs::read(&environ).unwrap_or_default();
        found = vars
            .split(|b| *b == 0)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| v.strip_prefix("MIMALLOC_PURGE_DELAY=").map(str::to_string));
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(still_running, "the server stopped");
    found
}

#[test]
fn freed_memory_is_given_back_at_once_unless_the_operator_says_otherwise() {
    assert_eq!(purge_delay_of_a_server(None).as_deref(), Some("0"));
    assert_eq!(purge_delay_of_a_server(Some("250")).as_deref(), Some("250"));
}
