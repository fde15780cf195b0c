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

use std::hint::spin_loop;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use reclaim_core::{Backend, Config, Container, Handle};

use crate::counters::{Counters, Readings};
use crate::noise::{CpuTimes, Noise, ThreadSched};
use crate::rusage::thread_context_switches;
use crate::sampler::{Probe, Sampler, Series};
use crate::workload::Shape;
use crate::workload::stalled::PREFILL;

/// Loop iterations between two reads of the clock (and two publications of progress).
/// Large enough that a clock read (20–50 ns under a hypervisor) costs under 1% of a batch
/// of the fastest operations, small enough that a thread overshoots the deadline by
/// microseconds, not milliseconds.
pub(crate) const BATCH: u32 = 64;

/// How one repeat is measured.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    /// How long the workers run.
    pub duration: Duration,
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

/// A count and an order-independent checksum of values: equal for equal multisets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sum {
    count: u64,
    hash: u64,
}

impl Sum {
    #[inline]
    fn add(&mut self, value: u64) {
        self.count += 1;
        self.hash = self.hash.wrapping_add(mix(value));
    }

    fn merge(&mut self, other: Sum) {
        self.count += other.count;
        self.hash = self.hash.wrapping_add(other.hash);
    }
}

/// SplitMix64's finalizer: a bijection that spreads every input bit, so that a wrapping
/// sum of mixed values tells apart multisets that plain sums would confuse (a lost 5 and
/// a duplicated 2 and 3).
#[inline]
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The values thread `index` pushes: its index in the high bits, a sequence number below,
/// so every value of a run is distinct.
#[derive(Debug)]
struct Values {
    next: u64,
}

impl Values {
    fn new(index: usize) -> Values {
        Values {
            next: (index as u64) << 40,
        }
    }

    #[inline]
    fn next(&mut self) -> u64 {
        let value = self.next;
        self.next += 1;
        value
    }
}

/// Producers' and consumers' progress, published once per batch, so producers can hold
/// the number of values in flight under `max_in_flight`.
struct Flow {
    pushed: Vec<CachePadded<AtomicU64>>,
    popped: Vec<CachePadded<AtomicU64>>,
    max_in_flight: u64,
}

impl Flow {
    fn new(producers: usize, consumers: usize, max_in_flight: u64) -> Flow {
        let slots = |n| {
            (0..n)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect()
        };
        Flow {
            pushed: slots(producers),
            popped: slots(consumers),
            max_in_flight,
        }
    }

    fn full(&self) -> bool {
        let sum = |slots: &[CachePadded<AtomicU64>]| -> u64 {
            slots.iter().map(|s| s.load(Ordering::Relaxed)).sum()
        };
        sum(&self.pushed).saturating_sub(sum(&self.popped)) >= self.max_in_flight
    }
}

/// The start barrier: threads arrive and wait; the coordinator opens it once all have
/// arrived, or aborts it if a thread could not be started (a plain `Barrier` would leave
/// the started threads waiting forever for the one that never came).
#[derive(Debug, Default)]
pub(crate) struct Gate {
    arrived: AtomicUsize,
    state: AtomicU8,
}

// The gate starts at 0: waiting.
const OPEN: u8 = 1;
const ABORTED: u8 = 2;

impl Gate {
    /// Arrives and waits; `false` if the run was aborted.
    pub(crate) fn wait(&self) -> bool {
        self.arrived.fetch_add(1, Ordering::AcqRel);
        loop {
            match self.state.load(Ordering::Acquire) {
                OPEN => return true,
                ABORTED => return false,
                _ => thread::yield_now(),
            }
        }
    }

    /// Waits for `threads` arrivals, then releases them all.
    pub(crate) fn open_for(&self, threads: usize) {
        self.wait_for(threads);
        self.open();
    }

    /// Waits until `threads` have arrived.
    pub(crate) fn wait_for(&self, threads: usize) {
        while self.arrived.load(Ordering::Acquire) < threads {
            thread::yield_now();
        }
    }

    /// Releases everyone who arrived, and anyone who arrives later.
    pub(crate) fn open(&self) {
        self.state.store(OPEN, Ordering::Release);
    }

    fn abort(&self) {
        self.state.store(ABORTED, Ordering::Release);
    }
}

/// What every worker shares.
struct Shared<'a> {
    start: &'a Gate,
    duration: Duration,
    flow: &'a Flow,
    /// Set once every churning thread is done; releases the stalled thread.
    churned: &'a AtomicBool,
}

