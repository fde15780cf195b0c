//! The handle of a circ structure: the structure and the thread's participation in its
//! retire counters.

use reclaim_core::{Handle, SetHandle};
use reclaim_smr::counters::Participant;

use super::domain::CircDomain;

/// A circ structure's operations. Each enters its own critical section (`circ::cs()`);
/// frees run wherever circ collects and count themselves ([`CircDomain`]).
pub trait CircOps<T>: Sync {
    /// The structure's domain.
    fn domain(&self) -> &CircDomain;

    /// Adds a value.
    fn push(&self, value: T);

    /// Removes a value, counting the node it unlinks as retired by `participant`.
    fn pop(&self, participant: &Participant<'_>) -> Option<T>;

    /// Calls `wait` inside a critical section holding a `Snapshot` of the front node, as a
    /// pop descheduled after its first load would: no epoch advances meanwhile, in the
    /// whole process (circ's collector is global), so nothing retired after the stall
    /// began is destroyed until it ends.
    fn stall(&self, wait: &mut dyn FnMut());
}

/// One thread's access to a circ structure.
#[derive(Debug)]
pub struct CircHandle<'c, S> {
    structure: &'c S,
    participant: Participant<'c>,
}

impl<'c, S> CircHandle<'c, S> {
    /// Registers the calling thread with `structure`'s counters. circ registers the thread
    /// with its collector by itself, at its first critical section.
    pub fn new<T>(structure: &'c S) -> Self
    where
        S: CircOps<T>,
    {
        CircHandle {
            structure,
            participant: structure.domain().counters().join(),
        }
    }
}

impl<T, S: CircOps<T>> Handle<T> for CircHandle<'_, S> {
    #[inline]
    fn push(&mut self, value: T) -> Result<(), T> {
        self.structure.push(value);
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.structure.pop(&self.participant)
    }

    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        self.structure.stall(wait);
        true
    }
}

impl<S> Drop for CircHandle<'_, S> {
    fn drop(&mut self) {
        // The thread's deferred destructions go to the global queue now, where any thread
        // that collects (the structure's teardown included) can run them, rather than wait
        // in this thread's bag until it fills or the thread exits.
        CircDomain::collect_once();
    }
}

/// A circ set's operations, the set family's [`CircOps`]. Each enters its own critical
/// section.
pub trait CircSetOps: Sync {
    /// The set's domain.
    fn domain(&self) -> &CircDomain;

    /// Adds `key`; `false` if it was there already. Each operation sets `visited` to the
    /// nodes the search that decided it passed ([`SetHandle::visited`]).
    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Removes `key`; `false` if it was not there. Nodes the operation unlinks count as
    /// retired by `participant`.
    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Whether `key` is in the set (a search unlinks removed nodes too, so it retires).
    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Walks the whole set in one critical section; the number of nodes passed.
    fn walk(&self, participant: &Participant<'_>) -> u64;

    /// Calls `wait` inside a critical section holding a `Snapshot` of a first node, as a
    /// search descheduled after its first load would.
    fn stall(&self, wait: &mut dyn FnMut());
}

/// One thread's access to a circ set.
#[derive(Debug)]
pub struct CircSetHandle<'s, S> {
    set: &'s S,
    participant: Participant<'s>,
    /// Nodes the last operation's search passed ([`SetHandle::visited`]).
    visited: u64,
}

impl<'s, S: CircSetOps> CircSetHandle<'s, S> {
    /// Registers the calling thread with `set`'s counters.
    pub fn new(set: &'s S) -> Self {
        CircSetHandle {
            set,
            participant: set.domain().counters().join(),
            visited: 0,
        }
    }
}

impl<S: CircSetOps> SetHandle for CircSetHandle<'_, S> {
    #[inline]
    fn insert(&mut self, key: u64) -> bool {
        self.set.insert(key, &self.participant, &mut self.visited)
    }

    #[inline]
    fn remove(&mut self, key: u64) -> bool {
        self.set.remove(key, &self.participant, &mut self.visited)
    }

    #[inline]
    fn contains(&mut self, key: u64) -> bool {
        self.set.contains(key, &self.participant, &mut self.visited)
    }

    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    fn walk(&mut self) -> Option<u64> {
        Some(self.set.walk(&self.participant))
    }

    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        self.set.stall(wait);
        true
    }
}

impl<S> Drop for CircSetHandle<'_, S> {
    fn drop(&mut self) {
        // As for a container's handle: this thread's deferred destructions go global.
        CircDomain::collect_once();
    }
}

/// Implements [`Container`](reclaim_core::Container) for a circ structure `$structure<T>`
/// that is `Default` and [`CircOps`] with its domain in a `domain` field, registered as
/// `$marker` (circ has no knobs: `new` refuses any scheme setting), and `Debug`.
macro_rules! circ_container {
    ($structure:ident, $marker:ident) => {
        impl<T> std::fmt::Debug for $structure<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($structure))
                    .field("scheme", &$crate::circ::domain::NAME)
                    .finish_non_exhaustive()
            }
        }

        impl<T: Send + 'static> reclaim_core::Container<T> for $structure<T> {
            type Handle<'c>
                = $crate::circ::CircHandle<'c, Self>
            where
                Self: 'c;

            fn new(config: &reclaim_core::Config) -> Result<Self, reclaim_core::BuildError> {
                let info = <$marker as reclaim_core::Backend>::INFO;
                config.refuse_scheme_setting(info.structure, info.scheme)?;
                Ok(Self::default())
            }

            fn handle(&self) -> Self::Handle<'_> {
                $crate::circ::CircHandle::new(self)
            }

            fn reclamation(&self) -> Option<reclaim_core::ReclaimStats> {
                Some(self.domain.stats())
            }
        }
    };
}
pub(crate) use circ_container;
