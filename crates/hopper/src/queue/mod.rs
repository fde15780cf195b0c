//! The memory queue: a multi-producer, single-consumer FIFO of the channel's in-memory
//! entries, which also keeps the channel's memory budget. Two flavours behind one type,
//! chosen when the channel is built:
//!
//! - the **ring** (`ring.rs`): an array of slots allocated whole, for entries charged
//!   exactly their slot (the channel's shallow accounting) and a bound of at least a
//!   block's worth of slots and at most [`PREALLOCATE_MAX`] — the fast one (the ring's
//!   module docs give the measurements);
//! - the **list** (`blocks.rs`): blocks of `BLOCK_SLOTS` slots, reused through a pool of
//!   spares charged to the budget, for entries also charged their heap bytes (whose
//!   charges the spares give way to), for bounds too large to allocate up front, and for
//!   the tiny ones (a bound of 0, which spills everything, still takes the one item an
//!   empty channel accepts whatever its charge).
//!
//! Both claim a slot with a `SeqCst` compare-and-swap on their tail, which is the
//! producer's half of the receiver's wake-up handshake (`Shared::wake_after_push` in
//! `channel.rs`), and both tell the receiver "empty" only when nothing is claimed beyond
//! its head. They differ in what the receiver meets at a slot that is claimed and not yet
//! written: the list passes it after a short wait (the producer pushes its value again),
//! the ring spins until it is written, as `sync_channel` does.

mod block;
mod blocks;
mod ring;
mod spares;

pub(crate) use block::{BLOCK_SLOTS, block_bytes, slot_bytes};
#[cfg(all(test, not(loom)))]
pub(crate) use ring::ring_slot_bytes;

use crate::budget::Budget;
use blocks::Blocks;
use ring::Ring;

/// Most bytes a new queue allocates up front: the ring for its whole bound, or the list's
/// spare blocks for it — as `sync_channel(n)` allocates its `n` slots — so that items
/// flowing in later find memory already mapped instead of taking a page fault every few
/// dozen items. Beyond it, a channel given a huge bound so as to never spill would commit
/// all of it at once: it gets the list, which allocates the rest as it goes.
pub(crate) const PREALLOCATE_MAX: usize = 64 << 20;

/// A queue of `T`; the ring flavour keeps each as an `R` (see [`Pack`]).
pub(crate) struct Queue<T, R = T>(Flavour<T, R>);

enum Flavour<T, R> {
    Ring(Ring<R>),
    Blocks(Blocks<T>),
}

/// The form `Self` keeps an entry of type `T` in, in a ring: the same value, or a smaller
/// one where the ring implies part of it. The channel's ring holds items charged exactly
/// their slot, so their entries need not carry the charge: at a million `u64` items that
/// is 24 bytes a slot instead of 32, memory the senders and the receiver stream through.
pub(crate) trait Pack<T>: Sized {
    /// `value` as the ring keeps it, or handed back if it does not fit that form.
    fn pack(value: T) -> Result<Self, T>;
    /// The value again.
    fn unpack(self) -> T;
}

impl<T> Pack<T> for T {
    #[inline]
    fn pack(value: T) -> Result<T, T> {
        Ok(value)
    }

    #[inline]
    fn unpack(self) -> T {
        self
    }
}

impl<T, R> Queue<T, R> {
    /// An empty list-flavoured queue whose budget allows `limit` bytes: for entries
    /// charged more than their slot (their heap bytes too), whose charges the list's spare
    /// blocks make room for.
    pub(crate) fn new(limit: usize) -> Self {
        Queue(Flavour::Blocks(Blocks::new(limit)))
    }

    /// An empty queue whose budget allows `limit` bytes, for entries each charged exactly
    /// [`slot_bytes`]: a ring if the bound holds at least a block's worth of slots and may
    /// be allocated up front, else a list.
    ///
    /// The ring has a slot for every `slot_bytes` of the bound — every queued entry is
    /// charged that, and a slot is free again before its charge is given back — and one
    /// more, for the item an empty channel takes whatever its charge. Held whole, it is
    /// the memory a full bound of such entries takes. (Entries also charged for heap
    /// bytes would find it held beside their heap: the bound twice over.) It is chosen
    /// only where a ring slot is no larger than `slot_bytes`, so that it occupies at most
    /// the bound and one slot: true of the channel's entries, whose alignment makes the
    /// list's one-byte state as wide as the ring's stamp (a test in `channel.rs` checks),
    /// not of a byte queue.
    pub(crate) fn for_slot_charges(limit: usize) -> Self {
        let capacity = limit / slot_bytes::<T>();
        let fits = ring::ring_slot_bytes::<R>() <= slot_bytes::<T>();
        // Not under loom, which cannot see into crossbeam's atomics (see `ring.rs`).
        if fits && capacity >= BLOCK_SLOTS && limit <= PREALLOCATE_MAX && !cfg!(loom) {
            Queue(Flavour::Ring(Ring::new(limit, capacity + 1)))
        } else {
            Self::new(limit)
        }
    }

