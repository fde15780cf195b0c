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
use std::ops::{Deref, DerefMut};

use ::bacon_rajan_cc::{Cc, Trace, Tracer, collect_cycles, number_of_roots_buffered};
use reclaim_core::SplitMix64;

use crate::forest::{Forest, GraphNode, Reach, fmt_node};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: every edge a `Cc`, the children in a `RefCell`.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Box<[Cc<Node>]>,
    children: RefCell<Vec<Cc<Node>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_node(self, "Node", f)
    }
}

impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer) {
        self.backs.trace(tracer);
        self.children.trace(tracer);
    }
}

impl Reach for Node {
    type Ptr = Cc<Node>;
    type Back = Cc<Node>;
    fn payload(&self) -> &Payload {
        &self.payload
    }
    fn summary(&self) -> Summary {
        self.summary
    }
    fn backs(&self) -> &[Cc<Node>] {
        &self.backs
    }
    fn follow(back: &Cc<Node>) -> Option<Cc<Node>> {
        Some(Cc::clone(back))
    }
    fn children(&self) -> impl Deref<Target = Vec<Cc<Node>>> + '_ {
        self.children.borrow()
    }
}

impl GraphNode for Node {
    fn alloc(payload: Payload, summary: Summary, backs: Vec<Cc<Node>>) -> Cc<Node> {
        Cc::new(Node {
            payload,
            summary,
            backs: backs.into_boxed_slice(),
            children: RefCell::new(Vec::new()),
        })
    }
    fn back(target: &Cc<Node>) -> Cc<Node> {
        Cc::clone(target)
    }
    fn children_mut(&self) -> impl DerefMut<Target = Vec<Cc<Node>>> + '_ {
        self.children.borrow_mut()
    }
}

/// `Cc` nodes, every edge strong, cycles collected from buffered roots.
#[derive(Debug)]
pub struct BaconRajanCc {
    forest: Forest<Node>,
    /// Buffered roots at which a collection is due.
    threshold: usize,
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
        Ok(BaconRajanCc {
            forest: Forest::new(config, sizes),
            threshold: config.nodes,
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
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
        self.forest.census()
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        self.forest.walk()
    }

    fn counts(&self) -> Counts {
        self.forest.counts()
    }

    fn counts_reader(&self) -> Option<CountsReader> {
        Some(self.forest.reader())
    }

    fn teardown(self) -> Counts {
        let tally = self.forest.drop_all();
        collect_cycles();
        tally.counts()
    }
}
