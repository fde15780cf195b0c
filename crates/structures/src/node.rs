//! The singly linked node both structures are made of.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::AtomicPtr;

/// A list node. `value` is uninitialized in a queue's dummy node and after its value was
/// moved out by a pop, so dropping a node never drops a value: whoever frees a node that
/// still holds one drops it by hand ([`free_chain`]).
pub(crate) struct Node<T> {
    pub(crate) value: MaybeUninit<T>,
    pub(crate) next: AtomicPtr<Node<T>>,
}

impl<T> Node<T> {
    /// A heap node holding `value`, linked to nothing.
    pub(crate) fn alloc(value: T) -> *mut Self {
        Box::into_raw(Box::new(Node {
            value: MaybeUninit::new(value),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }

    /// A heap node without a value (a queue's dummy).
    pub(crate) fn alloc_dummy() -> *mut Self {
        Box::into_raw(Box::new(Node {
            value: MaybeUninit::uninit(),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
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
        let mut node = unsafe { Box::from_raw(current) };
        current = *node.next.get_mut();
        if has_value {
            // SAFETY: the caller said this node holds a value, and it is dropped once here.
            unsafe { node.value.assume_init_drop() };
        }
        has_value = true;
    }
}
