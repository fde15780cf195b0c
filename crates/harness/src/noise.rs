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
//! Per run, once: the load average when it started, the CPU frequency governor where
//! the kernel exposes one. Everything is `None` where the kernel does not say, never 0.

use std::fs;

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
        }
    }
}

/// The machine-wide CPU time counters, in ticks: (steal, total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    steal: u64,
    total: u64,
}

impl CpuTimes {
    /// `/proc/stat`'s first line now, or `None` where there is none.
    pub(crate) fn now() -> Option<CpuTimes> {
        parse_proc_stat(&fs::read_to_string("/proc/stat").ok()?)
    }

    /// The share of CPU time stolen between `self` and `later`, in percent.
    pub(crate) fn steal_pct(self, later: CpuTimes) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let steal = later.steal.checked_sub(self.steal)?;
        (total > 0).then(|| 100.0 * steal as f64 / total as f64)
    }
}

/// The noise of one repeat, over all its workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Noise {
    pub steal_pct: Option<f64>,
    pub runqueue_delay_pct: Option<f64>,
    pub involuntary_switches: Option<u64>,
    pub migrations: Option<u64>,
}

impl Noise {
    /// The noise of a repeat: the machine's CPU times around it and every worker's own
    /// scheduler counts over it.
    pub(crate) fn of(
        before: Option<CpuTimes>,
        after: Option<CpuTimes>,
        workers: impl IntoIterator<Item = ThreadSched>,
    ) -> Noise {
        let workers: Vec<ThreadSched> = workers.into_iter().collect();
        let sum = |field: fn(&ThreadSched) -> Option<u64>| -> Option<u64> {
            workers.iter().map(field).sum()
        };
        let on_cpu = sum(|w| w.on_cpu_ns);
        let waiting = sum(|w| w.waiting_ns);
        Noise {
            steal_pct: before.zip(after).and_then(|(b, a)| b.steal_pct(a)),
            runqueue_delay_pct: on_cpu.zip(waiting).and_then(|(on, wait)| {
                let total = on + wait;
                (total > 0).then(|| 100.0 * wait as f64 / total as f64)
            }),
            involuntary_switches: sum(|w| w.involuntary),
            migrations: sum(|w| w.migrations),
        }
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
    Some(CpuTimes {
        steal,
        total: fields.iter().sum(),
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
        let pct = before.steal_pct(after).unwrap();
        assert!((pct - 100.0 * 50.0 / 240.0).abs() < 1e-9, "{pct}");
        assert_eq!(parse_proc_stat("intr 1 2 3\n"), None);
        assert_eq!(parse_proc_stat("cpu  1 2 x\n"), None);
        assert_eq!(before.steal_pct(before), None, "no time passed");
    }

    #[test]
    fn migrations_come_from_the_sched_file() {
        let text = "prog (1234, #threads: 3)\n---\nse.exec_start : 5.0\n\
                    se.nr_migrations                             :                    17\n";
        assert_eq!(parse_migrations(text), Some(17));
        assert_eq!(parse_migrations("nothing here"), None);
    }

    #[test]
    fn a_repeats_noise_sums_its_workers_and_is_absent_where_the_kernel_is_silent() {
        let worker = |on, waiting, involuntary| ThreadSched {
            on_cpu_ns: Some(on),
            waiting_ns: Some(waiting),
            migrations: None,
            involuntary: Some(involuntary),
        };
        let noise = Noise::of(None, None, [worker(300, 100, 2), worker(500, 100, 3)]);
        assert_eq!(noise.steal_pct, None);
        assert!((noise.runqueue_delay_pct.unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(noise.involuntary_switches, Some(5));
        assert_eq!(noise.migrations, None, "one worker without a count: no sum");
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
