//! One measured repeat of one backend: threads, roles, the barrier, the clock, the check.
//!
//! # How a repeat runs
//!
//! 1. Per-thread buffers (latency histograms, the sampler's series) are allocated and the
//!    sampler thread is spawned; it waits at the start barrier.
//! 2. The performance counters are opened, disabled, with `inherit`: every thread the
//!    coordinating thread starts from now on is counted — the workers, and threads the
//!    backend starts itself (the `sweep` collector, started by the container) — and the
//!    sampler, started before, is not.
//! 3. The container is built and the live-memory baseline is read (so the container's own
//!    allocations are not the run's), then the workers are spawned. Each takes its handle
//!    (registration is never measured) and waits at the barrier.
//! 4. Once every worker has arrived, the counters are enabled and the barrier releases
//!    everyone: thread start-up, registration and the wait are not counted. Each worker
//!    runs its role's loop for the run's duration, reading the clock once per [`BATCH`]
//!    iterations, and records its own start and end; the run's elapsed time is from the
//!    first start to the last end, so operations finished after the deadline are paid for.
//! 5. When the churning workers are done, the counters are disabled and the sampler takes
//!    its last sample — before a stalled thread lets go and before anything is torn down,
//!    so the series ends with the run. Then the stalled thread is released, what is left
//!    inside the container is drained, and the run checks itself: every value pushed must
//!    come out exactly once (a count and a checksum of values pushed against values popped
//!    plus values left), and the container must report no fault. A failed check makes the
//!    row invalid; its numbers are never reported.
//!
//! # What each loop costs beyond the backend
//!
//! Per operation: a counter increment, a multiply-xorshift checksum of the value, and a
//! loop branch. Per batch of [`BATCH`] loop iterations: one clock read; for producers, one
//! store of their progress and a read of the others' (the in-flight window). With the
//! instrumentation on, one operation per batch is timed on its own (two more clock reads)
//! for the latency histogram — one in 64 operations for producers and consumers, one in
//! 128 for pairs (an iteration is a push and a pop) — at a position drawn at random in
//! each batch ([`SamplePosition`]), so that the timed operation never lines up with
//! something periodic in the backend. `run --overhead` measures what all of it costs.

mod check;
mod roles;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use hdrhistogram::Histogram;
use reclaim_core::{Backend, Config, Container};

use self::check::{Values, check};
pub(crate) use self::roles::Stop;
pub(crate) use self::roles::histogram;
use self::roles::{Flow, Role, RunControl, Worker, consumer, pairs, producer, stalled};
use crate::counters::{Counter, Counters, Readings};
use crate::error::RepeatError;
use crate::gate::Gate;
use crate::noise::{CpuTimes, Noise};
use crate::sampler::{Probe, Sampler, Series};
use crate::workload::Shape;

/// How one repeat is measured.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    /// When the workers stop: after a time, or after a number of iterations.
    pub stop: Stop,
    /// Time one operation per batch for the latency histogram.
    pub latency: bool,
    /// Sample memory and garbage this often; `None`: no sampler thread.
    pub sample_interval: Option<Duration>,
    /// Read performance counters.
    pub counters: bool,
    /// Producers wait while this many values are in flight.
    pub max_in_flight: u64,
    /// Pin worker `i` to the `i`-th CPU the process may run on (round-robin when there
    /// are more workers than CPUs).
    pub pin: bool,
    /// The configuration the container is built with (where it may write files).
    pub config: Config,
}

/// What one repeat measured.
#[derive(Debug)]
pub(crate) struct Repeat {
    /// From the first worker's start to the last one's end.
    pub elapsed: Duration,
    /// Operations (pushes plus pops) each thread completed, by thread index.
    pub per_thread_ops: Vec<u64>,
    /// Timed operations, merged over threads; `None` without instrumentation.
    pub latency: Option<Histogram<u64>>,
    /// Memory and garbage over time; `None` without a sampler.
    pub series: Option<Series>,
    /// The highest live byte count above the baseline, from the allocator's peak.
    pub peak_bytes: Option<u64>,
    /// Counters over the run.
    pub counters: Readings,
    /// Whether the run passed its check, and why not.
    pub check: Result<(), String>,
    /// For `stalled`: whether the backend held anything (`Handle::stall`); baselines and
    /// channels hold nothing, and their rows are a contrast, not a stall.
    pub stall_held: Option<bool>,
    /// What else the machine did meanwhile: steal, run-queue delay, preemptions.
    pub noise: Noise,
}