/// What one worker brings back.
#[derive(Debug)]
struct Worker {
    ops: u64,
    pushed: Sum,
    popped: Sum,
    started: Instant,
    ended: Instant,
    latency: Option<Histogram<u64>>,
    /// Which operation of each batch is timed, when `latency` is on.
    positions: SamplePosition,
    /// The thread's context switches during the run, when the kernel says.
    switches: Option<u64>,
    /// The thread's scheduler counts: at the start, then over the run.
    sched: ThreadSched,
    /// For the stalled thread: whether the backend held anything while it stalled.
    held: Option<bool>,
}

impl Worker {
    fn new(index: usize, latency: Option<Histogram<u64>>) -> Worker {
        let now = Instant::now();
        Worker {
            ops: 0,
            pushed: Sum::default(),
            popped: Sum::default(),
            started: now,
            ended: now,
            latency,
            positions: SamplePosition::new(index),
            switches: None,
            sched: ThreadSched::default(),
            held: None,
        }
    }

    /// Marks the start: the clock and the thread's context switches so far.
    #[inline(never)]
    fn start(&mut self) {
        self.switches = thread_context_switches();
        self.sched = ThreadSched::now();
        self.started = Instant::now();
    }

    /// Marks the end.
    #[inline(never)]
    fn end(&mut self) {
        self.ended = Instant::now();
        self.switches = match (self.switches, thread_context_switches()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        self.sched = self.sched.until(ThreadSched::now());
    }

    /// The operation of the next batch of `within` operations to time; `u32::MAX` (no
    /// operation) without latency timing.
    #[inline]
    fn sample_position(&mut self, within: u32) -> u32 {
        if self.latency.is_some() {
            self.positions.next(within)
        } else {
            u32::MAX
        }
    }

    #[inline]
    fn record(&mut self, since: Instant) {
        if let Some(histogram) = &mut self.latency {
            let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            histogram.saturating_record(nanos.max(1));
        }
    }
}

/// Which operation of a batch is timed: drawn at random for every batch.
///
/// A fixed position aliases with anything periodic in the backend. crossbeam-epoch tries
/// to collect every 128 pins, and a Michael–Scott queue pins twice per pair, so with the
/// first operation of every 64-pair batch timed, every timed operation was the one that
/// collected: `msqueue-ebr`'s p50 read 780 ns against a mean of 30 ns. A uniform draw
/// per batch times each operation of the batch equally often.
#[derive(Debug)]
struct SamplePosition {
    state: u64,
}

impl SamplePosition {
    /// A generator for worker `index` (a fixed seed: runs time the same positions).
    fn new(index: usize) -> SamplePosition {
        SamplePosition {
            state: mix(index as u64 ^ 0x5eed_0f1a_7ec7_e500),
        }
    }

    /// The next position in `0..within` (a power of two).
    #[inline]
    fn next(&mut self, within: u32) -> u32 {
        debug_assert!(within.is_power_of_two());
        // SplitMix64: the state walks by a constant odd step, the output is its mix.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (mix(self.state) >> 32) as u32 & (within - 1)
    }
}

/// A latency histogram from 1 ns to 10 s at 3 significant digits, allocated up front so
/// recording never allocates.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("constant bounds are valid")
}

/// Pushes `value`, retrying while a bounded container refuses it. Gives up at the
/// deadline, and then the value was never pushed.
#[inline]
fn push_until<H: Handle<u64>>(handle: &mut H, value: u64, deadline: Instant) -> bool {
    let mut value = value;
    let mut refusals: u32 = 0;
    loop {
        match handle.push(value) {
            Ok(()) => return true,
            Err(back) => {
                value = back;
                refusals = refusals.wrapping_add(1);
                if refusals.is_multiple_of(BATCH) {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    thread::yield_now();
                } else {
                    spin_loop();
                }
            }
        }
    }
}

/// Each thread pushes a value, then pops one.
#[inline(never)]
fn pairs<H: Handle<u64>>(handle: &mut H, values: &mut Values, shared: &Shared<'_>, w: &mut Worker) {
    if !shared.start.wait() {
        return;
    }
    w.start();
    let deadline = w.started + shared.duration;
    'run: loop {
        // One of the batch's 2 × BATCH operations is timed: push `i` is operation 2i,
        // its pop 2i + 1.
        let sample = w.sample_position(2 * BATCH);
        for i in 0..BATCH {
            let value = values.next();
            let timed = (sample == 2 * i).then(Instant::now);
            if !push_until(handle, value, deadline) {
                break 'run;
            }
            if let Some(t) = timed {
                w.record(t);
            }
            w.pushed.add(value);
            let timed = (sample == 2 * i + 1).then(Instant::now);
            if let Some(popped) = handle.pop() {
                if let Some(t) = timed {
                    w.record(t);
                }
                w.popped.add(popped);
                w.ops += 1;
            }
            w.ops += 1;
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    w.end();
}

/// Pushes only, keeping the values in flight under the window.
#[inline(never)]
fn producer<H: Handle<u64>>(
    handle: &mut H,
    values: &mut Values,
    slot: &AtomicU64,
    shared: &Shared<'_>,
    w: &mut Worker,
) {
    if !shared.start.wait() {
        return;
    }
    w.start();
    let deadline = w.started + shared.duration;
    'run: loop {
        let sample = w.sample_position(BATCH);
        for i in 0..BATCH {
            let value = values.next();
            let timed = (sample == i).then(Instant::now);
            if !push_until(handle, value, deadline) {
                break 'run;
            }
            if let Some(t) = timed {
                w.record(t);
            }
            w.pushed.add(value);
            w.ops += 1;
        }
        slot.store(w.pushed.count, Ordering::Relaxed);
        if Instant::now() >= deadline {
            break;
        }
        while shared.flow.full() {
            if Instant::now() >= deadline {
                break 'run;
            }
            thread::yield_now();
        }
    }
    w.end();
}

