//! The set family: concurrent sets of `u64` keys, the read-mostly half of the comparison.
//!
//! Where containers move values through a structure, a set keeps keys and answers
//! questions about them, and most of its operations only read: this is where reclamation
//! schemes part ways (a hazard pointer per node visited, an epoch per operation, a shared
//! count per hop). The traits mirror the container family's: [`SetBackend`] is the
//! registry's marker, [`ConcurrentSet`] the shared structure, [`SetHandle`] one thread's
//! access (its hazard pointers or epoch registration).
//!
//! Keys are `u64`: what the research harnesses measure sets with, and what lets every run
//! check itself with a count and a key sum.

use crate::{BuildError, Config, ReclaimStats};

/// A registered set backend: its static facts and the set it builds.
///
/// Implementors are marker types (`HmListBackend<Ebr>`); they are never built.
pub trait SetBackend: 'static {
    /// What the backend is, for listings and result files.
    const INFO: SetInfo;

    /// The set.
    type Set: ConcurrentSet;
}

/// What a set backend is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetInfo {
    /// The structure: `"hmlist"`, `"hashmap"`, … Rows group by it.
    pub structure: &'static str,
    /// The reclamation scheme (`"leak"`, `"ebr"`, `"hp"`, …), or for baselines how they
    /// free: `"lock"` or `"internal"`.
    pub scheme: &'static str,
    /// Whether the keys are kept in order (a list, a skip list, a tree) or hashed.
    pub ordered: bool,
    /// One line for `list`.
    pub summary: &'static str,
    /// The scheme's tuning in words, for result rows.
    pub settings: &'static str,
    /// The scheme's tuning knobs, as [`Info::knobs`](crate::Info::knobs).
    pub knobs: &'static [crate::Knob],
}

/// The shared set: built once, used by every thread through its own handle.
pub trait ConcurrentSet: Send + Sync + Sized {
    /// One thread's access.
    type Handle<'s>: SetHandle
    where
        Self: 's;

    /// An empty set built with `config`.
    ///
    /// # Errors
    /// The configuration does not suit the set.
    fn new(config: &Config) -> Result<Self, BuildError>;

    /// A handle for the calling thread (registration with the scheme happens here, never
    /// in a measured region).
    fn handle(&self) -> Self::Handle<'_>;

    /// What the reclamation scheme has retired and freed so far; `None` for sets without
    /// one.
    fn reclamation(&self) -> Option<ReclaimStats>;
}

/// One thread's access to a [`ConcurrentSet`].
pub trait SetHandle {
    /// Adds `key`; `false` if it was there already.
    fn insert(&mut self, key: u64) -> bool;

    /// Removes `key`; `false` if it was not there.
    fn remove(&mut self, key: u64) -> bool;

    /// Whether `key` is in the set.
    fn contains(&mut self, key: u64) -> bool;

    /// How many nodes the most recent `insert`, `remove` or `contains` of this handle
    /// passed: the nodes read by the search that decided it (its last pass, if it started
    /// over), on every level for a skip list, so a node met on two levels counts twice.
    /// Work an operation does after it is decided (a remove's second search to unlink
    /// its node) is not counted. `Some(0)` before the handle's first operation.
    ///
    /// A set whose search counts its nodes anyway keeps the count of the last operation
    /// in its handle (a plain field written once an operation), so the harness can read
    /// it now and then without costing the operations anything. `None` for sets that
    /// cannot see how far their operations went: the baselines, whose locks and library
    /// structures do not say.
    fn visited(&self) -> Option<u64> {
        None
    }

    /// Reads the whole set in one read-side critical section — one epoch pin, hazard
    /// pointers moved hand over hand from the first node to the last, one lock held — as
    /// a long-running reader (an iterator, a snapshot, a report) does. Returns the number
    /// of nodes it passed, or `None` for sets that cannot walk.
    fn walk(&mut self) -> Option<u64> {
        None
    }

    /// Enters an operation and stays inside it, holding what the scheme protects, while
    /// `wait` runs: a reader that does not leave. Returns `false` (after running `wait`)
    /// for sets with nothing to hold.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        wait();
        false
    }
}
