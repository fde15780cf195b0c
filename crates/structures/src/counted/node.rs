//! The node of the counted structures.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwapOption;
use reclaim_smr::counters::{self, Participant};

/// A list node owned by reference counts. Its `next` link owns a count of the successor.
pub(crate) struct Node<T> {
    /// `None` in a queue's dummy and once a pop took the value.
    value: UnsafeCell<Option<T>>,
    pub(crate) next: ArcSwapOption<Node<T>>,
    /// Set by the pop that unlinked the node, so its drop counts a free of a retired node
    /// (nodes freed with a whole structure were never retired).
    retired: AtomicBool,
}

// SAFETY: the only non-`Sync` part is `value`, and it is never accessed by two threads at
// once: it is written before the node is shared, taken by the one thread whose CAS unlinked
// the node (`take`'s contract), and dropped by the node's drop (`&mut`). That is the
// discipline of a `Mutex<T>`, which is `Sync` for `T: Send`; `next` and `retired` are
// atomics. `Send` follows from the fields.
unsafe impl<T: Send> Sync for Node<T> {}

impl<T> Node<T> {
    /// A shared node holding `value` (or nothing, for a dummy).
    pub(crate) fn new(value: Option<T>) -> Arc<Self> {
        Arc::new(Node {
            value: UnsafeCell::new(value),
            next: ArcSwapOption::empty(),
            retired: AtomicBool::new(false),
        })
    }

    /// Takes the value out, and marks the node retired.
    ///
    /// # Safety
    /// The caller's CAS made it the one thread entitled to the value (it unlinked the
    /// node, or made it a queue's new dummy), and it calls this once.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive by the caller's contract (see the `Sync` impl).
        unsafe { (*self.value.get()).take() }
    }

    /// Marks the node unlinked by `participant`: counts the retire now, and its drop will
    /// count a free.
    pub(crate) fn retire(&self, participant: &Participant<'_>) {
        participant.note_retired();
        // Relaxed: the thread that drops the node last synchronizes with this one through
        // the reference count (its decrement is Release, the last one Acquires).
        self.retired.store(true, Ordering::Relaxed);
    }
}

impl<T> Drop for Node<T> {
    fn drop(&mut self) {
        if *self.retired.get_mut() {
            counters::note_freed();
        }
        drop_chain(self.next.swap(None), |node| node.next.swap(None));
    }
}

/// Drops `first` and the chain of successors it was the last holder of with a loop, where
/// dropping a node's link naively would recurse once per node of a long chain: `detach`
/// takes a node's successor out of it before the node drops.
pub(crate) fn drop_chain<N>(first: Option<Arc<N>>, detach: impl Fn(&N) -> Option<Arc<N>>) {
    let mut next = first;
    while let Some(node) = next {
        match Arc::try_unwrap(node) {
            // Detach its successor before it drops, so its own drop does not recurse.
            Ok(only_holder) => next = detach(&only_holder),
            // Someone else still holds it (a reader, or the sweep collector): only our
            // count goes.
            Err(_shared) => break,
        }
    }
}

/// Whether two links name the same node.
pub(crate) fn same<N>(a: &Option<Arc<N>>, b: &Option<Arc<N>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}
