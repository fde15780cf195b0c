//! The node of the circ structures.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};

use circ::{AtomicRc, Rc, RcObject};
use reclaim_smr::counters::Participant;

use super::domain::{CircDomain, Tally};

/// A list node in a `circ::Rc`. Its `next` link owns a count of the successor.
pub(crate) struct Node<T> {
    /// `None` in a queue's dummy and once a pop or the teardown took the value.
    value: UnsafeCell<Option<T>>,
    pub(crate) next: AtomicRc<Node<T>>,
    pub(crate) retired: Retired,
}

// SAFETY: the only non-`Sync` part is `value`, and it is never accessed by two threads at
// once: it is written before the node is shared, taken by the one thread whose CAS unlinked
// the node or made it a queue's dummy (`take`'s contract) or by the teardown (which has
// the structure to itself), and dropped by the node's drop (`&mut`). That is the
// discipline of a `Mutex<T>`, which is `Sync` for `T: Send`; `next` and `retired` are
// atomics. `Send` follows from the fields.
unsafe impl<T: Send> Sync for Node<T> {}

impl<T> Node<T> {
    /// A node holding `value` (or nothing, for a dummy), not linked to anything.
    pub(crate) fn new(value: Option<T>) -> Self {
        Node {
            value: UnsafeCell::new(value),
            next: AtomicRc::null(),
            retired: Retired::default(),
        }
    }

    /// Takes the value out.
    ///
    /// # Safety
    /// The caller is the one thread entitled to the value: its CAS unlinked the node or
    /// made it a queue's new dummy, or it is tearing the structure down (`&mut`); and it
    /// calls this once.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive by the caller's contract (see the `Sync` impl).
        unsafe { (*self.value.get()).take() }
    }
}

// SAFETY: `pop_edges` hands circ only the `Rc` this node's own `next` link owned.
unsafe impl<T> RcObject for Node<T> {
    fn pop_edges(&mut self, out: &mut Vec<Rc<Self>>) {
        // The successor goes to circ's immediate recursive destruction instead of being
        // deferred once more by the link's drop.
        out.push(self.next.take());
    }
}

/// Whether a node was retired, and where its free is counted: a field of every circ node.
///
/// Null until the operation that unlinked the node retires it; then the structure's tally,
/// which the field's drop (so the node's) counts the free into. Nodes freed after the
/// structure was dropped with them were never retired, and count nothing.
#[derive(Default)]
pub(crate) struct Retired(AtomicPtr<Tally>);

impl Retired {
    /// Marks the node unlinked by `participant`: counts the retire now, and its drop will
    /// count the free in `domain`.
    ///
    /// Call it before giving up the reference the unlinking CAS handed over, so that the
    /// node cannot be destroyed before it is marked.
    pub(crate) fn retire(&self, participant: &Participant<'_>, domain: &CircDomain) {
        participant.note_retired();
        // Relaxed: the thread that destroys the node synchronizes with this one through
        // the node's count (circ's decrements and its destruction are `SeqCst`).
        self.0.store(domain.tally().as_ptr(), Ordering::Relaxed);
    }
}

impl Drop for Retired {
    fn drop(&mut self) {
        if let Some(tally) = NonNull::new(*self.0.get_mut()) {
            // SAFETY: the domain frees its tally only once the tally counts a free for
            // every node it retired, this one included, and this add is that free; until
            // then the tally is alive. Release pairs with the Acquire of the domain's
            // `stats`. Nothing touches the tally after the add.
            unsafe { tally.as_ref() }.fetch_add(1, Ordering::Release);
        }
    }
}
