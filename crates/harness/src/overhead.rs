//! What `run --overhead` compares: one repeat of a row as the harness takes it, and the
//! same work as a bare loop, each for a count of iterations, so that their times compare
//! directly.

use std::time::Duration;

use reclaim_core::{Backend, Entry, Visitor};

use crate::error::RepeatError;
use crate::plan::{Planned, Target};
use crate::settings::Settings;
use crate::{bare, driver, params};

/// Which of the two to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    /// The harness's loops with its instrumentation as `settings` say (sampler, latency
    /// timing, counters; the counting allocator is the caller's to switch).
    Harness,
    /// Nothing added.
    Bare,
}

/// Runs `iterations` iterations per worker of `planned` with the `which` loop, and
/// returns the time from the first worker's start to the last one's end.
///
/// # Errors
/// `planned` is not a backend row, the run could not take place, or it failed its check
/// ([`RepeatError::Check`]: there is no row here to carry the verdict).
pub fn time(
    planned: &Planned,
    settings: &Settings,
    which: Loop,
    iterations: u64,
) -> Result<Duration, RepeatError> {
    let (Target::Backend(entry), Some(shape)) = (planned.target, planned.shape) else {
        return Err(RepeatError::NotTimed);
    };
    let mut visitor = Timed {
        entry,
        shape,
        settings,
        which,
        iterations,
        result: None,
    };
    reclaim_registry::visit_all(&mut visitor);
    visitor
        .result
        .unwrap_or(Err(RepeatError::NotRegistered(entry.name)))
}

struct Timed<'a> {
    entry: Entry,
    shape: crate::Shape,
    settings: &'a Settings,
    which: Loop,
    iterations: u64,
    result: Option<Result<Duration, RepeatError>>,
}

impl Visitor for Timed<'_> {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        if entry.name != self.entry.name {
            return;
        }
        let mut params = params(self.settings, None, None);
        params.stop = driver::Stop::Iterations(self.iterations);
        self.result = Some(match self.which {
            Loop::Harness => driver::run_repeat::<B>(self.shape, &params).and_then(|repeat| {
                repeat
                    .check
                    .map(|()| repeat.elapsed)
                    .map_err(RepeatError::Check)
            }),
            Loop::Bare => bare::run::<B>(self.shape, self.iterations, &params.config),
        });
    }
}
