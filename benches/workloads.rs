//! Every registered backend under two workloads, at several thread counts:
//!
//! - `pairs/1-thread`, `pairs/2-threads`, `pairs/4-threads`: each thread pushes a value
//!   then pops one, `iters` times (the reference book's exercise). At one thread it is the
//!   cost of an uncontended operation pair; at more, every thread both pushes and pops.
//! - `prodcons/2-threads`, `prodcons/4-threads`: half the threads are producers pushing
//!   `iters` values each, the other half consumers popping until every value is out.
//!
//! One function per backend in each group, named as the registry names it (`treiber-ebr`,
//! `mutex-vec`, …), so criterion's report shows the backends side by side. A backend is
//! skipped where it does not allow that many consumers (`hopper` and `hopper-disk` are
//! single-consumer: they run `pairs/1-thread` and `prodcons/2-threads` only).
//!
//! # Units
//!
//! Throughput is in operations: a push and a pop each count one. One criterion iteration
//! is one pair per thread (`pairs`, `2 × threads` operations) or one value per producer
//! pushed and popped (`prodcons`, `2 × producers` operations), so `elem/s` reads as
//! operations per second across every group, and the time per iteration as the time one
//! step of the workload takes with all its threads at work.
//!
//! # What is timed: the harness's own driver
//!
//! Each sample (`iter_custom`) is one run of the measurement harness's driver
//! (`reclaim_harness::bench::time_iterations`) for `iters` iterations instead of a
//! duration, with its instrumentation off: the same worker loops, start gate and
//! self-check as a `run` row, so a bench and a row measure the same code. It builds a
//! fresh container, spawns the workers, and each takes its handle (registration: hazard
//! pointers, epoch slot, sender) — all before the timed region; the workers then wait at
//! the start gate, and the sample's time is from the first worker's start to the last
//! one's end. Not timed: spawning and joining threads, dropping handles, the check, and
//! dropping the container (which frees whatever the scheme still holds). (A sample of
//! more than 2¹⁹ iterations runs as several such rounds, each on a fresh container, and
//! adds up their timed windows: see `ROUND_ITERATIONS`.)
//!
//! # Every sample checks itself
//!
//! Every value pushed must come out exactly once (the driver's count and checksum), and
//! the container must report no fault: otherwise the bench panics with what went wrong.
//! A broken backend does not get to post a number.
//!
//! # The `leak` caveat
//!
//! Each sample (each round of a long one) runs on a fresh container dropped after it, so
//! `leak` frees what it leaked between samples instead of growing for the whole run.
//! That flatters `leak`: the allocator hands the same warm memory back to the next
//! sample, so the fresh-memory cost (page faults, cold lines) a long run of `leak` pays is
//! mostly absent here. The measurement harness's fixed-duration runs are where that cost
//! shows.
//!
//! # Running
//!
//! `cargo bench --bench workloads` (add a filter such as `-- pairs/4` or `-- treiber-`);
//! the report lands in `target/criterion/report/index.html`. To compare against an
//! earlier state: `cargo bench --bench workloads -- --save-baseline before`, change
//! things, then `cargo bench --bench workloads -- --baseline before`. `-- --test` runs
//! every benchmark once without measuring (a smoke test).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use reclaim_core::{Backend, Entry, Visitor};
use reclaim_harness::Shape;
use reclaim_harness::bench::time_iterations;
use std::time::Duration;

/// Thread counts of the `pairs` workload.
const PAIRS_THREADS: [usize; 3] = [1, 2, 4];

/// Thread counts of the `prodcons` workload, half producers and half consumers.
const PRODCONS_THREADS: [usize; 2] = [2, 4];

/// Most iterations run on one container. A longer sample runs in rounds, each on a fresh
/// container with fresh threads (built and spawned outside the timed windows, which are
/// summed). This bounds what `leak` holds, and any backlog producers build up, to one
/// round: about 2¹⁹ × 4 threads × ~50 bytes ≈ 100 MiB for `leak` at 4 threads, where
/// `--quick` (whose last sample can take seconds) would otherwise reach gigabytes — too
/// much for a Raspberry Pi. A round still lasts tens of milliseconds or more, so the
/// start gate's release (tens of microseconds) stays a small part of it.
const ROUND_ITERATIONS: u64 = 1 << 19;

/// A workload, its thread count and its criterion group.
#[derive(Clone, Copy, Debug)]
struct Workload {
    name: &'static str,
    shape: Shape,
}

impl Workload {
    fn all() -> impl Iterator<Item = Workload> {
        let pairs = PAIRS_THREADS.into_iter().map(|threads| Workload {
            name: "pairs",
            shape: Shape {
                pairs: threads,
                ..Shape::default()
            },
        });
        let prodcons = PRODCONS_THREADS.into_iter().map(|threads| Workload {
            name: "prodcons",
            shape: Shape {
                producers: threads / 2,
                consumers: threads - threads / 2,
                ..Shape::default()
            },
        });
        pairs.chain(prodcons)
    }

    /// Threads that pop at the same time.
    fn consumers(self) -> usize {
        self.shape.pairs + self.shape.consumers
    }

    /// Operations (pushes and pops) in one criterion iteration: a push and a pop per
    /// pushing thread.
    fn ops_per_iteration(self) -> u64 {
        2 * (self.shape.pairs + self.shape.producers) as u64
    }

    /// The criterion group: `pairs/1-thread`, `prodcons/4-threads`, …
    fn group_name(self) -> String {
        match self.shape.threads() {
            1 => format!("{}/1-thread", self.name),
            n => format!("{}/{n}-threads", self.name),
        }
    }
}

/// Runs one sample of `workload` with `iters` iterations, in rounds of at most
/// [`ROUND_ITERATIONS`], and returns the sum of the rounds' timed windows.
fn sample<B: Backend>(name: &str, workload: Workload, iters: u64) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let round = left.min(ROUND_ITERATIONS);
        total += time_iterations::<B>(workload.shape, round).unwrap_or_else(|error| {
            panic!(
                "{}/{name}: {}; no timing is reported for a backend that fails its own \
                 workload",
                workload.group_name(),
                reclaim_core::error_chain(&error)
            )
        });
        left -= round;
    }
    total
}

/// Benches one workload on every backend that allows it.
struct Bench<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    workload: Workload,
}

impl Visitor for Bench<'_, '_> {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        let workload = self.workload;
        if !B::INFO.consumers.allows(workload.consumers()) {
            return;
        }
        self.group.bench_function(entry.name, |b| {
            b.iter_custom(|iters| sample::<B>(entry.name, workload, iters));
        });
    }
}

fn workloads(c: &mut Criterion) {
    for workload in Workload::all() {
        let mut group = c.benchmark_group(workload.group_name());
        group.throughput(Throughput::Elements(workload.ops_per_iteration()));
        reclaim_registry::visit_all(&mut Bench {
            group: &mut group,
            workload,
        });
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
