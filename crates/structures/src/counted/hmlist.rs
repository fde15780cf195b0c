//! The Harris–Michael list over counted references: the same algorithm as
//! [`crate::hmlist`], with nodes in `Arc`s and links in arc-swap cells, and the mark moved
//! out of the pointer into a *marker node*.
//!
//! # The mark
//!
//! Harris and Michael remove a key by setting the low bit of its node's `next` pointer: a
//! compare-and-swap on that word then tests the successor and the mark together, so an
//! insert behind a node being removed fails instead of linking its node into a node that
//! is about to be unlinked (and losing it). A counted link (an arc-swap cell holding an
//! `Arc`) has no spare bit, and a separate `deleted` flag beside the link cannot be tested
//! by the same compare-and-swap: an insert that read the flag clear could still link
//! behind the node after the flag is set, and the new key would go with it.
//!
//! So removing a key *replaces its node's successor by a marker*: a node of its own, whose
//! link holds the successor and never changes (the device of Java's
//! `ConcurrentSkipListMap`, which has no pointer bits to steal either). Marking is one
//! compare-and-swap of the node's link from its successor `s` to the marker `m → s`:
//!
//! ```text
//! before:  prev ─▶ node ─▶ s          marked:  prev ─▶ node ─▶ m ─▶ s
//! ```
//!
//! - Every compare-and-swap on a node's link expects a key node (or the end), never a
//!   marker: an insert expects the successor it found, a remove the successor it read, an
//!   unlink the node it is unlinking. So once a marker is in a link, every later CAS on
//!   that link fails: the link is frozen, as a set mark bit freezes it, and an insert
//!   behind a marked node fails and searches again.
//! - A search that finds a marker behind `node` unlinks `node` and its marker together, by
//!   a compare-and-swap of `prev`'s link from `node` to `s`, and only the thread whose CAS
//!   succeeded counts `node` as retired.
//! - Compare-and-swap is on pointer identity, and every pointer compared is one the thread
//!   holds a count of, so no address can be freed and reused under it: no ABA. A link that
//!   went `n → x → n` (a node inserted and removed in between) compares equal, and that is
//!   what the pointer family's tagged compare-and-swap would see too: the link holds `n`,
//!   unmarked, right now.
//!
//! An immutable cell per link, `{ node, marked }`, swapped whole, would freeze links just
//! as well (marking replaces the cell an insert compares against). It is not used because
//! of what it adds to the measured path: every hop would take a count of a cell and reach
//! the node through it (two dependent loads, two cache lines), and every insert and unlink
//! would allocate a cell. With markers a hop is one counted load of the next node itself,
//! as a hop of the pointer family is one load of it, and only a remove allocates extra.
//!
//! # Why it is linearizable
//!
//! Two invariants hold after every successful compare-and-swap: (1) a key node whose link
//! holds no marker is reachable from the head once it has been linked (only marked nodes
//! are unlinked, and an unlink splices in the frozen successor), and (2) the reachable key
//! nodes are in strictly increasing key order (an insert links between `prev` and `cur`
//! only while `prev`'s link still holds `cur`, which also proves `prev` unmarked at that
//! instant). A key is in the set when a reachable, unmarked node holds it. Then:
//!
//! - an insert takes effect at its linking compare-and-swap (`prev` unmarked and directly
//!   before `cur`, so no node of the key is reachable), a remove at its marking one (the
//!   node unmarked, so reachable, until then);
//! - a search that answers "present" read its node's link and found no marker there: at
//!   that read the node was unmarked, so reachable, so the key was in the set;
//! - a search that answers "absent" read `cur` (a larger key, or the end) out of `prev`'s
//!   link, with no marker: at that read `prev` was reachable and unmarked and linked
//!   straight to `cur`, so by the order no node of the key was reachable. (When `cur` came
//!   from an unlink instead, the unlinking CAS is that instant.)
//!
//! The pointer family's hmlist re-reads `prev`'s link after each step: that check is for
//! hazard pointers (it proves the successor was reachable once its protection was
//! visible). Here holding a count already keeps the node, so the check is not needed, and
//! the list does not pay for it.
//!
//! # What a hop costs
//!
//! The point of these rows is the price of a shared count per hop. A search steps from
//! node to node with a counted load of the current node's link (arc-swap's `load_full`):
//! a protected load through the thread's own debt slots, then an increment of the next
//! node's strong count; and as it moves on it drops the node it leaves behind, a
//! decrement. That is two read-modify-writes per hop on counts every thread passing the
//! same node also writes — and the count sits on the node's own cache line, beside the
//! key every reader reads, so readers of a hot prefix of the list contend as writers do.
//! Hazard pointers pay a store and a fence per hop on the thread's own slot, epochs
//! nothing. Links change by arc-swap's compare-and-swap, which also pays the readers'
//! outstanding debts. A remove allocates its marker (one more node; under `sweep` one more
//! object for the collector), an insert only its node.
//!
//! Where nodes are freed is the scheme's business: under `rc` by whichever thread drops the
//! last count (a search that unlinks a node frees it, and the nodes only it still held,
//! inline); under `sweep` by the collector, which is handed every node and marker once
//! linked, and even the few that a lost race left unlinked, so no worker ever frees.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwapOption;
use crossbeam_utils::CachePadded;
use reclaim_core::{BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetInfo};
use reclaim_smr::CountedScheme;
use reclaim_smr::counters::{self, Participant};

