//! Workloads, metrics and the runner behind `reclaim-bench run`.
//!
//! The harness turns a [`Selection`] into a [`Plan`] of rows (backend × workload × thread
//! count), runs each row's repeats ([`run`]) and returns result rows in the format of
//! `reclaim-results`. Nothing here knows a backend by name: backends come from the
//! registry as types, so every measured loop is monomorphized for its backend.
//!
//! How numbers are taken is documented where they are taken: `driver` (the measured
//! loops, the start barrier, the clock, the self-check), `sampler` (memory and garbage
//! over time), [`counters`] (perf events), `row` (median and spread over repeats).

pub mod counters;
mod driver;
pub mod metadata;
pub mod plan;
mod row;
mod rusage;
mod sampler;
pub mod settings;
pub mod workload;

pub use plan::{Plan, PlanError, Planned, Selection, Skipped, Target, plan, targets};
pub use settings::{Settings, Suite};
pub use workload::{Shape, Workload};

use reclaim_core::{Backend, Entry, Visitor};
use reclaim_results::Row;

use crate::driver::Params;
use crate::row::Measured;

/// Runs every repeat of one planned row and builds its result row. Never fails: a run
/// that could not take place or did not pass its check is an invalid row with the reason.
pub fn run(planned: &Planned, settings: &Settings) -> Row {
    match planned.target {
        Target::Backend(entry) => {
            let mut visitor = RunBackend {
                planned,
                entry,
                settings,
                row: None,
            };
            reclaim_registry::visit_all(&mut visitor);
            visitor.row.unwrap_or_else(|| {
                row::build(
                    planned,
                    "",
                    Err(format!("backend `{}` is not in the registry", entry.name)),
                )
            })
        }
        Target::Handoff(strategy) => workload::run_handoff(planned, strategy, settings),
    }
}

/// The measurement parameters of a backend repeat under `settings`.
fn params(settings: &Settings) -> Params {
    Params {
        duration: settings.duration,
        latency: settings.instrumented,
        sample_interval: settings.instrumented.then_some(settings.sample_interval),
        counters: settings.instrumented,
        max_in_flight: settings.max_in_flight,
    }
}

/// Finds the planned backend among the registry's types and runs it.
struct RunBackend<'a> {
    planned: &'a Planned,
    entry: Entry,
    settings: &'a Settings,
    row: Option<Row>,
}

impl Visitor for RunBackend<'_> {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        if entry.name != self.entry.name {
            return;
        }
        let repeats = match self.planned.shape {
            Some(shape) => {
                let params = params(self.settings);
                (0..self.settings.repeats)
                    .map(|_| driver::run_repeat::<B>(shape, &params).map(Measured::from))
                    .collect::<Result<Vec<_>, String>>()
            }
            None => Err(format!("{} does not drive backends", self.planned.workload)),
        };
        self.row = Some(row::build(self.planned, entry.info.settings, repeats));
    }
}
