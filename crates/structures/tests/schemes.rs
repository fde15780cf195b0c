//! The structures under each scheme: what the schemes promise, observed through their
//! counters. (Behaviour every backend shares — order, no loss, drops — is the conformance
//! suite's job; this file checks what differs between schemes.)
#![cfg(not(loom))] // ebr and hp are not loom models; tests/loom.rs covers the structures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reclaim_smr::counters::stray_frees;
use reclaim_smr::{Ebr, Hp, Leak, Local, Scheme, Seize};
use reclaim_structures::{LockFree, MsQueue, TreiberStack};

/// Enough retires for every scheme to have reclaimed at least once: haphazard scans after
/// 1,000 retires, crossbeam-epoch collects every 128 pins, seize fills a batch every 32.
const CHURN: u64 = if cfg!(miri) { 1_100 } else { 20_000 };

/// Elements in the "drop a huge structure" tests: deep enough that a recursive drop would
/// overflow the stack on the host.
const HUGE: usize = if cfg!(miri) { 1_000 } else { 2_000_000 };

/// Pushes then pops `n` values through one registration; returns what was popped.
///
/// # Safety
/// `local` was registered with `structure.domain()`.
unsafe fn churn<S: Scheme, C: LockFree<u64, S>>(
    structure: &C,
    local: &mut S::Local<'_>,
    n: u64,
) -> u64 {
    let mut popped = 0;
    for i in 0..n {
        // SAFETY: the caller's registration is with this structure's domain.
        unsafe { structure.push(local, i) };
        // SAFETY: as above.
        if unsafe { structure.pop(local) }.is_some() {
            popped += 1;
        }
    }
    popped
}

fn retires_one_node_per_pop<S: Scheme, C: LockFree<u64, S> + Default>() {
    let structure = C::default();
    let mut local = S::register(structure.domain(), C::SLOTS);
    // SAFETY: `local` is registered with `structure`'s domain.
    let popped = unsafe { churn(&structure, &mut local, CHURN) };
    assert_eq!(popped, CHURN);
    let stats = S::stats(structure.domain());
    assert_eq!(stats.retired, CHURN, "one retire per pop: {stats:?}");
    assert!(stats.freed <= stats.retired, "{stats:?}");
    // SAFETY: as above.
    assert_eq!(unsafe { structure.pop(&mut local) }, None);
}

fn reclaims_while_running<S: Scheme, C: LockFree<u64, S> + Default>() {
    let structure = C::default();
    let mut local = S::register(structure.domain(), C::SLOTS);
    // SAFETY: `local` is registered with `structure`'s domain.
    unsafe { churn(&structure, &mut local, CHURN) };
    let stats = S::stats(structure.domain());
    assert!(
        stats.freed > 0,
        "{} freed nothing after {CHURN} pops: {stats:?}",
        S::NAME
    );
}

fn never_frees_while_running<S: Scheme, C: LockFree<u64, S> + Default>() {
    let structure = C::default();
    let mut local = S::register(structure.domain(), C::SLOTS);
    // SAFETY: `local` is registered with `structure`'s domain.
    unsafe { churn(&structure, &mut local, CHURN) };
    let stats = S::stats(structure.domain());
    assert_eq!(stats.freed, 0, "{stats:?}");
    assert_eq!(stats.outstanding(), CHURN);
}

/// One participant stays inside an operation (pinned, protecting nothing) while another
/// churns. Returns what the churn freed meanwhile.
fn freed_while_one_participant_stalls<S: Scheme, C: LockFree<u64, S> + Default>() -> u64 {
    let structure = C::default();
    let mut stalled = S::register(structure.domain(), C::SLOTS);
    let mut worker = S::register(structure.domain(), C::SLOTS);
    let guard = stalled.pin();
    // SAFETY: `worker` is registered with `structure`'s domain.
    unsafe { churn(&structure, &mut worker, CHURN) };
    let stats = S::stats(structure.domain());
    drop(guard);
    assert_eq!(stats.retired, CHURN);
    stats.freed
}

