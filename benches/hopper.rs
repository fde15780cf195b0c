//! `reclaim-hopper` (crates/hopper) against the channels it is meant to replace or match:
//! `std::sync::mpsc::sync_channel` and `crossbeam_channel::bounded` of equal capacity in
//! items, and the original `hopper` 0.4 (`hopper04`). One criterion group per shape, so the
//! HTML report shows the four contestants side by side.
//!
//! # What is timed
//!
//! Every iteration builds a fresh channel (in a fresh temporary directory for the two
//! hoppers), spawns its sender threads and lets them wait on a [`Barrier`] — all outside the
//! timed region. The benchmark thread is the receiver: it passes the barrier, starts the
//! clock, receives exactly the number of items sent and stops the clock. Joining the
//! senders, checking that nothing more arrives, dropping the channel and deleting its
//! directory come after. hopper's own benchmark (`benches/stdlib_comparison.rs` in hopper
//! 0.4.2) timed channel creation and thread spawning too; leaving them out measures the flow
//! of items, which is what the channels differ in, and treats all four alike.
//!
//! Every iteration checks that it received exactly as many items as were sent and that
//! their sum is the sum sent; a contestant that loses, duplicates or damages an item panics
//! instead of reporting a number.
//!
//! # Groups (4 senders, `u64` items numbered `0..total`)
//!
//! hopper's shapes, and a larger one. "Capacity" is the number of items a channel holds in
//! memory; it is the same for all four contestants in a group.
//!
//! - `hopper/8192-in-memory`: 8,192 items (2,048 per sender), capacity 8,192 — everything
//!   fits, nobody blocks or spills.
//! - `hopper/8192-spilling`: 8,192 items, capacity 4,096 (hopper's `in_memory_total =
//!   2 << 11`). The two hoppers spill to disk when memory is full; `sync_channel` and
//!   crossbeam block their senders instead. So this compares spilling with backpressure,
//!   not like with like: what it shows is what spilling costs relative to waiting.
//! - `hopper/1M-in-memory`: 1,000,000 items (250,000 per sender), capacity 1,000,000 for
//!   every contestant. A smaller capacity would not give an in-memory comparison: the
//!   hoppers spill where the others block.
//! - `hopper/1M-spilling`: 1,000,000 items, capacity 8,192: the hoppers spill most items,
//!   the others run under backpressure.
//!
//! Capacity in items is set per contestant as follows:
//!
//! - `reclaim-hopper` bounds memory in bytes and charges an item [`slot_bytes`]`::<u64>()`
//!   plus, by default, its encoded length. With [`Accounting::Shallow`] the charge is
//!   exactly `slot_bytes::<u64>()`, so `memory_bytes(capacity × slot_bytes::<u64>())`
//!   holds exactly `capacity` items (the markers that announce spilled records take a slot
//!   each, as hopper 0.4's do). With shallow accounting and these bounds (all under
//!   64 MiB) its memory queue is the ring flavour, an array for the whole bound like
//!   `sync_channel`'s (see `crates/hopper/src/queue/`).
//! - `hopper04` counts `size_of::<T>()` per item: `max_memory_bytes = capacity × 8`.
//! - Both hoppers get segment files of `(2 << 14) × 8` bytes = 256 KiB, as in hopper's
//!   benchmark, and no limit on their number. hopper 0.4 raises that size to 1 MiB; ours
//!   honours it.
//!
//! hopper 0.4's defects are worked around, not measured: an item it spilled may stay
//! invisible to the receiver until a sender calls `flush`, and its iterator never ends. So
//! its senders retry a `send` that returns `Full` and, after their last item, call `flush`
//! until it succeeds; its receiver takes exactly `total` items. Ours needs neither, but its
//! senders retry on `Full` the same way (it is not expected: the disk is unbounded here).
//! Any other send error panics.
//!
//! # `hopper/spill-1KiB`
//!
//! One sender thread and the receiver push 64 MiB through `reclaim-hopper` with
//! `memory_bytes(0)`, so every item is spilled — encoded into a block, which is
//! checksummed and written unless the receiver takes it from memory before it is full —
//! in items of 1 KiB
//! (`serde_bytes::ByteBuf`, whose encoding is a length and a copy of the bytes). Segment
//! files are the default 256 MiB, so no file is deleted inside the timed region. The
//! sender thread builds its items before the clock starts; the receiver checks each one's
//! length and sequence number.
//!
//! Beside it, `buffered-write`: the same 65,536 chunks of 1 KiB written through a
//! `BufWriter<File>` of default capacity to a new file in a temporary directory, then
//! flushed (no fsync, like ours). The target is ours at ≥ 0.8× this rate
//! (`docs/channel.md` quotes what it reaches). The baseline only writes: the target is
//! stated against "a plain buffered file write of the same bytes", although ours also
//! checksums, reads back (from the file, or from memory when the receiver keeps up) and
//! decodes.
//!
//! # Running and reading
//!
//! `cargo bench --bench hopper`, or one shape with a filter: `cargo bench --bench hopper --
//! 8192` (both small shapes), `-- 1M-spilling`, `-- spill-1KiB`. Samples: 10 per benchmark,
//! 1 s warm-up, 3 s measurement, which `--warm-up-time` / `--measurement-time` override.
//! The 1M and spill groups use flat sampling (the same number of iterations in every
//! sample), so a contestant whose single iteration outlasts the measurement time still
//! takes 10 iterations, not the 55 of linear sampling; criterion then warns that it could
//! not finish in time, which is expected.
//!
//! The report lands in `target/criterion/report/index.html`, one page per group with the
//! contestants' violin plots side by side. Throughput is in items per second (bytes per
//! second for the spill group); ours over a contestant's throughput above 1 means ours is
//! faster. Compare within a group only: the capacity differs between groups.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::mem::size_of;
use std::ops::Range;
use std::sync::Barrier;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use reclaim_hopper::{Accounting, RecvError, slot_bytes};
use serde_bytes::ByteBuf;
use tempfile::TempDir;

