//! What the channel synchronizes with: std's and crossbeam's primitives, or loom's when
//! built with `--cfg loom`, so the same channel code is model-checked (`tests/loom.rs`).
//!
//! Under loom the memory queue is a mutex around a `VecDeque` (crossbeam's `SegQueue` is
//! not a loom model; both are linearizable FIFO queues, which is all the channel relies
//! on), and the receiver parks on a loom condition variable. What loom then explores is
//! the channel's own protocol: the `spilled` flag, the receiver's claim under the writer's
//! lock, the sleep flag and its fences, the sender count.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use crossbeam_queue::SegQueue as Queue;
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::sync::{Parker, Unparker};

#[cfg(loom)]
pub(crate) use self::model::{Parker, Queue, Unparker};

/// Lets another thread run: a receiver waiting for a push already under way (reserved,
/// not yet in the queue) must not spin in place, least of all under loom, which would
/// explore the spin for ever.
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

#[cfg(loom)]
mod model {
    use loom::sync::{Arc, Condvar, Mutex};
    use std::collections::VecDeque;

    /// A linearizable FIFO queue loom can see into.
    #[derive(Debug, Default)]
    pub(crate) struct Queue<T>(Mutex<VecDeque<T>>);

    impl<T> Queue<T> {
        pub(crate) fn new() -> Self {
            Queue(Mutex::new(VecDeque::new()))
        }

        pub(crate) fn push(&self, value: T) {
            self.0.lock().unwrap().push_back(value);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.0.lock().unwrap().pop_front()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
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
