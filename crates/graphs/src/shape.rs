//! What every strategy shares: the payload with its canary and drop count, the census and
//! its checksum, and the planner that draws a new subtree's shape from the caller's
//! generator, so that every strategy makes the same changes.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use reclaim_core::SplitMix64;
use reclaim_core::splitmix::mix;

use crate::VerifyError;

/// What a live payload's canary holds, xor its id.
const CANARY: u64 = 0x6c69_7665_6e6f_6465;
/// What a dropped payload's canary holds.
const POISON: u64 = 0xdead_dead_dead_dead;

/// Nodes created and dropped, counted by the payloads themselves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Payloads made.
    pub created: u64,
    /// Payloads dropped.
    pub dropped: u64,
    /// Payloads dropped whose canary was already wrong: a second drop, or memory
    /// overwritten. Always 0 in a sound strategy.
    pub bad_drops: u64,
}

impl Counts {
    /// Nodes neither dropped nor `reachable`: the leak.
    pub fn leaked(&self, reachable: u64) -> u64 {
        self.created.saturating_sub(self.dropped + reachable)
    }
}

/// The shared counters behind [`Counts`]; one per graph, every payload holds it.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    created: AtomicU64,
    dropped: AtomicU64,
    bad_drops: AtomicU64,
}

impl Tally {
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            created: self.created.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            bad_drops: self.bad_drops.load(Relaxed),
        }
    }
}

/// The graph's counts, readable from any thread while the graph is in use (a sampler's):
/// what [`GraphStrategy::counts`](crate::GraphStrategy::counts) returns, without the
/// graph.
#[derive(Clone, Debug)]
pub struct CountsReader(Arc<Tally>);

impl CountsReader {
    pub(crate) fn new(tally: &Arc<Tally>) -> CountsReader {
        CountsReader(Arc::clone(tally))
    }

    /// Nodes created and dropped so far.
    pub fn counts(&self) -> Counts {
        self.0.counts()
    }
}

/// A node's payload: its id, a canary, and the graph's tally, which it bumps when made and
/// when dropped.
#[derive(Debug)]
pub(crate) struct Payload {
    id: u64,
    canary: u64,
    tally: Arc<Tally>,
}

impl Payload {
    pub(crate) fn new(id: u64, tally: &Arc<Tally>) -> Payload {
        tally.created.fetch_add(1, Relaxed);
        Payload {
            id,
            canary: CANARY ^ id,
            tally: Arc::clone(tally),
        }
    }

    /// The id, once the canary says the payload is alive.
    pub(crate) fn check(&self) -> Result<u64, VerifyError> {
        if self.canary == CANARY ^ self.id {
            Ok(self.id)
        } else {
            Err(VerifyError::Canary { id: self.id })
        }
    }

    /// The id, or a panic: for the operations, which have no way to report.
    pub(crate) fn id(&self) -> u64 {
        match self.check() {
            Ok(id) => id,
            Err(error) => panic!("{error}"),
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if self.canary != CANARY ^ self.id {
            self.tally.bad_drops.fetch_add(1, Relaxed);
        }
        self.canary = POISON;
        self.tally.dropped.fetch_add(1, Relaxed);
    }
}

/// A graph, or part of one, summed up: how many nodes, how many edges, and a checksum of
/// both (a wrapping sum of a mixed term per node id and per edge's two ids, so that a lost
/// node or a redirected edge shows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Nodes.
    pub nodes: u64,
    /// Edges, children and back-edges.
    pub edges: u64,
    /// The checksum of nodes and edges.
    pub checksum: u64,
}

impl Census {
    pub(crate) fn add(&mut self, other: Census) {
        self.nodes = self.nodes.wrapping_add(other.nodes);
        self.edges = self.edges.wrapping_add(other.edges);
        self.checksum = self.checksum.wrapping_add(other.checksum);
    }

    pub(crate) fn sub(&mut self, other: Census) {
        self.nodes = self.nodes.wrapping_sub(other.nodes);
        self.edges = self.edges.wrapping_sub(other.edges);
        self.checksum = self.checksum.wrapping_sub(other.checksum);
    }

