//! A lock-free skip list (Herlihy and Shavit's, after Fraser and Pugh), the ordered set
//! that scales: a sorted set of `u64` keys whose searches take logarithmic steps.
//!
//! # The structure
//!
//! Every key has a node with a *tower* of links, one per level; level 0 links every
//! node in key order, and each level above links a random half of the level below it
//! (the tower height is geometric, `p = 1/2`, capped at about log2 of the key range the
//! set is built for). A search starts at the top level of the head and goes right while
//! the next key is below the one sought, then down, so it passes about two nodes a
//! level. Level 0 decides membership: an insert takes effect when its node is linked
//! there, a remove when it marks its node's level-0 link.
//!
//! Each level is a Harris–Michael list (see [`hmlist`](crate::hmlist)): a remove marks
//! its node's links top-down, the level-0 mark last, and a search *unlinks* every marked
//! node it meets on every level before stepping on. A search therefore never walks
//! through a removed node, which is what lets hazard pointers protect it: each node is
//! protected, then checked to be still linked from an unmarked predecessor on that level,
//! exactly as in the list.
//!
//! # Retiring a node exactly once
//!
//! A node is linked on several levels and unlinked from each by whichever search's
//! compare-and-swap wins there, in any order: after its level-0 unlink it may still be
//! reachable from above. And its inserter links the upper levels after level 0, so it
//! can link a level of a node that a remove has meanwhile marked everywhere. Each node
//! therefore counts its references: one per level of its tower plus one for its inserter.
//! A level's reference is dropped by the compare-and-swap that unlinks the node there,
//! or by the inserter for the levels it gives up linking (a level marked before it was
//! linked is never linked); the inserter drops its own when it is done with the node. The
//! thread that drops the last reference retires the node: at that point it is linked
//! nowhere and never will be, and no one else retires it. A remove, once it has marked
//! level 0, searches for its key again, which unlinks the node on every level it is
//! linked at; an insert that finds its node removed when done does the same, for a level
//! it linked after that search (a store-load fence on each side, between the mark or the
//! link and the load that looks for the other, makes sure at least one of them sees it).
//!
//! # Protection
//!
//! A search keeps, for every level, the predecessor and successor where it stopped: an
//! insert links its tower between them, a remove marks the node found. With hazard
//! pointers these stay protected until the operation ends, so a search uses two slots
//! a level it has finished plus three for the level it walks (predecessor, current node,
//! successor, rotating as in the list): `2 × levels + 1` slots a handle.
//!
//! # Why a skip list, and not the Natarajan–Mittal tree
//!
//! The tree is the other lock-free ordered set of the research harnesses, but its
//! searches walk through flagged and tagged edges to nodes already on their way out, as
//! Harris's list does, and a hazard published for such a node proves nothing (protecting
//! it needs extra machinery such as HP++). The skip list unlinks before it steps, so it is
//! sound over every pointer scheme, `hp` included; it keeps keys in order with
//! logarithmic searches; and it is the structure of crossbeam-skiplist, the `skipset`
//! baseline, so that comparison is like for like.
//!
//! Towers are fixed arrays of [`MAX_HEIGHT`] links (one allocation a node, the key and
//! the low levels in its first cache line), where crossbeam-skiplist allocates each
//! tower to its height: a node here takes more memory than there.

use std::marker::PhantomData;
use std::ptr;

use crossbeam_utils::CachePadded;
use reclaim_core::{
    BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetHandle, SetInfo,
};
use reclaim_smr::sync::{AtomicPtr, AtomicUsize, Ordering, fence};
use reclaim_smr::{Guard, Local, Scheme};

use crate::handle::scheme_domain;
use crate::hashmap::DEFAULT_KEYS;
use crate::mark::{MARK, is_marked, marked, unmarked};

/// The most levels a tower has: enough for a million keys at `p = 1/2`. A set uses fewer
/// when built for fewer keys (about log2 of its key range). Two under loom, which keeps
/// the models small and still has towers of two heights.
#[cfg(not(loom))]
pub const MAX_HEIGHT: usize = 20;
#[cfg(loom)]
pub const MAX_HEIGHT: usize = 2;

/// Hazard slots a search needs over `levels` levels (see the module documentation).
const fn slots(levels: usize) -> usize {
    2 * levels + 1
}

