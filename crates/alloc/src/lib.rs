//! A counting global allocator: which thread allocates and frees, and how much memory is
//! live.
//!
//! # Why
//!
//! Reclamation schemes differ less in *how much* they free than in *where* the frees run.
//! A real-time thread (an audio callback, a control loop) must not call into the allocator:
//! `free` can take a lock, walk or coalesce free lists, or return memory to the kernel, and
//! its cost is unbounded. The harness therefore needs to know, per thread, how many
//! allocations and frees ran during a measured section, and, process-wide, how much
//! memory is live (garbage a deferred scheme keeps around is live memory).
//!
//! # How
//!
//! [`CountingAlloc`] wraps another global allocator — [`System`], or [`Chosen`], which is
//! the system allocator, mimalloc or jemalloc as the process's environment says (see
//! [`Chosen`]'s module) — and, around every successful call:
//!
//! - bumps the calling thread's [`Tally`] (allocations, frees, bytes allocated, bytes
//!   freed). The tally lives in a `thread_local!` with `const` initialization and no
//!   destructor: reading or writing it never allocates (so the allocator never recurses)
//!   and costs a plain load and store, with no atomic and no initialization check; it
//!   stays usable while the thread is torn down. [`thread_tally`] reads it; take one tally
//!   before a section and one after and subtract them with [`Tally::since`].
//! - updates process-wide live bytes, live objects and the peak of live bytes ([`live`],
//!   [`peak_live_bytes`], [`reset_peak`]). Updating shared atomics on every call would put
//!   two or three contended read-modify-writes on one cache line into every allocation of
//!   every thread — measured at about 20% of the throughput of the fastest structures. So
//!   each thread keeps its own running difference (bytes and objects allocated minus
//!   freed) and adds it to the shared counts only when it reaches [`FLUSH_BYTES`] or
//!   [`FLUSH_OBJECTS`] either way, and when the thread exits. A thread that allocates and
//!   frees in turn (a push and a pop) never touches the shared line. The flush at exit is
//!   registered by a thread's first count (its slow path), so the hot path is about a
//!   dozen instructions: three counters, a high-water mark and a limit check. The price is
//!   precision: the shared counts may be off by up to the flush thresholds per running
//!   thread; [`live`] adds the calling thread's own pending difference, so a single
//!   thread sees its own allocations exactly. For the peak each thread also keeps the
//!   highest pending difference since its last flush and raises the shared peak with it
//!   when it flushes, so a growing heap does not write the peak on every allocation.
//!   That is exact for one thread ([`peak_live_bytes`] adds the caller's own). With
//!   several, the peak may read low or high by the other threads' pending differences
//!   (up to [`FLUSH_BYTES`] each), and high by up to `2 × FLUSH_BYTES` more: a flush adds
//!   the thread's high-water mark, reached at some earlier moment, to the shared count
//!   as it is now, after other threads' flushes since that moment (the mark is at most
//!   `FLUSH_BYTES` above the thread's last flush, and its difference now at least
//!   `FLUSH_BYTES` below it). `tests/peak.rs` builds that case.
//!
//! `realloc` counts as one free of the old block and one allocation of the new one, in
//! the tally and in the live counts; a failed call (null returned) counts nothing.
//!
//! The counts are real only in a binary (or test) that installs the allocator:
//!
//! ```
//! use reclaim_alloc::{CountingAlloc, thread_tally};
//!
//! #[global_allocator]
//! static A: CountingAlloc = CountingAlloc::new();
//!
//! fn main() {
//!     let before = thread_tally();
//!     let b = std::hint::black_box(Box::new(1_u32));
//!     drop(b);
//!     let section = thread_tally().since(before);
//!     assert_eq!((section.allocations, section.frees), (1, 1));
//! }
//! ```
//!
//! Anywhere else every count stays at zero. A caller that must tell "no frees" from "not
//! counting" should check that some tally it expects to move did move.
//!
//! The thread-local tally relies on native thread-local storage (Linux on x86_64, aarch64
//! and ARMv7, the targets this project runs on): where `thread_local!` falls back to
//! allocating OS keys, the first count on a thread would itself allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crossbeam_utils::CachePadded;

mod chosen;

pub use chosen::{ALLOCATOR_ENV, Allocator, Chosen, UnknownAllocator, chosen};

