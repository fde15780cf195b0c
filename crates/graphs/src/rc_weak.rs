//! `rc-weak`: `Rc` nodes, children in a `RefCell`, back-edges `Weak`.
//!
//! The textbook way to keep a cyclic structure under reference counting: the owning
//! edges form a tree and the edges that would close a cycle do not own. An unlinked
//! subtree is freed by the very assignment that unlinks it — each node's count falls to
//! zero in turn, recursively down the subtree — so there is nothing to collect, and no
//! pause but that drop. The costs are a count update on every clone and drop, a second
//! (weak) count per node that back-edges keep, and an `upgrade` to follow a back-edge.
//!
//! The reference-counted graph here, [`RcGraph`], is generic over how it holds a
//! back-edge ([`BackKind`]); [`rc-leak`](crate::rc_leak) is the same graph with strong
//! back-edges.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::rc::{Rc, Weak};

use reclaim_core::SplitMix64;

use crate::forest::{Forest, GraphNode, Reach, fmt_node};
use crate::shape::{Census, Counts, CountsReader, Payload, Summary};
use crate::{GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// `Rc` + `RefCell` nodes with `Weak` back-edges.
pub type RcWeak = RcGraph<WeakBacks>;

/// How a reference-counted graph holds its back-edges.
pub trait BackKind: Sized + 'static {
    /// A back-edge to a node of type `N`.
    type Edge<N>;
    /// The row's facts.
    const INFO: GraphInfo;
    /// A back-edge to `target`.
    fn to<N>(target: &Rc<N>) -> Self::Edge<N>;
    /// The target, or `None` if it was freed.
    fn target<N>(edge: &Self::Edge<N>) -> Option<Rc<N>>;
}

/// Back-edges are `Weak`: `rc-weak`.
#[derive(Debug)]
pub enum WeakBacks {}

impl BackKind for WeakBacks {
    type Edge<N> = Weak<N>;
    const INFO: GraphInfo = GraphInfo {
        name: "rc-weak",
        summary: "Rc + RefCell, back-edges Weak: garbage freed by the drop that unlinks it",
        thread_safe: false,
        forced_collection: false,
        leaks_cycles: false,
    };
    fn to<N>(target: &Rc<N>) -> Weak<N> {
        Rc::downgrade(target)
    }
    fn target<N>(edge: &Weak<N>) -> Option<Rc<N>> {
        edge.upgrade()
    }
}

/// A node: its payload, its subtree's census, its back-edges (fixed when it is made) and
/// its children (one of which an operation may replace).
pub struct RcNode<K: BackKind> {
    payload: Payload,
    summary: Summary,
    backs: Box<[K::Edge<RcNode<K>>]>,
    children: RefCell<Vec<Rc<RcNode<K>>>>,
}

impl<K: BackKind> std::fmt::Debug for RcNode<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_node(self, "RcNode", f)
    }
}

impl<K: BackKind> Reach for RcNode<K> {
    type Ptr = Rc<RcNode<K>>;
    type Back = K::Edge<RcNode<K>>;
    fn payload(&self) -> &Payload {
        &self.payload
    }
    fn summary(&self) -> Summary {
        self.summary
    }
    fn backs(&self) -> &[Self::Back] {
        &self.backs
    }
    fn follow(back: &Self::Back) -> Option<Self::Ptr> {
        K::target(back)
    }
    fn children(&self) -> impl Deref<Target = Vec<Self::Ptr>> + '_ {
        self.children.borrow()
    }
}

impl<K: BackKind> GraphNode for RcNode<K> {
    fn alloc(payload: Payload, summary: Summary, backs: Vec<Self::Back>) -> Self::Ptr {
        Rc::new(RcNode {
            payload,
            summary,
            backs: backs.into_boxed_slice(),
            children: RefCell::new(Vec::new()),
        })
    }
    fn back(target: &Self::Ptr) -> Self::Back {
        K::to(target)
    }
    fn children_mut(&self) -> impl DerefMut<Target = Vec<Self::Ptr>> + '_ {
        self.children.borrow_mut()
    }
}

/// A graph of `Rc` nodes whose back-edges are held as `K` says.
#[derive(Debug)]
pub struct RcGraph<K: BackKind> {
    forest: Forest<RcNode<K>>,
}

impl<K: BackKind> GraphStrategy for RcGraph<K> {
    const INFO: GraphInfo = K::INFO;

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(K::INFO.name)?;
        Ok(RcGraph {
            forest: Forest::new(config, sizes),
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        self.forest.replace(rng);
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
