//! The graph family: object graphs kept alive by reference counting, by reference
//! counting with weak back-edges, and by cycle collectors, side by side.
//!
//! The container and set families move values through lock-free structures; here the
//! question is the other one a program meets: a heap of objects that point at each other,
//! cycles included, and what it costs to free the parts that become garbage. Every
//! strategy owns the same kind of heap — nodes with a small payload and at most `k` edges —
//! and is driven through one trait, [`GraphStrategy`] (and [`SharedGraph`] for the
//! thread-safe ones), one strategy per file:
//!
//! - [`rc-weak`](rc_weak): `Rc` + `RefCell`, back-edges `Weak`. Garbage is freed the moment
//!   its last owner lets go, by the drop that unlinks it; nothing is ever collected. Costs a
//!   count update per clone and drop, and a weak count per back-edge.
//! - [`rc-leak`](rc_leak): the same nodes with strong back-edges. An unlinked subtree in
//!   which a back-edge points at a node of the same subtree is a cycle and is never freed
//!   (nor is what it holds): the row shows the leak, as memory growth and objects never
//!   dropped.
//! - [`arc-weak`](arc_weak): the thread-safe counterpart, `Arc` + `Mutex`, back-edges
//!   `Weak`; several threads operate on one graph, each operation under the lock of the
//!   tree it changes. Atomic counts on every clone and drop.
//! - [`bacon-rajan-cc`](bacon_rajan): reference counting plus the synchronous cycle
//!   collector of Bacon and Rajan (2001), the `bacon_rajan_cc` crate. Acyclic garbage is
//!   freed at once; a node whose count dropped but not to zero is buffered as a possible
//!   root of a garbage cycle, and a collection (trial deletion from the buffered roots)
//!   frees the cycles. The crate has no policy of its own: ours collects when the buffer
//!   holds as many roots as the graph has nodes.
//! - [`gc`](rust_gc): rust-gc's mark and sweep, `Gc` + `GcCell` with derived `Trace`.
//!   Every `Gc` outside the heap is a counted root; garbage waits for a collection, which
//!   the library starts inside an allocation once the heap passes its threshold — so those
//!   pauses are inside the operations' time, and only counted
//!   ([`GraphStrategy::hidden_collections`]).
//! - [`dumpster-unsync`](dumpster_unsync): the dumpster crate's thread-local `Gc`:
//!   counts, plus a search for unreachable cycles among the `Gc`s whose count fell, started
//!   by a condition the library checks on drops — inside the operations, so counted, not
//!   timed.
//! - [`dumpster-sync`](dumpster_sync): its shared `Gc`, several threads on one graph as in
//!   `arc-weak` but with strong back-edges. Sound under threads in our tests, but with
//!   dumpster 2.1 some cycles unlinked while another thread's collection runs are never
//!   collected (a forced collection after the threads leaves them): the row's leak count
//!   shows it.
//! - [`gc-arena`](gc_arena): the gc-arena crate's incremental mark and sweep; `Gc<'gc, T>`
//!   branded by the arena, so no pointer outlives a `mutate` callback and nothing is
//!   counted. The collector runs only when called, in steps sized by the allocation debt:
//!   every step is a pause the caller times.
//!
//! # The graph's shape
//!
//! The live graph is a forest: [`GraphConfig::nodes`] nodes in root slots of
//! [`GraphConfig::tree`] nodes each. Inside a tree, *child* edges own (a node has exactly
//! one owner: its parent, or its root slot) and *back* edges point from a node to one of its
//! ancestors — so every cycle of the graph runs through a back-edge. That is the rule the
//! `*-weak` strategies need: a back-edge is the edge that would close a cycle, and it is
//! `Weak`; since its target is an ancestor, it is alive whenever its source is, so a `Weak`
//! back-edge never dangles and every strategy sees the same reachable graph.
//!
//! One [operation](GraphStrategy::replace) picks a root slot, walks down from its tree's
//! root through random children to the first node whose subtree has at most
//! [`GraphConfig::subgraph`] nodes, and replaces that subtree by a new random tree of the
//! same size, whose nodes get back-edges to their own ancestors, new and old. The unlinked
//! subtree is garbage, cyclic whenever one of its back-edges points inside it (its other
//! back-edges point at live ancestors above). The number of live nodes never changes.
//!
//! All random choices come from the [`SplitMix64`] the caller passes, and depend on the
//! shape only, so the same seed makes the same sequence of structural changes in every
//! strategy: their rows compare, and the sequential [`model`] checks each of them. (With
//! several threads the interleaving decides the shape; such runs check themselves with
//! [`GraphStrategy::verify`] only.)
//!
//! # What a run can check
//!
//! Every node carries a payload with a canary (a magic value derived from its id), checked
//! on every visit and poisoned on drop: a node freed while reachable reads a wrong value
//! (and Miri flags the read). Each strategy books what the live graph should be as it
//! changes it ([`GraphStrategy::census`]: nodes, edges and a checksum of both), and
//! [`GraphStrategy::walk`] recomputes it from the roots; [`GraphStrategy::verify`]
//! compares. The payloads count themselves created and dropped ([`Counts`]), so "dropped
//! exactly once" and "leaked = created − dropped − reachable" are numbers, not hopes.
//!
//! # Driving a strategy
//!
//! A driver builds the graph ([`GraphStrategy::new`]), then loops on
//! [`replace`](GraphStrategy::replace) with its own generator (for the thread-safe
//! strategies, each thread calls [`SharedGraph::replace_shared`] with a generator of its
//! own, then [`SharedGraph::thread_done`]). Collections are measured as the strategy allows:
//!
//! | strategy | `collection_due` / `collect(Due)` | `collect(Full)` | `hidden_collections` |
//! | --- | --- | --- | --- |
//! | rc-weak, rc-leak, arc-weak | never / `false` | `false`: nothing to collect | `None` |
//! | bacon-rajan-cc | roots buffered ≥ nodes / `collect_cycles` | `collect_cycles` | `None` |
//! | gc | never: the library collects in allocations | `force_collect` | its count |
//! | dumpster-unsync, -sync | never: the library collects in drops | `collect` | its condition's count |
//! | gc-arena | allocation debt > 0 / `collect_debt` | cycles run to the end | `None` |
//!
//! The driver times `collect` itself; hidden collections are inside the operations' time.
//! [`GraphStrategy::counts`] and the census give nodes created, dropped and reachable at
//! any point between operations, so live objects over time and the leak need no allocator;
//! bytes come from the driver's counting allocator.
//!
//! # Under Miri
//!
//! Every strategy's tests run under Miri (Tree Borrows), with smaller graphs, and pass,
//! except two that leak on purpose or by the library, which Miri's leak check at exit
//! would fail: `rc-leak`'s, and `dumpster-sync`'s threaded run (see
//! [`dumpster_sync`]). `dumpster-sync` also makes Miri warn about an integer-to-pointer
//! cast inside parking_lot, which Tree Borrows cannot check through.

