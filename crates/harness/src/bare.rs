//! The bare loop `run --overhead` holds the harness against: the same backend, threads
//! and amount of work, with nothing added — no checksum, no batches, no clock but each
//! thread's start and end, no sampler, no counters, no latency timing. What the harness
//! loses against it is everything the harness adds, always-on parts included.

use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use reclaim_core::{Backend, Config, Container, Handle};

use crate::error::RepeatError;
use crate::gate::Gate;
use crate::workload::Shape;

/// Runs `iterations` iterations per worker of `shape` — pair threads push and pop that
/// many times, producers push that many values, consumers pop them all — on a fresh
/// container of `B`, and returns the time from the first start to the last end.
///
/// # Errors
/// The container could not be built, a thread could not start, the shape has a stalled
/// thread (a bare loop has nothing to compare a stall with), or fewer values came out
/// than went in (the one check a bare loop keeps, outside the timed region).
pub(crate) fn run<B: Backend>(
    shape: Shape,
    iterations: u64,
    config: &Config,
) -> Result<Duration, RepeatError> {
    if shape.stalled > 0 {
        return Err(RepeatError::BareStall);
    }
    let container = B::Container::<u64>::new(config).map_err(RepeatError::Build)?;
    let gate = Gate::default();
    let to_pop = iterations * (shape.pairs + shape.producers) as u64;
    let popped = AtomicU64::new(0);
    let windows = thread::scope(|s| -> Result<Vec<(Instant, Instant)>, RepeatError> {
        let mut threads = Vec::with_capacity(shape.threads());
        for index in 0..shape.threads() {
            let (container, gate, popped) = (&container, &gate, &popped);
            let body = move || {
                let mut handle = container.handle();
                gate.wait();
                let start = Instant::now();
                let taken = if index < shape.pairs {
                    pairs(&mut handle, iterations)
                } else if index < shape.pairs + shape.producers {
                    produce(&mut handle, iterations);
                    0
                } else {
                    consume(&mut handle, popped, to_pop)
                };
                let end = Instant::now();
                popped.fetch_add(taken, Ordering::Relaxed);
                (start, end)
            };
            let spawned = thread::Builder::new()
                .name("reclaim-bare".into())
                .spawn_scoped(s, body)
                .map_err(|source| RepeatError::Spawn {
                    role: "bare-loop",
                    source,
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    gate.open();
                    return Err(e);
                }
            }
        }
        gate.open_for(shape.threads());
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .map_err(|_| RepeatError::Panicked { role: "bare-loop" })
            })
            .collect()
    })?;
    let out = popped.load(Ordering::Relaxed);
    if out < to_pop {
        return Err(RepeatError::BareLost {
            pushed: to_pop,
            popped: out,
        });
    }
    let first = windows.iter().map(|w| w.0).min();
    let last = windows.iter().map(|w| w.1).max();
    Ok(match (first, last) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    })
}

/// Pushes `value`, asking again while a bounded container is full.
#[inline]
fn push<H: Handle<u64>>(handle: &mut H, mut value: u64) {
    while let Err(back) = handle.push(value) {
        value = back;
        spin_loop();
    }
}

/// Push then pop, `iterations` times; how many pops found a value.
fn pairs<H: Handle<u64>>(handle: &mut H, iterations: u64) -> u64 {
    let mut taken = 0;
    for i in 0..iterations {
        push(handle, black_box(i));
        if black_box(handle.pop()).is_some() {
            taken += 1;
        }
    }
    taken
}

fn produce<H: Handle<u64>>(handle: &mut H, iterations: u64) {
    for i in 0..iterations {
        push(handle, black_box(i));
    }
}

/// Pops until every value pushed has been popped by some consumer: the shared count is
/// updated only when a pop finds nothing, so a busy consumer touches no shared line but
/// the container's. Returns what it took since its last update.
fn consume<H: Handle<u64>>(handle: &mut H, popped: &AtomicU64, to_pop: u64) -> u64 {
    let mut taken = 0;
    loop {
        if black_box(handle.pop()).is_some() {
            taken += 1;
            continue;
        }
        let all = popped.fetch_add(taken, Ordering::Relaxed) + taken;
        taken = 0;
        if all >= to_pop {
            return 0;
        }
        thread::yield_now();
    }
}
