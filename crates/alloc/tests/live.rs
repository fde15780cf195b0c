//! Process-wide live bytes, live objects and peak under the counting allocator.
//!
//! These counts are shared by every thread of the process, so this binary holds a single
//! test (no other test thread allocates meanwhile) and every comparison allows a small
//! slack for the test harness's own occasional allocations. The blocks measured are far
//! larger than the slack, so a missing or doubled count still fails.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::hint::black_box;

use reclaim_alloc::{CountingAlloc, counting, live, peak_live_bytes, reset_peak};

#[global_allocator]
static A: CountingAlloc = CountingAlloc::new();

const SLACK_BYTES: u64 = 64 * 1024;
const SLACK_OBJECTS: u64 = 64;

fn assert_near(what: &str, actual: u64, expected: u64, slack: u64) {
    assert!(
        actual.abs_diff(expected) <= slack,
        "{what}: {actual}, expected {expected} ± {slack}"
    );
}

#[test]
fn live_counts_go_up_and_back_down() {
    const BIG: usize = 4 << 20;
    const BOXES: u64 = 1000;

    assert!(counting(), "this binary installs the counting allocator");

    // Bytes: one large block.
    let before = live();
    reset_peak();
    let block = black_box(vec![1_u8; BIG]);
    let during = live();
    assert_near(
        "live bytes holding the block",
        during.bytes,
        before.bytes + BIG as u64,
        SLACK_BYTES,
    );
    drop(block);
    let after = live();
    assert_near(
        "live bytes after freeing it",
        after.bytes,
        before.bytes,
        SLACK_BYTES,
    );
    assert!(
        peak_live_bytes() >= before.bytes + BIG as u64 - SLACK_BYTES,
        "the peak missed the block: {} < {}",
        peak_live_bytes(),
        before.bytes + BIG as u64
    );
    reset_peak();
    assert_near(
        "peak after reset",
        peak_live_bytes(),
        live().bytes,
        SLACK_BYTES,
    );

    // Objects: many small blocks (the Vec holding them is one more).
    let before = live();
    let boxes: Vec<Box<u64>> = (0..BOXES).map(|i| black_box(Box::new(i))).collect();
    let during = live();
    assert_near(
        "live objects holding the boxes",
        during.objects,
        before.objects + BOXES + 1,
        SLACK_OBJECTS,
    );
    drop(boxes);
    assert_near(
        "live objects after freeing them",
        live().objects,
        before.objects,
        SLACK_OBJECTS,
    );

    // Realloc: the old block leaves, the new one arrives; one object throughout. Both
    // blocks are large, so a missing free (or allocation) is far outside the slack.
    let old = Layout::from_size_align(BIG, 8).unwrap();
    let before = live();
    // SAFETY: `old` has a non-zero size.
    let p = black_box(unsafe { alloc(old) });
    assert!(!p.is_null());
    // SAFETY: `p` was allocated just above with `old`; the new size is non-zero and far
    // below `isize::MAX`.
    let q = black_box(unsafe { realloc(p, old, 2 * BIG) });
    assert!(!q.is_null());
    let grown = live();
    assert_near(
        "live bytes after realloc",
        grown.bytes,
        before.bytes + 2 * BIG as u64,
        SLACK_BYTES,
    );
    assert_near(
        "live objects after realloc",
        grown.objects,
        before.objects + 1,
        SLACK_OBJECTS,
    );
    // SAFETY: `q` is the live block `realloc` returned, of `2 * BIG` bytes aligned to 8.
    unsafe { dealloc(q, Layout::from_size_align(2 * BIG, 8).unwrap()) };
    assert_near(
        "live bytes after freeing the reallocated block",
        live().bytes,
        before.bytes,
        SLACK_BYTES,
    );

    // Another thread's allocations reach the shared counts when it exits, even when they
    // stayed below the flush thresholds: 500 small boxes are far more objects than the
    // slack, and far fewer than a thread flushes at.
    const SMALL: usize = 500;
    assert!((SMALL as i64) < reclaim_alloc::FLUSH_OBJECTS);
    let before = live();
    let kept: Vec<Box<[u8; 64]>> =
        std::thread::spawn(|| (0..SMALL).map(|_| Box::new([7_u8; 64])).collect())
            .join()
            .unwrap();
    assert_near(
        "live objects after a thread that allocated them exited",
        live().objects,
        before.objects + SMALL as u64 + 1,
        SLACK_OBJECTS,
    );
    drop(black_box(kept));
    assert_near(
        "live objects after freeing them here",
        live().objects,
        before.objects,
        SLACK_OBJECTS,
    );
}
