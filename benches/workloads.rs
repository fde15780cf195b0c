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
//! # What is timed
//!
//! Each sample (`iter_custom`) builds a fresh container, spawns its worker threads, and
//! each worker takes its handle (registration: hazard pointers, epoch slot, sender) — all
//! before the timed region. (A sample of more than 2¹⁹ iterations runs as several such
//! rounds, each on a fresh container, and adds up their timed windows: see
//! `ROUND_ITERATIONS`.) The workers then wait on a [`Barrier`]; each reads the clock
//! right after the barrier releases it and again when its loop ends. The sample's time is
//! from the earliest start to the latest end: the whole workload, from the first thread
//! let go to the last one done. Not timed: spawning and joining threads, dropping handles
//! (epoch unregistration, `leak` handing its list to the domain), the correctness check,
//! and dropping the container (which frees whatever the scheme still holds).
//!
//! The timed loops call `push`/`pop` on the backend's concrete handle type (the registry
//! hands each backend over as a type, so nothing is dynamically dispatched) and allocate
//! nothing themselves; the values popped feed a running count and checksum, which keeps
//! the pops observable without `black_box` on every result.
//!
//! A bounded backend (`arrayqueue`) that is full hands the value back; the producer spins
//! briefly, then yields, and tries again. A consumer that finds the container empty while
//! producers are still running waits the same way. On this project's small machines the
//! workers outnumber the cores at 4 threads, so waiting always ends in `yield_now`, never
//! in an unbounded spin that would starve the thread it waits for.
//!
//! # Every sample checks itself
//!
//! After each sample, outside the timed region: the container must report no
//! [`failure`](reclaim_core::Container::failure), and the values popped must be the values
//! pushed — same count, same checksum (each value `0..N` is pushed once, so the popped
//! values must sum to `N(N-1)/2`). Otherwise the bench panics with what went wrong: a
//! broken backend does not get to post a number. Consumers stop when every producer has
//! finished *and* a pop then finds the container empty, so a lost value shows up as a
//! failed check, not as a hang.
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

use std::hint::{black_box, spin_loop};
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use reclaim_core::{Backend, Config, Container, Entry, Handle, Visitor};

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
/// barrier release (tens of microseconds) stays a small part of it.
const ROUND_ITERATIONS: u64 = 1 << 19;

/// Rounds of `spin_loop` a waiting thread doubles through before it yields: 2⁰ + … + 2⁶
/// = 127 spins, about the length of a contended operation, so a short wait stays on the
/// core and a long one gives it up.
const SPIN_ROUNDS: u32 = 6;

/// A workload and its thread count.
#[derive(Clone, Copy, Debug)]
enum Workload {
    /// Every thread pushes a value then pops one.
    Pairs { threads: usize },
    /// Producers push their values; as many consumers pop them all.
    ProdCons { producers: usize, consumers: usize },
}

/// What one worker thread does.
#[derive(Clone, Copy, Debug)]
enum Role {
    /// Push then pop, pushing the values `first..first + iters`.
    Pairs { first: u64 },
    /// Push the values `first..first + iters`.
    Producer { first: u64 },
    /// Pop until the producers are done and the container is empty.
    Consumer,
}

impl Workload {
    fn all() -> impl Iterator<Item = Workload> {
        let pairs = PAIRS_THREADS
            .into_iter()
            .map(|threads| Workload::Pairs { threads });
        let prodcons = PRODCONS_THREADS
            .into_iter()
            .map(|threads| Workload::ProdCons {
                producers: threads / 2,
                consumers: threads - threads / 2,
            });
        pairs.chain(prodcons)
    }

    fn threads(self) -> usize {
        match self {
            Workload::Pairs { threads } => threads,
            Workload::ProdCons {
                producers,
                consumers,
            } => producers + consumers,
        }
    }

