//! The node of the counted structures.

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use reclaim_smr::counters::{self, Participant};

/// A list node owned by reference counts. Its `next` link owns a count of the successor.
pub(crate) struct Node<T> {
    /// `None` in a queue's dummy and once a pop took the value.
    value: UnsafeCell<Option<T>>,
    pub(crate) next: Link<Node<T>>,
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
            next: Link::empty(),
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
        drop_chain(self.next.take(), |node| node.next.take());
    }
}

/// A counted link that is written once it is visible to other threads at most once, from
/// empty to a node, and never changed after: a Treiber node's `next` (set before the push
/// publishes the node) and a queue node's `next` (empty until an enqueue links behind it).
///
/// Such a link needs none of arc-swap's protection. Whoever can read it holds a reference
/// to the node that owns it, so the link still holds its count of the successor, and
/// taking another count of the successor is a plain increment. arc-swap's cell would pay
/// for a protected load on every read and walk every thread's debt slots on every store
/// and on its drop (docs/design.md, "Where `rc`'s time goes").
pub(crate) struct Link<N> {
    /// Null, or a pointer from `Arc::into_raw` whose count this link owns.
    ptr: AtomicPtr<N>,
}

// SAFETY: the link owns a count of an `Arc<N>` and hands out clones of it: it is what an
// `Option<Arc<N>>` shared between threads is, `Send` and `Sync` when `N` is both.
unsafe impl<N: Send + Sync> Send for Link<N> {}
// SAFETY: as above.
unsafe impl<N: Send + Sync> Sync for Link<N> {}

impl<N> Link<N> {
    pub(crate) fn empty() -> Self {
        Link {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The node linked, as a new counted reference; `None` while empty.
    pub(crate) fn get(&self) -> Option<Arc<N>> {
        // Acquire: pairs with the linking compare-and-swap, so the node's contents are
        // visible.
        let ptr = self.ptr.load(Ordering::Acquire);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: `ptr` came from `Arc::into_raw` and this link owns a count of it. The
        // count is given up only by `take` (which needs `&mut self`) or by
        // `replace_unpublished`, whose caller guarantees no other thread reaches the link
        // — so while `&self` lives, the count does, and the node cannot be freed under
        // the increment.
        unsafe {
            Arc::increment_strong_count(ptr);
            Some(Arc::from_raw(ptr))
        }
    }

    /// Links `node` if the link is empty; hands it back if another thread linked first.
    pub(crate) fn set(&self, node: Arc<N>) -> Result<(), Arc<N>> {
        let new = Arc::into_raw(node).cast_mut();
        // Release: publishes the node's contents to readers' Acquire loads; Acquire on
        // failure is not needed (the node found is not read here).
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => Ok(()),
            // SAFETY: `new` came from `Arc::into_raw` just above and was not stored.
            Err(_) => Err(unsafe { Arc::from_raw(new) }),
        }
    }

    /// Replaces what the link holds and returns it.
    ///
    /// # Safety
    ///
    /// No other thread can reach this link: its node is not yet published (a push
    /// writing its node's `next` before the compare-and-swap that links it).
    pub(crate) unsafe fn replace_unpublished(&self, node: Option<Arc<N>>) -> Option<Arc<N>> {
        let new = node.map_or(ptr::null_mut(), |n| Arc::into_raw(n).cast_mut());
        // Relaxed: no other thread reads the link until the node is published, and the
        // publishing compare-and-swap (a release) carries this store with it.
        let old = self.ptr.swap(new, Ordering::Relaxed);
        // SAFETY: non-null, `old` came from `Arc::into_raw` and its count was the link's;
        // it is the caller's now.
        (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
    }

    /// Takes the linked node out, leaving the link empty.
    pub(crate) fn take(&mut self) -> Option<Arc<N>> {
        let old = std::mem::replace(self.ptr.get_mut(), ptr::null_mut());
        // SAFETY: non-null, `old` came from `Arc::into_raw` and its count was the link's;
        // `&mut self` excludes every reader, so the count is the caller's now.
        (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
    }
}

impl<N> Drop for Link<N> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Drops `first` and the chain of successors it was the last holder of with a loop, where
/// dropping a node's link naively would recurse once per node of a long chain: `detach`
/// takes a node's successor out of it before the node drops, given the node itself (it
/// was the last holder's, so nobody else can reach it).
pub(crate) fn drop_chain<N>(first: Option<Arc<N>>, detach: impl Fn(&mut N) -> Option<Arc<N>>) {
    let mut next = first;
    while let Some(node) = next {
        match Arc::try_unwrap(node) {
            // Detach its successor before it drops, so its own drop does not recurse.
            Ok(mut only_holder) => next = detach(&mut only_holder),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_set_once_and_hands_out_counted_references() {
        let link = Link::empty();
        assert!(link.get().is_none());
        let first = Arc::new(1u64);
        assert!(link.set(Arc::clone(&first)).is_ok());
        assert_eq!(Arc::strong_count(&first), 2, "the link holds one count");
        // A second set is refused and hands its node back, count and all.
        let second = Arc::new(2u64);
        let back = link.set(Arc::clone(&second)).expect_err("the link was set");
        assert!(Arc::ptr_eq(&back, &second));
        drop(back);
        assert_eq!(Arc::strong_count(&second), 1);
        // `get` is a new count of the node linked, which outlives the link.
        let got = link.get().expect("set above");
        assert!(Arc::ptr_eq(&got, &first));
        assert_eq!(Arc::strong_count(&first), 3);
        drop(link);
        assert_eq!(
            Arc::strong_count(&first),
            2,
            "the link's count went with it"
        );
        drop(got);
        assert_eq!(Arc::strong_count(&first), 1);
    }

    #[test]
    fn replacing_and_taking_move_the_links_count() {
        let mut link = Link::empty();
        let a = Arc::new('a');
        let b = Arc::new('b');
        // SAFETY: the link is this thread's alone.
        assert!(unsafe { link.replace_unpublished(Some(Arc::clone(&a))) }.is_none());
        // SAFETY: as above.
        let old = unsafe { link.replace_unpublished(Some(Arc::clone(&b))) };
        assert!(old.as_ref().is_some_and(|old| Arc::ptr_eq(old, &a)));
        drop(old);
        assert_eq!((Arc::strong_count(&a), Arc::strong_count(&b)), (1, 2));
        let taken = link.take();
        assert!(taken.as_ref().is_some_and(|t| Arc::ptr_eq(t, &b)));
        assert!(link.get().is_none());
        drop(taken);
        assert_eq!(Arc::strong_count(&b), 1);
    }

    #[test]
    fn threads_racing_to_link_leave_one_winner_and_no_count_behind() {
        let link = Link::empty();
        let nodes: Vec<Arc<usize>> = (0..4).map(Arc::new).collect();
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = nodes
                .iter()
                .map(|node| {
                    let (link, node) = (&link, Arc::clone(node));
                    scope.spawn(move || {
                        let won = link.set(node).is_ok();
                        // Every thread reads the same winner through the link.
                        let seen = link.get().expect("someone linked");
                        (usize::from(won), *seen)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let winner = results.iter().find(|(won, _)| *won == 1).unwrap().1;
            assert!(results.iter().all(|&(_, seen)| seen == winner));
            results.iter().map(|(won, _)| won).sum()
        });
        assert_eq!(winners, 1);
        let linked: Vec<usize> = nodes.iter().map(Arc::strong_count).collect();
        assert_eq!(linked.iter().filter(|&&c| c == 2).count(), 1, "{linked:?}");
        drop(link);
        assert!(nodes.iter().all(|n| Arc::strong_count(n) == 1));
    }
}
