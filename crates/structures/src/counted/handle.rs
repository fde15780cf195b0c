//! The handle of a counted structure: the structure and the thread's participation in its
//! counters.

use reclaim_core::{BuildError, Config, Handle, SetHandle};
use reclaim_smr::CountedScheme;
use reclaim_smr::counters::Participant;

/// A domain of counted scheme `C` for the structure named `backend`, built with `config`:
/// with its [`scheme_setting`](Config::scheme_setting) applied, or refused as an invalid
/// configuration of `backend` when `C` has no such knob or the value is out of range.
pub(crate) fn counted_domain<C: CountedScheme>(
    backend: &'static str,
    config: &Config,
) -> Result<C::Domain, BuildError> {
    C::new_domain_with(config.scheme_setting.as_ref())
        .map_err(|reason| BuildError::InvalidConfig { backend, reason })
}

/// A counted structure's operations. Each runs inside the caller's
/// [`counting`](Participant::counting) call, so frees it triggers (under `rc`) count in the
/// caller's shard.
pub trait CountedOps<T>: Sync {
    /// The counted scheme under the structure.
    type Scheme: CountedScheme;

    /// The structure's domain.
    fn domain(&self) -> &<Self::Scheme as CountedScheme>::Domain;

    /// Adds a value.
    fn push(&self, value: T);

    /// Removes a value, counting the node it unlinks as retired by `participant`.
    fn pop(&self, participant: &Participant<'_>) -> Option<T>;

    /// Calls `wait` while holding a counted reference to the front node, as a pop
    /// descheduled after its protected load would. The node's `next` link owns a count
    /// on its successor, so everything reachable from it stays alive too.
    fn stall(&self, wait: &mut dyn FnMut());
}

/// [`CountedOps::stall`] of a structure whose counted reference to its front node is
/// `front`: holds it while `wait` runs, then drops it and tells the scheme its references
/// are gone.
pub(crate) fn stall_holding<C: CountedScheme, R>(
    domain: &C::Domain,
    front: R,
    wait: &mut dyn FnMut(),
) {
    wait();
    drop(front);
    C::released(domain);
}

/// One thread's access to a counted structure.
#[derive(Debug)]
pub struct CountedHandle<'c, S> {
    structure: &'c S,
    participant: Participant<'c>,
}

impl<'c, S> CountedHandle<'c, S> {
    /// Registers the calling thread with `structure`'s counters.
    pub fn new<T>(structure: &'c S) -> Self
    where
        S: CountedOps<T>,
    {
        CountedHandle {
            structure,
            participant: S::Scheme::counters(structure.domain()).join(),
        }
    }
}

impl<T, S: CountedOps<T>> Handle<T> for CountedHandle<'_, S> {
    #[inline]
    fn push(&mut self, value: T) -> Result<(), T> {
        self.participant.counting(|| self.structure.push(value));
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.participant
            .counting(|| self.structure.pop(&self.participant))
    }

    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        self.participant.counting(|| self.structure.stall(wait));
        true
    }
}

/// A counted set's operations, the set family's [`CountedOps`]. Each runs inside the
/// caller's [`counting`](Participant::counting) call.
pub trait CountedSetOps: Sync {
    /// The counted scheme under the set.
    type Scheme: CountedScheme;

    /// The set's domain.
    fn domain(&self) -> &<Self::Scheme as CountedScheme>::Domain;

    /// Adds `key`; `false` if it was there already. Each operation sets `visited` to the
    /// nodes the search that decided it passed ([`SetHandle::visited`]).
    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Removes `key`; `false` if it was not there. Nodes the operation unlinks count as
    /// retired by `participant`.
    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Whether `key` is in the set (a search unlinks removed nodes too, so it retires).
    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool;

    /// Walks the whole set, a counted reference moved from node to node; the number of
    /// nodes passed.
    fn walk(&self, participant: &Participant<'_>) -> u64;

    /// Calls `wait` while holding a counted reference to a first node, as a search
    /// descheduled after its first load would.
    fn stall(&self, wait: &mut dyn FnMut());
}

/// One thread's access to a counted set.
#[derive(Debug)]
pub struct CountedSetHandle<'s, S> {
    set: &'s S,
    participant: Participant<'s>,
    /// Nodes the last operation's search passed ([`SetHandle::visited`]).
    visited: u64,
}

impl<'s, S: CountedSetOps> CountedSetHandle<'s, S> {
    /// Registers the calling thread with `set`'s counters.
    pub fn new(set: &'s S) -> Self {
        CountedSetHandle {
            set,
            participant: S::Scheme::counters(set.domain()).join(),
            visited: 0,
        }
    }
}

impl<S: CountedSetOps> SetHandle for CountedSetHandle<'_, S> {
    #[inline]
    fn insert(&mut self, key: u64) -> bool {
        self.participant
            .counting(|| self.set.insert(key, &self.participant, &mut self.visited))
    }

    #[inline]
    fn remove(&mut self, key: u64) -> bool {
        self.participant
            .counting(|| self.set.remove(key, &self.participant, &mut self.visited))
    }

    #[inline]
    fn contains(&mut self, key: u64) -> bool {
        self.participant
            .counting(|| self.set.contains(key, &self.participant, &mut self.visited))
    }

    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    fn walk(&mut self) -> Option<u64> {
        Some(
            self.participant
                .counting(|| self.set.walk(&self.participant)),
        )
    }

    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        self.participant.counting(|| self.set.stall(wait));
        true
    }
}

/// Implements [`Container`](reclaim_core::Container) for a counted structure
/// `$structure<T, C>` that is [`CountedOps`] and has a `with_domain(C::Domain)`
/// constructor, registered as `$marker<C>` (`new` builds the domain with the
/// configuration's scheme setting, [`counted_domain`]), and `Debug`: its name and scheme.
macro_rules! counted_container {
    ($structure:ident, $marker:ident) => {
        impl<T, C: reclaim_smr::CountedScheme> std::fmt::Debug for $structure<T, C> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($structure))
                    .field("scheme", &C::NAME)
                    .finish_non_exhaustive()
            }
        }

        impl<T: Send + 'static, C: reclaim_smr::CountedScheme> reclaim_core::Container<T>
            for $structure<T, C>
        {
            type Handle<'c>
                = $crate::counted::CountedHandle<'c, Self>
            where
                Self: 'c;

            fn new(config: &reclaim_core::Config) -> Result<Self, reclaim_core::BuildError> {
                let backend = <$marker<C> as reclaim_core::Backend>::INFO.structure;
                Ok(Self::with_domain(
                    $crate::counted::handle::counted_domain::<C>(backend, config)?,
                ))
            }

            fn handle(&self) -> Self::Handle<'_> {
                $crate::counted::CountedHandle::new(self)
            }

            fn reclamation(&self) -> Option<reclaim_core::ReclaimStats> {
                Some(C::stats(&self.domain))
            }
        }
    };
}
pub(crate) use counted_container;
