//! Where the circ structures' frees land and are counted, and their teardown. (Order,
//! loss and drops under concurrency are the conformance suite's job.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use reclaim_conformance::wait_for;
use reclaim_core::{Config, Container, Handle, ReclaimStats};
use reclaim_smr::counters::stray_frees;

use super::{CircDomain, CircMsQueue, CircTreiberStack};

const CHURN: u64 = if cfg!(miri) { 40 } else { 20_000 };
/// Long enough that destroying the chain by plain recursion would overflow the stack
/// (circ bounds its recursive destruction and defers the rest).
const HUGE: usize = if cfg!(miri) { 300 } else { 1_000_000 };

fn build<C: Container<T>, T>() -> C {
    C::new(&Config::default()).expect("circ structures always build")
}

/// Push then pop `n` values on one handle, dropped at the end.
fn churn<C: Container<u64>>(structure: &C, n: u64) {
    let mut handle = structure.handle();
    for i in 0..n {
        handle.push(i).unwrap();
        assert_eq!(handle.pop(), Some(i));
    }
}

/// Runs circ's collection on this thread until `structure` has freed all it retired.
fn collect_until_all_freed<C: Container<u64>>(structure: &C) -> ReclaimStats {
    wait_for("circ's collector", || {
        CircDomain::collect_once();
        let stats = structure.reclamation().unwrap();
        stats.freed == stats.retired
    });
    structure.reclamation().unwrap()
}

fn frees_everything_retired<C: Container<u64>>() {
    let structure = build::<C, u64>();
    churn(&structure, CHURN);
    let stats = collect_until_all_freed(&structure);
    assert_eq!((stats.retired, stats.freed), (CHURN, CHURN));
}

#[test]
fn every_retired_node_is_freed_and_counted_once() {
    frees_everything_retired::<CircTreiberStack<u64>>();
    frees_everything_retired::<CircMsQueue<u64>>();
    assert_eq!(stray_frees(), 0, "circ's frees never go through the shards");
}

/// circ's collector is global: a node retired by one structure may be destroyed while
/// another structure's thread collects. Each free must still count in the structure that
/// retired the node.
fn frees_count_in_their_own_structure<C: Container<u64> + Sync>() {
    let (a, b) = (build::<C, u64>(), build::<C, u64>());
    let (n_a, n_b) = (CHURN, CHURN / 2 + 1);
    thread::scope(|s| {
        s.spawn(|| churn(&a, n_a));
        s.spawn(|| churn(&b, n_b));
    });
    let (a, b) = (collect_until_all_freed(&a), collect_until_all_freed(&b));
    assert_eq!((a.retired, a.freed), (n_a, n_a));
    assert_eq!((b.retired, b.freed), (n_b, n_b));
}

#[test]
fn frees_count_in_the_structure_that_retired_them() {
    frees_count_in_their_own_structure::<CircTreiberStack<u64>>();
    frees_count_in_their_own_structure::<CircMsQueue<u64>>();
}

/// While threads push and pop, the counters never show more freed than retired.
fn counters_stay_consistent_while_running<C: Container<u64> + Sync>() {
    let structure = build::<C, u64>();
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                // Shared: a pop may take the other thread's value, but never finds the
                // structure empty right after this thread's push.
                let mut handle = structure.handle();
                for i in 0..CHURN {
                    handle.push(i).unwrap();
                    assert!(handle.pop().is_some());
                }
            });
        }
        s.spawn(|| {
            for _ in 0..100 {
                let stats = structure.reclamation().unwrap();
                assert!(stats.freed <= stats.retired, "{stats:?}");
                thread::yield_now();
            }
        });
    });
    let stats = collect_until_all_freed(&structure);
    assert_eq!(stats.retired, 2 * CHURN);
}

#[test]
fn counters_stay_consistent_under_concurrency() {
    counters_stay_consistent_while_running::<CircTreiberStack<u64>>();
    counters_stay_consistent_while_running::<CircMsQueue<u64>>();
}

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Values still inside are dropped with the structure, not whenever circ destroys their
/// nodes; popped ones exactly once, by the caller.
fn teardown_drops_the_values_left<C: Container<Counted>>() {
    let drops = Arc::new(AtomicUsize::new(0));
    let structure = build::<C, Counted>();
    {
        let mut handle = structure.handle();
        for _ in 0..10 {
            handle.push(Counted(Arc::clone(&drops))).ok().unwrap();
        }
        for _ in 0..4 {
            drop(handle.pop().unwrap());
        }
    }
    assert_eq!(drops.load(Ordering::Relaxed), 4);
    drop(structure);
    assert_eq!(drops.load(Ordering::Relaxed), 10);
}

