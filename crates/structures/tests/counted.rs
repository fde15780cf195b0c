//! The counted structures under `rc` and `sweep`: where frees land, and that counters and
//! teardown are right. (Order, loss and drops are the conformance suite's job.)
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use reclaim_conformance::wait_for;
use reclaim_core::{Config, Container, Handle};
use reclaim_smr::counters::stray_frees;
use reclaim_smr::{CountedScheme, Rc, Sweep};
use reclaim_structures::counted::{CountedMsQueue, CountedTreiberStack};

const CHURN: u64 = if cfg!(miri) { 40 } else { 20_000 };
/// Deep enough that a recursive drop of the chain would overflow the stack (`rc` frees a
/// chain from a node's drop, so that is where recursion would bite).
const HUGE: usize = if cfg!(miri) { 300 } else { 2_000_000 };
/// Under `sweep` the collector frees nodes one by one (no recursion to guard against) and
/// rescans everything it tracks at each pass while the structure fills: fewer suffice.
const LARGE: usize = if cfg!(miri) { 50 } else { 100_000 };

fn build<C: Container<T>, T>() -> C {
    C::new(&Config::default()).expect("counted structures always build")
}

/// Push then pop `n` values on one handle.
fn churn<C: Container<u64>>(structure: &C, n: u64) {
    let mut handle = structure.handle();
    for i in 0..n {
        handle.push(i).unwrap();
        assert_eq!(handle.pop(), Some(i));
    }
}

/// `rc`: single-threaded, the popper holds the last reference, so every retired node is
/// freed before `pop` returns.
fn rc_frees_before_pop_returns<C: Container<u64>>() {
    let structure = build::<C, u64>();
    churn(&structure, CHURN);
    let stats = structure.reclamation().unwrap();
    assert_eq!(stats.retired, CHURN);
    assert_eq!(stats.freed, CHURN, "{stats:?}");
}

#[test]
fn rc_frees_inline() {
    rc_frees_before_pop_returns::<CountedTreiberStack<u64, Rc>>();
    rc_frees_before_pop_returns::<CountedMsQueue<u64, Rc>>();
}

/// `sweep`: the collector frees every retired node, eventually.
fn sweep_frees_everything_retired<C: Container<u64>>() {
    let structure = build::<C, u64>();
    churn(&structure, CHURN);
    wait_for("the collector", || {
        let stats = structure.reclamation().unwrap();
        stats.retired == CHURN && stats.freed == CHURN
    });
}

#[test]
fn sweep_frees_on_the_collector() {
    sweep_frees_everything_retired::<CountedTreiberStack<u64, Sweep>>();
    sweep_frees_everything_retired::<CountedMsQueue<u64, Sweep>>();
}

/// Records which thread dropped it.
struct Witness(Arc<Mutex<Vec<Option<String>>>>);

impl Drop for Witness {
    fn drop(&mut self) {
        let name = thread::current().name().map(String::from);
        self.0.lock().unwrap().push(name);
    }
}

/// Values still inside when the structure is dropped: returns the names of the threads
/// that dropped them.
fn threads_dropping_leftovers<C: Container<Witness> + 'static>() -> Vec<Option<String>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let structure = build::<C, Witness>();
    {
        let mut handle = structure.handle();
        for _ in 0..10 {
            assert!(handle.push(Witness(Arc::clone(&seen))).is_ok());
        }
    }
    thread::Builder::new()
        .name("worker".into())
        .spawn(move || drop(structure))
        .unwrap()
        .join()
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 10);
    seen
}

#[test]
fn sweep_never_frees_on_a_worker_even_at_shutdown() {
    for names in [
        threads_dropping_leftovers::<CountedTreiberStack<Witness, Sweep>>(),
        threads_dropping_leftovers::<CountedMsQueue<Witness, Sweep>>(),
    ] {
        assert!(
            names.iter().all(|n| n.as_deref() == Some("reclaim-sweep")),
            "{names:?}"
        );
    }
}

#[test]
fn rc_frees_leftovers_on_the_dropping_thread() {
    for names in [
        threads_dropping_leftovers::<CountedTreiberStack<Witness, Rc>>(),
        threads_dropping_leftovers::<CountedMsQueue<Witness, Rc>>(),
    ] {
        assert!(
            names.iter().all(|n| n.as_deref() == Some("worker")),
            "{names:?}"
        );
    }
}

/// A structure with millions of values inside is dropped with loops, not recursion.
fn drops_huge<C: Container<Counted>>(len: usize) {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let structure = build::<C, Counted>();
        let mut handle = structure.handle();
        for _ in 0..len {
            assert!(handle.push(Counted(Arc::clone(&drops))).is_ok());
        }
    }
    assert_eq!(drops.load(Ordering::Relaxed), len);
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn huge_structures_drop_without_recursion() {
    drops_huge::<CountedTreiberStack<Counted, Rc>>(HUGE);
    drops_huge::<CountedMsQueue<Counted, Rc>>(HUGE);
    drops_huge::<CountedTreiberStack<Counted, Sweep>>(LARGE);
    drops_huge::<CountedMsQueue<Counted, Sweep>>(LARGE);
}

#[test]
fn no_stray_frees() {
    fn run<C: CountedScheme>() {
        churn(&build::<CountedTreiberStack<u64, C>, u64>(), CHURN);
        churn(&build::<CountedMsQueue<u64, C>, u64>(), CHURN);
    }
    run::<Rc>();
    run::<Sweep>();
    assert_eq!(stray_frees(), 0);
}

/// `Debug` (written once for both structures) names the structure and its scheme.
#[test]
fn debug_names_the_structure_and_the_scheme() {
    let stack = build::<CountedTreiberStack<u64, Rc>, u64>();
    assert_eq!(
        format!("{stack:?}"),
        r#"CountedTreiberStack { scheme: "rc", .. }"#
    );
    let queue = build::<CountedMsQueue<u64, Sweep>, u64>();
    assert_eq!(
        format!("{queue:?}"),
        r#"CountedMsQueue { scheme: "sweep", .. }"#
    );
}
