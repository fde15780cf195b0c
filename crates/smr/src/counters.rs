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
//! In every case the freeing thread is inside a [`Scope`] of the domain's own participant —
//! entered by every guard and by the domain's teardown — so a deleter counts the free in
//! the shard the thread-local scope names, still single-writer. A free outside any scope
//! would be a bug in a scheme; it is counted in [`stray_frees`] rather than lost, and the
//! tests assert that counter stays 0.

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
            })
    }

    /// Enters the scope under which the domain's teardown frees what is left.
    ///
    /// `&mut self` proves no participant is alive, so the teardown shard has one writer.
    pub fn teardown(&mut self) -> Scope<'_> {
        Scope::enter(&self.teardown)
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

    /// Makes this participant's shard the one the current thread counts frees in, until
    /// the returned scope is dropped.
    pub fn enter(&self) -> Scope<'_> {
        Scope::enter(&self.shard)
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

/// While alive, frees on this thread are counted in one shard. Scopes nest: dropping one
/// restores the shard that was current before it.
#[derive(Debug)]
pub struct Scope<'s> {
    previous: *const Shard,
    /// Borrows the shard so it outlives the scope; the raw pointer also makes the scope
    /// `!Send`, since it must be dropped on the thread that entered it.
    _shard: PhantomData<&'s Shard>,
}

impl<'s> Scope<'s> {
    fn enter(shard: &'s Shard) -> Self {
        Scope {
            previous: CURRENT.replace(shard),
            _shard: PhantomData,
        }
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// Counts one freed object; called by the schemes' deleters.
pub fn note_freed() {
    let shard = CURRENT.get();
    if shard.is_null() {
        STRAY_FREES.fetch_add(1, Ordering::Relaxed);
    } else {
        // SAFETY: CURRENT is non-null only while a `Scope` borrowing the shard is alive on
        // this thread (scopes restore the previous value when dropped, and are `!Send`), so
        // the shard is alive. Its single writer is this thread: a scope is entered only by
        // the shard's participant (used by one thread at a time) or by the domain's
        // teardown (which holds `&mut Counters`).
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
        {
            let _scope = p.enter();
            note_freed();
        }
        assert_eq!(
            counters.stats(),
            ReclaimStats {
                retired: 2,
                freed: 1
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
        let _sa = pa.enter();
        {
            let _sb = pb.enter();
            note_freed();
        }
        note_freed();
        assert_eq!(a.stats().freed, 1);
        assert_eq!(b.stats().freed, 1);
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
        {
            let _scope = counters.teardown();
            note_freed();
        }
        assert_eq!(counters.stats().freed, 1);
    }

    #[test]
    fn participants_on_many_threads_sum_up() {
        let counters = Counters::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let p = counters.join();
                    let _scope = p.enter();
                    for _ in 0..100 {
                        p.note_retired();
                        note_freed();
                    }
                });
            }
        });
        assert_eq!(
            counters.stats(),
            ReclaimStats {
                retired: 400,
                freed: 400
            }
        );
    }
}
