//! Retire and free counters that stay off the measured path.
//!
//! The harness samples "garbage outstanding" (retired − freed) while threads run, so the
//! counts must be readable at any time. A shared `fetch_add` per retire and per free would
//! cost two locked read-modify-writes per pop — a visible share of a Treiber pop — and
//! make threads contend on the counter line. Instead each participant owns a cache-padded
//! [`Shard`] that only it writes, with a plain load and store (no read-modify-write), and
//! a reader sums the shards.
//!
//! Frees happen wherever the scheme runs its reclamation: inside a pin (crossbeam-epoch
//! collects there), inside a retire (haphazard scans there), or when the domain is dropped.
//! The scheme wraps each of those calls in [`Participant::counting`] (or the domain's
//! [`Counters::teardown`]), which names the participant's shard in a thread-local for
//! the length of the call, so a deleter counts the free in that shard, still
//! single-writer. A free outside any such call would be a bug in a scheme; it is counted
//! in [`stray_frees`] rather than lost, and the tests assert that counter stays 0.
//!
//! The thread-local is set and restored by one function around a closure, never by a
//! value handed to the caller: a value could be leaked (`mem::forget` of a guard that
//! held it) or dropped out of order, and leave the thread-local naming a shard that is
//! freed with its domain — a dangling pointer reachable from safe code. A closure's
//! scopes can only nest, and unwinding restores them too.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_utils::CachePadded;
use reclaim_core::ReclaimStats;

/// One participant's counts. Written only by the thread that holds the claim on it,
/// read by anyone.
#[derive(Debug, Default)]
pub struct Shard {
    retired: AtomicU64,
    freed: AtomicU64,
    claimed: AtomicBool,
}

/// Adds one to a counter that has a single writer.
///
/// A load and a store instead of `fetch_add`: correct because no other thread writes
/// this counter (readers may see the old or the new value, never a torn one).
fn bump_single_writer(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The counters of one domain.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every shard ever handed out; a released shard is reused by the next participant,
    /// so the list is as long as the most participants alive at once.
    shards: Mutex<Vec<Arc<CachePadded<Shard>>>>,
    /// Counts frees that run while the domain is dropped (no participant is left then).
    teardown: CachePadded<Shard>,
}

impl Counters {
    /// Claims a shard for a new participant (a thread registering with the domain).
    pub fn join(&self) -> Participant<'_> {
        let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        // Claims happen under the lock, releases do not: a shard seen unclaimed here stays
        // unclaimed until we claim it. Acquire pairs with the Release in `Participant::drop`,
        // so the new owner continues from the previous owner's last counts.
        let shard = match shards.iter().find(|s| !s.claimed.load(Ordering::Acquire)) {
            Some(free) => Arc::clone(free),
            None => {
                let fresh = Arc::new(CachePadded::new(Shard::default()));
                shards.push(Arc::clone(&fresh));
                fresh
            }
        };
        shard.claimed.store(true, Ordering::Relaxed);
        Participant {
            shard,
            _domain: PhantomData,
        }
    }

    /// The totals so far. Shards are read one by one while their owners keep counting.
    pub fn stats(&self) -> ReclaimStats {
        let shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        shards
            .iter()
            .map(|s| &***s)
            .chain(std::iter::once(&*self.teardown))
            .fold(ReclaimStats::default(), |acc, s| ReclaimStats {
                retired: acc.retired + s.retired.load(Ordering::Relaxed),
                freed: acc.freed + s.freed.load(Ordering::Relaxed),
                reclaimer_cpu_ns: None,
            })
    }

    /// Runs the domain's teardown, `free`, with the frees on this thread counted in the
    /// domain's own teardown shard.
    ///
    /// `&mut self` proves no participant is alive, so the teardown shard has one writer.
    pub fn teardown<R>(&mut self, free: impl FnOnce() -> R) -> R {
        counting_in(&self.teardown, free)
    }
}

/// A participant's claim on its shard. Dropping it releases the shard for reuse.
#[derive(Debug)]
pub struct Participant<'d> {
    shard: Arc<CachePadded<Shard>>,
    /// Not `Sync`: the single-writer increments rely on one thread using it at a time.
    _domain: PhantomData<(&'d Counters, Cell<()>)>,
}

impl Participant<'_> {
    /// Counts one object handed to the scheme.
    pub fn note_retired(&self) {
        bump_single_writer(&self.shard.retired);
    }

    /// Runs `f` with the frees on this thread counted in this participant's shard: wrap
    /// every call into the scheme that may run deleters (a pin that collects, a retire
    /// that scans, unregistering). Calls nest; the previous shard is current again when
    /// `f` returns or unwinds.
    #[inline]
    pub fn counting<R>(&self, f: impl FnOnce() -> R) -> R {
        counting_in(&self.shard, f)
    }
}

