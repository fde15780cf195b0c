//! What each worker thread of a run does: its role's loop, timed from the start gate to
//! the deadline, with one operation per batch timed on its own.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use reclaim_core::Handle;

use super::check::{Digest, Values};
use crate::batch::{BATCH, SamplePosition};
use crate::gate::Gate;
use crate::noise::ThreadSched;
use crate::rusage::thread_context_switches;
use crate::workload::Shape;
use crate::workload::stalled::PREFILL;

/// Producers' and consumers' progress, published once per batch, so producers can hold
/// the number of values in flight under `max_in_flight`.
pub(super) struct Flow {
    pub(super) pushed: Vec<CachePadded<AtomicU64>>,
    pub(super) popped: Vec<CachePadded<AtomicU64>>,
    pub(super) max_in_flight: u64,
}

impl Flow {
    pub(super) fn new(producers: usize, consumers: usize, max_in_flight: u64) -> Flow {
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
        total(&self.pushed).saturating_sub(total(&self.popped)) >= self.max_in_flight
    }

    /// Values popped so far, as the consumers last published.
    fn popped(&self) -> u64 {
        total(&self.popped)
    }
}

fn total(slots: &[CachePadded<AtomicU64>]) -> u64 {
    slots.iter().map(|s| s.load(Ordering::Relaxed)).sum()
}

/// When a worker's loop ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the deadline, this long after the worker's start: runs last a fixed time.
    After(Duration),
    /// After this many loop iterations per worker (pairs for `pairs`, values pushed for
    /// producers); consumers stop once every value the producers push is popped. The
    /// same work every time: for benchmarks with an iteration count and for instruction
    /// counts.
    Iterations(u64),
}

impl Stop {
    /// About how long a run lasts, for sizing buffers: the duration, or a guess of a
    /// second for a count.
    pub(crate) fn expected(self) -> Duration {
        match self {
            Stop::After(duration) => duration,
            Stop::Iterations(_) => Duration::from_secs(1),
        }
    }

    /// The deadline of a worker that started at `started`; with a count, none (push
    /// retries then never give up: the consumers always drain).
    pub(super) fn deadline(self, started: Instant) -> Instant {
        const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        match self {
            Stop::After(duration) => started + duration,
            Stop::Iterations(_) => started + NEVER,
        }
    }

    /// How many iterations the next batch runs after `done` of them, or `None` when the
    /// loop is over (with a deadline, checked once per batch, so a batch is whole).
    #[inline]
    pub(super) fn next_batch(self, done: u64, deadline: Instant) -> Option<u32> {
        match self {
            Stop::After(_) => (done == 0 || Instant::now() < deadline).then_some(BATCH),
            Stop::Iterations(n) => {
                let left = n.saturating_sub(done);
                (left > 0).then(|| left.min(u64::from(BATCH)) as u32)
            }
        }
    }
}

/// How the workers of a repeat start, pace and stop together: the start gate, when to
/// stop, the in-flight window between producers and consumers, and the flag that
/// releases the stalled thread. Every worker holds a reference to the same one.
pub(super) struct RunControl<'a> {
    pub(super) start: &'a Gate,
    pub(super) stop: Stop,
    /// With [`Stop::Iterations`]: every value the producers push, for the consumers.
    pub(super) values_to_pop: u64,
    pub(super) flow: &'a Flow,
    /// Set once every churning thread is done; releases the stalled thread.
    pub(super) churned: &'a AtomicBool,
}

/// What one worker brings back.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) ops: u64,
    pub(super) pushed: Digest,
    pub(super) popped: Digest,
    pub(super) started: Instant,
    pub(super) ended: Instant,
    pub(super) latency: Option<Histogram<u64>>,
    /// Which operation of each batch is timed, when `latency` is on.
    pub(super) positions: SamplePosition,
    /// The thread's context switches during the run, when the kernel says.
    pub(super) switches: Option<u64>,
    /// The thread's scheduler counts: at the start, then over the run.
    pub(super) sched: ThreadSched,
    /// For the stalled thread: whether the backend held anything while it stalled.
    pub(super) held: Option<bool>,
    /// For a set's long reader: its walks and the nodes they passed, in all; `None` if
    /// the set cannot walk.
    pub(super) walks: Option<(u64, u64)>,
    /// For a set's mixed loop: the nodes visited by the operations it sampled (the last
    /// of each batch, `SetHandle::visited`), and how many it sampled; `None` if the set
    /// cannot say.
    pub(super) visits: Option<(u64, u64)>,
}

impl Worker {
    pub(super) fn new(index: usize, latency: Option<Histogram<u64>>) -> Worker {
        let now = Instant::now();
        Worker {
            ops: 0,
            pushed: Digest::default(),
            popped: Digest::default(),
            started: now,
            ended: now,
            latency,
            positions: SamplePosition::new(index),
            switches: None,
            sched: ThreadSched::default(),
            held: None,
            walks: None,
            visits: None,
        }
    }

    /// Marks the start: the clock and the thread's context switches so far.
    #[inline(never)]
    pub(super) fn start(&mut self) {
        self.switches = thread_context_switches();
        self.sched = ThreadSched::now();
        self.started = Instant::now();
    }