/// Sender threads in the `u64` groups.
const SENDERS: usize = 4;

/// Segment file size for both hoppers: hopper's `max_disk_total = 2 << 14` items of `u64`.
const DISK_FILE_BYTES: usize = (2 << 14) * size_of::<u64>();

/// One `u64` group: how many items each sender sends, how many the channel holds in memory.
struct Shape {
    group: &'static str,
    per_sender: usize,
    capacity: usize,
    /// Flat sampling, for iterations long enough that linear sampling would take minutes.
    flat: bool,
}

const SHAPES: [Shape; 4] = [
    Shape {
        group: "hopper/8192-in-memory",
        per_sender: 2_048,
        capacity: 8_192,
        flat: false,
    },
    Shape {
        group: "hopper/8192-spilling",
        per_sender: 2_048,
        capacity: 4_096,
        flat: false,
    },
    Shape {
        group: "hopper/1M-in-memory",
        per_sender: 250_000,
        capacity: 1_000_000,
        flat: true,
    },
    Shape {
        group: "hopper/1M-spilling",
        per_sender: 250_000,
        capacity: 8_192,
        flat: true,
    },
];

impl Shape {
    fn total(&self) -> usize {
        SENDERS * self.per_sender
    }
}

#[derive(Clone, Copy)]
enum Contestant {
    Ours,
    SyncChannel,
    Crossbeam,
    Hopper04,
}

const CONTESTANTS: [Contestant; 4] = [
    Contestant::Ours,
    Contestant::SyncChannel,
    Contestant::Crossbeam,
    Contestant::Hopper04,
];

impl Contestant {
    fn name(self) -> &'static str {
        match self {
            Contestant::Ours => "reclaim-hopper",
            Contestant::SyncChannel => "sync_channel",
            Contestant::Crossbeam => "crossbeam",
            Contestant::Hopper04 => "hopper04",
        }
    }

    /// One timed iteration.
    fn run(self, shape: &Shape) -> Duration {
        match self {
            Contestant::Ours => ours(shape),
            Contestant::SyncChannel => sync_channel(shape),
            Contestant::Crossbeam => crossbeam(shape),
            Contestant::Hopper04 => hopper04(shape),
        }
    }
}

/// The values sender `index` sends: its share of `0..total`.
fn values(index: usize, per_sender: usize) -> Range<u64> {
    let start = (index * per_sender) as u64;
    start..start + per_sender as u64
}

/// `0 + 1 + … + (total - 1)`.
fn expected_sum(total: usize) -> u64 {
    let total = total as u64;
    total * total.saturating_sub(1) / 2
}

/// `SENDERS` handles: clones of `tx`, and `tx` itself last.
fn fan_out<S: Clone>(tx: S) -> Vec<S> {
    let mut senders = Vec::with_capacity(SENDERS);
    for _ in 1..SENDERS {
        senders.push(tx.clone());
    }
    senders.push(tx);
    senders
}

