//! Harris's list (Harris, "A Pragmatic Implementation of Non-Blocking Linked-Lists",
//! DISC 2001): the original lock-free sorted list, over schemes whose pin protects.
//!
//! A remove marks its node's `next`, as in the Harris–Michael list; the difference is who
//! unlinks and how. A search walks *through* marked nodes, remembering the last unmarked
//! one (`left`) and its link, until it reaches the first unmarked node not below the key
//! (`right`); if marked nodes lie between them, it unlinks the whole chain with one
//! compare-and-swap on `left`'s link and retires every node of it. Fewer compare-and-swaps
//! than Michael's variant, and a read never restarts because a node it stands on was
//! removed — but a traversal dereferences nodes that are already removed, which another
//! thread may unlink and retire at any moment. Only a scheme whose pin protects every
//! node reachable during it makes that safe ([`PinProtects`]: epochs, leak). Hazard
//! pointers cannot: a hazard published for a marked node is no proof that the node is
//! still linked, so `harris-hp` is not registered (as in smr-benchmark, which leaves it
//! out for the same reason). Nor is `harris-seize`: seize promises validity only for
//! pointers loaded through its `protect` (see `reclaim_smr::Seize`).

use std::marker::PhantomData;
use std::ptr;

use crossbeam_utils::CachePadded;
use reclaim_core::{
    BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetHandle, SetInfo,
};
use reclaim_smr::sync::{AtomicPtr, Ordering};
use reclaim_smr::{Guard, Local, PinProtects};

use crate::handle::scheme_domain;
use crate::hmlist::{SetNode, free_linked};
use crate::mark::{is_marked, marked, unmarked};

/// Why `harris` is not registered over hazard pointers, for `list` and `run`.
pub const NOT_OVER_HP: &str = "Harris's list walks through removed nodes, which hazard \
    pointers cannot protect (a hazard on a marked node does not prove it is still linked); \
    use hmlist-hp, the variant that unlinks before it steps";

/// Why `harris` is not registered over seize, for `list` and `run`.
pub const NOT_OVER_SEIZE: &str = "Harris's list walks through removed nodes with plain \
    loads, and seize keeps only what was loaded through its protect alive (its pin alone \
    does not protect where it falls back to fences: under Miri, without membarrier); \
    use hmlist-seize, the variant that unlinks before it steps";

/// A lock-free sorted set of `u64` keys, Harris's algorithm, over scheme `S`.
pub struct HarrisList<S: PinProtects> {
    head: CachePadded<AtomicPtr<SetNode>>,
    domain: S::Domain,
}

// SAFETY: `u64` keys and owned nodes behind atomics and the scheme's protection; the
// domain is `Send + Sync` by the `Scheme` contract.
unsafe impl<S: PinProtects> Send for HarrisList<S> {}
// SAFETY: as above.
unsafe impl<S: PinProtects> Sync for HarrisList<S> {}

impl<S: PinProtects> std::fmt::Debug for HarrisList<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarrisList")
            .field("scheme", &S::NAME)
            .finish_non_exhaustive()
    }
}

impl<S: PinProtects> Default for HarrisList<S> {
    fn default() -> Self {
        Self::with_domain(S::new_domain())
    }
}

impl<S: PinProtects> HarrisList<S> {
    fn with_domain(domain: S::Domain) -> Self {
        HarrisList {
            head: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            domain,
        }
    }
}

impl<S: PinProtects> Drop for HarrisList<S> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread can reach the nodes, and every node still linked
        // was never retired (a chain is retired only once unlinked).
        unsafe { free_linked(self.head.load(Ordering::Relaxed)) };
    }
}

/// Where a search stopped: `right` is the first unmarked node whose key is not below the
/// one searched (or null), `left` the link that points to it directly.
struct Window {
    left: *const AtomicPtr<SetNode>,
    right: *mut SetNode,
    /// Nodes the search passed, marked ones included (in its last pass, if it started
    /// again), `right` included.
    visited: u64,
}

