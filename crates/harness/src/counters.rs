//! Hardware and software counters through perf-event, the way `perf stat` counts a run.
//!
//! One [`Counters`] measures one run across all of its worker threads:
//!
//! - **Inherit.** Every counter is opened on the coordinating thread with `inherit` set, so
//!   each thread that thread (or one of its descendants) spawns *afterwards* gets a child
//!   counter. The kernel applies enable/disable on the parent fd to every child, and a
//!   read of the parent sums the live children plus the totals that exited children
//!   folded into it. Threads spawned before [`Counters::open`], or by threads outside that
//!   tree (a global pool started earlier), are not counted.
//! - **No groups.** `inherit` cannot be combined with `PERF_FORMAT_GROUP` on many kernels,
//!   so each counter is its own event and may be multiplexed on its own.
//! - **Scaling.** A multiplexed counter is scaled by `time_enabled / time_running`; one that
//!   never got onto the PMU (`time_running == 0`) is reported as missing, not as zero.
//! - **Baseline, not reset.** `PERF_EVENT_IOC_RESET` zeroes the live counts but neither the
//!   totals of exited threads nor the enabled/running times, so [`Counters::enable`] reads
//!   a baseline and [`Counters::read`] reports the difference.
//! - **User space only.** perf-event 0.4.7 (pinned for its 32-bit ARM bindings) always sets
//!   `exclude_kernel` and `exclude_hv`: the hardware counters are what `perf stat` shows as
//!   `instructions:u`, `cycles:u`, ... and kernel work (syscalls, fault handling) is not in
//!   them. task-clock is time, so it includes the kernel; page-faults are raised from user
//!   mode, so they are complete. Context switches happen only in the kernel and would
//!   always read 0, so `context-switches` is reported as unavailable with that reason here;
//!   the harness fills it in from the workers' own `getrusage` counts (`rusage`).
//! - **Zero rule.** Some hypervisors and ARM kernels accept a hardware event that then never
//!   counts. A hardware counter that reads 0 after the observed threads ran for at least
//!   [`MIN_RUN_NS`] is reported as missing ("opened but counted nothing") rather than as a
//!   measured 0; the cache and branch-miss counters may be a true 0 only when
//!   instructions, cycles or branches proved the PMU counts.
//!
//! Nothing here runs inside a measured loop: the counters are enabled just before the
//! workers are released and disabled after they finish.

use std::collections::BTreeMap;

pub use reclaim_results::Counter;

/// CPU time (summed over the observed threads) after which a hardware counter reading 0
/// is taken as a PMU that does not count. Shorter runs leave the question open.
pub const MIN_RUN_NS: u64 = 1_000_000;

/// How long [`availability`] spins with the counters enabled, well above [`MIN_RUN_NS`].
const PROBE_SPIN: std::time::Duration = std::time::Duration::from_millis(10);

/// One run's counter values, by [`Counter::name`]: `values` has every counter of
/// [`Counter::ALL`]; each `None` has its reason in `errors`, and only those have one.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Readings {
    /// Each counter's value over the repeat, `None` where it could not be counted.
    pub values: BTreeMap<String, Option<u64>>,
    /// Why a counter has no value ("not supported", a permission error), by name.
    pub errors: BTreeMap<String, String>,
}

impl Readings {
    /// Every counter missing for the same `reason`.
    pub fn unavailable(reason: &str) -> Readings {
        let mut readings = Readings::default();
        for counter in Counter::ALL {
            readings.set(counter, Err(reason.to_owned()));
        }
        readings
    }

    /// The value of `counter`, if it was counted.
    pub fn get(&self, counter: Counter) -> Option<u64> {
        self.values.get(counter.name()).copied().flatten()
    }

    /// Sets `counter` to a value, or to `None` with the reason. The harness uses it for
    /// the counter perf-event cannot give (context switches, from getrusage).
    pub fn set(&mut self, counter: Counter, value: Result<u64, String>) {
        let name = counter.name();
        self.values
            .insert(name.to_owned(), value.as_ref().ok().copied());
        match value {
            Ok(_) => self.errors.remove(name),
            Err(reason) => self.errors.insert(name.to_owned(), reason),
        };
    }
}

/// The counters of one run, open on the calling thread and inherited by the threads it
/// spawns afterwards. See the module documentation for the semantics.
#[derive(Debug)]
pub struct Counters(imp::Counters);

