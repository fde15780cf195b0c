//! The algorithms every pointer-based strategy shares, written once over [`GraphNode`]:
//! making a planned subtree, one replace operation, the walk, and the two ways of holding
//! the root slots — [`Forest`] for one thread, [`SharedForest`] for several.
//!
//! A strategy supplies only its node type: which pointer owns a node, how a back-edge is
//! made from that pointer and followed, and which cell holds the children. `gc-arena` is
//! not built on this: its pointers exist only inside the arena's callbacks and its
//! children change through a write barrier that needs the callback's context, so it
//! shares only [`walk`] (through [`Reach`]).

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use reclaim_core::SplitMix64;

use crate::shape::{
    Census, Counts, CountsReader, Payload, Planner, Summary, Tally, Target, Walker, build_rng,
};
use crate::{GraphConfig, VerifyError};

/// What the walk needs of a node: its payload, its edges, and how to follow them.
pub(crate) trait Reach: Sized {
    /// The pointer that owns a node (a child edge, a root slot).
    type Ptr: Clone + Deref<Target = Self> + Debug;
    /// A back-edge.
    type Back;

    /// The node's payload.
    fn payload(&self) -> &Payload;
    /// The census of the node's subtree.
    fn summary(&self) -> Summary;
    /// The node's back-edges.
    fn backs(&self) -> &[Self::Back];
    /// The target of a back-edge, or `None` if it was freed.
    fn follow(back: &Self::Back) -> Option<Self::Ptr>;
    /// The node's children, borrowed to read.
    fn children(&self) -> impl Deref<Target = Vec<Self::Ptr>> + '_;
}

/// A node the shared algorithms can also build and change.
pub(crate) trait GraphNode: Reach {
    /// A new node with no children, behind its owning pointer.
    fn alloc(payload: Payload, summary: Summary, backs: Vec<Self::Back>) -> Self::Ptr;
    /// A back-edge to `target`: a weak pointer, or a clone of the strong one.
    fn back(target: &Self::Ptr) -> Self::Back;
    /// The node's children, borrowed to change.
    fn children_mut(&self) -> impl DerefMut<Target = Vec<Self::Ptr>> + '_;
}

/// Writes a node's `Debug`: shallow, the payload and the number of back-edges, never the
/// nodes behind the edges (cycles).
pub(crate) fn fmt_node<N: Reach>(
    node: &N,
    name: &str,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    f.debug_struct(name)
        .field("payload", node.payload())
        .field("backs", &node.backs().len())
        .finish_non_exhaustive()
}

/// `Debug`, [`Reach`] and [`GraphNode`] for a strategy's `Node`, whose fields are
/// `payload`, `summary`, `backs` (a `Vec` or boxed slice of back-edges) and `children` (a
/// cell around a `Vec` of owning pointers): the strategies differ only in their pointer
/// types, the cell, and how a back-edge is made and followed, which the caller gives.
///
/// ```text
/// node_impls!(Node {
///     ptr: Gc<Node>, back: Gc<Node>,              // owning pointer, back-edge
///     new: Gc::new, cell: RefCell::new,            // how a node and its cell are made
///     read: |c| c.borrow(), write: |c| c.borrow_mut(),   // the cell, to read and change
///     follow: |b| Some(Gc::clone(b)), to_back: |t| Gc::clone(t),
/// });
/// ```
macro_rules! node_impls {
    ($node:ident {
        ptr: $ptr:ty, back: $back:ty,
        new: $new:path, cell: $cell:path,
        read: |$r:ident| $read:expr, write: |$w:ident| $write:expr,
        follow: |$f:ident| $follow:expr, to_back: |$t:ident| $to_back:expr $(,)?
    }) => {
        impl std::fmt::Debug for $node {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                $crate::forest::fmt_node(self, stringify!($node), f)
            }
        }

        impl $crate::forest::Reach for $node {
            type Ptr = $ptr;
            type Back = $back;
            fn payload(&self) -> &$crate::shape::Payload {
                &self.payload
            }
            fn summary(&self) -> $crate::shape::Summary {
                self.summary
            }
            fn backs(&self) -> &[$back] {
                &self.backs
            }
            fn follow($f: &$back) -> Option<$ptr> {
                $follow
            }
            fn children(&self) -> impl std::ops::Deref<Target = Vec<$ptr>> + '_ {
                let $r = &self.children;
                $read
            }
        }

        impl $crate::forest::GraphNode for $node {
            fn alloc(
                payload: $crate::shape::Payload,
                summary: $crate::shape::Summary,
                backs: Vec<$back>,
            ) -> $ptr {
                $new($node {
                    payload,
                    summary,
                    backs: backs.into(),
                    children: $cell(Vec::new()),
                })
            }
            fn back($t: &$ptr) -> $back {
                $to_back
            }
            fn children_mut(&self) -> impl std::ops::DerefMut<Target = Vec<$ptr>> + '_ {
                let $w = &self.children;
                $write
            }
        }
    };
}
pub(crate) use node_impls;

