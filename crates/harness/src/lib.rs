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
//!
//! Measuring one row from code, as `reclaim-bench run -b treiber-ebr -w pairs -t 1`
//! would, with a fixed amount of work instead of a duration:
//!
//! ```
//! use reclaim_harness::{Selection, Settings, plan};
//!
//! let mut settings = Settings::quick();
//! settings.iterations = Some(2_000); // per worker: the same work every repeat
//! settings.repeats = 1;
//! settings.pin = false;
//! let selection = Selection {
//!     backends: vec!["treiber-ebr".into()],
//!     workloads: vec!["pairs".into()],
//!     threads: Some(vec![1]),
//!     ..Selection::default()
//! };
//! let plan = plan(&selection, &reclaim_registry::entries(), &settings, 2).unwrap();
//! assert_eq!(plan.runs.len(), 1);
//! let row = reclaim_harness::run(&plan.runs[0], &settings);
//! // Every row checks itself: what went in came out, nothing freed twice.
//! assert!(row.valid, "{:?}", row.error);
//! assert!(row.ops_per_sec.unwrap().median > 0.0);
//! ```

mod bare;
mod batch;
pub mod bench;
pub mod counters;
mod driver;
mod error;
mod gate;
mod graph;
mod handoff;
pub mod metadata;
mod noise;
pub mod overhead;
mod placement;
pub mod plan;
pub mod rounds;
mod row;
mod rusage;
mod sampler;
pub mod settings;
pub mod workload;

pub use error::RepeatError;
pub use plan::{
    Plan, PlanError, Planned, PlannedTuning, Selection, Skipped, Target, TuningSweep,
    graph_strategies, plan, targets,
};
pub use settings::{Settings, SettingsError, Suite, UnknownSuite};
pub use workload::{Shape, ShapeError, UnknownWorkload, Workload};

use reclaim_core::{Backend, Entry, SetBackend, SetEntry, Visitor};
use reclaim_results::Row;

use crate::driver::Params;
use crate::row::Measured;

/// Runs every repeat of one planned row, back to back, and builds its result row. Never
/// fails: a run that could not take place or did not pass its check is an invalid row
/// with the reason. (A `run` command measures in paired rounds instead: [`rounds`].)
pub fn run(planned: &Planned, settings: &Settings) -> Row {
    let mut described = String::new();
    let repeats = (0..settings.repeats)
        .map(|_| {
            let (settings_text, measured) = measure(planned, settings);
            described = settings_text;
            measured
        })
        .collect::<Result<Vec<_>, RepeatError>>();
    row::build(planned, &described, repeats.as_deref())
}

/// One repeat of `planned`, as JSON for the process that asked for it: how `run
/// --isolate` runs every repeat in a fresh process ([`rounds::Isolate`]).
pub fn repeat_json(planned: &Planned, settings: &Settings) -> String {
    let (described, measured) = measure(planned, settings);
    // The error crosses the process boundary as its text, causes included.
    let measured = measured.map_err(|e| reclaim_core::error_chain(&e));
    serde_json::to_string(&(&described, &measured)).unwrap_or_else(|e| {
        // A number that JSON cannot hold (a NaN throughput) is a failed repeat, said so.
        serde_json::to_string(&(described, Err::<(), _>(format!("unwritable result: {e}"))))
            .unwrap_or_default()
    })
}

/// One repeat of `planned`: the scheme's settings in words, and what the repeat measured
/// (or why it could not take place).
pub(crate) fn measure(
    planned: &Planned,
    settings: &Settings,
) -> (String, Result<Measured, RepeatError>) {
    match planned.target {
        Target::Backend(Entry { name, info }) => (
            describe(info.settings, planned.tuning),
            measure_registered(planned, name, settings),
        ),
        Target::Set(SetEntry { name, info }) => (
            describe(info.settings, planned.tuning),
            measure_registered(planned, name, settings),
        ),
        Target::Handoff(strategy) => (
            handoff::describe(settings),
            handoff::measure(strategy, settings),
        ),
        Target::Graph(info) => (
            graph::describe(&info, planned.workload, settings),
            graph::measure(info, planned.workload, planned.threads, settings),
        ),
    }
}

/// A scheme's settings in words, with the knob the run set, if any, after them.
fn describe(settings: &str, tuning: Option<PlannedTuning>) -> String {
    match tuning {
        None => settings.to_string(),
        Some(tuning) => format!("{settings}; set for this row: {tuning}"),
    }
}

/// The measurement parameters of a backend or set repeat under `settings`, with the
/// scheme's knob set to `tuning`.
fn params(settings: &Settings, set: Option<plan::SetRun>, tuning: Option<PlannedTuning>) -> Params {
    Params {
        stop: match settings.iterations {
            Some(n) => driver::Stop::Iterations(n),
            None => driver::Stop::After(settings.duration),
        },
        latency: settings.instrumented,
        sample_interval: settings.instrumented.then_some(settings.sample_interval),
        counters: settings.instrumented,
        max_in_flight: settings.max_in_flight,
        pin: settings.pin,
        config: {
            let mut config = match &settings.scratch {
                Some(dir) => reclaim_core::Config::default().with_scratch(dir),
                None => reclaim_core::Config::default(),
            };
            config.scheme_setting = tuning.map(|t| reclaim_core::SchemeSetting {
                key: t.key.to_owned(),
                value: t.value,
            });
            config
        },
        set,
    }
}

/// One repeat of the registered backend or set `name`, found among the registry's types.
fn measure_registered(
    planned: &Planned,
    name: &'static str,
    settings: &Settings,
) -> Result<Measured, RepeatError> {
    let mut visitor = MeasureRegistered {
        planned,
        name,
        settings,
        measured: None,
    };
    reclaim_registry::visit_all(&mut visitor);
    visitor
        .measured
        .unwrap_or(Err(RepeatError::NotRegistered(name)))
}

/// Finds the planned backend or set among the registry's types and runs one repeat of it.
struct MeasureRegistered<'a> {
    planned: &'a Planned,
    name: &'static str,
    settings: &'a Settings,
    measured: Option<Result<Measured, RepeatError>>,
}

impl Visitor for MeasureRegistered<'_> {
    fn visit<B: Backend>(&mut self, entry: Entry) {
        if entry.name != self.name {
            return;
        }
        self.measured = Some(match self.planned.shape {
            Some(shape) => driver::run_repeat::<B>(
                shape,
                &params(self.settings, self.planned.set, self.planned.tuning),
            )
            .map(Measured::from),
            None => Err(RepeatError::NotABackendWorkload(self.planned.workload)),
        });
    }

    fn visit_set<B: SetBackend>(&mut self, entry: SetEntry) {
        if entry.name != self.name {
            return;
        }
        self.measured = Some(match self.planned.shape {
            Some(shape) => driver::run_set_repeat::<B::Set>(
                shape,
                &params(self.settings, self.planned.set, self.planned.tuning),
            )
            .map(Measured::from),
            None => Err(RepeatError::NoKeyRange),
        });
    }
}
