//! Round trips in hopper's QuickCheck tradition, with bounds small enough that every
//! generated case spills to disk, and segment files small enough (16 B to 4 KiB) that
//! most cases rotate through several.
//!
//! - `one_sender_delivers_everything_in_order`: `u64`s from one sender arrive in order,
//!   none missing, none extra.
//! - `concurrent_senders_deliver_everything_in_each_senders_order`: 2–6 sender threads
//!   and a receiver thread; each item encodes its sender and sequence number, so the
//!   receiver checks every sender's order as it goes, and at the end the multiset received
//!   equals the multiset sent.
//! - `items_of_any_size_arrive_in_order`: `Vec<u8>` items of 0–2,999 bytes under the
//!   default accounting (`Accounting::Encoded`, which [`Builder::new`] sets): small items
//!   fit in memory, large ones do not, so memory and disk interleave within one stream.
//!
//! The single-threaded tests receive on the sender's thread, following a generated
//! [`Schedule`]: now and then, a few items at a time, so that later items enter memory
//! while earlier ones still wait on disk — the case where order is easiest to lose.
//!
//! Every case is generated so that it must spill: before anything is received, the items
//! sent are charged more than the memory bound (each `u64` more than [`slot_bytes`], each
//! `Vec<u8>` more than `slot_bytes` plus its length). Each test asserts that segment files
//! (`*.spill`) exist at that point, so a channel that stopped spilling fails rather than
//! passing trivially.
//!
//! `disk_files` is unlimited or 1 to 4. With a limit, `send` returns `Error::Full` while
//! the files are in use; the tests assert the item came back and retry it while the
//! receiver takes items. Any other error fails the test, and so does, single-threaded, a
//! `Full` from a channel that has nothing to receive: nothing could ever free room (as
//! happened with `disk_files` 1 when a file read to its end was deleted only once the
//! receiver went on to a later record).
//!
//! No test can hang on a channel bug: single-threaded tests receive with `try_recv`, and
//! with `recv` only once the last sender is dropped; the threaded test panics after
//! [`STALL`] without progress. These deadlines are hang guards, not timing assertions: a
//! healthy case never comes near them.

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use reclaim_hopper::slot_bytes;
use reclaim_hopper::{Builder, Error, Receiver, RecvError, Sender, TryRecvError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt::Debug;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// How long a threaded test waits without any progress before declaring the channel stuck:
/// a hang guard, generous because qemu on a loaded host can starve a thread for seconds.
const STALL: Duration = Duration::from_secs(60);

/// The name of every test channel; its files are in `data_dir/NAME`.
const NAME: &str = "qc";

/// Channel bounds.
#[derive(Clone, Debug)]
struct Config {
    memory_bytes: usize,
    disk_file_bytes: usize,
    /// `usize::MAX` for no limit.
    disk_files: usize,
}

impl Config {
    const MIN_FILE_BYTES: usize = 16;
    const MAX_FILE_BYTES: usize = 4096;
    const MAX_FILES: usize = 4;

    /// `memory_bytes` in `0..=max_memory`; `disk_file_bytes` in 16..=4096, log-uniform so
    /// that files holding one record and files holding hundreds are both common;
    /// `disk_files` unlimited half the time, else in `1..=4`.
    fn generate(g: &mut Gen, max_memory: usize) -> Self {
        let base = Self::MIN_FILE_BYTES << (usize::arbitrary(g) % 9);
        let disk_file_bytes = (base + usize::arbitrary(g) % base).min(Self::MAX_FILE_BYTES);
        let disk_files = if bool::arbitrary(g) {
            usize::MAX
        } else {
            1 + usize::arbitrary(g) % Self::MAX_FILES
        };
        Config {
            memory_bytes: usize::arbitrary(g) % (max_memory + 1),
            disk_file_bytes,
            disk_files,
        }
    }

    /// Smaller bounds, each staying in its generated range.
    fn shrink(&self) -> Vec<Config> {
        let mut out: Vec<Config> = self
            .memory_bytes
            .shrink()
            .map(|memory_bytes| Config {
                memory_bytes,
                ..self.clone()
            })
            .collect();
        out.extend(
            self.disk_file_bytes
                .shrink()
                .filter(|&b| b >= Self::MIN_FILE_BYTES)
                .map(|disk_file_bytes| Config {
                    disk_file_bytes,
                    ..self.clone()
                }),
        );
        if self.disk_files != usize::MAX {
            out.extend(
                self.disk_files
                    .shrink()
                    .filter(|&f| f >= 1)
                    .map(|disk_files| Config {
                        disk_files,
                        ..self.clone()
                    }),
            );
        }
        out
    }

    fn build<T>(&self, data_dir: &Path) -> (Sender<T>, Receiver<T>)
    where
        T: Serialize + DeserializeOwned + Send,
    {
        Builder::<T>::new()
            .memory_bytes(self.memory_bytes)
            .disk_file_bytes(self.disk_file_bytes)
            .disk_files(self.disk_files)
            .build(NAME, data_dir)
            .expect("building the channel")
    }
}

/// The segment files in the channel's directory.
fn spill_files(data_dir: &Path) -> usize {
    fs::read_dir(data_dir.join(NAME))
        .expect("reading the channel directory")
        .filter(|e| {
            e.as_ref()
                .expect("reading a directory entry")
                .path()
                .extension()
                .is_some_and(|x| x == "spill")
        })
        .count()
}

/// When the single-threaded round trip receives, besides when `send` returns `Full`.
#[derive(Clone, Debug)]
struct Schedule {
    /// Receive after every `every`-th send (0: only when `send` returns `Full`).
    every: usize,
    /// Items to take each time (fewer if fewer are ready). Taking some but not all lets
    /// later items into memory while earlier ones wait on disk: the interleaving that
    /// order depends on.
    burst: usize,
}

impl Schedule {
    fn generate(g: &mut Gen) -> Self {
        Schedule {
            every: usize::arbitrary(g) % 9,
            burst: if bool::arbitrary(g) {
                usize::MAX
            } else {
                1 + usize::arbitrary(g) % 8
            },
        }
    }

    fn shrink(&self) -> Vec<Schedule> {
        let mut out: Vec<Schedule> = self
            .every
            .shrink()
            .map(|every| Schedule {
                every,
                ..self.clone()
            })
            .collect();
        out.extend(
            self.burst
                .shrink()
                .filter(|&b| b >= 1)
                .map(|burst| Schedule {
                    burst,
                    ..self.clone()
                }),
        );
        out
    }
}

/// Takes up to `burst` items that are ready now; returns how many.
fn receive_up_to<T>(rx: &mut Receiver<T>, burst: usize, take: &mut impl FnMut(T)) -> usize
where
    T: Serialize + DeserializeOwned + Send,
{
    let mut took = 0;
    while took < burst {
        match rx.try_recv() {
            Ok(item) => {
                take(item);
                took += 1;
            }
            Err(TryRecvError::Empty) => break,
            Err(e) => panic!("try_recv with the sender alive: {e:?}"),
        }
    }
    took
}

/// Sends `items` from one sender and receives them on the same thread, asserting that
/// they come back in order, complete and without extras.
///
/// Receives per `schedule`, but only once the first `overflow_at` items are sent (the
/// caller guarantees those overflow the memory bound, so they must have spilled), and
/// whenever `send` returns `Full`. Each receive on `Full` must find at least one item: a
/// channel that refuses an item while holding none is stuck for good, since nothing will
/// ever free room. Before the first receive it asserts that segment files exist.
fn one_sender_round_trip<T>(config: &Config, schedule: &Schedule, items: &[T], overflow_at: usize)
where
    T: Serialize + DeserializeOwned + Send + Clone + PartialEq + Debug,
{
    assert!(
        overflow_at <= items.len(),
        "the case does not overflow memory"
    );
    let data = tempfile::tempdir().expect("creating a temporary directory");
    let (mut tx, mut rx) = config.build::<T>(data.path());
    let mut received = 0;
    let mut take = |item: T| {
        assert!(
            received < items.len(),
            "received more items than were sent: {item:?}"
        );
        assert_eq!(item, items[received], "item {received} out of order");
        received += 1;
    };
    let mut checked_spill = false;
    let mut check_spill = || {
        if !checked_spill {
            assert!(
                spill_files(data.path()) > 0,
                "the memory bound was exceeded, yet nothing is on disk"
            );
            checked_spill = true;
        }
    };

    for (i, item) in items.iter().enumerate() {
        let mut item = item.clone();
        loop {
            match tx.send(item) {
                Ok(()) => break,
                Err((back, Error::Full)) => {
                    assert!(back == items[i], "send handed back a different item");
                    check_spill();
                    assert!(
                        receive_up_to(&mut rx, schedule.burst, &mut take) > 0,
                        "stuck: send refused with Full while the channel had nothing to receive"
                    );
                    item = back;
                }
                Err((_, e)) => panic!("send: {e:?}"),
            }
        }
        let sent = i + 1;
        if sent >= overflow_at {
            check_spill();
            if schedule.every != 0 && sent % schedule.every == 0 {
                receive_up_to(&mut rx, schedule.burst, &mut take);
            }
        }
    }
    drop(tx);
    loop {
        match rx.recv() {
            Ok(item) => take(item),
            Err(RecvError::Disconnected) => break,
            Err(e) => panic!("recv: {e:?}"),
        }
    }
    assert_eq!(received, items.len(), "items missing");
}

/// A channel config, a receive schedule and a number of `u64`s that overflows the memory
/// bound.
#[derive(Clone, Debug)]
struct OneSender {
    config: Config,
    schedule: Schedule,
    items: usize,
}

impl OneSender {
    /// Fewest items guaranteed to overflow `memory_bytes`: each is charged more than
    /// `slot_bytes`.
    fn min_items(config: &Config) -> usize {
        config.memory_bytes / slot_bytes::<u64>() + 1
    }

    fn valid(&self) -> bool {
        self.items >= Self::min_items(&self.config)
    }
}

impl Arbitrary for OneSender {
    fn arbitrary(g: &mut Gen) -> Self {
        let config = Config::generate(g, 300);
        let items = Self::min_items(&config) + usize::arbitrary(g) % (4 * g.size() + 1);
        OneSender {
            config,
            schedule: Schedule::generate(g),
            items,
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut out: Vec<OneSender> = Vec::new();
        out.extend(self.config.shrink().into_iter().map(|config| OneSender {
            config,
            ..self.clone()
        }));
        out.extend(
            self.schedule
                .shrink()
                .into_iter()
                .map(|schedule| OneSender {
                    schedule,
                    ..self.clone()
                }),
        );
        out.extend(self.items.shrink().map(|items| OneSender {
            items,
            ..self.clone()
        }));
        Box::new(out.into_iter().filter(OneSender::valid))
    }
}

#[test]
fn one_sender_delivers_everything_in_order() {
    fn prop(case: OneSender) -> TestResult {
        let items: Vec<u64> = (0..case.items as u64).collect();
        let overflow_at = OneSender::min_items(&case.config);
        check(&case, || {
            one_sender_round_trip(&case.config, &case.schedule, &items, overflow_at);
        })
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(OneSender) -> TestResult);
}

/// A channel config, a receive schedule and the item lengths of one stream, which
/// overflows the memory bound.
#[derive(Clone, Debug)]
struct Sizes {
    config: Config,
    schedule: Schedule,
    lengths: Vec<usize>,
}

impl Sizes {
    const MAX_LEN: usize = 2999;

    /// How many items must be sent before the memory bound is certainly exceeded (each
    /// is charged more than `slot_bytes` plus its length), if the stream gets there.
    fn overflow_at(&self) -> Option<usize> {
        let mut lower_bound = 0;
        for (i, len) in self.lengths.iter().enumerate() {
            lower_bound += slot_bytes::<Vec<u8>>() + len;
            if lower_bound > self.config.memory_bytes {
                return Some(i + 1);
            }
        }
        None
    }

    fn valid(&self) -> bool {
        self.overflow_at().is_some()
    }

    /// Item `i` of length `len`: bytes that differ between items, so a swapped or
    /// repeated item is caught, not only a wrong length.
    fn item(i: usize, len: usize) -> Vec<u8> {
        (0..len).map(|j| (i * 7 + j) as u8).collect()
    }
}

impl Arbitrary for Sizes {
    fn arbitrary(g: &mut Gen) -> Self {
        let config = Config::generate(g, 8192);
        let count = 1 + usize::arbitrary(g) % 24;
        let lengths = (0..count)
            .map(|_| usize::arbitrary(g) % (Self::MAX_LEN + 1))
            .collect();
        let mut case = Sizes {
            config,
            schedule: Schedule::generate(g),
            lengths,
        };
        // Too few or too small items for the memory bound: add large ones.
        while !case.valid() {
            case.lengths.push(Self::MAX_LEN);
        }
        case
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut out: Vec<Sizes> = Vec::new();
        out.extend(self.config.shrink().into_iter().map(|config| Sizes {
            config,
            ..self.clone()
        }));
        out.extend(self.schedule.shrink().into_iter().map(|schedule| Sizes {
            schedule,
            ..self.clone()
        }));
        let (config, schedule) = (self.config.clone(), self.schedule.clone());
        let streams = self.lengths.shrink().map(move |lengths| Sizes {
            config: config.clone(),
            schedule: schedule.clone(),
            lengths,
        });
        Box::new(out.into_iter().chain(streams).filter(Sizes::valid))
    }
}

#[test]
fn items_of_any_size_arrive_in_order() {
    fn prop(case: Sizes) -> TestResult {
        let items: Vec<Vec<u8>> = case
            .lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| Sizes::item(i, len))
            .collect();
        let overflow_at = case.overflow_at().expect("generated to overflow");
        check(&case, || {
            one_sender_round_trip(&case.config, &case.schedule, &items, overflow_at);
        })
    }
    QuickCheck::new()
        .tests(100)
        .quickcheck(prop as fn(Sizes) -> TestResult);
}

/// A channel config and how many items each of 2–6 senders sends, together more than
/// the memory bound holds.
#[derive(Clone, Debug)]
struct Senders {
    config: Config,
    counts: Vec<usize>,
}

impl Senders {
    const MIN_SENDERS: usize = 2;
    const MAX_SENDERS: usize = 6;

    fn overflows(&self) -> bool {
        self.counts.iter().sum::<usize>() > self.config.memory_bytes / slot_bytes::<u64>()
    }

    fn valid(&self) -> bool {
        (Self::MIN_SENDERS..=Self::MAX_SENDERS).contains(&self.counts.len()) && self.overflows()
    }
}

impl Arbitrary for Senders {
    fn arbitrary(g: &mut Gen) -> Self {
        let config = Config::generate(g, 300);
        let senders =
            Self::MIN_SENDERS + usize::arbitrary(g) % (Self::MAX_SENDERS - Self::MIN_SENDERS + 1);
        let mut counts: Vec<usize> = (0..senders)
            .map(|_| usize::arbitrary(g) % (2 * g.size() + 1))
            .collect();
        // Together more than the memory bound holds: each item is charged more than
        // `slot_bytes`.
        let min = config.memory_bytes / slot_bytes::<u64>() + 1;
        let sum: usize = counts.iter().sum();
        counts[0] += min.saturating_sub(sum);
        Senders { config, counts }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let counts = self.counts.clone();
        let configs = self.config.shrink().into_iter().map(move |config| Senders {
            config,
            counts: counts.clone(),
        });
        let config = self.config.clone();
        let loads = self.counts.shrink().map(move |counts| Senders {
            config: config.clone(),
            counts,
        });
        Box::new(configs.chain(loads).filter(Senders::valid))
    }
}

/// Sends `value`, retrying while the channel is full; panics on any other error, or if
/// the channel stays full for [`STALL`].
fn send_retrying(tx: &mut Sender<u64>, value: u64) {
    let mut item = value;
    let mut full_since: Option<Instant> = None;
    loop {
        match tx.send(item) {
            Ok(()) => return,
            Err((back, Error::Full)) => {
                assert_eq!(back, value, "send handed back a different item");
                let since = *full_since.get_or_insert_with(Instant::now);
                assert!(
                    since.elapsed() < STALL,
                    "stuck: send of {value:#x} refused with Full for {STALL:?}"
                );
                item = back;
                thread::yield_now();
            }
            Err((_, e)) => panic!("send of {value:#x}: {e:?}"),
        }
    }
}

/// Receives the items of `counts.len()` senders, asserting that each sender's items
/// arrive in its order without gaps; returns them and the receiver.
fn receive_all(
    mut rx: Receiver<u64>,
    data_dir: &Path,
    counts: &[usize],
) -> (Vec<u64>, Receiver<u64>) {
    let total: usize = counts.iter().sum();
    // Nothing is received before a segment file exists: with more items sent than the
    // memory bound holds, one must appear; until it does, the senders keep filling.
    let start = Instant::now();
    while spill_files(data_dir) == 0 {
        assert!(
            start.elapsed() < STALL,
            "{total} items exceed the memory bound, yet no segment file appeared in {STALL:?}"
        );
        thread::yield_now();
    }
    let mut next = vec![0u64; counts.len()];
    let mut received = Vec::with_capacity(total);
    let mut last_progress = Instant::now();
    while received.len() < total {
        match rx.try_recv() {
            Ok(value) => {
                let (sender, seq) = ((value >> 32) as usize, value & 0xffff_ffff);
                assert!(sender < counts.len(), "item {value:#x} from no sender");
                assert_eq!(
                    seq, next[sender],
                    "sender {sender}: item {seq} arrived when {} was due",
                    next[sender]
                );
                next[sender] += 1;
                received.push(value);
                last_progress = Instant::now();
            }
            Err(TryRecvError::Empty) => {
                assert!(
                    last_progress.elapsed() < STALL,
                    "stuck: {} of {total} items received, then nothing for {STALL:?}",
                    received.len()
                );
                thread::yield_now();
            }
            Err(e) => panic!("try_recv after {} of {total}: {e:?}", received.len()),
        }
    }
    (received, rx)
}

/// Runs `body`, turning a panic into a failure that names `case`. (quickcheck 1.1 names
/// a failing case only if one of its shrinks fails too, which a case that fails by
/// chance — or one already minimal — need not.)
fn check<C: Debug>(case: &C, body: impl FnOnce()) -> TestResult {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => TestResult::passed(),
        Err(p) => TestResult::error(format!("{case:?}: {}", panic_message(&*p))),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(not a string)")
}

/// Runs the senders of `case` on their threads and a receiver on another.
fn concurrent_round_trip(case: &Senders) {
    let data = tempfile::tempdir().expect("creating a temporary directory");
    let (tx, rx) = case.config.build::<u64>(data.path());

    let senders: Vec<_> = case
        .counts
        .iter()
        .enumerate()
        .map(|(id, &count)| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                let sent: Vec<u64> = (0..count as u64)
                    .map(|seq| ((id as u64) << 32) | seq)
                    .collect();
                for &value in &sent {
                    send_retrying(&mut tx, value);
                }
                sent
            })
        })
        .collect();
    drop(tx);

    let receiver = {
        let counts = case.counts.clone();
        let dir = data.path().to_path_buf();
        thread::spawn(move || receive_all(rx, &dir, &counts))
    };

    // A panic on one side makes the other fail too (a broken pipe, an early
    // disconnection): report every thread's message, the cause among them.
    let mut sent: Vec<u64> = Vec::new();
    let mut panics = Vec::new();
    for (id, handle) in senders.into_iter().enumerate() {
        match handle.join() {
            Ok(values) => sent.extend(values),
            Err(p) => panics.push(format!("sender {id}: {}", panic_message(&*p))),
        }
    }
    let received = match receiver.join() {
        Ok(received) => Some(received),
        Err(p) => {
            panics.push(format!("receiver: {}", panic_message(&*p)));
            None
        }
    };
    assert!(panics.is_empty(), "{}", panics.join("\n"));
    let (mut received, mut rx) = received.expect("no panic");

    // Every sender is gone: nothing more may come.
    match rx.try_recv() {
        Err(TryRecvError::Disconnected) => {}
        other => panic!("after every item and every sender: {other:?}"),
    }

    sent.sort_unstable();
    received.sort_unstable();
    assert_eq!(
        sent, received,
        "the multiset received differs from the one sent"
    );
}

#[test]
fn concurrent_senders_deliver_everything_in_each_senders_order() {
    fn prop(case: Senders) -> TestResult {
        check(&case, || concurrent_round_trip(&case))
    }
    QuickCheck::new()
        .tests(100)
        .quickcheck(prop as fn(Senders) -> TestResult);
}
