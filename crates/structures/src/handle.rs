//! The handle every scheme-generic structure hands out: the structure plus the thread's
//! registration with the structure's reclamation domain.

use reclaim_core::{BuildError, Config, Handle};
use reclaim_smr::Scheme;

/// A domain of scheme `S` for the structure named `backend`, built with `config`: with its
/// [`scheme_setting`](Config::scheme_setting) applied, or refused as an invalid
/// configuration of `backend` when `S` has no such knob or the value is out of range.
pub(crate) fn scheme_domain<S: Scheme>(
    backend: &'static str,
    config: &Config,
) -> Result<S::Domain, BuildError> {
    S::new_domain_with(config.scheme_setting.as_ref())
        .map_err(|reason| BuildError::InvalidConfig { backend, reason })
}

/// A lock-free structure whose operations take the calling thread's scheme registration.
///
/// # Safety
///
/// [`domain`](LockFree::domain) returns the same domain on every call for the structure's
/// whole life, and it is the domain the structure's operations retire into and protect
/// in. [`SchemeHandle`] registers a thread with whatever `domain()` returns once, and
/// calls `push` and `pop` with that registration from then on, relying on it to be the
/// right one: a structure that handed out a second domain would have nodes retired in one
/// domain while protected only in another, and freed under a reader.
///
/// A structure that stores its domain in a field and returns a reference to it meets
/// this; the trait is `unsafe` so that an implementation has to say so:
///
/// ```compile_fail,E0200
/// use reclaim_smr::{Leak, Scheme};
/// use reclaim_structures::LockFree;
///
/// struct Bag(<Leak as Scheme>::Domain);
///
/// impl LockFree<u64, Leak> for Bag {
///     const SLOTS: usize = 1;
///     fn domain(&self) -> &<Leak as Scheme>::Domain {
///         &self.0
///     }
///     unsafe fn push(&self, _: &mut <Leak as Scheme>::Local<'_>, _: u64) {}
///     unsafe fn pop(&self, _: &mut <Leak as Scheme>::Local<'_>) -> Option<u64> {
///         None
///     }
///     unsafe fn stall(&self, _: &mut <Leak as Scheme>::Local<'_>, _: &mut dyn FnMut()) {}
/// }
/// ```
pub unsafe trait LockFree<T, S: Scheme>: Sync {
    /// The most pointers one operation protects at once (hazard slots per thread).
    const SLOTS: usize;

    /// The structure's reclamation domain: the same one on every call (the trait's
    /// safety contract).
    fn domain(&self) -> &S::Domain;

    /// Adds a value.
    ///
    /// # Safety
    /// `local` was registered with [`self.domain()`](LockFree::domain). A registration with
    /// another domain would publish protections this structure's reclamation never looks
    /// at. [`SchemeHandle`], the safe way in, registers with the right domain.
    unsafe fn push(&self, local: &mut S::Local<'_>, value: T);

    /// Removes a value, or `None` if the structure was seen empty.
    ///
    /// # Safety
    /// As for [`push`](LockFree::push).
    unsafe fn pop(&self, local: &mut S::Local<'_>) -> Option<T>;

    /// Calls `wait` inside an operation: pinned, with the front node protected, as a pop
    /// descheduled between its protected load and its compare-and-swap would be.
    ///
    /// # Safety
    /// As for [`push`](LockFree::push).
    unsafe fn stall(&self, local: &mut S::Local<'_>, wait: &mut dyn FnMut());
}

/// One thread's access to a scheme-generic structure.
#[derive(Debug)]
pub struct SchemeHandle<'c, C, S: Scheme> {
    structure: &'c C,
    local: S::Local<'c>,
}

impl<'c, C, S: Scheme> SchemeHandle<'c, C, S> {
    /// Registers the calling thread with `structure`'s domain, once: every operation
    /// through this handle relies on `domain()` not changing (the [`LockFree`] contract).
    pub fn new<T>(structure: &'c C) -> Self
    where
        C: LockFree<T, S>,
    {
        SchemeHandle {
            structure,
            local: S::register(structure.domain(), C::SLOTS),
        }
    }
}

impl<T, C: LockFree<T, S>, S: Scheme> Handle<T> for SchemeHandle<'_, C, S> {
    #[inline]
    fn push(&mut self, value: T) -> Result<(), T> {
        // SAFETY: `local` was registered with this structure's domain in `new`.
        unsafe { self.structure.push(&mut self.local, value) };
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        // SAFETY: as above.
        unsafe { self.structure.pop(&mut self.local) }
    }

    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        // SAFETY: as above.
        unsafe { self.structure.stall(&mut self.local, wait) };
        true
    }
}

/// Implements [`Container`](reclaim_core::Container) for a scheme-generic structure that is
/// [`LockFree`] and has a `with_domain(S::Domain)` constructor, registered as `$marker<S>`:
/// handles are [`SchemeHandle`]s, counters are the scheme's, and `new` builds the domain
/// with the configuration's scheme setting ([`scheme_domain`]).
macro_rules! scheme_container {
    ($structure:ident, $marker:ident) => {
        impl<T: Send, S: reclaim_smr::Scheme> reclaim_core::Container<T> for $structure<T, S> {
            type Handle<'c>
                = $crate::SchemeHandle<'c, Self, S>
            where
                Self: 'c;

            fn new(config: &reclaim_core::Config) -> Result<Self, reclaim_core::BuildError> {
                let backend = <$marker<S> as reclaim_core::Backend>::INFO.structure;
                Ok(Self::with_domain($crate::handle::scheme_domain::<S>(
                    backend, config,
                )?))
            }

            fn handle(&self) -> Self::Handle<'_> {
                $crate::SchemeHandle::new(self)
            }

            fn reclamation(&self) -> Option<reclaim_core::ReclaimStats> {
                Some(S::stats($crate::LockFree::<T, S>::domain(self)))
            }
        }
    };
}
pub(crate) use scheme_container;
