//! How long, how often and how closely a run measures: the quick default, the full
//! publication-grade suite, and the checks on values a user overrides.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reclaim_results::{RunSettings, stats};

use crate::batch::BATCH;
use crate::workload::sets::{MAX_KEYS, MAX_ZIPF, MIN_KEYS};
use crate::workload::{Mix, Zipf};

/// The two suites a user picks from; anything overridden makes it `Custom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// The default: every backend and workload in a few minutes, 6 rounds of short
    /// repeats (the fewest that give a 95% interval).
    Quick,
    /// Longer repeats, more thread counts, and rounds added until every interval is
    /// within ±2%: numbers to publish.
    Full,
    /// A suite with user overrides.
    Custom,
}

impl Suite {
    /// Every suite, in the order `name` lists them.
    pub const ALL: [Suite; 3] = [Suite::Quick, Suite::Full, Suite::Custom];

    /// The name result files carry.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Quick => "quick",
            Suite::Full => "full",
            Suite::Custom => "custom",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A suite name that is not one: the message lists the valid ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown suite `{name}`; valid suites: {}",
    Suite::ALL.map(Suite::name).join(", ")
)]
pub struct UnknownSuite {
    /// The name given.
    pub name: String,
}

/// The suite called by its [`name`](Suite::name), as a result file records it:
/// `"full".parse::<Suite>()`.
impl FromStr for Suite {
    type Err = UnknownSuite;

    fn from_str(name: &str) -> Result<Suite, UnknownSuite> {
        Suite::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| UnknownSuite {
                name: name.to_string(),
            })
    }
}

/// A setting out of range: the run cannot take place. Each message gives the range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// The repeat duration.
    #[error("duration {0:?} is out of range: {MIN_DURATION:?} to {MAX_DURATION:?}")]
    Duration(Duration),
    /// An iteration count of zero.
    #[error("iterations must be at least 1")]
    Iterations,
    /// The rounds.
    #[error("repeats must be 1 to {MAX_REPEATS}, not {0}")]
    Repeats(u32),
    /// A thread count.
    #[error("thread counts must be 1 to {MAX_THREADS}, not {0}")]
    Threads(usize),
    /// The sampling interval, zero or longer than a repeat.
    #[error(
        "sample interval {interval:?} must be above zero and at most the duration {duration:?}"
    )]
    SampleInterval {
        /// The interval asked for.
        interval: Duration,
        /// The repeat duration it must fit in.
        duration: Duration,
    },
    /// A window of zero values in flight.
    #[error("max in flight must be at least 1")]
    MaxInFlight,
    /// The interval target, in percent.
    #[error("the interval target must be above 0% and at most 100%, not {0}%")]
    CiTarget(f64),
    /// The time cap.
    #[error("the time cap {0:?} is below the shortest accepted, {MIN_MAX_TIME:?}")]
    MaxTime(Duration),
    /// The handoff callbacks.
    #[error("handoff callbacks must be 1 to {MAX_HANDOFF_CALLBACKS}, not {0}")]
    HandoffCallbacks(u64),
    /// The set key range.
    #[error("the key range must be {MIN_KEYS} to {MAX_KEYS} keys, not {0}")]
    Keys(u64),
    /// The Zipf exponent.
    #[error("the Zipf exponent must be above 0 and at most {MAX_ZIPF}, not {0}")]
    Zipf(f64),
    /// The graph's live nodes.
    #[error("the graph must have {MIN_GRAPH_NODES} to {MAX_GRAPH_NODES} nodes, not {0}")]
    GraphNodes(usize),
    /// The forced collections' period.
    #[error("--collect-every must be at least 1 operation, not {0}")]
    CollectEvery(u64),
}

