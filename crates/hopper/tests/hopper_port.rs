//! hopper 0.4.2's own round-trip tests (`src/lib.rs`, `mod test`), run against this crate.
//!
//! The bodies are hopper's, verbatim apart from these changes:
//!
//! - the import: `reclaim_hopper::channel_with_explicit_capacity` instead of `super::`;
//!   the `extern crate quickcheck; extern crate tempdir;` lines are gone;
//! - `tempdir::TempDir::new("hopper")` (the `tempdir` crate is deprecated) is
//!   `tempfile::TempDir::new()`;
//! - quickcheck 1 instead of 0.6. quickcheck 0.6 generated a `usize` below the generator's
//!   size (`0..100`); quickcheck 1 generates one over the whole range, which would ask for
//!   channels of 10¹⁹ items. The `usize` arguments of the `inner` functions are therefore
//!   [`Small`], a `usize` in `0..size` as 0.6 made them, unwrapped on the first line of
//!   each `inner`; the test logic after that line is hopper's. (The `u64`s in `vals` now
//!   span their whole range too; the test only compares them as a multiset.);
//! - the 2,500-iteration loops of the two `explicit_*` tests take their count from the
//!   environment variable `RECLAIM_HOPPER_REPEATS` (default 2500). Their loop, which the
//!   two tests shared as copies, is hopper's, written once in `repeat_round_trip`: it
//!   stops once the counter *exceeds* the count, so it runs the round trip
//!   `RECLAIM_HOPPER_REPEATS + 1` times (2,501 by default, as hopper). The 1 ms sleep
//!   between iterations is kept: it adds about 3 s to each of the two tests;
//! - `cargo fmt` re-wrapped a few lines. Clippy's objections to hopper's style are
//!   allowed below rather than fixed, to keep the code hopper's.
//!
//! Not ported: `ingress_shedding`. It asserts that exactly 383,981 of 655,410 sends are
//! refused with `Full` — a count that hopper's own comment calls a "magic constant" which
//! "depends on compression level": it follows from the size of hopper's deflate-compressed
//! bincode records and its 1 MiB minimum file size, neither of which this crate has (it
//! writes uncompressed postcard records with a CRC and honours small file sizes). What the
//! test checks beyond the constant — sends refused with `Full` hand the item back and
//! everything accepted arrives in order — is covered by `tests/defects.rs` and
//! `tests/quickcheck.rs`.
//!
//! `multi_thread_concurrent_snd_and_rcv_round_trip` and
//! `single_sender_single_rcv_round_trip` generate `max_disk_files` in `0..100` and retry
//! every refused `send` forever, as hopper's did. With `max_disk_files` 0 (never spill)
//! and `max_memory_bytes` below one item's charge they hung on a first version of this
//! channel, which then accepted nothing; hopper holds at least one item in memory
//! whatever the bound, and so now does this channel when its memory is empty and the disk
//! cannot take the item (see the crate docs, "Bounds").
//!
//! hopper's iterator returned `None` when it found nothing *yet*; here it blocks while a
//! sender lives, so the `assert!(attempts < 10_000)` loops around `rcv.iter().next()`
//! never see `None` (every receive in these tests happens while a sender is alive) and
//! are kept as they are.

#![allow(
    clippy::collapsible_if,
    clippy::legacy_numeric_constants,
    clippy::len_zero,
    clippy::while_let_loop,
    reason = "hopper 0.4's test code, kept verbatim"
)]

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use reclaim_hopper::channel_with_explicit_capacity;
use std::{mem, thread};

/// A `usize` in `0..g.size()`, as quickcheck 0.6 generated `usize`s.
#[derive(Clone, Copy, Debug)]
struct Small(usize);

impl Arbitrary for Small {
    fn arbitrary(g: &mut Gen) -> Self {
        Small(usize::arbitrary(g) % g.size().max(1))
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink().map(Small))
    }
}

/// How many times the `explicit_*` tests repeat their round trip (hopper: 2,500).
fn repeats() -> usize {
    match std::env::var("RECLAIM_HOPPER_REPEATS") {
        Ok(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("RECLAIM_HOPPER_REPEATS={n:?} is not a count")),
        Err(_) => 2_500,
    }
}

/// The loop of the `explicit_*` tests, hopper's: `round_trip` must return true,
/// `repeats() + 1` times, 1 ms apart.
fn repeat_round_trip(mut round_trip: impl FnMut() -> bool) {
    let repeats = repeats();
    let mut loops = 0;
    loop {
        assert!(round_trip());
        loops += 1;
        if loops > repeats {
            break;
        }
        thread::sleep(::std::time::Duration::from_millis(1));
    }
}

