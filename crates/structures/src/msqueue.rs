//! The Michael–Scott queue (Michael & Scott, 1996): a singly linked list with a dummy node
//! at the front, a `head` that dequeuers swing forward and a `tail` that enqueuers link
//! behind and swing forward, each helping the other when `tail` lags one node behind.
//!
//! Two traps are avoided here, both found in real implementations:
//!
//! - **A tail left behind the head** (crossbeam issue 238). With one value in flight, `tail`
//!   may still point at the dummy after an enqueuer linked a node behind it. If a dequeuer
//!   then swings `head` past the dummy and retires it, `tail` points at a retired node and
//!   the next enqueuer writes into freed memory. `pop` therefore swings `tail` forward
//!   itself before it retires the node `tail` may still name.
//! - **A hazard that is not re-validated** (haphazard issue 55). `pop` reads `next` out of
//!   the head node and must protect it before reading its value. Checking that `head.next`
//!   still equals `next` proves nothing — a `next` field never changes once set — so `next`
//!   could already have been dequeued and freed. Only `head` still holding the old head
//!   proves `next` is still linked; that is what [`Guard::protect_from`] checks.

use std::marker::PhantomData;
use std::ptr;

use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item};
use reclaim_smr::sync::{AtomicPtr, Ordering};
use reclaim_smr::{Guard, Local, Scheme};

use crate::handle::{LockFree, scheme_container};
use crate::node::{Node, free_chain};

/// Hazard slot of the head (in `pop`) or the tail (in `push`).
const END: usize = 0;
/// Hazard slot of the node after the head, whose value `pop` takes.
const NEXT: usize = 1;

/// A lock-free FIFO queue over reclamation scheme `S`.
pub struct MsQueue<T, S: Scheme> {
    /// The dummy node; the values are in the nodes after it.
    head: CachePadded<AtomicPtr<Node<T>>>,
    /// The last node, or the one before it while an enqueue is half done.
    tail: CachePadded<AtomicPtr<Node<T>>>,
    domain: S::Domain,
    _owns: PhantomData<T>,
}

// SAFETY: as for the Treiber stack: values move between threads, so the queue is `Send`
// and `Sync` when they are `Send`; shared access is through atomics and the scheme.
unsafe impl<T: Send, S: Scheme> Send for MsQueue<T, S> {}
// SAFETY: see above.
unsafe impl<T: Send, S: Scheme> Sync for MsQueue<T, S> {}

impl<T, S: Scheme> std::fmt::Debug for MsQueue<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsQueue")
            .field("scheme", &S::NAME)
            .finish_non_exhaustive()
    }
}

impl<T: Send, S: Scheme> Default for MsQueue<T, S> {
    fn default() -> Self {
        Self::with_domain(S::new_domain())
    }
}

impl<T, S: Scheme> MsQueue<T, S> {
    fn with_domain(domain: S::Domain) -> Self {
        let dummy = Node::alloc_dummy();
        MsQueue {
            head: CachePadded::new(AtomicPtr::new(dummy)),
            tail: CachePadded::new(AtomicPtr::new(dummy)),
            domain,
            _owns: PhantomData,
        }
    }
}

// SAFETY: `domain` returns the queue's own `domain` field, which is never replaced; every
// node is retired through a guard of that domain.
unsafe impl<T: Send, S: Scheme> LockFree<T, S> for MsQueue<T, S> {
    const SLOTS: usize = 2;

    fn domain(&self) -> &S::Domain {
        &self.domain
    }

    unsafe fn push(&self, local: &mut S::Local<'_>, value: T) {
        let node = Node::alloc(value);
        let mut guard = local.pin();
        loop {
            // Never null: the list always holds at least the dummy.
            let tail = guard.protect(END, &self.tail);
            // SAFETY: `tail` is protected and was still the tail when protected; a node is
            // retired only after both `head` and `tail` moved past it.
            let tail_next = unsafe { &(*tail).next };
            let next = tail_next.load(Ordering::Acquire);
            if !next.is_null() {
                // The tail lags: help the enqueuer that linked `next` and retry.
                let _ =
                    self.tail
                        .compare_exchange(tail, next, Ordering::Release, Ordering::Relaxed);
                continue;
            }
            // Release publishes the node's value to the dequeuer's Acquire load of `next`.
            if tail_next
                .compare_exchange(ptr::null_mut(), node, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                // Swing the tail; if this fails another thread already helped.
                let _ =
                    self.tail
                        .compare_exchange(tail, node, Ordering::Release, Ordering::Relaxed);
                return;
            }
        }
    }