// The slot pool is one bit a slot in a `u64`.
const _: () = assert!(slots(MAX_HEIGHT) < 64);

/// A node: a key and its tower of links, each carrying the mark in its low bit.
struct SkipNode {
    key: u64,
    /// Levels of the tower in use, `1..=MAX_HEIGHT`; links above are never touched.
    height: usize,
    /// References that keep the node from being retired: a level it is or may yet be
    /// linked at, and its inserter's (see the module documentation).
    refs: AtomicUsize,
    next: [AtomicPtr<SkipNode>; MAX_HEIGHT],
}

// The mark lives in the pointer's low bit.
const _: () = assert!(std::mem::align_of::<SkipNode>() > MARK);

impl SkipNode {
    /// A heap node for `key` with a tower of `height` levels, linked to nothing: ours
    /// until a compare-and-swap publishes it.
    fn alloc(key: u64, height: usize) -> *mut SkipNode {
        Box::into_raw(Box::new(SkipNode {
            key,
            height,
            refs: AtomicUsize::new(height + 1),
            next: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }))
    }
}

/// Drops `count` references to `node`, and retires it if they were the last.
///
/// # Safety
/// `node` came from [`SkipNode::alloc`] and the caller holds `count` of its references
/// (it unlinked the node at that many levels, or is its inserter giving up levels and its
/// own), which also keeps it allocated for this call; `guard` is pinned in the domain of
/// the set the node belongs to.
unsafe fn release<G: Guard>(guard: &mut G, node: *mut SkipNode, count: usize) {
    // AcqRel: whoever drops the last reference sees every access made under the others.
    // SAFETY: a held reference keeps the node unretired, so allocated.
    if unsafe { (*node).refs.fetch_sub(count, Ordering::AcqRel) } == count {
        // SAFETY: the last reference: the node is linked at no level and never will be
        // (levels not linked were given up), so no operation starting now can find it;
        // only the one thread that dropped the count to zero retires it; it came from
        // `Box::into_raw`, and the guard is of the set's domain (caller).
        unsafe { guard.retire(node) };
    }
}

/// Marks `link` if it is not marked yet; `true` if this call set the mark.
fn mark(link: &AtomicPtr<SkipNode>) -> bool {
    let mut next = link.load(Ordering::Acquire);
    while !is_marked(next) {
        match link.compare_exchange_weak(next, marked(next), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(now) => next = now,
        }
    }
    false
}

/// The hazard slots a search hands out, one bit a free slot.
struct SlotPool(u64);

impl SlotPool {
    fn new(slots: usize) -> Self {
        SlotPool((1 << slots) - 1)
    }

    fn take(&mut self) -> usize {
        debug_assert!(self.0 != 0, "a search used more slots than it registered");
        let slot = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        slot
    }

    fn give(&mut self, slot: usize) {
        self.0 |= 1 << slot;
    }
}

/// Where a search for a key stopped, at every level below the set's top: `succs[l]` is
/// the first node on level `l` whose key is not below it (or null), `preds[l]` the link
/// that points to it, unmarked when read. All of them are protected by the guard the
/// search ran under, until it is dropped or searches again.
struct Search {
    preds: [*const AtomicPtr<SkipNode>; MAX_HEIGHT],
    succs: [*mut SkipNode; MAX_HEIGHT],
    /// Whether `succs[0]` holds the key.
    found: bool,
    /// Nodes the search passed on every level it walked (in its last pass, if it started
    /// again), each level's `succs` included: a node met on two levels counts twice. With
    /// one level (a walk), the nodes of the bottom list.
    visited: u64,
}

/// A lock-free sorted set of `u64` keys over reclamation scheme `S`.
pub struct SkipList<S: Scheme> {
    /// The head's tower: never marked, never retired.
    head: CachePadded<[AtomicPtr<SkipNode>; MAX_HEIGHT]>,
    /// Levels in use, `1..=MAX_HEIGHT`: about log2 of the key range built for.
    levels: usize,
    /// Handles taken so far: each seeds its tower heights differently. A plain std
    /// atomic even under loom: it only spreads seeds and orders nothing.
    handles: std::sync::atomic::AtomicU64,
    domain: S::Domain,
}

