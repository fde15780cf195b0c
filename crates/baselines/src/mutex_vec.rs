//! `Mutex<Vec<T>>` as a stack: what most code reaches for first.

use std::sync::{Mutex, PoisonError};

use reclaim_core::{Backend, BuildError, Config, Consumers, Info, Item, ItemOrder};

use crate::{Baseline, SharedCollection};

/// A stack behind one mutex.
#[derive(Debug)]
pub struct MutexVec<T>(Mutex<Vec<T>>);

impl<T: Send> SharedCollection<T> for MutexVec<T> {
    type Backend = MutexVecBackend;

    fn build(_: &Config) -> Result<Self, BuildError> {
        Ok(MutexVec(Mutex::default()))
    }

    fn push(&self, value: T) -> Result<(), T> {
        // A poisoned lock only means another thread panicked while holding it; `Vec::push`
        // and `Vec::pop` leave the vector consistent, so keep going.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(value);
        Ok(())
    }

    fn pop(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }
}

/// The registry's marker for [`MutexVec`].
#[derive(Debug)]
pub enum MutexVecBackend {}

impl Backend for MutexVecBackend {
    const INFO: Info = Info {
        structure: "mutex-vec",
        scheme: "lock",
        ordering: ItemOrder::Lifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "std Mutex<Vec>: a stack behind one lock, freed inline",
        settings: "std Mutex, no preallocation",
        knobs: &[],
    };
    type Container<T: Item> = Baseline<MutexVec<T>>;
}
