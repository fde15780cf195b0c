//! The memory queue's list flavour, for bounds too large to allocate up front (see
//! `mod.rs`): an unbounded multi-producer, single-consumer FIFO of fixed-size blocks that
//! reuses the blocks it empties, and hands out the channel's memory budget.
//!
//! # Why not crossbeam's `SegQueue`
//!
//! `SegQueue` (what the channel used before) is multi-consumer, and pays for it on every
//! item: a pop takes its slot with a compare-and-swap on the head and a `fetch_or` on the
//! slot's state word (so that two consumers and the thread freeing a block can agree), and
//! every 31 items a fresh block is allocated and the old one freed. Profiled on the
//! `hopper/1M-in-memory` benchmark, `SegQueue::push` and `pop` took 58% of the samples and
//! allocation with its page faults another ~15% (386,724 page faults against sync_channel's
//! 21,099). The channel has one receiver, so its queue needs none of the multi-consumer
//! machinery: here the consumer owns the head outright — a pop is one acquire load of the
//! slot's state and a read — and a block it has emptied goes to a pool of spares
//! (`spares.rs`) that producers take before asking the allocator. No crate found does
//! exactly this (single consumer, blocks reused and charged to a byte budget, a stalled
//! producer passed, loom-checked with the channel's own code); the algorithm is
//! crossbeam-channel's list flavour specialised to one consumer, with the passing added.
//!
//! # The algorithm
//!
//! Positions are numbered from 0, wrapping around at `usize::MAX` (`LAP` is a power of
//! two); position `p` is slot `p % LAP` of its block, and the last position of each lap
//! (`BLOCK_SLOTS`) is not a slot but means "the next block is being installed".
//!
//! - **Push** reads the tail position and block, and claims the position with a
//!   compare-and-swap on the tail index (`SeqCst`: it is also the producer's half of the
//!   receiver's wake-up handshake, see `channel.rs`). The producer that claims a block's
//!   last slot has moved the tail onto the sentinel, so no one else can claim; it installs
//!   the next block (taken before its claim, so the others wait for a few stores, not for
//!   the allocator) and moves the tail to the new block's first slot. Then it writes its
//!   value and swaps the slot's state to `WRITTEN` (`Release`). A producer that finds the
//!   tail on the sentinel waits for the install to finish. A producer dereferences a block
//!   only after claiming a slot in it.
//! - **Pop** looks at the slot at the head (`Acquire` on its state). Written: it takes the
//!   value, and after a block's last slot moves to the next block — whose address the
//!   installer stored before writing that last slot — and recycles the one it left. Not
//!   written: if the tail is at the head the queue is empty; otherwise a producer has
//!   claimed the slot and is writing it.
//! - **Passing**: the consumer waits a little for a claimed slot; if it is still not
//!   written, it marks it `PASSED` (compare-and-swap from `EMPTY`) and goes on. Producers
//!   are descheduled right after their claim more often than chance would say — an
//!   interrupt that arrives during the contended compare-and-swap is taken just after it —
//!   and waiting for one stalled the receiver for whole time slices (98% of its
//!   `sched_yield`s in the profile). The producer's swap then finds `PASSED`: it takes
//!   its value back and pushes it again. Its send had not returned, so every order the
//!   channel promises holds (see `channel.rs`).
//! - **Recycling**: a block is recycled once the consumer has left it and every producer
//!   whose slot it passed has let go of it — by whichever of them is last
//!   ([`Blocks::leave`]). Recycling clears the block and hands it to the pool of spares,
//!   charged to the memory budget (`spares.rs`). Because the queue charges its spares
//!   there, and frees them when a sender is short, the budget is the queue's to hand out
//!   ([`Blocks::reserve`]).

