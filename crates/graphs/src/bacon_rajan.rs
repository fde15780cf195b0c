//! `bacon-rajan-cc`: reference counting with cycle collection by trial deletion (Bacon
//! and Rajan, 2001), the `bacon_rajan_cc` crate; every edge strong.
//!
//! A node whose count falls to zero is freed at once, as under `Rc`; a node whose count
//! falls but not to zero may be the entry to a garbage cycle, and is buffered as a
//! possible root. A collection starts from the buffered roots, subtracts the counts that
//! come from inside the subgraph they reach, and frees what no outside count holds: the
//! cost of a collection grows with what the buffered roots reach, live nodes included,
//! and every decrement of a live node (a clone dropped after a walk down) buffers it.
//!
//! The crate collects only when asked, and its roots buffer is per thread. Our policy:
//! a collection is due when the buffer holds as many roots as the graph has nodes.
//! Collections run in [`collect`](GraphStrategy::collect), so the caller times every one.

use std::cell::RefCell;
use std::sync::Arc;

use ::bacon_rajan_cc::{Cc, Trace, Tracer, collect_cycles, number_of_roots_buffered};
use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: every edge a `Cc`, the children in a `RefCell`.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Box<[Cc<Node>]>,
    children: RefCell<Vec<Cc<Node>>>,
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

impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer) {
        self.backs.trace(tracer);
        self.children.trace(tracer);
    }
}

/// `Cc` nodes, every edge strong, cycles collected from buffered roots.
#[derive(Debug)]
pub struct BaconRajanCc {
    roots: Vec<Cc<Node>>,
    subgraph: u32,
    /// Buffered roots at which a collection is due.
    threshold: usize,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    planner: Planner,
    path: Vec<Cc<Node>>,
    path_ids: Vec<u64>,
    made: Vec<Cc<Node>>,
}

impl BaconRajanCc {
    fn materialize(&mut self) -> Cc<Node> {
        self.made.clear();
        for planned in &self.planner.nodes {
            let backs = self
                .planner
                .backs(planned)
                .iter()
                .map(|target| match *target {
                    Target::Inner(a) => Cc::clone(&self.made[a as usize]),
                    Target::Outer(d) => Cc::clone(&self.path[d as usize]),
                })
                .collect();
            let node = Cc::new(Node {
                payload: Payload::new(planned.id, &self.tally),
                summary: planned.summary,
                backs,
                children: RefCell::new(Vec::new()),
            });
            if let Some(p) = planned.parent {
                self.made[p as usize]
                    .children
                    .borrow_mut()
                    .push(Cc::clone(&node));
            }
            self.made.push(node);
        }
        let root = Cc::clone(&self.made[0]);
        self.made.clear();
        root
    }

    fn plan(&mut self, rng: &mut SplitMix64, size: u32) {
        self.planner.plan(rng, size, self.next_id, &self.path_ids);
        self.next_id += u64::from(size);
    }
}

impl GraphStrategy for BaconRajanCc {
    const INFO: GraphInfo = GraphInfo {
        name: "bacon-rajan-cc",
        summary: "Cc (bacon_rajan_cc): counts, plus trial deletion from buffered roots",
        thread_safe: false,
        forced_collection: true,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        let mut graph = BaconRajanCc {
            roots: Vec::with_capacity(sizes.len()),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            threshold: config.nodes,
            next_id: 0,
            census: Census::default(),
            tally: Arc::default(),
            planner: Planner::new(config.max_edges),
            path: Vec::new(),
            path_ids: Vec::new(),
            made: Vec::new(),
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
        let mut node = Cc::clone(&self.roots[slot]);
        node.payload.id();
        let mut index = None;
        while node.summary.size > self.subgraph {
            let child = {
                let children = node.children.borrow();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                Cc::clone(&children[c])
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
        let unlinked = match (self.path.last(), index) {
            (Some(parent), Some(c)) => std::mem::replace(&mut parent.children.borrow_mut()[c], new),
            _ => std::mem::replace(&mut self.roots[slot], new),
        };
        drop(unlinked);
        drop(node);
        self.path.clear();
        self.path_ids.clear();
    }

    fn collection_due(&self) -> bool {
        number_of_roots_buffered() >= self.threshold
    }

    fn collect(&mut self, how: Collect) -> bool {
        if how == Collect::Due && !self.collection_due() {
            return false;
        }
        collect_cycles();
        true
    }

    fn census(&self) -> Census {
        self.census
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        let mut walker = Walker::default();
        let mut stack: Vec<Cc<Node>> = self.roots.iter().map(Cc::clone).collect();
        while let Some(node) = stack.pop() {
            let id = node.payload.check()?;
            if !walker.first(id) {
                continue;
            }
            for child in node.children.borrow().iter() {
                walker.edge(id, child.payload.check()?);
                stack.push(Cc::clone(child));
            }
            for back in node.backs.iter() {
                walker.edge(id, back.payload.check()?);
                stack.push(Cc::clone(back));
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
        collect_cycles();
        tally.counts()
    }
}
