//! The sweeping collector: a thread that owns one clone of every tracked `Arc` and frees
//! those nobody else holds any more, so that the threads using them never free.
//!
//! # Protocol
//!
//! - **Track**: a worker hands the collector a clone of a new `Arc` ([`Tracker::track`]).
//!   The clone goes through a lock-free queue (crossbeam-queue `SegQueue`): no mutex on the
//!   worker's path. The collector drains the queue into its own list at each pass.
//! - **Release**: a worker drops its reference, *then* sets the dirty hint
//!   ([`Tracker::released`], or dropping a [`Swept`]). After the decrement, not before:
//!   a hint set first could be consumed by a pass that still sees the old count, and the
//!   object would wait for some unrelated later release. A release that finds the hint
//!   set already leaves it; SeqCst fences on both sides (after the decrement, after the
//!   collector clears the hint) keep that from losing the release (see `mark_dirty`).
//! - **Sweep**: every interval the collector clears the hint (before scanning, so a
//!   release during the scan marks the next pass dirty) and, if it was set, new objects
//!   arrived, or its own previous pass freed something (freeing an object drops the
//!   references it held: a release too), tries to free every tracked object with
//!   `Arc::try_unwrap`. That is one atomic
//!   compare-and-swap of the strong count from 1 to 0: it succeeds only if the collector
//!   holds the last strong reference, and once it has, no `Weak` can upgrade. There is no
//!   window between "count is 1" and "free" in which a weak reference could resurrect the
//!   object — the check and the claim are the same instruction.
//! - **Weak references**: the collector drops the object on its own thread, but an
//!   `Arc`'s allocation outlives its value while a `Weak` to it remains, and is freed by
//!   whoever drops the last `Weak` — a worker, perhaps. So the objects a worker wants
//!   never freed on it must have no `Weak`: [`Swept`] hands out no `Arc` to downgrade,
//!   and objects passed to [`Tracker::track`] are the caller's to keep weak-free. The
//!   collector counts the objects it dropped while a `Weak` to them was outstanding
//!   ([`CollectorStats::weak_held`]): for those, the allocation's free may have landed
//!   elsewhere.
//! - **Shutdown**: dropping the [`Collector`] stops the thread and joins it; the thread's
//!   last pass frees everything nobody else holds. An object still referenced elsewhere at
//!   that point is **leaked on purpose** (counted in [`CollectorStats::leaked`]): releasing
//!   the collector's clone would move the final free onto whichever thread drops last,
//!   which is what this collector exists to prevent.
//!
//! Costs: a pass scans every tracked object, so its time grows with the number tracked
//! (reported in [`CollectorStats::scan_nanos`]); memory grows when producers outrun the
//! consumers; a free happens up to one interval after the last release.

use std::mem::ManuallyDrop;
#[cfg(not(loom))]
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

#[cfg(not(loom))]
use crate::counters::Counters;
use crate::sync::{Arc, AtomicBool, AtomicU64, Ordering, fence};

/// The registration queue: lock-free (crossbeam-queue) in real builds; under loom a
/// modelled mutex, since `SegQueue` is not a loom model (the protocol around it is).
#[cfg(not(loom))]
type Inbox = crossbeam_queue::SegQueue<Entry>;

#[cfg(loom)]
#[derive(Default)]
struct Inbox(loom::sync::Mutex<std::collections::VecDeque<Entry>>);

#[cfg(loom)]
impl Inbox {
    fn new() -> Inbox {
        Inbox::default()
    }
    fn push(&self, entry: Entry) {
        self.0.lock().unwrap().push_back(entry);
    }
    fn pop(&self) -> Option<Entry> {
        self.0.lock().unwrap().pop_front()
    }
}

/// How often the collector looks for objects to free when nothing wakes it sooner.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// A tracked `Arc`, type-erased without allocating: the pointer from `Arc::into_raw` and
/// the function that knows its type.
struct Entry {
    ptr: *const (),
    try_free: unsafe fn(*const ()) -> Tried,
}