/// Settings of one `run`.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Which suite these came from.
    pub suite: Suite,
    /// How long each repeat runs.
    pub duration: Duration,
    /// Instead of `duration`: this many loop iterations per worker, the same work every
    /// time (for instruction counts).
    pub iterations: Option<u64>,
    /// Rounds: each row of a comparison group runs one repeat per round (the median is
    /// reported). With [`ci_target`](Settings::ci_target), the fewest rounds.
    pub repeats: u32,
    /// Draws the order of the rows in every round.
    pub seed: u64,
    /// Add rounds until every median's and every ratio's 95% interval is within this many
    /// percent, or [`max_time`](Settings::max_time) runs out.
    pub ci_target: Option<f64>,
    /// The time cap of the whole run with `ci_target`, shared out among the comparison
    /// groups.
    pub max_time: Option<Duration>,
    /// The backend every ratio is taken against, in the groups it is in; otherwise each
    /// row's structure's `ebr` backend, or the group's first row.
    pub reference: Option<String>,
    /// Pin each worker to its own CPU (round-robin when there are more workers).
    pub pin: bool,
    /// Where backends that write files put them (a directory of their own in it); `None`
    /// takes the system's temporary directory. The binary uses `results/scratch`.
    pub scratch: Option<std::path::PathBuf>,
    /// Thread counts when the user gives none.
    pub threads: Vec<usize>,
    /// Time between two samples of memory and garbage.
    pub sample_interval: Duration,
    /// Producers wait while this many values are in flight.
    pub max_in_flight: u64,
    /// Sampler, latency timing and counters on. Off only to measure their cost.
    pub instrumented: bool,
    /// Callbacks per handoff run.
    pub handoff_callbacks: u64,
    /// The handoff callback period.
    pub handoff_period: Duration,
    /// Set workloads: the key range; `None` takes each structure's default
    /// ([`default_keys`](crate::workload::sets::default_keys)).
    pub keys: Option<u64>,
    /// Set workloads: the operation mix instead of each workload's own.
    pub mix: Option<Mix>,
    /// Set workloads: Zipf-distributed keys of this exponent instead of uniform ones.
    pub zipf: Option<Zipf>,
    /// Graph workloads: the live graph's nodes.
    pub graph_nodes: usize,
    /// `graph-forced`: a full collection every this many operations (of each row's first
    /// thread).
    pub collect_every: u64,
}

/// Shortest repeat accepted: below this, thread start-up skew is a visible part of it.
pub const MIN_DURATION: Duration = Duration::from_millis(10);
/// Longest repeat accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most repeats accepted.
pub const MAX_REPEATS: u32 = 1000;
/// Most threads accepted in one run.
pub const MAX_THREADS: usize = 1024;
/// The quick suite's handoff callbacks a repeat: 200 at 1 ms, so that its seven
/// strategies stay a few seconds of the three minutes (with six rounds, a p99.9 over
/// 1,200 callbacks).
pub const QUICK_HANDOFF_CALLBACKS: u64 = 200;
/// Most handoff callbacks accepted: an hour at the 1 ms period.
pub const MAX_HANDOFF_CALLBACKS: u64 = 3_600_000;
/// The seed of the rounds' orders unless `--seed` says otherwise: the same command orders
/// its rounds the same way.
pub const DEFAULT_SEED: u64 = 0x7265_636c_6169_6d21;
/// The full suite's interval target, in percent.
pub const FULL_CI_TARGET: f64 = 2.0;
/// The full suite's time cap: an hour, shared out among its comparison groups.
pub const FULL_MAX_TIME: Duration = Duration::from_secs(3600);
/// Whether workers are pinned unless `--pin`/`--no-pin` says otherwise: yes, as on this
/// project's 2-vCPU machines pinned runs gave narrower and steadier intervals. Five
/// alternating runs each of 4 backends × pairs/1, pairs/2, prodcons/2, 12 rounds: the
/// median row's 95% interval ±6.4–10.1% pinned against ±6.8–39.9% unpinned, its ratio's
/// ±8.0–10.6% against ±10.1–24.8%, at the same throughput.
pub const PIN_BY_DEFAULT: bool = true;
/// The graph workloads' live nodes in the full suite unless `--nodes` says otherwise
/// (the quick suite's: [`QUICK_GRAPH_NODES`]): 100,000 nodes of a
/// few dozen bytes each plus the library's header, several megabytes — past this
/// machine kind's per-core caches, so a collection that walks the graph walks memory, and
/// built in a few tens of milliseconds, small beside a repeat.
pub const DEFAULT_GRAPH_NODES: usize = 100_000;
/// Fewest graph nodes accepted: one tree.
pub const MIN_GRAPH_NODES: usize = 64;
/// Most graph nodes accepted.
pub const MAX_GRAPH_NODES: usize = 100_000_000;
/// The quick suite's graph: 10,000 nodes, a megabyte or two, so that its eight rows stay a
/// few seconds of the three minutes (a repeat builds, walks and frees the graph).
pub const QUICK_GRAPH_NODES: usize = 10_000;
/// `graph-forced`'s period unless `--collect-every` says otherwise.
pub const DEFAULT_COLLECT_EVERY: u64 = 1000;