    /// Marks the end.
    #[inline(never)]
    pub(super) fn end(&mut self) {
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
    pub(super) fn sample_position(&mut self, within: u32) -> u32 {
        if self.latency.is_some() {
            self.positions.next(within)
        } else {
            u32::MAX
        }
    }

    /// Adds the values the timed loop pushed to the digest: the run from `first` up to
    /// the next value `values` would hand out, less the last one if its push was
    /// refused (the loop gives up on a value only at the deadline, after taking it).
    fn pushed_run(&mut self, values: &Values, first: u64, refused: bool) {
        let taken = values.peek() - first;
        self.pushed.add_run(first, taken - u64::from(refused));
    }

    #[inline]
    pub(super) fn record(&mut self, since: Instant) {
        if let Some(histogram) = &mut self.latency {
            let nanos = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
            histogram.saturating_record(nanos.max(1));
        }
    }
}

/// A latency histogram from 1 ns to 10 s at 3 significant digits, allocated up front so
/// recording never allocates.
pub(crate) fn histogram() -> Histogram<u64> {
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
pub(super) fn pairs<H: Handle<u64>>(
    handle: &mut H,
    values: &mut Values,
    control: &RunControl<'_>,
    w: &mut Worker,
) {
    if !control.start.wait() {
        return;
    }
    w.start();
    let deadline = control.stop.deadline(w.started);
    let first = values.peek();
    let mut refused = false;
    let mut done = 0;
    'run: while let Some(batch) = control.stop.next_batch(done, deadline) {
        // One of the batch's 2 × BATCH operations is timed: push `i` is operation 2i,
        // its pop 2i + 1.
        let sample = w.sample_position(2 * BATCH);
        for i in 0..batch {
            let value = values.next();
            let timed = (sample == 2 * i).then(Instant::now);
            if !push_until(handle, value, deadline) {
                refused = true;
                break 'run;
            }
            if let Some(t) = timed {
                w.record(t);
            }
            let timed = (sample == 2 * i + 1).then(Instant::now);
            if let Some(popped) = handle.pop() {
                if let Some(t) = timed {
                    w.record(t);
                }
                w.popped.add(popped);
            }
        }
        done += u64::from(batch);
    }
    w.end();
    w.pushed_run(values, first, refused);
    w.ops = w.pushed.count + w.popped.count;
}

/// Pushes only, keeping the values in flight under the window.
#[inline(never)]
pub(super) fn producer<H: Handle<u64>>(
    handle: &mut H,
    values: &mut Values,
    slot: &AtomicU64,
    control: &RunControl<'_>,
    w: &mut Worker,
) {
    if !control.start.wait() {
        return;
    }
    w.start();
    let deadline = control.stop.deadline(w.started);
    let first = values.peek();
    let mut refused = false;
    let mut done = 0;
    'run: while let Some(batch) = control.stop.next_batch(done, deadline) {
        let sample = w.sample_position(BATCH);
        for i in 0..batch {
            let value = values.next();
            let timed = (sample == i).then(Instant::now);
            if !push_until(handle, value, deadline) {
                refused = true;
                break 'run;
            }
            if let Some(t) = timed {
                w.record(t);
            }
        }
        done += u64::from(batch);
        slot.store(done, Ordering::Relaxed);
        while control.flow.full() {
            if Instant::now() >= deadline {
                break 'run;
            }
            thread::yield_now();
        }
    }
    w.end();
    w.pushed_run(values, first, refused);
    w.ops = w.pushed.count;
}

/// Pops only; an empty pop is an attempt, not an operation.
#[inline(never)]
pub(super) fn consumer<H: Handle<u64>>(
    handle: &mut H,
    slot: &AtomicU64,
    control: &RunControl<'_>,
    w: &mut Worker,
) {
    if !control.start.wait() {
        return;
    }
    w.start();
    let deadline = control.stop.deadline(w.started);
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
                }
                None => spin_loop(),
            }
        }
        slot.store(w.popped.count, Ordering::Relaxed);
        let over = match control.stop {
            Stop::After(_) => Instant::now() >= deadline,
            // Every consumer publishes after each batch, so the total is reached.
            Stop::Iterations(_) => control.flow.popped() >= control.values_to_pop,
        };
        if over {
            break;
        }
    }
    w.end();
    w.ops = w.popped.count;
}

/// Pushes a few values so there is a front node, then holds on inside an operation from
/// before the start until every other thread is done.
pub(super) fn stalled<H: Handle<u64>>(
    handle: &mut H,
    values: &mut Values,
    control: &RunControl<'_>,
    w: &mut Worker,
) {
    for _ in 0..PREFILL {
        let value = values.next();
        if handle.push(value).is_ok() {
            w.pushed.add(value);
        }
    }
    // Held from before the start: nothing the others retire is reclaimed behind its back.
    let held = handle.stall(&mut || hold_until_churned(control, w));
    w.held = Some(held);
}

/// The stalled thread's wait, inside its operation: from the start until every churning
/// thread is done, timed as its run.
pub(super) fn hold_until_churned(control: &RunControl<'_>, w: &mut Worker) {
    if !control.start.wait() {
        return;
    }
    w.start();
    while !control.churned.load(Ordering::Acquire) {
        thread::sleep(Duration::from_micros(200));
    }
    w.end();
}

/// What thread `index` of a run does.
#[derive(Clone, Copy, Debug)]
pub(super) enum Role {
    /// A set thread running the operation mix.
    Mixed,
    Pairs,
    Producer(usize),
    Consumer(usize),
    Stalled,
    /// A set thread that walks the whole set, again and again, until the others are done.
    Walker,
}

impl Role {
    /// Threads are numbered set threads first, then pairs, producers, consumers, the
    /// stalled one, the long reader.
    pub(super) fn of(shape: Shape, index: usize) -> Role {
        let mut i = index;
        if i < shape.mixed {
            return Role::Mixed;
        }
        i -= shape.mixed;
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
        i -= shape.consumers;
        if i < shape.stalled {
            return Role::Stalled;
        }
        Role::Walker
    }

    /// Whether the thread churns: runs its loop to the deadline, and counts in the run's
    /// elapsed time and throughput. The stalled thread and the long reader do not: they
    /// go on until the churning threads are done.
    pub(super) fn churns(self) -> bool {
        !matches!(self, Role::Stalled | Role::Walker)
    }
}