/// What one attempt to free a tracked object did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tried {
    /// Someone else still holds it: the collector keeps its reference.
    Kept,
    /// Dropped and freed, here.
    Freed,
    /// Dropped here, but a `Weak` was outstanding: the allocation is freed by whoever
    /// drops the last one (here too, if it went before the drop).
    FreedWeakHeld,
}

// SAFETY: an `Entry` owns one strong count of an `Arc<T>` with `T: Send + Sync` (enforced
// by `Tracker::track`), and `Arc<T>` is `Send` for such `T`.
unsafe impl Send for Entry {}

/// Frees the `Arc<T>` behind `ptr` if this is its last strong reference; otherwise keeps
/// the reference.
///
/// # Safety
/// `ptr` came from `Arc::<T>::into_raw` and its strong count is owned by the caller.
unsafe fn try_free<T>(ptr: *const ()) -> Tried {
    // SAFETY: the caller owns this strong count of an `Arc<T>`.
    let arc = unsafe { Arc::from_raw(ptr.cast::<T>()) };
    // Most tracked objects are still in use: a plain load rejects those without the
    // compare-and-swap, which would take the count's cache line from the workers using
    // it. A stale count only postpones a free to the next pass; `try_unwrap` decides.
    if Arc::strong_count(&arc) != 1 {
        let _ = Arc::into_raw(arc);
        return Tried::Kept;
    }
    let weak_held = weak_outstanding(&arc);
    match Arc::try_unwrap(arc) {
        Ok(value) => {
            drop(value);
            if weak_held {
                Tried::FreedWeakHeld
            } else {
                Tried::Freed
            }
        }
        Err(still_shared) => {
            // Keep owning the count: turn it back into the raw pointer we hold.
            let _ = Arc::into_raw(still_shared);
            Tried::Kept
        }
    }
}

/// Whether a `Weak` to `arc`'s object may outlive the collector's drop of it, given that
/// the collector was just seen holding the only strong reference.
///
/// A new `Weak` needs a strong reference to downgrade or an existing `Weak` to clone or
/// upgrade. The Acquire fence makes every other holder's downgrade, done before its
/// Release decrement that left the count at 1, visible here; so a weak count of 0 means
/// no `Weak` exists and none can appear, and the collector frees the allocation itself.
/// A count above 0 may fall to 0 before the drop (the allocation is then freed here
/// after all): counting it makes [`CollectorStats::weak_held`] an upper bound.
#[cfg(not(loom))]
fn weak_outstanding<T>(arc: &Arc<T>) -> bool {
    fence(Ordering::Acquire);
    Arc::weak_count(arc) > 0
}

/// loom's `Arc` has no `Weak`.
#[cfg(loom)]
fn weak_outstanding<T>(_: &Arc<T>) -> bool {
    false
}

/// What the collector has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// Objects the collector has taken in (counted when it drains its queue, so an object
    /// tracked since the last pass shows up at the next one).
    pub tracked: u64,
    /// Objects the collector freed.
    pub freed: u64,
    /// Passes that scanned the tracked list (passes skipped as clean are not counted).
    pub sweeps: u64,
    /// Time spent scanning, in nanoseconds.
    pub scan_nanos: u64,
    /// CPU time the collector thread has used so far (scanning, freeing, draining its
    /// queue, waking up), in nanoseconds, as of its latest wake-up; `None` where the
    /// platform cannot tell a thread's CPU time.
    pub cpu_nanos: Option<u64>,
    /// Objects still referenced elsewhere at shutdown, leaked rather than freed on
    /// another thread.
    pub leaked: u64,
    /// Objects among `freed` that had a `Weak` outstanding when the collector dropped
    /// them: their allocation is freed by whichever thread drops the last `Weak`, maybe a
    /// worker. An upper bound (a `Weak` dropped just before the free is counted too).
    pub weak_held: u64,
}