/// Shortest time cap accepted.
pub const MIN_MAX_TIME: Duration = Duration::from_secs(1);

impl Settings {
    /// The quick suite: 1, 2 and 4 threads (the graph family up to the core count), 6
    /// rounds of 100 ms repeats; handoff runs 200 callbacks. Every backend and workload in about two and a half minutes on two cores.
    pub fn quick() -> Settings {
        Settings {
            suite: Suite::Quick,
            duration: Duration::from_millis(100),
            iterations: None,
            repeats: stats::MIN_VALUES as u32,
            seed: DEFAULT_SEED,
            ci_target: None,
            max_time: None,
            reference: None,
            pin: PIN_BY_DEFAULT,
            scratch: None,
            threads: vec![1, 2, 4],
            sample_interval: Duration::from_millis(5),
            max_in_flight: 1 << 16,
            instrumented: true,
            handoff_callbacks: QUICK_HANDOFF_CALLBACKS,
            handoff_period: Duration::from_millis(1),
            keys: None,
            mix: None,
            zipf: None,
            graph_nodes: QUICK_GRAPH_NODES,
            collect_every: DEFAULT_COLLECT_EVERY,
        }
    }

    /// The full suite for a machine with `cores` hardware threads: powers of two up to
    /// twice the core count, and the core count itself; repeats of 1 s, in rounds added
    /// until every interval is within ±2% ([`FULL_CI_TARGET`]) or the run has taken
    /// [`FULL_MAX_TIME`]; 10,000 handoff callbacks (a p99.9 resting on ten of them).
    pub fn full(cores: usize) -> Settings {
        let mut threads: Vec<usize> = std::iter::successors(Some(1_usize), |t| t.checked_mul(2))
            .take_while(|&t| t <= 2 * cores)
            .collect();
        if !threads.contains(&cores) {
            threads.push(cores);
            threads.sort_unstable();
        }
        Settings {
            suite: Suite::Full,
            duration: Duration::from_secs(1),
            iterations: None,
            repeats: stats::MIN_VALUES as u32,
            seed: DEFAULT_SEED,
            ci_target: Some(FULL_CI_TARGET),
            max_time: Some(FULL_MAX_TIME),
            reference: None,
            pin: PIN_BY_DEFAULT,
            scratch: None,
            threads,
            sample_interval: Duration::from_millis(20),
            max_in_flight: 1 << 16,
            instrumented: true,
            handoff_callbacks: 10_000,
            handoff_period: Duration::from_millis(1),
            keys: None,
            mix: None,
            zipf: None,
            graph_nodes: DEFAULT_GRAPH_NODES,
            collect_every: DEFAULT_COLLECT_EVERY,
        }
    }

