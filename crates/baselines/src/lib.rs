//! Baselines: the containers and sets a user would pick instead of a hand-made lock-free
//! structure (the sets in `sets.rs`, with why each is there).
//! One file each; they need no per-thread state, so they share [`Baseline`] — except the
//! disk-spilling channel's adapter (`hopper.rs`), whose handles each hold a sender.

mod array_queue;
mod hopper;
mod mutex_deque;
mod mutex_vec;
mod seg_queue;
mod sets;

pub use array_queue::ArrayQueueBackend;
pub use hopper::{Hopper, HopperBackend, HopperChannel};
pub use mutex_deque::{MutexDeque, MutexDequeBackend};
pub use mutex_vec::{MutexVec, MutexVecBackend};
pub use seg_queue::SegQueueBackend;
pub use sets::{
    DashSetBackend, MutexHashSet, PapayaBackend, RwLockBTreeSet, SetBaseline, SetBaselineHandle,
    SharedSet, SkipSet, SkipSetBackend,
};

use reclaim_core::{Backend, BuildError, Config, Container, Handle, ReclaimStats};

/// A collection every thread uses through a shared reference: the whole of a baseline
/// (a lock, or a library structure) with no per-thread state, which [`Baseline`] turns
/// into a registry container.
pub trait SharedCollection<T>: Send + Sync + Sized {
    /// The registry's marker, whose `Info` names the baseline in build errors.
    type Backend: Backend;

    /// Builds an empty container.
    fn build(config: &Config) -> Result<Self, BuildError>;
    /// Adds `value`, or hands it back if the container is full.
    fn push(&self, value: T) -> Result<(), T>;
    /// Removes a value, or `None` if the container was empty.
    fn pop(&self) -> Option<T>;
}

/// A [`SharedCollection`] as a registry [`Container`]: no per-thread state and no
/// reclamation counters (baselines free inline or on their own).
#[derive(Debug)]
pub struct Baseline<C>(C);

impl<T, C: SharedCollection<T>> Container<T> for Baseline<C> {
    type Handle<'c>
        = BaselineHandle<'c, C>
    where
        Self: 'c;

    /// Builds the collection; refuses a scheme setting (a baseline has no knobs).
    fn new(config: &Config) -> Result<Self, BuildError> {
        let info = C::Backend::INFO;
        config.refuse_scheme_setting(info.structure, info.scheme)?;
        C::build(config).map(Baseline)
    }

    fn handle(&self) -> BaselineHandle<'_, C> {
        BaselineHandle(&self.0)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        None
    }
}

/// The handle of a [`Baseline`]: a reference to the collection.
#[derive(Debug)]
pub struct BaselineHandle<'c, C>(&'c C);

impl<T, C: SharedCollection<T>> Handle<T> for BaselineHandle<'_, C> {
    #[inline]
    fn push(&mut self, value: T) -> Result<(), T> {
        self.0.push(value)
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
}
