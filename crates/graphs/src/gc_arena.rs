//! `gc-arena`: the gc-arena crate's incremental mark and sweep — `Gc<'gc, T>` branded
//! by the arena, children in a `RefLock` behind a write barrier — every edge strong.
//!
//! Every pointer lives inside the arena and is reachable only inside its `mutate`
//! callbacks: there is nothing to count and no root set to keep, since the one root is
//! the arena's and nothing outside a callback can hold a `Gc`. Garbage waits for the
//! collector, which runs in increments sized by the *debt* allocations have run up
//! (`allocation_debt`): the collector never runs by itself, the program calls it between
//! callbacks. Our policy is the library's intended one — a collection step is due whenever
//! there is debt, and [`collect`](GraphStrategy::collect)`(Due)` pays it
//! (`collect_debt`), so every pause is a bounded increment the caller times. A forced
//! collection runs cycles to the end until everything unreachable at the call is freed.
//!
//! Unlike the other strategies, the walk's path down and the nodes being made are
//! `Vec`s allocated per operation: holding `Gc`s between callbacks is what the branding
//! forbids.

use std::ops::Deref;
use std::sync::Arc;

use ::gc_arena::arena::CollectionPhase;
use ::gc_arena::barrier::unlock;
use ::gc_arena::lock::RefLock;
use ::gc_arena::{Arena, Collect, Gc, Mutation, Rootable};
use reclaim_core::SplitMix64;

use crate::forest::{Reach, fmt_node, walk};
use crate::shape::{
    Census, Counts, CountsReader, Payload, Planner, Summary, Tally, Target, build_rng,
};
use crate::{
    Collect as Collection, GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError,
};

/// A node: every edge a `Gc`, the children in a `RefLock`. The payload and the census
/// hold no `Gc` and are `'static`, so they are not traced.
#[derive(Collect)]
#[collect(no_drop)]
struct Node<'gc> {
    #[collect(require_static)]
    payload: Payload,
    #[collect(require_static)]
    summary: Summary,
    backs: Box<[Gc<'gc, Node<'gc>>]>,
    children: RefLock<Vec<Gc<'gc, Node<'gc>>>>,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_node(self, "Node", f)
    }
}

/// The walk reaches nodes by shared borrows only, which need no write barrier: the one
/// part of the shared code that fits the arena's pointers.
impl<'gc> Reach for Node<'gc> {
    type Ptr = Gc<'gc, Node<'gc>>;
    type Back = Gc<'gc, Node<'gc>>;
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
        Some(*back)
    }
    fn children(&self) -> impl Deref<Target = Vec<Self::Ptr>> + '_ {
        self.children.borrow()
    }
}

/// The arena's root: the root slots' trees.
#[derive(Collect)]
#[collect(no_drop)]
struct Trees<'gc> {
    trees: Vec<Gc<'gc, Node<'gc>>>,
}

type GraphArena = Arena<Rootable![Trees<'_>]>;

/// `Gc<'gc>` nodes in a gc-arena, every edge strong, collected incrementally.
pub struct GcArena {
    arena: GraphArena,
    subgraph: u32,
    next_id: u64,
    census: Census,
    tally: Arc<Tally>,
    planner: Planner,
    path_ids: Vec<u64>,
}

impl std::fmt::Debug for GcArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcArena")
            .field("census", &self.census)
            .field("phase", &self.arena.collection_phase())
            .finish_non_exhaustive()
    }
}