// SAFETY: the set holds only `u64` keys and raw pointers to nodes it owns; every shared
// access goes through atomics and the scheme's protection. The domain is `Send + Sync` by
// the `Scheme` contract.
unsafe impl<S: Scheme> Send for SkipList<S> {}
// SAFETY: as above.
unsafe impl<S: Scheme> Sync for SkipList<S> {}

impl<S: Scheme> std::fmt::Debug for SkipList<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipList")
            .field("scheme", &S::NAME)
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

impl<S: Scheme> SkipList<S> {
    /// An empty set whose towers suit `keys` distinct keys: up to log2(`keys`) levels
    /// (at least one, at most [`MAX_HEIGHT`]).
    pub fn with_keys(keys: u64) -> Self {
        Self::with_keys_in(keys, S::new_domain())
    }

    fn with_keys_in(keys: u64, domain: S::Domain) -> Self {
        let log2 = (u64::BITS - keys.saturating_sub(1).leading_zeros()) as usize;
        SkipList {
            head: CachePadded::new(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut()))),
            levels: log2.clamp(1, MAX_HEIGHT),
            handles: std::sync::atomic::AtomicU64::new(0),
            domain,
        }
    }

    /// Levels in use.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        S::stats(&self.domain)
    }

    /// The link of `pred` on `level`, or the head's if `pred` is null.
    ///
    /// # Safety
    /// `pred` is null or a node that stays allocated while the link is used.
    unsafe fn link(&self, pred: *mut SkipNode, level: usize) -> *const AtomicPtr<SkipNode> {
        if pred.is_null() {
            &self.head[level]
        } else {
            // SAFETY: allocated (caller).
            unsafe { &(*pred).next[level] }
        }
    }

    /// Searches for `key` from the top level down, unlinking the marked nodes it meets
    /// on every level (and dropping their references).
    ///
    /// # Safety
    /// `guard` is pinned in this set's domain, in a registration with
    /// `slots(self.levels)` slots.
    unsafe fn find<G: Guard>(&self, guard: &mut G, key: u64) -> Search {
        // SAFETY: the caller's guarantee.
        unsafe { self.find_below(guard, key, self.levels) }
    }

    /// [`find`](SkipList::find) on the `levels` lowest levels only, from the head's
    /// tower: with one level, a walk of the bottom list from its first node.
    ///
    /// # Safety
    /// As for [`find`](SkipList::find).
    unsafe fn find_below<G: Guard>(&self, guard: &mut G, key: u64, levels: usize) -> Search {
        'again: loop {
            let mut pool = SlotPool::new(slots(self.levels));
            let mut search = Search {
                preds: [ptr::null(); MAX_HEIGHT],
                succs: [ptr::null_mut(); MAX_HEIGHT],
                found: false,
                visited: 0,
            };
            // The predecessor on the level walked: the head (null) or a node protected
            // in a slot the level above keeps.
            let mut pred: *mut SkipNode = ptr::null_mut();
            for level in (0..levels).rev() {
                // The predecessor's slot if this level moved it (so this level frees it).
                let mut pred_slot: Option<usize> = None;
                let mut cur_slot = pool.take();
                let mut next_slot = pool.take();
                // SAFETY: `pred` is null or protected by the level above.
                let mut prev = unsafe { self.link(pred, level) };
                // SAFETY: `prev` is the head's link or the link of the protected `pred`.
                let prev_ref = unsafe { &*prev };
                let mut cur = prev_ref.load(Ordering::Acquire);
                if is_marked(cur) {
                    // `pred` was removed meanwhile: its links may lead to retired nodes.
                    continue 'again;
                }
                // `pred` links `cur` unmarked after its protection is visible: `pred` is
                // still linked on this level (it was: towers are linked bottom up and the
                // level above reached it; a level is unlinked only once marked), so
                // `cur` is, and is not retired.
                if !cur.is_null() && !guard.protect_from(cur_slot, cur, prev_ref, cur) {
                    continue 'again;
                }
                while !cur.is_null() {
                    search.visited += 1;
                    // SAFETY: `cur` is protected and was linked on this level, from `prev`
                    // unmarked, after its protection was visible (checked above, or below
                    // when it became `cur`).
                    let cur_ref = unsafe { &*cur };
                    // Acquire: the successor's key and tower, written before it was linked.
                    let next = cur_ref.next[level].load(Ordering::Acquire);
                    if !guard.protect_from(next_slot, unmarked(next), &cur_ref.next[level], next) {
                        continue 'again;
                    }
                    // `prev` still links `cur`, unmarked: `cur` is on this level, so its
                    // successor was linked after its protection was published.
                    // SAFETY: `prev` is the head's link or that of a protected node.
                    if unsafe { (*prev).load(Ordering::Acquire) } != cur {
                        continue 'again;
                    }
                    if is_marked(next) {
                        // `cur` is removed: unlink it on this level.
                        let next = unmarked(next);
                        // SAFETY: as above.
                        let unlinked = unsafe {
                            (*prev).compare_exchange(cur, next, Ordering::AcqRel, Ordering::Relaxed)
                        };
                        if unlinked.is_err() {
                            continue 'again;
                        }
                        // SAFETY: this compare-and-swap unlinked `cur` on this level, once
                        // (its link here is marked, so no other can relink or unlink it
                        // again): that level's reference is ours to drop. The guard is of
                        // the set's domain (caller).
                        unsafe { release(guard, cur, 1) };
                        cur = next;
                        std::mem::swap(&mut cur_slot, &mut next_slot);
                        continue;
                    }
                    if cur_ref.key >= key {
                        break;
                    }
                    if let Some(slot) = pred_slot {
                        pool.give(slot);
                    }
                    pred_slot = Some(cur_slot);
                    pred = cur;
                    prev = &cur_ref.next[level];
                    cur = next;
                    cur_slot = next_slot;
                    next_slot = pool.take();
                }
                // The predecessor's and successor's slots stay taken: they keep this
                // level's window protected until the operation ends.
                pool.give(next_slot);
                search.preds[level] = prev;
                search.succs[level] = cur;
            }
            let first = search.succs[0];
            // SAFETY: protected, as every `succs` entry.
            search.found = !first.is_null() && unsafe { (*first).key } == key;
            return search;
        }
    }

    /// Adds `key` with a tower of `height` levels; `false` if it was there already.
    /// `visited` is set to the nodes the search that decided it passed (not those of the
    /// searches that link its tower's upper levels).
    ///
    /// # Safety
    /// As for [`find`](SkipList::find).
    unsafe fn insert<G: Guard>(
        &self,
        guard: &mut G,
        key: u64,
        height: usize,
        visited: &mut u64,
    ) -> bool {
        debug_assert!((1..=self.levels).contains(&height));
        let node = SkipNode::alloc(key, height);
        let mut search = loop {
            // SAFETY: the caller's guard is of the set's domain.
            let search = unsafe { self.find(guard, key) };
            *visited = search.visited;
            if search.found {
                // SAFETY: `node` was never published: it is still ours.
                drop(unsafe { Box::from_raw(node) });
                return false;
            }
            for level in 0..height {
                // SAFETY: `node` is ours until the compare-and-swap below publishes it.
                unsafe { (*node).next[level].store(search.succs[level], Ordering::Relaxed) };
            }
            // Release publishes the node's key and tower. SAFETY: `preds[0]` is the
            // head's link or that of a node the guard protects.
            let linked = unsafe {
                (*search.preds[0]).compare_exchange(
                    search.succs[0],
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                )
            };
            if linked.is_ok() {
                break search;
            }
        };
        // SAFETY: the inserter's reference keeps the node unretired until it drops it,
        // below.
        let tower = unsafe { &*node };
        // The key is in. Link the levels above, bottom up, until one is marked.
        let mut level = 1;
        'levels: while level < height {
            loop {
                let succ = search.succs[level];
                let now = tower.next[level].load(Ordering::Acquire);
                // Only a remove writes a mark here, and only this insert anything else, so
                // a failed update means the level is marked: it is given up, unlinked.
                if is_marked(now)
                    || (now != succ
                        && tower.next[level]
                            .compare_exchange(now, succ, Ordering::AcqRel, Ordering::Acquire)
                            .is_err())
                {
                    break 'levels;
                }
                // SAFETY: `preds[level]` is the head's link or that of a protected node.
                let linked = unsafe {
                    (*search.preds[level]).compare_exchange(
                        succ,
                        node,
                        Ordering::Release,
                        Ordering::Relaxed,
                    )
                };
                if linked.is_ok() {
                    break;
                }
                // SAFETY: as above.
                search = unsafe { self.find(guard, key) };
                if is_marked(tower.next[0].load(Ordering::Acquire)) {
                    // Removed meanwhile: the levels not yet linked never will be.
                    break 'levels;
                }
            }
            level += 1;
        }
        // Removed while its tower went up? A level linked after the remove's search would
        // stay linked until a search passes; this one unlinks it now. Only a level above
        // the first can be linked that late.
        if level > 1 {
            // Store-load fence, paired with the remove's after its level-0 mark: either
            // this load sees the mark, or the remove's search sees the levels linked here.
            // (Acquire and release alone let both miss, as the loom model shows.)
            fence(Ordering::SeqCst);
            if is_marked(tower.next[0].load(Ordering::Acquire)) {
                // SAFETY: as above.
                unsafe { self.find(guard, key) };
            }
        }
        // SAFETY: the inserter holds the references of the levels it did not link and
        // its own; the node is not touched after this.
        unsafe { release(guard, node, height - level + 1) };
        true
    }

    /// Removes `key`; `false` if it was not there. `visited` is set to the nodes the
    /// search that decided it passed (not those of the search that unlinks it).
    ///
    /// # Safety
    /// As for [`find`](SkipList::find).
    unsafe fn remove<G: Guard>(&self, guard: &mut G, key: u64, visited: &mut u64) -> bool {
        // SAFETY: the caller's guard is of the set's domain.
        let search = unsafe { self.find(guard, key) };
        *visited = search.visited;
        if !search.found {
            return false;
        }
        // SAFETY: found, so non-null, and protected until the next search.
        let tower = unsafe { &*search.succs[0] };
        // Top down, level 0 last: a node marked at level 0 is marked everywhere, so an
        // insert still raising its tower stops, and every search that meets it unlinks it.
        for level in (1..tower.height).rev() {
            mark(&tower.next[level]);
        }
        // Marking level 0 removes the key: whoever marks it is the one remove that
        // succeeds; one that finds it marked comes after that remove.
        if !mark(&tower.next[0]) {
            return false;
        }
        // Unlink it on every level it is linked at. The fence pairs with the insert's
        // (see there): a level the insert links after this search sees the mark.
        fence(Ordering::SeqCst);
        // SAFETY: as above.
        unsafe { self.find(guard, key) };
        true
    }

    /// Whether `key` is in the set. `visited` is set to the nodes the search passed.
    ///
    /// # Safety
    /// As for [`find`](SkipList::find).
    unsafe fn contains<G: Guard>(&self, guard: &mut G, key: u64, visited: &mut u64) -> bool {
        // SAFETY: the caller's guard is of the set's domain.
        let search = unsafe { self.find(guard, key) };
        *visited = search.visited;
        search.found
    }

    /// Whether no level links any node (marked or not).
    #[cfg(all(test, not(loom)))]
    fn is_empty(&self) -> bool {
        self.head
            .iter()
            .all(|link| link.load(Ordering::Relaxed).is_null())
    }
}

