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

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use ::dumpster::sync::{
    CollectInfo, Gc, collect, default_collect_condition, set_collect_condition,
};
use ::dumpster::{TraceWith, Visitor};

use reclaim_core::SplitMix64;

use crate::forest::{SharedForest, lock, node_impls};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
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

node_impls!(Node {
    ptr: Gc<Node>, back: Gc<Node>,
    new: Gc::new, cell: Mutex::new,
    read: |c| lock(c), write: |c| lock(c),
    follow: |b| Some(Gc::clone(b)), to_back: |t| Gc::clone(t),
});

/// `dumpster::sync::Gc` nodes, every edge strong, shared by threads.
#[derive(Debug)]
pub struct DumpsterSync {
    forest: SharedForest<Node>,
    /// The process's count of collections the condition started when the graph was made.
    collections_before: usize,
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
        let forest = SharedForest::new(config, sizes);
        // Read once the graph is built: collections its building started do not count.
        Ok(DumpsterSync {
            forest,
            collections_before: COLLECTIONS.load(Relaxed),
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.replace_shared(rng);
    }

    fn collect(&mut self, how: Collect) -> bool {
        self.collect_shared(how)
    }

    fn hidden_collections(&self) -> Option<u64> {
        Some(
            COLLECTIONS
                .load(Relaxed)
                .saturating_sub(self.collections_before) as u64,
        )
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

impl SharedGraph for DumpsterSync {
    /// The library hands a thread's buffered candidates over only when the buffer fills,
    /// when the thread collects, or in the thread's exit destructors, which may run after
    /// the thread was joined; collecting here hands them over in time.
    fn thread_done(&self) {
        collect();
    }

    fn replace_shared(&self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
    }

    fn collect_shared(&self, how: Collect) -> bool {
        if how == Collect::Due {
            return false; // the collector runs by itself, inside drops
        }
        collect();
        true
    }
}
