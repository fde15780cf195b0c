//! The Harris–Michael list (Michael, "High Performance Dynamic Lock-Free Hash Tables and
//! List-Based Sets", SPAA 2002): a sorted singly linked set of `u64` keys.
//!
//! A key is removed in two steps: its node's `next` pointer is *marked* (its low bit set),
//! which removes the key logically and freezes the node's link, then the node is unlinked
//! from its predecessor with a compare-and-swap. Any traversal that meets a marked node
//! unlinks it before going on, and only the thread whose compare-and-swap unlinked a node
//! retires it. This is Michael's variant of Harris's list, the one hazard pointers can
//! protect: a traversal never steps *through* a marked node, so every node it reaches was
//! linked from an unmarked predecessor when it was protected.
//!
//! # Protection
//!
//! A traversal holds three protections, rotating over three slots: the predecessor (whose
//! `next` field is the link it may swing), the current node and its successor. The
//! successor, read out of the current node, is published with [`Guard::protect_from`]
//! against the current node's `next` and then the predecessor's link is checked to still
//! hold the current node unmarked: together they prove the successor was reachable after
//! its protection was visible, so a reclaimer cannot have missed it (for epochs and the
//! leak scheme the checks pass trivially: the pin covers every node read).

use std::marker::PhantomData;
use std::ptr;

use crossbeam_utils::CachePadded;
use reclaim_core::{
    BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetHandle, SetInfo,
};
use reclaim_smr::sync::{AtomicPtr, Ordering};
use reclaim_smr::{Guard, Local, Scheme};

use crate::handle::scheme_domain;
use crate::mark::{MARK, is_marked, marked, unmarked};

/// A node of the list. Its `next` pointer carries the mark in its low bit.
pub(crate) struct SetNode {
    pub(crate) key: u64,
    pub(crate) next: AtomicPtr<SetNode>,
}