/// Settings of a collector.
#[derive(Clone, Debug)]
pub struct SweepConfig {
    /// Time between passes.
    pub interval: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// The collector's state, shared by its thread and every tracker: the queue of objects
/// newly tracked, the hint that a release may have left something to free, the stop flag
/// and the counts behind [`CollectorStats`].
struct CollectorState {
    incoming: Inbox,
    dirty: CachePadded<AtomicBool>,
    /// Read by the collector thread, which loom models do not run.
    #[cfg_attr(loom, allow(dead_code))]
    stop: AtomicBool,
    tracked: AtomicU64,
    freed: AtomicU64,
    sweeps: AtomicU64,
    scan_nanos: AtomicU64,
    /// The collector thread's CPU time, read after each of its wake-ups; `u64::MAX`
    /// where the platform cannot tell.
    cpu_nanos: AtomicU64,
    #[cfg_attr(loom, allow(dead_code))]
    leaked: AtomicU64,
    #[cfg_attr(loom, allow(dead_code))]
    weak_held: AtomicU64,
}

impl CollectorState {
    fn new() -> CollectorState {
        CollectorState {
            incoming: Inbox::new(),
            dirty: CachePadded::new(AtomicBool::new(false)),
            stop: AtomicBool::new(false),
            tracked: AtomicU64::new(0),
            freed: AtomicU64::new(0),
            sweeps: AtomicU64::new(0),
            scan_nanos: AtomicU64::new(0),
            cpu_nanos: AtomicU64::new(0),
            leaked: AtomicU64::new(0),
            weak_held: AtomicU64::new(0),
        }
    }

    fn mark_dirty(&self) {
        // Read first: while the hint is already set, releases only read a shared line
        // instead of all writing to it. That read must not be satisfied before the
        // caller's decrement is visible — Release orders only what comes before it, and
        // on ARM the load really can go first — or this release could find the hint set,
        // skip it, and have the pass that clears the hint miss the decrement too: a free
        // lost until some unrelated release. The SeqCst fence pairs with the collector's
        // after it clears the hint (a store-buffering pair): either this load sees the
        // hint cleared, and sets it, or that pass sees the decrement.
        fence(Ordering::SeqCst);
        if !self.dirty.load(Ordering::Relaxed) {
            // Release: orders the caller's decrement (done before this call) before the
            // hint, for the collector's Acquire swap.
            self.dirty.store(true, Ordering::Release);
        }
    }
}

#[cfg(not(loom))]
/// A running collector. Dropping it stops and joins the thread (see the module docs for
/// what is freed and what is leaked then).
pub struct Collector {
    shared: Arc<CollectorState>,
    /// The time between passes the thread was started with.
    interval: Duration,
    /// `None` once stopped.
    thread: Option<JoinHandle<()>>,
}

#[cfg(not(loom))]
impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("interval", &self.interval)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(not(loom))]
impl Collector {
    /// Starts a collector thread.
    ///
    /// # Panics
    /// If the operating system refuses to start a thread.
    pub fn new(config: SweepConfig) -> Collector {
        Collector::start(config, None)
    }

    /// Starts a collector thread that counts the frees of a reclamation domain: it
    /// registers with `counters` and runs inside its participant's `counting` call, so
    /// deleters running on it count in the domain's counters.
    pub fn with_counters(config: SweepConfig, counters: std::sync::Arc<Counters>) -> Collector {
        Collector::start(config, Some(counters))
    }

    fn start(config: SweepConfig, counters: Option<std::sync::Arc<Counters>>) -> Collector {
        let shared = Arc::new(CollectorState::new());
        let thread_shared = Arc::clone(&shared);
        let interval = config.interval;
        let thread = thread::Builder::new()
            .name("reclaim-sweep".into())
            .spawn(move || match counters.as_deref().map(Counters::join) {
                Some(participant) => {
                    participant.counting(|| run(&thread_shared, interval));
                }
                None => run(&thread_shared, interval),
            })
            .expect("failed to start the sweep collector thread");
        Collector {
            shared,
            interval,
            thread: Some(thread),
        }
    }