fn round_trip_exp(
    in_memory_limit: usize,
    max_bytes: usize,
    max_disk_files: usize,
    total_elems: usize,
) -> bool {
    if let Ok(dir) = tempfile::TempDir::new() {
        if let Ok((mut snd, mut rcv)) = channel_with_explicit_capacity(
            "round_trip_order_preserved",
            dir.path(),
            in_memory_limit,
            max_bytes,
            max_disk_files,
        ) {
            for i in 0..total_elems {
                loop {
                    if snd.send(i).is_ok() {
                        break;
                    }
                }
            }
            // clear space for one more element
            let mut attempts = 0;
            loop {
                match rcv.iter().next() {
                    None => {
                        attempts += 1;
                        assert!(attempts < 10_000);
                    }
                    Some(res) => {
                        assert_eq!(res, 0);
                        break;
                    }
                }
            }
            // flush any disk writes
            loop {
                if snd.flush().is_ok() {
                    break;
                }
            }
            // pull the rest of the elements
            for i in 1..total_elems {
                let mut attempts = 0;
                loop {
                    match rcv.iter().next() {
                        None => {
                            attempts += 1;
                            assert!(attempts < 10_000);
                        }
                        Some(res) => {
                            assert_eq!(res, i);
                            break;
                        }
                    }
                }
            }
        }
    }
    true
}

#[test]
fn round_trip() {
    fn inner(in_memory_limit: Small, max_bytes: Small, total_elems: Small) -> TestResult {
        let (in_memory_limit, max_bytes, total_elems) =
            (in_memory_limit.0, max_bytes.0, total_elems.0);
        let sz = mem::size_of::<u64>();
        if (in_memory_limit / sz) == 0 || (max_bytes / sz) == 0 || total_elems == 0 {
            return TestResult::discard();
        }
        let max_disk_files = usize::max_value();
        TestResult::from_bool(round_trip_exp(
            in_memory_limit,
            max_bytes,
            max_disk_files,
            total_elems,
        ))
    }
    QuickCheck::new().quickcheck(inner as fn(Small, Small, Small) -> TestResult);
}

fn multi_thread_concurrent_snd_and_rcv_round_trip_exp(
    total_senders: usize,
    in_memory_bytes: usize,
    disk_bytes: usize,
    max_disk_files: usize,
    vals: Vec<u64>,
) -> bool {
    if let Ok(dir) = tempfile::TempDir::new() {
        if let Ok((snd, mut rcv)) = channel_with_explicit_capacity(
            "tst",
            dir.path(),
            in_memory_bytes,
            disk_bytes,
            max_disk_files,
        ) {
            let chunk_size = vals.len() / total_senders;

            let mut snd_jh = Vec::new();
            let snd_vals = vals.clone();
            for chunk in snd_vals.chunks(chunk_size) {
                let mut thr_snd = snd.clone();
                let chunk = chunk.to_vec();
                snd_jh.push(thread::spawn(move || {
                    let mut queued = Vec::new();
                    for mut ev in chunk {
                        loop {
                            match thr_snd.send(ev) {
                                Err(res) => {
                                    ev = res.0;
                                }
                                Ok(()) => {
                                    break;
                                }
                            }
                        }
                        queued.push(ev);
                    }
                    let mut attempts = 0;
                    loop {
                        if thr_snd.flush().is_ok() {
                            break;
                        }
                        thread::sleep(::std::time::Duration::from_millis(100));
                        attempts += 1;
                        assert!(attempts < 10);
                    }
                    queued
                }))
            }

            let expected_total_vals = vals.len();
            let rcv_jh = thread::spawn(move || {
                let mut collected = Vec::new();
                let mut rcv_iter = rcv.iter();
                while collected.len() < expected_total_vals {
                    let mut attempts = 0;
                    loop {
                        match rcv_iter.next() {
                            None => {
                                attempts += 1;
                                assert!(attempts < 10_000);
                            }
                            Some(res) => {
                                collected.push(res);
                                break;
                            }
                        }
                    }
                }
                collected
            });

            let mut snd_vals: Vec<u64> = Vec::new();
            for jh in snd_jh {
                snd_vals.append(&mut jh.join().expect("snd join failed"));
            }
            let mut rcv_vals = rcv_jh.join().expect("rcv join failed");

            rcv_vals.sort();
            snd_vals.sort();

            assert_eq!(rcv_vals, snd_vals);
        }
    }
    true
}

