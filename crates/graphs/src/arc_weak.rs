//! `arc-weak`: the thread-safe counterpart of [`rc-weak`](crate::rc_weak) — `Arc` nodes,
//! children behind a `Mutex`, back-edges `Weak`.
//!
//! Several threads operate on one graph. Each root slot's tree sits behind the slot's
//! lock, taken for a whole operation (the walk down and the replacement), so threads that
//! pick different slots run in parallel and the shape inside a tree changes one operation
//! at a time; the node's own `Mutex` is what lets a shared node's children change at all,
//! and is never contended. Garbage is freed by the drop that unlinks it, on the thread
//! that unlinked it, while that thread still holds the slot's lock. Costs: atomic count
//! updates on every clone and drop, a lock per node visited, and the drop counter every
//! payload bumps, shared by all threads.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
use crate::{GraphConfig, GraphError, GraphInfo, GraphStrategy, SharedGraph, VerifyError};

/// A node: as [`rc-weak`](crate::rc_weak)'s, with a `Mutex` for the children.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Box<[Weak<Node>]>,
    children: Mutex<Vec<Arc<Node>>>,
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
    fn children(&self) -> MutexGuard<'_, Vec<Arc<Node>>> {
        // A thread that panicked mid-operation leaves a tree the walk will judge.
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A root slot: its tree, and the scratch of the operation that holds its lock.
#[derive(Debug)]
struct Slot {
    root: Arc<Node>,
    planner: Planner,
    path: Vec<Arc<Node>>,
    path_ids: Vec<u64>,
    made: Vec<Arc<Node>>,
}

/// `Arc` + `Mutex` nodes with `Weak` back-edges, shared by threads.
#[derive(Debug)]
pub struct ArcWeak {
    slots: Box<[Mutex<Slot>]>,
    subgraph: u32,
    next_id: AtomicU64,
    /// The booked census, as three wrapping sums (changed by adding and subtracting
    /// subtree censuses, which commute, so threads need not agree on an order).
    nodes: AtomicU64,
    edges: AtomicU64,
    checksum: AtomicU64,
    tally: Arc<Tally>,
}

/// Makes the subtree `planner` planned below `path`; returns its root. `made` is scratch.
fn materialize(
    planner: &Planner,
    path: &[Arc<Node>],
    made: &mut Vec<Arc<Node>>,
    tally: &Arc<Tally>,
) -> Arc<Node> {
    made.clear();
    for planned in &planner.nodes {
        let backs = planner
            .backs(planned)
            .iter()
            .map(|target| match *target {
                Target::Inner(a) => Arc::downgrade(&made[a as usize]),
                Target::Outer(d) => Arc::downgrade(&path[d as usize]),
            })
            .collect();
        let node = Arc::new(Node {
            payload: Payload::new(planned.id, tally),
            summary: planned.summary,
            backs,
            children: Mutex::new(Vec::new()),
        });
        if let Some(p) = planned.parent {
            made[p as usize].children().push(Arc::clone(&node));
        }
        made.push(node);
    }
    let root = Arc::clone(&made[0]);
    made.clear();
    root
}

impl ArcWeak {
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

impl GraphStrategy for ArcWeak {
    const INFO: GraphInfo = GraphInfo {
        name: "arc-weak",
        summary: "Arc + Mutex, back-edges Weak: threads share the graph, a lock per tree",
        thread_safe: true,
        forced_collection: false,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
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
        Ok(ArcWeak {
            slots: slots.into(),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: AtomicU64::new(next_id),
            nodes: AtomicU64::new(total.nodes),
            edges: AtomicU64::new(total.edges),
            checksum: AtomicU64::new(total.checksum),
            tally,
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.replace_shared(rng);
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
        let mut stack: Vec<Arc<Node>> = self
            .slots
            .iter()
            .map(|slot| Arc::clone(&lock(slot).root))
            .collect();
        while let Some(node) = stack.pop() {
            let id = node.payload.check()?;
            if !walker.first(id) {
                continue;
            }
            for child in node.children().iter() {
                walker.edge(id, child.payload.check()?);
                stack.push(Arc::clone(child));
            }
            for back in node.backs.iter() {
                let target = back.upgrade().ok_or(VerifyError::Dangling { from: id })?;
                walker.edge(id, target.payload.check()?);
                stack.push(target);
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
        tally.counts()
    }
}

impl SharedGraph for ArcWeak {
    fn replace_shared(&self, rng: &mut SplitMix64) {
        let mut guard = lock(&self.slots[rng.below(self.slots.len() as u64) as usize]);
        let slot = &mut *guard;
        let mut node = Arc::clone(&slot.root);
        node.payload.id();
        let mut index = None;
        while node.summary.size > self.subgraph {
            let child = {
                let children = node.children();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                Arc::clone(&children[c])
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