impl<S: Scheme> Drop for SkipList<S> {
    fn drop(&mut self) {
        // `&mut self`: no thread can reach the nodes, and every inserter has dropped its
        // reference, so a node's count is the number of levels it is still linked at. Each
        // level's walk drops one; the walk that drops the last frees the node, which no
        // lower level links any more. Retired nodes are linked nowhere: the scheme frees
        // those.
        for level in (0..self.levels).rev() {
            let mut cur = unmarked(self.head[level].load(Ordering::Relaxed));
            while !cur.is_null() {
                // SAFETY: linked at this level, so its count is not zero yet: allocated
                // and never retired.
                let node = unsafe { &*cur };
                let next = unmarked(node.next[level].load(Ordering::Relaxed));
                if node.refs.fetch_sub(1, Ordering::Relaxed) == 1 {
                    // SAFETY: from `Box::into_raw`, never retired, linked nowhere else:
                    // freed once, here.
                    drop(unsafe { Box::from_raw(cur) });
                }
                cur = next;
            }
        }
    }
}

/// A handle's tower heights: an xorshift64 generator, geometric heights with `p = 1/2`.
struct Heights(u64);

impl Heights {
    /// A generator seeded from `seed` (any value: it is mixed, and never zero after).
    fn seeded(seed: u64) -> Self {
        // The splitmix64 mixer, so that consecutive seeds start far apart.
        Heights(reclaim_core::splitmix::mix(seed) | 1)
    }

