//! Noise made visible: what else the machine did to a repeat while it ran.
//!
//! A slow repeat on a shared machine is usually not the backend's doing. Four readings
//! say whose it was, each taken outside the measured loops:
//!
//! - **steal**: the share of every CPU's time the hypervisor gave to other guests
//!   (`/proc/stat`, the `steal` column), over the repeat;
//! - **run-queue delay**: the share of the workers' time they were ready to run but
//!   waited for a CPU (`/proc/thread-self/schedstat`: time on the CPU, time waiting) —
//!   from other processes, from the harness's own threads, or from more workers than
//!   cores;
//! - **involuntary context switches** of the workers (`getrusage`, `ru_nivcsw`): the
//!   scheduler took the CPU away mid-run;
//! - **migrations** of the workers between CPUs (`/proc/thread-self/sched`,
//!   `se.nr_migrations`; present where the kernel has scheduler debugging, else `None`).
//!
//! And from them, what the hypervisor **stole from the workers** ([`Noise::stolen_pct`]):
//! a worker's time that was neither on a CPU nor waiting for one is time it slept or
//! blocked, or time its virtual CPU did not run. A guest kernel with paravirtual steal
//! accounting (KVM's) leaves stolen time out of a thread's time on the CPU, so for a
//! worker that never slept (no voluntary context switch: every lock-free worker) that
//! remainder is exactly what was stolen from it, to the nanosecond. A worker that slept
//! is credited at most the steal of its CPU over the repeat (`/proc/stat`'s per-CPU
//! line, in clock ticks). The paired ratios are computed on throughput with that time
//! taken out (`row.rs`, `rounds.rs`): a hypervisor that steals more during one backend's
//! repeats than its reference's would otherwise move the ratio.
//!
//! Per run, once: the load average when it started, the CPU frequency governor where
//! the kernel exposes one. Everything is `None` where the kernel does not say, never 0.

use std::fs;
use std::time::Duration;

/// A worker's own scheduler counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ThreadSched {
    /// Nanoseconds on a CPU and waiting for one (schedstat).
    pub on_cpu_ns: Option<u64>,
    pub waiting_ns: Option<u64>,
    /// Moves between CPUs.
    pub migrations: Option<u64>,
    /// Involuntary context switches.
    pub involuntary: Option<u64>,
    /// Voluntary context switches: the thread slept or blocked.
    pub voluntary: Option<u64>,
    /// The CPU it ran on when last read.
    pub cpu: Option<usize>,
}

impl ThreadSched {
    /// The calling thread's counts now.
    pub(crate) fn now() -> ThreadSched {
        let (on_cpu_ns, waiting_ns) = match schedstat() {
            Some((on, waiting)) => (Some(on), Some(waiting)),
            None => (None, None),
        };
        ThreadSched {
            on_cpu_ns,
            waiting_ns,
            migrations: migrations(),
            involuntary: crate::rusage::thread_involuntary_switches(),
            voluntary: crate::rusage::thread_voluntary_switches(),
            cpu: current_cpu(),
        }
    }

    /// What happened between `self` and `later`.
    pub(crate) fn until(self, later: ThreadSched) -> ThreadSched {
        let delta = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?));
        ThreadSched {
            on_cpu_ns: delta(self.on_cpu_ns, later.on_cpu_ns),
            waiting_ns: delta(self.waiting_ns, later.waiting_ns),
            migrations: delta(self.migrations, later.migrations),
            involuntary: delta(self.involuntary, later.involuntary),
            voluntary: delta(self.voluntary, later.voluntary),
            // Where it was at the end; `stolen` uses it only if it cannot have moved.
            cpu: later.cpu,
        }
    }

    /// Nanoseconds stolen from this worker over `wall` (its own time from start to end),
    /// by the reckoning in the module docs; `None` where the kernel does not say.
    /// `cpu_steal_ns` is the steal of the CPUs over the same time: per CPU, and the
    /// average over all CPUs.
    fn stolen_ns(&self, wall_ns: u64, cpu_steal_ns: Option<(&[u64], u64)>) -> Option<u64> {
        let unaccounted = wall_ns.saturating_sub(self.on_cpu_ns? + self.waiting_ns?);
        if self.voluntary? == 0 {
            return Some(unaccounted);
        }
        let (per_cpu, average) = cpu_steal_ns?;
        // Its CPU's own steal if it stayed there (pinned, or no migration seen).
        let own = self
            .cpu
            .filter(|_| self.migrations == Some(0))
            .and_then(|cpu| per_cpu.get(cpu).copied());
        Some(unaccounted.min(own.unwrap_or(average)))
    }
}

