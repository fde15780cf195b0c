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
//! something periodic in the backend. A set's loop also reads, once a batch, how many
//! nodes the batch's last operation visited (`SetHandle::visited`, a field of the
//! handle). `run --overhead` measures what all of it costs.

mod check;
mod roles;
mod sets;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use hdrhistogram::Histogram;
use reclaim_core::{Backend, ConcurrentSet, Config, Container, ReclaimStats};

use self::check::{Values, check};
pub(crate) use self::roles::Stop;
pub(crate) use self::roles::histogram;
use self::roles::{Flow, Role, RunControl, Worker, consumer, pairs, producer, stalled};
use self::sets::Sets;
use crate::counters::{Counter, Counters, Readings};
use crate::error::RepeatError;
use crate::gate::Gate;
use crate::noise::{CpuTimes, Noise};
use crate::placement;
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
    /// For a set: the key range and the operation mix.
    pub set: Option<crate::plan::SetRun>,
}

/// What a repeat drives: a container or a set, built fresh for the repeat, worked on by
/// its threads and checked at the end. Everything else — the threads, the gate, the
/// clock, the sampler, the counters — is the same for both.
trait Subject: Send + Sync + Sized {
    /// Builds it, and fills it as the run starts from (outside the measured region and
    /// before the memory baseline is read).
    fn build(params: &Params) -> Result<Self, RepeatError>;

    /// What its reclamation scheme has retired and freed so far.
    fn reclamation(&self) -> Option<ReclaimStats>;

    /// Thread `index`'s loop in `role`: waits at the start gate, runs, fills in `w`.
    fn work(&self, index: usize, role: Role, rig: &Rig, control: &RunControl<'_>, w: &mut Worker);

    /// Whether what the workers did adds up to what it holds at the end (`workers` by
    /// thread index).
    fn check(&self, workers: &[(usize, Worker)]) -> Result<(), String>;
}

/// A container of `u64` values as a [`Subject`].
struct Containers<C>(C);

impl<C: Container<u64>> Subject for Containers<C> {
    fn build(params: &Params) -> Result<Self, RepeatError> {
        C::new(&params.config)
            .map(Containers)
            .map_err(RepeatError::Build)
    }

    fn reclamation(&self) -> Option<ReclaimStats> {
        self.0.reclamation()
    }

    #[inline]
    fn work(&self, index: usize, role: Role, rig: &Rig, control: &RunControl<'_>, w: &mut Worker) {
        let mut handle = self.0.handle();
        let mut values = Values::new(index);
        let flow = &rig.flow;
        match role {
            Role::Pairs => pairs(&mut handle, &mut values, control, w),
            Role::Producer(p) => producer(&mut handle, &mut values, &flow.pushed[p], control, w),
            Role::Consumer(c) => consumer(&mut handle, &flow.popped[c], control, w),
            Role::Stalled => stalled(&mut handle, &mut values, control, w),
            // Container shapes give no thread these roles; it would only pass the gate.
            Role::Mixed | Role::Walker => {
                control.start.wait();
            }
        }
    }

