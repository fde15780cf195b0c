//! The memory bound, measured: a counting global allocator sees every byte the channel
//! holds, so "memory stays within the bound plus a documented constant" is checked, not
//! assumed. One test in its own binary: other tests allocating in parallel would blur
//! the process-wide counts.

use reclaim_alloc::{CountingAlloc, live, peak_live_bytes, reset_peak};
use reclaim_hopper::{Accounting, Builder, memory_overhead};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const ITEM: usize = 1024;
const ITEMS: usize = 2000;

/// Sends `ITEMS` one-KiB vectors into a channel with `bound` bytes of memory and no
/// receiver running, then drains it; returns the peak of live bytes above the start.
fn peak_growth(bound: usize, accounting: Accounting<Vec<u8>>) -> u64 {
    let data = tempfile::tempdir().unwrap();
    let start = live().bytes;
    reset_peak();
    let (mut tx, mut rx) = Builder::<Vec<u8>>::new()
        .memory_bytes(bound)
        .accounting(accounting)
        .build("bound", data.path())
        .unwrap();
    for i in 0..ITEMS {
        tx.send(vec![i as u8; ITEM]).unwrap();
    }
    for i in 0..ITEMS {
        let item = rx.recv().unwrap();
        assert_eq!((item.len(), item[0]), (ITEM, i as u8));
    }
    drop((tx, rx));
    peak_live_bytes().saturating_sub(start)
}

#[test]
fn memory_stays_within_the_bound_plus_the_documented_overhead() {
    // The item being sent and one encoded copy of it (the sender's spill buffer) and one
    // being decoded are the per-record transients the documentation allows on top.
    let transients = 3 * (ITEM + 64) as u64;
    let allowed = |bound: usize| (bound + memory_overhead::<Vec<u8>>()) as u64 + transients;

    for bound in [0, 64 * 1024, 512 * 1024] {
        let growth = peak_growth(bound, Accounting::Encoded);
        assert!(
            growth <= allowed(bound),
            "bound {bound}: peak grew by {growth} bytes, allowed {}",
            allowed(bound)
        );
    }

    // With the whole stream in memory the bound is what holds it: 2 MiB of items must
    // not fit in a 512 KiB bound. (Counting 24-byte `Vec` handles, as hopper 0.4 did,
    // would queue all 2000 in memory: about 2 MiB.)
    let growth = peak_growth(512 * 1024, Accounting::Encoded);
    assert!(growth < (ITEMS * ITEM) as u64 / 2, "{growth}");

    // A caller-supplied size is honoured the same way.
    let heap = |v: &Vec<u8>| v.capacity();
    let growth = peak_growth(128 * 1024, Accounting::Custom(heap));
    assert!(growth <= allowed(128 * 1024), "custom accounting: {growth}");

    // Shallow accounting of items without heap data is exact, and gets the ring: an
    // array for the whole bound, allocated when the channel is built.
    let bound = 512 * 1024;
    let data = tempfile::tempdir().unwrap();
    let start = live().bytes;
    reset_peak();
    let (mut tx, mut rx) = Builder::<u64>::new()
        .memory_bytes(bound)
        .accounting(Accounting::Shallow)
        .build("ring", data.path())
        .unwrap();
    let built = live().bytes.saturating_sub(start);
    assert!(
        built >= bound as u64 / 2,
        "the ring is allocated up front: {built}"
    );
    for i in 0..100_000u64 {
        tx.send(i).unwrap();
    }
    for i in 0..100_000u64 {
        assert_eq!(rx.recv().unwrap(), i);
    }
    drop((tx, rx));
    let growth = peak_live_bytes().saturating_sub(start);
    let ring_allowed = (bound + memory_overhead::<u64>()) as u64;
    assert!(
        growth <= ring_allowed,
        "ring: peak grew by {growth}, allowed {ring_allowed}"
    );

    // And the check can fail: shallow accounting of heap-owning items breaks the bound,
    // which is why it is not the default.
    let growth = peak_growth(64 * 1024, Accounting::Shallow);
    assert!(
        growth > allowed(64 * 1024),
        "shallow accounting of 1 KiB vectors stayed within {} bytes: the measurement is blind",
        allowed(64 * 1024)
    );
}