/// The graph as found by walking it from `roots`, following every edge, each node counted
/// once.
pub(crate) fn walk<N: Reach>(
    roots: impl IntoIterator<Item = N::Ptr>,
) -> Result<Census, VerifyError> {
    let mut walker = Walker::default();
    let mut stack: Vec<N::Ptr> = roots.into_iter().collect();
    while let Some(node) = stack.pop() {
        let id = node.payload().check()?;
        if !walker.first(id) {
            continue;
        }
        for child in node.children().iter() {
            walker.edge(id, child.payload().check()?);
            stack.push(child.clone());
        }
        for back in node.backs() {
            let target = N::follow(back).ok_or(VerifyError::Dangling { from: id })?;
            walker.edge(id, target.payload().check()?);
            stack.push(target);
        }
    }
    Ok(walker.finish())
}

/// One tree's planner and the scratch of the operation on it, kept so that an operation
/// allocates nothing once warm: the walk's path down, its ids, and the nodes being made.
#[derive(Debug)]
pub(crate) struct Scratch<N: Reach> {
    planner: Planner,
    path: Vec<N::Ptr>,
    path_ids: Vec<u64>,
    made: Vec<N::Ptr>,
}

impl<N: GraphNode> Scratch<N> {
    pub(crate) fn new(max_edges: usize) -> Self {
        Scratch {
            planner: Planner::new(max_edges),
            path: Vec::new(),
            path_ids: Vec::new(),
            made: Vec::new(),
        }
    }

    /// Plans a tree of `size` nodes with ids from `first_id` below the current path (empty
    /// outside [`replace`](Self::replace): a root slot's whole tree), makes it, and returns
    /// its root.
    pub(crate) fn build(
        &mut self,
        rng: &mut SplitMix64,
        size: u32,
        first_id: u64,
        tally: &Arc<Tally>,
    ) -> N::Ptr {
        self.planner.plan(rng, size, first_id, &self.path_ids);
        self.materialize(tally)
    }

    /// Makes the planned subtree below `self.path`: maps each back-edge target to a node
    /// made earlier or on the path, allocates the node, and pushes it into its parent's
    /// children. Returns the subtree's root.
    fn materialize(&mut self, tally: &Arc<Tally>) -> N::Ptr {
        self.made.clear();
        for planned in &self.planner.nodes {
            let backs = self
                .planner
                .backs(planned)
                .iter()
                .map(|target| match *target {
                    Target::Inner(a) => N::back(&self.made[a as usize]),
                    Target::Outer(d) => N::back(&self.path[d as usize]),
                })
                .collect();
            let node = N::alloc(Payload::new(planned.id, tally), planned.summary, backs);
            if let Some(p) = planned.parent {
                self.made[p as usize].children_mut().push(node.clone());
            }
            self.made.push(node);
        }
        let root = self.made[0].clone();
        self.made.clear();
        root
    }

    /// One operation on the tree in `root` (see the [crate docs](crate#the-graphs-shape)):
    /// walks down through random children to the first subtree of at most `subgraph` nodes,
    /// replaces it by a new tree of the same size whose ids start at `first_id(size)`, and
    /// drops the unlinked one. Returns the censuses of the old subtree and the new.
    ///
    /// # Panics
    /// If a node it passes fails its canary.
    pub(crate) fn replace(
        &mut self,
        root: &mut N::Ptr,
        rng: &mut SplitMix64,
        subgraph: u32,
        first_id: impl FnOnce(u32) -> u64,
        tally: &Arc<Tally>,
    ) -> (Census, Census) {
        let mut node = root.clone();
        node.payload().id();
        // The child index the new subtree goes to, below `self.path`'s last node; `None`
        // replaces the root slot's whole tree.
        let mut index = None;
        while node.summary().size > subgraph {
            let child = {
                let children = node.children();
                let c = rng.below(children.len() as u64) as usize;
                index = Some(c);
                children[c].clone()
            };
            self.path_ids.push(node.payload().id());
            self.path.push(node);
            node = child;
            node.payload().id();
        }
        let old = node.summary();
        let new = self.build(rng, old.size, first_id(old.size), tally);
        let new_census = new.summary().census();
        let unlinked = match (self.path.last(), index) {
            (Some(parent), Some(c)) => std::mem::replace(&mut parent.children_mut()[c], new),
            _ => std::mem::replace(root, new),
        };
        // The garbage goes here, once no borrow of a parent's children is held (for
        // `rc-leak`, whatever of it a cycle keeps stays).
        drop(unlinked);
        drop(node);
        self.path.clear();
        self.path_ids.clear();
        (old.census(), new_census)
    }
}