/// Values still inside are dropped once each when the structure is dropped, and a chain
/// of millions of nodes is freed by a loop, not recursion.
fn drops_a_huge_structure<S: Scheme, C: LockFree<Counted, S> + Default>() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let structure = C::default();
        let mut local = S::register(structure.domain(), C::SLOTS);
        for _ in 0..HUGE {
            // SAFETY: `local` is registered with `structure`'s domain.
            unsafe { structure.push(&mut local, Counted(Arc::clone(&drops))) };
        }
        // SAFETY: as above.
        drop(unsafe { structure.pop(&mut local) });
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }
    assert_eq!(drops.load(Ordering::Relaxed), HUGE);
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The same tests for both structures under one scheme.
macro_rules! for_both_structures {
    ($scheme:ty: $($test:ident),* $(,)?) => {
        mod treiber {
            use super::*;
            $(#[test] fn $test() { super::super::$test::<$scheme, TreiberStack<_, $scheme>>(); })*
        }
        mod msqueue {
            use super::*;
            $(#[test] fn $test() { super::super::$test::<$scheme, MsQueue<_, $scheme>>(); })*
        }
    };
}

mod leak {
    use super::*;
    for_both_structures!(Leak: retires_one_node_per_pop, never_frees_while_running, drops_a_huge_structure);
}

mod ebr {
    use super::*;
    for_both_structures!(Ebr: retires_one_node_per_pop, reclaims_while_running, drops_a_huge_structure);

    /// Epochs: one participant pinned stops all reclamation.
    #[test]
    fn a_stalled_participant_stops_reclamation() {
        assert_eq!(
            freed_while_one_participant_stalls::<Ebr, TreiberStack<u64, Ebr>>(),
            0
        );
        assert_eq!(
            freed_while_one_participant_stalls::<Ebr, MsQueue<u64, Ebr>>(),
            0
        );
    }
}

mod hp {
    use super::*;
    for_both_structures!(Hp: retires_one_node_per_pop, reclaims_while_running, drops_a_huge_structure);

    /// Hazard pointers: a participant that protects nothing holds nothing back.
    #[test]
    fn a_stalled_participant_does_not_stop_reclamation() {
        assert!(freed_while_one_participant_stalls::<Hp, TreiberStack<u64, Hp>>() > 0);
        assert!(freed_while_one_participant_stalls::<Hp, MsQueue<u64, Hp>>() > 0);
    }
}

mod seize {
    use super::*;
    for_both_structures!(Seize: retires_one_node_per_pop, reclaims_while_running, drops_a_huge_structure);

    /// seize: a participant inside an operation holds back every batch retired meanwhile
    /// (here on its own thread, as in the conformance suite's stall check), and leaving
    /// frees the full ones at once.
    #[test]
    fn a_stalled_participant_holds_back_what_is_retired_meanwhile() {
        fn check<C: LockFree<u64, Seize> + Default>() {
            let structure = C::default();
            let mut stalled = Seize::register(structure.domain(), C::SLOTS);
            let mut worker = Seize::register(structure.domain(), C::SLOTS);
            let guard = stalled.pin();
            // SAFETY: `worker` is registered with `structure`'s domain.
            unsafe { churn(&structure, &mut worker, CHURN) };
            assert_eq!(Seize::stats(structure.domain()).freed, 0);
            drop(guard);
            let stats = Seize::stats(structure.domain());
            assert_eq!(stats.retired, CHURN);
            // All but the last batch, which is not full (seize batches hold at least 32).
            assert!(stats.freed > CHURN / 2, "{stats:?}");
        }
        check::<TreiberStack<u64, Seize>>();
        check::<MsQueue<u64, Seize>>();
    }

    /// seize frees in guard drops, on whichever thread leaves last: each of those runs
    /// inside its participant's scope (see `no_free_is_counted_outside_its_domain`).
    #[test]
    fn no_free_is_counted_outside_its_domain() {
        let structure = MsQueue::<u64, Seize>::default();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut local = Seize::register(structure.domain(), 2);
                    // SAFETY: `local` is registered with `structure`'s domain.
                    unsafe { churn(&structure, &mut local, CHURN / 2) };
                });
            }
        });
        assert!(Seize::stats(structure.domain()).freed > 0);
        assert_eq!(stray_frees(), 0);
    }
}

/// Every free ran inside a scope of its own domain. Runs alongside the other tests, which
/// would have bumped the stray counter by now if a scheme freed outside a scope.
#[test]
fn no_free_is_counted_outside_its_domain() {
    for _ in 0..3 {
        let structure = TreiberStack::<u64, Ebr>::default();
        let mut local = Ebr::register(structure.domain(), 1);
        // SAFETY: `local` is registered with `structure`'s domain.
        unsafe { churn(&structure, &mut local, CHURN) };
    }
    assert_eq!(stray_frees(), 0);
}
