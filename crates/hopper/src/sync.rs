//! What the channel synchronizes with: std's and crossbeam's primitives, or loom's when
//! built with `--cfg loom`, so the same channel code is model-checked (`tests/loom.rs`).
//!
//! The memory queue (`queue/`) is the channel's own lock-free code, so it is built from
//! these re-exports too and runs under loom as it is, with a block of two slots there so
//! that a model of a few items crosses block boundaries. The receiver parks on a loom
//! condition variable under loom. What loom then explores is the channel's own protocol
//! — the queue's slot claims, block hand-over and recycling, the `spilled` flag, the
//! receiver's claim under the writer's lock, the sleep flag and its fences, the sender
//! count — with every access to a queue slot checked for a race.
//!
//! What loom cannot check: it models `SeqCst` loads, stores and read-modify-writes as
//! acquire/release, and only `SeqCst` fences as sequentially consistent. The sender's half
//! of the wake-up handshake is a `SeqCst` claim and a `SeqCst` load of the sleep flag,
//! with no fence; under loom a fence stands in for them (`Shared::wake_after_push`). So
//! the models check the handshake with that fence, and the build without it rests on the
//! C++20 argument given there.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, fence,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, fence,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::sync::{Parker, Unparker};

#[cfg(loom)]
pub(crate) use self::model::{Backoff, Parker, Unparker};

/// Lets another thread run: a receiver waiting for a push already under way (claimed,
/// not yet written) must not spin in place, least of all under loom, which would explore
/// the spin for ever.
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

/// `std::cell::UnsafeCell` with loom's closure API, so that under loom every access to a
/// queue slot is tracked and one not ordered by happens-before is reported. (The same
/// shim as `reclaim_smr::sync::UnsafeCell`; the channel does not depend on that crate.)
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer for reading the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a pointer for writing the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
mod model {
    use loom::sync::{Arc, Condvar, Mutex};

    /// crossbeam's `Backoff` as loom must see it: every wait yields to loom's scheduler
    /// (a spin loop would be explored for ever), and a wait is "completed" at once, so the
    /// receiver goes straight to its claim-or-park step, the one with a protocol to check.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }

        pub(crate) fn spin(&self) {}

        pub(crate) fn reset(&self) {}

        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }

        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }

    /// A token, as crossbeam's `Parker` and std's `park` have: `unpark` before `park`
    /// makes that `park` return at once.
    #[derive(Debug, Default)]
    struct Token {
        set: Mutex<bool>,
        changed: Condvar,
    }

    #[derive(Debug)]
    pub(crate) struct Parker(Arc<Token>);

    #[derive(Clone, Debug)]
    pub(crate) struct Unparker(Arc<Token>);

    impl Parker {
        pub(crate) fn new() -> Self {
            Parker(Arc::new(Token {
                set: Mutex::new(false),
                changed: Condvar::new(),
            }))
        }

        pub(crate) fn unparker(&self) -> Unparker {
            Unparker(Arc::clone(&self.0))
        }

        pub(crate) fn park(&self) {
            let mut set = self.0.set.lock().unwrap();
            while !*set {
                set = self.0.changed.wait(set).unwrap();
            }
            *set = false;
        }
    }

    impl Unparker {
        pub(crate) fn unpark(&self) {
            *self.0.set.lock().unwrap() = true;
            self.0.changed.notify_one();
        }
    }
}
