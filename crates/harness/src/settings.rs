//! How long, how often and how closely a run measures: the quick default, the full
//! publication-grade suite, and the checks on values a user overrides.

use std::time::Duration;

use reclaim_results::RunSettings;

use crate::driver::BATCH;

/// The two suites a user picks from; anything overridden makes it `Custom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// The default: every backend and workload in a few minutes, 3 short repeats.
    Quick,
    /// Longer runs, 5 repeats, more thread counts: numbers to publish.
    Full,
    /// A suite with user overrides.
    Custom,
}

impl Suite {
    /// The name result files carry.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Quick => "quick",
            Suite::Full => "full",
            Suite::Custom => "custom",
        }
    }
}

/// Settings of one `run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Which suite these came from.
    pub suite: Suite,
    /// How long each repeat runs.
    pub duration: Duration,
    /// Repeats per row (the median is reported).
    pub repeats: u32,
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
}

/// Shortest repeat accepted: below this, thread start-up skew is a visible part of it.
pub const MIN_DURATION: Duration = Duration::from_millis(10);
/// Longest repeat accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Most repeats accepted.
pub const MAX_REPEATS: u32 = 1000;
/// Most threads accepted in one run.
pub const MAX_THREADS: usize = 1024;
/// Most handoff callbacks accepted: an hour at the 1 ms period.
pub const MAX_HANDOFF_CALLBACKS: u64 = 3_600_000;

impl Settings {
    /// The quick suite: 1, 2 and 4 threads, 3 repeats of 100 ms; handoff runs 1,000
    /// callbacks. Every backend and workload in about a minute and a half on two cores.
    pub fn quick() -> Settings {
        Settings {
            suite: Suite::Quick,
            duration: Duration::from_millis(100),
            repeats: 3,
            threads: vec![1, 2, 4],
            sample_interval: Duration::from_millis(5),
            max_in_flight: 1 << 16,
            instrumented: true,
            handoff_callbacks: 1_000,
            handoff_period: Duration::from_millis(1),
        }
    }

    /// The full suite for a machine with `cores` hardware threads: powers of two up to
    /// twice the core count, and the core count itself; 5 repeats of 1 s; 10,000 handoff
    /// callbacks (a p99.9 resting on ten of them).
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
            repeats: 5,
            threads,
            sample_interval: Duration::from_millis(20),
            max_in_flight: 1 << 16,
            instrumented: true,
            handoff_callbacks: 10_000,
            handoff_period: Duration::from_millis(1),
        }
    }

    /// Checks every value a user may have overridden.
    ///
    /// # Errors
    /// A value out of range, with the range.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_DURATION..=MAX_DURATION).contains(&self.duration) {
            return Err(format!(
                "duration {:?} is out of range: {MIN_DURATION:?} to {MAX_DURATION:?}",
                self.duration
            ));
        }
        if !(1..=MAX_REPEATS).contains(&self.repeats) {
            return Err(format!(
                "repeats must be 1 to {MAX_REPEATS}, not {}",
                self.repeats
            ));
        }
        if let Some(&bad) = self.threads.iter().find(|&&t| t == 0 || t > MAX_THREADS) {
            return Err(format!(
                "thread counts must be 1 to {MAX_THREADS}, not {bad}"
            ));
        }
        if self.sample_interval.is_zero() || self.sample_interval > self.duration {
            return Err(format!(
                "sample interval {:?} must be above zero and at most the duration {:?}",
                self.sample_interval, self.duration
            ));
        }
        if self.max_in_flight == 0 {
            return Err("max in flight must be at least 1".to_string());
        }
        if !(1..=MAX_HANDOFF_CALLBACKS).contains(&self.handoff_callbacks) {
            return Err(format!(
                "handoff callbacks must be 1 to {MAX_HANDOFF_CALLBACKS}, not {}",
                self.handoff_callbacks
            ));
        }
        Ok(())
    }

    /// The settings as result files record them.
    pub fn record(&self) -> RunSettings {
        RunSettings {
            suite: self.suite.name().to_string(),
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            repeats: self.repeats,
            sample_interval_ms: u64::try_from(self.sample_interval.as_millis()).unwrap_or(u64::MAX),
            latency_sample_every: BATCH,
            max_in_flight: self.max_in_flight,
            instrumented: self.instrumented,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ];
        for settings in bad {
            assert!(settings.validate().is_err(), "{settings:?}");
        }
    }
}
