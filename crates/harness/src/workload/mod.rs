//! The workloads: what the threads of a run do, one file each.
//!
//! A backend workload is a [`Shape`]: how many threads take each role. The roles are the
//! same few loops for every workload (`driver`), so a workload file says only who does
//! what, for which backends and thread counts that makes sense, and why. `handoff` is the
//! exception: it drives the real-time handoff scenario's strategies, not a backend. The
//! set family runs its own workloads, operation mixes over a key range (`sets.rs`), and
//! `stalled` and `oversubscription` as well.

mod graph;
mod handoff;
mod mpsc;
mod oversubscription;
mod pairs;
mod prodcons;
pub mod sets;
pub(crate) mod stalled;

pub(crate) use graph::check as check_graph;
pub use sets::{BadMix, Mix, Zipf};

use std::fmt;
use std::str::FromStr;

use reclaim_core::{Consumers, Info};

/// A workload, as named on the command line and in result files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Each thread pushes then pops.
    Pairs,
    /// Half the threads push, half pop.
    Prodcons,
    /// Every thread but one pushes; one pops.
    Mpsc,
    /// One thread stays inside an operation for the whole run while the others churn.
    Stalled,
    /// More threads than cores.
    Oversubscription,
    /// The real-time consumer scenario (strategies, not backends).
    Handoff,
    /// Sets: only `contains`.
    ReadOnly,
    /// Sets: 90% `contains`, 5% `insert`, 5% `remove`.
    ReadMostly,
    /// Sets: 50% `contains`, 25% `insert`, 25% `remove`.
    Balanced,
    /// Sets: 50% `insert`, 50% `remove`.
    WriteHeavy,
    /// Sets: one thread walks the whole set again and again while the others run
    /// `balanced`.
    LongReader,
    /// Graph strategies: replace random subgraphs of a live object graph; collectors on
    /// their own policy.
    Graph,
    /// As `Graph`, plus a full collection every `--collect-every` operations.
    GraphForced,
}

/// A workload name that is not one: the message lists the valid ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown workload `{name}`; valid workloads: {}",
    Workload::ALL.map(Workload::name).join(", ")
)]
pub struct UnknownWorkload {
    /// The name given.
    pub name: String,
}

/// Why a workload cannot run a backend at a thread count: the plan skips the
/// combination with this reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A thread count of zero.
    #[error("needs at least one thread")]
    NoThreads,
    /// Fewer threads than the workload's roles.
    #[error("needs at least {needs} threads ({roles})")]
    TooFewThreads {
        /// The fewest it runs with.
        needs: usize,
        /// The roles those threads take.
        roles: &'static str,
    },
    /// `oversubscription` at or below the core count.
    #[error("{threads} threads do not oversubscribe this machine's {cores} cores")]
    NotOversubscribed {
        /// The thread count asked for.
        threads: usize,
        /// The machine's hardware threads.
        cores: usize,
    },
    /// `handoff`, which drives strategies.
    #[error("{}", handoff::NOT_A_BACKEND_WORKLOAD)]
    NotABackendWorkload,
    /// `graph` or `graph-forced` for a backend.
    #[error("{}", graph::NOT_A_BACKEND_WORKLOAD)]
    GraphsOnly,
    /// A thread-local graph strategy at more than one thread.
    #[error("its graph is thread-local: it runs at 1 thread")]
    ThreadLocalGraph,
    /// `oversubscription` in the quick suite where it would repeat a `pairs` row.
    #[error("the same threads as pairs at {threads} threads, which the quick suite runs")]
    SameAsPairs {
        /// The thread count of both.
        threads: usize,
    },
    /// `graph-forced` for a strategy that frees inline.
    #[error("frees every node inline: there is no collection to force")]
    NothingToCollect,
    /// An operation mix, which only sets run.
    #[error("an operation mix runs on sets only")]
    SetsOnly,
    /// A container workload (`pairs`, `prodcons`, `mpsc`), which sets do not run.
    #[error("sets run the operation mixes, `stalled` and `oversubscription`")]
    ContainersOnly,
    /// More threads popping than the backend allows consumers.
    #[error(
        "{shape} means {} threads popping at once, and this backend allows {consumers} consumer",
        .shape.poppers()
    )]
    TooManyConsumers {
        /// The roles the workload would give.
        shape: Shape,
        /// What the backend allows.
        consumers: Consumers,
    },
}

/// How many threads take each role in one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Threads that push a value then pop one, in a loop.
    pub pairs: usize,
    /// Threads that only push.
    pub producers: usize,
    /// Threads that only pop.
    pub consumers: usize,
    /// Threads that hold on inside an operation for the whole run ([`Handle::stall`]).
    ///
    /// [`Handle::stall`]: reclaim_core::Handle::stall
    pub stalled: usize,
    /// Set threads that run the operation mix.
    pub mixed: usize,
    /// Set threads that walk the whole set again and again (`long-reader`).
    pub walkers: usize,
}

impl Shape {
    /// Every thread of the run.
    pub fn threads(&self) -> usize {
        self.pairs + self.producers + self.consumers + self.stalled + self.mixed + self.walkers
    }

