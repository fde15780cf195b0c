//! The memory bound's ledger: how many bytes are charged for what the channel holds in
//! memory, and the most that may be.
//!
//! Senders take their items' charges before they queue them, most of them in chunks
//! leased ahead (`lease.rs`); the receiver gives charges back (in batches, see
//! `channel.rs`); the memory queue charges the emptied blocks it keeps for reuse, and
//! frees them when a sender needs the room (`queue/spares.rs`).
//!
//! Every access is `Relaxed`: the ledger is a count, and no data is handed over through it
//! (the queue's slot flags do that).

use crate::sync::AtomicUsize;
use std::sync::atomic::Ordering;

#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
    /// Senders holding a lease (`lease.rs`), at most `LEASE_SEATS`.
    seats: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            seats: AtomicUsize::new(0),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `bytes`, if the bound has room for them.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` taken earlier.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Takes `bytes` whatever the bound: for the one item an empty channel takes whatever
    /// its charge (see `Sender::spill`).
    pub(crate) fn force(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Takes one of `max` seats, if one is free.
    pub(crate) fn take_seat(&self, max: usize) -> bool {
        self.seats
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |taken| {
                (taken < max).then_some(taken + 1)
            })
            .is_ok()
    }

    pub(crate) fn leave_seat(&self) {
        self.seats.fetch_sub(1, Ordering::Relaxed);
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}
