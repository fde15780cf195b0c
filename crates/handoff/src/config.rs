//! The settings of one handoff run, and everything that can go wrong with one.
//!
//! A run is driven by the harness from user input, so a bad setting is an error the caller
//! can print, never a panic: [`HandoffConfig::validate`] checks every field before any
//! thread starts.

use std::time::Duration;

/// The largest message accepted, in samples (64 MiB of `f32`s): larger blocks say more
/// about the system allocator's large-block path than about the handoff.
pub const MAX_SAMPLES: usize = 1 << 24;

/// The longest callback period or producer interval accepted. Longer ones only make runs
/// that never end in practice (and deadlines far in the future).
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Settings of one run of the handoff scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffConfig {
    /// Samples (`f32`) in each message's block. Default 64 (an audio block).
    pub samples_per_message: usize,
    /// Time between the starts of two consumer callbacks. Default 1 ms.
    pub callback_period: Duration,
    /// Callbacks the consumer runs before the run ends. Default 10,000 (10 s at 1 ms):
    /// enough for a p99.9 resting on ten callbacks.
    pub callbacks: u64,
    /// Time between two messages of the producer. Default 0.9 ms, a bit shorter than the
    /// default period, so that the consumer usually finds a new message and now and then
    /// two (the older one is then released unused, as a real consumer that only wants the
    /// newest state would). Zero lets the producer send as fast as it can.
    pub producer_interval: Duration,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        HandoffConfig {
            samples_per_message: 64,
            callback_period: Duration::from_millis(1),
            callbacks: 10_000,
            producer_interval: Duration::from_micros(900),
        }
    }
}

impl HandoffConfig {
    /// Checks every setting; [`run`](crate::run) calls this before starting any thread.
    pub fn validate(&self) -> Result<(), HandoffError> {
        if self.samples_per_message == 0 {
            return Err(HandoffError::NoSamples);
        }
        if self.samples_per_message > MAX_SAMPLES {
            return Err(HandoffError::TooManySamples(self.samples_per_message));
        }
        if self.callbacks == 0 {
            return Err(HandoffError::NoCallbacks);
        }
        if self.callback_period.is_zero() {
            return Err(HandoffError::ZeroPeriod);
        }
        for (name, value) in [
            ("callback_period", self.callback_period),
            ("producer_interval", self.producer_interval),
        ] {
            if value > MAX_DURATION {
                return Err(HandoffError::DurationTooLong { name, value });
            }
        }
        Ok(())
    }
}

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// `samples_per_message` is zero.
    #[error("samples_per_message must be at least 1")]
    NoSamples,
    /// `samples_per_message` is above [`MAX_SAMPLES`].
    #[error("samples_per_message is {0}, more than the {MAX_SAMPLES} allowed")]
    TooManySamples(usize),
    /// `callbacks` is zero.
    #[error("callbacks must be at least 1")]
    NoCallbacks,
    /// `callback_period` is zero.
    #[error("callback_period must be longer than zero")]
    ZeroPeriod,
    /// A period or interval is above [`MAX_DURATION`].
    #[error("{name} is {value:?}, longer than the {MAX_DURATION:?} allowed")]
    DurationTooLong {
        /// The field.
        name: &'static str,
        /// Its value.
        value: Duration,
    },
    /// The operating system refused to start a thread.
    #[error("could not start the {thread} thread")]
    Spawn {
        /// `producer` or `consumer`.
        thread: &'static str,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A thread of the run panicked (a bug: the report would be meaningless).
    #[error("the {thread} thread panicked")]
    Panicked {
        /// `producer` or `consumer`.
        thread: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid() {
        assert!(HandoffConfig::default().validate().is_ok());
    }

    #[test]
    fn bad_settings_are_errors() {
        let ok = HandoffConfig::default();
        let cases = [
            (
                HandoffConfig {
                    samples_per_message: 0,
                    ..ok.clone()
                },
                "samples_per_message must be at least 1",
            ),
            (
                HandoffConfig {
                    samples_per_message: MAX_SAMPLES + 1,
                    ..ok.clone()
                },
                "samples_per_message is 16777217",
            ),
            (
                HandoffConfig {
                    callbacks: 0,
                    ..ok.clone()
                },
                "callbacks must be at least 1",
            ),
            (
                HandoffConfig {
                    callback_period: Duration::ZERO,
                    ..ok.clone()
                },
                "callback_period must be longer than zero",
            ),
            (
                HandoffConfig {
                    callback_period: Duration::MAX,
                    ..ok.clone()
                },
                "callback_period is",
            ),
            (
                HandoffConfig {
                    producer_interval: MAX_DURATION + Duration::from_nanos(1),
                    ..ok.clone()
                },
                "producer_interval is",
            ),
        ];
        for (config, message) in cases {
            let error = config.validate().expect_err(message);
            assert!(
                error.to_string().starts_with(message),
                "{config:?} gave {error}, expected {message}"
            );
        }
    }

    #[test]
    fn a_zero_producer_interval_is_allowed() {
        let config = HandoffConfig {
            producer_interval: Duration::ZERO,
            ..HandoffConfig::default()
        };
        assert!(config.validate().is_ok());
    }
}