    /// Threads that push.
    fn pushers(self) -> usize {
        match self {
            Workload::Pairs { threads } => threads,
            Workload::ProdCons { producers, .. } => producers,
        }
    }

    /// Threads that pop at the same time.
    fn consumers(self) -> usize {
        match self {
            Workload::Pairs { threads } => threads,
            Workload::ProdCons { consumers, .. } => consumers,
        }
    }

    /// Operations (pushes and pops) in one criterion iteration.
    fn ops_per_iteration(self) -> u64 {
        2 * self.pushers() as u64
    }

    /// The criterion group: `pairs/1-thread`, `prodcons/4-threads`, …
    fn group_name(self) -> String {
        let kind = match self {
            Workload::Pairs { .. } => "pairs",
            Workload::ProdCons { .. } => "prodcons",
        };
        match self.threads() {
            1 => format!("{kind}/1-thread"),
            n => format!("{kind}/{n}-threads"),
        }
    }

    /// The role of worker `index`; pushing workers get disjoint ranges of values, so
    /// `0..pushers × iters` is pushed exactly once.
    fn role(self, index: usize, iters: u64) -> Role {
        let first = index as u64 * iters;
        match self {
            Workload::Pairs { .. } => Role::Pairs { first },
            Workload::ProdCons { producers, .. } if index < producers => Role::Producer { first },
            Workload::ProdCons { .. } => Role::Consumer,
        }
    }
}

/// Spins a little, then yields, while a thread waits for another.
#[derive(Default)]
struct Backoff {
    round: u32,
}

impl Backoff {
    fn wait(&mut self) {
        if self.round <= SPIN_ROUNDS {
            for _ in 0..1u32 << self.round {
                spin_loop();
            }
            self.round += 1;
        } else {
            thread::yield_now();
        }
    }

    fn reset(&mut self) {
        self.round = 0;
    }
}

/// What one worker popped: how many values, and their sum.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    popped: u64,
    sum: u64,
}

impl Tally {
    #[inline]
    fn take(&mut self, value: u64) {
        self.popped += 1;
        self.sum = self.sum.wrapping_add(value);
    }
}

/// One worker's timed window and tally.
struct Report {
    start: Instant,
    end: Instant,
    tally: Tally,
}

/// Pushes `value`. A full bounded backend hands it back and is asked again after a
/// back-off; an unbounded backend that refuses has failed (a channel's disk error): the
/// value is dropped and the check after the sample reports it missing, rather than the
/// bench retrying forever.
#[inline]
fn push<H: Handle<u64>>(handle: &mut H, mut value: u64, bounded: bool) {
    let mut backoff = Backoff::default();
    while let Err(back) = handle.push(value) {
        if !bounded {
            return;
        }
        value = back;
        backoff.wait();
    }
}

/// Each iteration pushes a value then pops one. A pop that finds the container empty
/// right after this thread's own push takes nothing: the value it should have found
/// shows up as missing in the check.
fn pairs<H: Handle<u64>>(handle: &mut H, values: std::ops::Range<u64>, bounded: bool) -> Tally {
    let mut tally = Tally::default();
    for value in values {
        push(handle, black_box(value), bounded);
        if let Some(popped) = handle.pop() {
            tally.take(popped);
        }
    }
    tally
}

fn produce<H: Handle<u64>>(handle: &mut H, values: std::ops::Range<u64>, bounded: bool) {
    for value in values {
        push(handle, black_box(value), bounded);
    }
}

/// Pops until every producer has finished and a pop after that finds the container empty.
/// The producers' flag is read only after an empty pop, so a busy consumer touches no
/// shared line but the container's.
fn consume<H: Handle<u64>>(handle: &mut H, producers_left: &AtomicUsize) -> Tally {
    let mut tally = Tally::default();
    let mut backoff = Backoff::default();
    loop {
        if let Some(value) = handle.pop() {
            tally.take(value);
            backoff.reset();
            continue;
        }
        // Acquire pairs with each producer's Release decrement: once the count reads 0,
        // every push has completed, so an empty pop from here on means every value is out.
        if producers_left.load(Ordering::Acquire) == 0 {
            match handle.pop() {
                Some(value) => tally.take(value),
                None => return tally,
            }
        } else {
            backoff.wait();
        }
    }
}

