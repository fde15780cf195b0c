//! `seize`: reference-counted retirement batches (Hyaline-1) with the seize crate.
//!
//! A thread marks itself active for the length of an operation. Retired nodes collect in
//! a thread-local batch; when the batch is full it is attached to the list of every
//! thread active at that moment, with a count of them, and each of those threads drops
//! its count when it leaves its operation: the last one frees the batch. A thread that
//! was not active when the batch went out never holds it back. So a stalled thread keeps
//! only the batches retired while it was inside (garbage is still unbounded if it never
//! leaves, as with epochs), and no thread waits on a global epoch to advance. Protection
//! is a `SeqCst` load; entering and leaving cost a store each, with the ordering between
//! them and the retiring thread paid by the retirer (a `membarrier` system call on Linux,
//! a `SeqCst` fence elsewhere). This is the scheme under papaya, the `papaya` baseline.
//!
//! Each structure owns a seize `Collector`, as with the `ebr` scheme: its garbage is freed
//! when the structure is dropped (so Miri sees no leak), and its counts are its own.
//!
//! # Where frees run, and how they are counted
//!
//! A batch is freed by the last thread to leave of those it was attached to, in that
//! thread's guard drop; by the retiring thread itself, inside a retire, when no thread was
//! active (not possible through this scheme: a retire runs under a guard, so the retiring
//! thread is always one of the active ones); or when the collector is dropped (batches not
//! yet full). A thread only leaves a collector it entered, and it enters only through a
//! local of this domain, so the guard drop is bracketed with that local's participant, the
//! retire likewise, and the collector's drop with the domain's teardown shard: every free
//! is counted in this domain, exactly once. A batch that is not full stays with its thread
//! (its id, reused by the next thread) until it fills or the structure is dropped, so
//! `retired − freed` may stay up to one batch per thread above zero while the structure
//! lives.
//!
//! # Not [`PinProtects`](crate::PinProtects)
//!
//! seize promises that a pointer loaded through `Guard::protect` stays valid until the
//! guard is dropped; it promises nothing for a pointer loaded otherwise, and where its
//! fast barrier is not available it could not. A retirer skips every thread it sees
//! inactive, relying on that thread, once active, to see the unlink: with the fallback
//! barrier (a `SeqCst` fence in the retirer, a `SeqCst` store on entry) that ordering
//! holds in the memory model only for `SeqCst` loads, which `protect` uses. A plain
//! `Acquire` load issued just after entering may still return a node that a retirer,
//! having seen the thread inactive, has already freed. The fallback is what runs under
//! Miri, with the crate's `fast-barrier` feature off, on systems other than Linux and
//! Windows, and on a Linux kernel without private expedited `membarrier`. Harris's list
//! walks chains of removed nodes with plain loads, so it is not registered over this
//! scheme (`harris-seize`; the registry's `NOT_REGISTERED` says so). Every structure
//! that is registered over `seize` loads shared pointers through [`Guard::protect`] or
//! re-validates them with [`Guard::protect_from`], which is what seize asks.

use std::mem::ManuallyDrop;

use reclaim_core::{Knob, SchemeSetting};
use seize::{Collector, Guard as _, LocalGuard};

use crate::counters::{self, Counters, Participant};
use crate::sync::{AtomicPtr, Ordering};
use crate::{Guard, Local, ReclaimStats, Scheme};

/// seize's reference-counted batches (Hyaline-1), one collector per structure.
#[derive(Debug)]
pub enum Seize {}

impl Scheme for Seize {
    const NAME: &'static str = "seize";
    const SUMMARY: &'static str = "reference-counted batches (seize, Hyaline): cheap protection, \
        a stalled thread holds back only what was retired while it was inside";
    const SETTINGS: &'static str = "seize 0.5 defaults, one collector per structure: \
        batches of 32 retired objects (or the machine's CPU count if larger, rounded up to \
        a power of two) unless batch-size is set, freed by the last thread to leave; \
        membarrier on Linux, SeqCst fences under Miri";
    const KNOBS: &'static [Knob] = &[BATCH_SIZE];
    type Domain = SeizeDomain;
    type Local<'d> = SeizeLocal<'d>;

    fn new_domain() -> SeizeDomain {
        // The defaults papaya uses too: the `papaya` baseline and the `*-seize` rows run
        // the same reclamation.
        SeizeDomain::new(None)
    }

    fn new_domain_with(setting: Option<&SchemeSetting>) -> Result<SeizeDomain, String> {
        let Some(setting) = setting else {
            return Ok(Self::new_domain());
        };
        // The one knob there is: `batch-size`, in range.
        setting.knob(Self::NAME, Self::KNOBS)?;
        let batch_size = usize::try_from(setting.value)
            .map_err(|_| format!("{setting} does not fit this machine's usize"))?;
        Ok(SeizeDomain::new(Some(batch_size)))
    }

    fn register(domain: &SeizeDomain, _slots: usize) -> SeizeLocal<'_> {
        // seize keeps its per-thread state in the collector, keyed by thread: nothing to
        // register but the counters.
        SeizeLocal {
            collector: &domain.collector,
            participant: domain.counters.join(),
        }
    }

    fn stats(domain: &SeizeDomain) -> ReclaimStats {
        domain.counters.stats()
    }
}