/// A global allocator that delegates to another one, `A` ([`System`] unless told
/// otherwise), and counts (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc<A = System> {
    inner: A,
}

impl CountingAlloc<System> {
    /// The allocator over [`System`], for a `#[global_allocator]` static.
    pub const fn new() -> CountingAlloc<System> {
        CountingAlloc { inner: System }
    }
}

impl<A> CountingAlloc<A> {
    /// The allocator over `inner` (say [`Chosen`], the allocator the process is started
    /// with), for a `#[global_allocator]` static.
    pub const fn wrapping(inner: A) -> CountingAlloc<A> {
        CountingAlloc { inner }
    }
}

/// One thread's allocation counts since it started (or a difference of two such counts).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Successful allocations (`alloc`, `alloc_zeroed`, and the new block of a `realloc`).
    pub allocations: u64,
    /// Frees (`dealloc`, and the old block of a successful `realloc`).
    pub frees: u64,
    /// Bytes requested by those allocations.
    pub bytes_allocated: u64,
    /// Bytes returned by those frees.
    pub bytes_freed: u64,
}

impl Tally {
    /// What was counted between `earlier` and `self` (both from the same thread).
    pub fn since(&self, earlier: Tally) -> Tally {
        Tally {
            allocations: self.allocations.wrapping_sub(earlier.allocations),
            frees: self.frees.wrapping_sub(earlier.frees),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
        }
    }

    /// Whether nothing at all was counted.
    pub fn is_zero(&self) -> bool {
        *self == Tally::default()
    }
}

/// Memory allocated and not yet freed, process-wide.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Bytes in live blocks (as requested, not as rounded up by the system allocator).
    pub bytes: u64,
    /// Live blocks.
    pub objects: u64,
}

/// Everything the allocator keeps per thread, in one `thread_local!` with `const`
/// initialization and no destructor, so that the hot path is a plain access with no
/// "is it initialized, is it destroyed" check, and touching it never allocates (the
/// allocator never recurses).
struct Local {
    // The tally.
    allocations: Cell<u64>,
    frees: Cell<u64>,
    bytes_allocated: Cell<u64>,
    bytes_freed: Cell<u64>,
    /// The live-count difference not yet added to [`GLOBAL`].
    bytes: Cell<i64>,
    objects: Cell<i64>,
    /// The highest `bytes` reached since the last flush: the peak this thread's
    /// allocations reached on top of the shared count, checked once per flush instead of
    /// on the shared line at every allocation (a growing heap sets a new peak each time).
    high: Cell<i64>,
    /// The pending difference is flushed once it reaches these either way. They start at
    /// 0, so a thread's first count takes the slow path, which registers the flush at
    /// thread exit and only then raises them to [`FLUSH_BYTES`] and [`FLUSH_OBJECTS`].
    /// They stay 0 (every count goes straight to the shared counts) where that
    /// registration is impossible: another target, or a thread whose destructors ran.
    byte_limit: Cell<i64>,
    object_limit: Cell<i64>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            allocations: Cell::new(0),
            frees: Cell::new(0),
            bytes_allocated: Cell::new(0),
            bytes_freed: Cell::new(0),
            bytes: Cell::new(0),
            objects: Cell::new(0),
            high: Cell::new(0),
            byte_limit: Cell::new(0),
            object_limit: Cell::new(0),
        }
    };
}

/// Process-wide live counts, on a cache line of their own. Signed: a thread may flush
/// the free of a block whose allocation another thread has not flushed yet.
struct Global {
    live_bytes: AtomicI64,
    live_objects: AtomicI64,
    peak_bytes: AtomicI64,
}

static GLOBAL: CachePadded<Global> = CachePadded::new(Global {
    live_bytes: AtomicI64::new(0),
    live_objects: AtomicI64::new(0),
    peak_bytes: AtomicI64::new(0),
});

/// A thread adds its pending live-byte difference to the shared count once it reaches
/// this much either way (and when it exits).
pub const FLUSH_BYTES: i64 = 64 * 1024;
/// The same for the live-object difference.
pub const FLUSH_OBJECTS: i64 = 1024;