impl Repeat {
    /// Operations completed by every thread.
    pub fn ops(&self) -> u64 {
        self.per_thread_ops.iter().sum()
    }

    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs one repeat of `shape` on a fresh container of backend `B`.
///
/// # Errors
/// The container could not be built, or a thread could not be started or panicked: the
/// run could not take place (a failed *check* is not an error: it is in [`Repeat::check`]).
pub(crate) fn run_repeat<B: Backend>(shape: Shape, params: &Params) -> Result<Repeat, RepeatError> {
    let threads = shape.threads();
    let histograms: Vec<Option<Histogram<u64>>> = (0..threads)
        .map(|_| params.latency.then(histogram))
        .collect();
    let flow = Flow::new(shape.producers, shape.consumers, params.max_in_flight);
    let start = Gate::default();
    let churned = AtomicBool::new(false);
    let control = RunControl {
        start: &start,
        stop: params.stop,
        values_to_pop: match params.stop {
            Stop::Iterations(n) => n.saturating_mul(shape.producers as u64),
            Stop::After(_) => 0,
        },
        flow: &flow,
        churned: &churned,
    };
    let sampler = params
        .sample_interval
        .map(|interval| Sampler::new(interval, params.stop.expected()));
    let cpus = if params.pin {
        Some(core_affinity::get_core_ids().ok_or(RepeatError::CpusUnknown)?)
            .filter(|cpus| !cpus.is_empty())
    } else {
        None
    };
    let pinned = AtomicBool::new(true);
    // Built inside the scope, after the counters are opened, so that threads the backend
    // starts inherit them; outlives the scope, for the check.
    let container: OnceLock<B::Container<u64>> = OnceLock::new();
    let probe = || Probe::from_stats(container.get()?.reclamation());

    let outcome = thread::scope(|s| -> Result<_, RepeatError> {
        let mut participants = 0;
        let mut sampler_thread = None;
        let mut counters = None;
        let mut churners = Vec::with_capacity(threads);
        let mut stallers = Vec::new();
        let started = (|| -> Result<(), RepeatError> {
            if let Some(sampler) = &sampler {
                let (start, probe) = (&start, &probe);
                sampler_thread = Some(spawn(s, "sampler", move || sampler.run(start, probe))?);
                participants += 1;
            }
            counters = params.counters.then(Counters::open);
            let built = B::Container::<u64>::new(&params.config).map_err(RepeatError::Build)?;
            let container = container.get_or_init(|| built);
            // The last allocations before the run are done: the baseline is read here.
            if let Some(sampler) = &sampler {
                sampler.rebase();
            }
            for (index, latency) in histograms.into_iter().enumerate() {
                let role = Role::of(shape, index);
                let (control, flow, cpus, pinned) = (&control, &flow, &cpus, &pinned);
                let body = move || {
                    // Before the handle: a scheme's per-thread state is allocated where
                    // the thread will run.
                    if let Some(cpus) = cpus
                        && !core_affinity::set_for_current(cpus[index % cpus.len()])
                    {
                        pinned.store(false, Ordering::Relaxed);
                    }
                    let mut w = Worker::new(index, latency);
                    let mut handle = container.handle();
                    let mut values = Values::new(index);
                    match role {
                        Role::Pairs => pairs(&mut handle, &mut values, control, &mut w),
                        Role::Producer(p) => {
                            producer(&mut handle, &mut values, &flow.pushed[p], control, &mut w);
                        }
                        Role::Consumer(c) => {
                            consumer(&mut handle, &flow.popped[c], control, &mut w);
                        }
                        Role::Stalled => stalled(&mut handle, &mut values, control, &mut w),
                    }
                    (index, w)
                };
                let handle = spawn(s, "worker", body)?;
                participants += 1;
                if matches!(role, Role::Stalled) {
                    stallers.push(handle);
                } else {
                    churners.push(handle);
                }
            }
            Ok(())
        })();
        let mut cpu_before = None;
        match &started {
            Ok(()) => {
                start.wait_for(participants);
                if let Some(counters) = &mut counters {
                    counters.enable();
                }
                cpu_before = CpuTimes::now();
                start.open();
            }
            Err(_) => start.abort(),
        }
        // No early return until every thread was told to stop: the scope joins them all,
        // and a stalled thread or the sampler left waiting would hang it.
        let churned_result = join_all(churners);
        let cpu_after = CpuTimes::now();
        if let Some(counters) = &mut counters {
            counters.disable();
        }
        if let Some(sampler) = &sampler {
            sampler.stop();
        }
        let series = sampler_thread.map(|t| join(t, "sampler")).transpose();
        churned.store(true, Ordering::Release);
        let stalled_result = join_all(stallers);
        started?;
        let mut workers = churned_result?;
        workers.extend(stalled_result?);
        let series = series?;
        let readings = match &mut counters {
            Some(counters) => counters.read(),
            None => Readings::unavailable("instrumentation off"),
        };
        Ok((workers, series, readings, (cpu_before, cpu_after)))
    });
    let (mut workers, series, mut counters, (cpu_before, cpu_after)) = outcome?;
    if !pinned.load(Ordering::Relaxed) {
        return Err(RepeatError::PinRefused);
    }
    if params.counters {
        let switches: Option<u64> = workers.iter().map(|(_, w)| w.switches).sum();
        counters.set(
            Counter::ContextSwitches,
            switches.ok_or_else(|| "getrusage(RUSAGE_THREAD) failed on a worker".to_string()),
        );
    }
    workers.sort_by_key(|(index, _)| *index);
    let peak_bytes = sampler
        .as_ref()
        .filter(|s| s.counting())
        .map(Sampler::peak_bytes);

    let container = container.into_inner().ok_or(RepeatError::NotBuilt)?;
    let check = check(
        &container,
        workers.iter().map(|(_, w)| (w.pushed, w.popped)),
    );
    drop(container);

    let churning = workers
        .iter()
        .filter(|(index, _)| !matches!(Role::of(shape, *index), Role::Stalled));
    let first = churning.clone().map(|(_, w)| w.started).min();
    let last = churning.map(|(_, w)| w.ended).max();
    let elapsed = match (first, last) {
        (Some(first), Some(last)) => last.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    let mut latency: Option<Histogram<u64>> = None;
    for (_, w) in &workers {
        if let Some(h) = &w.latency {
            match &mut latency {
                Some(total) => total.add(h).map_err(RepeatError::Latency)?,
                None => latency = Some(h.clone()),
            }
        }
    }
    Ok(Repeat {
        elapsed,
        per_thread_ops: workers.iter().map(|(_, w)| w.ops).collect(),
        latency,
        series,
        peak_bytes,
        counters,
        check,
        stall_held: workers.iter().find_map(|(_, w)| w.held),
        noise: Noise::of(
            cpu_before.as_ref(),
            cpu_after.as_ref(),
            elapsed,
            workers
                .iter()
                .filter(|(index, _)| !matches!(Role::of(shape, *index), Role::Stalled))
                .map(|(_, w)| (w.sched, w.ended.saturating_duration_since(w.started))),
        ),
    })
}

type Scoped<'s, T> = thread::ScopedJoinHandle<'s, T>;

fn spawn<'s, 'e, T: Send + 's>(
    scope: &'s thread::Scope<'s, 'e>,
    name: &'static str,
    body: impl FnOnce() -> T + Send + 's,
) -> Result<Scoped<'s, T>, RepeatError> {
    thread::Builder::new()
        .name(format!("reclaim-{name}"))
        .spawn_scoped(scope, body)
        .map_err(|source| RepeatError::Spawn { role: name, source })
}

fn join<T>(handle: Scoped<'_, T>, role: &'static str) -> Result<T, RepeatError> {
    handle.join().map_err(|_| RepeatError::Panicked { role })
}

fn join_all(
    handles: Vec<Scoped<'_, (usize, Worker)>>,
) -> Result<Vec<(usize, Worker)>, RepeatError> {
    handles.into_iter().map(|h| join(h, "worker")).collect()
}

#[cfg(test)]
mod tests;