    /// The time between passes this collector's thread runs with.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A handle workers use to track and release objects.
    pub fn tracker(&self) -> Tracker {
        Tracker {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The collector's counts so far.
    pub fn stats(&self) -> CollectorStats {
        let s = &self.shared;
        CollectorStats {
            tracked: s.tracked.load(Ordering::Relaxed),
            freed: s.freed.load(Ordering::Relaxed),
            sweeps: s.sweeps.load(Ordering::Relaxed),
            scan_nanos: s.scan_nanos.load(Ordering::Relaxed),
            cpu_nanos: match s.cpu_nanos.load(Ordering::Relaxed) {
                u64::MAX => None,
                nanos => Some(nanos),
            },
            leaked: s.leaked.load(Ordering::Relaxed),
            weak_held: s.weak_held.load(Ordering::Relaxed),
        }
    }

    /// Stops the collector after its final pass and returns its final counts.
    pub fn shutdown(mut self) -> CollectorStats {
        self.stop_and_join();
        self.stats()
    }

    fn stop_and_join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        // A panic on the collector thread would be a bug in a deleter; the objects it held
        // are then leaked, never freed here. Nothing else to do with it in a destructor.
        let _ = thread.join();
    }
}

#[cfg(not(loom))]
impl Drop for Collector {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A worker's handle on a collector: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Tracker {
    shared: Arc<CollectorState>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

impl Tracker {
    /// Hands the collector a clone of `object`; from now on the collector frees it once
    /// every other reference is gone. Lock-free: one push on a `SegQueue`.
    ///
    /// `T: Send + Sync` because the clone moves to the collector thread and is dropped
    /// there while other threads may still share the object.
    pub fn track<T: Send + Sync + 'static>(&self, object: &Arc<T>) {
        self.shared.incoming.push(Entry {
            ptr: Arc::into_raw(Arc::clone(object)).cast(),
            try_free: try_free::<T>,
        });
    }

    /// Tells the collector a reference was dropped. Call it *after* the drop.
    pub fn released(&self) {
        self.shared.mark_dirty();
    }

    /// Wraps `value` in an `Arc` tracked by the collector, released automatically.
    pub fn wrap<T: Send + Sync + 'static>(&self, value: T) -> Swept<T> {
        let object = Arc::new(value);
        self.track(&object);
        Swept {
            object: ManuallyDrop::new(object),
            tracker: self.clone(),
        }
    }
}

/// An `Arc<T>` whose drop never frees: the collector does, later, on its own thread.
/// Dropping it decrements the count and then sets the collector's dirty hint.
///
/// It derefs to `T` and never hands out its `Arc`: a `Weak` made from it would move the
/// final free of the allocation to whoever drops that `Weak` (see the module docs).
///
/// ```compile_fail,E0599
/// # use reclaim_smr::sweep::Collector;
/// let collector = Collector::new(Default::default());
/// let swept = collector.tracker().wrap(7_u64);
/// let weak = std::sync::Arc::downgrade(swept.get());
/// ```
pub struct Swept<T> {
    object: ManuallyDrop<Arc<T>>,
    tracker: Tracker,
}

impl<T> std::ops::Deref for Swept<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.object
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Swept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Swept").field(&**self.object).finish()
    }
}

impl<T> Drop for Swept<T> {
    fn drop(&mut self) {
        // SAFETY: dropped once, here. The collector holds another strong reference for as
        // long as it runs, so this only decrements.
        unsafe { ManuallyDrop::drop(&mut self.object) };
        // After the decrement (see the module docs).
        self.tracker.released();
    }
}

