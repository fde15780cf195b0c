//! The performance counters a row records: one list, in one order, for the harness that
//! counts them, the CSV export, `reclaim-bench list --counters` and the scripts that read
//! that.

use std::fmt;

/// A counter of [`Row::counters`](crate::Row::counters): a perf event, counted over the
/// workers of a repeat, or (`context-switches`) the workers' own `getrusage` counts.
///
/// Result files key counters by [`name`](Counter::name), so the names are part of the
/// file format and never change; a file may hold names this enum does not know (a newer
/// harness), which readers keep as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    /// `task-clock`: CPU time of the counted threads, in nanoseconds.
    TaskClock,
    /// `context-switches`: the workers' voluntary and involuntary switches.
    ContextSwitches,
    /// `page-faults`: page faults, minor and major.
    PageFaults,
    /// `cycles`: CPU cycles in user space (hardware; unsupported under most VMs).
    Cycles,
    /// `instructions`: instructions retired in user space (hardware).
    Instructions,
    /// `branches`: branch instructions in user space (hardware).
    Branches,
    /// `branch-misses`: mispredicted branches in user space (hardware).
    BranchMisses,
    /// `cache-references`: cache accesses, usually last-level, in user space (hardware).
    CacheReferences,
    /// `cache-misses`: cache misses, usually last-level, in user space (hardware).
    CacheMisses,
}

impl Counter {
    /// Every counter in the canonical order, the order `perf stat` lists them in by
    /// default: software counters, then hardware ones. The CSV export's columns,
    /// `list`, `list --counters` and `scripts/perf.sh` follow it.
    pub const ALL: [Counter; 9] = [
        Counter::TaskClock,
        Counter::ContextSwitches,
        Counter::PageFaults,
        Counter::Cycles,
        Counter::Instructions,
        Counter::Branches,
        Counter::BranchMisses,
        Counter::CacheReferences,
        Counter::CacheMisses,
    ];

    /// The name a result file, the CSV header and `list --counters` use.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::TaskClock => "task-clock",
            Counter::ContextSwitches => "context-switches",
            Counter::PageFaults => "page-faults",
            Counter::Cycles => "cycles",
            Counter::Instructions => "instructions",
            Counter::Branches => "branches",
            Counter::BranchMisses => "branch-misses",
            Counter::CacheReferences => "cache-references",
            Counter::CacheMisses => "cache-misses",
        }
    }

    /// The event as `perf stat -e` and `perf list` name it: the counter's own name, which
    /// was chosen to be perf's, so that `scripts/perf.sh` can hand `list --counters` to
    /// `perf stat`.
    pub const fn perf_event(self) -> &'static str {
        self.name()
    }

    /// The unit of a value, `None` for a count of events.
    pub const fn unit(self) -> Option<&'static str> {
        match self {
            Counter::TaskClock => Some("ns"),
            _ => None,
        }
    }

    /// What it counts, in a few words.
    pub const fn description(self) -> &'static str {
        match self {
            Counter::TaskClock => "CPU time of the counted threads, kernel included",
            Counter::ContextSwitches => "the workers' context switches (getrusage)",
            Counter::PageFaults => "page faults",
            Counter::Cycles => "CPU cycles in user space",
            Counter::Instructions => "instructions retired in user space",
            Counter::Branches => "branch instructions in user space",
            Counter::BranchMisses => "mispredicted branches in user space",
            Counter::CacheReferences => "cache accesses (usually last-level) in user space",
            Counter::CacheMisses => "cache misses (usually last-level) in user space",
        }
    }

    /// Whether the CPU's PMU counts it (a hardware event), rather than the kernel.
    pub const fn is_hardware(self) -> bool {
        !matches!(
            self,
            Counter::TaskClock | Counter::ContextSwitches | Counter::PageFaults
        )
    }

    /// The counter of that [`name`](Counter::name), if there is one.
    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generic events of `perf list` this project counts, as perf spells them.
    const PERF_EVENTS: [&str; 9] = [
        "task-clock",
        "context-switches",
        "page-faults",
        "cycles",
        "instructions",
        "branches",
        "branch-misses",
        "cache-references",
        "cache-misses",
    ];

    #[test]
    fn names_are_distinct_perf_s_own_and_found_again() {
        for (i, counter) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(Counter::from_name(counter.name()), Some(counter));
            assert_eq!(counter.to_string(), counter.name());
            // scripts/perf.sh hands `list --counters` to `perf stat -e`: perf's own names
            // for its generic events.
            assert!(PERF_EVENTS.contains(&counter.perf_event()), "{counter}");
            assert!(!Counter::ALL[..i].contains(&counter), "{counter} twice");
        }
        assert_eq!(Counter::from_name("cpu-migrations"), None);
    }

    #[test]
    fn software_counters_come_first_then_the_six_hardware_ones() {
        let hardware: Vec<bool> = Counter::ALL.map(Counter::is_hardware).into();
        assert_eq!(
            hardware,
            [false, false, false, true, true, true, true, true, true]
        );
    }
}