use super::PREALLOCATE_MAX;
use super::block::{BLOCK_SLOTS, Block, EMPTY, LEFT, PASSED, Slot, WRITTEN};
use super::spares::Spares;
use crate::budget::Budget;
use crate::sync::{AtomicPtr, AtomicUsize, Backoff, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering;

/// Positions per block: its slots and the sentinel.
const LAP: usize = BLOCK_SLOTS + 1;

// Positions wrap around at `usize::MAX` (every 4 Gi positions on a 32-bit target), and
// `% LAP` must give the same slot on both sides of the wrap: `LAP` divides 2^BITS. (Under
// loom a lap is 3 positions, and no model comes near the wrap.)
#[cfg(not(loom))]
const _: () = assert!(LAP.is_power_of_two());

/// The producers' end.
struct Tail<T> {
    /// The next position to claim.
    index: AtomicUsize,
    /// The block holding `index`'s slot (while `index` is on a sentinel, the block before
    /// the one being installed).
    block: AtomicPtr<Block<T>>,
}

/// The consumer's end.
struct HeadEnd<T> {
    /// Touched by the consumer alone.
    cell: UnsafeCell<Head<T>>,
    /// A copy of the head's index, for [`Blocks::looks_empty`]: written by the consumer
    /// after each pop, on a line no one else writes.
    published: AtomicUsize,
}

struct Head<T> {
    /// The next position to take; never a sentinel.
    index: usize,
    block: *mut Block<T>,
    /// Slots of `block` the consumer passed (see `Blocks::wait_or_pass`).
    passed: usize,
}

pub(crate) struct Blocks<T> {
    tail: CachePadded<Tail<T>>,
    head: CachePadded<HeadEnd<T>>,
    budget: CachePadded<Budget>,
    spares: Spares<T>,
}

// SAFETY: the queue owns the values in its slots and hands each to exactly one thread (the
// consumer), so it may be sent to and shared between threads when the values may be sent.
// Its raw pointers are to blocks it owns.
unsafe impl<T: Send> Send for Blocks<T> {}
// SAFETY: as for `Send`: producers move values in, the one consumer moves them out, and
// every slot is handed over through its `written` flag (see the module docs).
unsafe impl<T: Send> Sync for Blocks<T> {}

impl<T> Blocks<T> {
    /// An empty queue whose budget allows `limit` bytes, with spare blocks for as much of
    /// it as [`PREALLOCATE_MAX`] allows.
    pub(crate) fn new(limit: usize) -> Self {
        Self::starting_at(limit, 0)
    }

    /// An empty queue whose first position is `start`, the first of a block's slots: the
    /// tests start near `usize::MAX` to cross the positions' wrap-around.
    fn starting_at(limit: usize, start: usize) -> Self {
        debug_assert_eq!(start % LAP, 0);
        let first = Box::into_raw(Block::new());
        let queue = Blocks {
            tail: CachePadded::new(Tail {
                index: AtomicUsize::new(start),
                block: AtomicPtr::new(first),
            }),
            head: CachePadded::new(HeadEnd {
                cell: UnsafeCell::new(Head {
                    index: start,
                    block: first,
                    passed: 0,
                }),
                published: AtomicUsize::new(start),
            }),
            budget: CachePadded::new(Budget::new(limit)),
            spares: Spares::new(),
        };
        queue.spares.preallocate(&queue.budget, PREALLOCATE_MAX);
        queue
    }

    /// The memory budget. Take bytes from it with [`reserve`](Self::reserve), which
    /// frees spare blocks for them.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Bytes the budget allows.
    #[cfg(test)]
    pub(crate) fn limit(&self) -> usize {
        self.budget.limit()
    }

    /// Takes `bytes` of the budget, freeing spare blocks for them if need be; `false` if
    /// the budget has not the room even without spares.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        loop {
            if self.budget.reserve(bytes) {
                return true;
            }
            if !self.spares.evict(&self.budget, bytes) {
                // No spare left, and a block an install took meanwhile has given its
                // charge back by now (`Spares::evict`): one last look.
                return self.budget.reserve(bytes);
            }
        }
    }

    /// Gives back `bytes` reserved earlier.
    #[cfg(test)]
    pub(crate) fn release(&self, bytes: usize) {
        self.budget.release(bytes);
    }

    /// Appends `value`. Lock-free except while another producer installs a block (a few
    /// stores, with the block already in hand).
    #[inline]
    pub(crate) fn push(&self, value: T) {
        // The common case inline: a slot that is not its block's last, claimed at the first
        // try and not passed. `SeqCst`: see `Shared::wake_after_push` in `channel.rs`.
        let tail = self.tail.index.load(Ordering::Acquire);
        let block = self.tail.block.load(Ordering::Acquire);
        let offset = tail % LAP;
        if offset + 1 < BLOCK_SLOTS
            && self
                .tail
                .index
                .compare_exchange_weak(
                    tail,
                    tail.wrapping_add(1),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            // SAFETY: the claim succeeded on the index `block` was read with (see
            // `push_slow`), so `block` holds the claimed slot.
            match unsafe { self.write(block, offset, value) } {
                Ok(()) => return,
                Err(passed) => return self.push_slow(passed),
            }
        }
        self.push_slow(value);
    }

    /// `push` with its retries, waits and block installs.
    #[inline(never)]
    fn push_slow(&self, mut value: T) {
        let backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            let offset = tail % LAP;
            if offset == BLOCK_SLOTS {
                // Another producer is installing the next block.
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // About to claim the last slot: have the next block at hand first, so that the
            // others wait on the sentinel for a few stores, not for the allocator.
            if offset + 1 == BLOCK_SLOTS && next_block.is_none() {
                next_block = Some(self.take_block());
            }
            // `block` was read after `tail` (both `Acquire`), and an installer stores the
            // new block before it moves the index onto it: so if the index is still `tail`,
            // `block` is the block holding `tail`'s slot.
            match self.tail.index.compare_exchange_weak(
                tail,
                tail.wrapping_add(1),
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_SLOTS {
                        let next = Box::into_raw(next_block.take().expect("taken above"));
                        // The block before the index: a producer that reads the new index
                        // (`Acquire`) reads the new block too.
                        self.tail.block.store(next, Ordering::Release);
                        // Only this producer can move the tail off the sentinel.
                        self.tail
                            .index
                            .store(tail.wrapping_add(2), Ordering::Release);
                        // SAFETY: `block` holds the slot this producer claimed and has not
                        // written yet, so the consumer has not left it: it is live.
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // SAFETY: `block` holds the slot just claimed (see above).
                    match unsafe { self.write(block, offset, value) } {
                        Ok(()) => {
                            if let Some(unused) = next_block {
                                self.give_back(unused);
                            }
                            return;
                        }
                        // Passed over while this producer was away: claim another slot.
                        Err(passed) => {
                            value = passed;
                            backoff.reset();
                            tail = self.tail.index.load(Ordering::Acquire);
                            block = self.tail.block.load(Ordering::Acquire);
                        }
                    }
                }
                Err(now) => {
                    tail = now;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Writes a claimed slot and hands it to the consumer — or, if the consumer has
    /// passed the slot already, takes the value back and lets go of the block.
    ///
    /// # Safety
    ///
    /// The caller claimed slot `offset` of `block`: it is the slot's only writer, and the
    /// block is live (the consumer does not recycle a block while a slot in it is neither
    /// written nor let go of, see [`leave`](Self::leave)).
    #[inline]
    unsafe fn write(&self, block: *mut Block<T>, offset: usize, value: T) -> Result<(), T> {
        #[cfg(all(test, not(loom)))]
        tests::after_claim();
        // SAFETY: the caller's guarantees.
        let slot = unsafe { (*block).slots.get_unchecked(offset) };
        slot.value.with_mut(|v| {
            // SAFETY: this producer is the slot's only writer, and the consumer reads it
            // only once the state says `WRITTEN`.
            unsafe { v.write(MaybeUninit::new(value)) };
        });
        // A swap, not a store: the consumer may have marked the slot passed meanwhile.
        // `Release` hands the value over; `Acquire` is for the block's reuse below.
        if slot.state.swap(WRITTEN, Ordering::AcqRel) == EMPTY {
            return Ok(());
        }
        // SAFETY: the consumer never reads a passed slot: the value is still this
        // producer's, and it moves it back out once.
        let value = unsafe { Self::take(slot) };
        // SAFETY: the block is live until this producer lets go of it, here.
        unsafe { self.let_go(block) };
        Err(value)
    }

    /// Takes the value at the head, if one has been pushed. Waits a little for a push that
    /// has claimed the head's slot and not yet written it, then passes the slot.
    ///
    /// # Safety
    ///
    /// Only one thread may call `pop` or [`is_empty`](Self::is_empty) at a time: the
    /// consumer's end is not synchronized.
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        // SAFETY: the caller guarantees this thread is the only one at the consumer's end.
        self.head.cell.with_mut(|head| unsafe {
            let head = &mut *head;
            // The common case inline: a written slot that is not its block's last.
            let offset = head.index % LAP;
            let slot = (*head.block).slots.get_unchecked(offset);
            if offset + 1 < BLOCK_SLOTS && slot.state.load(Ordering::Acquire) == WRITTEN {
                let value = Self::take(slot);
                head.index = head.index.wrapping_add(1);
                self.head.published.store(head.index, Ordering::Release);
                return Some(value);
            }
            self.pop_slow(head)
        })
    }

    /// `pop` with its waits, passes and block changes.
    ///
    /// # Safety
    ///
    /// `head` is the consumer's end, and this thread the only one using it.
    #[inline(never)]
    unsafe fn pop_slow(&self, head: &mut Head<T>) -> Option<T> {
        loop {
            let offset = head.index % LAP;
            // SAFETY: the consumer's block is live: it is recycled only once the consumer
            // has left it (`leave`).
            let block = unsafe { &*head.block };
            let slot = &block.slots[offset];
            let written = if slot.state.load(Ordering::Acquire) == WRITTEN {
                true
            } else if self.tail.index.load(Ordering::Acquire) == head.index {
                return None;
            } else {
                // Claimed: the producer is between its claim and its write.
                self.wait_or_pass(slot)
            };
            // SAFETY: `written` was read as set (`Acquire`), at the head.
            let value = written.then(|| unsafe { Self::take(slot) });
            if !written {
                head.passed += 1;
            }
            head.index = head.index.wrapping_add(1);
            if offset + 1 == BLOCK_SLOTS {
                // SAFETY: `head` is the consumer's end, at its block's last slot.
                unsafe { self.leave(head) };
            }
            self.head.published.store(head.index, Ordering::Release);
            if value.is_some() {
                return value;
            }
        }
    }

    /// Waits a little for a claimed slot to be written; if it is not, marks it passed.
    /// Whether it was written (then the consumer takes it; else it goes on past it).
    ///
    /// A producer is usually a few instructions from writing its claimed slot — unless
    /// the scheduler took its processor right after the claim, which, the claim being a
    /// contended compare-and-swap that a pending interrupt waits out, is where it often
    /// takes it. Waiting for that producer would stall the whole channel for a time
    /// slice or more; passing its slot costs it a second claim when it runs again. Its
    /// send has not returned, so delivering what others sent meanwhile first keeps every
    /// order the channel promises.
    fn wait_or_pass(&self, slot: &Slot<T>) -> bool {
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if slot.state.load(Ordering::Acquire) == WRITTEN {
                return true;
            }
            backoff.snooze();
        }
        // `Acquire` on failure: the producer wrote meanwhile, and its value is taken next.
        slot.state
            .compare_exchange(EMPTY, PASSED, Ordering::Relaxed, Ordering::Acquire)
            .is_err()
    }

    /// Moves the consumer to the next block, and recycles the one it leaves once no
    /// producer uses it.
    ///
    /// A producer whose slot was passed still touches the block (it finds the mark and
    /// takes its value back), so a block with passed slots is recycled by whichever of
    /// the consumer and those producers lets go last: the consumer adds `LEFT - passed`
    /// to the block's `passed` counter, each such producer adds one, and the one whose
    /// addition makes it exactly `LEFT` recycles the block.
    ///
    /// # Safety
    ///
    /// `head` is the consumer's end, and has just gone past its block's last slot.
    unsafe fn leave(&self, head: &mut Head<T>) {
        let left = head.block;
        // SAFETY: the consumer's block is live until it leaves it, here.
        let block = unsafe { &*left };
        // The installer stores `next` before it writes the last slot; if the consumer
        // passed that slot, it may have to wait for the store.
        let backoff = Backoff::new();
        let next = loop {
            let next = block.next.load(Ordering::Acquire);
            if !next.is_null() {
                break next;
            }
            backoff.snooze();
        };
        head.block = next;
        head.index = head.index.wrapping_add(1); // over the sentinel
        let passed = std::mem::take(&mut head.passed);
        let last = passed == 0
            || block
                .passed
                .fetch_add(LEFT.wrapping_sub(passed), Ordering::AcqRel)
                == passed;
        if last {
            // SAFETY: every slot was taken or let go of, and the consumer has moved on:
            // the block is no one's.
            self.recycle(unsafe { Box::from_raw(left) });
        }
    }

    /// A producer whose slot was passed lets go of the block.
    ///
    /// # Safety
    ///
    /// The caller claimed a slot of `block` that the consumer passed, and does not touch
    /// the block afterwards.
    unsafe fn let_go(&self, block: *mut Block<T>) {
        // SAFETY: the caller's guarantees: the block is live until this addition.
        let before = unsafe { (*block).passed.fetch_add(1, Ordering::AcqRel) };
        if before.wrapping_add(1) == LEFT {
            // SAFETY: the consumer has left the block, and this was the last producer to
            // let go: it is no one's.
            self.recycle(unsafe { Box::from_raw(block) });
        }
    }

    /// Moves the value out of a slot.
    ///
    /// # Safety
    ///
    /// The value is initialized and no one else reads or writes it: either the state was
    /// read as `WRITTEN` (`Acquire`) by the consumer at its head, or the writing producer
    /// found its slot passed. Each value is taken once.
    #[inline]
    unsafe fn take(slot: &Slot<T>) -> T {
        // SAFETY: the caller's guarantees.
        slot.value.with(|v| unsafe { ptr::read(v).assume_init() })
    }

    /// Whether nothing has been pushed or claimed beyond what was popped.
    ///
    /// # Safety
    ///
    /// As for [`pop`](Self::pop).
    pub(crate) unsafe fn is_empty(&self) -> bool {
        // SAFETY: the caller guarantees this thread is the only one at the consumer's end.
        let head = self.head.cell.with(|head| unsafe { (*head).index });
        self.tail.index.load(Ordering::SeqCst) == head
    }

    /// Whether the consumer has taken everything pushed so far, as any thread can tell:
    /// `false` may be stale (the consumer has just caught up), `true` is not, as far as
    /// pushes that happen before this call go.
    pub(crate) fn looks_empty(&self) -> bool {
        self.tail.index.load(Ordering::Acquire) == self.head.published.load(Ordering::Acquire)
    }

    /// A block for the next install: a spare if the pool has one and is free, else new.
    fn take_block(&self) -> Box<Block<T>> {
        self.spares.take(&self.budget).unwrap_or_else(Block::new)
    }

    /// Returns a clear block, emptied or taken for an install another producer did, to the
    /// pool (or frees it).
    fn give_back(&self, block: Box<Block<T>>) {
        self.spares.put(block, &self.budget);
    }

    /// Recycles a block the consumer has emptied.
    fn recycle(&self, block: Box<Block<T>>) {
        block.clear();
        self.give_back(block);
    }
}

impl<T> Drop for Blocks<T> {
    fn drop(&mut self) {
        let tail = self.tail.index.load(Ordering::Relaxed);
        self.head.cell.with_mut(|head| {
            // SAFETY: `&mut self`: no producer or consumer is left, and every claimed slot
            // was written (a push writes before returning, and nothing between its claim
            // and its write can panic: no allocation, no overflow, no user code). Positions
            // from the head to the tail hold values not yet taken: each is dropped once,
            // each block freed once.
            unsafe {
                let head = &mut *head;
                let (mut index, mut block) = (head.index, head.block);
                while index != tail {
                    let offset = index % LAP;
                    (*block).slots[offset]
                        .value
                        .with_mut(|v| (*v).assume_init_drop());
                    index = index.wrapping_add(1);
                    if offset + 1 == BLOCK_SLOTS {
                        let next = (*block).next.load(Ordering::Relaxed);
                        drop(Box::from_raw(block));
                        block = next;
                        index = index.wrapping_add(1);
                    }
                }
                drop(Box::from_raw(block));
            }
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::queue::block::{block_bytes, slot_bytes};
    use std::cell::RefCell;
    use std::sync::atomic::AtomicUsize as Count;
    use std::sync::{Arc, Barrier};

    /// Whether a test runs under Miri, which is about a thousand times slower.
    const MIRI: bool = cfg!(miri);

    thread_local! {
        /// What this thread does between its next claim and its write (see `after_claim`).
        static AFTER_CLAIM: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    /// Called by `write`, right after every claim: runs what `stall_after_next_claim` set
    /// for this thread, once. A producer is stalled there as the scheduler would stall it,
    /// in the queue's own `push`.
    pub(super) fn after_claim() {
        if let Some(stall) = AFTER_CLAIM.with(|hook| hook.borrow_mut().take()) {
            stall();
        }
    }

    /// Has this thread run `stall` between its next claim and its write.
    fn stall_after_next_claim(stall: impl FnOnce() + 'static) {
        AFTER_CLAIM.with(|hook| *hook.borrow_mut() = Some(Box::new(stall)));
    }

    /// Counts its drops, to check every value is dropped exactly once.
    struct Counted<'a>(u64, &'a Count);

    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn pop<T>(q: &Blocks<T>) -> Option<T> {
        // SAFETY: the test thread is the only consumer.
        unsafe { q.pop() }
    }

    fn is_empty<T>(q: &Blocks<T>) -> bool {
        // SAFETY: as above.
        unsafe { q.is_empty() }
    }

    const BLOCK: usize = block_bytes::<u64>();

    #[test]
    fn fifo_across_block_boundaries() {
        let q = Blocks::new(0);
        assert!(is_empty(&q) && q.looks_empty());
        assert_eq!(pop(&q), None);
        let n = 3 * BLOCK_SLOTS as u64 + 5;
        for i in 0..n {
            q.push(i);
        }
        assert!(!is_empty(&q) && !q.looks_empty());
        for i in 0..n {
            assert_eq!(pop(&q), Some(i));
        }
        assert_eq!(pop(&q), None);
        assert!(is_empty(&q) && q.looks_empty());
    }

    /// Positions are `usize`s that wrap around (after 4 Gi items on a 32-bit target such
    /// as the Pi's armv7): FIFO order, the empty checks and the values left inside all
    /// carry on across the wrap, and no arithmetic overflows.
    #[test]
    fn positions_wrap_around_usize_max() {
        let drops = Count::new(0);
        {
            let start = 0usize.wrapping_sub(2 * LAP);
            let q = Blocks::starting_at(2 * BLOCK, start);
            assert!(is_empty(&q) && q.looks_empty());
            let n = 4 * BLOCK_SLOTS as u64 + 3;
            for i in 0..n {
                q.push(Counted(i, &drops));
            }
            for i in 0..n - 5 {
                assert_eq!(pop(&q).map(|c| c.0), Some(i));
            }
            assert!(!is_empty(&q) && !q.looks_empty());
            for i in n - 5..n - 2 {
                assert_eq!(pop(&q).map(|c| c.0), Some(i));
            }
            assert!(q.tail.index.load(Ordering::Relaxed) < start, "wrapped");
            // Two left inside, dropped with the queue.
        }
        assert_eq!(drops.load(Ordering::Relaxed), 4 * BLOCK_SLOTS + 3);
    }

    #[test]
    fn a_block_of_charged_values_is_charged_at_least_its_size() {
        assert!(BLOCK_SLOTS * slot_bytes::<u64>() >= BLOCK);
        assert!(BLOCK_SLOTS * slot_bytes::<[u8; 100]>() >= block_bytes::<[u8; 100]>());
    }

    #[test]
    fn spares_are_preallocated_reused_and_charged() {
        let q = Blocks::<u64>::new(4 * BLOCK);
        assert_eq!(q.spares.len(), 4);
        assert_eq!(q.budget.used(), 4 * BLOCK);
        // Two blocks' worth of values: each install takes a spare and gives its charge
        // back, each emptied block goes back to the pool, charged again.
        for i in 0..(2 * BLOCK_SLOTS) as u64 {
            q.push(i);
        }
        assert_eq!(q.spares.len(), 2);
        assert_eq!(q.budget.used(), 2 * BLOCK);
        for i in 0..(2 * BLOCK_SLOTS) as u64 {
            assert_eq!(pop(&q), Some(i));
        }
        assert_eq!(q.spares.len(), 4);
        assert_eq!(q.budget.used(), 4 * BLOCK);
        // Interleaved use cycles through them, values intact.
        for round in 0..4 * BLOCK_SLOTS as u64 {
            q.push(round);
            q.push(round + 1000);
            assert_eq!(pop(&q), Some(round));
            assert_eq!(pop(&q), Some(round + 1000));
        }
        assert_eq!(q.budget.used(), q.spares.len() * BLOCK);
        assert_eq!(pop(&q), None);
    }

    #[test]
    fn a_short_budget_frees_spares_before_it_refuses() {
        let q = Blocks::<u64>::new(4 * BLOCK);
        assert_eq!(q.budget.used(), q.limit());
        // The budget is all spares: a reservation frees one and succeeds.
        assert!(q.reserve(8));
        assert_eq!(q.spares.len(), 3);
        // More than the rest of the budget: every spare goes, and still no room.
        assert!(!q.reserve(q.limit()));
        assert_eq!(q.spares.len(), 0);
        q.release(8);
        // Emptied blocks are kept only while the budget has room for them.
        assert!(q.reserve(q.limit() - BLOCK / 2));
        for i in 0..(2 * BLOCK_SLOTS) as u64 {
            q.push(i);
        }
        for _ in 0..2 * BLOCK_SLOTS {
            pop(&q).unwrap();
        }
        assert_eq!(q.spares.len(), 0);
    }

    impl<T> Blocks<T> {
        /// Claims the tail's slot as `push` does, without writing it: a producer stalled
        /// right after its claim.
        fn claim(&self) -> (*mut Block<T>, usize) {
            let tail = self.tail.index.load(Ordering::Acquire);
            let block = self.tail.block.load(Ordering::Acquire);
            assert!(
                tail % LAP + 1 < BLOCK_SLOTS,
                "the test claims no block's last slot"
            );
            self.tail
                .index
                .store(tail.wrapping_add(1), Ordering::SeqCst);
            (block, tail % LAP)
        }
    }

    #[test]
    fn a_stalled_claim_is_passed_and_its_value_pushed_again() {
        let q = Blocks::new(4 * BLOCK);
        q.push(1);
        let (block, offset) = q.claim();
        q.push(3);
        assert_eq!(pop(&q), Some(1));
        // The claimed slot is not written: the consumer waits a little, then passes it.
        assert_eq!(pop(&q), Some(3));
        assert_eq!(pop(&q), None);
        // The producer comes back: its slot was passed, so it gets its value back.
        // SAFETY: `claim` claimed this slot and nothing wrote it.
        assert_eq!(unsafe { q.write(block, offset, 2) }, Err(2));
        q.push(2);
        assert_eq!(pop(&q), Some(2));
        assert_eq!(pop(&q), None);
    }

    #[test]
    fn a_block_with_a_passed_slot_is_recycled_by_whoever_lets_go_last() {
        let q = Blocks::<u64>::new(8 * BLOCK);
        // Empty the pool first, so that every recycled block shows in it.
        for i in 0..(BLOCK_SLOTS as u64) * 8 {
            q.push(i);
        }
        while pop(&q).is_some() {}
        let spares = q.spares.len();
        // Claim a slot in the next block and let the consumer pass it and leave the block.
        let tail = q.tail.index.load(Ordering::Relaxed);
        for i in 0..(BLOCK_SLOTS - tail % LAP) as u64 {
            if i == 1 {
                let (block, offset) = q.claim();
                // Leave the block while the claim is outstanding.
                for j in 0..(BLOCK_SLOTS - tail % LAP - 2) as u64 + 1 {
                    q.push(100 + j);
                }
                while pop(&q).is_some() {}
                assert_eq!(
                    q.spares.len(),
                    spares - 1,
                    "the block left is not recycled yet"
                );
                // SAFETY: `claim` claimed this slot and nothing wrote it.
                assert!(unsafe { q.write(block, offset, 7) }.is_err());
                assert_eq!(q.spares.len(), spares, "the producer recycled it");
                break;
            }
            q.push(i);
        }
    }

    #[test]
    fn a_passed_value_is_dropped_exactly_once() {
        let drops = Count::new(0);
        {
            let q = Blocks::new(0);
            q.push(Counted(0, &drops));
            let (block, offset) = q.claim();
            q.push(Counted(2, &drops));
            assert_eq!(pop(&q).unwrap().0, 0);
            assert_eq!(pop(&q).unwrap().0, 2);
            // SAFETY: `claim` claimed this slot and nothing wrote it.
            let back = unsafe { q.write(block, offset, Counted(1, &drops)) };
            let back = back.expect_err("passed");
            assert_eq!(drops.load(Ordering::Relaxed), 2);
            q.push(back);
        }
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn values_left_inside_are_dropped_exactly_once() {
        let drops = Count::new(0);
        {
            let q = Blocks::new(2 * BLOCK);
            let n = 3 * BLOCK_SLOTS as u64 + 3;
            for i in 0..n {
                q.push(Counted(i, &drops));
            }
            // Take some, across a block boundary (recycling it), and leave the rest.
            for i in 0..BLOCK_SLOTS as u64 + 1 {
                let item = pop(&q).unwrap();
                assert_eq!(item.0, i);
            }
            assert_eq!(drops.load(Ordering::Relaxed), BLOCK_SLOTS + 1);
        }
        assert_eq!(drops.load(Ordering::Relaxed), 3 * BLOCK_SLOTS + 3);
    }

    #[test]
    fn a_queue_ending_on_a_block_boundary_drops_cleanly() {
        let drops = Count::new(0);
        {
            let q = Blocks::new(0);
            for i in 0..BLOCK_SLOTS as u64 {
                q.push(Counted(i, &drops));
            }
        }
        assert_eq!(drops.load(Ordering::Relaxed), BLOCK_SLOTS);
    }

    /// A block is built where it lives: a thread whose stack is smaller than a block of
    /// its items can still make a queue of them (its first block and its spares) and the
    /// blocks its installs allocate. (Moving such items in and out takes stack of its own,
    /// a few items' worth per call in a debug build: not tried here.)
    #[test]
    #[cfg_attr(miri, ignore = "Miri does not model a thread's stack size")]
    fn a_block_larger_than_the_stack_is_not_built_on_it() {
        type Big = [u8; 64 << 10];
        // A block of these is about 2 MiB; the thread has 1 MiB of stack.
        assert!(block_bytes::<Big>() > 1 << 20);
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let q = Blocks::<Big>::new(2 * block_bytes::<Big>());
                assert_eq!(q.spares.len(), 2);
                drop(Block::<Big>::new());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn concurrent_producers_each_keep_their_order() {
        const PRODUCERS: u64 = 3;
        let per = if cfg!(miri) { 40 } else { 10_000 };
        let q = Arc::new(Blocks::new(2 * BLOCK));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let q = Arc::clone(&q);
                std::thread::spawn(move || {
                    for i in 0..per {
                        q.push((p, i));
                    }
                })
            })
            .collect();
        let mut next = [0; PRODUCERS as usize];
        let mut got = 0;
        while got < PRODUCERS * per {
            match pop(&q) {
                Some((p, i)) => {
                    assert_eq!(next[p as usize], i, "producer {p} out of order");
                    next[p as usize] += 1;
                    got += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(pop(&q), None);
    }

    /// The order in which the consumer and a producer it passed let go of their block.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum LetGo {
        /// The consumer leaves the block before the producer comes back: the producer
        /// recycles it.
        ConsumerFirst,
        /// The producer comes back, takes its value back and pushes it again before the
        /// consumer leaves the block: the consumer recycles it.
        ProducerFirst,
        /// Both at once, in whatever order the scheduler has them.
        Racing,
    }

    /// The value of the stalled producer in `a_producer_stalled_on_another_thread`.
    const STALLED: usize = usize::MAX;

    /// A producer thread claims position `slot` of the first block in `push` and stalls
    /// there; the consumer passes the slot; the producer comes back (when `order` says),
    /// finds its slot passed, takes its value back and pushes it again. Every value
    /// arrives once (boxed, so that a value lost, duplicated or dropped twice shows, under
    /// Miri at least), the block is recycled by whichever of the two lets go last, and
    /// the budget ends holding exactly the pool's blocks.
    fn a_producer_stalled_on_another_thread(slot: usize, order: LetGo) {
        // A block of boxes: its size differs from a block of `u64`s where pointers are
        // 32 bits wide (the ARMv7 Pi).
        const BLOCK: usize = block_bytes::<Box<usize>>();
        let q = Arc::new(Blocks::<Box<usize>>::new(2 * BLOCK));
        let gate = Arc::new(Barrier::new(2));
        for i in 0..slot {
            q.push(Box::new(i));
        }
        let producer = {
            let (q, gate) = (Arc::clone(&q), Arc::clone(&gate));
            std::thread::spawn(move || {
                let stall = Arc::clone(&gate);
                stall_after_next_claim(move || {
                    stall.wait(); // 1: claimed
                    stall.wait(); // 2: passed
                });
                q.push(Box::new(STALLED));
                gate.wait(); // 3: pushed again
            })
        };
        let mut got = Vec::new();
        // Takes the next value, if there is one.
        fn take(q: &Blocks<Box<usize>>, got: &mut Vec<usize>) {
            match pop(q) {
                Some(value) => got.push(*value),
                None => std::thread::yield_now(),
            }
        }
        gate.wait(); // 1
        for _ in 0..slot {
            take(&q, &mut got);
        }
        assert_eq!(got, (0..slot).collect::<Vec<_>>());
        // The claimed slot is not written: the consumer passes it, and finds the queue
        // empty. (At the block's last slot, the consumer leaves the block right away.)
        assert_eq!(pop(&q), None);
        // The rest of the first block.
        let fill = slot + 1..BLOCK_SLOTS;
        match order {
            LetGo::ConsumerFirst => {
                for i in fill.clone() {
                    q.push(Box::new(i));
                }
                for _ in fill.clone() {
                    take(&q, &mut got);
                }
                // Left, not recycled: the producer has not let go.
                let spares = q.spares.len();
                gate.wait(); // 2
                gate.wait(); // 3
                assert_eq!(
                    q.spares.len(),
                    spares + 1,
                    "the producer recycled the block"
                );
                take(&q, &mut got);
                let mut want: Vec<_> = (0..BLOCK_SLOTS).filter(|&i| i != slot).collect();
                want.push(STALLED);
                assert_eq!(got, want);
            }
            LetGo::ProducerFirst => {
                assert!(slot + 1 < BLOCK_SLOTS, "a passed last slot is left at once");
                gate.wait(); // 2
                gate.wait(); // 3
                for i in fill.clone() {
                    q.push(Box::new(i));
                }
                // Popping the block's last slot leaves it: the consumer recycles it.
                let spares = q.spares.len();
                for _ in 0..fill.len() + 1 {
                    take(&q, &mut got);
                }
                assert_eq!(
                    q.spares.len(),
                    spares + 1,
                    "the consumer recycled the block"
                );
                let mut want: Vec<_> = (0..slot).collect();
                want.push(STALLED);
                want.extend(fill);
                assert_eq!(got, want);
            }
            LetGo::Racing => {
                gate.wait(); // 2
                for i in fill.clone() {
                    q.push(Box::new(i));
                }
                while got.len() < BLOCK_SLOTS {
                    take(&q, &mut got);
                }
                gate.wait(); // 3
                let others: Vec<_> = got.iter().copied().filter(|&v| v != STALLED).collect();
                let want: Vec<_> = (0..BLOCK_SLOTS).filter(|&i| i != slot).collect();
                assert_eq!(others, want, "the others in order");
                assert_eq!(got.iter().filter(|&&v| v == STALLED).count(), 1);
            }
        }
        producer.join().unwrap();
        assert_eq!(pop(&q), None);
        assert_eq!(q.budget.used(), q.spares.len() * BLOCK);
    }

    #[test]
    fn a_stalled_producer_recycles_the_block_the_consumer_left() {
        a_producer_stalled_on_another_thread(1, LetGo::ConsumerFirst);
    }

    #[test]
    fn the_consumer_recycles_a_block_its_passed_producer_let_go_of() {
        a_producer_stalled_on_another_thread(1, LetGo::ProducerFirst);
    }

    #[test]
    fn a_stalled_producer_and_the_consumer_let_go_at_once() {
        a_producer_stalled_on_another_thread(1, LetGo::Racing);
    }

    /// The installer itself stalls after installing the next block: the consumer passes
    /// the block's last slot and moves on to the new block at once.
    #[test]
    fn a_stalled_installer_is_passed_and_recycles_the_block_it_filled() {
        a_producer_stalled_on_another_thread(BLOCK_SLOTS - 1, LetGo::ConsumerFirst);
    }

    #[test]
    fn a_stalled_installer_and_the_consumer_let_go_at_once() {
        a_producer_stalled_on_another_thread(BLOCK_SLOTS - 1, LetGo::Racing);
    }

    /// A first slot is claimed on the fast path too.
    #[test]
    fn a_stalled_first_claim_is_passed() {
        a_producer_stalled_on_another_thread(0, LetGo::Racing);
    }

    /// A sender short of budget evicts spares while the consumer recycles emptied blocks
    /// into the pool and installs take them out: every charge comes back, none twice, and
    /// the pool never holds more than the budget has room for.
    #[test]
    fn eviction_races_recycling_and_installs() {
        let q = Arc::new(Blocks::<u64>::new(3 * BLOCK));
        let rounds = if MIRI { 8 } else { 2000 };
        let evictor = {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    assert!(q.reserve(BLOCK), "spares always give way");
                    std::thread::yield_now();
                    q.release(BLOCK);
                }
            })
        };
        let n = if MIRI { 3 * BLOCK_SLOTS } else { 20_000 } as u64;
        for i in 0..n {
            q.push(i);
            assert_eq!(pop(&q), Some(i));
        }
        evictor.join().unwrap();
        assert_eq!(q.budget.used(), q.spares.len() * BLOCK);
        assert!(q.spares.len() <= 3);
    }
}
