//! The Treiber stack over circ.
//!
//! The same algorithm as [`crate::treiber`]: link a node in front of the head, swing the
//! head to its successor. Loads are uncounted `Snapshot`s, valid for the operation's
//! critical section; what is stored in a link must be counted, so a push takes a count of
//! the head for its node's `next` and a pop one of the successor for the head, and each
//! gives the replaced link's count back. A snapshot's node cannot be destroyed, let alone
//! its address reused, within the critical section: no ABA.

use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use circ::{AtomicRc, Rc};
use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item, ItemOrder};
use reclaim_smr::counters::Participant;

use super::domain::{self, CircDomain};
use super::handle::{CircOps, circ_container};
use super::node::Node;

/// A lock-free LIFO stack over circ.
pub struct CircTreiberStack<T> {
    head: CachePadded<AtomicRc<Node<T>>>,
    domain: CircDomain,
}

impl<T> Default for CircTreiberStack<T> {
    fn default() -> Self {
        CircTreiberStack {
            head: CachePadded::new(AtomicRc::null()),
            domain: CircDomain::default(),
        }
    }
}

impl<T: Send + 'static> CircOps<T> for CircTreiberStack<T> {
    fn domain(&self) -> &CircDomain {
        &self.domain
    }

    fn push(&self, value: T) {
        let guard = circ::cs();
        let mut node = Rc::new(Node::new(Some(value)));
        loop {
            let head = self.head.load(Ordering::Acquire, &guard);
            // `node` is not published until the compare-and-swap succeeds, so the link
            // is ours to set; the count of a head a failed round stored goes back here.
            // Relaxed: the publishing compare-and-swap (a release) carries it.
            node.as_ref().expect("a node just allocated").next.store(
                head.counted(),
                Ordering::Relaxed,
                &guard,
            );
            match self.head.compare_exchange(
                head,
                node,
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                // The head link's count of the former head; the node's `next` has its own.
                Ok(former) => break former.finalize(&guard),
                Err(failed) => node = failed.desired,
            }
        }
    }

    fn pop(&self, participant: &Participant<'_>) -> Option<T> {
        let guard = circ::cs();
        loop {
            let head = self.head.load(Ordering::Acquire, &guard);
            let node = head.as_ref()?;
            let next = node.next.load(Ordering::Acquire, &guard);
            match self.head.compare_exchange(
                head,
                next.counted(),
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                Ok(unlinked) => {
                    // Marked before the head link's count of it goes, so it cannot be
                    // destroyed unmarked.
                    node.retired.retire(participant, &self.domain);
                    // SAFETY: our compare-and-swap unlinked `node`: we alone take its value.
                    let value = unsafe { node.take() };
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

impl<T> Drop for CircTreiberStack<T> {
    fn drop(&mut self) {
        // `&mut self`: no handle, so no operation, is left. The values still linked are
        // dropped here rather than whenever circ gets to their nodes; the nodes go to circ
        // with the head link's count, never retired (their frees are not counted), and the
        // domain, dropped next, drives the collector until the retired ones are freed.
        let guard = circ::cs();
        let mut node = self.head.load(Ordering::Acquire, &guard);
        while let Some(current) = node.as_ref() {
            // SAFETY: exclusive: the teardown has the structure to itself.
            drop(unsafe { current.take() });
            node = current.next.load(Ordering::Acquire, &guard);
        }
        self.head.take().finalize(&guard);
    }
}

circ_container!(CircTreiberStack, CircTreiber);

/// The registry's marker for a Treiber stack over circ.
#[derive(Debug)]
pub struct CircTreiber(PhantomData<()>);

impl Backend for CircTreiber {
    const INFO: Info = Info {
        structure: "treiber",
        scheme: domain::NAME,
        ordering: ItemOrder::Lifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Treiber stack: one CAS on the head per operation",
        settings: domain::SETTINGS,
        knobs: &[],
    };
    type Container<T: Item> = CircTreiberStack<T>;
}
