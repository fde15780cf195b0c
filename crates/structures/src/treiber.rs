//! The Treiber stack (Treiber, 1986): a singly linked list whose head is swung by
//! compare-and-swap.
//!
//! `push` links a fresh node in front of the head it read; it never dereferences a shared
//! node, so it needs no protection and does not pin. `pop` protects the head, reads its
//! `next`, and swings the head to it. Protection is what makes that read safe and rules out
//! ABA: a protected node cannot be freed, so its address cannot come back as a new head
//! while the CAS is pending.

use std::marker::PhantomData;
use std::ptr;

use crossbeam_utils::CachePadded;
use reclaim_core::{Backend, Consumers, Info, Item};
use reclaim_smr::sync::{AtomicPtr, Ordering};
use reclaim_smr::{Guard, Local, Scheme};

use crate::handle::{LockFree, scheme_container};
use crate::node::{Node, free_chain};

/// A lock-free LIFO stack over reclamation scheme `S`.
pub struct TreiberStack<T, S: Scheme> {
    head: CachePadded<AtomicPtr<Node<T>>>,
    domain: S::Domain,
    /// The stack owns its values.
    _owns: PhantomData<T>,
}

// SAFETY: the stack hands values from one thread to another, so it is `Send` and `Sync`
// exactly when the values are `Send` (like a `Mutex<Vec<T>>`); the domain is `Send + Sync`
// by the `Scheme` contract. The raw pointers inside are owned nodes.
unsafe impl<T: Send, S: Scheme> Send for TreiberStack<T, S> {}
// SAFETY: as above; every shared access goes through atomics and the scheme's protection.
unsafe impl<T: Send, S: Scheme> Sync for TreiberStack<T, S> {}

impl<T, S: Scheme> std::fmt::Debug for TreiberStack<T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreiberStack")
            .field("scheme", &S::NAME)
            .finish_non_exhaustive()
    }
}

impl<T: Send, S: Scheme> Default for TreiberStack<T, S> {
    fn default() -> Self {
        Self::with_domain(S::new_domain())
    }
}

impl<T, S: Scheme> TreiberStack<T, S> {
    fn with_domain(domain: S::Domain) -> Self {
        TreiberStack {
            head: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            domain,
            _owns: PhantomData,
        }
    }
}

// SAFETY: `domain` returns the stack's own `domain` field, which is never replaced; every
// node is retired through a guard of that domain.
unsafe impl<T: Send, S: Scheme> LockFree<T, S> for TreiberStack<T, S> {
    const SLOTS: usize = 1;

    fn domain(&self) -> &S::Domain {
        &self.domain
    }

    unsafe fn push(&self, _local: &mut S::Local<'_>, value: T) {
        let node = Node::alloc(value);
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is ours until the CAS below publishes it.
            unsafe { (*node).next.store(head, Ordering::Relaxed) };
            // Release publishes the node's value and `next` to the Acquire in `pop`.
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    unsafe fn pop(&self, local: &mut S::Local<'_>) -> Option<T> {
        let mut guard = local.pin();
        loop {
            let head = guard.protect(0, &self.head);
            if head.is_null() {
                return None;
            }
            // SAFETY: `head` is protected, so it is not freed while we read it. `next` was
            // written before the node was published and never changes afterwards.
            let next = unsafe { (*head).next.load(Ordering::Relaxed) };
            if self
                .head
                .compare_exchange_weak(head, next, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: our CAS unlinked `head`, so we alone take its value (once: the
                // node is retired next and nobody reads a retired node's value).
                let value = unsafe { (*head).take_value() };
                // SAFETY: `head` came from `Box::into_raw`, is unreachable from `self.head`
                // now, is retired once (by the thread whose CAS unlinked it), and belongs
                // to this stack's domain.
                unsafe { guard.retire(head) };
                return Some(value);
            }
        }
    }

    unsafe fn stall(&self, local: &mut S::Local<'_>, wait: &mut dyn FnMut()) {
        let mut guard = local.pin();
        // The protection is the point: it is held, never dereferenced.
        let _held = guard.protect(0, &self.head);
        wait();
    }
}

impl<T, S: Scheme> Drop for TreiberStack<T, S> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread can reach the nodes; every linked node holds a
        // value. Retired nodes are not linked and are freed by the domain, dropped next.
        unsafe { free_chain(self.head.load(Ordering::Relaxed), true) };
    }
}

/// The registry's marker for a Treiber stack over scheme `S`.
#[derive(Debug)]
pub struct Treiber<S>(PhantomData<fn() -> S>);

impl<S: Scheme> Backend for Treiber<S> {
    const INFO: Info = Info {
        structure: "treiber",
        scheme: S::NAME,
        ordering: reclaim_core::ItemOrder::Lifo,
        consumers: Consumers::Many,
        bounded: false,
        summary: "Treiber stack: one CAS on the head per operation",
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Container<T: Item> = TreiberStack<T, S>;
}

scheme_container!(TreiberStack, Treiber);