/// The root slots of a single-threaded graph, with its booked census and scratch.
#[derive(Debug)]
pub(crate) struct Forest<N: Reach> {
    roots: Vec<N::Ptr>,
    subgraph: u32,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    scratch: Scratch<N>,
}

impl<N: GraphNode> Forest<N> {
    /// The initial graph: trees of `sizes` nodes drawn from `config.seed`.
    pub(crate) fn new(config: &GraphConfig, sizes: Vec<u32>) -> Self {
        let mut forest = Forest {
            roots: Vec::with_capacity(sizes.len()),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: 0,
            census: Census::default(),
            tally: Arc::default(),
            scratch: Scratch::new(config.max_edges),
        };
        let mut rng = build_rng(config.seed);
        for size in sizes {
            let root: N::Ptr = forest
                .scratch
                .build(&mut rng, size, forest.next_id, &forest.tally);
            forest.next_id += u64::from(size);
            forest.census.add(root.summary().census());
            forest.roots.push(root);
        }
        forest
    }

    /// [`GraphStrategy::replace`](crate::GraphStrategy::replace) on a random root slot.
    pub(crate) fn replace(&mut self, rng: &mut SplitMix64) {
        let slot = rng.below(self.roots.len() as u64) as usize;
        let next_id = &mut self.next_id;
        let (old, new) = self.scratch.replace(
            &mut self.roots[slot],
            rng,
            self.subgraph,
            |size| {
                let first = *next_id;
                *next_id += u64::from(size);
                first
            },
            &self.tally,
        );
        self.census.sub(old);
        self.census.add(new);
    }

    pub(crate) fn census(&self) -> Census {
        self.census
    }

    pub(crate) fn walk(&self) -> Result<Census, VerifyError> {
        walk::<N>(self.roots.iter().cloned())
    }

    pub(crate) fn counts(&self) -> Counts {
        self.tally.counts()
    }

    pub(crate) fn reader(&self) -> CountsReader {
        CountsReader::new(&self.tally)
    }

    /// Drops the graph; returns the tally, which outlives it.
    pub(crate) fn drop_all(self) -> Arc<Tally> {
        let tally = Arc::clone(&self.tally);
        drop(self);
        tally
    }
}

/// A census booked by several threads, as three wrapping sums: changed by adding and
/// subtracting subtree censuses, which commute, so threads need not agree on an order.
#[derive(Debug)]
pub(crate) struct AtomicCensus {
    nodes: AtomicU64,
    edges: AtomicU64,
    checksum: AtomicU64,
}

impl AtomicCensus {
    pub(crate) fn new(census: Census) -> Self {
        AtomicCensus {
            nodes: AtomicU64::new(census.nodes),
            edges: AtomicU64::new(census.edges),
            checksum: AtomicU64::new(census.checksum),
        }
    }

    pub(crate) fn add(&self, census: Census) {
        self.nodes.fetch_add(census.nodes, Relaxed);
        self.edges.fetch_add(census.edges, Relaxed);
        self.checksum.fetch_add(census.checksum, Relaxed);
    }

    pub(crate) fn sub(&self, census: Census) {
        self.nodes.fetch_sub(census.nodes, Relaxed);
        self.edges.fetch_sub(census.edges, Relaxed);
        self.checksum.fetch_sub(census.checksum, Relaxed);
    }

    pub(crate) fn load(&self) -> Census {
        Census {
            nodes: self.nodes.load(Relaxed),
            edges: self.edges.load(Relaxed),
            checksum: self.checksum.load(Relaxed),
        }
    }
}