    /// Threads that pop concurrently: the number a backend must allow.
    pub fn poppers(&self) -> usize {
        self.pairs + self.consumers
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            (
                self.mixed,
                "thread running the mix",
                "threads running the mix",
            ),
            (self.pairs, "pair thread", "pair threads"),
            (self.producers, "producer", "producers"),
            (self.consumers, "consumer", "consumers"),
            (self.stalled, "stalled thread", "stalled threads"),
            (self.walkers, "long reader", "long readers"),
        ];
        let words: Vec<String> = parts
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|&(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
            .collect();
        f.write_str(&words.join(" + "))?;
        if self.stalled > 0 && self.mixed == 0 {
            // The structure never starts empty, unlike in the other workloads: say so
            // where the row's numbers are read.
            write!(f, " ({} values pushed before the start)", stalled::PREFILL)?;
        }
        Ok(())
    }
}

impl Workload {
    /// Every workload, in listing and running order.
    pub const ALL: [Workload; 13] = [
        Workload::Pairs,
        Workload::Prodcons,
        Workload::Mpsc,
        Workload::Stalled,
        Workload::Oversubscription,
        Workload::Handoff,
        Workload::ReadOnly,
        Workload::ReadMostly,
        Workload::Balanced,
        Workload::WriteHeavy,
        Workload::LongReader,
        Workload::Graph,
        Workload::GraphForced,
    ];

    /// The name users select it by.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Pairs => "pairs",
            Workload::Prodcons => "prodcons",
            Workload::Mpsc => "mpsc",
            Workload::Stalled => "stalled",
            Workload::Oversubscription => "oversubscription",
            Workload::Handoff => "handoff",
            Workload::ReadOnly => "read-only",
            Workload::ReadMostly => "read-mostly",
            Workload::Balanced => "balanced",
            Workload::WriteHeavy => "write-heavy",
            Workload::LongReader => "long-reader",
            Workload::Graph => "graph",
            Workload::GraphForced => "graph-forced",
        }
    }

    /// Whether it runs only on sets (an operation mix).
    pub fn sets_only(self) -> bool {
        matches!(
            self,
            Workload::ReadOnly
                | Workload::ReadMostly
                | Workload::Balanced
                | Workload::WriteHeavy
                | Workload::LongReader
        )
    }

    /// Whether it drives the graph family's strategies.
    pub fn is_graph(self) -> bool {
        matches!(self, Workload::Graph | Workload::GraphForced)
    }

    /// One line for `list`.
    pub fn summary(self) -> &'static str {
        match self {
            Workload::Pairs => pairs::SUMMARY,
            Workload::Prodcons => prodcons::SUMMARY,
            Workload::Mpsc => mpsc::SUMMARY,
            Workload::Stalled => stalled::SUMMARY,
            Workload::Oversubscription => oversubscription::SUMMARY,
            Workload::Handoff => handoff::SUMMARY,
            Workload::Graph => graph::SUMMARY,
            Workload::GraphForced => graph::FORCED_SUMMARY,
            Workload::LongReader => sets::LONG_READER_SUMMARY,
            _ => sets::summary(sets::named_mix(self).expect("a set workload")),
        }
    }

    /// Who does what when this workload runs `threads` threads on a set, on a machine
    /// with `cores` hardware threads, or why it cannot.
    ///
    /// # Errors
    /// A workload sets do not run, or too few threads for its roles.
    pub fn set_shape(self, threads: usize, cores: usize) -> Result<Shape, ShapeError> {
        sets::shape(self, threads, cores).unwrap_or(Err(match self {
            Workload::Handoff => ShapeError::NotABackendWorkload,
            w if w.is_graph() => ShapeError::GraphsOnly,
            _ => ShapeError::ContainersOnly,
        }))
    }

    /// Who does what when this workload runs `threads` threads on the backend `info`
    /// describes, or why it cannot.
    ///
    /// # Errors
    /// The combination is impossible (two consumers on a one-consumer channel, one
    /// thread for a workload that needs two), or the workload does not drive backends
    /// (`handoff`).
    pub fn shape(self, info: &Info, threads: usize, cores: usize) -> Result<Shape, ShapeError> {
        if threads == 0 {
            return Err(ShapeError::NoThreads);
        }
        let shape = match self {
            Workload::Pairs => pairs::shape(threads)?,
            Workload::Prodcons => prodcons::shape(threads)?,
            Workload::Mpsc => mpsc::shape(threads)?,
            Workload::Stalled => stalled::shape(threads)?,
            Workload::Oversubscription => oversubscription::shape(info, threads, cores)?,
            Workload::Handoff => return Err(ShapeError::NotABackendWorkload),
            Workload::Graph | Workload::GraphForced => return Err(ShapeError::GraphsOnly),
            _ => return Err(ShapeError::SetsOnly),
        };
        if !info.consumers.allows(shape.poppers()) {
            return Err(ShapeError::TooManyConsumers {
                shape,
                consumers: info.consumers,
            });
        }
        Ok(shape)
    }

    /// The thread counts this workload runs at when the user gave `requested` (or the
    /// suite's default list) on a machine with `cores` hardware threads. Every workload
    /// takes `requested` as is, except `oversubscription`, which keeps only counts above
    /// the core count and falls back to twice the cores when none is.
    pub fn thread_counts(self, requested: &[usize], cores: usize) -> Vec<usize> {
        match self {
            Workload::Oversubscription => oversubscription::thread_counts(requested, cores),
            Workload::Handoff => vec![handoff::THREADS],
            _ => requested.to_vec(),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The workload called by its [`name`](Workload::name): `"pairs".parse::<Workload>()`.
impl FromStr for Workload {
    type Err = UnknownWorkload;

    fn from_str(name: &str) -> Result<Workload, UnknownWorkload> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == name)
            .ok_or_else(|| UnknownWorkload {
                name: name.to_string(),
            })
    }
}

#[cfg(test)]
mod tests;
