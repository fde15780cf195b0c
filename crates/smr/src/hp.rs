//! `hp`: hazard pointers with haphazard.
//!
//! Before dereferencing a shared pointer, a thread publishes it in one of its hazard
//! slots, issues a full fence and checks the pointer is still reachable; a retired node is
//! freed by a later scan that finds no hazard naming it. Garbage stays bounded however
//! long a thread stalls (it pins at most its own slots), at the price of a store-load
//! fence per protected pointer.
//!
//! Hazard pointers are acquired once per thread, at registration, and reused by every
//! operation — not `HazardPointer::new()` per operation, which would walk the domain's
//! record list each time. Each structure owns its domain, so its garbage is freed when it
//! is dropped and its hazard records are scanned by its own retires only.
//!
//! No knobs: the scan threshold is haphazard 0.1's private constant `RCOUNT_THRESHOLD`
//! (1000 retires pending, or twice the domain's hazard pointers if that is more), which no
//! function of the crate sets at run time, and neither is its 2 s scan period.

use std::mem::ManuallyDrop;
use std::ops::Deref;

use haphazard::raw::Pointer;
use haphazard::{Domain, HazardPointer};

use crate::counters::{self, Counters, Participant};
use crate::sync::{AtomicPtr, Ordering, fence};
use crate::{Guard, Local, ReclaimStats, Scheme};

/// Hazard pointers (haphazard, one domain per structure).
#[derive(Debug)]
pub enum Hp {}

/// The haphazard domain family of reclaim-bench structures. Each structure builds its own
/// `Domain<Family>`; hazard pointers and retires of one structure only ever use that
/// structure's domain, which the type system does not check across instances of the same
/// family — the structures' handles keep it so by borrowing their own domain.
#[derive(Debug)]
pub struct Family;

impl Scheme for Hp {
    const NAME: &'static str = "hp";
    const SUMMARY: &'static str =
        "hazard pointers (haphazard): bounded garbage, a fence per protected pointer";
    const SETTINGS: &'static str = "haphazard 0.1 defaults, one domain per structure, \
        hazard pointers reused per thread: scan once more than 1000 retires are pending \
        (or twice the domain's hazard pointers, if more), or at a retire 2 s after the last \
        scan (64-bit targets only)";
    type Domain = HpDomain;
    type Local<'d> = HpLocal<'d>;

    fn new_domain() -> HpDomain {
        HpDomain {
            domain: ManuallyDrop::new(Domain::new(&Family)),
            counters: Counters::default(),
        }
    }

    fn register(domain: &HpDomain, slots: usize) -> HpLocal<'_> {
        HpLocal {
            hazards: (0..slots)
                .map(|_| HazardPointer::new_in_domain(&domain.domain))
                .collect(),
            domain: &domain.domain,
            participant: domain.counters.join(),
        }
    }

    fn stats(domain: &HpDomain) -> ReclaimStats {
        domain.counters.stats()
    }
}

/// A structure's hazard-pointer domain and counters.
pub struct HpDomain {
    /// Dropped by hand before `counters`, counting in its teardown shard.
    domain: ManuallyDrop<Domain<Family>>,
    counters: Counters,
}

impl Drop for HpDomain {
    fn drop(&mut self) {
        let domain = &mut self.domain;
        // SAFETY: dropped once, here; the field is not used afterwards. Dropping the domain
        // frees every object still retired, counted in the teardown shard.
        self.counters
            .teardown(|| unsafe { ManuallyDrop::drop(domain) });
    }
}

/// One thread's hazard pointers, acquired once.
pub struct HpLocal<'d> {
    hazards: Vec<HazardPointer<'d, Family>>,
    domain: &'d Domain<Family>,
    participant: Participant<'d>,
}

impl<'d> Local for HpLocal<'d> {
    type Guard<'l>
        = HpGuard<'l, 'd>
    where
        Self: 'l;

    fn pin(&mut self) -> HpGuard<'_, 'd> {
        // Nothing to count here: haphazard frees only in `retire` and with the domain.
        HpGuard {
            hazards: &mut self.hazards,
            domain: self.domain,
            participant: &self.participant,
        }
    }
}

/// An operation under hazard pointers. Dropping it clears its hazards: outside an
/// operation a thread protects nothing.
pub struct HpGuard<'l, 'd> {
    hazards: &'l mut [HazardPointer<'d, Family>],
    domain: &'d Domain<Family>,
    participant: &'l Participant<'d>,
}

impl Drop for HpGuard<'_, '_> {
    fn drop(&mut self) {
        for hazard in self.hazards.iter_mut() {
            hazard.reset_protection();
        }
    }
}

// haphazard's types are not `Debug`: show what a reader can use.
impl std::fmt::Debug for HpDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpDomain")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for HpLocal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpLocal")
            .field("slots", &self.hazards.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for HpGuard<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpGuard")
            .field("slots", &self.hazards.len())
            .finish_non_exhaustive()
    }
}

/// A `Box<T>` whose drop counts a free; haphazard drops it when it reclaims the node.
struct Counted<T>(Box<T>);

impl<T> Deref for Counted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        counters::note_freed();
    }
}

// SAFETY: the same pointer round trip as `Box<T>` (haphazard's own impl): `into_raw` gives
// a pointer valid as `&mut T`, valid until `from_raw` takes it back, exactly once.
unsafe impl<T> Pointer<T> for Counted<T> {
    fn into_raw(self) -> *mut T {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the box is moved out exactly once.
        Box::into_raw(unsafe { std::ptr::read(&this.0) })
    }

    unsafe fn from_raw(ptr: *mut T) -> Self {
        // SAFETY: `ptr` came from `into_raw` (the trait's contract), i.e. from a `Box<T>`.
        Counted(unsafe { Box::from_raw(ptr) })
    }
}

// SAFETY: a pointer accepted by `protect`/`protect_from` is published in a hazard slot of
// this domain and was re-read from its source after a SeqCst fence: a scan that starts
// after the node was unlinked sees the hazard (haphazard's scan fences too), and the node
// stays allocated until the slot is reset (next use of the slot, or guard drop).
unsafe impl Guard for HpGuard<'_, '_> {
    fn protect<T>(&mut self, slot: usize, src: &AtomicPtr<T>) -> *mut T {
        // haphazard's loop: load, publish, fence, reload until stable.
        self.hazards[slot]
            .protect_ptr(src)
            .map_or(std::ptr::null_mut(), |(ptr, _)| ptr.as_ptr())
    }

    fn protect_from<T, A>(
        &mut self,
        slot: usize,
        ptr: *mut T,
        anchor: &AtomicPtr<A>,
        expected: *mut A,
    ) -> bool {
        let hazard = &mut self.hazards[slot];
        hazard.protect_raw(ptr);
        // Store-load fence: the hazard must be visible to reclaimers before we re-read the
        // anchor, or a reclaimer could miss it and free `ptr` after our check passed.
        fence(Ordering::SeqCst);
        if anchor.load(Ordering::Acquire) == expected {
            true
        } else {
            hazard.reset_protection();
            false
        }
    }

    unsafe fn retire<T: Send>(&mut self, ptr: *mut T) {
        self.participant.note_retired();
        let domain = self.domain;
        // Counting: a retire past the threshold scans and frees right here.
        self.participant.counting(|| {
            // SAFETY: `ptr` came from `Box::into_raw` (caller's contract), which is what
            // `Counted::from_raw` expects; it is unreachable, retired once, and every
            // hazard that could name it belongs to this domain.
            unsafe {
                domain.retire_ptr::<T, Counted<T>>(ptr);
            }
        });
    }
}