/// Locks `mutex`, also after a thread panicked holding it: a thread that panicked
/// mid-operation leaves a tree the walk will judge.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A root slot of a [`SharedForest`]: its tree, and the scratch of the operation that
/// holds its lock.
#[derive(Debug)]
struct Slot<N: Reach> {
    root: N::Ptr,
    scratch: Scratch<N>,
}

/// The root slots of a graph several threads operate on. Each slot's tree sits behind the
/// slot's lock, taken for a whole operation (the walk down and the replacement), so
/// threads that pick different slots run in parallel.
#[derive(Debug)]
pub(crate) struct SharedForest<N: Reach> {
    slots: Box<[Mutex<Slot<N>>]>,
    subgraph: u32,
    next_id: AtomicU64,
    census: AtomicCensus,
    tally: Arc<Tally>,
}

impl<N: GraphNode> SharedForest<N> {
    /// The initial graph: trees of `sizes` nodes drawn from `config.seed`.
    pub(crate) fn new(config: &GraphConfig, sizes: Vec<u32>) -> Self {
        let tally = Arc::default();
        let mut rng = build_rng(config.seed);
        let mut next_id = 0;
        let mut total = Census::default();
        let mut slots = Vec::with_capacity(sizes.len());
        for size in sizes {
            let mut scratch = Scratch::new(config.max_edges);
            let root: N::Ptr = scratch.build(&mut rng, size, next_id, &tally);
            next_id += u64::from(size);
            total.add(root.summary().census());
            slots.push(Mutex::new(Slot { root, scratch }));
        }
        SharedForest {
            slots: slots.into(),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: AtomicU64::new(next_id),
            census: AtomicCensus::new(total),
            tally,
        }
    }

    /// [`SharedGraph::replace_shared`](crate::SharedGraph::replace_shared) on a random
    /// root slot, under its lock.
    pub(crate) fn replace(&self, rng: &mut SplitMix64) {
        let mut guard = lock(&self.slots[rng.below(self.slots.len() as u64) as usize]);
        let Slot { root, scratch } = &mut *guard;
        let (old, new) = scratch.replace(
            root,
            rng,
            self.subgraph,
            |size| self.next_id.fetch_add(u64::from(size), Relaxed),
            &self.tally,
        );
        self.census.add(new);
        self.census.sub(old);
    }

    pub(crate) fn census(&self) -> Census {
        self.census.load()
    }

    /// Not to be called while other threads operate.
    pub(crate) fn walk(&self) -> Result<Census, VerifyError> {
        let roots: Vec<N::Ptr> = self.slots.iter().map(|s| lock(s).root.clone()).collect();
        walk::<N>(roots)
    }

    pub(crate) fn counts(&self) -> Counts {
        self.tally.counts()
    }

    pub(crate) fn reader(&self) -> CountsReader {
        CountsReader::new(&self.tally)
    }

    /// Drops the graph; returns the tally, which outlives it.
    pub(crate) fn drop_all(self) -> Arc<Tally> {
        let tally = Arc::clone(&self.tally);
        drop(self);
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rc_weak::{RcNode, WeakBacks};

    type N = RcNode<WeakBacks>;

    #[test]
    fn the_walk_reports_a_dangling_back_edge() {
        let tally = Arc::default();
        let gone = N::alloc(Payload::new(1, &tally), Summary::default(), Vec::new());
        let node = N::alloc(
            Payload::new(2, &tally),
            Summary::default(),
            vec![N::back(&gone)],
        );
        drop(gone);
        assert_eq!(walk::<N>([node]), Err(VerifyError::Dangling { from: 2 }));
    }

    #[test]
    fn a_built_tree_and_its_replacements_walk_to_their_booked_censuses() {
        let tally = Arc::default();
        let mut rng = SplitMix64::new(9);
        let mut scratch = Scratch::<N>::new(3);
        let mut root = scratch.build(&mut rng, 40, 0, &tally);
        let mut booked = root.summary().census();
        assert_eq!(walk::<N>([root.clone()]), Ok(booked));
        let mut next_id = 40;
        for _ in 0..20 {
            let (old, new) = scratch.replace(
                &mut root,
                &mut rng,
                5,
                |size| {
                    let first = next_id;
                    next_id += u64::from(size);
                    first
                },
                &tally,
            );
            assert!(old.nodes <= 5 && new.nodes == old.nodes);
            booked.sub(old);
            booked.add(new);
            assert_eq!(walk::<N>([root.clone()]), Ok(booked));
            let counts = tally.counts();
            assert_eq!(counts.created - counts.dropped, 40, "{counts:?}");
        }
    }
}
