//! A circ structure's counters, and the teardown that drives circ's collector.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use crossbeam_utils::CachePadded;
use reclaim_core::ReclaimStats;
use reclaim_smr::counters::Counters;

/// The scheme's name in the registry.
pub(crate) const NAME: &str = "circ";

/// The scheme's tuning in words, for result files.
pub(crate) const SETTINGS: &str = "circ 0.2 defaults: one EBR collector for the process, \
    thread-local bags of 64 deferred destructions, a flush and collection every 64 \
    count decrements, immediate recursive destruction along `next` links";

/// Rounds of flush-and-collect a teardown tries before giving up on the frees still
/// pending (see [`CircDomain`]'s drop). Each round may advance the global epoch once, and
/// garbage becomes reclaimable three epochs after its last decrement; with no other thread
/// pinned, a handful of rounds frees everything. The rest of the budget is for threads
/// that are pinned elsewhere in the process and hold the epoch back for a while.
const TEARDOWN_ROUNDS: u32 = 10_000;

/// The frees of a structure's retired nodes, counted by the nodes' drops on whatever
/// thread circ destroys them.
pub(crate) type Tally = CachePadded<AtomicU64>;

/// A circ structure's counters: retires in the structure's sharded [`Counters`], frees in
/// a tally the retired nodes point to (the [family's](super) "Counting").
pub struct CircDomain {
    counters: Counters,
    /// From `Box::into_raw`; freed by the drop only once every retired node has counted
    /// its free into it, leaked otherwise.
    tally: NonNull<Tally>,
}

// SAFETY: the tally is an atomic counter, shared by design and only ever accessed through
// `&`; the domain owns the allocation as a `Box<Tally>` would (and a `Box` of a `Sync`
// type is `Send` and `Sync`). `Counters` is both.
unsafe impl Send for CircDomain {}
// SAFETY: as above.
unsafe impl Sync for CircDomain {}

impl Default for CircDomain {
    fn default() -> Self {
        CircDomain {
            counters: Counters::default(),
            tally: NonNull::from(Box::leak(Box::new(Tally::default()))),
        }
    }
}

impl CircDomain {
    /// The retire counters, joined by each handle.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The tally a retired node counts its free into
    /// ([`Retired::retire`](super::node::Retired::retire)).
    pub(crate) fn tally(&self) -> NonNull<Tally> {
        self.tally
    }

    /// What the structure has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        // Frees first, with Acquire: a node's free (Release) follows its retire, so the
        // retires read after it include every one whose free was counted, and the total
        // never shows more freed than retired.
        // SAFETY: the tally is freed only by our drop, and `&self` is borrowed.
        let freed = unsafe { self.tally.as_ref() }.load(Ordering::Acquire);
        ReclaimStats {
            freed,
            ..self.counters.stats()
        }
    }

    /// Whether every retired node has been freed.
    pub(crate) fn all_freed(&self) -> bool {
        let stats = self.stats();
        stats.freed == stats.retired
    }

    /// One round of circ's collection on this thread: enter a critical section, move this
    /// thread's deferred destructions to the global queue, and leave it, which collects
    /// (tries to advance the epoch, runs what has expired). Destructions that cannot run
    /// yet are deferred again, to this thread's bag, which the next round flushes.
    pub(crate) fn collect_once() {
        let guard = circ::cs();
        guard.flush();
        drop(guard);
    }
}

impl Drop for CircDomain {
    fn drop(&mut self) {
        // `&mut self`: every handle, and so every participant and critical section of the
        // structure's own threads, is gone; the structure has dropped its links.
        for _ in 0..TEARDOWN_ROUNDS {
            if self.all_freed() {
                // SAFETY: from `Box::into_raw` (`Box::leak`), freed once, here. Every node
                // that holds a pointer to the tally was retired, and each has added its
                // free — the last thing its drop does with the tally — so no node reads or
                // writes it again.
                drop(unsafe { Box::from_raw(self.tally.as_ptr()) });
                return;
            }
            Self::collect_once();
            thread::yield_now();
        }
        // Some retired nodes are still waiting in circ's collector (a bag of a thread that
        // lives on, or an epoch another thread holds back): they will count their frees
        // into the tally whenever they go, so it stays allocated.
    }
}

impl fmt::Debug for CircDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircDomain")
            .field("stats", &self.stats())
            .finish()
    }
}
