//! `handoff`: the real-time consumer scenario (`reclaim-handoff`), one row per strategy.
//!
//! A producer hands blocks of samples to a consumer that runs a callback every period;
//! each strategy gets rid of the replaced block its own way (dropped inline, deferred to
//! an epoch, swept by a collector, sent back). The row's latency is the callbacks'
//! durations, its garbage the messages alive over time, and `extra` says how many frees
//! and allocations ran on the real-time thread — the number this scenario is about.
//! Throughput is messages taken per second: set by the period, not a speed. Its
//! repeats are measured by the `handoff` module beside the backend driver.

pub(super) const SUMMARY: &str = "a producer hands blocks to a real-time callback; where the old block is freed (strategies, not backends)";

pub(super) const NOT_A_BACKEND_WORKLOAD: &str =
    "handoff drives its own strategies (handoff-box, handoff-sweep, …), not backends";

/// The producer and the consumer (the sweep collector, where there is one, is extra).
pub(super) const THREADS: usize = 2;