#[cfg(not(loom))]
/// The collector thread.
fn run(shared: &CollectorState, interval: Duration) {
    let mut tracked: Vec<Entry> = Vec::new();
    // Whether the last pass freed something: its frees dropped references the freed
    // objects held (a node's count of its successor), which is a release like any other
    // and calls for another pass.
    let mut released_by_us = false;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        // Acquire pairs with `mark_dirty`'s Release: the decrements behind the hint are
        // visible to the scan (and `try_unwrap`'s own Acquire on success covers the free).
        let dirty = shared.dirty.swap(false, Ordering::Acquire);
        // Pairs with the fence in `mark_dirty`: a release that saw the hint still set and
        // skipped it made its decrement visible to this pass.
        fence(Ordering::SeqCst);
        let before = tracked.len();
        while let Some(entry) = shared.incoming.pop() {
            tracked.push(entry);
        }
        // Counted here, by the one thread that drains, rather than by every worker on its
        // way in: a shared read-modify-write per registration would sit on the hot path.
        let arrived = tracked.len() - before;
        shared.tracked.fetch_add(arrived as u64, Ordering::Relaxed);
        let arrived = arrived > 0;
        if dirty || arrived || released_by_us || stopping {
            released_by_us = sweep(shared, &mut tracked) > 0;
        }
        if stopping {
            // Objects freed above may have released others that one pass did not reach:
            // sweep until a pass frees nothing; then leak what is left.
            while released_by_us && !tracked.is_empty() {
                released_by_us = sweep(shared, &mut tracked) > 0;
            }
            shared
                .leaked
                .fetch_add(tracked.len() as u64, Ordering::Relaxed);
            // Deliberately not released: see "Shutdown" in the module docs.
            tracked.clear();
            shared
                .cpu_nanos
                .store(thread_cpu_nanos(), Ordering::Relaxed);
            return;
        }
        // Once a wake-up: a reader of the stats sees at most one wake-up's lag.
        shared
            .cpu_nanos
            .store(thread_cpu_nanos(), Ordering::Relaxed);
        thread::park_timeout(interval);
    }
}

/// The calling thread's CPU time in nanoseconds, or `u64::MAX` where it cannot be read
/// (off unix, and under Miri, which has no thread CPU clock).
#[cfg(not(loom))]
fn thread_cpu_nanos() -> u64 {
    #[cfg(all(unix, not(miri)))]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call writes only it.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
            let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
            return secs.saturating_mul(1_000_000_000).saturating_add(nanos);
        }
    }
    u64::MAX
}

/// After a free, how many of the entries a pass kept most recently it tries again.
///
/// Tracking order is only nearly link order: threads can track in a different order from
/// the one they linked in (a thread preempted between its link and its `track`). A node
/// met before the node in front of it is kept, still held — and with it every node
/// behind it in the chain, each held by the one before. Left to later passes, each such
/// inversion would cost a pass over the whole list: a queue with a million tracked
/// entries and a few thousand inversions kept the collector busy for minutes after a
/// 300 ms run. Retrying the last few kept entries after every free undoes any
/// reordering within this distance, and a chain tracked entirely backwards (newest
/// first, against its references) still goes in one pass: each free makes the entry kept
/// just before it free in turn.
const RETRY_WINDOW: usize = 16;

/// One pass over the tracked list in tracking order: frees every object nobody else
/// holds, including those that frees earlier in the pass released (see [`RETRY_WINDOW`]).
/// Returns how many it freed.
fn sweep(shared: &CollectorState, tracked: &mut Vec<Entry>) -> u64 {
    let start = Instant::now();
    let before = tracked.len();
    // `tracked[..kept]` are the survivors so far, in order; entries freed are left
    // behind in `tracked[kept..next]` (stale, overwritten as survivors move down).
    let mut kept = 0;
    let mut weak_held = 0;
    for next in 0..before {
        // SAFETY: every entry owns one strong count of the `Arc<T>` its `try_free`
        // expects; a freed entry leaves the survivors and is never tried again.
        if unsafe { try_entry(&tracked[next], &mut weak_held) } {
            retry_kept(tracked, &mut kept, &mut weak_held);
        } else {
            tracked.swap(kept, next);
            kept += 1;
        }
    }
    tracked.truncate(kept);
    let freed = (before - kept) as u64;
    shared.freed.fetch_add(freed, Ordering::Relaxed);
    shared.weak_held.fetch_add(weak_held, Ordering::Relaxed);
    shared.sweeps.fetch_add(1, Ordering::Relaxed);
    shared
        .scan_nanos
        .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    freed
}