#[test]
fn explicit_multi_thread_concurrent_snd_and_rcv_round_trip() {
    let total_senders = 10;
    let in_memory_bytes = 50;
    let disk_bytes = 10;
    let max_disk_files = 100;
    let vals = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    repeat_round_trip(|| {
        multi_thread_concurrent_snd_and_rcv_round_trip_exp(
            total_senders,
            in_memory_bytes,
            disk_bytes,
            max_disk_files,
            vals.clone(),
        )
    });
}

#[test]
fn multi_thread_concurrent_snd_and_rcv_round_trip() {
    fn inner(
        total_senders: Small,
        in_memory_bytes: Small,
        disk_bytes: Small,
        max_disk_files: Small,
        vals: Vec<u64>,
    ) -> TestResult {
        let (total_senders, in_memory_bytes, disk_bytes, max_disk_files) = (
            total_senders.0,
            in_memory_bytes.0,
            disk_bytes.0,
            max_disk_files.0,
        );
        let sz = mem::size_of::<u64>();
        if total_senders == 0
            || total_senders > 10
            || vals.len() == 0
            || (vals.len() < total_senders)
            || (in_memory_bytes / sz) == 0
            || (disk_bytes / sz) == 0
        {
            return TestResult::discard();
        }
        TestResult::from_bool(multi_thread_concurrent_snd_and_rcv_round_trip_exp(
            total_senders,
            in_memory_bytes,
            disk_bytes,
            max_disk_files,
            vals,
        ))
    }
    QuickCheck::new().quickcheck(inner as fn(Small, Small, Small, Small, Vec<u64>) -> TestResult);
}

fn single_sender_single_rcv_round_trip_exp(
    in_memory_bytes: usize,
    disk_bytes: usize,
    max_disk_files: usize,
    total_vals: usize,
) -> bool {
    if let Ok(dir) = tempfile::TempDir::new() {
        if let Ok((mut snd, mut rcv)) = channel_with_explicit_capacity(
            "tst",
            dir.path(),
            in_memory_bytes,
            disk_bytes,
            max_disk_files,
        ) {
            let builder = thread::Builder::new();
            if let Ok(snd_jh) = builder.spawn(move || {
                for i in 0..total_vals {
                    loop {
                        if snd.send(i).is_ok() {
                            break;
                        }
                    }
                }
                let mut attempts = 0;
                loop {
                    if snd.flush().is_ok() {
                        break;
                    }
                    thread::sleep(::std::time::Duration::from_millis(100));
                    attempts += 1;
                    assert!(attempts < 10);
                }
            }) {
                let builder = thread::Builder::new();
                if let Ok(rcv_jh) = builder.spawn(move || {
                    let mut rcv_iter = rcv.iter();
                    let mut cur = 0;
                    while cur != total_vals {
                        let mut attempts = 0;
                        loop {
                            if let Some(rcvd) = rcv_iter.next() {
                                debug_assert_eq!(
                                    cur, rcvd,
                                    "FAILED TO GET ALL IN ORDER: {:?}",
                                    rcvd,
                                );
                                cur += 1;
                                break;
                            } else {
                                attempts += 1;
                                assert!(attempts < 10_000);
                            }
                        }
                    }
                }) {
                    snd_jh.join().expect("snd join failed");
                    rcv_jh.join().expect("rcv join failed");
                }
            }
        }
    }
    true
}

#[test]
fn explicit_single_sender_single_rcv_round_trip() {
    repeat_round_trip(|| single_sender_single_rcv_round_trip_exp(8, 8, 5, 10));
}

#[test]
fn single_sender_single_rcv_round_trip() {
    // Similar to the multi sender test except now with a single sender we
    // can guarantee order.
    fn inner(
        in_memory_bytes: Small,
        disk_bytes: Small,
        max_disk_files: Small,
        total_vals: Small,
    ) -> TestResult {
        let (in_memory_bytes, disk_bytes, max_disk_files, total_vals) = (
            in_memory_bytes.0,
            disk_bytes.0,
            max_disk_files.0,
            total_vals.0,
        );
        let sz = mem::size_of::<u64>();
        if total_vals == 0 || (in_memory_bytes / sz) == 0 || (disk_bytes / sz) == 0 {
            return TestResult::discard();
        }
        TestResult::from_bool(single_sender_single_rcv_round_trip_exp(
            in_memory_bytes,
            disk_bytes,
            max_disk_files,
            total_vals,
        ))
    }
    QuickCheck::new().quickcheck(inner as fn(Small, Small, Small, Small) -> TestResult);
}