    fn node(&mut self, id: u64) {
        self.nodes += 1;
        self.checksum = self.checksum.wrapping_add(mix(id));
    }

    fn edge(&mut self, from: u64, to: u64) {
        self.edges += 1;
        self.checksum = self.checksum.wrapping_add(mix(mix(from) ^ to));
    }
}

/// A subtree's census, kept in its root node: its nodes, their back-edges, and the owning
/// edges into them, the one from the subtree's parent included. Fixed when the subtree is
/// made: a subtree is replaced whole, never changed inside, and a replacement below it
/// swaps a census for another of the same size, without touching its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) size: u32,
    pub(crate) edges: u32,
    pub(crate) checksum: u64,
}

impl Summary {
    pub(crate) fn census(self) -> Census {
        Census {
            nodes: u64::from(self.size),
            edges: u64::from(self.edges),
            checksum: self.checksum,
        }
    }
}

/// Where a planned back-edge points.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// A node of the new subtree, by its index in the plan.
    Inner(u32),
    /// A node on the path from the root slot down to the new subtree's parent, by its
    /// index on that path (0 is the tree's root).
    Outer(u32),
}

/// One node of a planned subtree.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub(crate) id: u64,
    /// Its index in the plan's `targets`, and how many.
    pub(crate) backs: (u32, u32),
    /// Its parent's index in the plan; `None` for the subtree's root.
    pub(crate) parent: Option<u32>,
    /// The census of its subtree, its own edges included.
    pub(crate) summary: Summary,
    /// Its ancestors inside the plan.
    depth: u32,
    /// Children it can still take.
    room: u32,
}

/// Draws the shape of new subtrees; reused from operation to operation so that planning
/// allocates nothing once warm.
#[derive(Debug)]
pub(crate) struct Planner {
    max_edges: u32,
    pub(crate) nodes: Vec<Planned>,
    pub(crate) targets: Vec<Target>,
    /// Nodes of the plan with room for another child.
    open: Vec<u32>,
}

impl Planner {
    pub(crate) fn new(max_edges: usize) -> Planner {
        Planner {
            max_edges: max_edges as u32,
            nodes: Vec::new(),
            targets: Vec::new(),
            open: Vec::new(),
        }
    }

    /// Plans a random tree of `size` nodes with ids from `first_id`, to hang below the path
    /// whose node ids are `outer` (root first). Node `j`'s parent comes before it, so the
    /// nodes can be made in order with their back-edges, which only point at earlier nodes
    /// and the path.
    ///
    /// Each node draws its parent uniformly among the earlier nodes with room left, then
    /// how many back-edges it has (uniformly from 0 to `k - 1`, or to its number of
    /// ancestors if fewer) and for each a uniformly drawn ancestor; its room for children is what is left of `k`,
    /// at least 1, which is what guarantees every later node a parent.
    pub(crate) fn plan(&mut self, rng: &mut SplitMix64, size: u32, first_id: u64, outer: &[u64]) {
        self.nodes.clear();
        self.targets.clear();
        self.open.clear();
        for j in 0..size {
            let id = first_id + u64::from(j);
            let parent = if j == 0 {
                None
            } else {
                let pick = rng.below(self.open.len() as u64) as usize;
                let p = self.open[pick];
                let node = &mut self.nodes[p as usize];
                node.room -= 1;
                if node.room == 0 {
                    self.open.swap_remove(pick);
                }
                Some(p)
            };
            let depth = parent.map_or(0, |p| self.nodes[p as usize].depth + 1);
            let ancestors = u64::from(depth) + outer.len() as u64;
            let mut census = Census::default();
            census.node(id);
            let start = self.targets.len() as u32;
            let backs = if ancestors == 0 {
                0
            } else {
                rng.below(u64::from(self.max_edges - 1).min(ancestors) + 1) as u32
            };
            for _ in 0..backs {
                let pick = rng.below(ancestors);
                let (target, to) = if pick < u64::from(depth) {
                    let mut a = parent.expect("a node with inner ancestors has a parent");
                    for _ in 0..pick {
                        a = self.nodes[a as usize].parent.expect("an inner ancestor");
                    }
                    (Target::Inner(a), self.nodes[a as usize].id)
                } else {
                    let d = (pick - u64::from(depth)) as usize;
                    (Target::Outer(d as u32), outer[d])
                };
                census.edge(id, to);
                self.targets.push(target);
            }
            // The owning edge into a node counts with the node, not with its parent: a
            // subtree's census then holds the edge that links it in, and stays right when
            // its parent's child is replaced by another subtree (which brings its own).
            match parent {
                Some(p) => census.edge(self.nodes[p as usize].id, id),
                None => {
                    if let Some(&above) = outer.last() {
                        census.edge(above, id);
                    }
                }
            }
            self.nodes.push(Planned {
                id,
                backs: (start, backs),
                parent,
                summary: summary(census),
                depth,
                room: self.max_edges - backs,
            });
            self.open.push(j);
        }
        // Children come after their parents: summing from the last node up adds each
        // finished subtree into its parent.
        for j in (1..self.nodes.len()).rev() {
            let child = self.nodes[j].summary.census();
            let p = self.nodes[j].parent.expect("only the root has no parent") as usize;
            let mut total = self.nodes[p].summary.census();
            total.add(child);
            self.nodes[p].summary = summary(total);
        }
    }