    /// Whether this queue is the ring flavour.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_ring(&self) -> bool {
        matches!(self.0, Flavour::Ring(_))
    }

    /// The memory budget. Take bytes from it with [`reserve`](Self::reserve), which
    /// frees the list's spare blocks for them.
    pub(crate) fn budget(&self) -> &Budget {
        match &self.0 {
            Flavour::Ring(ring) => ring.budget(),
            Flavour::Blocks(list) => list.budget(),
        }
    }

    /// Bytes the budget allows.
    pub(crate) fn limit(&self) -> usize {
        self.budget().limit()
    }

    /// Takes `bytes` of the budget (freeing spare blocks for them if need be); `false` if
    /// the budget has not the room.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        match &self.0 {
            Flavour::Ring(ring) => ring.budget().reserve(bytes),
            Flavour::Blocks(list) => list.reserve(bytes),
        }
    }

    /// Gives back `bytes` reserved earlier.
    pub(crate) fn release(&self, bytes: usize) {
        self.budget().release(bytes);
    }

    /// Whether the consumer has taken everything pushed so far, as any thread can tell:
    /// `false` may be stale, `true` is not, as far as pushes that happen before this call
    /// go.
    pub(crate) fn looks_empty(&self) -> bool {
        match &self.0 {
            Flavour::Ring(ring) => ring.is_empty(),
            Flavour::Blocks(list) => list.looks_empty(),
        }
    }
}

impl<T, R: Pack<T>> Queue<T, R> {
    /// Appends `value`; hands it back only if the queue is a ring and full, which a
    /// channel that charges every entry before queuing it never sees (see
    /// [`for_slot_charges`](Self::for_slot_charges)), or the value does not fit the
    /// ring's form of it ([`Pack::pack`]).
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        match &self.0 {
            Flavour::Ring(ring) => ring.push(R::pack(value)?).map_err(R::unpack),
            Flavour::Blocks(list) => {
                list.push(value);
                Ok(())
            }
        }
    }

    /// Takes the value at the head; `None` if nothing is claimed beyond the head. (The
    /// list passes a slot claimed and not yet written, the ring waits for it.)
    ///
    /// # Safety
    ///
    /// Only one thread may call `pop` or [`is_empty`](Self::is_empty) at a time: the
    /// consumer's end is not synchronized.
    #[inline]
    pub(crate) unsafe fn pop(&self) -> Option<T> {
        match &self.0 {
            Flavour::Ring(ring) => ring.pop().map(R::unpack),
            // SAFETY: the caller's guarantee.
            Flavour::Blocks(list) => unsafe { list.pop() },
        }
    }

    /// Whether nothing has been claimed beyond what was popped (`SeqCst` load of the
    /// tail: the receiver's half of the wake-up handshake).
    ///
    /// # Safety
    ///
    /// As for [`pop`](Self::pop).
    pub(crate) unsafe fn is_empty(&self) -> bool {
        match &self.0 {
            Flavour::Ring(ring) => ring.is_empty(),
            // SAFETY: the caller's guarantee.
            Flavour::Blocks(list) => unsafe { list.is_empty() },
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_flavour_follows_the_bound() {
        let slot = slot_bytes::<u64>();
        let ring = |limit| Queue::<u64>::for_slot_charges(limit).is_ring();
        assert!(!ring(0), "a bound of 0 gets the list");
        assert!(!ring((BLOCK_SLOTS - 1) * slot));
        assert!(ring(BLOCK_SLOTS * slot));
        assert!(ring(64 << 10));
        if !cfg!(miri) {
            // The list preallocates its spares: 64 MiB of blocks is minutes under Miri.
            assert!(!ring(PREALLOCATE_MAX + 1));
        }
        assert!(!Queue::<u64>::new(64 << 10).is_ring());
        assert!(
            !Queue::<u8>::for_slot_charges(64 << 10).is_ring(),
            "a ring slot of bytes would outweigh their charge"
        );
    }

    /// Every entry the budget lets a channel charge, and the one item it forces past the
    /// bound, finds a slot in the ring.
    #[test]
    fn a_ring_holds_everything_the_budget_allows_and_one_more() {
        let limit = 100 * slot_bytes::<u64>() + 7;
        let q = Queue::<u64>::for_slot_charges(limit);
        assert!(q.is_ring());
        let mut pushed = 0;
        while q.reserve(slot_bytes::<u64>()) {
            q.push(pushed).unwrap();
            pushed += 1;
        }
        assert_eq!(pushed, 100);
        q.budget().force(slot_bytes::<u64>());
        assert_eq!(q.push(100), Ok(()), "the forced item");
        assert_eq!(q.push(101), Err(101), "and no more");
        for i in 0..=100 {
            // SAFETY: the test thread is the only consumer.
            assert_eq!(unsafe { q.pop() }, Some(i));
        }
    }
}
