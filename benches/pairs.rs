//! One thread, one push then one pop per iteration, on every registered backend: the
//! reference book's exercise at one thread, and the cost of an uncontended operation
//! pair under each scheme.
//!
//! Each sample runs on a fresh container built outside the timed region and dropped after
//! it, so `leak` frees what it leaked between samples instead of growing for the whole run.
//! That flatters `leak`: the allocator hands the same warm memory back to the next sample,
//! so the fresh-memory cost (page faults, cold lines) a long run of `leak` pays is mostly
//! absent here. The measurement harness's fixed-duration runs are where that cost shows.
//!
//! `cargo bench --bench pairs`; the report lands in `target/criterion/report/index.html`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use reclaim_core::{Backend, Config, Container, Entry, Handle, Visitor};

struct Pairs<'g, 'c>(&'g mut BenchmarkGroup<'c, WallTime>);

impl Visitor for Pairs<'_, '_> {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        self.0.bench_function(entry.name, |b| {
            b.iter_custom(|iterations| {
                let container = match B::Container::<u64>::new(&Config::default()) {
                    Ok(container) => container,
                    Err(err) => panic!("{}: {err}", entry.name),
                };
                let mut handle = container.handle();
                let start = Instant::now();
                for i in 0..iterations {
                    if handle.push(black_box(i)).is_err() {
                        panic!("{}: push refused on an empty container", entry.name);
                    }
                    black_box(handle.pop());
                }
                let elapsed: Duration = start.elapsed();
                drop(handle);
                drop(container);
                elapsed
            })
        });
    }
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("pairs/1-thread");
    group.throughput(Throughput::Elements(1));
    reclaim_registry::visit_all(&mut Pairs(&mut group));
    group.finish();
}

criterion_group!(benches, pairs);
criterion_main!(benches);