    unsafe fn pop(&self, local: &mut S::Local<'_>) -> Option<T> {
        let mut guard = local.pin();
        loop {
            let head = guard.protect(END, &self.head);
            // SAFETY: `head` is protected and was the head when protected.
            let next = unsafe { (*head).next.load(Ordering::Acquire) };
            if next.is_null() {
                return None;
            }
            // `next` was read out of `head`: it is linked only while `head` is still the
            // head (haphazard issue 55).
            if !guard.protect_from(NEXT, next, &self.head, head) {
                continue;
            }
            if self
                .head
                .compare_exchange(head, next, Ordering::Release, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // `head` is unlinked from the front, but `tail` may still name it if the
            // enqueuer of `next` has not swung it yet (crossbeam issue 238): swing it
            // ourselves before retiring, so no thread can reach `head` through `tail`.
            if self.tail.load(Ordering::Relaxed) == head {
                let _ =
                    self.tail
                        .compare_exchange(head, next, Ordering::Release, Ordering::Relaxed);
            }
            // SAFETY: `next` is protected; our CAS made it the new dummy, so we alone take
            // its value, once. The enqueuer's Release CAS on `head.next`, read with
            // Acquire above, made the value visible.
            let value = unsafe { (*next).take_value() };
            // SAFETY: `head` came from `Box::into_raw` and is unreachable: `head` and
            // `tail` both moved past it. The thread whose CAS unlinked it retires it, once,
            // into this queue's domain.
            unsafe { guard.retire(head) };
            return Some(value);
        }
    }

    unsafe fn stall(&self, local: &mut S::Local<'_>, wait: &mut dyn FnMut()) {
        let mut guard = local.pin();
        // Held, never dereferenced: the dummy a stalled pop would be about to read.
        let _held = guard.protect(END, &self.head);
        wait();
    }
}

impl<T, S: Scheme> Drop for MsQueue<T, S> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread can reach the nodes. The first node is the dummy
        // (no value), every later one holds a value. Retired nodes are not linked.
        unsafe { free_chain(self.head.load(Ordering::Relaxed), false) };
    }
}

/// The registry's marker for a Michael–Scott queue over scheme `S`.
#[derive(Debug)]
pub struct MichaelScott<S>(PhantomData<fn() -> S>);

impl<S: Scheme> Backend for MichaelScott<S> {
    const INFO: Info = Info {
        structure: "msqueue",
        scheme: S::NAME,
        ordering: reclaim_core::ItemOrder::Fifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Michael-Scott queue: dummy head, helping tail, two CASes per enqueue",
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Container<T: Item> = MsQueue<T, S>;
}

scheme_container!(MsQueue, MichaelScott);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use reclaim_smr::{Hp, Leak};

    /// crossbeam issue 238: an enqueuer linked a node behind the dummy and stalled before
    /// swinging the tail. A pop that retires the dummy must first move the tail off it.
    #[test]
    fn pop_moves_a_lagging_tail_off_the_node_it_retires() {
        let queue = MsQueue::<u32, Leak>::default();
        let mut local = Leak::register(&queue.domain, MsQueue::<u32, Leak>::SLOTS);
        let dummy = queue.head.load(Ordering::Relaxed);
        let node = Node::alloc(7);
        // SAFETY: the dummy is alive (nothing was popped) and only this thread uses the
        // queue; this is the first half of an enqueue, done by hand.
        unsafe { (*dummy).next.store(node, Ordering::Release) };
        assert_eq!(queue.tail.load(Ordering::Relaxed), dummy);

        // SAFETY: `local` is registered with the queue's domain (so below too).
        assert_eq!(unsafe { queue.pop(&mut local) }, Some(7));
        assert_eq!(
            queue.tail.load(Ordering::Relaxed),
            node,
            "the tail still names the retired dummy"
        );
        // SAFETY: as above.
        unsafe { queue.push(&mut local, 8) };
        // SAFETY: as above.
        assert_eq!(unsafe { queue.pop(&mut local) }, Some(8));
    }

    /// The enqueuer-side half of the same state: a push that finds the tail lagging helps
    /// it forward and still appends at the end.
    #[test]
    fn push_helps_a_lagging_tail() {
        let queue = MsQueue::<u32, Hp>::default();
        let mut local = Hp::register(&queue.domain, MsQueue::<u32, Hp>::SLOTS);
        let dummy = queue.head.load(Ordering::Relaxed);
        let node = Node::alloc(1);
        // SAFETY: as above, a half-done enqueue by hand on a queue only we use.
        unsafe { (*dummy).next.store(node, Ordering::Release) };
        // SAFETY: `local` is registered with the queue's domain, for every call.
        unsafe {
            queue.push(&mut local, 2);
            assert_eq!(queue.pop(&mut local), Some(1));
            assert_eq!(queue.pop(&mut local), Some(2));
            assert_eq!(queue.pop(&mut local), None);
        }
    }
}