/// Counts a producer out when it finishes, even by panicking, so consumers never wait on
/// a producer that is gone.
struct ProducerDone<'a>(&'a AtomicUsize);

impl Drop for ProducerDone<'_> {
    fn drop(&mut self) {
        // Release: this producer's pushes happen before a consumer's Acquire load sees it gone.
        self.0.fetch_sub(1, Ordering::Release);
    }
}

/// Runs one sample of `workload` with `iters` iterations, in rounds of at most
/// [`ROUND_ITERATIONS`], and returns the sum of the rounds' timed windows.
fn sample<B: Backend>(name: &str, workload: Workload, iters: u64) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let round_iters = left.min(ROUND_ITERATIONS);
        total += round::<B>(name, workload, round_iters);
        left -= round_iters;
    }
    total
}

/// Runs `iters` iterations of `workload` on a fresh container of `B`, checks them, and
/// returns the time from the first worker released to the last one done.
fn round<B: Backend>(name: &str, workload: Workload, iters: u64) -> Duration {
    let group = workload.group_name();
    let container = B::Container::<u64>::new(&Config::default())
        .unwrap_or_else(|err| panic!("{group}/{name}: {err}"));
    let bounded = B::INFO.bounded;
    let release = Barrier::new(workload.threads());
    let producers_left = AtomicUsize::new(workload.pushers());

    let reports: Vec<Report> = thread::scope(|s| {
        let workers: Vec<_> = (0..workload.threads())
            .map(|index| {
                let (container, release, producers_left) = (&container, &release, &producers_left);
                s.spawn(move || {
                    let mut handle = container.handle();
                    release.wait();
                    let start = Instant::now();
                    let tally = match workload.role(index, iters) {
                        Role::Pairs { first } => pairs(&mut handle, first..first + iters, bounded),
                        Role::Producer { first } => {
                            let _done = ProducerDone(producers_left);
                            produce(&mut handle, first..first + iters, bounded);
                            Tally::default()
                        }
                        Role::Consumer => consume(&mut handle, producers_left),
                    };
                    let end = Instant::now();
                    Report { start, end, tally }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });

    check(
        &group,
        name,
        &container,
        workload.pushers() as u64 * iters,
        &reports,
    );
    drop(container);

    let start = reports.iter().map(|r| r.start).min();
    let end = reports.iter().map(|r| r.end).max();
    match (start, end) {
        (Some(start), Some(end)) => end.duration_since(start),
        _ => Duration::ZERO,
    }
}

/// Panics unless the container reports no failure and the workers popped exactly the
/// values `0..pushed`, by count and by checksum.
fn check<C: Container<u64>>(
    group: &str,
    name: &str,
    container: &C,
    pushed: u64,
    reports: &[Report],
) {
    if let Some(failure) = container.failure() {
        panic!("{group}/{name}: the container failed: {failure}");
    }
    let popped: u64 = reports.iter().map(|r| r.tally.popped).sum();
    let sum = reports
        .iter()
        .fold(0u64, |acc, r| acc.wrapping_add(r.tally.sum));
    // Σ 0..n = n(n-1)/2, reduced mod 2⁶⁴ like the workers' wrapping sums.
    let n = u128::from(pushed);
    let expected = (n * n.saturating_sub(1) / 2) as u64;
    if popped != pushed || sum != expected {
        panic!(
            "{group}/{name}: pushed {pushed} values, popped {popped} (checksum {sum:#x}, \
             expected {expected:#x}): values were lost, duplicated or corrupted; \
             no timing is reported for a backend that fails its own workload"
        );
    }
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