/// The machine-wide CPU time counters, in ticks: (steal, total), and each CPU's steal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    steal: u64,
    total: u64,
    /// Steal of CPU `i` at index `i` (`None` for a CPU the file does not list).
    per_cpu_steal: Vec<Option<u64>>,
}

impl CpuTimes {
    /// `/proc/stat`'s first line now, or `None` where there is none.
    pub(crate) fn now() -> Option<CpuTimes> {
        parse_proc_stat(&fs::read_to_string("/proc/stat").ok()?)
    }

    /// The share of CPU time stolen between `self` and `later`, in percent.
    pub(crate) fn steal_pct(&self, later: &CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let steal = later.steal.checked_sub(self.steal)?;
        (total > 0).then(|| 100.0 * steal as f64 / total as f64)
    }

    /// Nanoseconds stolen between `self` and `later`: from each CPU (0 for a CPU not
    /// listed both times), and on average per CPU.
    fn steal_ns(&self, later: &CpuTimes) -> Option<(Vec<u64>, u64)> {
        let tick = tick_ns()?;
        let cpus = later.per_cpu_steal.len().max(1) as u64;
        let average = later.steal.checked_sub(self.steal)? * tick / cpus;
        let per_cpu = later
            .per_cpu_steal
            .iter()
            .enumerate()
            .map(|(i, after)| {
                let before = self.per_cpu_steal.get(i).copied().flatten();
                after
                    .zip(before)
                    .map_or(0, |(a, b)| a.saturating_sub(b) * tick)
            })
            .collect();
        Some((per_cpu, average))
    }
}

/// Nanoseconds per clock tick of `/proc/stat`.
fn tick_ns() -> Option<u64> {
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz)
        .ok()
        .filter(|&hz| hz > 0)
        .map(|hz| 1_000_000_000 / hz)
}

/// The CPU the calling thread runs on now.
fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and only reports.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// The noise of one repeat, over all its workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Noise {
    pub steal_pct: Option<f64>,
    pub runqueue_delay_pct: Option<f64>,
    pub involuntary_switches: Option<u64>,
    pub migrations: Option<u64>,
    /// The share of the repeat's time stolen from its workers by the hypervisor, on
    /// average over the workers (see the module docs), in percent.
    #[serde(default)]
    pub stolen_pct: Option<f64>,
}

