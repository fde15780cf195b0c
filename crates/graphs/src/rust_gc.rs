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

use ::gc::{Finalize, Gc, GcCell, Trace, force_collect};
use reclaim_core::SplitMix64;

use crate::forest::{Forest, node_impls};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
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

node_impls!(Node {
    ptr: Gc<Node>, back: Gc<Node>,
    new: Gc::new, cell: GcCell::new,
    read: |c| c.borrow(), write: |c| c.borrow_mut(),
    follow: |b| Some(Gc::clone(b)), to_back: |t| Gc::clone(t),
});

/// `Gc` nodes, every edge strong, collected by rust-gc's mark and sweep.
#[derive(Debug)]
pub struct RustGc {
    forest: Forest<Node>,
    /// The thread's collection count when the graph was made, and the collections this
    /// graph forced since.
    collections_before: usize,
    forced: usize,
}

fn collections() -> usize {
    ::gc::stats().collections_performed
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
        // Read before building: the allocations that build the graph may collect.
        let collections_before = collections();
        Ok(RustGc {
            forest: Forest::new(config, sizes),
            collections_before,
            forced: 0,
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
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
        force_collect();
        tally.counts()
    }
}
