//! The sweep collector's promises: frees happen on its thread, weak references cannot
//! resurrect, clean passes are skipped, and shutdown frees what only it holds and leaks
//! (never frees elsewhere) what others still hold.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::Duration;

use reclaim_conformance::wait_for;
use reclaim_smr::sweep::{Collector, SweepConfig, Tracker};

/// Records the name of the thread that drops it.
#[derive(Default)]
struct Probe {
    dropped_on: Arc<Mutex<Option<String>>>,
    dropped: Arc<AtomicBool>,
}

impl Probe {
    fn watch(&self) -> (Arc<Mutex<Option<String>>>, Arc<AtomicBool>) {
        (Arc::clone(&self.dropped_on), Arc::clone(&self.dropped))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        *self.dropped_on.lock().unwrap() = thread::current().name().map(String::from);
        self.dropped.store(true, Ordering::Release);
    }
}

/// A probe tracked by `tracker` and released with a `Weak` to it outstanding: the weak
/// reference, and what the probe's drop records.
fn released_behind_a_weak(
    tracker: &Tracker,
) -> (Weak<Probe>, Arc<Mutex<Option<String>>>, Arc<AtomicBool>) {
    let object = Arc::new(Probe::default());
    let (dropped_on, dropped) = object.watch();
    tracker.track(&object);
    let weak = Arc::downgrade(&object);
    drop(object);
    tracker.released();
    (weak, dropped_on, dropped)
}

fn collector() -> Collector {
    Collector::new(SweepConfig {
        interval: Duration::from_millis(1),
    })
}

#[test]
fn a_released_object_is_freed_on_the_collector_thread() {
    let collector = collector();
    let probe = Probe::default();
    let (dropped_on, dropped) = probe.watch();
    let swept = collector.tracker().wrap(probe);
    drop(swept);
    wait_for("the free", || dropped.load(Ordering::Acquire));
    assert_eq!(dropped_on.lock().unwrap().as_deref(), Some("reclaim-sweep"));
    let stats = collector.shutdown();
    assert_eq!((stats.tracked, stats.freed, stats.leaked), (1, 1, 0));
}

/// The collector reads its own thread's CPU clock, and the count only grows.
#[test]
fn the_collector_reports_its_own_cpu_time() {
    let collector = collector();
    let tracker = collector.tracker();
    for _ in 0..1_000 {
        drop(tracker.wrap(Probe::default()));
    }
    wait_for("the frees", || collector.stats().freed == 1_000);
    let during = collector.stats().cpu_nanos;
    let stats = collector.shutdown();
    if cfg!(all(unix, not(miri))) {
        let (during, after) = (
            during.expect("a unix thread clock"),
            stats.cpu_nanos.unwrap(),
        );
        assert!(after >= during, "{after} < {during}");
        assert!(after > 0, "a thousand frees took no CPU time");
    }
}

#[test]
fn a_weak_reference_cannot_resurrect_a_freed_object() {
    let collector = collector();
    let (weak, dropped_on, dropped) = released_behind_a_weak(&collector.tracker());
    wait_for("the free", || dropped.load(Ordering::Acquire));
    assert!(weak.upgrade().is_none());
    assert_eq!(dropped_on.lock().unwrap().as_deref(), Some("reclaim-sweep"));
}

/// The collector drops the value of an object with a `Weak` outstanding, but the
/// allocation stays until the last `Weak` goes, wherever that is: such frees are counted,
/// objects without a `Weak` are not.
#[test]
fn a_free_that_leaves_the_allocation_to_a_weak_is_counted() {
    let collector = collector();
    let tracker = collector.tracker();
    let plain = Arc::new(Probe::default());
    let (_, plain_dropped) = plain.watch();
    tracker.track(&plain);
    drop(plain);
    let (weak, dropped_on, dropped) = released_behind_a_weak(&tracker);
    wait_for("both frees", || {
        dropped.load(Ordering::Acquire) && plain_dropped.load(Ordering::Acquire)
    });
    assert_eq!(dropped_on.lock().unwrap().as_deref(), Some("reclaim-sweep"));
    // The value went on the collector; the allocation goes here, with the last `Weak`.
    drop(weak);
    let stats = collector.shutdown();
    assert_eq!((stats.freed, stats.weak_held), (2, 1));
}

#[test]
fn a_clean_collector_does_not_rescan() {
    let collector = collector();
    let tracker = collector.tracker();
    let kept = tracker.wrap(0u64);
    wait_for("the first pass", || collector.stats().sweeps > 0);
    let settled = collector.stats().sweeps;
    // Nothing is released: many intervals pass without a scan.
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        collector.stats().sweeps,
        settled,
        "rescanned with nothing released"
    );
    drop(kept);
    wait_for("the release to be swept", || collector.stats().freed == 1);
    // The pass that freed it counts itself after its frees (two separate counters): wait
    // for it, rather than read it at once. A collector that froze its pass count would
    // time out here.
    wait_for("the pass to be counted", || {
        collector.stats().sweeps > settled
    });
}

#[test]
#[cfg_attr(miri, ignore = "leaks one object by design")]
fn shutdown_frees_what_only_it_holds_and_leaks_what_others_hold() {
    let collector = collector();
    let tracker = collector.tracker();
    let released = tracker.wrap(Probe::default());
    let (released_on, _) = released.watch();
    drop(released);
    let held = tracker.wrap(Probe::default());
    let (_, held_dropped) = held.watch();
    let stats = collector.shutdown();
    assert_eq!((stats.freed, stats.leaked), (1, 1));
    assert_eq!(
        released_on.lock().unwrap().as_deref(),
        Some("reclaim-sweep")
    );
    // The last holder is this thread now; its drop must not free the object.
    drop(held);
    assert!(
        !held_dropped.load(Ordering::Acquire),
        "freed on a worker at shutdown"
    );
}

#[test]
fn many_workers_track_and_release_concurrently() {
    let per_thread = if cfg!(miri) { 20 } else { 10_000 };
    let collector = collector();
    thread::scope(|s| {
        for _ in 0..3 {
            let tracker = collector.tracker();
            s.spawn(move || {
                for i in 0..per_thread {
                    drop(tracker.wrap(i));
                }
            });
        }
    });
    let stats = collector.shutdown();
    assert_eq!(stats.tracked, 3 * per_thread);
    assert_eq!(stats.freed, 3 * per_thread);
    assert_eq!(stats.leaked, 0);
}