    fn check(&self, workers: &[(usize, Worker)]) -> Result<(), String> {
        check(&self.0, workers.iter().map(|(_, w)| (w.pushed, w.popped)))
    }
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
    /// For `long-reader`: the reader's walks and the nodes they passed, in all.
    pub walks: Option<(u64, u64)>,
    /// For sets: the nodes visited by the sampled operations of every mixed thread, and
    /// how many were sampled; `None` for sets that cannot say (`SetHandle::visited`).
    pub visits: Option<(u64, u64)>,
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

/// Runs one repeat of `shape` on a fresh container of backend `B`, in the steps the
/// module documentation lists.
///
/// # Errors
/// The container could not be built, or a thread could not be started or panicked: the
/// run could not take place (a failed *check* is not an error: it is in [`Repeat::check`]).
pub(crate) fn run_repeat<B: Backend>(shape: Shape, params: &Params) -> Result<Repeat, RepeatError> {
    run_subject::<Containers<B::Container<u64>>>(shape, params)
}

/// Runs one repeat of `shape` on a fresh set `S`, prefilled to half of `params.set`'s key
/// range: as [`run_repeat`], with the set's own loop and check (`driver/sets.rs`).
///
/// # Errors
/// As [`run_repeat`]; and `params.set` missing.
pub(crate) fn run_set_repeat<S: ConcurrentSet>(
    shape: Shape,
    params: &Params,
) -> Result<Repeat, RepeatError> {
    run_subject::<Sets<S>>(shape, params)
}

fn run_subject<S: Subject>(shape: Shape, params: &Params) -> Result<Repeat, RepeatError> {
    let histograms: Vec<Option<Histogram<u64>>> = (0..shape.threads())
        .map(|_| params.latency.then(histogram))
        .collect();
    let rig = Rig::new(shape, params)?;
    let control = rig.control(params.stop);
    // Built inside the scope, after the counters are opened, so that threads the backend
    // starts inherit them; outlives the scope, for the check.
    let container: OnceLock<S> = OnceLock::new();

    let ended = thread::scope(|s| -> Result<Ended, RepeatError> {
        let mut crew = Crew::new(shape.threads());
        let started = crew.start::<S>(s, &rig, &control, &container, histograms, params);
        let cpu_before = crew.release(&rig.start, started.is_ok());
        // No early return until every thread was told to stop: the scope joins them all,
        // and a stalled thread or the sampler left waiting would hang it.
        let stopped = crew.stop(&rig);
        started?;
        stopped.collect(cpu_before)
    })?;
    if !rig.pinned.load(Ordering::Relaxed) {
        return Err(RepeatError::PinRefused);
    }
    let container = container.into_inner().ok_or(RepeatError::NotBuilt)?;
    ended.into_repeat(shape, params, rig.sampler.as_ref(), container)
}

/// What the threads of one repeat share, made before any of them starts.
struct Rig {
    shape: Shape,
    flow: Flow,
    start: Gate,
    /// Set once every churning thread is done; releases the stalled thread.
    churned: AtomicBool,
    sampler: Option<Sampler>,
    /// With `--pin`: the CPUs the workers are pinned to, round-robin.
    cpus: Option<Vec<core_affinity::CoreId>>,
    /// Cleared by a worker the system refused to pin.
    pinned: AtomicBool,
}

impl Rig {
    fn new(shape: Shape, params: &Params) -> Result<Rig, RepeatError> {
        let flow = Flow::new(shape.producers, shape.consumers, params.max_in_flight);
        let sampler = params
            .sample_interval
            .map(|interval| Sampler::new(interval, params.stop.expected()));
        let cpus = if params.pin {
            Some(core_affinity::get_core_ids().ok_or(RepeatError::CpusUnknown)?)
                .filter(|cpus| !cpus.is_empty())
        } else {
            None
        };
        Ok(Rig {
            shape,
            flow,
            start: Gate::default(),
            churned: AtomicBool::new(false),
            sampler,
            cpus,
            pinned: AtomicBool::new(true),
        })
    }

    /// The start, pace and stop every worker follows.
    fn control(&self, stop: Stop) -> RunControl<'_> {
        RunControl {
            start: &self.start,
            stop,
            values_to_pop: match stop {
                Stop::Iterations(n) => n.saturating_mul(self.shape.producers as u64),
                Stop::After(_) => 0,
            },
            flow: &self.flow,
            churned: &self.churned,
        }
    }
}

/// The threads of one repeat, as they are started, and the counters that count them.
struct Crew<'s> {
    /// Threads that wait at the start gate.
    participants: usize,
    sampler: Option<Scoped<'s, Series>>,
    counters: Option<Counters>,
    churners: Vec<Scoped<'s, (usize, Worker)>>,
    stallers: Vec<Scoped<'s, (usize, Worker)>>,
}