    /// Checks every value a user may have overridden.
    ///
    /// # Errors
    /// The first value out of range, with the range.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(MIN_DURATION..=MAX_DURATION).contains(&self.duration) {
            return Err(SettingsError::Duration(self.duration));
        }
        if self.iterations == Some(0) {
            return Err(SettingsError::Iterations);
        }
        if !(1..=MAX_REPEATS).contains(&self.repeats) {
            return Err(SettingsError::Repeats(self.repeats));
        }
        if let Some(&bad) = self.threads.iter().find(|&&t| t == 0 || t > MAX_THREADS) {
            return Err(SettingsError::Threads(bad));
        }
        if self.sample_interval.is_zero() || self.sample_interval > self.duration {
            return Err(SettingsError::SampleInterval {
                interval: self.sample_interval,
                duration: self.duration,
            });
        }
        if self.max_in_flight == 0 {
            return Err(SettingsError::MaxInFlight);
        }
        if let Some(target) = self.ci_target
            && !(target > 0.0 && target <= 100.0)
        {
            return Err(SettingsError::CiTarget(target));
        }
        if let Some(cap) = self.max_time
            && cap < MIN_MAX_TIME
        {
            return Err(SettingsError::MaxTime(cap));
        }
        if !(1..=MAX_HANDOFF_CALLBACKS).contains(&self.handoff_callbacks) {
            return Err(SettingsError::HandoffCallbacks(self.handoff_callbacks));
        }
        if !(MIN_GRAPH_NODES..=MAX_GRAPH_NODES).contains(&self.graph_nodes) {
            return Err(SettingsError::GraphNodes(self.graph_nodes));
        }
        if self.collect_every == 0 {
            return Err(SettingsError::CollectEvery(0));
        }
        if let Some(keys) = self.keys
            && !(MIN_KEYS..=MAX_KEYS).contains(&keys)
        {
            return Err(SettingsError::Keys(keys));
        }
        if let Some(Zipf(s)) = self.zipf
            && !(s > 0.0 && s <= MAX_ZIPF)
        {
            return Err(SettingsError::Zipf(s));
        }
        Ok(())
    }

    /// The settings as result files record them.
    pub fn record(&self) -> RunSettings {
        RunSettings {
            suite: self.suite.name().to_string(),
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            iterations: self.iterations,
            repeats: self.repeats,
            seed: Some(self.seed),
            ci_target_pct: self.ci_target,
            max_time_s: self.ci_target.and(self.max_time).map(|cap| cap.as_secs()),
            sample_interval_ms: u64::try_from(self.sample_interval.as_millis()).unwrap_or(u64::MAX),
            latency_sample_every: BATCH,
            max_in_flight: self.max_in_flight,
            instrumented: self.instrumented,
            pinned: Some(self.pin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_parse_back_and_unknown_ones_list_the_valid() {
        for suite in Suite::ALL {
            assert_eq!(suite.name().parse(), Ok(suite));
        }
        let err = "fast".parse::<Suite>().unwrap_err();
        assert_eq!(err.name, "fast");
        assert_eq!(
            err.to_string(),
            "unknown suite `fast`; valid suites: quick, full, custom"
        );
    }

    #[test]
    fn the_full_suite_goes_up_to_twice_the_cores() {
        assert_eq!(Settings::full(2).threads, [1, 2, 4]);
        assert_eq!(Settings::full(4).threads, [1, 2, 4, 8]);
        assert_eq!(Settings::full(6).threads, [1, 2, 4, 6, 8]);
        assert_eq!(Settings::full(1).threads, [1, 2]);
    }

    #[test]
    fn both_suites_are_valid_and_overrides_are_checked() {
        assert_eq!(Settings::quick().validate(), Ok(()));
        assert_eq!(Settings::full(2).validate(), Ok(()));
        let bad = [
            Settings {
                duration: Duration::from_millis(1),
                ..Settings::quick()
            },
            Settings {
                repeats: 0,
                ..Settings::quick()
            },
            Settings {
                threads: vec![0],
                ..Settings::quick()
            },
            Settings {
                sample_interval: Duration::ZERO,
                ..Settings::quick()
            },
            Settings {
                max_in_flight: 0,
                ..Settings::quick()
            },
            Settings {
                handoff_callbacks: 0,
                ..Settings::quick()
            },
            Settings {
                graph_nodes: 10,
                ..Settings::quick()
            },
            Settings {
                collect_every: 0,
                ..Settings::quick()
            },
        ];
        let errors = [
            SettingsError::Duration(Duration::from_millis(1)),
            SettingsError::Repeats(0),
            SettingsError::Threads(0),
            SettingsError::SampleInterval {
                interval: Duration::ZERO,
                duration: Settings::quick().duration,
            },
            SettingsError::MaxInFlight,
            SettingsError::HandoffCallbacks(0),
            SettingsError::GraphNodes(10),
            SettingsError::CollectEvery(0),
        ];
        for (settings, error) in bad.iter().zip(errors) {
            assert_eq!(settings.validate(), Err(error), "{settings:?}");
        }
        assert_eq!(
            SettingsError::Repeats(0).to_string(),
            "repeats must be 1 to 1000, not 0"
        );
    }
}