pub mod arc_weak;
pub mod bacon_rajan;
pub mod dumpster_sync;
pub mod dumpster_unsync;
mod forest;
pub mod gc_arena;
pub mod model;
pub mod rc_leak;
pub mod rc_weak;
pub mod rust_gc;
mod shape;
#[cfg(test)]
mod tests;

pub use crate::gc_arena::GcArena;
pub use arc_weak::ArcWeak;
pub use bacon_rajan::BaconRajanCc;
pub use dumpster_sync::DumpsterSync;
pub use dumpster_unsync::DumpsterUnsync;
pub use model::Model;
pub use rc_leak::RcLeak;
pub use rc_weak::RcWeak;
pub use rust_gc::RustGc;
pub use shape::{Census, Counts, CountsReader};

use reclaim_core::SplitMix64;

/// What a graph strategy is, for listings and result rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphInfo {
    /// The row's name: `"rc-weak"`, `"bacon-rajan-cc"`, …
    pub name: &'static str,
    /// One line for `list`.
    pub summary: &'static str,
    /// Whether several threads may operate on one graph ([`SharedGraph`]).
    pub thread_safe: bool,
    /// Whether [`GraphStrategy::collect`] with [`Collect::Full`] does anything: false for
    /// the pure reference-counting rows, which free inline and have nothing to collect.
    pub forced_collection: bool,
    /// Whether the strategy is expected to leak unlinked cycles (`rc-leak`): for it a
    /// leak is the result, for every other strategy it is a failure.
    pub leaks_cycles: bool,
}

