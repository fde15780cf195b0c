//! The Harris–Michael list over circ: the algorithm of [`crate::hmlist`], with nodes in
//! `circ::Rc`s and the mark in the low tag bit of a node's `next` link, as in the pointer
//! family (circ's pointers carry tags, and its compare-and-swap compares them).
//!
//! A search walks with `Snapshot`s, uncounted, under one critical section: circ's EBR keeps
//! every node it reads valid until the operation ends, so — as over `ebr` — no hop is
//! re-validated against its predecessor. Counts are paid only where a link is written: a
//! new node's link to its successor, and the predecessor's link when it swings past a
//! removed node (a count of the successor), each handing the replaced link's count back.
//! Only the thread whose compare-and-swap unlinked a marked node retires it; the node
//! keeps its (marked) link to its successor, which circ's destruction follows
//! ([`RcObject`]).

use std::marker::PhantomData;
use std::sync::atomic::Ordering;

use circ::{AtomicRc, Guard, Rc, RcObject, Snapshot};
use crossbeam_utils::CachePadded;
use reclaim_core::{BuildError, ConcurrentSet, Config, ReclaimStats, SetBackend, SetInfo};
use reclaim_smr::counters::Participant;

use super::domain::{self, CircDomain};
use super::handle::{CircSetHandle, CircSetOps};
use super::node::Retired;

/// The mark: the low tag bit of a node's `next` link. Set, the node's key is removed and
/// the link frozen (every compare-and-swap on it expects an unmarked value).
const MARK: usize = 1;

/// A node of the list.
pub(crate) struct SetNode {
    key: u64,
    /// The successor, marked once the node's key is removed.
    next: AtomicRc<SetNode>,
    retired: Retired,
}

// SAFETY: `pop_edges` hands circ only the `Rc` this node's own `next` link owned.
unsafe impl RcObject for SetNode {
    fn pop_edges(&mut self, out: &mut Vec<Rc<Self>>) {
        out.push(self.next.take());
    }
}

/// Where a search for a key stopped: `cur` is the first node whose key is not below it (or
/// null), `prev` the link that held it, unmarked, when the search read it.
struct Position<'g> {
    prev: &'g AtomicRc<SetNode>,
    cur: Snapshot<'g, SetNode>,
    found: bool,
    /// Nodes the search passed (in its last pass, if it started again), `cur` included.
    visited: u64,
}

/// The head of one sorted list, and the algorithm. A list is one bucket; a hash set is
/// many, sharing one domain.
#[derive(Default)]
pub(crate) struct Bucket {
    head: AtomicRc<SetNode>,
}

