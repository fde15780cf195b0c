//! `Mutex<VecDeque<T>>` as a queue.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use reclaim_core::{Backend, BuildError, Config, Consumers, Info, Item, ItemOrder};

use crate::{Baseline, SharedCollection};

/// A FIFO queue behind one mutex.
#[derive(Debug)]
pub struct MutexDeque<T>(Mutex<VecDeque<T>>);

impl<T: Send> SharedCollection<T> for MutexDeque<T> {
    type Backend = MutexDequeBackend;

    fn build(_: &Config) -> Result<Self, BuildError> {
        Ok(MutexDeque(Mutex::default()))
    }

    fn push(&self, value: T) -> Result<(), T> {
        // Poisoning leaves a `VecDeque` consistent: see `MutexVec`.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(value);
        Ok(())
    }

    fn pop(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

/// The registry's marker for [`MutexDeque`].
#[derive(Debug)]
pub enum MutexDequeBackend {}

impl Backend for MutexDequeBackend {
    const INFO: Info = Info {
        structure: "mutex-deque",
        scheme: "lock",
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "std Mutex<VecDeque>: a queue behind one lock, freed inline",
        settings: "std Mutex, no preallocation",
        knobs: &[],
    };
    type Container<T: Item> = Baseline<MutexDeque<T>>;
}
