//! The reclamation schemes' own operations, one thread, no structure around them: what
//! each scheme adds to every operation of a lock-free structure.
//!
//! One group per operation, one function per scheme, so criterion's report puts the
//! schemes side by side (throughput is one operation per iteration):
//!
//! - `micro/enter-leave` (`leak`, `ebr`, `hp`, `seize`, `circ` where pointers are 64 bits): `local.pin()` and dropping the guard — the
//!   bracket around every operation. `ebr` pins the epoch (a SeqCst fence or locked
//!   instruction; crossbeam-epoch also tries to advance the epoch and collect every 128th
//!   pin, included) and names the participant's counter shard in a thread-local around
//!   the pin (where it may free); `hp` clears its hazard slots on drop; `seize` marks the
//!   thread active with a store, and on drop swaps it inactive and frees the batches it was
//!   the last to hold, with the counter shard named around the drop. `leak` only builds
//!   the guard. `circ` enters and leaves a critical section of circ's own EBR
//!   (`circ::cs()`), which collects now and then on leaving.
//! - `micro/protect` (`leak`, `ebr`, `hp`, `seize`, `circ`): `guard.protect(slot, &AtomicPtr)` on a live
//!   node, inside one guard pinned once for the whole benchmark — the cost of protecting
//!   one more pointer within an operation (`hp`: publish, fence, reload; `seize`: a SeqCst
//!   load; `circ`: a `Snapshot` loaded from an `AtomicRc`; the others: a plain Acquire
//!   load).
//! - `micro/protected-read` (all seven): a complete read of a shared node, as a reader
//!   does it under each scheme. For `leak`, `ebr`, `hp`, `seize`: pin, protect, read the node's
//!   value, drop the guard. For `rc` and `sweep`, which have no guards: arc-swap's
//!   `load_full` from an `ArcSwapOption` (the protected load the counted structures use),
//!   read the value, drop the loaded `Arc`. This is the group that compares the two
//!   families; `rc` and `sweep` run the same code here (the scheme only differs in who
//!   frees, and nothing is freed), with the node tracked by the collector under `sweep`.
//!   For `circ`: enter a critical section, load a `Snapshot`, read the value, leave: no
//!   count is touched.
//! - `micro/retire` (`inline-free`, all seven): the amortized cost of one node going
//!   through reclamation, allocation to free. For `leak`, `ebr`, `hp`, `seize`: pin, allocate a
//!   value-and-link node (16 bytes on 64-bit targets) with `Box::into_raw`, `retire` it,
//!   drop the guard — what a pop pays, so it includes `micro/enter-leave`. For `rc`:
//!   allocate the same node in an `Arc` (16 more bytes of counts), count it retired, drop
//!   the last reference (freed inline). For `sweep`: allocate, `track` (the collector
//!   takes a clone), count it retired, drop our reference, `released` (the dirty hint);
//!   the free happens later on the collector thread. For `circ`: enter a critical section,
//!   allocate the node in a `circ::Rc` (8 more bytes of count), count it retired, give up
//!   the last count (its destruction is deferred through circ's EBR, and runs in a later
//!   collection), leave. `inline-free` is the floor: allocate
//!   a node and free it at once, no scheme at all.
//!
//! # What `retire` includes, and what it does not
//!
//! Each `retire` sample (`iter_custom`) builds a fresh domain and registers the thread
//! before the clock starts, and drops the registration and the domain after it stops, so
//! garbage never piles up from one sample to the next (a sample of more than 2²⁰
//! iterations runs as several such rounds, see `ROUND_ITERATIONS`). Timed: the
//! allocation, the scheme's bookkeeping (the counters' retire count; `leak`'s list push,
//! with its occasional growth; `ebr`'s deferred-function bag and the collections pins
//! run; `hp`'s retired list and the scans its retires trigger; `seize`'s batches, the
//! system-wide barrier each full one costs, and the frees on leaving), and every free that
//! happens during the sample.
//! Not timed: what is still unfreed when the sample ends and is freed by dropping the
//! domain — for `leak` that is every node (so its number is allocation plus bookkeeping,
//! with no free at all), for `ebr` the last few bags, for `hp` what is below its scan
//! threshold, for `seize` the last batch not yet full, for `sweep` whatever the collector
//! had not reached, for `circ` what its collector had not run yet (flushed after the
//! clock stops, but circ's collector is global, so this is a best effort). `sweep`'s frees run on
//! the collector thread, concurrently: the number is what the worker pays, and on a
//! machine with few cores the collector competes with it for CPU.
//!
//! The `leak` number is flattering in the same way as in the workloads bench: each sample
//! starts from an allocator that just got the previous sample's nodes back, so the fresh
//! memory `leak` takes is mostly warm.
//!
//! # Left out
//!
//! `rc` and `sweep` have no guard to enter or leave and no protection separate from the
//! load, so they appear only in `micro/protected-read` and `micro/retire`.
//! `protect_from` (the re-validation the Michael–Scott queue needs) is not benched on its
//! own: on `leak` and `ebr` it does nothing, on `hp` it is the same publish-and-fence
//! as `protect`, and on `seize` the same load as `protect`. The counted schemes' `compare_and_swap` (arc-swap, paying other
//! threads' debts) only has a cost worth measuring under contention, which the workloads
//! bench covers.
//!
//! # Running
//!
//! `cargo bench --bench micro` (filter with e.g. `-- micro/retire`); the report lands in
//! `target/criterion/report/index.html`. To compare against an earlier state:
//! `cargo bench --bench micro -- --save-baseline before`, change things, then
//! `cargo bench --bench micro -- --baseline before`.