/// Whether threads batch their live-count updates. Only where thread-local destructors
/// are registered without calling the Rust allocator (glibc's
/// `__cxa_thread_atexit_impl`): elsewhere std registers them in a `Vec`, and registering
/// from inside the allocator would allocate.
const BATCHED: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Flushes the thread's pending difference when the thread exits. Registered by the
/// slow path of the thread's first count; holds nothing itself.
struct FlushAtExit;

impl Drop for FlushAtExit {
    fn drop(&mut self) {
        // Later counts on this thread (other thread-locals' destructors) go straight to
        // the shared counts: nothing would flush them any more.
        let _ = LOCAL.try_with(|l| {
            l.byte_limit.set(0);
            l.object_limit.set(0);
            l.flush();
        });
    }
}

thread_local! {
    static FLUSH_AT_EXIT: FlushAtExit = const { FlushAtExit };
}

impl Local {
    fn flush(&self) {
        let (bytes, objects) = (self.bytes.replace(0), self.objects.replace(0));
        let high = self.high.replace(0).max(bytes);
        let shared = GLOBAL.live_bytes.fetch_add(bytes, Ordering::Relaxed);
        if objects != 0 {
            GLOBAL.live_objects.fetch_add(objects, Ordering::Relaxed);
        }
        raise_peak(shared + high);
    }

    /// A count reached a limit: flush, and on the thread's first count arm batching.
    #[cold]
    #[inline(never)]
    fn limit_reached(&self) {
        if BATCHED && self.byte_limit.get() == 0 {
            // Registering the exit flush fails only while the thread's destructors run;
            // then batching stays off.
            if FLUSH_AT_EXIT.try_with(|_| ()).is_ok() {
                self.byte_limit.set(FLUSH_BYTES);
                self.object_limit.set(FLUSH_OBJECTS);
            }
        }
        self.flush();
    }
}

/// Raises the shared peak to `candidate`. Reads first: the read-modify-write only runs
/// while a new peak is being set.
#[inline]
fn raise_peak(candidate: i64) {
    if candidate > GLOBAL.peak_bytes.load(Ordering::Relaxed) {
        GLOBAL.peak_bytes.fetch_max(candidate, Ordering::Relaxed);
    }
}

/// This thread's pending bytes, objects and high-water bytes.
fn pending() -> (i64, i64, i64) {
    LOCAL.with(|l| (l.bytes.get(), l.objects.get(), l.high.get()))
}

/// The calling thread's counts since it started. All zero unless [`CountingAlloc`] is the
/// global allocator.
pub fn thread_tally() -> Tally {
    LOCAL.with(|l| Tally {
        allocations: l.allocations.get(),
        frees: l.frees.get(),
        bytes_allocated: l.bytes_allocated.get(),
        bytes_freed: l.bytes_freed.get(),
    })
}

/// Cleared by [`stop_counting`] and [`set_counting`]; read (relaxed) on every allocation
/// and free.
static COUNTING: AtomicBool = AtomicBool::new(true);

/// Stops counting for the rest of the process: from now on the allocator only forwards to
/// the allocator it wraps, and what remains of the instrumentation is one relaxed load and a branch
/// per call. For a process that is to run bare (`run --no-instrumentation`).
pub fn stop_counting() {
    set_counting(false);
}

/// Pauses (`false`) or resumes (`true`) counting. Blocks allocated while paused and freed
/// after count as negative, so the live counts and the peak mean nothing once counting
/// has been paused; the tallies of sections run entirely while counting stay right. It
/// exists to measure what counting costs in one process: `run --overhead` alternates
/// counted and bare repeats of the same row, adjacent in time.
pub fn set_counting(on: bool) {
    COUNTING.store(on, Ordering::Relaxed);
}

/// Whether [`CountingAlloc`] is this process's global allocator: whether an allocation
/// made now is counted. Callers that report memory check this first, so that "not
/// counting" is never shown as "0 bytes".
pub fn counting() -> bool {
    let before = thread_tally();
    drop(std::hint::black_box(Box::new(0_u64)));
    thread_tally().since(before).allocations > 0
}