/// Tries the last [`RETRY_WINDOW`] survivors again, newest first, removing (in order)
/// those it frees and starting over after each, since a free may release another.
fn retry_kept(tracked: &mut [Entry], kept: &mut usize, weak_held: &mut u64) {
    'again: loop {
        for at in (kept.saturating_sub(RETRY_WINDOW)..*kept).rev() {
            // SAFETY: `tracked[..kept]` are survivors, each owning its count.
            if unsafe { try_entry(&tracked[at], weak_held) } {
                tracked[at..*kept].rotate_left(1);
                *kept -= 1;
                continue 'again;
            }
        }
        return;
    }
}

/// Frees `entry`'s object if the collector holds its last reference, counting in
/// `weak_held` a free that left its allocation to a `Weak`.
///
/// # Safety
/// `entry` owns one strong count of the `Arc<T>` its `try_free` expects; after `true`
/// it owns nothing and must not be tried again.
unsafe fn try_entry(entry: &Entry, weak_held: &mut u64) -> bool {
    // SAFETY: the caller's contract is `try_free`'s.
    match unsafe { (entry.try_free)(entry.ptr) } {
        Tried::Kept => false,
        Tried::Freed => true,
        Tried::FreedWeakHeld => {
            *weak_held += 1;
            true
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A list link owning a count of the next one, like a structure's node.
    struct Link(#[allow(dead_code)] Option<Arc<Link>>);

    fn shared() -> CollectorState {
        CollectorState::new()
    }

    /// A chain of `len` links tracked oldest first; `forward` chains point from older to
    /// newer (a queue), otherwise from newer to older (a stack). Returns the entries with
    /// no reference left outside the collector.
    fn chain(len: usize, forward: bool) -> Vec<Entry> {
        let mut links: Vec<Arc<Link>> = Vec::with_capacity(len);
        let mut previous: Option<Arc<Link>> = None;
        for _ in 0..len {
            let link = Arc::new(Link(previous.take()));
            previous = Some(Arc::clone(&link));
            links.push(link);
        }
        drop(previous);
        if forward {
            // Built newest-pointing-to-older; tracking in reverse makes the tracked order
            // run against the references, as a queue's does.
            links.reverse();
        }
        links
            .into_iter()
            .map(|link| Entry {
                ptr: Arc::into_raw(link).cast(),
                try_free: try_free::<Link>,
            })
            .collect()
    }

    #[test]
    fn one_pass_frees_a_whole_chain_whichever_way_it_points() {
        let len = if cfg!(miri) { 50 } else { 10_000 };
        for forward in [true, false] {
            let shared = shared();
            let mut tracked = chain(len, forward);
            assert_eq!(sweep(&shared, &mut tracked), len as u64);
            assert!(tracked.is_empty());
        }
    }

    #[test]
    fn one_pass_frees_a_chain_tracked_out_of_link_order() {
        let len = if cfg!(miri) { 60 } else { 10_000 };
        let shared = shared();
        let mut tracked = chain(len, true);
        // Neighbours tracked the wrong way round, as when two threads link in one order
        // and track in the other; and a run of them tracked backwards.
        for pair in tracked.chunks_mut(2) {
            pair.reverse();
        }
        tracked[20..30].reverse();
        assert_eq!(sweep(&shared, &mut tracked), len as u64);
        assert!(tracked.is_empty());
    }

    #[test]
    fn a_pass_keeps_what_is_still_held_in_order() {
        let shared = shared();
        let mut tracked = chain(100, true);
        // Someone still holds the 50th link: it and everything it reaches stay, the 49
        // links in front of it go.
        // SAFETY: the entry owns a count of a `Link`; cloning through it adds one.
        let held = unsafe {
            Arc::increment_strong_count(tracked[49].ptr.cast::<Link>());
            Arc::from_raw(tracked[49].ptr.cast::<Link>())
        };
        assert_eq!(sweep(&shared, &mut tracked), 49);
        assert_eq!(tracked.len(), 51);
        assert_eq!(tracked[0].ptr, Arc::as_ptr(&held).cast());
        drop(held);
        assert_eq!(sweep(&shared, &mut tracked), 51);
    }
}

/// Model checks of the protocol with loom: registration, release with the dirty hint, and
/// passes, interleaved every way (`scripts/loom.sh`).
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::Mutex;
    use loom::thread;

    /// Fails if dropped on the thread recorded in `worker`.
    struct Probe {
        worker: Arc<Mutex<Option<thread::ThreadId>>>,
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            let worker = *self.worker.lock().unwrap();
            assert_ne!(Some(thread::current().id()), worker, "freed on the worker");
        }
    }

    fn drain(shared: &CollectorState, tracked: &mut Vec<Entry>) {
        while let Some(entry) = shared.incoming.pop() {
            tracked.push(entry);
        }
    }

    /// `Swept`'s drop sets the hint after its decrement: a pass that consumed the hint
    /// always finds the object free. (loom lets a read-modify-write see the latest count,
    /// so what this checks is the order in `Swept::drop`: hinting first fails it.)
    #[test]
    fn a_consumed_hint_always_finds_the_release() {
        loom::model(|| {
            let shared = Arc::new(CollectorState::new());
            let tracker = Tracker {
                shared: Arc::clone(&shared),
            };
            let worker_id = Arc::new(Mutex::new(None));
            let swept = tracker.wrap(Probe {
                worker: Arc::clone(&worker_id),
            });
            let worker = {
                let worker_id = Arc::clone(&worker_id);
                thread::spawn(move || {
                    *worker_id.lock().unwrap() = Some(thread::current().id());
                    drop(swept);
                })
            };
            let mut tracked = Vec::new();
            drain(&shared, &mut tracked);
            if shared.dirty.swap(false, Ordering::Acquire) {
                assert_eq!(sweep(&shared, &mut tracked), 1, "hint before release");
            }
            worker.join().unwrap();
            sweep(&shared, &mut tracked);
            assert!(tracked.is_empty());
            assert_eq!(shared.freed.load(Ordering::Relaxed), 1);
        });
    }

    /// A worker registers and releases while the collector drains and sweeps: the object
    /// is freed exactly once, never while the worker holds it, never on the worker.
    #[test]
    fn registration_races_with_passes() {
        loom::model(|| {
            let shared = Arc::new(CollectorState::new());
            let worker_id = Arc::new(Mutex::new(None));
            let worker = {
                let tracker = Tracker {
                    shared: Arc::clone(&shared),
                };
                let worker_id = Arc::clone(&worker_id);
                thread::spawn(move || {
                    *worker_id.lock().unwrap() = Some(thread::current().id());
                    let object = Arc::new(Probe { worker: worker_id });
                    tracker.track(&object);
                    drop(object);
                    tracker.released();
                })
            };
            let mut tracked = Vec::new();
            for _ in 0..2 {
                drain(&shared, &mut tracked);
                sweep(&shared, &mut tracked);
            }
            worker.join().unwrap();
            drain(&shared, &mut tracked);
            sweep(&shared, &mut tracked);
            assert!(tracked.is_empty());
            assert_eq!(shared.freed.load(Ordering::Relaxed), 1);
        });
    }
}