    /// The next height, `1..=levels`: each level above the first with probability 1/2.
    fn next(&mut self, levels: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        // The high bits are xorshift's best; `x` is never zero.
        (x.leading_zeros() as usize + 1).min(levels)
    }
}

impl<S: Scheme> ConcurrentSet for SkipList<S> {
    type Handle<'s> = SkipListHandle<'s, S>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        match config.keys {
            Some(0) => Err(BuildError::InvalidConfig {
                backend: "skiplist",
                reason: "a key range of 0 keys: the set could hold nothing".into(),
            }),
            keys => {
                let backend = LockFreeSkipList::<S>::INFO.structure;
                let domain = scheme_domain::<S>(backend, config)?;
                Ok(Self::with_keys_in(keys.unwrap_or(DEFAULT_KEYS), domain))
            }
        }
    }

    /// A thread's handle on the set: its registration with the set's domain, with a slot
    /// for every pointer a search keeps, and its own tower heights.
    fn handle(&self) -> SkipListHandle<'_, S> {
        let seed = self
            .handles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SkipListHandle {
            set: self,
            local: S::register(&self.domain, slots(self.levels)),
            heights: Heights::seeded(seed),
            visited: 0,
        }
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

/// One thread's access to a [`SkipList`].
pub struct SkipListHandle<'s, S: Scheme> {
    set: &'s SkipList<S>,
    local: S::Local<'s>,
    heights: Heights,
    /// Nodes the last operation's search passed, over every level
    /// ([`SetHandle::visited`]).
    visited: u64,
}

