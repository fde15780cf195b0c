//! The harness's driver for criterion benchmarks: the same worker loops, start gate and
//! self-check as a `run`, for a count of iterations instead of a duration and with no
//! instrumentation, so that a bench and a result row measure the same code.

use std::time::Duration;

use reclaim_core::{Backend, Config};

use crate::driver::{self, Params, Stop};
use crate::error::RepeatError;
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
    let params = Params {
        stop: Stop::Iterations(iterations),
        latency: false,
        sample_interval: None,
        counters: false,
        max_in_flight: MAX_IN_FLIGHT,
        pin: false,
        config: Config::default(),
        set: None,
    };
    let repeat = driver::run_repeat::<B>(shape, &params)?;
    repeat
        .check
        .map(|()| repeat.elapsed)
        .map_err(RepeatError::Check)
}