impl<S: PinProtects> HarrisList<S> {
    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        S::stats(&self.domain)
    }

    /// Harris's search: walks through marked nodes to the window around `key`, and
    /// unlinks (and retires) the marked chain inside it if there is one. Every node it
    /// reads was reachable during `guard`'s pin, which [`PinProtects`] keeps allocated.
    fn search<G: Guard>(&self, guard: &mut G, key: u64) -> Window {
        'again: loop {
            let mut left: *const AtomicPtr<SetNode> = &*self.head;
            // `left`'s link as read: the first node after it, unmarked.
            let mut left_next = self.head.load(Ordering::Acquire);
            let mut cur = left_next;
            let mut visited = 0;
            // Walk until an unmarked node not below `key`.
            loop {
                if cur.is_null() {
                    break;
                }
                visited += 1;
                // SAFETY: `cur` was read during the pin (from `left` or a node after it),
                // so the scheme keeps it allocated until the guard is dropped.
                let node = unsafe { &*cur };
                let next = node.next.load(Ordering::Acquire);
                if !is_marked(next) {
                    if node.key >= key {
                        break;
                    }
                    left = &node.next;
                    left_next = next;
                }
                cur = unmarked(next);
            }
            let right = cur;
            if left_next != right {
                // Marked nodes from `left_next` up to `right`: unlink them all at once.
                // SAFETY: `left` is the head or the link of a node read during the pin.
                let unlinked = unsafe {
                    (*left).compare_exchange(left_next, right, Ordering::AcqRel, Ordering::Relaxed)
                };
                if unlinked.is_err() {
                    continue 'again;
                }
                let mut dead = left_next;
                while dead != right {
                    // SAFETY: read during the pin. Its link is marked, so it never changes.
                    let after = unmarked(unsafe { (*dead).next.load(Ordering::Relaxed) });
                    // SAFETY: `dead` came from `SetNode::alloc`; the CAS above unlinked the
                    // chain it is in, and no other CAS can: a successful unlink swings an
                    // unmarked link that points at the chain's first node, and only
                    // `left`'s did. So this thread alone retires it, in this list's domain.
                    unsafe { guard.retire(dead) };
                    dead = after;
                }
            }
            // If `right` was marked meanwhile, the window is stale: search again.
            if !right.is_null() {
                // SAFETY: read during the pin.
                if is_marked(unsafe { (*right).next.load(Ordering::Acquire) }) {
                    continue 'again;
                }
            }
            return Window {
                left,
                right,
                visited,
            };
        }
    }
}

impl<S: PinProtects> ConcurrentSet for HarrisList<S> {
    type Handle<'s> = HarrisListHandle<'s, S>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let backend = Harris::<S>::INFO.structure;
        Ok(Self::with_domain(scheme_domain::<S>(backend, config)?))
    }

    fn handle(&self) -> HarrisListHandle<'_, S> {
        HarrisListHandle {
            list: self,
            // No protection slots: the pin protects.
            local: S::register(&self.domain, 1),
            visited: 0,
        }
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

/// One thread's access to a [`HarrisList`].
pub struct HarrisListHandle<'l, S: PinProtects> {
    list: &'l HarrisList<S>,
    local: S::Local<'l>,
    /// Nodes the last operation passed, marked ones included ([`SetHandle::visited`]).
    visited: u64,
}

impl<S: PinProtects> std::fmt::Debug for HarrisListHandle<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarrisListHandle").finish_non_exhaustive()
    }
}

impl<S: PinProtects> SetHandle for HarrisListHandle<'_, S> {
    fn insert(&mut self, key: u64) -> bool {
        let mut guard = self.local.pin();
        let node = SetNode::alloc(key);
        loop {
            let at = self.list.search(&mut guard, key);
            self.visited = at.visited;
            // SAFETY: `right` was read during the pin.
            if !at.right.is_null() && unsafe { (*at.right).key } == key {
                // SAFETY: `node` was never published: it is still ours.
                drop(unsafe { Box::from_raw(node) });
                return false;
            }
            // SAFETY: `node` is ours until the CAS below publishes it.
            unsafe { (*node).next.store(at.right, Ordering::Relaxed) };
            // Release publishes the node's key and link. SAFETY: `left` is the head or the
            // link of a node read during the pin.
            let linked = unsafe {
                (*at.left).compare_exchange(at.right, node, Ordering::Release, Ordering::Relaxed)
            };
            if linked.is_ok() {
                return true;
            }
        }
    }

    fn remove(&mut self, key: u64) -> bool {
        let mut guard = self.local.pin();
        loop {
            let at = self.list.search(&mut guard, key);
            self.visited = at.visited;
            // SAFETY: `right` was read during the pin.
            if at.right.is_null() || unsafe { (*at.right).key } != key {
                return false;
            }
            // SAFETY: as above.
            let right = unsafe { &*at.right };
            let next = right.next.load(Ordering::Acquire);
            if is_marked(next) {
                continue;
            }
            // Marking removes the key: whoever marks it is the one remove that succeeds.
            if right
                .next
                .compare_exchange(next, marked(next), Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // Unlink it now if nothing moved; otherwise a search does (this one, at once).
            // SAFETY: as in `insert`.
            let unlinked = unsafe {
                (*at.left).compare_exchange(at.right, next, Ordering::AcqRel, Ordering::Relaxed)
            };
            match unlinked {
                // SAFETY: this CAS unlinked the marked node, which only `left` linked.
                Ok(_) => unsafe { guard.retire(at.right) },
                Err(_) => {
                    self.list.search(&mut guard, key);
                }
            }
            return true;
        }
    }

    /// The read-only walk of `contains` over the whole list, under one pin.
    fn walk(&mut self) -> Option<u64> {
        let _guard = self.local.pin();
        let mut cur = self.list.head.load(Ordering::Acquire);
        let mut visited = 0;
        while !cur.is_null() {
            visited += 1;
            // SAFETY: read during the pin.
            cur = unmarked(unsafe { &*cur }.next.load(Ordering::Acquire));
        }
        Some(visited)
    }

    fn contains(&mut self, key: u64) -> bool {
        let _guard = self.local.pin();
        // A read-only walk through marked nodes (Harris's `find` without the unlinking):
        // the key is present if its node is reached unmarked.
        let mut cur = self.list.head.load(Ordering::Acquire);
        let mut visited = 0;
        while !cur.is_null() {
            visited += 1;
            // SAFETY: read during the pin.
            let node = unsafe { &*cur };
            let next = node.next.load(Ordering::Acquire);
            if node.key >= key {
                self.visited = visited;
                return node.key == key && !is_marked(next);
            }
            cur = unmarked(next);
        }
        self.visited = visited;
        false
    }

    /// The nodes the last operation passed, marked ones included.
    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    /// Enters an operation and stays pinned while `wait` runs.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        let _guard = self.local.pin();
        wait();
        true
    }
}