/// Runs `send_all` on one thread per sender and `receive` on this one, timing from the
/// barrier that releases them all to `receive` returning. `receive` gets the number of
/// items to take and returns their sum, which is checked here.
fn race<S: Send>(
    name: &str,
    senders: Vec<S>,
    per_sender: usize,
    send_all: impl Fn(S, Range<u64>) + Sync,
    receive: impl FnOnce(usize) -> u64,
) -> Duration {
    let total = senders.len() * per_sender;
    let barrier = Barrier::new(senders.len() + 1);
    thread::scope(|scope| {
        for (index, tx) in senders.into_iter().enumerate() {
            let (barrier, send_all) = (&barrier, &send_all);
            scope.spawn(move || {
                barrier.wait();
                send_all(tx, values(index, per_sender));
            });
        }
        barrier.wait();
        let start = Instant::now();
        let sum = receive(total);
        let elapsed = start.elapsed();
        assert_eq!(
            sum,
            expected_sum(total),
            "{name}: the {total} items received do not add up to what was sent"
        );
        elapsed
    })
}

fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("hopper-bench")
        .tempdir()
        .expect("cannot create a temporary directory")
}

fn ours(shape: &Shape) -> Duration {
    let name = Contestant::Ours.name();
    let dir = tempdir();
    let (tx, mut rx) = reclaim_hopper::Builder::<u64>::new()
        .memory_bytes(shape.capacity * slot_bytes::<u64>())
        .disk_file_bytes(DISK_FILE_BYTES)
        .accounting(Accounting::Shallow)
        .build("bench", dir.path())
        .unwrap_or_else(|e| panic!("{name}: cannot create the channel: {e}"));
    let elapsed = race(
        name,
        fan_out(tx),
        shape.per_sender,
        |mut tx, values| {
            for value in values {
                send_ours(&mut tx, value);
            }
        },
        |total| {
            let mut sum = 0;
            for received in 0..total {
                match rx.recv() {
                    Ok(value) => sum += value,
                    Err(e) => panic!("{name}: receive failed after {received} of {total}: {e}"),
                }
            }
            sum
        },
    );
    match rx.recv() {
        Err(RecvError::Disconnected) => {}
        Ok(value) => panic!("{name}: an extra item {value} after all were received"),
        Err(e) => panic!("{name}: {e}"),
    }
    elapsed
}

