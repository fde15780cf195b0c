//! crossbeam-queue's `ArrayQueue`: a bounded lock-free ring buffer, allocated once. The
//! bounded baseline: `push` refuses when full and hands the value back.

use crossbeam_queue::ArrayQueue;
use reclaim_core::{Backend, BuildError, Config, Consumers, Info, Item, ItemOrder};

use crate::{Baseline, SharedCollection};

/// Slots when the configuration gives no capacity.
pub const DEFAULT_CAPACITY: usize = 4096;

impl<T: Send> SharedCollection<T> for ArrayQueue<T> {
    type Backend = ArrayQueueBackend;

    fn build(config: &Config) -> Result<Self, BuildError> {
        match config.capacity.unwrap_or(DEFAULT_CAPACITY) {
            // `ArrayQueue::new` panics on zero; a bad setting is an error, not a crash.
            0 => Err(BuildError::InvalidConfig {
                backend: "arrayqueue",
                reason: "capacity must be at least 1".into(),
            }),
            capacity => Ok(ArrayQueue::new(capacity)),
        }
    }

    fn push(&self, value: T) -> Result<(), T> {
        ArrayQueue::push(self, value)
    }

    fn pop(&self) -> Option<T> {
        ArrayQueue::pop(self)
    }
}

/// The registry's marker for crossbeam-queue's `ArrayQueue`.
#[derive(Debug)]
pub enum ArrayQueueBackend {}

impl Backend for ArrayQueueBackend {
    const INFO: Info = Info {
        structure: "arrayqueue",
        scheme: "prealloc",
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: true,
        summary: "crossbeam-queue ArrayQueue: bounded lock-free ring, allocated once, nothing to reclaim",
        settings: "4096 slots (the default capacity), allocated once",
        knobs: &[],
    };
    type Container<T: Item> = Baseline<ArrayQueue<T>>;
}
