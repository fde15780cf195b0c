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
//! [`CountingAlloc`] wraps [`System`] and, around every successful call:
//!
//! - bumps the calling thread's [`Tally`] (allocations, frees, bytes allocated, bytes
//!   freed). The tally lives in a `thread_local!` with `const` initialization and no
//!   destructor: reading or writing it never allocates (so the allocator never recurses)
//!   and costs a plain load and store, with no atomic. A thread being torn down is not
//!   counted rather than panicking (`try_with`). [`thread_tally`] reads it; take one tally
//!   before a section and one after and subtract them with [`Tally::since`].
//! - updates process-wide live bytes, live objects and the peak of live bytes ([`live`],
//!   [`peak_live_bytes`], [`reset_peak`]) with relaxed atomic read-modify-writes on one
//!   cache line of their own. That is two or three contended atomic operations per
//!   allocation and per free, on a line every allocating thread writes: **not free**. The
//!   harness will measure this overhead (the same workload with and without the counting
//!   allocator installed) before trusting timings taken under it.
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
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

/// A global allocator that delegates to [`System`] and counts (see the crate docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc {
    _private: (),
}

impl CountingAlloc {
    /// The allocator, for a `#[global_allocator]` static.
    pub const fn new() -> CountingAlloc {
        CountingAlloc { _private: () }
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

/// The calling thread's counts. `Cell`s without a destructor: `const` thread-local
/// storage needs no lazy initialization nor destructor registration, so touching it never
/// allocates.
struct ThreadTally {
    allocations: Cell<u64>,
    frees: Cell<u64>,
    bytes_allocated: Cell<u64>,
    bytes_freed: Cell<u64>,
}

thread_local! {
    static TALLY: ThreadTally = const {
        ThreadTally {
            allocations: Cell::new(0),
            frees: Cell::new(0),
            bytes_allocated: Cell::new(0),
            bytes_freed: Cell::new(0),
        }
    };
}

/// Process-wide live counts, together on a cache line of their own: every allocation
/// writes them, so they should not share a line with anyone else's data.
struct Global {
    live_bytes: AtomicU64,
    live_objects: AtomicU64,
    peak_bytes: AtomicU64,
}

static GLOBAL: CachePadded<Global> = CachePadded::new(Global {
    live_bytes: AtomicU64::new(0),
    live_objects: AtomicU64::new(0),
    peak_bytes: AtomicU64::new(0),
});

/// The calling thread's counts since it started. All zero unless [`CountingAlloc`] is the
/// global allocator.
pub fn thread_tally() -> Tally {
    TALLY
        .try_with(|t| Tally {
            allocations: t.allocations.get(),
            frees: t.frees.get(),
            bytes_allocated: t.bytes_allocated.get(),
            bytes_freed: t.bytes_freed.get(),
        })
        .unwrap_or_default()
}

/// Live bytes and objects now, process-wide. The two are read one after the other, not
/// as one snapshot: while other threads allocate they may disagree by a few blocks.
pub fn live() -> Live {
    Live {
        bytes: GLOBAL.live_bytes.load(Ordering::Relaxed),
        objects: GLOBAL.live_objects.load(Ordering::Relaxed),
    }
}

/// The highest live byte count seen since the process started or since [`reset_peak`].
pub fn peak_live_bytes() -> u64 {
    GLOBAL.peak_bytes.load(Ordering::Relaxed)
}

/// Starts a new peak from the current live byte count.
pub fn reset_peak() {
    GLOBAL
        .peak_bytes
        .store(GLOBAL.live_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// Counts one allocation of `size` bytes on this thread and in the live counts.
#[inline]
fn count_alloc(size: usize) {
    let size = size as u64;
    // A thread being torn down is not counted (the live counts below still are).
    let _ = TALLY.try_with(|t| {
        t.allocations.set(t.allocations.get().wrapping_add(1));
        t.bytes_allocated
            .set(t.bytes_allocated.get().wrapping_add(size));
    });
    let now = GLOBAL
        .live_bytes
        .fetch_add(size, Ordering::Relaxed)
        .wrapping_add(size);
    GLOBAL.live_objects.fetch_add(1, Ordering::Relaxed);
    // Read first: the read-modify-write only runs while a new peak is being set, not on
    // every allocation.
    if now > GLOBAL.peak_bytes.load(Ordering::Relaxed) {
        GLOBAL.peak_bytes.fetch_max(now, Ordering::Relaxed);
    }
}

/// Counts one free of `size` bytes on this thread and in the live counts.
#[inline]
fn count_free(size: usize) {
    let size = size as u64;
    let _ = TALLY.try_with(|t| {
        t.frees.set(t.frees.get().wrapping_add(1));
        t.bytes_freed.set(t.bytes_freed.get().wrapping_add(size));
    });
    // A block is freed after it was allocated, and the handoff of its pointer between
    // threads orders the two updates: these never go below zero.
    GLOBAL.live_bytes.fetch_sub(size, Ordering::Relaxed);
    GLOBAL.live_objects.fetch_sub(1, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// returns its result unchanged, so `System`'s guarantees are ours. The counting around the
// calls never allocates (const thread-local `Cell`s and static atomics) and never unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` was allocated by this allocator (hence by
        // `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence `System`)
        // with `layout`, and that `new_size` is valid for `layout.align()`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
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
    }
}