/// How a graph is built. Strategies ignore nothing here: every field shapes the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphConfig {
    /// Live nodes, `N`: the graph holds exactly this many reachable nodes at all times.
    pub nodes: usize,
    /// Most edges a node has, `k` (children and back-edges together); at least 2.
    pub max_edges: usize,
    /// Most nodes one operation replaces: the walk down stops at the first subtree this
    /// small. At least 1.
    pub subgraph: usize,
    /// Nodes per root slot (the last slots may hold one fewer, so that the sizes add up to
    /// `nodes`). At least 1.
    pub tree: usize,
    /// The seed of the initial graph's shape.
    pub seed: u64,
}

impl Default for GraphConfig {
    /// 10 000 nodes of up to 4 edges, 16 nodes replaced at most, trees of 64.
    fn default() -> Self {
        GraphConfig {
            nodes: 10_000,
            max_edges: 4,
            subgraph: 16,
            tree: 64,
            seed: 0x5eed,
        }
    }
}

impl GraphConfig {
    /// The sizes of the root slots' trees, summing to `nodes`, or why the configuration is
    /// refused.
    pub(crate) fn tree_sizes(&self, strategy: &'static str) -> Result<Vec<u32>, GraphError> {
        let refuse = |reason: &str| {
            Err(GraphError::InvalidConfig {
                strategy,
                reason: reason.to_string(),
            })
        };
        if self.nodes == 0 || self.nodes > u32::MAX as usize {
            return refuse("nodes must be between 1 and 2^32 - 1");
        }
        if !(2..=1024).contains(&self.max_edges) {
            return refuse("max_edges must be between 2 and 1024");
        }
        if self.subgraph == 0 || self.tree == 0 {
            return refuse("subgraph and tree must be at least 1");
        }
        let slots = self.nodes.div_ceil(self.tree);
        let (base, extra) = (self.nodes / slots, self.nodes % slots);
        Ok((0..slots)
            .map(|slot| (base + usize::from(slot < extra)) as u32)
            .collect())
    }
}

/// Which collection [`GraphStrategy::collect`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// The strategy's own policy step, when [`GraphStrategy::collection_due`] says one is
    /// due: what the library would run by itself (an incremental step, a collection of the
    /// buffered roots).
    Due,
    /// Everything that can be freed, now: the forced variant.
    Full,
}

/// A graph strategy: one way of keeping a heap of nodes and freeing its garbage.
///
/// The driver owns the graph, calls [`replace`](Self::replace) in its loop, and times
/// collections itself: when [`collection_due`](Self::collection_due) says so, it reads the
/// clock around [`collect`](Self::collect)`(Collect::Due)`, and every M operations around
/// `collect(Collect::Full)` for the forced variant. Collections that a library runs inside
/// an allocation or a drop cannot be timed apart from the operation that triggered them;
/// a strategy whose library does that counts them in
/// [`hidden_collections`](Self::hidden_collections) where the library tells, and their time
/// stays in the operations' time.
pub trait GraphStrategy: Sized {
    /// What the strategy is.
    const INFO: GraphInfo;

    /// The initial graph: `config.nodes` nodes in random trees, from `config.seed`.
    ///
    /// # Errors
    /// The configuration is out of range ([`GraphError::InvalidConfig`]).
    fn new(config: &GraphConfig) -> Result<Self, GraphError>;

    /// One operation: replaces a random subtree by a new one of the same size (see the
    /// [crate docs](crate#the-graphs-shape)); every choice is drawn from `rng`.
    ///
    /// # Panics
    /// If a node it passes fails its canary: the graph is corrupt.
    fn replace(&mut self, rng: &mut SplitMix64);

    /// Whether the strategy's collection policy wants a collection now. Cheap: the driver
    /// may ask after every operation. `false` for strategies that never collect.
    fn collection_due(&self) -> bool {
        false
    }

    /// Runs a collection; returns whether there was one to run (`false` for strategies
    /// with nothing to collect, and for [`Collect::Due`] when none was due). The caller
    /// times it.
    fn collect(&mut self, how: Collect) -> bool {
        let _ = how;
        false
    }

    /// Collections the library ran by itself inside allocations or drops, which no caller
    /// can time on their own; `None` where there are none or the library does not say.
    fn hidden_collections(&self) -> Option<u64> {
        None
    }

    /// The live graph as the strategy booked it, operation by operation.
    fn census(&self) -> Census;

    /// The live graph as found by walking it from the roots, following every edge, each
    /// node counted once. Not to be called while other threads operate.
    ///
    /// # Errors
    /// A node failed its canary, or a back-edge dangled.
    fn walk(&self) -> Result<Census, VerifyError>;

