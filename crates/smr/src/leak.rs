//! `leak`: no reclamation while the structure lives.
//!
//! The baseline without reclamation work: a retired node is never freed while the
//! structure is in use, so no protection is needed and ABA cannot happen (an address is
//! never handed out twice). It is not automatically the fastest: every push takes fresh
//! memory, paying page faults and cold cache lines where a reclaiming scheme reuses warm
//! lines, so its throughput is always read beside its memory growth.
//!
//! Retired nodes are remembered (a pointer and a drop function per node, in a per-thread
//! list) and freed when the domain is dropped, so that a long benchmark does not exhaust
//! the machine and tests stay leak-free under Miri. That bookkeeping is a vector push per
//! retire, with no synchronization.

use std::mem;
use std::sync::{Mutex, PoisonError};

use crate::counters::{self, Counters, Participant};
use crate::sync::{AtomicPtr, Ordering};
use crate::{Guard, Local, ReclaimStats, Scheme};

/// Never frees a retired node while the structure lives.
#[derive(Debug)]
pub enum Leak {}

// SAFETY: nothing retired is freed before the domain is dropped, which outlives every
// guard of it.
unsafe impl crate::PinProtects for Leak {}

impl Scheme for Leak {
    const NAME: &'static str = "leak";
    const SUMMARY: &'static str =
        "never frees while running (baseline: no reclamation work, fresh memory for every node)";
    const SETTINGS: &'static str = "frees everything when the structure is dropped";
    type Domain = LeakDomain;
    type Local<'d> = LeakLocal<'d>;

    fn new_domain() -> LeakDomain {
        LeakDomain::default()
    }

    fn register(domain: &LeakDomain, _slots: usize) -> LeakLocal<'_> {
        LeakLocal {
            domain,
            participant: domain.counters.join(),
            retired: Vec::new(),
        }
    }

    fn stats(domain: &LeakDomain) -> ReclaimStats {
        domain.counters.stats()
    }
}

/// A retired node: its address and how to free it.
struct Retired {
    ptr: *mut (),
    free: unsafe fn(*mut ()),
}

// SAFETY: a `Retired` is built only by `LeakGuard::retire::<T: Send>`, from a `Box<T>` that
// no thread can reach any more; freeing it on another thread drops a `T: Send` there.
unsafe impl Send for Retired {}

/// Drops the `Box<T>` behind an erased pointer.
///
/// # Safety
/// `ptr` came from `Box::<T>::into_raw` and is freed once.
unsafe fn free_box<T>(ptr: *mut ()) {
    // SAFETY: guaranteed by the caller.
    drop(unsafe { Box::from_raw(ptr.cast::<T>()) });
}

/// The nodes every departed thread retired, freed with the domain.
#[derive(Default)]
pub struct LeakDomain {
    retired: Mutex<Vec<Retired>>,
    counters: Counters,
}

impl std::fmt::Debug for LeakDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeakDomain")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Drop for LeakDomain {
    fn drop(&mut self) {
        let retired = mem::take(
            self.retired
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.counters.teardown(|| {
            for node in retired {
                // SAFETY: every entry was retired once (the `retire` contract) and nobody
                // can reach it: `&mut self` means no thread is registered any more.
                unsafe { (node.free)(node.ptr) };
                counters::note_freed();
            }
        });
    }
}

/// One thread's registration: the nodes it retired so far.
#[derive(Debug)]
pub struct LeakLocal<'d> {
    domain: &'d LeakDomain,
    participant: Participant<'d>,
    retired: Vec<Retired>,
}

impl std::fmt::Debug for Retired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Retired").field(&self.ptr).finish()
    }
}

impl Drop for LeakLocal<'_> {
    fn drop(&mut self) {
        let mut all = self
            .domain
            .retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        all.append(&mut self.retired);
    }
}

impl Local for LeakLocal<'_> {
    type Guard<'l>
        = LeakGuard<'l>
    where
        Self: 'l;

    fn pin(&mut self) -> LeakGuard<'_> {
        LeakGuard {
            participant: &self.participant,
            retired: &mut self.retired,
        }
    }
}

/// An operation under `leak`: protection is a plain load.
#[derive(Debug)]
pub struct LeakGuard<'l> {
    participant: &'l Participant<'l>,
    retired: &'l mut Vec<Retired>,
}

// SAFETY: nothing retired is freed before the domain is dropped, and the domain outlives
// every guard (guards borrow a local, which borrows the domain): any pointer loaded from
// the structure stays valid for the guard's whole life.
unsafe impl Guard for LeakGuard<'_> {
    fn protect<T>(&mut self, _slot: usize, src: &AtomicPtr<T>) -> *mut T {
        // Acquire: the node's contents were written before the Release that published it.
        src.load(Ordering::Acquire)
    }

    fn protect_from<T, A>(&mut self, _: usize, _: *mut T, _: &AtomicPtr<A>, _: *mut A) -> bool {
        // A node read out of another one stays allocated until teardown: nothing to check.
        true
    }

    unsafe fn retire<T: Send>(&mut self, ptr: *mut T) {
        self.participant.note_retired();
        self.retired.push(Retired {
            ptr: ptr.cast(),
            free: free_box::<T>,
        });
    }
}