/// The `batch-size` knob: seize's `Collector::batch_size`.
///
/// seize takes a set batch size as is (its own default, `max(32, CPUs)`, is rounded up to
/// a power of two; a set value is not). A batch goes out once it holds this many objects
/// and at least as many as there are threads active at that moment, so a batch smaller
/// than the number of active threads grows until it matches it. Each thread's batch
/// reserves room for this many entries (32 bytes each) when it starts, hence the upper
/// bound: 2 MiB per thread and structure.
const BATCH_SIZE: Knob = Knob {
    key: "batch-size",
    summary: "retired objects per batch before it goes out to the active threads \
        (default 32, or the CPU count rounded up to a power of two if larger)",
    default: DEFAULT_BATCH_SIZE as u64,
    min: 1,
    max: 65_536,
};

/// seize's `Collector::DEFAULT_BATCH_SIZE` (private to the crate).
const DEFAULT_BATCH_SIZE: usize = 32;

/// A structure's collector and counters.
#[derive(Debug)]
pub struct SeizeDomain {
    /// Dropped by hand before `counters`, counting in its teardown shard.
    collector: ManuallyDrop<Collector>,
    /// The batch size set through the `batch-size` knob; `None` for seize's default.
    batch_size: Option<usize>,
    counters: Counters,
}

impl SeizeDomain {
    fn new(batch_size: Option<usize>) -> SeizeDomain {
        SeizeDomain {
            collector: ManuallyDrop::new(collector(batch_size)),
            batch_size,
            counters: Counters::default(),
        }
    }

    /// The number of retired objects per batch this domain's collector runs with: the
    /// `batch-size` knob's value if it was set, otherwise seize's default, 32 or the
    /// machine's CPU count if larger, rounded up to a power of two.
    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            cpus.max(DEFAULT_BATCH_SIZE).next_power_of_two()
        })
    }

    /// Drops the collector, freeing everything still retired (counted in the teardown
    /// shard), and puts a fresh one with the same batch size in its place. Only with
    /// `&mut self`: no local is alive.
    #[cfg(test)]
    fn flush_by_teardown(&mut self) {
        let old = std::mem::replace(&mut *self.collector, collector(self.batch_size));
        self.counters.teardown(|| drop(old));
    }
}

/// A seize collector with `batch_size` objects per batch, or seize's default for `None`.
fn collector(batch_size: Option<usize>) -> Collector {
    match batch_size {
        None => Collector::new(),
        Some(batch_size) => Collector::new().batch_size(batch_size),
    }
}

impl Drop for SeizeDomain {
    fn drop(&mut self) {
        let collector = &mut self.collector;
        // SAFETY: dropped once, here; the field is not used afterwards. Every local borrowed
        // the domain and is gone, so no thread is inside the collector, and dropping it
        // frees every batch not yet freed, counted in the teardown shard.
        self.counters
            .teardown(|| unsafe { ManuallyDrop::drop(collector) });
    }
}

/// One thread's use of the collector, with its counter shard.
#[derive(Debug)]
pub struct SeizeLocal<'d> {
    collector: &'d Collector,
    participant: Participant<'d>,
}

impl Local for SeizeLocal<'_> {
    type Guard<'l>
        = SeizeGuard<'l>
    where
        Self: 'l;

    fn pin(&mut self) -> SeizeGuard<'_> {
        // Entering frees nothing (it marks the thread active), so it is not counted.
        SeizeGuard {
            guard: ManuallyDrop::new(self.collector.enter()),
            participant: &self.participant,
        }
    }
}