    /// Nodes created and dropped so far.
    fn counts(&self) -> Counts;

    /// The same counts, readable from another thread while the graph is in use (by a
    /// sampler); `None` for a strategy that keeps them in plain fields (the [`model`]).
    fn counts_reader(&self) -> Option<CountsReader> {
        None
    }

    /// Drops the graph and collects whatever the library needs collected to free it;
    /// returns the counts after. A strategy that leaks cycles leaks them here too.
    fn teardown(self) -> Counts;

    /// Walks the graph and compares with the booked census; checks the drop counts.
    ///
    /// # Errors
    /// The walk failed, found a different graph, or a node was dropped twice (or dropped
    /// with its canary already poisoned).
    fn verify(&self) -> Result<Census, VerifyError> {
        let walked = self.walk()?;
        let booked = self.census();
        if walked != booked {
            return Err(VerifyError::Mismatch { walked, booked });
        }
        let counts = self.counts();
        if counts.bad_drops != 0 || counts.dropped > counts.created {
            return Err(VerifyError::BadDrops(counts));
        }
        Ok(walked)
    }
}

/// A strategy several threads may operate on at once, through a shared reference.
///
/// Runs with several threads do not follow one sequence of changes (which thread goes
/// first decides the shape), so they are checked by [`GraphStrategy::verify`], not against
/// the model.
pub trait SharedGraph: GraphStrategy + Sync {
    /// [`GraphStrategy::replace`] through a shared reference.
    fn replace_shared(&self, rng: &mut SplitMix64);

    /// Called by each thread that operated on the graph once it is done, before it ends:
    /// a collector that keeps per-thread state (`dumpster-sync` buffers the candidates a
    /// thread dropped) hands it over here, so that a forced collection afterwards sees
    /// everything. Not part of the measured operations. The default does nothing.
    fn thread_done(&self) {}

    /// [`GraphStrategy::collect`] through a shared reference, while other threads
    /// operate: how a run with several threads forces collections. `false` (nothing run)
    /// by default: the thread-safe strategies that only count have nothing to collect.
    fn collect_shared(&self, how: Collect) -> bool {
        let _ = how;
        false
    }
}

/// Why a graph could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A setting is out of range.
    #[error("invalid configuration for {strategy}: {reason}")]
    InvalidConfig {
        /// The strategy that refused.
        strategy: &'static str,
        /// What was wrong, in words a user can act on.
        reason: String,
    },
}

/// Why a graph failed its check.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A reachable node's payload did not hold its canary: it was freed (or overwritten)
    /// while still reachable.
    #[error("node {id} failed its canary: freed or overwritten while reachable")]
    Canary {
        /// The node's id as its payload reads.
        id: u64,
    },
    /// A back-edge of a reachable node pointed at a node already freed.
    #[error("a back-edge of node {from} dangles")]
    Dangling {
        /// The node whose back-edge dangled.
        from: u64,
    },
    /// The walk found another graph than the one booked.
    #[error("the walk found {walked:?}, the strategy booked {booked:?}")]
    Mismatch {
        /// What the walk found.
        walked: Census,
        /// What the strategy booked.
        booked: Census,
    },
    /// More nodes dropped than created, or a node dropped with a poisoned canary.
    #[error("nodes dropped more than once: {0:?}")]
    BadDrops(Counts),
}

/// Hands strategy types to generic code, one call per strategy: how the registry (and the
/// tests) reach every strategy without listing them twice.
pub trait GraphVisitor {
    /// A single-threaded strategy.
    fn visit<G: GraphStrategy>(&mut self);
    /// A thread-safe strategy; by default visited as a single-threaded one.
    fn visit_shared<G: SharedGraph>(&mut self) {
        self.visit::<G>();
    }
}

/// Calls `visitor` once for every strategy of the family, in the order of the crate docs
/// (the [`model`] is not one).
pub fn visit_all<V: GraphVisitor>(visitor: &mut V) {
    visitor.visit::<RcWeak>();
    visitor.visit::<RcLeak>();
    visitor.visit_shared::<ArcWeak>();
    visitor.visit::<BaconRajanCc>();
    visitor.visit::<RustGc>();
    visitor.visit::<DumpsterUnsync>();
    visitor.visit_shared::<DumpsterSync>();
    visitor.visit::<GcArena>();
}
