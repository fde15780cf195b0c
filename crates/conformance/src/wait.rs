//! Waiting for something another thread does, with a hang guard.

use std::thread;
use std::time::{Duration, Instant};

/// Waits until `done` returns true, polling every millisecond; panics, naming `what`,
/// after a deadline instead of hanging.
///
/// A guard against a hang, not a timing: the deadline is generous (60 s), and more so
/// under Miri (600 s), whose threads run a hundred times slower and slower still on a
/// loaded machine. Nothing that waits here may assert how long anything took.
pub fn wait_for(what: &str, done: impl Fn() -> bool) {
    let patience = Duration::from_secs(if cfg!(miri) { 600 } else { 60 });
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}
