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

use std::cell::{Cell, RefCell};

use ::dumpster::unsync::{
    CollectInfo, Gc, collect, default_collect_condition, set_collect_condition,
};
use ::dumpster::{TraceWith, Visitor};
use reclaim_core::SplitMix64;

use crate::forest::{Forest, node_impls};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
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

node_impls!(Node {
    ptr: Gc<Node>, back: Gc<Node>,
    new: Gc::new, cell: RefCell::new,
    read: |c| c.borrow(), write: |c| c.borrow_mut(),
    follow: |b| Some(Gc::clone(b)), to_back: |t| Gc::clone(t),
});

/// `dumpster::unsync::Gc` nodes, every edge strong, cycles found by the library.
#[derive(Debug)]
pub struct DumpsterUnsync {
    forest: Forest<Node>,
    /// The thread's count of collections the condition started when the graph was made.
    collections_before: usize,
}

fn collections() -> usize {
    COLLECTIONS.get()
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
        let collections_before = collections();
        Ok(DumpsterUnsync {
            forest: Forest::new(config, sizes),
            collections_before,
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
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
        collect();
        tally.counts()
    }
}