use super::handle::{CountedSetHandle, CountedSetOps, counted_domain, stall_holding};
use super::node::{drop_chain, same};

/// A node of a counted list: a key, or the marker of a removed key's node.
pub(crate) struct SetNode {
    key: u64,
    /// A key node's successor, until the key is removed: then its marker, for good. A
    /// marker's: the successor of the node it marks, set before it is linked and never
    /// changed after.
    next: ArcSwapOption<SetNode>,
    marker: bool,
    /// Set by the search that unlinked the node, so its drop counts a free of a retired
    /// node (nodes freed with a whole set were never retired).
    retired: AtomicBool,
}

/// A counted link: a node and the count it holds, or the end of the list.
type Link = Option<Arc<SetNode>>;

impl SetNode {
    fn new(key: u64, marker: bool) -> Arc<SetNode> {
        #[cfg(test)]
        tests::ALLOCATED.fetch_add(1, Ordering::Relaxed);
        Arc::new(SetNode {
            key,
            next: ArcSwapOption::empty(),
            marker,
            retired: AtomicBool::new(false),
        })
    }

    /// Marks the node unlinked by `participant`: counts the retire now, and its drop will
    /// count a free.
    fn retire(&self, participant: &Participant<'_>) {
        participant.note_retired();
        // Relaxed: the thread that drops the node last synchronizes with this one through
        // the reference count (its decrement is Release, the last one Acquires).
        self.retired.store(true, Ordering::Relaxed);
    }
}

/// Whether `link` leads to a marker: the node it was read out of is removed.
fn is_marker(link: &Link) -> bool {
    link.as_ref().is_some_and(|node| node.marker)
}

impl Drop for SetNode {
    fn drop(&mut self) {
        #[cfg(test)]
        tests::DROPPED.fetch_add(1, Ordering::Relaxed);
        if *self.retired.get_mut() {
            counters::note_freed();
        }
        drop_chain(self.next.swap(None), |node| node.next.swap(None));
    }
}

/// Where a search for a key stopped: `cur` is the first node whose key is not below it (or
/// the end), read out of the link of `prev` (the head when `None`) with no marker.
struct Position {
    prev: Link,
    cur: Link,
    found: bool,
    /// Nodes the search passed (in its last pass, if it started again), `cur` included.
    visited: u64,
}

/// The head of one sorted list, and the algorithm. A list is one bucket; a hash set is
/// many, sharing one domain. Every operation takes that domain and the caller's
/// participant in its counters, and tells the scheme when it has dropped its counts.
#[derive(Default)]
pub(crate) struct Bucket {
    head: ArcSwapOption<SetNode>,
}

impl Bucket {
    /// The link `cur` was read out of: the head, or `prev`'s.
    fn link<'a>(&'a self, prev: &'a Link) -> &'a ArcSwapOption<SetNode> {
        match prev {
            None => &self.head,
            Some(node) => &node.next,
        }
    }

