//! The sequential model: the same graph as plain data, nodes in a `Vec`, edges as indices,
//! no reference counts, no collector, an unlinked subtree freed by a loop.
//!
//! It makes the same random choices as every strategy (it draws from the caller's
//! generator exactly where they do), so after the same operations from the same seed its
//! graph is the one every strategy must have: the tests compare their walks with its walk,
//! which counts what it finds from its own structure, never from the planner's summaries.
//! It is not a row of the benchmark.

use reclaim_core::SplitMix64;

use crate::shape::{Census, Counts, Planner, Target, Walker, build_rng};
use crate::{GraphConfig, GraphError, GraphInfo, GraphStrategy, VerifyError};

/// A node: its id, its subtree's size (counted by the model itself), and its edges as
/// indices into the model's node table.
#[derive(Clone, Debug, Default)]
struct Node {
    id: u64,
    size: u32,
    live: bool,
    children: Vec<usize>,
    /// Back-edges, each with the target's id, to tell a reused slot from the target.
    backs: Vec<(usize, u64)>,
}

/// The reference graph.
#[derive(Debug)]
pub struct Model {
    nodes: Vec<Node>,
    free: Vec<usize>,
    roots: Vec<usize>,
    subgraph: u32,
    next_id: u64,
    planner: Planner,
    created: u64,
    dropped: u64,
}

impl Model {
    /// Makes the planned subtree below `path` (node indices, root first); returns its root.
    fn materialize(&mut self, path: &[usize]) -> usize {
        let mut made = Vec::with_capacity(self.planner.nodes.len());
        for planned in &self.planner.nodes {
            let backs = self
                .planner
                .backs(planned)
                .iter()
                .map(|target| {
                    let at = match *target {
                        Target::Inner(a) => made[a as usize],
                        Target::Outer(d) => path[d as usize],
                    };
                    (at, self.nodes[at].id)
                })
                .collect();
            let node = Node {
                id: planned.id,
                size: 1,
                live: true,
                children: Vec::new(),
                backs,
            };
            let at = match self.free.pop() {
                Some(at) => {
                    self.nodes[at] = node;
                    at
                }
                None => {
                    self.nodes.push(node);
                    self.nodes.len() - 1
                }
            };
            self.created += 1;
            if let Some(p) = planned.parent {
                self.nodes[made[p as usize]].children.push(at);
            }
            made.push(at);
        }
        // Sizes from the structure just made, children (later in `made`) first.
        for &at in made.iter().rev() {
            let size = 1 + self.nodes[at]
                .children
                .iter()
                .map(|&c| self.nodes[c].size)
                .sum::<u32>();
            self.nodes[at].size = size;
        }
        made[0]
    }

    fn plan(&mut self, rng: &mut SplitMix64, size: u32, path: &[usize]) {
        let ids: Vec<u64> = path.iter().map(|&at| self.nodes[at].id).collect();
        self.planner.plan(rng, size, self.next_id, &ids);
        self.next_id += u64::from(size);
    }

    /// Frees the subtree at `at`.
    fn free(&mut self, at: usize) {
        let mut stack = vec![at];
        while let Some(at) = stack.pop() {
            let node = std::mem::take(&mut self.nodes[at]);
            stack.extend(node.children);
            self.free.push(at);
            self.dropped += 1;
        }
    }
}

impl GraphStrategy for Model {
    const INFO: GraphInfo = GraphInfo {
        name: "model",
        summary: "the sequential model the strategies are checked against",
        thread_safe: false,
        forced_collection: false,
        leaks_cycles: false,
    };

    fn new(config: &GraphConfig) -> Result<Self, GraphError> {
        let sizes = config.tree_sizes(Self::INFO.name)?;
        let mut model = Model {
            nodes: Vec::new(),
            free: Vec::new(),
            roots: Vec::new(),
            subgraph: config.subgraph.min(u32::MAX as usize) as u32,
            next_id: 0,
            planner: Planner::new(config.max_edges),
            created: 0,
            dropped: 0,
        };
        let mut rng = build_rng(config.seed);
        for size in sizes {
            model.plan(&mut rng, size, &[]);
            let root = model.materialize(&[]);
            model.roots.push(root);
        }
        Ok(model)
    }

    fn replace(&mut self, rng: &mut SplitMix64) {
        let slot = rng.below(self.roots.len() as u64) as usize;
        let mut at = self.roots[slot];
        let mut path = Vec::new();
        let mut index = 0;
        while self.nodes[at].size > self.subgraph {
            let children = &self.nodes[at].children;
            index = rng.below(children.len() as u64) as usize;
            path.push(at);
            at = children[index];
        }
        self.plan(rng, self.nodes[at].size, &path);
        let new = self.materialize(&path);
        match path.last() {
            Some(&parent) => self.nodes[parent].children[index] = new,
            None => self.roots[slot] = new,
        }
        self.free(at);
    }

    fn census(&self) -> Census {
        self.walk().expect("the model's own graph is whole")
    }

    fn walk(&self) -> Result<Census, VerifyError> {
        let mut walker = Walker::default();
        let mut stack = self.roots.clone();
        while let Some(at) = stack.pop() {
            let node = &self.nodes[at];
            if !walker.first(node.id) {
                continue;
            }
            for &child in &node.children {
                walker.edge(node.id, self.nodes[child].id);
                stack.push(child);
            }
            for &(back, id) in &node.backs {
                if !self.nodes[back].live || self.nodes[back].id != id {
                    return Err(VerifyError::Dangling { from: node.id });
                }
                walker.edge(node.id, id);
                stack.push(back);
            }
        }
        Ok(walker.finish())
    }

    fn counts(&self) -> Counts {
        Counts {
            created: self.created,
            dropped: self.dropped,
            bad_drops: 0,
        }
    }

    fn teardown(mut self) -> Counts {
        for root in std::mem::take(&mut self.roots) {
            self.free(root);
        }
        self.counts()
    }
}