impl<S: Scheme> std::fmt::Debug for SkipListHandle<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipListHandle").finish_non_exhaustive()
    }
}

// SAFETY (every call below): the guard is pinned in the set's own domain, the one its
// nodes are retired to, which the set owns and so outlives its nodes, and the handle
// registered `slots(levels)` slots.
impl<S: Scheme> SetHandle for SkipListHandle<'_, S> {
    fn insert(&mut self, key: u64) -> bool {
        let height = self.heights.next(self.set.levels);
        // SAFETY: see above.
        unsafe {
            self.set
                .insert(&mut self.local.pin(), key, height, &mut self.visited)
        }
    }

    fn remove(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.set
                .remove(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    fn contains(&mut self, key: u64) -> bool {
        // SAFETY: see above.
        unsafe {
            self.set
                .contains(&mut self.local.pin(), key, &mut self.visited)
        }
    }

    /// The nodes the last operation's search passed on every level, a node met on two
    /// levels twice.
    fn visited(&self) -> Option<u64> {
        Some(self.visited)
    }

    /// The bottom level from its first node to its last, under one guard: a search past
    /// the last key that skips nothing.
    fn walk(&mut self) -> Option<u64> {
        // SAFETY: see above. Every key is at most `u64::MAX`: the search ends at the end.
        Some(unsafe { self.set.find_below(&mut self.local.pin(), u64::MAX, 1) }.visited)
    }

    /// Enters an operation, protects the first node of level 0 and holds it while `wait`
    /// runs: a reader that stays.
    fn stall(&mut self, wait: &mut dyn FnMut()) -> bool {
        let mut guard = self.local.pin();
        // The head is never marked: a plain protected load.
        let _held = guard.protect(0, &self.set.head[0]);
        wait();
        true
    }
}

/// The registry's marker for a skip list over scheme `S`.
#[derive(Debug)]
pub struct LockFreeSkipList<S>(PhantomData<fn() -> S>);

impl<S: Scheme> SetBackend for LockFreeSkipList<S> {
    const INFO: SetInfo = SetInfo {
        structure: "skiplist",
        scheme: S::NAME,
        ordered: true,
        summary: "lock-free skip list: sorted, logarithmic searches that unlink the removed nodes they pass",
        settings: S::SETTINGS,
        knobs: S::KNOBS,
    };
    type Set = SkipList<S>;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::set_tests::{self, MIRI};
    use reclaim_smr::{Ebr, Hp, Leak};

    impl<S: Scheme> SkipList<S> {
        /// Checks the layout at rest: every level sorted and free of marked links, each
        /// level's nodes also on the level below, every node's count the number of levels
        /// it is linked at. Returns the number of keys.
        fn check_levels(&self) -> usize {
            let mut above: Vec<*mut SkipNode> = Vec::new();
            let mut len = 0;
            for level in (0..self.levels).rev() {
                let mut here: Vec<*mut SkipNode> = Vec::new();
                let mut cur = self.head[level].load(Ordering::Relaxed);
                while !cur.is_null() {
                    assert!(!is_marked(cur), "a marked link on level {level}");
                    // SAFETY: at rest (the test holds the set), linked nodes are allocated.
                    let node = unsafe { &*cur };
                    assert!(level < node.height, "a link above the tower's height");
                    if let Some(&last) = here.last() {
                        // SAFETY: as above.
                        assert!(unsafe { (*last).key } < node.key, "level {level} unsorted");
                    }
                    let linked = (0..node.height).filter(|&l| self.reaches(l, cur)).count();
                    assert_eq!(
                        node.refs.load(Ordering::Relaxed),
                        linked,
                        "key {}",
                        node.key
                    );
                    here.push(cur);
                    cur = node.next[level].load(Ordering::Relaxed);
                }
                assert!(
                    above.iter().all(|n| here.contains(n)),
                    "level {level} lost a node"
                );
                len = here.len();
                above = here;
            }
            len
        }

        /// Whether level `level` links `node`.
        fn reaches(&self, level: usize, node: *mut SkipNode) -> bool {
            let mut cur = self.head[level].load(Ordering::Relaxed);
            while !cur.is_null() && cur != node {
                // SAFETY: at rest, linked nodes are allocated.
                cur = unmarked(unsafe { (*cur).next[level].load(Ordering::Relaxed) });
            }
            cur == node
        }
    }

    #[test]
    fn agrees_with_a_btreeset_leak() {
        set_tests::agrees_with_a_btreeset::<SkipList<Leak>>();
    }

    #[test]
    fn agrees_with_a_btreeset_ebr() {
        set_tests::agrees_with_a_btreeset::<SkipList<Ebr>>();
    }

    #[test]
    fn agrees_with_a_btreeset_hp() {
        set_tests::agrees_with_a_btreeset::<SkipList<Hp>>();
    }

    /// Besides the tallies: at rest, every removed node is unlinked on every level (its
    /// retirement, counted by the shared test, proves it) and the towers are well formed.
    fn overlapping_keys_add_up<S: Scheme>() {
        let set = set_tests::overlapping_keys_add_up::<SkipList<S>>();
        set.check_levels();
    }

    #[test]
    fn overlapping_keys_add_up_leak() {
        overlapping_keys_add_up::<Leak>();
    }

    #[test]
    fn overlapping_keys_add_up_ebr() {
        overlapping_keys_add_up::<Ebr>();
    }

    #[test]
    fn overlapping_keys_add_up_hp() {
        overlapping_keys_add_up::<Hp>();
    }

    /// Filled and emptied by three threads, no level links any node.
    #[test]
    fn disjoint_ranges_fill_and_empty_hp() {
        let set = set_tests::disjoint_ranges_fill_and_empty::<SkipList<Hp>>();
        assert!(set.is_empty(), "emptied");
    }

    #[test]
    fn disjoint_ranges_fill_and_empty_ebr() {
        let set = set_tests::disjoint_ranges_fill_and_empty::<SkipList<Ebr>>();
        assert!(set.is_empty(), "emptied");
    }

    /// One thread, many keys: the towers stack up (the search is logarithmic only if
    /// they do), every level stays sorted and nested, and removing every other key
    /// unlinks it everywhere and retires it once.
    #[test]
    fn towers_stay_sorted_nested_and_unlinked_once() {
        let keys: u64 = if MIRI { 64 } else { 4_096 };
        let set = SkipList::<Hp>::with_keys(keys);
        let mut h = set.handle();
        // An order that is not sorted, so that nodes go in between others.
        for i in 0..keys {
            assert!(h.insert(i.wrapping_mul(0x9e37_79b9) % keys));
        }
        assert_eq!(set.check_levels(), keys as usize);
        let top = (0..set.levels)
            .rev()
            .find(|&l| !set.head[l].load(Ordering::Relaxed).is_null());
        assert!(
            top >= Some(set.levels / 2),
            "towers reach level {top:?} only"
        );
        for key in (0..keys).step_by(2) {
            assert!(h.remove(key) && !h.remove(key), "{key}");
        }
        drop(h);
        assert_eq!(set.check_levels(), keys as usize / 2);
        assert_eq!(set.stats().retired, keys / 2);
    }

    /// A search visits a few nodes a level, not the bottom list: in a set of 1,000 keys
    /// (ten levels), about two a level on average, where the bottom list alone would
    /// take 500. Each search visits at least the node it stops on, and a walk (one
    /// level) visits every node.
    #[test]
    fn a_search_visits_a_few_nodes_a_level() {
        let keys: u64 = if MIRI { 64 } else { 1_000 };
        let set = SkipList::<Ebr>::with_keys(keys);
        let mut h = set.handle();
        assert_eq!(h.visited(), Some(0), "no operation yet");
        for i in 0..keys {
            assert!(h.insert(i.wrapping_mul(0x9e37_79b9) % keys));
        }
        let (mut total, mut most) = (0, 0);
        for key in 0..keys {
            assert!(h.contains(key));
            let visited = h.visited().unwrap();
            assert!(visited >= 1, "contains {key}: {visited}");
            total += visited;
            most = most.max(visited);
        }
        let mean = total as f64 / keys as f64;
        let levels = set.levels() as f64;
        assert!(
            mean < 4.0 * levels && most < 200,
            "{mean} nodes a search on average over {levels} levels, at most {most}"
        );
        assert!(h.remove(keys / 2));
        let removed = h.visited().unwrap();
        assert!((1..200).contains(&removed), "remove: {removed}");
        assert_eq!(h.walk(), Some(keys - 1));
    }

    /// Dropping a set frees the nodes still linked, each once, whatever levels they are
    /// on, and the scheme frees the retired ones: under Miri, a leak or a double free
    /// fails this test.
    #[test]
    fn dropping_frees_every_node_once() {
        let set = SkipList::<Leak>::with_keys(64);
        let mut h = set.handle();
        for key in 0..64 {
            h.insert(key);
        }
        for key in (0..64).step_by(3) {
            h.remove(key);
        }
        drop(h);
        drop(set);
    }

    #[test]
    fn levels_are_log2_of_the_key_range() {
        for (keys, levels) in [
            (1, 1),
            (2, 1),
            (32, 5),
            (33, 6),
            (100_000, 17),
            (u64::MAX, 20),
        ] {
            assert_eq!(SkipList::<Leak>::with_keys(keys).levels(), levels, "{keys}");
        }
        assert!(SkipList::<Leak>::new(&Config::default().with_keys(0)).is_err());
        assert_eq!(
            SkipList::<Leak>::new(&Config::default()).unwrap().levels(),
            17,
            "the default key range"
        );
    }

    /// Heights halve level by level, stay within the set's levels, and two handles draw
    /// different ones. (Plain arithmetic, and 100,000 draws: not for Miri.)
    #[test]
    #[cfg_attr(miri, ignore)]
    fn heights_are_geometric() {
        let draws = 100_000;
        let mut heights = Heights::seeded(0);
        let mut count = [0u32; MAX_HEIGHT + 1];
        for _ in 0..draws {
            count[heights.next(MAX_HEIGHT)] += 1;
        }
        assert_eq!(count[0], 0);
        for (h, &seen) in count.iter().enumerate().take(5).skip(1) {
            let share = f64::from(seen) / f64::from(draws);
            let want = 0.5f64.powi(h as i32);
            assert!((share - want).abs() < 0.01, "height {h}: {share}");
        }
        assert!((0..100).all(|_| heights.next(3) <= 3));
        let (mut a, mut b) = (Heights::seeded(0), Heights::seeded(1));
        assert!((0..64).any(|_| a.next(MAX_HEIGHT) != b.next(MAX_HEIGHT)));
    }
}