    /// Searches for `key`, unlinking (and retiring) the marked nodes it meets.
    fn find(&self, key: u64, participant: &Participant<'_>) -> Position {
        'again: loop {
            let mut prev: Link = None;
            // The head is never marked.
            let mut cur = self.head.load_full();
            let mut visited = 0;
            loop {
                let Some(node) = &cur else {
                    return Position {
                        prev,
                        cur,
                        found: false,
                        visited,
                    };
                };
                visited += 1;
                // The hop: a count of the successor (or of the marker).
                let next = node.next.load_full();
                if is_marker(&next) {
                    // `node` is removed: unlink it with its marker, and retire it if this
                    // unlinked it.
                    let marker = next.as_ref().expect("a marker");
                    let successor = marker.next.load_full();
                    let previous = self.link(&prev).compare_and_swap(&cur, successor.clone());
                    if !same(&previous, &cur) {
                        continue 'again;
                    }
                    node.retire(participant);
                    cur = successor;
                    continue;
                }
                if node.key >= key {
                    let found = node.key == key;
                    return Position {
                        prev,
                        cur,
                        found,
                        visited,
                    };
                }
                prev = cur;
                cur = next;
            }
        }
    }

    /// Adds `key`; `false` if it was there already. `visited` is set to the nodes the
    /// search that decided it passed.
    pub(crate) fn insert<C: CountedScheme>(
        &self,
        domain: &C::Domain,
        key: u64,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        // Allocated once the key is known absent, and kept across retries.
        let mut node: Link = None;
        let inserted = loop {
            let at = self.find(key, participant);
            *visited = at.visited;
            if at.found {
                break false;
            }
            let new = node.get_or_insert_with(|| SetNode::new(key, false));
            new.next.store(at.cur.clone());
            let previous = self
                .link(&at.prev)
                .compare_and_swap(&at.cur, Some(Arc::clone(new)));
            if same(&previous, &at.cur) {
                // Tracked once linked, while still ours (see `CountedScheme::track`).
                C::track(domain, new);
                break true;
            }
        };
        if let (false, Some(unused)) = (inserted, &node) {
            // A retry found the key after all: the node was never linked. The collector
            // frees it under `sweep`, not this worker.
            C::track(domain, unused);
        }
        drop(node);
        C::released(domain);
        inserted
    }

    /// Removes `key`; `false` if it was not there. `visited` is set to the nodes the
    /// search that decided it passed (not those of a second search that unlinks it).
    pub(crate) fn remove<C: CountedScheme>(
        &self,
        domain: &C::Domain,
        key: u64,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        // Allocated once the key is found, and kept across retries.
        let mut marker: Link = None;
        let removed = loop {
            let at = self.find(key, participant);
            *visited = at.visited;
            let Some(node) = at.cur.as_ref().filter(|_| at.found) else {
                break false;
            };
            let next = node.next.load_full();
            if is_marker(&next) {
                // Another remove got there first; the search unlinks it and looks again.
                continue;
            }
            let new = marker.get_or_insert_with(|| SetNode::new(key, true));
            new.next.store(next.clone());
            // Marking removes the key: whoever marks it is the one remove that succeeds.
            let previous = node.next.compare_and_swap(&next, Some(Arc::clone(new)));
            if !same(&previous, &next) {
                continue;
            }
            drop(previous);
            C::track(domain, new);
            let previous = self.link(&at.prev).compare_and_swap(&at.cur, next);
            if same(&previous, &at.cur) {
                node.retire(participant);
            } else {
                // Some other search will meet it marked and unlink it; this one does now,
                // so that every successful remove's node is retired by the time it returns.
                drop(previous);
                self.find(key, participant);
            }
            break true;
        };
        if let (false, Some(unused)) = (removed, &marker) {
            // Never linked: as for an insert's unused node.
            C::track(domain, unused);
        }
        drop(marker);
        C::released(domain);
        removed
    }

    /// Whether `key` is in the list. `visited` is set to the nodes the search passed.
    pub(crate) fn contains<C: CountedScheme>(
        &self,
        domain: &C::Domain,
        key: u64,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        let at = self.find(key, participant);
        *visited = at.visited;
        let found = at.found;
        drop(at);
        C::released(domain);
        found
    }

    /// Walks the whole list, hop by counted hop (unlinking the removed nodes it meets, as
    /// every search does); the number of nodes passed.
    pub(crate) fn walk<C: CountedScheme>(
        &self,
        domain: &C::Domain,
        participant: &Participant<'_>,
    ) -> u64 {
        // Every key is at most `u64::MAX`: the search ends at the last node.
        let visited = self.find(u64::MAX, participant).visited;
        C::released(domain);
        visited
    }

    /// Holds the first node while `wait` runs: a reader that stays in its operation.
    pub(crate) fn stall<C: CountedScheme>(&self, domain: &C::Domain, wait: &mut dyn FnMut()) {
        stall_holding::<C, _>(domain, self.head.load_full(), wait);
    }

    /// Lets go of the chain: the set is being dropped, and the chain goes with the last
    /// count of it (at once under `rc`, by the collector under `sweep`).
    pub(crate) fn clear(&self) {
        drop(self.head.swap(None));
    }

    /// Whether the list holds no node (marked or not).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load().is_none()
    }
}