/// Makes the subtree `planner` planned below `path`; returns its root.
fn materialize<'gc>(
    mc: &Mutation<'gc>,
    planner: &Planner,
    path: &[Gc<'gc, Node<'gc>>],
    tally: &Arc<Tally>,
) -> Gc<'gc, Node<'gc>> {
    let mut made: Vec<Gc<'gc, Node<'gc>>> = Vec::with_capacity(planner.nodes.len());
    for planned in &planner.nodes {
        let backs = planner
            .backs(planned)
            .iter()
            .map(|target| match *target {
                Target::Inner(a) => made[a as usize],
                Target::Outer(d) => path[d as usize],
            })
            .collect();
        let node = Gc::new(
            mc,
            Node {
                payload: Payload::new(planned.id, tally),
                summary: planned.summary,
                backs,
                children: RefLock::new(Vec::new()),
            },
        );
        if let Some(p) = planned.parent {
            unlock!(Gc::write(mc, made[p as usize]), Node, children)
                .borrow_mut()
                .push(node);
        }
        made.push(node);
    }
    made[0]
}

impl GraphStrategy for GcArena {
    const INFO: GraphInfo = GraphInfo {
        name: "gc-arena",
        summary: "gc-arena Gc<'gc>: incremental mark and sweep, paid in steps by allocation debt",
        thread_safe: false,
        forced_collection: true,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        let tally = Arc::default();
        let mut planner = Planner::new(config.max_edges);
        let mut rng = build_rng(config.seed);
        let mut next_id = 0;
        let mut census = Census::default();
        let arena = GraphArena::new(|mc| {
            let mut trees = Vec::with_capacity(sizes.len());
            for &size in &sizes {
                planner.plan(&mut rng, size, next_id, &[]);
                next_id += u64::from(size);
                let root = materialize(mc, &planner, &[], &tally);
                census.add(root.summary.census());
                trees.push(root);
            }
            Trees { trees }
        });
        Ok(GcArena {
            arena,
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id,
            census,
            tally,
            planner,
            path_ids: Vec::new(),
        })
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        let GcArena {
            arena,
            subgraph,
            next_id,
            census,
            tally,
            planner,
            path_ids,
        } = self;
        let (old, new) = arena.mutate_root(|mc, root| {
            let slot = rng.below(root.trees.len() as u64) as usize;
            let mut node = root.trees[slot];
            node.payload.id();
            let mut path = Vec::new();
            let mut index = None;
            while node.summary.size > *subgraph {
                let child = {
                    let children = node.children.borrow();
                    let c = rng.below(children.len() as u64) as usize;
                    index = Some(c);
                    children[c]
                };
                path_ids.push(node.payload.id());
                path.push(node);
                node = child;
                node.payload.id();
            }
            let old = node.summary;
            planner.plan(rng, old.size, *next_id, path_ids);
            *next_id += u64::from(old.size);
            let new = materialize(mc, planner, &path, tally);
            match (path.last(), index) {
                (Some(&parent), Some(c)) => {
                    unlock!(Gc::write(mc, parent), Node, children).borrow_mut()[c] = new;
                }
                _ => root.trees[slot] = new,
            }
            (old, new.summary)
        });
        census.sub(old.census());
        census.add(new.census());
        path_ids.clear();
    }

    fn collection_due(&self) -> bool {
        self.arena.metrics().allocation_debt() > 0.0
    }

    fn collect(&mut self, how: Collection) -> bool {
        match how {
            Collection::Due => {
                if !self.collection_due() {
                    return false;
                }
                self.arena.collect_debt();
            }
            Collection::Full => {
                // A cycle under way may have marked what has become garbage since: finish
                // it, then run one whole cycle that sees the graph as it is now.
                if self.arena.collection_phase() != CollectionPhase::Sleeping {
                    self.arena.finish_cycle();
                }
                self.arena.finish_cycle();
            }
        }
        true
    }

    fn census(&self) -> Census {
        self.census
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        self.arena
            .mutate(|_, root| walk::<Node<'_>>(root.trees.iter().copied()))
    }

    fn counts(&self) -> Counts {
        self.tally.counts()
    }

    fn counts_reader(&self) -> Option<CountsReader> {
        Some(CountsReader::new(&self.tally))
    }

    fn teardown(self) -> Counts {
        let tally = Arc::clone(&self.tally);
        drop(self);
        tally.counts()
    }
}