use std::hint::black_box;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use circ::{AtomicRc, RcObject};
// circ crashes on 32-bit targets: not measured there (see the registry).
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use reclaim_registry::CIRC;
use reclaim_smr::counters::{self, Counters};
use reclaim_smr::{CountedScheme, Ebr, Guard, Hp, Leak, Local, Rc, Scheme, Seize, Sweep};

/// Protection slots each thread registers with: one pointer protected at a time here.
const SLOTS: usize = 1;

/// A node the size of a stack's node of `u64`: a value and a link.
struct Node {
    value: u64,
    _next: AtomicPtr<Node>,
}

impl Node {
    fn new(value: u64) -> Node {
        Node {
            value,
            _next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// A node of the counted family that counts its own free, as the counted structures'
/// nodes do for the ones a pop retired (every node of this bench is retired).
struct CountedNode {
    _node: Node,
}

impl Drop for CountedNode {
    fn drop(&mut self) {
        counters::note_freed();
    }
}

/// A node in a `circ::Rc`: a value and a link, as the circ stack's node.
struct CircNode {
    value: u64,
    next: AtomicRc<CircNode>,
}

// SAFETY: `pop_edges` hands circ only the `Rc` this node's own link owned.
unsafe impl RcObject for CircNode {
    fn pop_edges(&mut self, out: &mut Vec<circ::Rc<Self>>) {
        out.push(self.next.take());
    }
}

impl CircNode {
    fn new(value: u64) -> CircNode {
        CircNode {
            value,
            next: AtomicRc::null(),
        }
    }
}

type Group<'c> = BenchmarkGroup<'c, WallTime>;

fn enter_leave<S: Scheme>(group: &mut Group<'_>) {
    let domain = S::new_domain();
    let mut local = S::register(&domain, SLOTS);
    group.bench_function(S::NAME, |b| {
        b.iter(|| {
            let guard = local.pin();
            black_box(&guard);
        });
    });
}

fn circ_enter_leave(group: &mut Group<'_>) {
    group.bench_function("circ", |b| {
        b.iter(|| {
            let guard = circ::cs();
            black_box(&guard);
        });
    });
}

fn protect<S: Scheme>(group: &mut Group<'_>) {
    // Never retired: it outlives every guard below.
    let node = Node::new(1);
    let src = AtomicPtr::new(ptr::from_ref(&node).cast_mut());
    let domain = S::new_domain();
    let mut local = S::register(&domain, SLOTS);
    let mut guard = local.pin();
    group.bench_function(S::NAME, |b| {
        b.iter(|| guard.protect(0, black_box(&src)));
    });
}

fn protected_read<S: Scheme>(group: &mut Group<'_>) {
    let node = Node::new(1);
    let src = AtomicPtr::new(ptr::from_ref(&node).cast_mut());
    let domain = S::new_domain();
    let mut local = S::register(&domain, SLOTS);
    group.bench_function(S::NAME, |b| {
        b.iter(|| {
            let mut guard = local.pin();
            let protected = guard.protect(0, black_box(&src));
            // SAFETY: `src` only ever holds a pointer to `node`, which lives on this stack
            // frame past the benchmark and is never retired; it is read, never written.
            unsafe { (*protected).value }
        });
    });
}

fn circ_protect(group: &mut Group<'_>) {
    let src = AtomicRc::new(CircNode::new(1));
    let guard = circ::cs();
    group.bench_function("circ", |b| {
        b.iter(|| black_box(&src).load(Ordering::Acquire, &guard));
    });
}

fn circ_protected_read(group: &mut Group<'_>) {
    let src = AtomicRc::new(CircNode::new(1));
    group.bench_function("circ", |b| {
        b.iter(|| {
            let guard = circ::cs();
            let node = black_box(&src).load(Ordering::Acquire, &guard);
            node.as_ref().map(|node| node.value)
        });
    });
}

fn counted_protected_read<S: CountedScheme>(group: &mut Group<'_>) {
    let domain = S::new_domain();
    let node = Arc::new(Node::new(1));
    S::track(&domain, &node);
    // Declared after the domain, so dropped before it: `sweep`'s collector then frees the
    // node in its final pass.
    let cell = ArcSwapOption::new(Some(node));
    group.bench_function(S::NAME, |b| {
        b.iter(|| black_box(&cell).load_full().map(|node| node.value));
    });
}

/// Most nodes retired into one domain. A longer sample runs in rounds, each on a fresh
/// domain, and adds up their timed loops: this bounds what `leak` holds (a node and a
/// list entry, ~50 bytes, per retire) to ~50 MiB, where `--quick` (whose last sample can
/// take seconds) would otherwise reach gigabytes.
const ROUND_ITERATIONS: u64 = 1 << 20;

/// Runs `round(n)` on rounds of at most [`ROUND_ITERATIONS`] adding up to `iters`, and sums
/// the times they return.
fn in_rounds(iters: u64, mut round: impl FnMut(u64) -> Duration) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(ROUND_ITERATIONS);
        total += round(n);
        left -= n;
    }
    total
}

// Each `retire` round builds the domain and registers before the clock starts, and drops
// both after it stops: that frees what the scheme still holds (all of it for `leak`)
// outside the timed loop, and starts every round without garbage.

fn retire<S: Scheme>(group: &mut Group<'_>) {
    group.bench_function(S::NAME, |b| {
        b.iter_custom(|iters| {
            in_rounds(iters, |iters| {
                let domain = S::new_domain();
                let mut local = S::register(&domain, SLOTS);
                let start = Instant::now();
                for i in 0..iters {
                    let mut guard = local.pin();
                    let node = Box::into_raw(Box::new(Node::new(black_box(i))));
                    // SAFETY: `node` comes from `Box::into_raw` and is retired once, here; no
                    // other thread ever saw it, so it is unreachable; the domain it is retired
                    // into outlives the guard and frees it at the latest when dropped below.
                    unsafe { guard.retire(node) };
                }
                let elapsed = start.elapsed();
                drop(local);
                drop(domain);
                elapsed
            })
        });
    });
}

fn counted_retire<S: CountedScheme>(group: &mut Group<'_>) {
    group.bench_function(S::NAME, |b| {
        b.iter_custom(|iters| {
            in_rounds(iters, |iters| {
                let domain = S::new_domain();
                let participant = S::counters(&domain).join();
                let start = Instant::now();
                for i in 0..iters {
                    // As a counted structure's handle does around each operation: frees that
                    // happen on this thread (`rc`) count in our shard.
                    participant.counting(|| {
                        let node = Arc::new(CountedNode {
                            _node: Node::new(black_box(i)),
                        });
                        // Escapes, so the allocation cannot be optimized away under `rc`,
                        // where `track` does nothing.
                        black_box(&node);
                        S::track(&domain, &node);
                        participant.note_retired();
                        drop(node);
                        S::released(&domain);
                    });
                }
                let elapsed = start.elapsed();
                drop(participant);
                // `sweep`: joins the collector, whose final pass frees what it had not reached.
                drop(domain);
                elapsed
            })
        });
    });
}

fn circ_retire(group: &mut Group<'_>) {
    group.bench_function("circ", |b| {
        b.iter_custom(|iters| {
            in_rounds(iters, |iters| {
                let counters = Counters::default();
                let participant = counters.join();
                let start = Instant::now();
                for i in 0..iters {
                    let guard = circ::cs();
                    let node = circ::Rc::new(CircNode::new(black_box(i)));
                    black_box(&node);
                    participant.note_retired();
                    node.finalize(&guard);
                }
                let elapsed = start.elapsed();
                // What circ has not destroyed yet goes to its global queue and is collected
                // outside the clock, as far as this thread can.
                for _ in 0..64 {
                    circ::cs().flush();
                }
                elapsed
            })
        });
    });
}

/// Allocation and an immediate free, with no scheme: the floor under `micro/retire`.
fn inline_free(group: &mut Group<'_>) {
    group.bench_function("inline-free", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            Box::new(Node::new(black_box(i)))
        });
    });
}

