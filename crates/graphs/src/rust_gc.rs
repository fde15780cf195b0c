//! `gc`: the rust-gc crate's tracing collector — `Gc<T>`, `GcCell`,
//! `#[derive(Trace, Finalize)]` — every edge strong.
//!
//! A mark-and-sweep collector per thread: a `Gc` held outside the collected heap (on the
//! stack, in the graph's root slots) is a root, counted as such, so every clone and drop of
//! one updates a root count; a collection marks from the roots and sweeps the unmarked,
//! cycles and all. Garbage stays allocated until a collection.
//!
//! The collector decides by itself: an allocation that finds the bytes allocated past the
//! threshold collects before it returns, and grows the threshold. Those collections run
//! inside [`replace`](GraphStrategy::replace), so no caller can time them apart from the
//! operation; the crate counts them (its `unstable-stats` feature), and
//! [`hidden_collections`](GraphStrategy::hidden_collections) reports how many ran while
//! this graph lived (any other graph on the same thread is counted too: the collector is
//! the thread's). A forced collection is `force_collect`, timed by the caller.

// rust-gc's derives expand to impls inside a `const` block, which newer compilers warn
// about; the attribute on the struct does not reach them.
#![allow(non_local_definitions)]

use std::sync::Arc;

use ::gc::{Finalize, Gc, GcCell, Trace, force_collect};
use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: every edge a `Gc`, the children in a `GcCell`. The payload and census hold no
/// `Gc`, so they are not traced.
#[derive(Trace, Finalize)]
struct Node {
    #[unsafe_ignore_trace]
    payload: Payload,
    #[unsafe_ignore_trace]
    summary: Summary,
    backs: Vec<Gc<Node>>,
    children: GcCell<Vec<Gc<Node>>>,
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

/// `Gc` nodes, every edge strong, collected by rust-gc's mark and sweep.
#[derive(Debug)]
pub struct RustGc {
    roots: Vec<Gc<Node>>,
    subgraph: u32,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    planner: Planner,
    path: Vec<Gc<Node>>,
    path_ids: Vec<u64>,
    made: Vec<Gc<Node>>,
    /// The thread's collection count when the graph was made, and the collections this
    /// graph forced since.
    collections_before: usize,
    forced: usize,
}

fn collections() -> usize {
    ::gc::stats().collections_performed
}

impl RustGc {
    fn materialize(&mut self) -> Gc<Node> {
        self.made.clear();
        for planned in &self.planner.nodes {
            let backs = self
                .planner
                .backs(planned)
                .iter()
                .map(|target| match *target {
                    Target::Inner(a) => Gc::clone(&self.made[a as usize]),
                    Target::Outer(d) => Gc::clone(&self.path[d as usize]),
                })
                .collect();
            let node = Gc::new(Node {
                payload: Payload::new(planned.id, &self.tally),
                summary: planned.summary,
                backs,
                children: GcCell::new(Vec::new()),
            });
            if let Some(p) = planned.parent {
                self.made[p as usize]
                    .children
                    .borrow_mut()
                    .push(Gc::clone(&node));
            }
            self.made.push(node);
        }
        let root = Gc::clone(&self.made[0]);
        self.made.clear();
        root
    }

    fn plan(&mut self, rng: &mut SplitMix64, size: u32) {
        self.planner.plan(rng, size, self.next_id, &self.path_ids);
        self.next_id += u64::from(size);
    }
}

impl GraphStrategy for RustGc {
    const INFO: GraphInfo = GraphInfo {
        name: "gc",
        summary: "Gc + GcCell (rust-gc): mark and sweep, run by allocations past a threshold",
        thread_safe: false,
        forced_collection: true,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        let mut graph = RustGc {
            roots: Vec::with_capacity(sizes.len()),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: 0,
            census: Census::default(),
            tally: Arc::default(),
            planner: Planner::new(config.max_edges),
            path: Vec::new(),
            path_ids: Vec::new(),
            made: Vec::new(),
            collections_before: collections(),
            forced: 0,
        };
        let mut rng = build_rng(config.seed);
        for size in sizes {
            graph.plan(&mut rng, size);
            let root = graph.materialize();
            graph.census.add(root.summary.census());
            graph.roots.push(root);
        }
        Ok(graph)
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        let slot = rng.below(self.roots.len() as u64) as usize;
        let mut node = Gc::clone(&self.roots[slot]);
        node.payload.id();
        let mut index = None;
        while node.summary.size > self.subgraph {
            let child = {
                let children = node.children.borrow();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                Gc::clone(&children[c])
            };
            self.path_ids.push(node.payload.id());
            self.path.push(node);
            node = child;
            node.payload.id();
        }
        let old = node.summary;
        self.plan(rng, old.size);
        let new = self.materialize();
        self.census.sub(old.census());
        self.census.add(new.summary.census());
        match (self.path.last(), index) {
            (Some(parent), Some(c)) => parent.children.borrow_mut()[c] = new,
            _ => self.roots[slot] = new,
        }
        drop(node);
        self.path.clear();
        self.path_ids.clear();
    }

    fn collect(&mut self, how: Collect) -> bool {
        if how == Collect::Due {
            return false; // the collector runs by itself, inside allocations
        }
        force_collect();
        self.forced += 1;
        true
    }

    fn hidden_collections(&self) -> Option<u64> {
        let since = collections().saturating_sub(self.collections_before);
        Some(since.saturating_sub(self.forced) as u64)
    }

    fn census(&self) -> Census {
        self.census
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        let mut walker = Walker::default();
        let mut stack: Vec<Gc<Node>> = self.roots.iter().map(Gc::clone).collect();
        while let Some(node) = stack.pop() {
            let id = node.payload.check()?;
            if !walker.first(id) {
                continue;
            }
            for child in node.children.borrow().iter() {
                walker.edge(id, child.payload.check()?);
                stack.push(Gc::clone(child));
            }
            for back in &node.backs {
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
        force_collect();
        tally.counts()
    }
}
