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

use std::sync::{Arc, Mutex, Weak};

use reclaim_core::SplitMix64;

use crate::forest::{SharedForest, lock, node_impls};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
use crate::{GraphConfig, GraphError, GraphInfo, GraphStrategy, SharedGraph, VerifyError};

/// A node: as [`rc-weak`](crate::rc_weak)'s, with a `Mutex` for the children.
struct Node {
    payload: Payload,
    summary: Summary,
    backs: Box<[Weak<Node>]>,
    children: Mutex<Vec<Arc<Node>>>,
}

node_impls!(Node {
    ptr: Arc<Node>, back: Weak<Node>,
    new: Arc::new, cell: Mutex::new,
    read: |c| lock(c), write: |c| lock(c),
    follow: |b| b.upgrade(), to_back: |t| Arc::downgrade(t),
});

/// `Arc` + `Mutex` nodes with `Weak` back-edges, shared by threads.
#[derive(Debug)]
pub struct ArcWeak {
    forest: SharedForest<Node>,
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
        Ok(ArcWeak {
            forest: SharedForest::new(config, sizes),
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.replace_shared(rng);
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
        self.forest.drop_all().counts()
    }
}

impl SharedGraph for ArcWeak {
    fn replace_shared(&self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
    }
}