/// A group of one operation per iteration.
fn group<'c>(c: &'c mut Criterion, name: &str) -> Group<'c> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group
}

fn micro(c: &mut Criterion) {
    let mut g = group(c, "micro/enter-leave");
    enter_leave::<Leak>(&mut g);
    enter_leave::<Ebr>(&mut g);
    enter_leave::<Hp>(&mut g);
    enter_leave::<Seize>(&mut g);
    if CIRC {
        circ_enter_leave(&mut g);
    }
    g.finish();

    let mut g = group(c, "micro/protect");
    protect::<Leak>(&mut g);
    protect::<Ebr>(&mut g);
    protect::<Hp>(&mut g);
    protect::<Seize>(&mut g);
    if CIRC {
        circ_protect(&mut g);
    }
    g.finish();

    let mut g = group(c, "micro/protected-read");
    protected_read::<Leak>(&mut g);
    protected_read::<Ebr>(&mut g);
    protected_read::<Hp>(&mut g);
    protected_read::<Seize>(&mut g);
    counted_protected_read::<Rc>(&mut g);
    counted_protected_read::<Sweep>(&mut g);
    if CIRC {
        circ_protected_read(&mut g);
    }
    g.finish();

    let mut g = group(c, "micro/retire");
    inline_free(&mut g);
    retire::<Leak>(&mut g);
    retire::<Ebr>(&mut g);
    retire::<Hp>(&mut g);
    retire::<Seize>(&mut g);
    counted_retire::<Rc>(&mut g);
    counted_retire::<Sweep>(&mut g);
    if CIRC {
        circ_retire(&mut g);
    }
    g.finish();
}

criterion_group!(benches, micro);
criterion_main!(benches);