/// A lock-free sorted set of `u64` keys over counted scheme `C`.
pub struct CountedHmList<C: CountedScheme> {
    head: CachePadded<Bucket>,
    domain: C::Domain,
}

impl<C: CountedScheme> std::fmt::Debug for CountedHmList<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountedHmList")
            .field("scheme", &C::NAME)
            .finish_non_exhaustive()
    }
}

impl<C: CountedScheme> Default for CountedHmList<C> {
    fn default() -> Self {
        Self::with_domain(C::new_domain())
    }
}

impl<C: CountedScheme> CountedHmList<C> {
    fn with_domain(domain: C::Domain) -> Self {
        CountedHmList {
            head: CachePadded::new(Bucket::default()),
            domain,
        }
    }

    /// What the domain has retired and freed so far.
    pub fn stats(&self) -> ReclaimStats {
        C::stats(&self.domain)
    }
}

impl<C: CountedScheme> CountedSetOps for CountedHmList<C> {
    type Scheme = C;

    fn domain(&self) -> &C::Domain {
        &self.domain
    }

    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head
            .insert::<C>(&self.domain, key, participant, visited)
    }

    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head
            .remove::<C>(&self.domain, key, participant, visited)
    }

    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head
            .contains::<C>(&self.domain, key, participant, visited)
    }

    fn walk(&self, participant: &Participant<'_>) -> u64 {
        self.head.walk::<C>(&self.domain, participant)
    }

    fn stall(&self, wait: &mut dyn FnMut()) {
        self.head.stall::<C>(&self.domain, wait);
    }
}

impl<C: CountedScheme> ConcurrentSet for CountedHmList<C> {
    type Handle<'s> = CountedSetHandle<'s, Self>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let backend = CountedHarrisMichael::<C>::INFO.structure;
        Ok(Self::with_domain(counted_domain::<C>(backend, config)?))
    }

    fn handle(&self) -> Self::Handle<'_> {
        CountedSetHandle::new(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.stats())
    }
}

impl<C: CountedScheme> Drop for CountedHmList<C> {
    fn drop(&mut self) {
        // As for the counted containers: `rc` frees the chain here, counted in the
        // teardown shard; under `sweep` the collector frees it when the domain (dropped
        // next) joins it.
        let head = &self.head;
        C::teardown(&mut self.domain, || head.clear());
    }
}

/// The registry's marker for a Harris–Michael list over counted scheme `C`.
#[derive(Debug)]
pub struct CountedHarrisMichael<C>(PhantomData<fn() -> C>);

impl<C: CountedScheme> SetBackend for CountedHarrisMichael<C> {
    const INFO: SetInfo = SetInfo {
        structure: "hmlist",
        scheme: C::NAME,
        ordered: true,
        summary: crate::hmlist::SUMMARY,
        settings: C::SETTINGS,
        knobs: C::KNOBS,
    };
    type Set = CountedHmList<C>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::set_tests::{self, MIRI};
    use reclaim_conformance::wait_for;
    use reclaim_core::SetHandle;
    use reclaim_smr::{Rc, Sweep};
    use std::sync::atomic::AtomicU64;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    /// Nodes (and markers) made and dropped, by every test of the counted sets: read
    /// only under [`serial`].
    pub(crate) static ALLOCATED: AtomicU64 = AtomicU64::new(0);
    pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

