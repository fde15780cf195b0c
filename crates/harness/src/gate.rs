//! The start barrier every run's threads wait at.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;

/// The start barrier: threads arrive and wait; the coordinator opens it once all have
/// arrived, or aborts it if a thread could not be started (a plain `Barrier` would leave
/// the started threads waiting forever for the one that never came).
#[derive(Debug, Default)]
pub(crate) struct Gate {
    arrived: AtomicUsize,
    state: AtomicU8,
}

// The gate starts at 0: waiting.
const OPEN: u8 = 1;
const ABORTED: u8 = 2;

impl Gate {
    /// Arrives and waits; `false` if the run was aborted.
    pub(crate) fn wait(&self) -> bool {
        self.arrived.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.state.load(Ordering::Acquire) {
                OPEN => return true,
                ABORTED => return false,
                _ => thread::yield_now(),
            }
        }
    }

    /// Waits for `threads` arrivals, then releases them all.
    pub(crate) fn open_for(&self, threads: usize) {
        self.wait_for(threads);
        self.open();
    }

    /// Waits until `threads` have arrived.
    pub(crate) fn wait_for(&self, threads: usize) {
        while self.arrived.load(Ordering::Acquire) < threads {
            thread::yield_now();
        }
    }

    /// Releases everyone who arrived, and anyone who arrives later.
    pub(crate) fn open(&self) {
        self.state.store(OPEN, Ordering::Release);
    }

    pub(crate) fn abort(&self) {
        self.state.store(ABORTED, Ordering::Release);
    }
}
