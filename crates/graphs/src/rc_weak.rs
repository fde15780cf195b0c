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
use std::rc::{Rc, Weak};
use std::sync::Arc;

use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Payload, Planner, Summary, Tally, Target, Walker, build_rng};
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
        f.debug_struct("RcNode")
            .field("payload", &self.payload)
            .field("backs", &self.backs.len())
            .finish_non_exhaustive()
    }
}

/// A graph of `Rc` nodes whose back-edges are held as `K` says.
#[derive(Debug)]
pub struct RcGraph<K: BackKind> {
    roots: Vec<Rc<RcNode<K>>>,
    subgraph: u32,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    planner: Planner,
    /// Scratch, kept to allocate nothing per operation: the walk's path down, its ids,
    /// and the nodes being made.
    path: Vec<Rc<RcNode<K>>>,
    path_ids: Vec<u64>,
    made: Vec<Rc<RcNode<K>>>,
}

impl<K: BackKind> RcGraph<K> {
    /// Makes the planned subtree below `self.path`; returns its root.
    fn materialize(&mut self) -> Rc<RcNode<K>> {
        self.made.clear();
        for planned in &self.planner.nodes {
            let backs = self
                .planner
                .backs(planned)
                .iter()
                .map(|target| match *target {
                    Target::Inner(a) => K::to(&self.made[a as usize]),
                    Target::Outer(d) => K::to(&self.path[d as usize]),
                })
                .collect();
            let node = Rc::new(RcNode {
                payload: Payload::new(planned.id, &self.tally),
                summary: planned.summary,
                backs,
                children: RefCell::new(Vec::new()),
            });
            if let Some(p) = planned.parent {
                self.made[p as usize]
                    .children
                    .borrow_mut()
                    .push(Rc::clone(&node));
            }
            self.made.push(node);
        }
        let root = Rc::clone(&self.made[0]);
        self.made.clear();
        root
    }

    fn plan(&mut self, rng: &mut SplitMix64, size: u32) {
        self.planner.plan(rng, size, self.next_id, &self.path_ids);
        self.next_id += u64::from(size);
    }
}

impl<K: BackKind> GraphStrategy for RcGraph<K> {
    const INFO: GraphInfo = K::INFO;

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(K::INFO.name)?;
        let mut graph = RcGraph {
            roots: Vec::with_capacity(sizes.len()),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
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
        let mut node = Rc::clone(&self.roots[slot]);
        node.payload.id();
        // The child index the new subtree goes to, below `self.path`'s last node; `None`
        // replaces the root slot's whole tree.
        let mut index = None;
        while node.summary.size > self.subgraph {
            let child = {
                let children = node.children.borrow();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                Rc::clone(&children[c])
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
        // The garbage goes here (for `rc-leak`, whatever of it a cycle keeps stays).
        drop(unlinked);
        drop(node);
        self.path.clear();
        self.path_ids.clear();
    }

    fn census(&self) -> Census {
        self.census
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        let mut walker = Walker::default();
        let mut stack: Vec<Rc<RcNode<K>>> = self.roots.iter().map(Rc::clone).collect();
        while let Some(node) = stack.pop() {
            let id = node.payload.check()?;
            if !walker.first(id) {
                continue;
            }
            for child in node.children.borrow().iter() {
                walker.edge(id, child.payload.check()?);
                stack.push(Rc::clone(child));
            }
            for back in node.backs.iter() {
                let target = K::target(back).ok_or(VerifyError::Dangling { from: id })?;
                walker.edge(id, target.payload.check()?);
                stack.push(target);
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
        tally.counts()
    }
}