    /// The back-edge targets of planned node `node`.
    pub(crate) fn backs(&self, node: &Planned) -> &[Target] {
        let (start, len) = node.backs;
        &self.targets[start as usize..(start + len) as usize]
    }
}

fn summary(census: Census) -> Summary {
    Summary {
        size: census.nodes as u32,
        edges: census.edges as u32,
        checksum: census.checksum,
    }
}

/// The walk's bookkeeping: the nodes seen so far and the census of what it passed.
#[derive(Debug, Default)]
pub(crate) struct Walker {
    seen: HashSet<u64>,
    census: Census,
}

impl Walker {
    /// Whether `id` is seen for the first time (and then counts it).
    pub(crate) fn first(&mut self, id: u64) -> bool {
        let first = self.seen.insert(id);
        if first {
            self.census.node(id);
        }
        first
    }

    /// Counts the edge `from → to`; called once per edge, from its source's single visit.
    pub(crate) fn edge(&mut self, from: u64, to: u64) {
        self.census.edge(from, to);
    }

    pub(crate) fn finish(self) -> Census {
        self.census
    }
}

/// The generator an initial graph is drawn from: the config's seed, mixed so that a seed
/// of 0 and a caller's generator seeded alike do not walk in step.
pub(crate) fn build_rng(seed: u64) -> SplitMix64 {
    SplitMix64::new(mix(seed ^ 0x6772_6170_6873))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_respect_the_edge_bound_and_sum_up() {
        let mut rng = SplitMix64::new(3);
        let mut planner = Planner::new(3);
        for size in [1, 2, 7, 40] {
            planner.plan(&mut rng, size, 100, &[1, 2, 3]);
            let mut children = vec![0u32; size as usize];
            let mut total = Census::default();
            total.edge(3, planner.nodes[0].id);
            for node in &planner.nodes {
                if let Some(p) = node.parent {
                    children[p as usize] += 1;
                    total.edge(planner.nodes[p as usize].id, node.id);
                }
                total.node(node.id);
                for t in planner.backs(node) {
                    let to = match *t {
                        Target::Inner(a) => planner.nodes[a as usize].id,
                        Target::Outer(d) => [1, 2, 3][d as usize],
                    };
                    total.edge(node.id, to);
                }
            }
            for (node, kids) in planner.nodes.iter().zip(&children) {
                assert!(node.backs.1 + kids <= 3, "{node:?} has {kids} children");
            }
            assert_eq!(planner.nodes[0].summary.census(), total);
        }
    }

    #[test]
    fn a_wrong_canary_fails_the_check_and_counts_as_a_bad_drop() {
        let tally = Arc::new(Tally::default());
        let mut payload = Payload::new(7, &tally);
        assert_eq!(payload.check(), Ok(7));
        payload.canary = POISON;
        assert_eq!(payload.check(), Err(VerifyError::Canary { id: 7 }));
        drop(payload);
        let counts = tally.counts();
        assert_eq!(
            (counts.created, counts.dropped, counts.bad_drops),
            (1, 1, 1)
        );
    }
}