/// Pops only; an empty pop is an attempt, not an operation.
#[inline(never)]
fn consumer<H: Handle<u64>>(handle: &mut H, slot: &AtomicU64, shared: &Shared<'_>, w: &mut Worker) {
    if !shared.start.wait() {
        return;
    }
    w.start();
    let deadline = w.started + shared.duration;
    loop {
        let sample = w.sample_position(BATCH);
        for i in 0..BATCH {
            let timed = (sample == i).then(Instant::now);
            match handle.pop() {
                Some(value) => {
                    if let Some(t) = timed {
                        w.record(t);
                    }
                    w.popped.add(value);
                    w.ops += 1;
                }
                None => spin_loop(),
            }
        }
        slot.store(w.popped.count, Ordering::Relaxed);
        if Instant::now() >= deadline {
            break;
        }
    }
    w.end();
}

/// Pushes a few values so there is a front node, then holds on inside an operation from
/// before the start until every other thread is done.
fn stalled<H: Handle<u64>>(
    handle: &mut H,
    values: &mut Values,
    shared: &Shared<'_>,
    w: &mut Worker,
) {
    for _ in 0..PREFILL {
        let value = values.next();
        if handle.push(value).is_ok() {
            w.pushed.add(value);
        }
    }
    // Held from before the start: nothing the others retire is reclaimed behind its back.
    let held = handle.stall(&mut || {
        if !shared.start.wait() {
            return;
        }
        w.start();
        while !shared.churned.load(Ordering::Acquire) {
            thread::sleep(Duration::from_micros(200));
        }
        w.end();
    });
    w.held = Some(held);
}