/// The registry's marker for Harris's list over scheme `S`.
#[derive(Debug)]
pub struct Harris<S>(PhantomData<fn() -> S>);

impl<S: PinProtects> SetBackend for Harris<S> {
    const INFO: SetInfo = SetInfo {
        structure: "harris",
        scheme: S::NAME,
        ordered: true,
        summary: "Harris's list: sorted, a search walks through removed nodes and unlinks them in a batch",
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Set = HarrisList<S>;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use reclaim_smr::{Ebr, Leak};

    /// Removed keys are gone, kept keys stay, and each removed node is retired once.
    fn removed_keys_are_retired_once<S: PinProtects>() {
        let list = HarrisList::<S>::default();
        let mut h = list.handle();
        for key in 0..10 {
            assert!(h.insert(key));
        }
        for key in 2..8 {
            assert!(h.remove(key));
            assert!(!h.remove(key), "{key} twice");
        }
        for key in 0..10 {
            assert_eq!(h.contains(key), !(2..8).contains(&key), "{key}");
        }
        assert!(h.insert(5) && h.contains(5));
        assert_eq!(list.stats().retired, 6);
    }

    #[test]
    fn removed_keys_are_retired_once_leak() {
        removed_keys_are_retired_once::<Leak>();
    }

    #[test]
    fn removed_keys_are_retired_once_ebr() {
        removed_keys_are_retired_once::<Ebr>();
    }

    #[test]
    fn a_search_visits_the_keys_below_leak() {
        crate::set_tests::a_sorted_list_visits_the_keys_below::<HarrisList<Leak>>();
    }

    #[test]
    fn a_search_visits_the_keys_below_ebr() {
        crate::set_tests::a_sorted_list_visits_the_keys_below::<HarrisList<Ebr>>();
    }

    /// A chain of marked nodes (removes that marked and did not unlink, as when they lose
    /// the race to a neighbour) is unlinked by the next search in one step, and every
    /// node of it retired once.
    #[test]
    fn one_search_unlinks_a_chain_of_marked_nodes() {
        let list = HarrisList::<Leak>::default();
        let mut h = list.handle();
        for key in 0..6 {
            assert!(h.insert(key));
        }
        // Mark 1, 2 and 3 by hand, leaving them linked.
        let mut cur = list.head.load(Ordering::Relaxed);
        while !cur.is_null() {
            // SAFETY: single-threaded; the nodes are linked and owned by the list.
            let node = unsafe { &*cur };
            let next = node.next.load(Ordering::Relaxed);
            if (1..4).contains(&node.key) {
                node.next.store(marked(next), Ordering::Relaxed);
            }
            cur = unmarked(next);
        }
        assert!(!h.contains(2), "a marked key is absent");
        assert_eq!(h.visited(), Some(3), "0, then 1 and 2 though marked");
        assert_eq!(list.stats().retired, 0, "contains does not unlink");
        assert!(h.insert(2), "the search unlinks the chain, then 2 goes in");
        assert_eq!(h.visited(), Some(5), "0, the marked 1 to 3, and 4");
        assert_eq!(list.stats().retired, 3);
        for key in 0..6 {
            assert_eq!(h.contains(key), key != 1 && key != 3, "{key}");
        }
    }
}
