//! The Michael–Scott queue over counted references.
//!
//! The same algorithm as [`crate::msqueue`]: a dummy node at the front, enqueuers link
//! behind the tail and help a lagging tail forward, dequeuers swing the head. Counted
//! links make the two traps of the pointer family harmless for memory safety — a node the
//! tail still names is kept alive by that count — but a pop still moves a lagging tail off
//! the node it unlinks, so the tail does not keep a dequeued node (and the value-less chain
//! behind it) alive longer than needed.

use std::marker::PhantomData;
use std::sync::Arc;

use arc_swap::ArcSwap;
use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item, ItemOrder};
use reclaim_smr::CountedScheme;
use reclaim_smr::counters::Participant;

use super::handle::{CountedOps, counted_container, stall_holding};
use super::node::Node;

/// A lock-free FIFO queue over counted scheme `C`.
pub struct CountedMsQueue<T, C: CountedScheme> {
    /// The dummy node; values are in the nodes after it.
    head: CachePadded<ArcSwap<Node<T>>>,
    /// The last node, or the one before it while an enqueue is half done.
    tail: CachePadded<ArcSwap<Node<T>>>,
    domain: C::Domain,
}

impl<T: Send + 'static, C: CountedScheme> Default for CountedMsQueue<T, C> {
    fn default() -> Self {
        Self::with_domain(C::new_domain())
    }
}

impl<T: Send + 'static, C: CountedScheme> CountedMsQueue<T, C> {
    fn with_domain(domain: C::Domain) -> Self {
        let dummy = Node::new(None);
        C::track(&domain, &dummy);
        CountedMsQueue {
            head: CachePadded::new(ArcSwap::new(Arc::clone(&dummy))),
            tail: CachePadded::new(ArcSwap::new(dummy)),
            domain,
        }
    }
}

impl<T: Send + 'static, C: CountedScheme> CountedOps<T> for CountedMsQueue<T, C> {
    type Scheme = C;

    fn domain(&self) -> &C::Domain {
        &self.domain
    }

    fn push(&self, value: T) {
        let node = Node::new(Some(value));
        loop {
            let tail = self.tail.load_full();
            if let Some(next) = tail.next.get() {
                // The tail lags: help the enqueuer that linked `next`, then retry.
                self.tail.compare_and_swap(&tail, next);
                continue;
            }
            if tail.next.set(Arc::clone(&node)).is_ok() {
                // Tracked once linked, nearly in link order (see `CountedScheme::track`),
                // before our own reference goes to the tail: nobody can free it first.
                C::track(&self.domain, &node);
                // Swing the tail; if this fails another thread already helped.
                self.tail.compare_and_swap(&tail, node);
                break;
            }
        }
        C::released(&self.domain);
    }

    fn pop(&self, participant: &Participant<'_>) -> Option<T> {
        let value = loop {
            let head = self.head.load_full();
            let Some(next) = head.next.get() else {
                break None;
            };
            let previous = self.head.compare_and_swap(&head, Arc::clone(&next));
            if !Arc::ptr_eq(&previous, &head) {
                continue;
            }
            // A lagging tail would keep the unlinked node alive: move it on.
            if Arc::ptr_eq(&self.tail.load(), &head) {
                self.tail.compare_and_swap(&head, Arc::clone(&next));
            }
            head.retire(participant);
            // SAFETY: our compare-and-swap made `next` the new dummy: we alone take its
            // value, once.
            break unsafe { next.take() };
        };
        C::released(&self.domain);
        value
    }

    fn stall(&self, wait: &mut dyn FnMut()) {
        stall_holding::<C, _>(&self.domain, self.head.load_full(), wait);
    }
}

impl<T, C: CountedScheme> Drop for CountedMsQueue<T, C> {
    fn drop(&mut self) {
        // As for the counted Treiber stack: `rc` frees here, counted in the teardown shard,
        // `sweep` leaves the nodes to the collector. Pointing the head at the last node
        // releases the whole chain in front of it now, inside the teardown. The last node
        // was never unlinked (not retired, so its free is not counted) and goes with the
        // fields.
        let (head, tail) = (&self.head, &self.tail);
        C::teardown(&mut self.domain, || drop(head.swap(tail.load_full())));
    }
}

counted_container!(CountedMsQueue, CountedMichaelScott);

/// The registry's marker for a Michael–Scott queue over counted scheme `C`.
#[derive(Debug)]
pub struct CountedMichaelScott<C>(PhantomData<fn() -> C>);

impl<C: CountedScheme> Backend for CountedMichaelScott<C> {
    const INFO: Info = Info {
        structure: "msqueue",
        scheme: C::NAME,
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Michael-Scott queue: dummy head, helping tail, two CASes per enqueue",
        settings: C::SETTINGS,
        knobs: C::KNOBS,
    };
    type Container<T: Item> = CountedMsQueue<T, C>;
}
