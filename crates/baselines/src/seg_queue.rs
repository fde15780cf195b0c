//! crossbeam-queue's `SegQueue`: an unbounded lock-free queue of 31-slot blocks, each
//! block freed by the last reader to leave it (no epochs, no hazard pointers).

use crossbeam_queue::SegQueue;
use reclaim_core::{Backend, BuildError, Config, Consumers, Info, Item, ItemOrder};

use crate::{Baseline, SharedCollection};

impl<T: Send> SharedCollection<T> for SegQueue<T> {
    type Backend = SegQueueBackend;

    fn build(_: &Config) -> Result<Self, BuildError> {
        Ok(SegQueue::new())
    }

    fn push(&self, value: T) -> Result<(), T> {
        SegQueue::push(self, value);
        Ok(())
    }

    fn pop(&self) -> Option<T> {
        SegQueue::pop(self)
    }
}

/// The registry's marker for crossbeam-queue's `SegQueue`.
#[derive(Debug)]
pub enum SegQueueBackend {}

impl Backend for SegQueueBackend {
    const INFO: Info = Info {
        structure: "segqueue",
        scheme: "internal",
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "crossbeam-queue SegQueue: lock-free queue of blocks, reclaimed by its own counters",
        settings: "crossbeam-queue 0.3 defaults: 31-slot blocks",
        knobs: &[],
    };
    type Container<T: Item> = Baseline<SegQueue<T>>;
}
