//! Memory and garbage over time: a thread that samples the allocator's live counts and
//! the scheme's counters at a fixed interval while a run goes on.
//!
//! The sampler reads a handful of relaxed atomics per sample and sleeps in between; it is
//! spawned before the performance counters are opened, so its own work is not counted as
//! the backend's. Everything it records is relative to a baseline read once the container
//! is built, just before the workers start, so a row shows what the run added, not what
//! the harness or the empty container holds. It takes its last sample when the churning
//! workers are done, so the series covers the run and not the teardown after it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use reclaim_alloc::Live;
use reclaim_core::ReclaimStats;
use reclaim_results::{GarbagePoint, MemoryPoint};

use crate::gate::Gate;

/// What a sample reads from the run besides memory: garbage outstanding, and the CPU time
/// of the scheme's own threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    pub outstanding: u64,
    pub retired: Option<u64>,
    pub freed: Option<u64>,
    pub reclaimer_cpu_ns: Option<u64>,
}

impl Probe {
    /// The probe of a container's reclamation counters; `None` for containers that have
    /// none (baselines, channels).
    pub(crate) fn from_stats(stats: Option<ReclaimStats>) -> Option<Probe> {
        stats.map(|s| Probe {
            outstanding: s.outstanding(),
            retired: Some(s.retired),
            freed: Some(s.freed),
            reclaimer_cpu_ns: s.reclaimer_cpu_ns,
        })
    }
}

/// The samples of one run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Series {
    /// Live memory above the baseline; empty when the counting allocator is not installed.
    pub memory: Vec<MemoryPoint>,
    /// Garbage outstanding; `None` when the run has no reclamation counters.
    pub garbage: Option<Vec<GarbagePoint>>,
    /// The CPU time of the scheme's own threads (the `sweep` collector) at the latest
    /// sample, since the structure was built; `None` for schemes that run none.
    #[serde(default)]
    pub reclaimer_cpu_ns: Option<u64>,
}

/// One run's sampler. Build it, run it on its own thread, [`rebase`](Sampler::rebase) it
/// last before the workers start, stop it when they are done.
#[derive(Debug)]
pub(crate) struct Sampler {
    interval: Duration,
    baseline: Mutex<Live>,
    counting: bool,
    stopped: AtomicBool,
    /// The sampling thread, for `stop` to wake it from its sleep.
    thread: OnceLock<thread::Thread>,
    /// The allocator's peak at the last sample: the run's, not the teardown's.
    peak: AtomicU64,
    /// Allocated up front, so sampling does not allocate during the run.
    buffers: Mutex<Series>,
}

impl Sampler {
    /// A sampler for a run of about `duration`, sampling every `interval`. Reads the
    /// memory baseline and restarts the allocator's peak (again at
    /// [`rebase`](Sampler::rebase)).
    pub(crate) fn new(interval: Duration, duration: Duration) -> Sampler {
        let interval = interval.max(Duration::from_millis(1));
        let expected = (duration.as_nanos() / interval.as_nanos()).min(100_000) as usize;
        let capacity = expected + 64;
        let buffers = Mutex::new(Series {
            memory: Vec::with_capacity(capacity),
            garbage: Some(Vec::with_capacity(capacity)),
            reclaimer_cpu_ns: None,
        });
        let counting = reclaim_alloc::counting();
        let baseline = reclaim_alloc::live();
        reclaim_alloc::reset_peak();
        Sampler {
            interval,
            baseline: Mutex::new(baseline),
            counting,
            stopped: AtomicBool::new(false),
            thread: OnceLock::new(),
            peak: AtomicU64::new(0),
            buffers,
        }
    }

    /// Reads the memory baseline anew and restarts the allocator's peak: call it after the
    /// last allocation that is not the run's (the container's own) and before the run.
    pub(crate) fn rebase(&self) {
        *self.baseline.lock().unwrap_or_else(|p| p.into_inner()) = reclaim_alloc::live();
        reclaim_alloc::reset_peak();
    }

    fn baseline(&self) -> Live {
        *self.baseline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Samples from the moment `start` opens until [`stop`](Sampler::stop), then once more.
    pub(crate) fn run(&self, start: &Gate, probe: impl Fn() -> Option<Probe>) -> Series {
        let mut series =
            std::mem::take(&mut *self.buffers.lock().unwrap_or_else(|p| p.into_inner()));
        let _ = self.thread.set(thread::current());
        if !start.wait() {
            return series;
        }
        let baseline = self.baseline();
        let t0 = Instant::now();
        let mut next = t0;
        loop {
            let done = self.stopped.load(Ordering::Acquire);
            self.sample(&mut series, baseline, t0, &probe);
            if done {
                // The churning workers have exited, so their counts are flushed.
                self.peak
                    .store(reclaim_alloc::peak_live_bytes(), Ordering::Relaxed);
                break;
            }
            next += self.interval;
            let now = Instant::now();
            if next > now {
                // Parked rather than asleep: `stop` wakes it for the last sample at once.
                thread::park_timeout(next - now);
            } else {
                // Fell behind (an oversubscribed machine): skip the missed ticks.
                next = now;
            }
        }
        if !self.counting {
            series.memory.clear();
        }
        series
    }

    fn sample(
        &self,
        series: &mut Series,
        baseline: Live,
        t0: Instant,
        probe: &impl Fn() -> Option<Probe>,
    ) {
        let t_ms = t0.elapsed().as_secs_f64() * 1e3;
        let live = reclaim_alloc::live();
        series.memory.push(MemoryPoint {
            t_ms,
            bytes: live.bytes as i64 - baseline.bytes as i64,
            objects: live.objects as i64 - baseline.objects as i64,
        });
        match probe() {
            Some(p) => {
                if let Some(garbage) = &mut series.garbage {
                    garbage.push(GarbagePoint {
                        t_ms,
                        outstanding: p.outstanding,
                        retired: p.retired,
                        freed: p.freed,
                    });
                }
                series.reclaimer_cpu_ns = p.reclaimer_cpu_ns;
            }
            None => series.garbage = None,
        }
    }

    /// Ends the sampling after one last sample, taken now rather than at the next tick.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Whether live memory was counted (the counting allocator is installed).
    pub(crate) fn counting(&self) -> bool {
        self.counting
    }

    /// The highest live byte count between the baseline and the last sample, above the
    /// baseline. Read it after the sampling thread is joined.
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.peak
            .load(Ordering::Relaxed)
            .saturating_sub(self.baseline().bytes)
    }
}
