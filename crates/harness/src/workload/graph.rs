//! `graph` and `graph-forced`: the graph family's strategies (`reclaim-graphs`), one row
//! per strategy, each keeping a live object graph of `--nodes` nodes while every
//! operation replaces a random subgraph, whose old part becomes garbage — cyclic
//! whenever one of its back-edges points inside it.
//!
//! In `graph` the collectors run on their own policy only: the driver runs (and times)
//! the step a strategy says is due, and the libraries that collect inside allocations or
//! drops do so uncounted by the clock, counted by number. `graph-forced` adds a full
//! collection every `--collect-every` operations, timed, for the strategies that have
//! something to collect. The thread-local strategies run at one thread; `arc-weak` and
//! `dumpster-sync` share one graph among all the row's threads. Its repeats are measured
//! by the `graph` module beside the backend driver.

use reclaim_graphs::GraphInfo;

use super::{ShapeError, Workload};

pub(super) const SUMMARY: &str = "graph strategies keep a live object graph while each operation replaces a subgraph; collectors on their own policy";

pub(super) const FORCED_SUMMARY: &str =
    "as graph, plus a timed full collection every --collect-every operations";

pub(super) const NOT_A_BACKEND_WORKLOAD: &str =
    "the graph workloads drive the graph strategies (graph-rc-weak, graph-gc, …), not backends";

/// Whether `strategy` runs `workload` at `threads` threads, or why not.
pub(crate) fn check(
    strategy: &GraphInfo,
    workload: Workload,
    threads: usize,
) -> Result<(), ShapeError> {
    if threads == 0 {
        return Err(ShapeError::NoThreads);
    }
    if threads > 1 && !strategy.thread_safe {
        return Err(ShapeError::ThreadLocalGraph);
    }
    if workload == Workload::GraphForced && !strategy.forced_collection {
        return Err(ShapeError::NothingToCollect);
    }
    Ok(())
}