impl Drop for Participant<'_> {
    fn drop(&mut self) {
        // Release: the next owner (Acquire in `join`) sees our final counts.
        self.shard.claimed.store(false, Ordering::Release);
    }
}

thread_local! {
    /// The shard frees on this thread are counted in, or null outside every scope.
    static CURRENT: Cell<*const Shard> = const { Cell::new(ptr::null()) };
}

/// Frees counted outside any scope: a scheme freed where it was not expected to.
static STRAY_FREES: AtomicU64 = AtomicU64::new(0);

/// Frees that ran outside any scope, process-wide. Always 0 unless a scheme is broken;
/// tests check it.
pub fn stray_frees() -> u64 {
    STRAY_FREES.load(Ordering::Relaxed)
}

/// Runs `f` with `shard` current on this thread, then restores the shard that was current
/// before, on return and on unwind alike.
#[inline]
fn counting_in<R>(shard: &Shard, f: impl FnOnce() -> R) -> R {
    /// Restores the previous shard when dropped. Private and created only here, so no
    /// caller can leak it or drop it out of order: restores happen in reverse order of
    /// entry, always.
    struct Restore(*const Shard);

    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }

    let _restore = Restore(CURRENT.replace(shard));
    f()
}

/// Counts one freed object; called by the schemes' deleters.
pub fn note_freed() {
    let shard = CURRENT.get();
    if shard.is_null() {
        STRAY_FREES.fetch_add(1, Ordering::Relaxed);
    } else {
        // SAFETY: CURRENT is non-null only inside `counting_in`, which borrows the shard
        // for the whole call and restores the previous value before returning or
        // unwinding; nested calls restore in reverse order, so whatever CURRENT names is
        // borrowed by a call still running on this thread, and alive. Its single writer is
        // this thread: `counting_in` is reached only through the shard's participant (used
        // by one thread at a time) or the domain's teardown (which holds `&mut Counters`).
        bump_single_writer(unsafe { &(*shard).freed });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frees_are_counted_in_the_current_scope() {
        let counters = Counters::default();
        let p = counters.join();
        p.note_retired();
        p.note_retired();
        p.counting(note_freed);
        assert_eq!(
            counters.stats(),
            ReclaimStats {
                retired: 2,
                freed: 1,
                reclaimer_cpu_ns: None,
            }
        );
        assert_eq!(counters.stats().outstanding(), 1);
    }

    #[test]
    fn scopes_nest_and_restore() {
        let a = Counters::default();
        let b = Counters::default();
        let pa = a.join();
        let pb = b.join();
        pa.counting(|| {
            pb.counting(note_freed);
            note_freed();
        });
        assert_eq!(a.stats().freed, 1);
        assert_eq!(b.stats().freed, 1);
    }

    #[test]
    fn an_unwinding_call_restores_the_previous_shard() {
        let a = Counters::default();
        let b = Counters::default();
        let pa = a.join();
        let pb = b.join();
        pa.counting(|| {
            let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pb.counting(|| panic!("a deleter panicked"))
            }));
            assert!(unwound.is_err());
            note_freed();
        });
        assert_eq!(a.stats().freed, 1, "the outer shard is current again");
        assert_eq!(b.stats().freed, 0);
    }

    #[test]
    fn released_shards_are_reused_and_keep_their_counts() {
        let counters = Counters::default();
        {
            let p = counters.join();
            p.note_retired();
        }
        let p = counters.join();
        p.note_retired();
        let second = counters.join();
        second.note_retired();
        assert_eq!(counters.shards.lock().unwrap().len(), 2);
        assert_eq!(counters.stats().retired, 3);
    }

    #[test]
    fn teardown_scope_counts_in_the_domain() {
        let mut counters = Counters::default();
        counters.teardown(note_freed);
        assert_eq!(counters.stats().freed, 1);
    }

    #[test]
    fn participants_on_many_threads_sum_up() {
        let counters = Counters::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let p = counters.join();
                    p.counting(|| {
                        for _ in 0..100 {
                            p.note_retired();
                            note_freed();
                        }
                    });
                });
            }
        });
        assert_eq!(
            counters.stats(),
            ReclaimStats {
                retired: 400,
                freed: 400,
                reclaimer_cpu_ns: None,
            }
        );
    }
}