impl Noise {
    /// The noise of a repeat that lasted `elapsed`: the machine's CPU times around it and
    /// every worker's own scheduler counts and time from its start to its end over it.
    pub(crate) fn of(
        before: Option<&CpuTimes>,
        after: Option<&CpuTimes>,
        elapsed: Duration,
        workers: impl IntoIterator<Item = (ThreadSched, Duration)>,
    ) -> Noise {
        let workers: Vec<(ThreadSched, Duration)> = workers.into_iter().collect();
        let sum = |field: fn(&ThreadSched) -> Option<u64>| -> Option<u64> {
            workers.iter().map(|(w, _)| field(w)).sum()
        };
        let on_cpu = sum(|w| w.on_cpu_ns);
        let waiting = sum(|w| w.waiting_ns);
        let cpu_steal = before.zip(after).and_then(|(b, a)| b.steal_ns(a));
        let stolen: Option<u64> = workers
            .iter()
            .map(|(w, wall)| {
                let wall = u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX);
                w.stolen_ns(wall, cpu_steal.as_ref().map(|(p, a)| (p.as_slice(), *a)))
            })
            .sum();
        let elapsed_ns = elapsed.as_nanos() as f64;
        Noise {
            steal_pct: before.zip(after).and_then(|(b, a)| b.steal_pct(a)),
            runqueue_delay_pct: on_cpu.zip(waiting).and_then(|(on, wait)| {
                let total = on + wait;
                (total > 0).then(|| 100.0 * wait as f64 / total as f64)
            }),
            involuntary_switches: sum(|w| w.involuntary),
            migrations: sum(|w| w.migrations),
            stolen_pct: stolen
                .filter(|_| !workers.is_empty() && elapsed_ns > 0.0)
                .map(|stolen| 100.0 * stolen as f64 / workers.len() as f64 / elapsed_ns),
        }
    }

    /// Throughput `ops_per_sec` with the time stolen from the workers taken out, or `None`
    /// where that is unknown or implausible (over 90% of the repeat).
    pub(crate) fn unstolen(&self, ops_per_sec: f64) -> Option<f64> {
        let stolen = self.stolen_pct.filter(|p| (0.0..=90.0).contains(p))?;
        Some(ops_per_sec / (1.0 - stolen / 100.0))
    }
}

/// The 1-minute load average now.
pub fn load_average() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The first CPU's frequency governor (`performance`, `ondemand`, `schedutil`, …), where
/// the kernel exposes one (not in most virtual machines).
pub fn governor() -> Option<String> {
    let text = fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").ok()?;
    Some(text.trim().to_owned()).filter(|g| !g.is_empty())
}

/// (steal, total) ticks from the `cpu` line of `/proc/stat`: user, nice, system, idle,
/// iowait, irq, softirq, steal, guest, guest_nice. Guest time is already counted in user
/// and nice, so it is left out of the total.
fn parse_proc_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let steal = *fields.get(7)?;
    let mut per_cpu_steal = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(cpu) = words.next().and_then(|w| w.strip_prefix("cpu")) else {
            continue;
        };
        let Ok(cpu) = cpu.parse::<usize>() else {
            continue;
        };
        if per_cpu_steal.len() <= cpu {
            per_cpu_steal.resize(cpu + 1, None);
        }
        per_cpu_steal[cpu] = words.nth(7).and_then(|w| w.parse().ok());
    }
    Some(CpuTimes {
        steal,
        total: fields.iter().sum(),
        per_cpu_steal,
    })
}

/// The calling thread's (time on a CPU, time waiting for one), in nanoseconds.
fn schedstat() -> Option<(u64, u64)> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// The calling thread's migrations between CPUs.
fn migrations() -> Option<u64> {
    let text = fs::read_to_string("/proc/thread-self/sched").ok()?;
    parse_migrations(&text)
}

