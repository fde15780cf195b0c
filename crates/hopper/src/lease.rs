//! Memory budget leased to a sender in chunks, so that a send takes its item's charge
//! without a read-modify-write on the shared budget.
//!
//! Every sender writes the budget's counter, so taking each item's charge there moves the
//! counter's cache line between cores on every send: profiled on `hopper/1M-in-memory`,
//! that compare-and-swap alone took about a third of the samples once the queue itself
//! was cheap. A sender with a *lease* takes a chunk of [`lease_chunk`] bytes at a time
//! and charges its items against it locally; it goes back to the counter once per chunk.
//!
//! # The slack leases cost
//!
//! Bytes leased and not yet used are charged but hold nothing, so a send elsewhere can
//! find the budget full while the channel is under its bound by that much. To keep that
//! bounded whatever the number of senders, at most [`LEASE_SEATS`] senders hold a lease at
//! once (the others take each charge from the budget exactly), and each holds less than one
//! chunk: at most `LEASE_SEATS × lease_chunk = limit / 16` bytes are leased unused. A
//! sender whose lease cannot be topped up hands its rest back with its seat before it
//! spills, and a dropped sender does the same; a sender that goes quiet keeps its seat and
//! its rest, which is the slack above. A bound too small for a chunk to hold two items
//! leases nothing.

use crate::queue::Queue;

/// Senders that may hold a lease at once.
pub(crate) const LEASE_SEATS: usize = 8;

/// The budget is leased in chunks of `limit / LEASE_DIVISOR`: with [`LEASE_SEATS`] seats,
/// at most 1/16 of the bound is leased and unused. Chunks are large enough that a
/// sender of small items goes to the shared counter once per hundreds of items (the
/// default 1 MiB bound leases 8 KiB at a time: about 250 `u64`s).
const LEASE_DIVISOR: usize = 128;

/// Bytes leased at a time under a bound of `limit` bytes.
pub(crate) const fn lease_chunk(limit: usize) -> usize {
    limit / LEASE_DIVISOR
}

/// One sender's lease: bytes of the budget it has taken and not yet charged to an item.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    credit: usize,
    seated: bool,
}

impl Lease {
    /// Takes `charge` bytes for an item: from the lease if it has them, else from the
    /// budget, topping the lease up by a chunk when the sender has or gets a seat.
    /// `false` if the budget has no room even with the lease's rest: the rest and the
    /// seat are then handed back.
    #[inline]
    pub(crate) fn take<T, R>(&mut self, queue: &Queue<T, R>, charge: usize) -> bool {
        match self.credit.checked_sub(charge) {
            Some(rest) => {
                self.credit = rest;
                true
            }
            None => self.top_up(queue, charge),
        }
    }

    /// `take` when the lease is short.
    #[inline(never)]
    fn top_up<T, R>(&mut self, queue: &Queue<T, R>, charge: usize) -> bool {
        let chunk = lease_chunk(queue.limit());
        // The chunk must hold this item and another, or leasing saves nothing.
        if chunk / 2 >= charge && (self.seated || queue.budget().take_seat(LEASE_SEATS)) {
            self.seated = true;
            // credit < charge <= chunk / 2: the new credit stays below a chunk.
            if queue.reserve(chunk) {
                self.credit += chunk - charge;
                return true;
            }
        }
        if queue.reserve(charge - self.credit) {
            self.credit = 0;
            return true;
        }
        self.give_back(queue);
        false
    }

    /// Returns the unused rest to the budget and the seat, if held.
    pub(crate) fn give_back<T, R>(&mut self, queue: &Queue<T, R>) {
        queue.release(std::mem::take(&mut self.credit));
        if std::mem::take(&mut self.seated) {
            queue.budget().leave_seat();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A queue whose budget has no room for spare blocks, so that every byte used is a
    /// lease's or an item's.
    fn queue(limit: usize) -> Queue<u64> {
        let q = Queue::new(limit);
        // The whole budget frees every spare; then give it back.
        assert!(q.reserve(limit));
        q.release(limit);
        q
    }

    #[test]
    fn a_lease_takes_a_chunk_and_charges_items_locally() {
        let limit = 128 * 1024;
        let q = queue(limit);
        let mut lease = Lease::default();
        assert!(lease.take(&q, 100));
        assert_eq!(q.budget().used(), lease_chunk(limit));
        // The rest of the chunk serves the next items without touching the budget.
        let mut taken = 100;
        while taken + 100 <= lease_chunk(limit) {
            assert!(lease.take(&q, 100));
            taken += 100;
        }
        assert_eq!(q.budget().used(), lease_chunk(limit));
        // The next one tops it up by a chunk.
        assert!(lease.take(&q, 100));
        assert_eq!(q.budget().used(), 2 * lease_chunk(limit));
        lease.give_back(&q);
        assert_eq!(q.budget().used(), taken + 100);
    }

    #[test]
    fn at_most_lease_seats_senders_lease_and_the_rest_take_exactly() {
        let limit = 128 * 1024;
        let q = queue(limit);
        let mut leases: Vec<Lease> = (0..LEASE_SEATS + 2).map(|_| Lease::default()).collect();
        for lease in &mut leases {
            assert!(lease.take(&q, 8));
        }
        let leased = LEASE_SEATS * lease_chunk(limit);
        assert_eq!(q.budget().used(), leased + 2 * 8);
        assert!(leased <= limit / 16, "the documented slack");
        for lease in &mut leases {
            lease.give_back(&q);
        }
        assert_eq!(q.budget().used(), (LEASE_SEATS + 2) * 8);
        // The seats are free again.
        let mut lease = Lease::default();
        assert!(lease.take(&q, 8));
        assert_eq!(
            q.budget().used(),
            (LEASE_SEATS + 2) * 8 + lease_chunk(limit)
        );
    }

    #[test]
    fn a_full_budget_takes_the_rest_of_a_lease_then_refuses_and_hands_it_back() {
        let limit = 128 * 1024;
        let q = queue(limit);
        let mut lease = Lease::default();
        assert!(lease.take(&q, 100));
        // Fill the budget behind the lease's back.
        assert!(q.reserve(limit - lease_chunk(limit)));
        let mut taken = 100;
        while lease.take(&q, 100) {
            taken += 100;
        }
        // It used all of its chunk it could, then gave the rest and its seat back.
        assert_eq!(taken, lease_chunk(limit) / 100 * 100);
        assert_eq!(q.budget().used(), limit - lease_chunk(limit) + taken);
        assert!(q.budget().take_seat(LEASE_SEATS));
    }

    #[test]
    fn a_bound_too_small_for_two_items_per_chunk_leases_nothing() {
        let q = queue(4096);
        let mut lease = Lease::default();
        assert!(lease.take(&q, 24));
        assert!(lease.take(&q, 24));
        assert_eq!(
            q.budget().used(),
            48,
            "each item charged exactly, nothing leased"
        );
        lease.give_back(&q);
        assert_eq!(q.budget().used(), 48);
    }
}