impl<'s> Crew<'s> {
    fn new(threads: usize) -> Crew<'s> {
        Crew {
            participants: 0,
            sampler: None,
            counters: None,
            churners: Vec::with_capacity(threads),
            stallers: Vec::new(),
        }
    }

    /// Steps 1 to 3: starts the sampler, opens the counters, builds the container and
    /// starts the workers, in that order; stops at the first that fails.
    fn start<'e, S: Subject>(
        &mut self,
        s: &'s thread::Scope<'s, 'e>,
        rig: &'e Rig,
        control: &'e RunControl<'e>,
        container: &'e OnceLock<S>,
        histograms: Vec<Option<Histogram<u64>>>,
        params: &Params,
    ) -> Result<(), RepeatError> {
        if let Some(sampler) = &rig.sampler {
            let start = &rig.start;
            let probe = || Probe::from_stats(container.get()?.reclamation());
            self.sampler = Some(spawn(s, "sampler", move || sampler.run(start, probe))?);
            self.participants += 1;
        }
        self.counters = params.counters.then(Counters::open);
        // With CPUs no worker gets, the threads the backend starts while it is built (the
        // `sweep` collector) go there (see `placement`).
        let spare = rig
            .cpus
            .as_deref()
            .map(|cpus| placement::spare(cpus, rig.shape.threads()))
            .filter(|spare| !spare.is_empty());
        let before = spare.and_then(|_| placement::threads());
        let built = S::build(params)?;
        if let (Some(spare), Some(before), Some(after)) = (spare, before, placement::threads()) {
            for &tid in after.difference(&before) {
                if !placement::confine(tid, spare) {
                    rig.pinned.store(false, Ordering::Relaxed);
                }
            }
        }
        let container = container.get_or_init(|| built);
        // The last allocations before the run are done: the baseline is read here.
        if let Some(sampler) = &rig.sampler {
            sampler.rebase();
        }
        for (index, latency) in histograms.into_iter().enumerate() {
            let role = Role::of(rig.shape, index);
            let body = move || work(index, role, latency, container, rig, control);
            let handle = spawn(s, "worker", body)?;
            self.participants += 1;
            if !role.churns() {
                self.stallers.push(handle);
            } else {
                self.churners.push(handle);
            }
        }
        Ok(())
    }

    /// Step 4: once every thread has arrived, enables the counters and opens the gate;
    /// returns the CPU times at the start. If starting failed, releases the threads that
    /// did start, to end at once.
    fn release(&mut self, start: &Gate, started: bool) -> Option<CpuTimes> {
        if !started {
            start.abort();
            return None;
        }
        start.wait_for(self.participants);
        if let Some(counters) = &mut self.counters {
            counters.enable();
        }
        let cpu_before = CpuTimes::now();
        start.open();
        cpu_before
    }

    /// Step 5: joins the churning workers, then disables the counters and stops the
    /// sampler — before the stalled thread lets go, so that both end with the run — then
    /// releases and joins the stalled thread. Joins every thread whatever fails.
    fn stop(self, rig: &Rig) -> Stopped {
        let churned = join_all(self.churners);
        let cpu_after = CpuTimes::now();
        let mut counters = self.counters;
        if let Some(counters) = &mut counters {
            counters.disable();
        }
        if let Some(sampler) = &rig.sampler {
            sampler.stop();
        }
        let series = self.sampler.map(|t| join(t, "sampler")).transpose();
        rig.churned.store(true, Ordering::Release);
        let stalled = join_all(self.stallers);
        Stopped {
            churned,
            stalled,
            series,
            counters,
            cpu_after,
        }
    }
}

/// One worker thread: pins itself, then takes its handle and runs its role's loop.
#[inline]
fn work<S: Subject>(
    index: usize,
    role: Role,
    latency: Option<Histogram<u64>>,
    subject: &S,
    rig: &Rig,
    control: &RunControl<'_>,
) -> (usize, Worker) {
    // Before the handle: a scheme's per-thread state is allocated where the thread will
    // run.
    if let Some(cpus) = &rig.cpus
        && !core_affinity::set_for_current(cpus[index % cpus.len()])
    {
        rig.pinned.store(false, Ordering::Relaxed);
    }
    let mut w = Worker::new(index, latency);
    subject.work(index, role, rig, control, &mut w);
    (index, w)
}

