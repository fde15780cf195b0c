//! The Michael–Scott queue over circ.
//!
//! The same algorithm as [`crate::msqueue`]: a dummy node at the front, enqueuers link
//! behind the tail and help a lagging tail forward, dequeuers swing the head. The links
//! own counts, so the pointer family's trap — a tail naming a node already freed — cannot
//! happen; but, as in the counted family, a pop still moves a lagging tail off the node it
//! unlinks, so the tail's count does not hold that node (and what it links) back from
//! circ's destruction.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use circ::{AtomicRc, Guard, Rc, Snapshot};
use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item, ItemOrder};
use reclaim_smr::counters::Participant;

use super::domain::{self, CircDomain};
use super::handle::{CircOps, circ_container};
use super::node::Node;

/// A lock-free FIFO queue over circ.
pub struct CircMsQueue<T> {
    /// The dummy node; values are in the nodes after it. Never null.
    head: CachePadded<AtomicRc<Node<T>>>,
    /// The last node, or the one before it while an enqueue is half done. Never null.
    tail: CachePadded<AtomicRc<Node<T>>>,
    domain: CircDomain,
}

impl<T> Default for CircMsQueue<T> {
    fn default() -> Self {
        let [for_head, for_tail] = Rc::new_many(Node::new(None));
        CircMsQueue {
            head: CachePadded::new(AtomicRc::from(for_head)),
            tail: CachePadded::new(AtomicRc::from(for_tail)),
            domain: CircDomain::default(),
        }
    }
}

impl<T> CircMsQueue<T> {
    /// Swings the tail from `from` to `to` if it still names `from`; if not, another
    /// thread already moved it on.
    fn swing_tail<'g>(&self, from: Snapshot<'g, Node<T>>, to: Rc<Node<T>>, guard: &'g Guard) {
        match self
            .tail
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire, guard)
        {
            Ok(former) => former.finalize(guard),
            Err(failed) => failed.desired.finalize(guard),
        }
    }
}

impl<T: Send + 'static> CircOps<T> for CircMsQueue<T> {
    fn domain(&self) -> &CircDomain {
        &self.domain
    }

    fn push(&self, value: T) {
        let guard = circ::cs();
        // Two counts from the start, one for the link that publishes the node and one for
        // the tail, so neither costs an increment of its own.
        let [mut node, for_tail] = Rc::new_many(Node::new(Some(value)));
        loop {
            let tail = self.tail.load(Ordering::Acquire, &guard);
            let last = tail.as_ref().expect("the tail is never null");
            let next = last.next.load(Ordering::Acquire, &guard);
            if !next.is_null() {
                // The tail lags: help the enqueuer that linked `next`, then retry.
                self.swing_tail(tail, next.counted(), &guard);
                continue;
            }
            match last.next.compare_exchange(
                Snapshot::null(),
                node,
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                Ok(_null) => {
                    self.swing_tail(tail, for_tail, &guard);
                    return;
                }
                Err(failed) => node = failed.desired,
            }
        }
    }

    fn pop(&self, participant: &Participant<'_>) -> Option<T> {
        let guard = circ::cs();
        loop {
            let head = self.head.load(Ordering::Acquire, &guard);
            let dummy = head.as_ref().expect("the head is never null");
            let next = dummy.next.load(Ordering::Acquire, &guard);
            let first = next.as_ref()?;
            match self.head.compare_exchange(
                head,
                next.counted(),
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                Ok(unlinked) => {
                    // A lagging tail would keep the unlinked node alive: move it on.
                    if self.tail.load(Ordering::Acquire, &guard).ptr_eq(head) {
                        self.swing_tail(head, next.counted(), &guard);
                    }
                    // Marked before the head link's count of it goes, so it cannot be
                    // destroyed unmarked.
                    dummy.retired.retire(participant, &self.domain);
                    // SAFETY: our compare-and-swap made `first` the new dummy: we alone
                    // take its value, once.
                    let value = unsafe { first.take() };
                    unlinked.finalize(&guard);
                    return value;
                }
                Err(failed) => failed.desired.finalize(&guard),
            }
        }
    }

    fn stall(&self, wait: &mut dyn FnMut()) {
        let guard = circ::cs();
        let _front = self.head.load(Ordering::Acquire, &guard);
        wait();
    }
}

impl<T> Drop for CircMsQueue<T> {
    fn drop(&mut self) {
        // As for the circ Treiber stack: the values still queued are dropped here, the
        // nodes (never retired) go to circ with the links' counts, and the domain, dropped
        // next, waits for the retired ones. The dummy has no value.
        let guard = circ::cs();
        let dummy = self.head.load(Ordering::Acquire, &guard);
        let mut node = dummy
            .as_ref()
            .map_or(Snapshot::null(), |d| d.next.load(Ordering::Acquire, &guard));
        while let Some(current) = node.as_ref() {
            // SAFETY: exclusive: the teardown has the structure to itself.
            drop(unsafe { current.take() });
            node = current.next.load(Ordering::Acquire, &guard);
        }
        self.head.take().finalize(&guard);
        self.tail.take().finalize(&guard);
    }
}

circ_container!(CircMsQueue, CircMichaelScott);

/// The registry's marker for a Michael–Scott queue over circ.
#[derive(Debug)]
pub struct CircMichaelScott(PhantomData<()>);

impl Backend for CircMichaelScott {
    const INFO: Info = Info {
        structure: "msqueue",
        scheme: domain::NAME,
        ordering: ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Michael-Scott queue: dummy head, helping tail, two CASes per enqueue",
        settings: domain::SETTINGS,
        knobs: &[],
    };
    type Container<T: Item> = CircMsQueue<T>;
}