impl SetNode {
    /// A heap node for `key`, linked to `next`: ours until a compare-and-swap publishes it.
    pub(crate) fn alloc(key: u64) -> *mut SetNode {
        Box::into_raw(Box::new(SetNode {
            key,
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }
}

// The mark lives in the pointer's low bit.
const _: () = assert!(std::mem::align_of::<SetNode>() > MARK);

/// The three protection slots of a traversal, as the roles rotate.
#[derive(Clone, Copy)]
struct Slots {
    prev: usize,
    cur: usize,
    next: usize,
}

impl Slots {
    const START: Slots = Slots {
        prev: 0,
        cur: 1,
        next: 2,
    };

    /// The current node becomes the predecessor, the successor the current node.
    fn advance(self) -> Slots {
        Slots {
            prev: self.cur,
            cur: self.next,
            next: self.prev,
        }
    }

    /// The successor replaces the unlinked current node; the predecessor stays.
    fn skip(self) -> Slots {
        Slots {
            prev: self.prev,
            cur: self.next,
            next: self.cur,
        }
    }
}

/// Where a search for a key stopped: `cur` is the first node whose key is not below it (or
/// null), `prev` the link that points to it, unmarked. Both are protected by the guard
/// the search ran under, until it is dropped or searches again.
struct Position {
    prev: *const AtomicPtr<SetNode>,
    cur: *mut SetNode,
    found: bool,
    /// Nodes the search passed (in its last pass, if it started again), `cur` included.
    visited: u64,
}

/// The head of one sorted list, and the algorithm. A list is one bucket; a hash map is
/// many, sharing one domain.
///
/// # Safety (of every method taking a guard)
///
/// The guard is pinned in *the bucket's domain*: the one every guard used on this bucket
/// is pinned in, which outlives the bucket. (Nodes are retired through the guard, and
/// protection only holds within one domain.)
#[derive(Default)]
pub(crate) struct Bucket {
    head: AtomicPtr<SetNode>,
}

impl Bucket {
    /// Searches for `key`, unlinking (and retiring) the marked nodes it meets.
    ///
    /// # Safety
    /// See [`Bucket`].
    unsafe fn find<G: Guard>(&self, guard: &mut G, key: u64) -> Position {
        'again: loop {
            let mut slots = Slots::START;
            let mut prev: *const AtomicPtr<SetNode> = &self.head;
            // The head is never marked: a plain protected load.
            let mut cur = guard.protect(slots.cur, &self.head);
            let mut visited = 0;
            loop {
                if cur.is_null() {
                    return Position {
                        prev,
                        cur,
                        found: false,
                        visited,
                    };
                }
                visited += 1;
                // SAFETY: `cur` is protected and was reachable from `prev`, unmarked, after
                // its protection was visible (checked below or when it became `cur`).
                let cur_ref = unsafe { &*cur };
                // Acquire: the successor's key and link, written before it was linked.
                let next = cur_ref.next.load(Ordering::Acquire);
                if !guard.protect_from(slots.next, unmarked(next), &cur_ref.next, next) {
                    continue 'again;
                }
                // `prev` still links `cur`, unmarked: `cur` is in the list, so its successor
                // was reachable after its protection was published.
                // SAFETY: `prev` is the head or the `next` of the protected predecessor.
                if unsafe { (*prev).load(Ordering::Acquire) } != cur {
                    continue 'again;
                }
                if is_marked(next) {
                    // `cur` is removed: unlink it, and retire it if this unlinked it.
                    let next = unmarked(next);
                    // SAFETY: as above.
                    let unlinked = unsafe {
                        (*prev).compare_exchange(cur, next, Ordering::AcqRel, Ordering::Relaxed)
                    };
                    if unlinked.is_err() {
                        continue 'again;
                    }
                    // SAFETY: `cur` came from `Box::into_raw` (`insert`), the CAS above made
                    // it unreachable (its predecessor links past it and its own link is
                    // marked, so no other CAS can relink or unlink it again), this thread
                    // alone unlinked it, and the guard is of the bucket's domain (caller).
                    unsafe { guard.retire(cur) };
                    cur = next;
                    slots = slots.skip();
                    continue;
                }
                if cur_ref.key >= key {
                    return Position {
                        prev,
                        cur,
                        found: cur_ref.key == key,
                        visited,
                    };
                }
                prev = &cur_ref.next;
                cur = next;
                slots = slots.advance();
            }
        }
    }
    /// Adds `key`; `false` if it was there already. `visited` is set to the nodes the
    /// search that decided it passed.
    ///
    /// # Safety
    /// See [`Bucket`].
    pub(crate) unsafe fn insert<G: Guard>(
        &self,
        guard: &mut G,
        key: u64,
        visited: &mut u64,
    ) -> bool {
        let node = SetNode::alloc(key);
        loop {
            // SAFETY: the caller's guard is of the bucket's domain.
            let at = unsafe { self.find(guard, key) };
            *visited = at.visited;
            if at.found {
                // SAFETY: `node` was never published: it is still ours.
                drop(unsafe { Box::from_raw(node) });
                return false;
            }
            // SAFETY: `node` is ours until the CAS below publishes it.
            unsafe { (*node).next.store(at.cur, Ordering::Relaxed) };
            // Release publishes the node's key and link. SAFETY: `at.prev` is the head or
            // the link of a node the guard protects.
            let linked = unsafe {
                (*at.prev).compare_exchange(at.cur, node, Ordering::Release, Ordering::Relaxed)
            };
            if linked.is_ok() {
                return true;
            }
        }
    }

    /// Removes `key`; `false` if it was not there. `visited` is set to the nodes the
    /// search that decided it passed (not those of a second search that unlinks it).
    ///
    /// # Safety
    /// See [`Bucket`].
    pub(crate) unsafe fn remove<G: Guard>(
        &self,
        guard: &mut G,
        key: u64,
        visited: &mut u64,
    ) -> bool {
        loop {
            // SAFETY: the caller's guard is of the bucket's domain.
            let at = unsafe { self.find(guard, key) };
            *visited = at.visited;
            if !at.found {
                return false;
            }
            // SAFETY: `at.cur` is non-null when found, and protected.
            let cur = unsafe { &*at.cur };
            let next = cur.next.load(Ordering::Acquire);
            if is_marked(next) {
                // Another remove got there first; the search unlinks it and looks again.
                continue;
            }
            // Marking removes the key: whoever marks it is the one remove that succeeds.
            if cur
                .next
                .compare_exchange(next, marked(next), Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // SAFETY: `at.prev` is the head or the link of a protected node.
            let unlinked = unsafe {
                (*at.prev).compare_exchange(at.cur, next, Ordering::AcqRel, Ordering::Relaxed)
            };
            if unlinked.is_ok() {
                // SAFETY: as in `find`: this CAS unlinked the marked node, once.
                unsafe { guard.retire(at.cur) };
            } else {
                // Some other traversal will meet it marked and unlink it; this one does now.
                // SAFETY: as above.
                unsafe { self.find(guard, key) };
            }
            return true;
        }
    }

    /// Whether `key` is in the list. `visited` is set to the nodes the search passed.
    ///
    /// # Safety
    /// See [`Bucket`].
    pub(crate) unsafe fn contains<G: Guard>(
        &self,
        guard: &mut G,
        key: u64,
        visited: &mut u64,
    ) -> bool {
        // SAFETY: the caller's guard is of the bucket's domain.
        let at = unsafe { self.find(guard, key) };
        *visited = at.visited;
        at.found
    }

    /// Walks the whole list under `guard` (unlinking the marked nodes it meets, as every
    /// search does); the number of nodes passed.
    ///
    /// # Safety
    /// See [`Bucket`].
    pub(crate) unsafe fn walk<G: Guard>(&self, guard: &mut G) -> u64 {
        // SAFETY: the caller's guard is of the bucket's domain. Every key is below
        // `u64::MAX` or equal to it: the search ends at the last node.
        unsafe { self.find(guard, u64::MAX) }.visited
    }

    /// Protects the first node in slot 0: what a reader that stays in its operation holds.
    pub(crate) fn hold_first<G: Guard>(&self, guard: &mut G) {
        let _held = guard.protect(0, &self.head);
    }

    /// Whether the list holds no node (marked or not).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed).is_null()
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread can reach the nodes. Every node still linked
        // (marked or not) was never retired: a node is retired only once it is unlinked.
        unsafe { free_linked(self.head.load(Ordering::Relaxed)) };
    }
}

/// Frees every node of the chain from `first`, marks ignored.
///
/// # Safety
/// The caller owns the chain (no thread can reach it), its nodes came from
/// [`SetNode::alloc`], and none of them was retired.
pub(crate) unsafe fn free_linked(first: *mut SetNode) {
    let mut cur = unmarked(first);
    while !cur.is_null() {
        // SAFETY: the caller's guarantee: ours, from `Box::into_raw`, freed once here.
        let node = unsafe { Box::from_raw(cur) };
        cur = unmarked(node.next.load(Ordering::Relaxed));
    }
}

/// Protection slots one operation uses.
pub(crate) const SLOTS: usize = 3;

/// A lock-free sorted set of `u64` keys over reclamation scheme `S`.
pub struct HmList<S: Scheme> {
    head: CachePadded<Bucket>,
    domain: S::Domain,
}

// SAFETY: the list holds only `u64` keys and raw pointers to nodes it owns; every shared
// access goes through atomics and the scheme's protection. The domain is `Send + Sync` by
// the `Scheme` contract.
unsafe impl<S: Scheme> Send for HmList<S> {}
// SAFETY: as above.
unsafe impl<S: Scheme> Sync for HmList<S> {}

impl<S: Scheme> std::fmt::Debug for HmList<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmList")
            .field("scheme", &S::NAME)
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> Default for HmList<S> {
    fn default() -> Self {
        Self::with_domain(S::new_domain())
    }
}

impl<S: Scheme> HmList<S> {
    fn with_domain(domain: S::Domain) -> Self {
        HmList {
            head: CachePadded::new(Bucket::default()),
            domain,
        }
    }
}

impl<S: Scheme> ConcurrentSet for HmList<S> {
    type Handle<'s> = HmListHandle<'s, S>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let backend = HarrisMichael::<S>::INFO.structure;
        Ok(Self::with_domain(scheme_domain::<S>(backend, config)?))
    }

    /// A thread's handle on the list: its registration with the list's domain.
    fn handle(&self) -> HmListHandle<'_, S> {
        HmListHandle {
            list: self,
            local: S::register(&self.domain, SLOTS),
            visited: 0,
        }
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

impl<S: Scheme> HmList<S> {
    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        S::stats(&self.domain)
    }
}

/// One thread's access to an [`HmList`].
pub struct HmListHandle<'l, S: Scheme> {
    list: &'l HmList<S>,
    local: S::Local<'l>,
    /// Nodes the last operation's search passed ([`SetHandle::visited`]).
    visited: u64,
}

