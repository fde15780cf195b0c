//! `ebr`: epoch-based reclamation with crossbeam-epoch.
//!
//! A thread pins the current epoch for the length of an operation; a retired node is
//! freed once every pinned thread has moved two epochs past the one it was retired in.
//! Protection is free (any pointer loaded while pinned stays valid until unpin), the cost
//! is the pin itself (a fence) and batching garbage. One thread that stays pinned stops
//! all reclamation, so garbage is unbounded.
//!
//! Each structure owns a crossbeam `Collector` rather than sharing the global one: its
//! garbage is freed when the structure is dropped (so Miri sees no leak), and its counts
//! are its own.

use std::mem::ManuallyDrop;

use crossbeam_epoch::{Collector, LocalHandle};

use crate::counters::{self, Counters, Participant};
use crate::sync::{AtomicPtr, Ordering};
use crate::{Guard, Local, ReclaimStats, Scheme};

/// Epoch-based reclamation (crossbeam-epoch, one collector per structure).
#[derive(Debug)]
pub enum Ebr {}

// SAFETY: a guard pins crossbeam-epoch's participant for its whole life, and a node
// retired while any participant is pinned is freed only after every such pin has ended
// (two epoch advances), so whatever was reachable during the pin outlives the guard.
unsafe impl crate::PinProtects for Ebr {}

impl Scheme for Ebr {
    const NAME: &'static str = "ebr";
    const SUMMARY: &'static str = "epoch-based (crossbeam-epoch): cheap protection, garbage unbounded if a thread stays pinned";
    const SETTINGS: &'static str = "crossbeam-epoch 0.9 defaults, one collector per structure: \
        thread-local bags of 64 (4 under Miri), epoch advance tried every 128 pins, \
        8 bags collected per try";
    type Domain = EbrDomain;
    type Local<'d> = EbrLocal<'d>;

    fn new_domain() -> EbrDomain {
        EbrDomain {
            collector: ManuallyDrop::new(Collector::new()),
            counters: Counters::default(),
        }
    }

    fn register(domain: &EbrDomain, _slots: usize) -> EbrLocal<'_> {
        EbrLocal {
            handle: ManuallyDrop::new(domain.collector.register()),
            participant: domain.counters.join(),
        }
    }

    fn stats(domain: &EbrDomain) -> ReclaimStats {
        domain.counters.stats()
    }
}

/// A structure's collector and counters.
#[derive(Debug)]
pub struct EbrDomain {
    /// Dropped by hand before `counters`, counting in its teardown shard.
    collector: ManuallyDrop<Collector>,
    counters: Counters,
}

impl Drop for EbrDomain {
    fn drop(&mut self) {
        let collector = &mut self.collector;
        // SAFETY: dropped once, here; the field is not used afterwards. Every local borrowed
        // the domain and is gone, so this is the collector's last reference and dropping it
        // runs every deferred free, counted in the teardown shard.
        self.counters
            .teardown(|| unsafe { ManuallyDrop::drop(collector) });
    }
}

/// One thread's registration with the collector.
#[derive(Debug)]
pub struct EbrLocal<'d> {
    /// Dropped by hand, counting in the participant's shard: unregistering pins once more
    /// and may run deferred frees.
    handle: ManuallyDrop<LocalHandle>,
    participant: Participant<'d>,
}

impl Drop for EbrLocal<'_> {
    fn drop(&mut self) {
        let handle = &mut self.handle;
        // SAFETY: dropped once, here; the field is not used afterwards.
        self.participant
            .counting(|| unsafe { ManuallyDrop::drop(handle) });
    }
}

impl Local for EbrLocal<'_> {
    type Guard<'l>
        = EbrGuard<'l>
    where
        Self: 'l;

    fn pin(&mut self) -> EbrGuard<'_> {
        // Counting: crossbeam-epoch runs deferred frees inside `pin`.
        let handle = &self.handle;
        EbrGuard {
            guard: self.participant.counting(|| handle.pin()),
            participant: &self.participant,
        }
    }
}

/// A pinned operation.
///
/// Unpinning runs outside any counting call: crossbeam-epoch 0.9 frees deferred objects
/// when a thread pins (or flushes, or unregisters), never when it unpins while its handle
/// lives — and the guard borrows the handle. Should a later version free there, the
/// frees would be counted as stray (`counters::stray_frees`), which the tests keep at 0,
/// not lost. Leaving the bracket out keeps a pin and unpin to the two thread-local
/// accesses they cost before frees were counted through closures.
#[derive(Debug)]
pub struct EbrGuard<'l> {
    guard: crossbeam_epoch::Guard,
    participant: &'l Participant<'l>,
}

// SAFETY: while `guard` is pinned, no object deferred through this collector after the
// pin began is freed; the protocol retires a node only once it is unreachable, so any
// pointer loaded from the structure during the pin stays valid until the guard drops.
unsafe impl Guard for EbrGuard<'_> {
    fn protect<T>(&mut self, _slot: usize, src: &AtomicPtr<T>) -> *mut T {
        // Acquire: the node's contents were written before the Release that published it.
        src.load(Ordering::Acquire)
    }

    fn protect_from<T, A>(&mut self, _: usize, _: *mut T, _: &AtomicPtr<A>, _: *mut A) -> bool {
        // Pinned before `ptr` was read: whatever it points to cannot be freed before unpin.
        true
    }

    unsafe fn retire<T: Send>(&mut self, ptr: *mut T) {
        self.participant.note_retired();
        let guard = &self.guard;
        // Counting: a full bag is pushed to the collector here, and a later crossbeam-epoch
        // may collect while doing so.
        self.participant.counting(|| {
            // SAFETY: the closure frees a node that is unreachable (caller's contract) only
            // after every thread pinned now has unpinned. It captures a raw pointer only,
            // and the collector runs it before the domain (which owns the collector) is
            // gone.
            unsafe {
                guard.defer_unchecked(move || {
                    drop(Box::from_raw(ptr));
                    counters::note_freed();
                });
            }
        });
    }
}
