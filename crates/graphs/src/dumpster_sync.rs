//! `dumpster-sync`: the dumpster crate's shared cycle collector — `dumpster::sync::Gc`,
//! children behind a `Mutex` — every edge strong, several threads on one graph.
//!
//! The thread-safe counterpart of [`dumpster-unsync`](crate::dumpster_unsync), laid out
//! as [`arc-weak`](crate::arc_weak) is (a lock per root slot held for a whole operation,
//! a never-contended `Mutex` per node) but with strong back-edges: garbage cycles wait
//! for a collection. The library starts collections by itself, on a drop that finds its
//! condition true (process-wide here), so they run inside some thread's operation and
//! cannot be timed apart; the condition is the library's default wrapped in a counter,
//! which [`hidden_collections`](GraphStrategy::hidden_collections) reports (for the whole
//! process). A forced collection is `dumpster::sync::collect`, timed by the caller.
//!
//! A finding, with dumpster 2.1: the graph stays sound under threads (every walk finds
//! the booked graph, no node is dropped twice), but some cycles unlinked while another
//! thread's collection runs are never collected — no later collection finds them, and
//! Miri's leak check sees their memory at exit. With the automatic collections off while
//! the threads run, a collection afterwards frees everything. Single-threaded, nothing
//! leaks. The ignored test `dumpster_sync_frees_every_cycle_after_threads` shows it.
//!
//! Its default condition is the unsync one's, and may likewise never hold on this
//! workload (see [`dumpster-unsync`](crate::dumpster_unsync)): measured once, one thread,
//! 1.8 million nodes of garbage waiting after 0.7 s and a forced collection of 3 s.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use ::dumpster::sync::{
    CollectInfo, Gc, collect, default_collect_condition, set_collect_condition,
};
use ::dumpster::{TraceWith, Visitor};

use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, SharedGraph, VerifyError};

/// A node: every edge a `Gc`, the children behind a `Mutex`.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Vec<Gc<Node>>,
    children: Mutex<Vec<Gc<Node>>>,
}

// SAFETY: `accept` visits every `Gc` the node holds — its back-edges and its children —
// and nothing else holds one: the payload and the census are plain data.
unsafe impl<V: Visitor> TraceWith<V> for Node {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        self.backs.accept(visitor)?;
        self.children.accept(visitor)
    }
}

/// Collections the library's condition started, in the whole process.
static COLLECTIONS: AtomicUsize = AtomicUsize::new(0);

/// The library's default condition, counting the collections it starts.
fn counted_condition(info: &CollectInfo) -> bool {
    let due = default_collect_condition(info);
    if due {
        COLLECTIONS.fetch_add(1, Relaxed);
    }
    due
}

impl std::fmt::Debug for Node {
    /// Shallow: the id and the edge counts, never the nodes behind the edges (cycles).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("payload", &self.payload)
            .field("backs", &self.backs.len())
            .finish_non_exhaustive()
    }
}