fn parse_migrations(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("se.nr_migrations"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_a_share_of_all_cpu_time() {
        let before = parse_proc_stat("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n").unwrap();
        let after = parse_proc_stat("cpu  200 0 60 880 10 0 0 90 7 0\n").unwrap();
        // 100 + 10 + 80 + 50 = 240 ticks passed, 50 of them stolen.
        let pct = before.steal_pct(&after).unwrap();
        assert!((pct - 100.0 * 50.0 / 240.0).abs() < 1e-9, "{pct}");
        assert_eq!(parse_proc_stat("intr 1 2 3\n"), None);
        assert_eq!(parse_proc_stat("cpu  1 2 x\n"), None);
        assert_eq!(before.steal_pct(&before), None, "no time passed");
    }

    #[test]
    fn migrations_come_from_the_sched_file() {
        let text = "prog (1234, #threads: 3)\n---\nse.exec_start : 5.0\n\
                    se.nr_migrations                             :                    17\n";
        assert_eq!(parse_migrations(text), Some(17));
        assert_eq!(parse_migrations("nothing here"), None);
    }

    fn worker(on: u64, waiting: u64, involuntary: u64) -> ThreadSched {
        ThreadSched {
            on_cpu_ns: Some(on),
            waiting_ns: Some(waiting),
            migrations: None,
            involuntary: Some(involuntary),
            voluntary: Some(0),
            cpu: None,
        }
    }

    #[test]
    fn a_repeats_noise_sums_its_workers_and_is_absent_where_the_kernel_is_silent() {
        let wall = Duration::from_nanos(500);
        let noise = Noise::of(
            None,
            None,
            wall,
            [(worker(300, 100, 2), wall), (worker(500, 100, 3), wall)],
        );
        assert_eq!(noise.steal_pct, None);
        assert!((noise.runqueue_delay_pct.unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(noise.involuntary_switches, Some(5));
        assert_eq!(noise.migrations, None, "one worker without a count: no sum");
    }

    /// A worker that never slept lost to the hypervisor all its time that was neither on
    /// a CPU nor waiting for one; one that slept is credited at most its CPU's steal.
    #[test]
    fn time_stolen_from_the_workers() {
        let ms = |n: u64| n * 1_000_000;
        // 100 ms each: one spun (70 on the CPU, 10 waiting: 20 stolen), one slept on CPU
        // 1 (50 on, 0 waiting, 50 unaccounted) while CPU 1 lost 10 ms.
        let spinner = worker(ms(70), ms(10), 0);
        let sleeper = ThreadSched {
            voluntary: Some(4),
            migrations: Some(0),
            cpu: Some(1),
            ..worker(ms(50), 0, 0)
        };
        let stat = |cpu0: u64, cpu1: u64| {
            parse_proc_stat(&format!(
                "cpu  0 0 0 0 0 0 0 {}\ncpu0 0 0 0 0 0 0 0 {cpu0}\ncpu1 0 0 0 0 0 0 0 {cpu1}\n",
                cpu0 + cpu1
            ))
            .unwrap()
        };
        let tick = tick_ns().unwrap();
        let (before, after) = (stat(0, 0), stat(0, ms(10) / tick));
        let wall = Duration::from_millis(100);
        let noise = Noise::of(
            Some(&before),
            Some(&after),
            wall,
            [(spinner, wall), (sleeper, wall)],
        );
        // (20 + 10) / 2 workers = 15 ms of 100.
        assert!((noise.stolen_pct.unwrap() - 15.0).abs() < 1e-9, "{noise:?}");
        assert!((noise.unstolen(100.0).unwrap() - 100.0 / 0.85).abs() < 1e-9);
        // A sleeper that may have moved is credited the average CPU's steal (5 ms).
        let moved = ThreadSched {
            migrations: None,
            ..sleeper
        };
        let noise = Noise::of(Some(&before), Some(&after), wall, [(moved, wall)]);
        assert!((noise.stolen_pct.unwrap() - 5.0).abs() < 1e-9, "{noise:?}");
        // Without the machine's steal, a sleeper's share is unknown; a spinner's is not.
        let noise = Noise::of(None, None, wall, [(sleeper, wall)]);
        assert_eq!(noise.stolen_pct, None);
        assert_eq!(noise.unstolen(100.0), None);
        let noise = Noise::of(None, None, wall, [(spinner, wall)]);
        assert!((noise.stolen_pct.unwrap() - 20.0).abs() < 1e-9);
    }

    /// Where the kernel has the files, they parse, and time on the CPU only grows.
    #[test]
    fn this_machines_own_counts_read_as_numbers() {
        let now = ThreadSched::now();
        if std::path::Path::new("/proc/thread-self/schedstat").exists() {
            assert!(
                now.on_cpu_ns.is_some() && now.waiting_ns.is_some(),
                "{now:?}"
            );
            let spun = std::hint::black_box((0..1_000_000u64).sum::<u64>());
            let later = ThreadSched::now();
            assert!(
                later.on_cpu_ns >= now.on_cpu_ns,
                "{now:?} → {later:?} ({spun})"
            );
        }
        if std::path::Path::new("/proc/stat").exists() {
            assert!(CpuTimes::now().is_some());
        }
    }
}
