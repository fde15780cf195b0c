//! `dumpster-unsync`: the dumpster crate's thread-local cycle collector —
//! `dumpster::unsync::Gc`, children in a `RefCell` — every edge strong.
//!
//! Reference counting that also finds cycles: a `Gc` whose count falls to zero is freed at
//! once; one whose count falls but not to zero is remembered as possibly part of garbage,
//! and a collection searches from those for cycles that nothing outside holds. The
//! library decides when by a condition it checks on drops (by default: more `Gc`s dropped
//! since the last collection than exist now), so its collections run inside the
//! operation's drops and cannot be timed apart; we install the default condition wrapped
//! in a counter, which is what [`hidden_collections`](GraphStrategy::hidden_collections)
//! reports (per thread, as the collector is). A forced collection is
//! `dumpster::unsync::collect`, timed by the caller.
//!
//! On this workload the default condition may never hold: each operation drops about as
//! many `Gc`s as the subtree has nodes (the walk's clones, the unlinked root) while the
//! `Gc`s that exist grow by the new subtree's edges plus whatever cyclic garbage waits, so
//! "dropped since the last collection" stays behind "existing". Measured once (release,
//! 10 000 nodes, 0.7 s, 250 000 operations): no automatic collection, 1.4 million nodes
//! of cyclic garbage waiting, and a forced collection of 2 s to free them. Without the
//! forced variant the row grows like `rc-leak`.

use std::sync::Arc;

use std::cell::{Cell, RefCell};

use ::dumpster::unsync::{
    CollectInfo, Gc, collect, default_collect_condition, set_collect_condition,
};
use ::dumpster::{TraceWith, Visitor};
use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: every edge a `Gc`, the children in a `RefCell`.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Vec<Gc<Node>>,
    children: RefCell<Vec<Gc<Node>>>,
}

// SAFETY: `accept` visits every `Gc` the node holds — its back-edges and its children —
// and nothing else holds one: the payload and the census are plain data.
unsafe impl<V: Visitor> TraceWith<V> for Node {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        self.backs.accept(visitor)?;
        self.children.accept(visitor)
    }
}

thread_local! {
    /// Collections the library's condition started on this thread.
    static COLLECTIONS: Cell<usize> = const { Cell::new(0) };
}

/// The library's default condition, counting the collections it starts.
fn counted_condition(info: &CollectInfo) -> bool {
    let due = default_collect_condition(info);
    if due {
        COLLECTIONS.set(COLLECTIONS.get() + 1);
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

/// `dumpster::unsync::Gc` nodes, every edge strong, cycles found by the library.
#[derive(Debug)]
pub struct DumpsterUnsync {
    roots: Vec<Gc<Node>>,
    subgraph: u32,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    planner: Planner,
    path: Vec<Gc<Node>>,
    path_ids: Vec<u64>,
    made: Vec<Gc<Node>>,
    /// The thread's count of collections the condition started when the graph was made.
    collections_before: usize,
}

fn collections() -> usize {
    COLLECTIONS.get()
}

impl DumpsterUnsync {
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
                children: RefCell::new(Vec::new()),
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

impl GraphStrategy for DumpsterUnsync {
    const INFO: GraphInfo = GraphInfo {
        name: "dumpster-unsync",
        summary: "dumpster unsync Gc: counts, plus cycle search started by its drop condition",
        thread_safe: false,
        forced_collection: true,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        set_collect_condition(counted_condition);
        let mut graph = DumpsterUnsync {
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
            return false; // the collector runs by itself, inside drops
        }
        collect();
        true
    }

    fn hidden_collections(&self) -> Option<u64> {
        Some(collections().saturating_sub(self.collections_before) as u64)
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
        collect();
        tally.counts()
    }
}