/// Live bytes and objects now, process-wide: the shared counts plus the calling thread's
/// pending difference. Other running threads' pending differences (at most
/// [`FLUSH_BYTES`] and [`FLUSH_OBJECTS`] each) are not in it. The two are read one after
/// the other, not as one snapshot.
pub fn live() -> Live {
    let (bytes, objects, _) = pending();
    let total = |shared: &AtomicI64, mine: i64| {
        u64::try_from(shared.load(Ordering::Relaxed) + mine).unwrap_or(0)
    };
    Live {
        bytes: total(&GLOBAL.live_bytes, bytes),
        objects: total(&GLOBAL.live_objects, objects),
    }
}

/// The highest live byte count seen since the process started or since [`reset_peak`]:
/// exact for one thread; with several, low or high by up to [`FLUSH_BYTES`] per other
/// running thread, and high by up to `2 × FLUSH_BYTES` more (see the crate docs).
pub fn peak_live_bytes() -> u64 {
    let (_, _, high) = pending();
    let mine = GLOBAL.live_bytes.load(Ordering::Relaxed) + high;
    u64::try_from(GLOBAL.peak_bytes.load(Ordering::Relaxed).max(mine)).unwrap_or(0)
}

/// Starts a new peak from the current live byte count (as [`live`] sees it).
pub fn reset_peak() {
    let bytes = LOCAL.with(|l| {
        l.high.set(l.bytes.get());
        l.bytes.get()
    });
    let now = GLOBAL.live_bytes.load(Ordering::Relaxed) + bytes;
    GLOBAL.peak_bytes.store(now, Ordering::Relaxed);
}

/// Counts one allocation of `size` bytes on this thread and in the live counts.
#[inline]
fn count_alloc(size: usize) {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    LOCAL.with(|l| {
        l.allocations.set(l.allocations.get().wrapping_add(1));
        l.bytes_allocated
            .set(l.bytes_allocated.get().wrapping_add(size as u64));
        let bytes = l.bytes.get() + size as i64;
        let objects = l.objects.get() + 1;
        l.bytes.set(bytes);
        l.objects.set(objects);
        if bytes > l.high.get() {
            l.high.set(bytes);
        }
        // Only the upward limits: an allocation cannot take the difference down.
        if bytes >= l.byte_limit.get() || objects >= l.object_limit.get() {
            l.limit_reached();
        }
    });
}

/// Counts one free of `size` bytes on this thread and in the live counts.
#[inline]
fn count_free(size: usize) {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    LOCAL.with(|l| {
        l.frees.set(l.frees.get().wrapping_add(1));
        l.bytes_freed
            .set(l.bytes_freed.get().wrapping_add(size as u64));
        let bytes = l.bytes.get() - size as i64;
        let objects = l.objects.get() - 1;
        l.bytes.set(bytes);
        l.objects.set(objects);
        if bytes <= -l.byte_limit.get() || objects <= -l.object_limit.get() {
            l.limit_reached();
        }
    });
}

// SAFETY: every method forwards to `A` with the caller's arguments unchanged and returns
// its result unchanged, so `A`'s guarantees are ours. The counting around the calls never
// allocates (const thread-local `Cell`s and static atomics) and never unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size).
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` was allocated by this allocator (hence by
        // `A`) with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) };
        count_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence `A`) with
        // `layout`, and that `new_size` is valid for `layout.align()`.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // On failure the old block is untouched and still live: nothing to count.
            count_free(layout.size());
            count_alloc(new_size);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_subtracts_field_by_field() {
        let earlier = Tally {
            allocations: 1,
            frees: 2,
            bytes_allocated: 30,
            bytes_freed: 40,
        };
        let later = Tally {
            allocations: 5,
            frees: 2,
            bytes_allocated: 100,
            bytes_freed: 41,
        };
        assert_eq!(
            later.since(earlier),
            Tally {
                allocations: 4,
                frees: 0,
                bytes_allocated: 70,
                bytes_freed: 1,
            }
        );
        assert!(later.since(later).is_zero());
    }

    /// This test binary does not install the allocator: nothing is counted, which is how
    /// a caller tells "not counting" from "no frees" (some tally that must move did not).
    #[test]
    fn without_the_global_allocator_nothing_is_counted() {
        let before = thread_tally();
        let b = std::hint::black_box(Box::new([0_u8; 32]));
        drop(b);
        assert!(thread_tally().since(before).is_zero());
        assert_eq!(live(), Live::default());
        assert!(!counting());
    }
}
