//! P producers and C consumers at once: no value lost, none duplicated, and (for FIFO
//! backends) each producer's values seen in the order it pushed them.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use reclaim_core::{Backend, Container, Handle};

use crate::{CheckResult, Sizes, build, config_for};

/// Capacity bounded backends get here: small enough that producers are refused often.
const CAPACITY: usize = 64;

/// A value that names its producer and its position in that producer's sequence.
pub(crate) fn encode(producer: usize, seq: u64) -> u64 {
    ((producer as u64) << 32) | seq
}

fn decode(value: u64) -> (usize, u64) {
    ((value >> 32) as usize, value & 0xffff_ffff)
}

/// Pushes `value`, waiting while a bounded container refuses it.
pub(crate) fn push_until_accepted<T>(handle: &mut impl Handle<T>, mut value: T) {
    loop {
        match handle.push(value) {
            Ok(()) => return,
            Err(back) => {
                value = back;
                thread::yield_now();
            }
        }
    }
}

/// How many consumers backend `B` is tested with.
pub(crate) fn consumers_for<B: Backend>(wanted: usize) -> usize {
    B::INFO
        .consumers
        .limit()
        .map_or(wanted, |limit| limit.min(wanted))
}

/// Runs `producers` threads each pushing `per_producer` values and `consumers` threads
/// popping until the producers are done and the container is seen empty. Returns what
/// each consumer popped, in the order it popped it.
///
/// A consumer stops on an empty pop only if it saw the producers finished *before* that
/// pop: every push has then completed, so for a linearizable container an empty pop means
/// every value is out. A lost value therefore shows up as missing, never as a hang.
pub(crate) fn run_prodcons<B: Backend>(
    producers: usize,
    consumers: usize,
    per_producer: u64,
) -> Result<Vec<Vec<u64>>, String> {
    let container = build::<B, u64>(&config_for::<B>(CAPACITY))?;
    let done = AtomicBool::new(false);
    let start = Barrier::new(producers + consumers);
    let logs = thread::scope(|s| {
        let consumer_threads: Vec<_> = (0..consumers)
            .map(|_| {
                s.spawn(|| {
                    let mut handle = container.handle();
                    let mut log = Vec::new();
                    start.wait();
                    loop {
                        let finished = done.load(Ordering::Acquire);
                        match handle.pop() {
                            Some(value) => log.push(value),
                            None if finished => break,
                            None => thread::yield_now(),
                        }
                    }
                    log
                })
            })
            .collect();
        thread::scope(|producers_scope| {
            for producer in 0..producers {
                let (container, start) = (&container, &start);
                producers_scope.spawn(move || {
                    let mut handle = container.handle();
                    start.wait();
                    for seq in 0..per_producer {
                        push_until_accepted(&mut handle, encode(producer, seq));
                    }
                });
            }
        });
        // Release: every push happened before a consumer reads `done == true`.
        done.store(true, Ordering::Release);
        consumer_threads
            .into_iter()
            .map(|t| {
                t.join()
                    .map_err(|_| "a consumer thread panicked".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    if let Some(failure) = container.failure() {
        return Err(format!("the container reported a failure: {failure}"));
    }
    Ok(logs)
}

/// Every value pushed by P producers is popped exactly once by C consumers (C = 1 where
/// the backend allows only one).
pub fn concurrent_multiset<B: Backend>() -> CheckResult {
    let sizes = Sizes::from_env();
    let consumers = consumers_for::<B>(sizes.consumers);
    let logs = run_prodcons::<B>(sizes.producers, consumers, sizes.per_producer)?;
    check_exactly_once(sizes.producers, sizes.per_producer, logs.iter().flatten())
}

/// Checks that `popped` holds each of `per_producer` values of each producer once.
pub(crate) fn check_exactly_once<'a>(
    producers: usize,
    per_producer: u64,
    popped: impl Iterator<Item = &'a u64>,
) -> CheckResult {
    let mut seen = vec![vec![0u32; per_producer as usize]; producers];
    for &value in popped {
        let (producer, seq) = decode(value);
        let slot = seen
            .get_mut(producer)
            .and_then(|s| s.get_mut(seq as usize))
            .ok_or_else(|| format!("popped {value:#x}, which no producer pushed"))?;
        *slot += 1;
    }
    let mut problems = Vec::new();
    for (producer, counts) in seen.iter().enumerate() {
        let lost = counts.iter().filter(|&&c| c == 0).count();
        let duplicated = counts.iter().filter(|&&c| c > 1).count();
        if lost + duplicated > 0 {
            let first = counts.iter().position(|&c| c != 1).unwrap_or_default();
            problems.push(format!(
                "producer {producer}: {lost} lost, {duplicated} popped more than once \
                 (first: seq {first}, popped {} times)",
                counts[first]
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Each consumer sees each producer's values in the order the producer pushed them
/// (FIFO and per-producer FIFO backends).
pub fn per_producer_order<B: Backend>() -> CheckResult {
    let sizes = Sizes::from_env();
    let consumers = consumers_for::<B>(sizes.consumers);
    let logs = run_prodcons::<B>(sizes.producers, consumers, sizes.per_producer)?;
    for (consumer, log) in logs.iter().enumerate() {
        let mut last: Vec<Option<u64>> = vec![None; sizes.producers];
        for &value in log {
            let (producer, seq) = decode(value);
            let Some(previous) = last.get_mut(producer) else {
                return Err(format!("popped {value:#x}, which no producer pushed"));
            };
            if let Some(before) = *previous
                && seq <= before
            {
                return Err(format!(
                    "consumer {consumer} saw producer {producer}'s value {seq} after {before}"
                ));
            }
            *previous = Some(seq);
        }
    }
    check_exactly_once(sizes.producers, sizes.per_producer, logs.iter().flatten())
}