    /// Taken by every test that makes counted set nodes, so that one test's count of
    /// nodes made and dropped is not moved by another's.
    pub(crate) fn serial() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` (which builds a set, uses it and drops it or hands it back to be
    /// dropped here), and checks that every node made meanwhile was dropped, once.
    pub(crate) fn drops_every_node_once<T>(work: impl FnOnce() -> T) {
        let _serial = serial();
        let (made, dropped) = (
            ALLOCATED.load(Ordering::Relaxed),
            DROPPED.load(Ordering::Relaxed),
        );
        drop(work());
        let made = ALLOCATED.load(Ordering::Relaxed) - made;
        let dropped = DROPPED.load(Ordering::Relaxed) - dropped;
        assert!(made > 0, "the work made no node");
        assert_eq!(dropped, made, "nodes dropped of {made} made");
    }

    #[test]
    fn agrees_with_a_btreeset_rc() {
        drops_every_node_once(set_tests::agrees_with_a_btreeset::<CountedHmList<Rc>>);
    }

    #[test]
    fn agrees_with_a_btreeset_sweep() {
        drops_every_node_once(set_tests::agrees_with_a_btreeset::<CountedHmList<Sweep>>);
    }

    #[test]
    fn a_search_visits_the_keys_below_rc() {
        drops_every_node_once(set_tests::a_sorted_list_visits_the_keys_below::<CountedHmList<Rc>>);
    }

    #[test]
    fn a_search_visits_the_keys_below_sweep() {
        drops_every_node_once(
            set_tests::a_sorted_list_visits_the_keys_below::<CountedHmList<Sweep>>,
        );
    }

    #[test]
    fn overlapping_keys_add_up_rc() {
        drops_every_node_once(set_tests::overlapping_keys_add_up::<CountedHmList<Rc>>);
    }

    #[test]
    fn overlapping_keys_add_up_sweep() {
        drops_every_node_once(set_tests::overlapping_keys_add_up::<CountedHmList<Sweep>>);
    }

    /// Filled and emptied by three threads, the list holds no node, marked or not.
    fn disjoint_ranges_fill_and_empty<C: CountedScheme>() {
        drops_every_node_once(|| {
            let list = set_tests::disjoint_ranges_fill_and_empty::<CountedHmList<C>>();
            assert!(list.head.is_empty(), "emptied");
            list
        });
    }

    #[test]
    fn disjoint_ranges_fill_and_empty_rc() {
        disjoint_ranges_fill_and_empty::<Rc>();
    }

    #[test]
    fn disjoint_ranges_fill_and_empty_sweep() {
        disjoint_ranges_fill_and_empty::<Sweep>();
    }

    /// Under `rc` a removed node is freed by the operation that drops its last count: once
    /// no operation runs, every retired node is freed.
    #[test]
    fn rc_frees_what_it_retires_inline() {
        let _serial = serial();
        let list = CountedHmList::<Rc>::default();
        let mut h = list.handle();
        let n = if MIRI { 20 } else { 1_000 };
        for key in 0..n {
            assert!(h.insert(key));
        }
        for key in (0..n).step_by(2) {
            assert!(h.remove(key));
        }
        let stats = list.stats();
        assert_eq!((stats.retired, stats.freed), (n / 2, n / 2));
    }

    /// Under `sweep` the collector frees the removed nodes while the set lives, and the
    /// workers never free: a pass finds them held by nobody else.
    #[test]
    fn the_sweep_collector_frees_removed_nodes() {
        let _serial = serial();
        let list = CountedHmList::<Sweep>::default();
        let mut h = list.handle();
        let n = if MIRI { 20 } else { 1_000 };
        for key in 0..n {
            assert!(h.insert(key));
        }
        for key in 0..n {
            assert!(h.remove(key));
        }
        assert_eq!(list.stats().retired, n);
        wait_for("the collector to free the removed nodes", || {
            list.stats().freed == n
        });
        // Nodes and markers, each freed by the collector.
        wait_for("the collector to free the markers too", || {
            list.domain.collector_stats().freed == 2 * n
        });
    }

    /// A long list drops with a loop, not a recursion per node.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_long_list_drops_without_recursion() {
        fn long<C: CountedScheme>() {
            drops_every_node_once(|| {
                let list = CountedHmList::<C>::default();
                let mut h = list.handle();
                // Descending: each insert is at the head, so filling is linear.
                for key in (0..200_000).rev() {
                    h.insert(key);
                }
                drop(h);
                list
            });
        }
        long::<Rc>();
        long::<Sweep>();
    }

    #[test]
    fn a_reader_that_stays_holds_the_first_node() {
        let _serial = serial();
        let list = CountedHmList::<Rc>::default();
        let mut h = list.handle();
        h.insert(1);
        let mut ran = false;
        assert!(h.stall(&mut || ran = true));
        assert!(ran);
    }

    #[test]
    fn the_info_groups_with_the_pointer_family() {
        assert_eq!(CountedHarrisMichael::<Rc>::INFO.structure, "hmlist");
        assert_eq!(CountedHarrisMichael::<Rc>::INFO.scheme, "rc");
        assert_eq!(CountedHarrisMichael::<Sweep>::INFO.scheme, "sweep");
    }
}
