//! Per-thread tallies under the counting allocator: each thread sees its own allocations
//! and frees, wherever the memory came from. Tallies are per thread, so these tests can
//! run in parallel with each other.

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc, realloc};
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;

use reclaim_alloc::{CountingAlloc, Tally, thread_tally};

#[global_allocator]
static A: CountingAlloc = CountingAlloc::new();

#[test]
fn a_box_counts_on_its_own_thread_and_not_on_another() {
    let barrier = Barrier::new(2);
    let (allocator, bystander) = thread::scope(|s| {
        let allocator = s.spawn(|| {
            barrier.wait();
            let before = thread_tally();
            let b = black_box(Box::new(7_u64));
            let after = thread_tally();
            drop(b);
            let freed = thread_tally();
            barrier.wait();
            (after.since(before), freed.since(after))
        });
        let bystander = s.spawn(|| {
            let before = thread_tally();
            barrier.wait();
            // The other thread allocates and frees between these two waits.
            barrier.wait();
            thread_tally().since(before)
        });
        (allocator.join().unwrap(), bystander.join().unwrap())
    });
    let (allocated, freed) = allocator;
    assert_eq!(
        allocated,
        Tally {
            allocations: 1,
            frees: 0,
            bytes_allocated: 8,
            bytes_freed: 0
        }
    );
    assert_eq!(
        freed,
        Tally {
            allocations: 0,
            frees: 1,
            bytes_allocated: 0,
            bytes_freed: 8
        }
    );
    assert!(
        bystander.is_zero(),
        "the bystander counted another thread's work: {bystander:?}"
    );
}

#[test]
fn a_free_counts_on_the_freeing_thread() {
    let (b, on_allocator) = thread::spawn(|| {
        let before = thread_tally();
        let b = black_box(Box::new([1_u8; 100]));
        (b, thread_tally().since(before))
    })
    .join()
    .unwrap();
    assert_eq!(on_allocator.allocations, 1);
    assert_eq!(on_allocator.bytes_allocated, 100);
    assert_eq!(on_allocator.frees, 0);

    let before = thread_tally();
    drop(black_box(b));
    let here = thread_tally().since(before);
    assert_eq!(
        here,
        Tally {
            allocations: 0,
            frees: 1,
            bytes_allocated: 0,
            bytes_freed: 100
        }
    );
}

#[test]
fn realloc_counts_one_free_and_one_allocation() {
    let old = Layout::from_size_align(64, 8).unwrap();
    let before = thread_tally();
    // SAFETY: `old` has a non-zero size.
    let p = black_box(unsafe { alloc(old) });
    assert!(!p.is_null());
    let after_alloc = thread_tally();
    // SAFETY: `p` was allocated just above with `old`; 4096 is non-zero and, rounded up to
    // the alignment 8, does not overflow `isize`.
    let q = black_box(unsafe { realloc(p, old, 4096) });
    assert!(!q.is_null());
    let after_realloc = thread_tally();
    // SAFETY: `q` is the live block `realloc` returned, whose layout is `old` with the new
    // size.
    unsafe { dealloc(q, Layout::from_size_align(4096, 8).unwrap()) };
    let after_dealloc = thread_tally();

    assert_eq!(
        after_alloc.since(before),
        Tally {
            allocations: 1,
            frees: 0,
            bytes_allocated: 64,
            bytes_freed: 0
        }
    );
    assert_eq!(
        after_realloc.since(after_alloc),
        Tally {
            allocations: 1,
            frees: 1,
            bytes_allocated: 4096,
            bytes_freed: 64
        }
    );
    assert_eq!(
        after_dealloc.since(after_realloc),
        Tally {
            allocations: 0,
            frees: 1,
            bytes_allocated: 0,
            bytes_freed: 4096
        }
    );
}

#[test]
fn alloc_zeroed_counts_as_an_allocation() {
    let layout = Layout::from_size_align(256, 16).unwrap();
    let before = thread_tally();
    // SAFETY: `layout` has a non-zero size.
    let p = black_box(unsafe { alloc_zeroed(layout) });
    assert!(!p.is_null());
    // SAFETY: `p` is a live block of 256 zeroed bytes.
    assert_eq!(unsafe { *p.add(255) }, 0);
    let allocated = thread_tally().since(before);
    // SAFETY: `p` was allocated above with `layout` and not freed since.
    unsafe { dealloc(p, layout) };
    assert_eq!(allocated.allocations, 1);
    assert_eq!(allocated.bytes_allocated, 256);
    assert_eq!(allocated.frees, 0);
}

#[test]
fn a_vec_growing_in_place_or_not_balances_out() {
    let before = thread_tally();
    let mut v: Vec<u32> = Vec::with_capacity(1);
    for i in 0..1000 {
        v.push(i);
    }
    let grown = thread_tally().since(before);
    drop(black_box(v));
    let all = thread_tally().since(before);
    // Every growth after the first allocation is a realloc: one more allocation and one
    // more free each, so after the drop allocations and frees match, and so do bytes.
    assert!(grown.allocations >= 2, "{grown:?}");
    assert_eq!(grown.allocations, grown.frees + 1, "{grown:?}");
    assert_eq!(all.allocations, all.frees, "{all:?}");
    assert_eq!(all.bytes_allocated, all.bytes_freed, "{all:?}");
}
