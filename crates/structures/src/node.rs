//! The singly linked node both structures are made of.

use std::mem::MaybeUninit;
use std::ptr;

use reclaim_smr::sync::{AtomicPtr, Ordering, UnsafeCell};

/// A list node. The value slot is empty in a queue's dummy node and after a pop moved the
/// value out, so dropping a node never drops a value: whoever frees a node that still holds
/// one drops it by hand ([`free_chain`]). The slot is an `UnsafeCell` so that loom checks
/// every write and read of a value is ordered by the links' Release/Acquire.
pub(crate) struct Node<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    pub(crate) next: AtomicPtr<Node<T>>,
}

impl<T> Node<T> {
    /// A heap node holding `value`, linked to nothing.
    pub(crate) fn alloc(value: T) -> *mut Self {
        Self::boxed(MaybeUninit::new(value))
    }

    /// A heap node without a value (a queue's dummy).
    pub(crate) fn alloc_dummy() -> *mut Self {
        Self::boxed(MaybeUninit::uninit())
    }

    fn boxed(value: MaybeUninit<T>) -> *mut Self {
        Box::into_raw(Box::new(Node {
            value: UnsafeCell::new(value),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }

    /// Moves the value out.
    ///
    /// # Safety
    /// The node holds a value, and the caller is the one thread entitled to take it (its
    /// CAS unlinked the node, or made it the new dummy); it is taken once.
    pub(crate) unsafe fn take_value(&self) -> T {
        // SAFETY: the caller guarantees the slot is initialized and not taken before.
        self.value
            .with(|slot| unsafe { (*slot).assume_init_read() })
    }
}

/// Frees the chain starting at `first`, dropping the value of every node but the first
/// unless `first_has_value`. A loop, not recursion: a chain of millions of nodes is fine.
///
/// # Safety
/// The caller owns the whole chain (no other thread can reach it), every node came from
/// [`Node::alloc`] or [`Node::alloc_dummy`], and a node holds a value exactly when this
/// function is told so.
pub(crate) unsafe fn free_chain<T>(first: *mut Node<T>, first_has_value: bool) {
    let mut current = first;
    let mut has_value = first_has_value;
    while !current.is_null() {
        // SAFETY: the chain is ours and each node came from `Box::into_raw`.
        let node = unsafe { Box::from_raw(current) };
        // Relaxed: the chain is ours alone.
        current = node.next.load(Ordering::Relaxed);
        if has_value {
            // SAFETY: the caller said this node holds a value; it is dropped once, here.
            node.value
                .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
        }
        has_value = true;
    }
}
