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

use ::bacon_rajan_cc::{Cc, Trace, Tracer, collect_cycles, number_of_roots_buffered};
use reclaim_core::SplitMix64;

use crate::forest::{Forest, node_impls};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
use crate::{Collect, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: every edge a `Cc`, the children in a `RefCell`.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Box<[Cc<Node>]>,
    children: RefCell<Vec<Cc<Node>>>,
}

impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer) {
        self.backs.trace(tracer);
        self.children.trace(tracer);
    }
}

node_impls!(Node {
    ptr: Cc<Node>, back: Cc<Node>,
    new: Cc::new, cell: RefCell::new,
    read: |c| c.borrow(), write: |c| c.borrow_mut(),
    follow: |b| Some(Cc::clone(b)), to_back: |t| Cc::clone(t),
});

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
