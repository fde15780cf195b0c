//! The Treiber stack over counted references.
//!
//! The same algorithm as [`crate::treiber`]: link a node in front of the head, swing the
//! head to its successor. The head is an arc-swap cell, so loading it yields a counted
//! reference: the loaded node cannot be freed while held, and its address cannot be reused
//! under a pending compare-and-swap (no ABA).

use std::marker::PhantomData;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item, ItemOrder};
use reclaim_smr::CountedScheme;
use reclaim_smr::counters::Participant;

use super::handle::{CountedOps, counted_container, stall_holding};
use super::node::{Node, same};

/// A lock-free LIFO stack over counted scheme `C`.
pub struct CountedTreiberStack<T, C: CountedScheme> {
    head: CachePadded<ArcSwapOption<Node<T>>>,
    domain: C::Domain,
}

impl<T, C: CountedScheme> Default for CountedTreiberStack<T, C> {
    fn default() -> Self {
        Self::with_domain(C::new_domain())
    }
}

impl<T, C: CountedScheme> CountedTreiberStack<T, C> {
    fn with_domain(domain: C::Domain) -> Self {
        CountedTreiberStack {
            head: CachePadded::new(ArcSwapOption::empty()),
            domain,
        }
    }
}

impl<T: Send + 'static, C: CountedScheme> CountedOps<T> for CountedTreiberStack<T, C> {
    type Scheme = C;

    fn domain(&self) -> &C::Domain {
        &self.domain
    }

    fn push(&self, value: T) {
        let node = Node::new(Some(value));
        let mut head = self.head.load_full();
        loop {
            // SAFETY: `node` is not published until the compare-and-swap below succeeds:
            // no other thread can reach its link.
            drop(unsafe { node.next.replace_unpublished(head.clone()) });
            let previous = self.head.compare_and_swap(&head, Some(Arc::clone(&node)));
            if same(&previous, &head) {
                break;
            }
            head = previous.clone();
        }
        // Tracked once linked, so the collector sees nodes nearly in link order (see
        // `CountedScheme::track`); `node` is still ours, so nobody can free it first.
        C::track(&self.domain, &node);
        // Every reference this push held goes before the hint: the former head too.
        drop((node, head));
        // The references to former heads this loop held are gone.
        C::released(&self.domain);
    }

    fn pop(&self, participant: &Participant<'_>) -> Option<T> {
        let value = loop {
            let Some(head) = self.head.load_full() else {
                break None;
            };
            let next = head.next.get();
            let previous = self.head.compare_and_swap(&head, next);
            if previous.as_ref().is_some_and(|p| Arc::ptr_eq(p, &head)) {
                head.retire(participant);
                // SAFETY: our compare-and-swap unlinked `head`: we alone take its value.
                break unsafe { head.take() };
            }
        };
        // Our counts of `head` (and the structure's, handed to us by the swap) drop here;
        // under `rc` the last one frees the node, inline.
        C::released(&self.domain);
        value
    }

    fn stall(&self, wait: &mut dyn FnMut()) {
        stall_holding::<C, _>(&self.domain, self.head.load_full(), wait);
    }
}

impl<T, C: CountedScheme> Drop for CountedTreiberStack<T, C> {
    fn drop(&mut self) {
        // Under `rc`, nodes are freed right here, counted in the domain's teardown shard;
        // under `sweep` the collector frees them when the domain (dropped next) joins it.
        let head = &self.head;
        C::teardown(&mut self.domain, || drop(head.swap(None)));
    }
}

counted_container!(CountedTreiberStack, CountedTreiber);

/// The registry's marker for a Treiber stack over counted scheme `C`.
#[derive(Debug)]
pub struct CountedTreiber<C>(PhantomData<fn() -> C>);

impl<C: CountedScheme> Backend for CountedTreiber<C> {
    const INFO: Info = Info {
        structure: "treiber",
        scheme: C::NAME,
        ordering: ItemOrder::Lifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Treiber stack: one CAS on the head per operation",
        settings: C::SETTINGS,
        knobs: C::KNOBS,
    };
    type Container<T: Item> = CountedTreiberStack<T, C>;
}
