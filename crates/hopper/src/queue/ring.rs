//! The memory queue's ring flavour: a bounded array of slots, allocated whole when the
//! channel is built, for entries charged exactly their slot and bounds small enough to
//! allocate up front (see `mod.rs`). It is crossbeam's `ArrayQueue` (Vyukov's bounded
//! queue, the algorithm of `sync_channel`'s array flavour) with the channel's budget.
//!
//! # Why a ring beside the list
//!
//! The list (`blocks.rs`) installs a block every `BLOCK_SLOTS` items, and a producer that
//! finds the tail on a block's sentinel waits for the installer; on 2 cores with 4
//! senders an installer descheduled in the middle of its few stores holds up every other
//! sender. On `hopper/1M-in-memory` (criterion, this project's 2-vCPU VM) the list queue
//! reached about 0.45× `sync_channel(1_000_000)`, and so did list-based channels in
//! general: std's `mpsc::channel` ran at 0.38× and `crossbeam_channel::unbounded` at
//! 0.68× of `sync_channel` in a side-by-side run. The channel's bound is known when it
//! is built, so for bounds up to `PREALLOCATE_MAX` it allocates the array, as
//! `sync_channel(n)` does (the list allocated its spare blocks for the whole bound up
//! front already, so the memory held is the same).
//!
//! # Why crossbeam's, not the channel's own
//!
//! A ring written here with the same algorithm — the consumer's end owned by the one
//! consumer, so a pop without a compare-and-swap — ran that benchmark at 16–23 Melem/s
//! against 34–37 for the same channel over `ArrayQueue`, in alternating runs, and the
//! cause was not found in the time given (the two profiles have the same shape: the
//! claim's compare-and-swap is about half of a send in both). `ArrayQueue` is
//! well-kept, tested under Miri and loom by its authors, and measured here at or above
//! `sync_channel`; the channel uses it.
//!
//! # What the channel relies on
//!
//! - A push claims its slot with a `SeqCst` compare-and-swap on the tail
//!   (`ArrayQueue::push`), and `is_empty` loads head and tail with `SeqCst`: the halves
//!   of the receiver's wake-up handshake (`Shared::wake_after_push` in `channel.rs`),
//!   as with the list.
//! - A pop that finds the head's slot claimed and not yet written spins until it is
//!   written (crossbeam's backoff, without yielding), as `sync_channel`'s receiver does;
//!   it returns `None` only when nothing is claimed. The receiver is the channel's one
//!   consumer and senders into memory never wait, so a receiver that gave its core up
//!   instead would hand it to senders that keep it. Unlike the list, the ring cannot pass
//!   such a slot: its next lap reuses it while the producer still owes the value.
//! - A push into a full ring hands the value back. The channel never fills it (see
//!   `Queue::for_slot_charges`); if it did, the sender would spill the item.
//!
//! Under loom the channel uses the list only: crossbeam's atomics are not loom's, and a
//! model would spin for ever in a pop waiting for a producer loom does not schedule.

use crate::budget::Budget;
use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use std::mem::size_of;

/// Bytes one slot of a ring of `T` occupies: the value and crossbeam's `usize` stamp,
/// padded to the value's alignment (its `Slot<T>`, which is not public).
pub(crate) const fn ring_slot_bytes<T>() -> usize {
    let align = std::mem::align_of::<T>();
    let align = if align > size_of::<usize>() {
        align
    } else {
        size_of::<usize>()
    };
    (size_of::<usize>() + size_of::<T>()).div_ceil(align) * align
}

pub(crate) struct Ring<T> {
    queue: ArrayQueue<T>,
    budget: CachePadded<Budget>,
}

impl<T> Ring<T> {
    /// An empty ring of `capacity` slots (at least one) whose budget allows `limit` bytes.
    pub(crate) fn new(limit: usize, capacity: usize) -> Self {
        Ring {
            queue: ArrayQueue::new(capacity),
            budget: CachePadded::new(Budget::new(limit)),
        }
    }

    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Appends `value`, or hands it back if the ring is full.
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.queue.push(value)
    }

    /// Takes the value at the head; `None` if nothing is claimed there. (A slot claimed
    /// and not yet written is waited for: see the module docs.)
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        self.queue.pop()
    }

    /// Whether nothing has been claimed beyond what was popped.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize as Count, Ordering};
    use std::sync::{Arc, Barrier};

    const MIRI: bool = cfg!(miri);

    /// Counts its drops, to check every value is dropped exactly once.
    struct Counted<'a>(&'a Count);

    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn fifo_over_many_laps_and_full_at_capacity() {
        let r = Ring::new(0, 3);
        assert!(r.is_empty());
        assert_eq!(r.pop(), None);
        let mut next = 0u64;
        let mut expect = 0u64;
        for round in 0..10 {
            let n = round % 3 + 1;
            for _ in 0..n {
                assert_eq!(r.push(next), Ok(()));
                next += 1;
            }
            assert!(!r.is_empty());
            if n == 3 {
                assert_eq!(r.push(99), Err(99), "a full ring hands the value back");
            }
            for _ in 0..n {
                assert_eq!(r.pop(), Some(expect));
                expect += 1;
            }
            assert_eq!(r.pop(), None);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn values_left_inside_are_dropped_exactly_once() {
        let drops = Count::new(0);
        {
            let r = Ring::new(0, 4);
            for i in 0..6 {
                r.push(Counted(&drops)).ok().unwrap();
                if i % 2 == 0 {
                    drop(r.pop());
                }
            }
            assert_eq!(drops.load(Ordering::Relaxed), 3);
        }
        assert_eq!(drops.into_inner(), 6);
    }

    /// The slot size the ring is charged for is crossbeam's: a ring of `n` values
    /// allocates `n` such slots (its buffer; the queue's own fields are counted by
    /// `memory_overhead`).
    #[test]
    fn ring_slot_bytes_is_the_size_of_crossbeams_slot() {
        #[allow(dead_code)]
        struct Slot<T> {
            stamp: std::sync::atomic::AtomicUsize,
            value: std::cell::UnsafeCell<std::mem::MaybeUninit<T>>,
        }
        assert_eq!(ring_slot_bytes::<u64>(), size_of::<Slot<u64>>());
        assert_eq!(ring_slot_bytes::<u8>(), size_of::<Slot<u8>>());
        assert_eq!(ring_slot_bytes::<[u8; 13]>(), size_of::<Slot<[u8; 13]>>());
        assert_eq!(
            ring_slot_bytes::<(u64, u128)>(),
            size_of::<Slot<(u64, u128)>>()
        );
    }

    /// Producers racing through a small ring, each retrying when it is full: the consumer
    /// gets every value once, each producer's in the order pushed.
    #[test]
    fn concurrent_producers_each_keep_their_order() {
        const PRODUCERS: usize = 3;
        let per = if MIRI { 40 } else { 20_000 };
        let r = Arc::new(Ring::new(0, 4));
        let start = Arc::new(Barrier::new(PRODUCERS + 1));
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (r, start) = (Arc::clone(&r), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..per {
                        let mut value = (p, i);
                        while let Err(back) = r.push(value) {
                            value = back;
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        start.wait();
        let mut next = [0usize; PRODUCERS];
        let mut got = 0;
        while got < PRODUCERS * per {
            match r.pop() {
                Some((p, i)) => {
                    assert_eq!(i, next[p], "producer {p}'s values out of order");
                    next[p] += 1;
                    got += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(r.pop(), None);
        assert!(r.is_empty());
        assert_eq!(next, [per; PRODUCERS]);
    }
}