/// Every thread of a repeat, joined: what each brought back, or why it could not.
struct Stopped {
    churned: Result<Vec<(usize, Worker)>, RepeatError>,
    stalled: Result<Vec<(usize, Worker)>, RepeatError>,
    series: Result<Option<Series>, RepeatError>,
    counters: Option<Counters>,
    cpu_after: Option<CpuTimes>,
}

impl Stopped {
    /// The first failure among the threads, or what they all brought back and the
    /// counters' readings.
    fn collect(self, cpu_before: Option<CpuTimes>) -> Result<Ended, RepeatError> {
        let mut workers = self.churned?;
        workers.extend(self.stalled?);
        let series = self.series?;
        let readings = match self.counters {
            Some(mut counters) => counters.read(),
            None => Readings::unavailable("instrumentation off"),
        };
        Ok(Ended {
            workers,
            series,
            counters: readings,
            cpu_before,
            cpu_after: self.cpu_after,
        })
    }
}

/// A repeat whose threads all ended well, before its figures are worked out.
struct Ended {
    /// By thread index once sorted.
    workers: Vec<(usize, Worker)>,
    series: Option<Series>,
    counters: Readings,
    cpu_before: Option<CpuTimes>,
    cpu_after: Option<CpuTimes>,
}

impl Ended {
    /// The repeat's figures, and the check of what `container` was left with.
    fn into_repeat<S: Subject>(
        mut self,
        shape: Shape,
        params: &Params,
        sampler: Option<&Sampler>,
        container: S,
    ) -> Result<Repeat, RepeatError> {
        if params.counters {
            self.count_switches();
        }
        self.workers.sort_by_key(|(index, _)| *index);
        let peak_bytes = sampler.filter(|s| s.counting()).map(Sampler::peak_bytes);
        let check = container.check(&self.workers);
        drop(container);
        let elapsed = self.elapsed(shape);
        let latency = self.merged_latency()?;
        Ok(Repeat {
            elapsed,
            per_thread_ops: self.workers.iter().map(|(_, w)| w.ops).collect(),
            latency,
            series: self.series,
            peak_bytes,
            counters: self.counters,
            check,
            stall_held: self.workers.iter().find_map(|(_, w)| w.held),
            walks: self.workers.iter().find_map(|(_, w)| w.walks),
            visits: self
                .workers
                .iter()
                .filter_map(|(_, w)| w.visits)
                .reduce(|(v, n), (more, m)| (v + more, n + m)),
            noise: Noise::of(
                self.cpu_before.as_ref(),
                self.cpu_after.as_ref(),
                elapsed,
                churning(shape, &self.workers)
                    .map(|w| (w.sched, w.ended.saturating_duration_since(w.started))),
            ),
        })
    }

    /// The workers' context switches, summed, as a counter.
    fn count_switches(&mut self) {
        let switches: Option<u64> = self.workers.iter().map(|(_, w)| w.switches).sum();
        self.counters.set(
            Counter::ContextSwitches,
            switches.ok_or_else(|| "getrusage(RUSAGE_THREAD) failed on a worker".to_string()),
        );
    }

    /// From the first churning worker's start to the last one's end.
    fn elapsed(&self, shape: Shape) -> Duration {
        let first = churning(shape, &self.workers).map(|w| w.started).min();
        let last = churning(shape, &self.workers).map(|w| w.ended).max();
        match (first, last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        }
    }

    /// Every worker's timed operations in one histogram; `None` without instrumentation.
    fn merged_latency(&self) -> Result<Option<Histogram<u64>>, RepeatError> {
        let mut latency: Option<Histogram<u64>> = None;
        for (_, w) in &self.workers {
            if let Some(h) = &w.latency {
                match &mut latency {
                    Some(total) => total.add(h).map_err(RepeatError::Latency)?,
                    None => latency = Some(h.clone()),
                }
            }
        }
        Ok(latency)
    }
}

/// The workers that are not the stalled thread.
fn churning(shape: Shape, workers: &[(usize, Worker)]) -> impl Iterator<Item = &Worker> {
    workers
        .iter()
        .filter(move |(index, _)| Role::of(shape, *index).churns())
        .map(|(_, w)| w)
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