impl<S: Scheme> std::fmt::Debug for HmListHandle<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmListHandle").finish_non_exhaustive()
    }
}

// SAFETY (every call below): the guard is pinned in the list's own domain, the one its
// bucket's nodes are retired to, which the list owns and so outlives its nodes.
impl<S: Scheme> SetHandle for HmListHandle<'_, S> {
    fn insert(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.list
                .head
                .insert(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn remove(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.list
                .head
                .remove(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn contains(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.list
                .head
                .contains(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    fn walk(&mut self) -> Option<u64> {
        // SAFETY: see above.
        Some(unsafe { self.list.head.walk(&mut self.local.pin()) })
    }

    /// Enters an operation, protects the first node and holds it while `wait` runs: a
    /// reader that stays.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        let mut guard = self.local.pin();
        self.list.head.hold_first(&mut guard);
        wait();
        true
    }
}

/// What `list` says of the list, in either family.
pub(crate) const SUMMARY: &str =
    "Harris–Michael list: sorted, a search unlinks the removed nodes it passes";

/// The registry's marker for a Harris–Michael list over scheme `S`.
#[derive(Debug)]
pub struct HarrisMichael<S>(PhantomData<fn() -> S>);

impl<S: Scheme> SetBackend for HarrisMichael<S> {
    const INFO: SetInfo = SetInfo {
        structure: "hmlist",
        scheme: S::NAME,
        ordered: true,
        summary: SUMMARY,
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Set = HmList<S>;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::set_tests;
    use reclaim_smr::{Ebr, Hp, Leak};

    #[test]
    fn agrees_with_a_btreeset_leak() {
        set_tests::agrees_with_a_btreeset::<HmList<Leak>>();
    }

    #[test]
    fn agrees_with_a_btreeset_ebr() {
        set_tests::agrees_with_a_btreeset::<HmList<Ebr>>();
    }

    #[test]
    fn agrees_with_a_btreeset_hp() {
        set_tests::agrees_with_a_btreeset::<HmList<Hp>>();
    }

    #[test]
    fn overlapping_keys_add_up_leak() {
        set_tests::overlapping_keys_add_up::<HmList<Leak>>();
    }

    #[test]
    fn overlapping_keys_add_up_ebr() {
        set_tests::overlapping_keys_add_up::<HmList<Ebr>>();
    }

    #[test]
    fn overlapping_keys_add_up_hp() {
        set_tests::overlapping_keys_add_up::<HmList<Hp>>();
    }

    #[test]
    fn a_search_visits_the_keys_below_leak() {
        set_tests::a_sorted_list_visits_the_keys_below::<HmList<Leak>>();
    }

    #[test]
    fn a_search_visits_the_keys_below_ebr() {
        set_tests::a_sorted_list_visits_the_keys_below::<HmList<Ebr>>();
    }

    #[test]
    fn a_search_visits_the_keys_below_hp() {
        set_tests::a_sorted_list_visits_the_keys_below::<HmList<Hp>>();
    }

    /// Filled and emptied by three threads, the list holds no node, marked or not.
    #[test]
    fn disjoint_ranges_fill_and_empty() {
        let list = set_tests::disjoint_ranges_fill_and_empty::<HmList<Hp>>();
        assert!(list.head.is_empty(), "emptied");
    }
}
