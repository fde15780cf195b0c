//! `sweep`: Arc-count sweeping. Structures keep their nodes in `Arc`s like under
//! [`Rc`](crate::Rc), and a [`Collector`] thread holds one more reference to every node,
//! freeing those whose count has fallen to its own: worker threads only ever decrement.
//! The real-time audio pattern, applied to a lock-free structure.

mod collector;

#[cfg(not(loom))]
pub use collector::Collector;
pub use collector::{CollectorStats, DEFAULT_INTERVAL, SweepConfig, Swept, Tracker};

#[cfg(not(loom))]
use std::sync::Arc;

#[cfg(not(loom))]
use crate::counted::CountedScheme;
#[cfg(not(loom))]
use crate::counters::Counters;
#[cfg(not(loom))]
use reclaim_core::{Knob, ReclaimStats, SchemeSetting};
#[cfg(not(loom))]
use std::time::Duration;

#[cfg(not(loom))]
/// Arc-count sweeping: a collector thread per structure frees what only it still holds.
#[derive(Debug)]
pub enum Sweep {}

#[cfg(not(loom))]
/// A `sweep` structure's collector and counters.
#[derive(Debug)]
pub struct SweepDomain {
    tracker: Tracker,
    /// Dropped before `counters`' last reference goes: joining the collector runs its
    /// final pass, which frees the structure's nodes on the collector thread.
    collector: Collector,
    counters: Arc<Counters>,
}

#[cfg(not(loom))]
impl SweepDomain {
    fn new(config: SweepConfig) -> SweepDomain {
        let counters = Arc::new(Counters::default());
        let collector = Collector::with_counters(config, Arc::clone(&counters));
        SweepDomain {
            tracker: collector.tracker(),
            collector,
            counters,
        }
    }

    /// The collector's own counts (tracked, freed, sweeps, time scanning, leaked).
    pub fn collector_stats(&self) -> CollectorStats {
        self.collector.stats()
    }

    /// The time between the collector's passes: the `interval-us` knob's value if it was
    /// set, otherwise [`DEFAULT_INTERVAL`].
    pub fn interval(&self) -> Duration {
        self.collector.interval()
    }
}

#[cfg(not(loom))]
/// The `interval-us` knob: the collector's [`SweepConfig::interval`], in microseconds,
/// from 10 µs to 1 s. Releases do not wake the collector, so a node is freed up to one
/// interval after its last release.
const INTERVAL_US: Knob = Knob {
    key: "interval-us",
    summary: "microseconds the collector sleeps between passes (default 1000)",
    default: DEFAULT_INTERVAL.as_micros() as u64,
    min: 10,
    max: 1_000_000,
};

#[cfg(not(loom))]
impl CountedScheme for Sweep {
    const NAME: &'static str = "sweep";
    const SUMMARY: &'static str =
        "Arc-count sweeping: a collector thread frees what only it still holds; workers never free";
    const SETTINGS: &'static str = "one collector thread per structure, scanning every 1 ms \
        (unless interval-us is set) when a release hinted or new nodes arrived";
    const KNOBS: &'static [Knob] = &[INTERVAL_US];
    type Domain = SweepDomain;

    fn new_domain() -> SweepDomain {
        SweepDomain::new(SweepConfig::default())
    }

    fn new_domain_with(setting: Option<&SchemeSetting>) -> Result<SweepDomain, String> {
        let Some(setting) = setting else {
            return Ok(Self::new_domain());
        };
        // The one knob there is: `interval-us`, in range.
        setting.knob(Self::NAME, Self::KNOBS)?;
        Ok(SweepDomain::new(SweepConfig {
            interval: Duration::from_micros(setting.value),
        }))
    }

    fn counters(domain: &SweepDomain) -> &Counters {
        &domain.counters
    }

    fn track<N: Send + Sync + 'static>(domain: &SweepDomain, node: &Arc<N>) {
        domain.tracker.track(node);
    }

    fn released(domain: &SweepDomain) {
        domain.tracker.released();
    }

    fn teardown<R>(_: &mut SweepDomain, free: impl FnOnce() -> R) -> R {
        // Nothing is freed on the thread that drops the structure: the collector is.
        free()
    }

    fn stats(domain: &SweepDomain) -> ReclaimStats {
        ReclaimStats {
            reclaimer_cpu_ns: domain.collector.stats().cpu_nanos,
            ..domain.counters.stats()
        }
    }
}