#[test]
fn teardown_drops_every_value_left_inside() {
    teardown_drops_the_values_left::<CircTreiberStack<Counted>>();
    teardown_drops_the_values_left::<CircMsQueue<Counted>>();
}

/// A long chain, popped or dropped whole, goes without overflowing the stack.
fn long_chains_go<C: Container<u64>>() {
    let structure = build::<C, u64>();
    {
        let mut handle = structure.handle();
        for i in 0..HUGE as u64 {
            handle.push(i).unwrap();
        }
        for _ in 0..HUGE / 2 {
            assert!(handle.pop().is_some());
        }
    }
    let stats = collect_until_all_freed(&structure);
    assert_eq!(stats.retired, (HUGE / 2) as u64);
    drop(structure);
}

#[test]
fn long_chains_are_destroyed_without_recursing_on_the_stack() {
    long_chains_go::<CircTreiberStack<u64>>();
    long_chains_go::<CircMsQueue<u64>>();
}

#[test]
fn debug_names_the_structure_and_scheme() {
    let stack = build::<CircTreiberStack<u64>, u64>();
    assert_eq!(
        format!("{stack:?}"),
        r#"CircTreiberStack { scheme: "circ", .. }"#
    );
    let queue = build::<CircMsQueue<u64>, u64>();
    assert_eq!(
        format!("{queue:?}"),
        r#"CircMsQueue { scheme: "circ", .. }"#
    );
}

mod sets {
    use reclaim_core::{ConcurrentSet, SetHandle};

    use super::*;
    use crate::circ::{CircHmHashMap, CircHmList};
    use crate::set_tests;

    #[test]
    fn the_list_agrees_with_a_btreeset() {
        set_tests::agrees_with_a_btreeset::<CircHmList>();
    }

    #[test]
    fn the_hash_set_agrees_with_a_btreeset() {
        set_tests::agrees_with_a_btreeset::<CircHmHashMap>();
    }

    #[test]
    fn overlapping_keys_add_up() {
        set_tests::overlapping_keys_add_up::<CircHmList>();
        set_tests::overlapping_keys_add_up::<CircHmHashMap>();
    }

    #[test]
    fn a_search_visits_the_keys_below() {
        set_tests::a_sorted_list_visits_the_keys_below::<CircHmList>();
    }

    #[test]
    fn a_hash_set_search_visits_one_bucket() {
        let keys = if cfg!(miri) { 40 } else { 1_000 };
        let map = CircHmHashMap::with_keys(keys);
        let bucket = |key| std::ptr::from_ref(map.table.bucket(key)) as usize;
        set_tests::a_hash_set_visits_one_bucket(&map, keys, bucket);
    }

    /// Filled and emptied by three threads, the list holds no node, marked or not, and
    /// every node it unlinked is freed and counted once.
    #[test]
    fn disjoint_ranges_fill_and_empty() {
        let list = set_tests::disjoint_ranges_fill_and_empty::<CircHmList>();
        assert!(list.head.is_empty(), "emptied");
        wait_for("circ's collector", || {
            CircDomain::collect_once();
            let stats = list.reclamation().unwrap();
            stats.freed == stats.retired
        });
        assert!(list.reclamation().unwrap().retired > 0);
    }

    /// Every removed key's node is retired once: by the remove, or by a search that
    /// unlinked it for a remove whose own unlink failed.
    fn removes_retire_once<S: ConcurrentSet + Sync>() {
        let set = S::new(&Config::default()).unwrap();
        let keys = if cfg!(miri) { 20 } else { 2_000 };
        thread::scope(|s| {
            for offset in 0..2 {
                let set = &set;
                s.spawn(move || {
                    let mut handle = set.handle();
                    for key in 0..keys {
                        handle.insert(key * 2 + offset);
                    }
                    for key in 0..keys {
                        assert!(handle.remove(key * 2 + offset));
                    }
                });
            }
        });
        wait_for("circ's collector", || {
            CircDomain::collect_once();
            let stats = set.reclamation().unwrap();
            stats.freed == stats.retired
        });
        assert_eq!(set.reclamation().unwrap().retired, 2 * keys);
    }

    #[test]
    fn every_removed_node_is_retired_and_freed_once() {
        removes_retire_once::<CircHmList>();
        removes_retire_once::<CircHmHashMap>();
    }
}
