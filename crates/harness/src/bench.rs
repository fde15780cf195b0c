//! The harness's driver for criterion benchmarks: the same worker loops, start gate and
//! self-check as a `run`, for a count of iterations instead of a duration and with no
//! instrumentation, so that a bench and a result row measure the same code.

use std::time::Duration;

use reclaim_core::{Backend, ConcurrentSet, Config};

use crate::driver::{self, Params, Stop};
use crate::error::RepeatError;
use crate::plan::SetRun;
use crate::workload::Shape;

/// Producers wait while this many values are in flight, as in a `run`.
const MAX_IN_FLIGHT: u64 = 1 << 16;

/// Runs `iterations` loop iterations per worker of `shape` on a fresh container of `B`:
/// each pair thread pushes and pops that many times, each producer pushes that many
/// values and the consumers pop them all. Returns the time from the first worker's
/// start to the last one's end; thread start-up, registration, the check and teardown
/// are outside it.
///
/// # Errors
/// The container could not be built, a thread could not start, or the run failed its
/// check (values lost, duplicated or corrupted, or the container reported a fault): a
/// backend that fails its own workload does not get a time ([`RepeatError::Check`]).
pub fn time_iterations<B: Backend>(shape: Shape, iterations: u64) -> Result<Duration, RepeatError> {
    timed(driver::run_repeat::<B>(shape, &params(iterations, None)))
}

/// Runs `iterations` operations of `run`'s mix on each of `threads` threads, on a fresh
/// set `S` prefilled to half of `run`'s key range (outside the timed region, as thread
/// start-up, the check and teardown are). Returns the time from the first worker's start
/// to the last one's end.
///
/// # Errors
/// The set could not be built, a thread could not start, or the run failed its check
/// (the inserts and removes do not add up to what the set holds at the end).
pub fn time_set_iterations<S: ConcurrentSet>(
    threads: usize,
    run: SetRun,
    iterations: u64,
) -> Result<Duration, RepeatError> {
    let shape = Shape {
        mixed: threads,
        ..Shape::default()
    };
    timed(driver::run_set_repeat::<S>(
        shape,
        &params(iterations, Some(run)),
    ))
}

/// A run of `iterations` per worker, uninstrumented.
fn params(iterations: u64, set: Option<SetRun>) -> Params {
    Params {
        stop: Stop::Iterations(iterations),
        latency: false,
        sample_interval: None,
        counters: false,
        max_in_flight: MAX_IN_FLIGHT,
        pin: false,
        config: Config::default(),
        set,
    }
}

/// The repeat's time if it passed its check.
fn timed(repeat: Result<driver::Repeat, RepeatError>) -> Result<Duration, RepeatError> {
    let repeat = repeat?;
    repeat
        .check
        .map(|()| repeat.elapsed)
        .map_err(RepeatError::Check)
}