/// Runs one repeat of `shape` on a fresh container of backend `B`.
///
/// # Errors
/// The container could not be built, or a thread could not be started or panicked: the
/// run could not take place (a failed *check* is not an error: it is in [`Repeat::check`]).
pub(crate) fn run_repeat<B: Backend>(shape: Shape, params: &Params) -> Result<Repeat, String> {
    let threads = shape.threads();
    let histograms: Vec<Option<Histogram<u64>>> = (0..threads)
        .map(|_| params.latency.then(histogram))
        .collect();
    let flow = Flow::new(shape.producers, shape.consumers, params.max_in_flight);
    let start = Gate::default();
    let churned = AtomicBool::new(false);
    let shared = Shared {
        start: &start,
        duration: params.duration,
        flow: &flow,
        churned: &churned,
    };
    let sampler = params
        .sample_interval
        .map(|interval| Sampler::new(interval, params.duration));
    let cpus = if params.pin {
        Some(
            core_affinity::get_core_ids()
                .ok_or("--pin: cannot read the CPUs this process may run on")?,
        )
        .filter(|cpus| !cpus.is_empty())
    } else {
        None
    };
    let pinned = AtomicBool::new(true);
    // Built inside the scope, after the counters are opened, so that threads the backend
    // starts inherit them; outlives the scope, for the check.
    let container: OnceLock<B::Container<u64>> = OnceLock::new();
    let probe = || Probe::from_stats(container.get()?.reclamation());

    let outcome = thread::scope(|s| -> Result<_, String> {
        let mut participants = 0;
        let mut sampler_thread = None;
        let mut counters = None;
        let mut churners = Vec::with_capacity(threads);
        let mut stallers = Vec::new();
        let started = (|| -> Result<(), String> {
            if let Some(sampler) = &sampler {
                let (start, probe) = (&start, &probe);
                sampler_thread = Some(spawn(s, "sampler", move || sampler.run(start, probe))?);
                participants += 1;
            }
            counters = params.counters.then(Counters::open);
            let built = B::Container::<u64>::new(&params.config).map_err(|e| e.to_string())?;
            let container = container.get_or_init(|| built);
            // The last allocations before the run are done: the baseline is read here.
            if let Some(sampler) = &sampler {
                sampler.rebase();
            }
            for (index, latency) in histograms.into_iter().enumerate() {
                let role = Role::of(shape, index);
                let (shared, flow, cpus, pinned) = (&shared, &flow, &cpus, &pinned);
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
                        Role::Pairs => pairs(&mut handle, &mut values, shared, &mut w),
                        Role::Producer(p) => {
                            producer(&mut handle, &mut values, &flow.pushed[p], shared, &mut w);
                        }
                        Role::Consumer(c) => {
                            consumer(&mut handle, &flow.popped[c], shared, &mut w);
                        }
                        Role::Stalled => stalled(&mut handle, &mut values, shared, &mut w),
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
        let series = sampler_thread.map(join).transpose();
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
        return Err("--pin: the kernel refused to pin a worker to its CPU".into());
    }
    if params.counters {
        let switches: Option<u64> = workers.iter().map(|(_, w)| w.switches).sum();
        counters.set(
            "context-switches",
            switches.ok_or_else(|| "getrusage(RUSAGE_THREAD) failed on a worker".to_string()),
        );
    }
    workers.sort_by_key(|(index, _)| *index);
    let peak_bytes = sampler
        .as_ref()
        .filter(|s| s.counting())
        .map(Sampler::peak_bytes);

    let container = container
        .into_inner()
        .ok_or("the run ended before its container was built")?;
    let check = check(&container, workers.iter().map(|(_, w)| w));
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
                Some(total) => total.add(h).map_err(|e| e.to_string())?,
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
            cpu_before,
            cpu_after,
            workers
                .iter()
                .filter(|(index, _)| !matches!(Role::of(shape, *index), Role::Stalled))
                .map(|(_, w)| w.sched),
        ),
    })
}

/// Drains what is left and checks that values pushed = values popped + values left.
fn check<'w, C: Container<u64>>(
    container: &C,
    workers: impl Iterator<Item = &'w Worker>,
) -> Result<(), String> {
    let (mut pushed, mut taken) = (Sum::default(), Sum::default());
    for w in workers {
        pushed.merge(w.pushed);
        taken.merge(w.popped);
    }
    let popped = taken.count;
    let mut handle = container.handle();
    while let Some(value) = handle.pop() {
        taken.add(value);
    }
    drop(handle);
    if let Some(failure) = container.failure() {
        return Err(format!("the backend reported a fault: {failure}"));
    }
    let left = taken.count - popped;
    if pushed.count != taken.count {
        let (what, n) = if pushed.count > taken.count {
            ("lost", pushed.count - taken.count)
        } else {
            ("duplicated", taken.count - pushed.count)
        };
        return Err(format!(
            "{n} values {what}: {} pushed, {popped} popped, {left} left inside",
            pushed.count
        ));
    }
    if pushed.hash != taken.hash {
        return Err(format!(
            "checksum mismatch: as many values came out as went in ({}), but not the same \
             ones (corrupted or duplicated values)",
            pushed.count
        ));
    }
    Ok(())
}

/// What thread `index` of a run does.
#[derive(Clone, Copy, Debug)]
enum Role {
    Pairs,
    Producer(usize),
    Consumer(usize),
    Stalled,
}

impl Role {
    /// Threads are numbered pairs first, then producers, consumers, the stalled one.
    fn of(shape: Shape, index: usize) -> Role {
        let mut i = index;
        if i < shape.pairs {
            return Role::Pairs;
        }
        i -= shape.pairs;
        if i < shape.producers {
            return Role::Producer(i);
        }
        i -= shape.producers;
        if i < shape.consumers {
            return Role::Consumer(i);
        }
        Role::Stalled
    }
}

type Scoped<'s, T> = thread::ScopedJoinHandle<'s, T>;

fn spawn<'s, 'e, T: Send + 's>(
    scope: &'s thread::Scope<'s, 'e>,
    name: &str,
    body: impl FnOnce() -> T + Send + 's,
) -> Result<Scoped<'s, T>, String> {
    thread::Builder::new()
        .name(format!("reclaim-{name}"))
        .spawn_scoped(scope, body)
        .map_err(|e| format!("could not start a {name} thread: {e}"))
}

fn join<T>(handle: Scoped<'_, T>) -> Result<T, String> {
    handle
        .join()
        .map_err(|_| "a thread of the run panicked".to_string())
}

fn join_all(handles: Vec<Scoped<'_, (usize, Worker)>>) -> Result<Vec<(usize, Worker)>, String> {
    handles.into_iter().map(join).collect()
}

#[cfg(test)]
mod tests;
