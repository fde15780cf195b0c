//! Every registered set under the four operation mixes at one thread, and `read-mostly`
//! and `balanced` at two:
//!
//! - `sets/read-only/1-thread`, `sets/read-mostly/1-thread`, `sets/balanced/1-thread`,
//!   `sets/write-heavy/1-thread`: percent contains/insert/remove 100/0/0, 90/5/5,
//!   50/25/25 and 0/50/50 — what each operation costs alone, reads against writes;
//! - `sets/read-mostly/2-threads`, `sets/balanced/2-threads`: the same with two threads.
//!
//! Keys are drawn uniformly from each structure's default range (1,024 for the lists,
//! 100,000 for the others: `reclaim_harness::workload::sets`), over a set prefilled to
//! half of it. One function per set in each group, named as the registry names it, so
//! criterion's report shows them side by side.
//!
//! # What is timed
//!
//! As in `benches/workloads.rs`: each sample is one run of the measurement harness's
//! driver (`reclaim_harness::bench::time_set_iterations`) for `iters` operations per
//! thread, with its instrumentation off — the same loop and self-check as a `run` row.
//! Building and prefilling the set, spawning the threads and taking their handles come
//! before the timed region; the check (the prefill plus the inserts must equal the
//! removes plus what the set holds) and dropping the set after it. A sample of more
//! than 2¹⁹ operations runs as several rounds on fresh sets. Throughput is in
//! operations: `elem/s` is operations per second over every thread.
//!
//! # Running
//!
//! `cargo bench --bench sets` (add a filter such as `-- read-mostly/1` or `-- hashmap-`);
//! `-- --test` runs every benchmark once without measuring. Samples: 20 per benchmark,
//! 1 s warm-up, 2 s measurement (the sets are many), which `--warm-up-time` and
//! `--measurement-time` override.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use reclaim_core::{Backend, Entry, SetBackend, SetEntry, Visitor};
use reclaim_harness::bench::time_set_iterations;
use reclaim_harness::plan::SetRun;
use reclaim_harness::workload::Mix;
use reclaim_harness::workload::sets::default_keys;

/// Most operations per thread run on one set; a longer sample runs in rounds on fresh
/// sets, which bounds what `leak` holds to one round.
const ROUND_ITERATIONS: u64 = 1 << 19;

/// The groups: a mix's name and value, and a thread count.
const GROUPS: [(&str, Mix, usize); 6] = [
    ("read-only", Mix::READ_ONLY, 1),
    ("read-mostly", Mix::READ_MOSTLY, 1),
    ("balanced", Mix::BALANCED, 1),
    ("write-heavy", Mix::WRITE_HEAVY, 1),
    ("read-mostly", Mix::READ_MOSTLY, 2),
    ("balanced", Mix::BALANCED, 2),
];

/// Benches one group on every registered set.
struct Bench<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    name: String,
    mix: Mix,
    threads: usize,
}

impl Visitor for Bench<'_, '_> {
    fn visit<B: Backend>(&mut self, _: Entry) {}

    fn visit_set<B: SetBackend>(&mut self, entry: SetEntry) {
        let run = SetRun {
            keys: default_keys(&entry.info),
            mix: self.mix,
            zipf: None,
        };
        let (threads, group) = (self.threads, &self.name);
        self.group.bench_function(entry.name, |b| {
            b.iter_custom(|iters| {
                let mut left = iters;
                let mut total = Duration::ZERO;
                while left > 0 {
                    let round = left.min(ROUND_ITERATIONS);
                    total += time_set_iterations::<B::Set>(threads, run, round).unwrap_or_else(
                        |error| {
                            panic!(
                                "{group}/{}: {}; no timing is reported for a set that fails \
                                 its own check",
                                entry.name,
                                reclaim_core::error_chain(&error)
                            )
                        },
                    );
                    left -= round;
                }
                total
            });
        });
    }
}

fn sets(c: &mut Criterion) {
    for (mix_name, mix, threads) in GROUPS {
        let name = match threads {
            1 => format!("sets/{mix_name}/1-thread"),
            n => format!("sets/{mix_name}/{n}-threads"),
        };
        let mut group = c.benchmark_group(&name);
        group.throughput(Throughput::Elements(threads as u64));
        reclaim_registry::visit_all(&mut Bench {
            group: &mut group,
            name: name.clone(),
            mix,
            threads,
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // The command line's options override these.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = sets
}
criterion_main!(benches);