/// Sends through our channel, retrying while memory and disk are full.
fn send_ours<T>(tx: &mut reclaim_hopper::Sender<T>, mut item: T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send,
{
    loop {
        match tx.send(item) {
            Ok(()) => return,
            Err((back, reclaim_hopper::Error::Full)) => {
                item = back;
                thread::yield_now();
            }
            Err((_, e)) => panic!("reclaim-hopper: send failed: {e}"),
        }
    }
}

/// `std::sync::mpsc::sync_channel` and `crossbeam_channel::bounded` have the same API
/// shape; one body serves both.
macro_rules! blocking_contestant {
    ($run:ident, $contestant:expr, $bounded:expr, $disconnected:path) => {
        fn $run(shape: &Shape) -> Duration {
            let name = $contestant.name();
            let (tx, rx) = $bounded(shape.capacity);
            let elapsed = race(
                name,
                fan_out(tx),
                shape.per_sender,
                |tx, values| {
                    for value in values {
                        tx.send(value)
                            .unwrap_or_else(|_| panic!("{name}: the receiver is gone"));
                    }
                },
                |total| {
                    let mut sum = 0;
                    for received in 0..total {
                        match rx.recv() {
                            Ok(value) => sum += value,
                            Err(e) => {
                                panic!("{name}: receive failed after {received} of {total}: {e}")
                            }
                        }
                    }
                    sum
                },
            );
            assert_eq!(
                rx.try_recv(),
                Err($disconnected),
                "{name}: items left after all were received"
            );
            elapsed
        }
    };
}

blocking_contestant!(
    sync_channel,
    Contestant::SyncChannel,
    mpsc::sync_channel::<u64>,
    mpsc::TryRecvError::Disconnected
);
blocking_contestant!(
    crossbeam,
    Contestant::Crossbeam,
    crossbeam_channel::bounded::<u64>,
    crossbeam_channel::TryRecvError::Disconnected
);

fn hopper04(shape: &Shape) -> Duration {
    let name = Contestant::Hopper04.name();
    let dir = tempdir();
    let (tx, mut rx) = hopper04::channel_with_explicit_capacity::<u64>(
        "bench",
        dir.path(),
        shape.capacity * size_of::<u64>(),
        DISK_FILE_BYTES,
        usize::MAX,
    )
    .unwrap_or_else(|e| panic!("{name}: cannot create the channel: {e:?}"));
    race(
        name,
        fan_out(tx),
        shape.per_sender,
        |mut tx, values| {
            for mut value in values {
                loop {
                    match tx.send(value) {
                        Ok(()) => break,
                        Err((back, hopper04::Error::Full)) => {
                            value = back;
                            thread::yield_now();
                        }
                        Err((_, e)) => panic!("hopper04: send failed: {e:?}"),
                    }
                }
            }
            // Spilled items stay invisible to the receiver until a marker announces them.
            loop {
                match tx.flush() {
                    Ok(()) => break,
                    Err(hopper04::Error::NoFlush) => thread::yield_now(),
                    Err(e) => panic!("hopper04: flush failed: {e:?}"),
                }
            }
        },
        |total| {
            // Its iterator never ends, and `None` means a disk error.
            let mut items = rx.iter();
            let mut sum = 0;
            for received in 0..total {
                match items.next() {
                    Some(value) => sum += value,
                    None => panic!("{name}: receive failed after {received} of {total}"),
                }
            }
            sum
        },
    )
}

fn channels(c: &mut Criterion) {
    for shape in &SHAPES {
        let mut group = c.benchmark_group(shape.group);
        group.throughput(Throughput::Elements(shape.total() as u64));
        if shape.flat {
            group.sampling_mode(SamplingMode::Flat);
        }
        for contestant in CONTESTANTS {
            group.bench_function(contestant.name(), |b| {
                b.iter_custom(|iterations| (0..iterations).map(|_| contestant.run(shape)).sum())
            });
        }
        group.finish();
    }
}

/// Bytes per item in the spill group.
const CHUNK: usize = 1024;
/// Bytes per iteration in the spill group.
const SPILL_BYTES: usize = 64 << 20;
const CHUNKS: usize = SPILL_BYTES / CHUNK;

/// `CHUNKS` items of `CHUNK` bytes, each starting with its sequence number.
fn chunks() -> Vec<ByteBuf> {
    (0..CHUNKS)
        .map(|i| {
            let mut bytes = vec![i as u8; CHUNK];
            bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
            ByteBuf::from(bytes)
        })
        .collect()
}

fn spill_ours(chunks: &[ByteBuf]) -> Duration {
    let name = "reclaim-hopper";
    let dir = tempdir();
    let (mut tx, mut rx) = reclaim_hopper::Builder::<ByteBuf>::new()
        .memory_bytes(0)
        .build("spill", dir.path())
        .unwrap_or_else(|e| panic!("{name}: cannot create the channel: {e}"));
    let barrier = Barrier::new(2);
    let elapsed = thread::scope(|scope| {
        let barrier = &barrier;
        scope.spawn(move || {
            // Built by the thread that sends them, as a producer builds its items, so
            // that freeing them after encoding is a free to this thread's own heap.
            let items = chunks.to_vec();
            barrier.wait();
            for item in items {
                send_ours(&mut tx, item);
            }
        });
        barrier.wait();
        let start = Instant::now();
        for i in 0..CHUNKS {
            let item = match rx.recv() {
                Ok(item) => item,
                Err(e) => panic!("{name}: receive failed after {i} of {CHUNKS}: {e}"),
            };
            let mut seq = [0; 8];
            seq.copy_from_slice(&item[..8]);
            assert!(
                item.len() == CHUNK && u64::from_le_bytes(seq) == i as u64,
                "{name}: item {i} came back as another"
            );
        }
        start.elapsed()
    });
    match rx.recv() {
        Err(RecvError::Disconnected) => {}
        Ok(_) => panic!("{name}: an extra item after all were received"),
        Err(e) => panic!("{name}: {e}"),
    }
    elapsed
}

fn spill_baseline(chunks: &[ByteBuf]) -> Duration {
    let dir = tempdir();
    let file = File::create(dir.path().join("plain")).expect("buffered-write: cannot create");
    let mut out = BufWriter::new(file);
    let start = Instant::now();
    for chunk in chunks {
        out.write_all(black_box(chunk))
            .expect("buffered-write: write failed");
    }
    out.flush().expect("buffered-write: flush failed");
    let elapsed = start.elapsed();
    let written = out.get_ref().metadata().expect("metadata").len();
    assert_eq!(written, SPILL_BYTES as u64, "buffered-write: short file");
    elapsed
}

fn spill(c: &mut Criterion) {
    let chunks = chunks();
    let mut group = c.benchmark_group("hopper/spill-1KiB");
    group.throughput(Throughput::Bytes(SPILL_BYTES as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("reclaim-hopper", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| spill_ours(&chunks)).sum())
    });
    group.bench_function("buffered-write", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| spill_baseline(&chunks)).sum())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = channels, spill
}
criterion_main!(benches);