impl Counters {
    /// Opens every counter, disabled, for the calling thread and the threads it spawns
    /// from now on. Never fails: a counter that cannot be opened is kept with its reason.
    pub fn open() -> Counters {
        Counters(imp::Counters::open())
    }

    /// Starts a fresh measurement: later [`read`](Counters::read)s count from here.
    pub fn enable(&mut self) {
        self.0.enable();
    }

    /// Stops counting; call after the workers finished (or before reading live ones).
    pub fn disable(&mut self) {
        self.0.disable();
    }

    /// The counts since [`enable`](Counters::enable), over every observed thread.
    pub fn read(&mut self) -> Readings {
        self.0.read()
    }
}

/// Which counters this machine can provide, found by counting a short busy spin, in
/// [`Counter::ALL`]'s order.
pub fn availability() -> Vec<(Counter, Result<(), String>)> {
    let mut counters = Counters::open();
    counters.enable();
    let start = std::time::Instant::now();
    let mut spins = 0_u64;
    while start.elapsed() < PROBE_SPIN {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
    counters.disable();
    let mut readings = counters.read();
    let mut available =
        |counter: Counter| readings.errors.remove(counter.name()).map_or(Ok(()), Err);
    Counter::ALL
        .map(|counter| (counter, available(counter)))
        .into()
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Readings;

    #[derive(Debug)]
    pub struct Counters;

    impl Counters {
        pub fn open() -> Counters {
            Counters
        }
        pub fn enable(&mut self) {}
        pub fn disable(&mut self) {}
        pub fn read(&mut self) -> Readings {
            Readings::unavailable("perf events need Linux")
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{Counter, MIN_RUN_NS, Readings};
    use perf_event::events::{Event, Hardware, Software};
    use perf_event::{Builder, Counter as PerfCounter};
    use std::io;

    /// Hardware counters that cannot read 0 on a working PMU once any code ran.
    pub(super) const ALWAYS_COUNTING: [Counter; 3] =
        [Counter::Instructions, Counter::Cycles, Counter::Branches];

    /// Perf's totals for one counter: the count and, in ns, how long it was enabled and
    /// on the PMU (summed over the observed threads, which only accrue time while running).
    #[derive(Clone, Copy, Debug, Default)]
    pub(super) struct Sample {
        pub count: u64,
        pub enabled: u64,
        pub running: u64,
    }

    #[derive(Debug)]
    struct Slot {
        name: Counter,
        counter: Result<PerfCounter, String>,
        baseline: Sample,
    }

    #[derive(Debug)]
    pub struct Counters(Vec<Slot>);

    impl Counters {
        pub fn open() -> Counters {
            let opened = Counter::ALL.map(|name| (name, open_one(name)));
            // Permission checks do not depend on the event type, so a hardware event
            // refused while a software one opened is refused for want of a PMU.
            let software_opened = opened
                .iter()
                .any(|(name, opened)| !name.is_hardware() && matches!(opened, Ok(Ok(_))));
            let slots = opened.into_iter().map(|(name, opened)| Slot {
                name,
                counter: match opened {
                    Ok(Ok(counter)) => Ok(counter),
                    Ok(Err(err)) => Err(open_error(&err, name.is_hardware(), software_opened)),
                    Err(reason) => Err(reason.to_owned()),
                },
                baseline: Sample::default(),
            });
            Counters(slots.collect())
        }

        pub fn enable(&mut self) {
            self.each("enabling", |counter, baseline| {
                *baseline = sample(counter)?;
                counter.enable()
            });
        }

        pub fn disable(&mut self) {
            self.each("disabling", |counter, _| counter.disable());
        }

        /// Applies `f` to every open counter; one that fails is dropped with the reason.
        fn each(
            &mut self,
            what: &str,
            f: impl Fn(&mut PerfCounter, &mut Sample) -> io::Result<()>,
        ) {
            for slot in &mut self.0 {
                if let Ok(counter) = &mut slot.counter
                    && let Err(err) = f(counter, &mut slot.baseline)
                {
                    slot.counter = Err(format!("{what} failed: {err}"));
                }
            }
        }

        pub fn read(&mut self) -> Readings {
            let samples: Vec<_> = (self.0.iter_mut())
                .map(|slot| {
                    let sample = match &mut slot.counter {
                        Ok(counter) => sample(counter)
                            .map(|now| now.since(slot.baseline))
                            .map_err(|err| format!("reading failed: {err}")),
                        Err(reason) => Err(reason.clone()),
                    };
                    (slot.name, sample)
                })
                .collect();
            evaluate(&samples)
        }
    }

    impl Sample {
        fn since(self, base: Sample) -> Sample {
            Sample {
                count: self.count.saturating_sub(base.count),
                enabled: self.enabled.saturating_sub(base.enabled),
                running: self.running.saturating_sub(base.running),
            }
        }
    }

    fn sample(counter: &mut PerfCounter) -> io::Result<Sample> {
        let read = counter.read_count_and_time()?;
        Ok(Sample {
            count: read.count,
            enabled: read.time_enabled,
            running: read.time_running,
        })
    }

    /// Opens `counter` inherited and disabled; the outer error is a reason not to try at
    /// all.
    fn open_one(counter: Counter) -> Result<io::Result<PerfCounter>, &'static str> {
        let event: Event = match counter {
            Counter::Instructions => Hardware::INSTRUCTIONS.into(),
            Counter::Cycles => Hardware::CPU_CYCLES.into(),
            Counter::CacheReferences => Hardware::CACHE_REFERENCES.into(),
            Counter::CacheMisses => Hardware::CACHE_MISSES.into(),
            Counter::Branches => Hardware::BRANCH_INSTRUCTIONS.into(),
            Counter::BranchMisses => Hardware::BRANCH_MISSES.into(),
            Counter::TaskClock => Software::TASK_CLOCK.into(),
            Counter::PageFaults => Software::PAGE_FAULTS.into(),
            Counter::ContextSwitches => return Err(CONTEXT_SWITCHES),
        };
        Ok(Builder::new().inherit(true).kind(event).build())
    }

    const CONTEXT_SWITCHES: &str = "not countable: perf-event 0.4.7 always excludes the \
        kernel, where context switches happen, so it would read 0";

    // asm-generic errno values, shared by x86, ARM and AArch64 Linux.
    const ENOENT: i32 = 2;
    const ENODEV: i32 = 19;
    const EINVAL: i32 = 22;
    const EOPNOTSUPP: i32 = 95;

    fn open_error(err: &io::Error, hardware: bool, software_opened: bool) -> String {
        let text = err.to_string();
        let why = format!(
            "perf_event_open: {}",
            text.split(" (os error").next().unwrap_or("")
        );
        let denied = err.kind() == io::ErrorKind::PermissionDenied;
        if reclaim_emulation::emulation().is_some() {
            // Whatever errno qemu made up, the kernel never saw the request.
            format!(
                "unavailable under emulation ({why}): qemu user mode does not hand perf \
                 events to the kernel; run on the machine itself"
            )
        } else if denied && hardware && software_opened {
            format!(
                "no PMU: unsupported by this CPU, kernel or hypervisor ({why}, while software counters open)"
            )
        } else if denied && perfmon_capable() {
            format!("permission denied despite CAP_PERFMON ({why}): seccomp or an LSM blocks it")
        } else if denied {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid");
            let paranoid = paranoid.as_deref().map_or("unknown", str::trim);
            format!(
                "permission denied (kernel.perf_event_paranoid = {paranoid}; \
                 `sysctl kernel.perf_event_paranoid=1` or run as root)"
            )
        } else if err.kind() == io::ErrorKind::Unsupported {
            format!("kernel built without perf events ({why})")
        } else if let Some(ENOENT | ENODEV | EINVAL | EOPNOTSUPP) = err.raw_os_error() {
            format!("no PMU: unsupported by this CPU, kernel or hypervisor ({why})")
        } else {
            why
        }
    }

    /// Whether the effective capabilities hold CAP_PERFMON (38) or CAP_SYS_ADMIN (21),
    /// which lift the perf_event_paranoid restrictions.
    fn perfmon_capable() -> bool {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let caps = status.lines().find_map(|line| line.strip_prefix("CapEff:"));
        caps.and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << 38 | 1 << 21) != 0)
    }

    /// Turns raw samples into readings: scaling, the never-scheduled case and the zero rule.
    pub(super) fn evaluate(samples: &[(Counter, Result<Sample, String>)]) -> Readings {
        let mut readings = Readings::default();
        for (name, sample) in samples {
            let value = sample.clone().and_then(|s| match (s.enabled, s.running) {
                (0, _) => Err("never enabled".to_owned()),
                (_, 0) => Err("never scheduled (multiplexed out or no PMU)".to_owned()),
                (enabled, running) => {
                    let scaled = u128::from(s.count) * u128::from(enabled) / u128::from(running);
                    Ok(u64::try_from(scaled).unwrap_or(u64::MAX))
                }
            });
            readings.set(*name, value);
        }
        let pmu_counts = ALWAYS_COUNTING
            .iter()
            .any(|&name| readings.get(name) > Some(0));
        for (name, sample) in samples {
            let Ok(sample) = sample else { continue };
            let zero = readings.get(*name) == Some(0) && name.is_hardware();
            if !zero || (pmu_counts && !ALWAYS_COUNTING.contains(name)) {
                continue;
            }
            let reason = if sample.enabled >= MIN_RUN_NS {
                "opened but counted nothing: no PMU exposed"
            } else {
                "counted nothing in under 1 ms of CPU time: too short to tell from a missing PMU"
            };
            readings.set(*name, Err(reason.to_owned()));
        }
        readings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_and_availability_answer_for_every_counter() {
        let readings = Readings::unavailable("no perf here");
        assert_eq!(
            readings.values,
            Counter::ALL.map(|c| (c.name().to_owned(), None)).into()
        );
        assert_eq!(
            readings.errors,
            Counter::ALL
                .map(|c| (c.name().to_owned(), "no perf here".into()))
                .into()
        );
        let counters: Vec<_> = availability().into_iter().map(|(c, _)| c).collect();
        assert_eq!(counters, Counter::ALL);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod linux_tests {
    use super::imp::{ALWAYS_COUNTING, Sample, evaluate};
    use super::*;
    use perf_event::events::{Event, Software};
    use std::hint::black_box;
    use std::sync::{Arc, Barrier, mpsc};

    /// What `f` alone adds to `event`, from a counter that observes only this thread
    /// (0 where perf is refused: those tests then skip).
    fn own(event: impl Into<Event>, f: impl FnOnce()) -> u64 {
        let Ok(mut own) = perf_event::Builder::new().kind(event).build() else {
            f();
            return 0;
        };
        own.enable().unwrap();
        f();
        own.disable().unwrap();
        own.read().unwrap()
    }

    fn busy() {
        let sum = (0..20_000_000_u64).fold(0, |sum, i| black_box(sum + i));
        black_box(sum);
    }

    /// The harness flow: workers spawned after `open` wait on a barrier released right after
    /// `enable`; two exit, one is still alive at the read. With `count_the_work` false the
    /// counters are disabled again before the release. Returns the readings and the sum of
    /// the workers' own task-clock for `busy`.
    fn run(count_the_work: bool) -> (Readings, u64) {
        let mut counters = Counters::open();
        let start = Arc::new(Barrier::new(4));
        let (done, done_rx) = mpsc::channel();
        let (exit, exit_rx) = mpsc::channel::<()>();
        let worker = |done: mpsc::Sender<u64>, exit: Option<mpsc::Receiver<()>>| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                done.send(own(Software::TASK_CLOCK, busy)).unwrap();
                if let Some(exit) = exit {
                    exit.recv().unwrap();
                }
            })
        };
        let workers = [worker(done.clone(), None), worker(done.clone(), None)];
        let alive = worker(done, Some(exit_rx));
        counters.enable();
        if !count_the_work {
            counters.disable();
        }
        start.wait();
        workers
            .into_iter()
            .for_each(|worker| worker.join().unwrap());
        let workers_cpu = done_rx.iter().take(3).sum();
        counters.disable();
        let readings = counters.read();
        exit.send(()).unwrap();
        alive.join().unwrap();
        assert_honest(&readings);
        (readings, workers_cpu)
    }

    /// Every counter has a value or a reason, never both; no hardware counter claims a 0
    /// unless instructions, cycles or branches proved that the PMU counts.
    fn assert_honest(readings: &Readings) {
        let names: Vec<_> = readings.values.keys().map(String::as_str).collect();
        let mut expected = Counter::ALL.map(Counter::name);
        expected.sort_unstable();
        assert_eq!(names, expected);
        for counter in Counter::ALL {
            let name = counter.name();
            let has_value = readings.values[name].is_some();
            assert_ne!(
                has_value,
                readings.errors.contains_key(name),
                "{name}: {readings:?}"
            );
        }
        let pmu_counts = ALWAYS_COUNTING.iter().any(|&n| readings.get(n) > Some(0));
        for counter in Counter::ALL.into_iter().filter(|c| c.is_hardware()) {
            let zero_allowed = pmu_counts && !ALWAYS_COUNTING.contains(&counter);
            assert!(
                zero_allowed || readings.get(counter) != Some(0),
                "{counter}: {readings:?}"
            );
        }
        assert_eq!(
            readings.get(Counter::ContextSwitches),
            None,
            "it would always read 0"
        );
    }

    /// Whether software counting works here; false (skip) only when the kernel refused it.
    fn perf_works(readings: &Readings) -> bool {
        let reason = readings.errors.get(Counter::TaskClock.name());
        let refused = reason.is_some_and(|r| r.contains("perf_event_open") || r.contains("denied"));
        if refused {
            eprintln!("skipping: task-clock unavailable: {reason:?}");
        }
        !refused
    }

    #[test]
    fn counters_include_exited_and_running_child_threads() {
        let (readings, workers_cpu) = run(true);
        if !perf_works(&readings) {
            return;
        }
        let total = readings
            .get(Counter::TaskClock)
            .expect("task-clock counted");
        // Inherited counters see each worker for longer than it measured itself.
        assert!(
            total >= workers_cpu,
            "task-clock {total} < workers' own {workers_cpu}"
        );
        // A window of a few syscalls may even read as never enabled.
        let control = run(false).0.get(Counter::TaskClock).unwrap_or(0);
        assert!(
            control * 10 < total,
            "disabled during the work {control}, enabled {total}"
        );
    }

    #[test]
    fn page_faults_include_a_child_touching_fresh_memory() {
        let mut counters = Counters::open();
        counters.enable();
        let child_faults = std::thread::spawn(|| {
            let mut memory = vec![0_u8; 64 << 20]; // zeroed pages are mapped at first touch
            let touch = || {
                memory
                    .chunks_mut(4096)
                    .for_each(|page| page[0] = black_box(1))
            };
            own(Software::PAGE_FAULTS, touch)
        })
        .join()
        .unwrap();
        counters.disable();
        let readings = counters.read();
        assert_honest(&readings);
        if !perf_works(&readings) {
            return;
        }
        let faults = readings
            .get(Counter::PageFaults)
            .expect("page-faults counted");
        assert!(
            faults >= child_faults,
            "page-faults {faults} < the child's own {child_faults}"
        );
        // Transparent huge pages may fault 2 MiB or more at a time; otherwise pages are at
        // most 64 KiB, so 64 MiB take at least 1024 faults.
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
        let least = if thp.is_ok_and(|mode| mode.contains("[always]")) {
            1
        } else {
            512
        };
        assert!(
            child_faults >= least,
            "touching 64 MiB faulted {child_faults} times"
        );
    }

    #[test]
    fn evaluate_scales_drops_unscheduled_and_distrusts_hardware_zeros() {
        let at = |count, enabled, running| {
            Ok(Sample {
                count,
                enabled,
                running,
            })
        };
        let long = MIN_RUN_NS * 5;
        let dead = evaluate(&[
            (Counter::Instructions, at(0, long, 0)),
            (Counter::Branches, at(0, MIN_RUN_NS / 2, MIN_RUN_NS / 2)),
            (Counter::CacheMisses, at(0, long, long)),
            (Counter::PageFaults, at(0, long, long)),
            (Counter::TaskClock, Err("gone".to_owned())),
        ]);
        let no_pmu = "opened but counted nothing: no PMU exposed";
        assert_eq!(
            dead.errors["instructions"],
            "never scheduled (multiplexed out or no PMU)"
        );
        assert!(dead.errors["branches"].contains("too short"));
        assert_eq!(dead.errors["cache-misses"], no_pmu);
        assert_eq!(
            dead.get(Counter::PageFaults),
            Some(0),
            "software zeros are real"
        );
        assert_eq!(dead.errors["task-clock"], "gone");

        let alive = evaluate(&[
            (Counter::Cycles, at(1_000, 4_000_000, 1_000_000)),
            (Counter::Branches, at(0, long, long)),
            (Counter::CacheMisses, at(0, long, long)),
        ]);
        assert_eq!(
            alive.get(Counter::Cycles),
            Some(4_000),
            "scaled by enabled / running"
        );
        assert_eq!(alive.errors["branches"], no_pmu);
        assert_eq!(
            alive.get(Counter::CacheMisses),
            Some(0),
            "a true 0 once the PMU counts"
        );
    }
}