/// An operation inside the collector.
///
/// Dropping it leaves the collector, which frees every batch this thread was the last to
/// hold: the drop is counted in the local's shard. That costs a thread-local swap per
/// operation that the `ebr` guard does not pay (crossbeam-epoch frees on pin, not unpin).
#[derive(Debug)]
pub struct SeizeGuard<'l> {
    /// Dropped by hand, counting in the participant's shard.
    guard: ManuallyDrop<LocalGuard<'l>>,
    participant: &'l Participant<'l>,
}

impl Drop for SeizeGuard<'_> {
    fn drop(&mut self) {
        let guard = &mut self.guard;
        // SAFETY: dropped once, here; the field is not used afterwards.
        self.participant
            .counting(|| unsafe { ManuallyDrop::drop(guard) });
    }
}

/// seize's reclaimer for a node retired through this scheme: frees the box and counts it.
///
/// # Safety
///
/// `ptr` came from `Box::<T>::into_raw` and is freed once (seize calls each reclaimer once).
unsafe fn free_counted<T>(ptr: *mut T, _: &Collector) {
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(ptr) });
    counters::note_freed();
}

// SAFETY: a pointer from `protect` is seize's protected load (`SeqCst`) while this thread
// is active, which seize guarantees stays valid until the guard is dropped. A pointer
// accepted by `protect_from` was read while active out of a node that stays reachable
// while `anchor` holds `expected`, and the anchor was re-read afterwards with a `SeqCst`
// load that still found `expected`. `ptr` is retired only after the anchor moved on (the
// caller's contract), so that move happens before the retiring batch's `SeqCst` fence; our
// re-read, which read an older value, therefore precedes that fence in the total order,
// and so does our entry store before it: the retirer sees this thread active and attaches
// the batch to it, and the batch is freed only after this guard is dropped.
unsafe impl Guard for SeizeGuard<'_> {
    fn protect<T>(&mut self, _slot: usize, src: &AtomicPtr<T>) -> *mut T {
        // seize strengthens the ordering to the one its barriers pair with (`SeqCst`).
        self.guard.protect(src, Ordering::Acquire)
    }

    fn protect_from<T, A>(
        &mut self,
        _slot: usize,
        _ptr: *mut T,
        anchor: &AtomicPtr<A>,
        expected: *mut A,
    ) -> bool {
        // A protected re-read: the argument is in the impl's safety comment.
        self.guard.protect(anchor, Ordering::Acquire) == expected
    }

    unsafe fn retire<T: Send>(&mut self, ptr: *mut T) {
        self.participant.note_retired();
        let guard = &self.guard;
        // Counting: a full batch goes out here, and is freed on the spot when no thread
        // is active (never while this guard is, but cheap to be sure of).
        self.participant.counting(|| {
            // SAFETY: `ptr` is unreachable for any thread that enters from now on and
            // retired once (caller's contract), and came from `Box::into_raw`, which is
            // what `free_counted::<T>` expects. The collector belongs to the domain, which
            // outlives the pointer and runs every reclaimer before it is gone.
            unsafe { guard.defer_retire(ptr, free_counted::<T>) };
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retires `n` fresh boxes through `local`, one operation each.
    fn retire_fresh(local: &mut SeizeLocal<'_>, n: u64) {
        for i in 0..n {
            let mut guard = local.pin();
            // SAFETY: a fresh box, never shared, retired once.
            unsafe { guard.retire(Box::into_raw(Box::new(i))) };
        }
    }

    /// Threads retire a count that fills no batch exactly, some frees run in guard drops
    /// on whichever thread leaves last, the rest at teardown: every one is counted once.
    #[test]
    fn counts_are_exact_across_threads_and_teardown() {
        const THREADS: u64 = 3;
        const EACH: u64 = if cfg!(miri) { 45 } else { 1_003 };
        let mut domain = Seize::new_domain();
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                let domain = &domain;
                s.spawn(move || retire_fresh(&mut Seize::register(domain, 1), EACH));
            }
        });
        let running = Seize::stats(&domain);
        assert_eq!(running.retired, THREADS * EACH);
        assert!(running.freed <= running.retired, "{running:?}");
        domain.flush_by_teardown();
        let after = Seize::stats(&domain);
        assert_eq!(after.retired, THREADS * EACH);
        assert_eq!(after.freed, after.retired, "every retire freed once");
        assert_eq!(counters::stray_frees(), 0, "a free ran outside every scope");
    }

    /// A thread that stays inside keeps everything retired meanwhile, even by itself; the
    /// full batches are freed as soon as it leaves, the last partial one at teardown.
    #[test]
    fn a_pinned_thread_holds_back_what_is_retired_meanwhile() {
        // seize's default batch: 32, or the CPU count if larger, rounded up to a power of 2.
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let batch = cpus.max(32).next_power_of_two() as u64;
        let mut domain = Seize::new_domain();
        let retires = 3 * batch + 5;
        {
            let mut stalled = Seize::register(&domain, 1);
            let mut worker = Seize::register(&domain, 1);
            let guard = stalled.pin();
            retire_fresh(&mut worker, retires);
            assert_eq!(Seize::stats(&domain).freed, 0, "freed under a pinned guard");
            drop(guard);
            let after = Seize::stats(&domain);
            assert_eq!(after.retired, retires);
            assert!(
                after.freed >= 3 * batch,
                "full batches kept after leaving: {after:?}"
            );
        }
        domain.flush_by_teardown();
        assert_eq!(Seize::stats(&domain).freed, retires);
    }

    fn batch_size(value: u64) -> SchemeSetting {
        SchemeSetting {
            key: "batch-size".into(),
            value,
        }
    }

    /// With `batch-size=4`, one thread's retires go out four at a time: nothing is freed
    /// before the fourth, all four as soon as the guard that retired it is dropped (the
    /// retiring thread was the only one active). At the default, four retires free nothing.
    #[test]
    fn a_set_batch_size_is_the_batch() {
        let mut domain = Seize::new_domain_with(Some(&batch_size(4))).unwrap();
        assert_eq!(domain.batch_size(), 4);
        assert!(
            format!("{domain:?}").contains("batch_size: 4"),
            "{domain:?}"
        );
        {
            let mut local = Seize::register(&domain, 1);
            let freed_after = |local: &mut SeizeLocal<'_>, n| {
                retire_fresh(local, n);
                Seize::stats(&domain).freed
            };
            assert_eq!(freed_after(&mut local, 3), 0);
            assert_eq!(freed_after(&mut local, 1), 4);
            assert_eq!(freed_after(&mut local, 3), 4);
            assert_eq!(freed_after(&mut local, 1), 8);
            assert_eq!(freed_after(&mut local, 2), 8);
        }
        domain.flush_by_teardown();
        assert_eq!(
            Seize::stats(&domain),
            ReclaimStats {
                retired: 10,
                freed: 10,
                reclaimer_cpu_ns: None,
            }
        );

        let default = Seize::new_domain_with(None).unwrap();
        assert!(default.batch_size() >= 32);
        let shown = format!("batch_size: {}", default.batch_size());
        assert!(format!("{default:?}").contains(&shown), "{default:?}");
        retire_fresh(&mut Seize::register(&default, 1), 4);
        assert_eq!(Seize::stats(&default).freed, 0);
    }

    #[test]
    fn a_batch_size_out_of_range_or_another_key_is_refused() {
        for value in [0, 65_537] {
            let refused = Seize::new_domain_with(Some(&batch_size(value))).unwrap_err();
            assert_eq!(
                refused,
                format!("batch-size={value} is out of range: 1 to 65536")
            );
        }
        let interval = SchemeSetting {
            key: "interval-us".into(),
            value: 100,
        };
        assert_eq!(
            Seize::new_domain_with(Some(&interval)).unwrap_err(),
            "the seize scheme has no knob interval-us (its knobs: batch-size)"
        );
        assert!(Seize::new_domain_with(Some(&batch_size(65_536))).is_ok());
    }

    #[test]
    fn protect_from_refuses_once_the_anchor_moved() {
        let domain = Seize::new_domain();
        let mut local = Seize::register(&domain, 2);
        let (mut first, mut second, mut inner) = (1u64, 2u64, 3u64);
        let (first, second, inner) = (&raw mut first, &raw mut second, &raw mut inner);
        let anchor = AtomicPtr::new(first);
        let mut guard = local.pin();
        assert!(guard.protect_from(1, inner, &anchor, first));
        anchor.store(second, Ordering::Release);
        assert!(!guard.protect_from(1, inner, &anchor, first));
        assert_eq!(guard.protect(0, &anchor), second);
    }
}