impl Node {
    fn children(&self) -> MutexGuard<'_, Vec<Gc<Node>>> {
        // A thread that panicked mid-operation leaves a tree the walk will judge.
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A root slot: its tree, and the scratch of the operation that holds its lock.
#[derive(Debug)]
struct Slot {
    root: Gc<Node>,
    planner: Planner,
    path: Vec<Gc<Node>>,
    path_ids: Vec<u64>,
    made: Vec<Gc<Node>>,
}

/// `dumpster::sync::Gc` nodes, every edge strong, shared by threads.
#[derive(Debug)]
pub struct DumpsterSync {
    slots: Box<[Mutex<Slot>]>,
    subgraph: u32,
    next_id: AtomicU64,
    /// The booked census, as three wrapping sums (changed by adding and subtracting
    /// subtree censuses, which commute, so threads need not agree on an order).
    nodes: AtomicU64,
    edges: AtomicU64,
    checksum: AtomicU64,
    tally: Arc<Tally>,
    /// The process's count of collections the condition started when the graph was made.
    collections_before: usize,
}

/// Makes the subtree `planner` planned below `path`; returns its root. `made` is scratch.
fn materialize(
    planner: &Planner,
    path: &[Gc<Node>],
    made: &mut Vec<Gc<Node>>,
    tally: &Arc<Tally>,
) -> Gc<Node> {
    made.clear();
    for planned in &planner.nodes {
        let backs = planner
            .backs(planned)
            .iter()
            .map(|target| match *target {
                Target::Inner(a) => Gc::clone(&made[a as usize]),
                Target::Outer(d) => Gc::clone(&path[d as usize]),
            })
            .collect();
        let node = Gc::new(Node {
            payload: Payload::new(planned.id, tally),
            summary: planned.summary,
            backs,
            children: Mutex::new(Vec::new()),
        });
        if let Some(p) = planned.parent {
            made[p as usize].children().push(Gc::clone(&node));
        }
        made.push(node);
    }
    let root = Gc::clone(&made[0]);
    made.clear();
    root
}

impl DumpsterSync {
    fn book(&self, census: Census, add: bool) {
        let op = |cell: &AtomicU64, value: u64| {
            if add {
                cell.fetch_add(value, Relaxed);
            } else {
                cell.fetch_sub(value, Relaxed);
            }
        };
        op(&self.nodes, census.nodes);
        op(&self.edges, census.edges);
        op(&self.checksum, census.checksum);
    }
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl GraphStrategy for DumpsterSync {
    const INFO: GraphInfo = GraphInfo {
        name: "dumpster-sync",
        summary: "dumpster sync Gc: shared counts, plus cycle search started by its condition",
        thread_safe: true,
        forced_collection: true,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        set_collect_condition(counted_condition);
        let tally = Arc::default();
        let mut rng = build_rng(config.seed);
        let mut next_id = 0;
        let mut total = Census::default();
        let mut slots = Vec::with_capacity(sizes.len());
        for size in sizes {
            let mut planner = Planner::new(config.max_edges);
            planner.plan(&mut rng, size, next_id, &[]);
            next_id += u64::from(size);
            let mut made = Vec::new();
            let root = materialize(&planner, &[], &mut made, &tally);
            total.add(root.summary.census());
            slots.push(Mutex::new(Slot {
                root,
                planner,
                path: Vec::new(),
                path_ids: Vec::new(),
                made,
            }));
        }
        Ok(DumpsterSync {
            slots: slots.into(),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: AtomicU64::new(next_id),
            nodes: AtomicU64::new(total.nodes),
            edges: AtomicU64::new(total.edges),
            checksum: AtomicU64::new(total.checksum),
            tally,
            collections_before: COLLECTIONS.load(Relaxed),
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.replace_shared(rng);
    }

    fn collect(&mut self, how: Collect) -> bool {
        if how == Collect::Due {
            return false; // the collector runs by itself, inside drops
        }
        collect();
        true
    }

    fn hidden_collections(&self) -> Option<u64> {
        Some(
            COLLECTIONS
                .load(Relaxed)
                .saturating_sub(self.collections_before) as u64,
        )
    }

    fn census(&self) -> Census {
        Census {
            nodes: self.nodes.load(Relaxed),
            edges: self.edges.load(Relaxed),
            checksum: self.checksum.load(Relaxed),
        }
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        let mut walker = Walker::default();
        let mut stack: Vec<Gc<Node>> = self
            .slots
            .iter()
            .map(|slot| Gc::clone(&lock(slot).root))
            .collect();
        while let Some(node) = stack.pop() {
            let id = node.payload.check()?;
            if !walker.first(id) {
                continue;
            }
            for child in node.children().iter() {
                walker.edge(id, child.payload.check()?);
                stack.push(Gc::clone(child));
            }
            for back in node.backs.iter() {
                walker.edge(id, back.payload.check()?);
                stack.push(Gc::clone(back));
            }
        }
        Ok(walker.finish())
    }

    fn counts(&self) -> Counts {
        self.tally.counts()
    }

    fn teardown(self) -> Counts {
        let tally = Arc::clone(&self.tally);
        drop(self);
        collect();
        tally.counts()
    }
}

impl SharedGraph for DumpsterSync {
    /// The library hands a thread's buffered candidates over only when the buffer fills,
    /// when the thread collects, or in the thread's exit destructors, which may run after
    /// the thread was joined; collecting here hands them over in time.
    fn thread_done(&self) {
        collect();
    }

    fn replace_shared(&self, rng: &mut SplitMix64) {
        let mut guard = lock(&self.slots[rng.below(self.slots.len() as u64) as usize]);
        let slot = &mut *guard;
        let mut node = Gc::clone(&slot.root);
        node.payload.id();
        let mut index = None;
        while node.summary.size > self.subgraph {
            let child = {
                let children = node.children();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                Gc::clone(&children[c])
            };
            slot.path_ids.push(node.payload.id());
            slot.path.push(node);
            node = child;
            node.payload.id();
        }
        let old = node.summary;
        let first = self.next_id.fetch_add(u64::from(old.size), Relaxed);
        slot.planner.plan(rng, old.size, first, &slot.path_ids);
        let new = materialize(&slot.planner, &slot.path, &mut slot.made, &self.tally);
        self.book(new.summary.census(), true);
        self.book(old.census(), false);
        let unlinked = match (slot.path.last(), index) {
            (Some(parent), Some(c)) => std::mem::replace(&mut parent.children()[c], new),
            _ => std::mem::replace(&mut slot.root, new),
        };
        drop(unlinked);
        drop(node);
        slot.path.clear();
        slot.path_ids.clear();
    }
}
