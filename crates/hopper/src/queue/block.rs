//! A block of the memory queue: `BLOCK_SLOTS` slots and a link to the next block.

use crate::sync::{AtomicPtr, AtomicU8, AtomicUsize, UnsafeCell};
use std::mem::{MaybeUninit, size_of};
use std::ptr;
use std::sync::atomic::Ordering;

/// Slots in a block. crossbeam's choice: big enough that installing a block (a few stores,
/// a spare taken from the pool) is rare, small enough that the partly used blocks at the
/// queue's two ends (documented in `memory_overhead`) stay small. Two under loom, so that
/// a model of a few items installs, crosses and recycles blocks.
#[cfg(not(loom))]
pub(crate) const BLOCK_SLOTS: usize = 31;
#[cfg(loom)]
pub(crate) const BLOCK_SLOTS: usize = 2;

/// A slot's state: claimed or not, nothing written yet. Zero, so that a zeroed block is
/// an empty one (`Block::new`).
pub(super) const EMPTY: u8 = 0;
/// The producer has written the value (set with `Release`).
pub(super) const WRITTEN: u8 = 1;
/// The consumer gave up waiting for the value and went past; the producer takes its value
/// back and pushes it again.
pub(super) const PASSED: u8 = 2;

/// One value's place.
pub(super) struct Slot<T> {
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
    /// [`EMPTY`], [`WRITTEN`] or [`PASSED`]; `EMPTY` again when the block is recycled.
    pub(super) state: AtomicU8,
}

pub(super) struct Block<T> {
    /// In the queue: the next block, set by the producer that claimed this block's last
    /// slot, before it writes that slot. In the pool of spares: the next spare.
    pub(super) next: AtomicPtr<Block<T>>,
    /// Producers whose slot the consumer passed and who have since let go of the block,
    /// less the number of slots passed once the consumer has left the block (adding
    /// [`LEFT`] less that number); see `Queue::leave`.
    pub(super) passed: AtomicUsize,
    pub(super) slots: [Slot<T>; BLOCK_SLOTS],
}

/// Added to [`Block::passed`] when the consumer leaves the block: the word reads exactly
/// `LEFT` once every producer whose slot was passed has let go.
pub(super) const LEFT: usize = 1 << (usize::BITS - 1);

/// Bytes a block occupies.
pub(crate) const fn block_bytes<T>() -> usize {
    size_of::<Block<T>>()
}

/// Bytes each queued value is charged for its place: a block's bytes (slots, link and
/// counter) shared among its slots, rounded up, so that a block of charged values is
/// charged at least its size.
pub(crate) const fn slot_bytes<T>() -> usize {
    block_bytes::<T>().div_ceil(BLOCK_SLOTS)
}

impl<T> Block<T> {
    /// A fresh block, allocated zeroed: `Box::new(Block { .. })` builds the block on the
    /// stack first (in debug builds at least), and a block of large items — 31 of them —
    /// overflows a thread's stack (as crossbeam's `SegQueue` did until 0.3.12).
    #[cfg(not(loom))]
    pub(super) fn new() -> Box<Self> {
        let mut block = Box::<Self>::new_uninit();
        // SAFETY: all-zero bytes are a valid block: a null `next`, a zero `passed`, and
        // every slot `EMPTY` (0) with its value uninitialized (a `MaybeUninit` holds any
        // bytes). The atomics and `UnsafeCell`s are plain integers and pointers in memory.
        unsafe {
            block.as_mut_ptr().write_bytes(0, 1);
            block.assume_init()
        }
    }

    /// loom's atomics are not plain integers, so they are built one by one (a block has
    /// two slots under loom).
    #[cfg(loom)]
    pub(super) fn new() -> Box<Self> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            passed: AtomicUsize::new(0),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicU8::new(EMPTY),
            }),
        })
    }

    /// Makes a block whose values have all been taken as good as new. `Relaxed`: the block
    /// reaches its next user through the pool's mutex, which orders these stores first.
    pub(super) fn clear(&self) {
        self.next.store(ptr::null_mut(), Ordering::Relaxed);
        self.passed.store(0, Ordering::Relaxed);
        for slot in &self.slots {
            slot.state.store(EMPTY, Ordering::Relaxed);
        }
    }
}