impl Bucket {
    /// Searches for `key`, unlinking (and retiring) the marked nodes it meets.
    fn find<'g>(
        &'g self,
        key: u64,
        domain: &CircDomain,
        participant: &Participant<'_>,
        guard: &'g Guard,
    ) -> Position<'g> {
        'again: loop {
            let mut prev = &self.head;
            let mut cur = prev.load(Ordering::Acquire, guard);
            let mut visited = 0;
            loop {
                let Some(node) = cur.as_ref() else {
                    return Position {
                        prev,
                        cur,
                        found: false,
                        visited,
                    };
                };
                visited += 1;
                let next = node.next.load(Ordering::Acquire, guard);
                if next.tag() & MARK != 0 {
                    // `node` is removed: unlink it, and retire it if this unlinked it. The
                    // CAS expects `prev` unmarked, so a predecessor removed meanwhile
                    // fails it and the search starts again.
                    let successor = next.with_tag(0);
                    match prev.compare_exchange(
                        cur,
                        successor.counted(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                        guard,
                    ) {
                        Ok(unlinked) => {
                            node.retired.retire(participant, domain);
                            unlinked.finalize(guard);
                            cur = successor;
                            continue;
                        }
                        Err(failed) => {
                            failed.desired.finalize(guard);
                            continue 'again;
                        }
                    }
                }
                if node.key >= key {
                    return Position {
                        prev,
                        cur,
                        found: node.key == key,
                        visited,
                    };
                }
                prev = &node.next;
                cur = next;
            }
        }
    }

    /// Adds `key`; `false` if it was there already. `visited` is set to the nodes the
    /// search that decided it passed.
    pub(crate) fn insert(
        &self,
        key: u64,
        domain: &CircDomain,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        let guard = circ::cs();
        // Made once the key is known to be absent: a node made and dropped unpublished
        // would still go through circ's deferred destruction.
        let mut node: Option<Rc<SetNode>> = None;
        loop {
            let at = self.find(key, domain, participant, &guard);
            *visited = at.visited;
            if at.found {
                if let Some(node) = node {
                    node.finalize(&guard);
                }
                return false;
            }
            let new = node.unwrap_or_else(|| {
                Rc::new(SetNode {
                    key,
                    next: AtomicRc::null(),
                    retired: Retired::default(),
                })
            });
            // `new` is not published until the CAS below: its link is ours to set.
            // Relaxed: the publishing CAS (a release) carries it.
            new.as_ref().expect("a node just made").next.store(
                at.cur.counted(),
                Ordering::Relaxed,
                &guard,
            );
            match at
                .prev
                .compare_exchange(at.cur, new, Ordering::AcqRel, Ordering::Acquire, &guard)
            {
                // The predecessor's count of `cur`; the new node's link has its own.
                Ok(former) => {
                    former.finalize(&guard);
                    return true;
                }
                Err(failed) => node = Some(failed.desired),
            }
        }
    }

    /// Removes `key`; `false` if it was not there. `visited` is set to the nodes the
    /// search that decided it passed (not those of a second search that unlinks it).
    pub(crate) fn remove(
        &self,
        key: u64,
        domain: &CircDomain,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        let guard = circ::cs();
        loop {
            let at = self.find(key, domain, participant, &guard);
            *visited = at.visited;
            let Some(node) = at.cur.as_ref().filter(|_| at.found) else {
                return false;
            };
            let next = node.next.load(Ordering::Acquire, &guard);
            if next.tag() & MARK != 0 {
                // Another remove got there first; the search unlinks it and looks again.
                continue;
            }
            // Marking removes the key: whoever marks it is the one remove that succeeds.
            if node
                .next
                .compare_exchange_tag(next, MARK, Ordering::AcqRel, Ordering::Acquire, &guard)
                .is_err()
            {
                continue;
            }
            match at.prev.compare_exchange(
                at.cur,
                next.counted(),
                Ordering::AcqRel,
                Ordering::Acquire,
                &guard,
            ) {
                Ok(unlinked) => {
                    node.retired.retire(participant, domain);
                    unlinked.finalize(&guard);
                }
                Err(failed) => {
                    failed.desired.finalize(&guard);
                    // Some other traversal will meet it marked and unlink it; this one
                    // does now.
                    self.find(key, domain, participant, &guard);
                }
            }
            return true;
        }
    }

    /// Whether `key` is in the list. `visited` is set to the nodes the search passed.
    pub(crate) fn contains(
        &self,
        key: u64,
        domain: &CircDomain,
        participant: &Participant<'_>,
        visited: &mut u64,
    ) -> bool {
        let guard = circ::cs();
        let at = self.find(key, domain, participant, &guard);
        *visited = at.visited;
        at.found
    }

    /// Walks the whole list in one critical section (unlinking the marked nodes it meets,
    /// as every search does); the number of nodes passed.
    pub(crate) fn walk(&self, domain: &CircDomain, participant: &Participant<'_>) -> u64 {
        let guard = circ::cs();
        // Every key is below `u64::MAX` or equal to it: the search ends at the last node.
        self.find(u64::MAX, domain, participant, &guard).visited
    }

    /// Holds a `Snapshot` of the first node in a critical section while `wait` runs: a
    /// reader that stays.
    pub(crate) fn stall(&self, wait: &mut dyn FnMut()) {
        let guard = circ::cs();
        let _first = self.head.load(Ordering::Acquire, &guard);
        wait();
    }

    /// Whether the list holds no node (marked or not).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire, &circ::cs()).is_null()
    }
}

// The nodes still linked when a bucket is dropped were never retired: they go to circ
// with the head's count (the `AtomicRc`'s drop), uncounted, and hold no values.

/// A lock-free sorted set of `u64` keys over circ.
pub struct CircHmList {
    pub(super) head: CachePadded<Bucket>,
    domain: CircDomain,
}

impl std::fmt::Debug for CircHmList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircHmList")
            .field("scheme", &domain::NAME)
            .finish_non_exhaustive()
    }
}

impl Default for CircHmList {
    fn default() -> Self {
        CircHmList {
            head: CachePadded::new(Bucket::default()),
            domain: CircDomain::default(),
        }
    }
}

impl CircSetOps for CircHmList {
    fn domain(&self) -> &CircDomain {
        &self.domain
    }

    fn insert(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head.insert(key, &self.domain, participant, visited)
    }

    fn remove(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head.remove(key, &self.domain, participant, visited)
    }

    fn contains(&self, key: u64, participant: &Participant<'_>, visited: &mut u64) -> bool {
        self.head.contains(key, &self.domain, participant, visited)
    }

    fn walk(&self, participant: &Participant<'_>) -> u64 {
        self.head.walk(&self.domain, participant)
    }

    fn stall(&self, wait: &mut dyn FnMut()) {
        self.head.stall(wait);
    }
}

impl ConcurrentSet for CircHmList {
    type Handle<'s> = CircSetHandle<'s, Self>;

    fn new(config: &Config) -> Result<Self, BuildError> {
        let info = CircHarrisMichael::INFO;
        config.refuse_scheme_setting(info.structure, info.scheme)?;
        Ok(Self::default())
    }

    fn handle(&self) -> Self::Handle<'_> {
        CircSetHandle::new(self)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        Some(self.domain.stats())
    }
}

/// The registry's marker for a Harris–Michael list over circ.
#[derive(Debug)]
pub struct CircHarrisMichael(PhantomData<()>);

impl SetBackend for CircHarrisMichael {
    const INFO: SetInfo = SetInfo {
        structure: "hmlist",
        scheme: domain::NAME,
        ordered: true,
        summary: crate::hmlist::SUMMARY,
        settings: domain::SETTINGS,
        knobs: &[],
    };
    type Set = CircHmList;
}
