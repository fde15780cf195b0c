//! The 1M in-memory shape of `benches/hopper.rs` outside criterion, with each thread's CPU
//! time: 4 senders × 250,000 `u64`s into a channel holding a million, the receiver summing.
//! `docs/channel.md` quotes it where it says where the channel's time goes.
//!
//! ```text
//! cargo run --release -p reclaim-hopper --example one_million -- [ROUNDS] [CONTESTANT...]
//! ```
//!
//! Contestants, run in alternation round by round (default: all three):
//! - `sync`: `std::sync::mpsc::sync_channel(1_000_000)`, received with `recv`;
//! - `recv`: `reclaim-hopper` with shallow accounting (its ring), received with `recv`;
//! - `try`: the same channel, received with `try_recv`, yielding on `Empty`.
//!
//! For each: the median, lowest and highest rate over the rounds (items over the
//! receiver's wall time, from the barrier to the last item), and the CPU time per item of
//! the receiver and of the senders together (`CLOCK_THREAD_CPUTIME_ID`), with the share of
//! the wall time the receiver was on a processor. Timings only; the sum of what arrived
//! is checked every round.

use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use reclaim_hopper::{Accounting, Builder, TryRecvError, slot_bytes};

const SENDERS: usize = 4;
const PER_SENDER: usize = 250_000;
const TOTAL: usize = SENDERS * PER_SENDER;

/// This thread's CPU time so far, in seconds.
fn thread_cpu() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable `timespec`; the clock id is a constant the
    // kernel knows. On failure `now` stays zero, which the caller would see as no time.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// One round's figures.
#[derive(Clone, Copy, Default)]
struct Round {
    wall: f64,
    receiver_cpu: f64,
    senders_cpu: f64,
}

/// Runs `send` on `SENDERS` threads (each with its handle and the values it sends) and
/// `receive` here, timing from the barrier that releases them all.
fn race<S: Send>(
    senders: Vec<S>,
    send: impl Fn(S, std::ops::Range<u64>) + Sync,
    receive: impl FnOnce() -> u64,
) -> Round {
    let barrier = Barrier::new(SENDERS + 1);
    thread::scope(|scope| {
        let handles: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(index, tx)| {
                let (barrier, send) = (&barrier, &send);
                scope.spawn(move || {
                    barrier.wait();
                    let start = thread_cpu();
                    let first = (index * PER_SENDER) as u64;
                    send(tx, first..first + PER_SENDER as u64);
                    thread_cpu() - start
                })
            })
            .collect();
        barrier.wait();
        let (start, cpu) = (Instant::now(), thread_cpu());
        let sum = receive();
        let round = Round {
            wall: start.elapsed().as_secs_f64(),
            receiver_cpu: thread_cpu() - cpu,
            senders_cpu: handles.into_iter().map(|h| h.join().unwrap()).sum(),
        };
        let total = TOTAL as u64;
        assert_eq!(sum, total * (total - 1) / 2, "items lost or damaged");
        round
    })
}

fn sync_channel() -> Round {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(TOTAL);
    race(
        vec![tx; SENDERS],
        |tx, values| values.for_each(|v| tx.send(v).unwrap()),
        || (0..TOTAL).map(|_| rx.recv().unwrap()).sum(),
    )
}

fn ours(try_recv: bool) -> Round {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (tx, mut rx) = Builder::<u64>::new()
        .memory_bytes(TOTAL * slot_bytes::<u64>())
        .accounting(Accounting::Shallow)
        .build("one-million", dir.path())
        .expect("the channel");
    race(
        vec![tx; SENDERS],
        |mut tx, values| {
            for v in values {
                tx.send(v).map_err(|(_, e)| e).unwrap();
            }
        },
        || {
            let mut sum = 0;
            for _ in 0..TOTAL {
                sum += if try_recv {
                    loop {
                        match rx.try_recv() {
                            Ok(v) => break v,
                            Err(TryRecvError::Empty) => thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                } else {
                    rx.recv().unwrap()
                };
            }
            sum
        },
    )
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let rounds: usize = match args.peek().map(|a| a.parse()) {
        Some(Ok(n)) => {
            args.next();
            n
        }
        _ => 15,
    };
    if rounds == 0 {
        eprintln!("ROUNDS must be at least 1");
        std::process::exit(2);
    }
    let mut contestants: Vec<String> = args.collect();
    if contestants.is_empty() {
        contestants = ["sync", "recv", "try"].map(String::from).to_vec();
    }
    if let Some(bad) = contestants
        .iter()
        .find(|c| !["sync", "recv", "try"].contains(&c.as_str()))
    {
        eprintln!("unknown contestant {bad:?}: sync, recv or try");
        std::process::exit(2);
    }
    let mut results: Vec<Vec<Round>> = vec![Vec::new(); contestants.len()];
    for _ in 0..rounds {
        for (name, rounds) in contestants.iter().zip(&mut results) {
            rounds.push(match name.as_str() {
                "sync" => sync_channel(),
                "recv" => ours(false),
                _ => ours(true),
            });
        }
    }
    println!(
        "{SENDERS} senders x {PER_SENDER} u64, {rounds} rounds each, alternated; Melem/s over the receiver's wall time"
    );
    for (name, rounds) in contestants.iter().zip(&results) {
        let mut rates: Vec<f64> = rounds.iter().map(|r| TOTAL as f64 / r.wall / 1e6).collect();
        rates.sort_by(f64::total_cmp);
        let sum = |f: fn(&Round) -> f64| rounds.iter().map(f).sum::<f64>();
        let items = (TOTAL * rounds.len()) as f64;
        println!(
            "{name:5} median {:6.1}  min {:6.1}  max {:6.1}  | CPU ns/item: receiver {:5.2}, senders {:5.2}; receiver on a processor {:3.0}% of the time",
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            sum(|r| r.receiver_cpu) / items * 1e9,
            sum(|r| r.senders_cpu) / items * 1e9,
            sum(|r| r.receiver_cpu) / sum(|r| r.wall) * 100.0,
        );
    }
}
