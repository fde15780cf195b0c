//! The real-time handoff scenario: a producer thread hands blocks of samples to a
//! consumer that runs a periodic callback, and each strategy gets rid of the replaced
//! block in its own way.
//!
//! # What it is for
//!
//! An audio or control callback must finish within its period, every period. It cannot
//! block on a lock, and it should not call into the allocator: a `free` may take a lock,
//! coalesce, or hand pages back to the kernel. Yet the callback is where the old block
//! stops being used. This scenario measures, per [`Strategy`], whether the callback still
//! frees (and allocates), how long callbacks take in the tail, and how much memory the
//! strategy keeps alive while it defers:
//!
//! | strategy | message | old message goes | frees on the consumer |
//! |---|---|---|---|
//! | `box` | `Box<Message>` | dropped in the callback | yes, every swap |
//! | `arc` | `Arc<Message>`, producer keeps none | dropped in the callback | yes, every swap |
//! | `sweep` | `Swept<Message>` | count decremented; a collector thread frees | none |
//! | `ebr` | `Box<Message>` | drop deferred with crossbeam-epoch | yes, in bursts when it collects |
//! | `return-to-sender` | `Box<Message>` | sent back; the producer drops it | none |
//! | `sendrc` | a graph of `SendRc` nodes sharing the block | parked, sent back; the producer drops it | no message; the park protocol's bookkeeping, every swap |
//! | `dumpster-sync` | `dumpster::sync::Gc<Message>`, producer keeps none | dropped in the callback | counted: on the consumer or elsewhere |
//!
//! # How it is measured
//!
//! [`run`] starts a producer and a consumer behind a start gate, connected by a bounded
//! crossbeam array channel (no allocation per send or receive); the consumer only uses
//! `try_recv`. See the `driver` module for the exact callback. A [`HandoffReport`] holds:
//!
//! - the callback durations (an HDR histogram in nanoseconds): p50, p99, p99.9, max,
//!   count;
//! - the allocations and frees on the consumer thread during its callbacks, from
//!   [`reclaim_alloc::thread_tally`]. **These are real only in a binary that installs
//!   [`reclaim_alloc::CountingAlloc`] as its global allocator**; elsewhere they are zero
//!   and the report's `counting` is `false` (the producer's tally, which moves with every
//!   message it builds, did not move);
//! - the peak number of messages outstanding (built and not yet destroyed, wherever they
//!   are), and how many are left after the run (0 unless a strategy leaks);
//! - messages made, and how many were destroyed on the consumer during its callbacks and
//!   how many anywhere else (counted per message, with or without the counting allocator);
//! - messages sent and refused, callbacks run and callbacks that found a new message.
//!
//! The counting allocator's own cost (relaxed atomics on every allocation) is included in
//! the timings taken under it; the harness measures it separately.

mod config;
mod driver;
mod message;
mod report;
mod strategy;

pub use config::{HandoffConfig, HandoffError, MAX_DURATION, MAX_SAMPLES};
pub use driver::QUEUE_CAPACITY;
pub use message::{Message, Outstanding};
pub use report::HandoffReport;
pub use strategy::{Strategy, UnknownStrategy};

use std::sync::Arc;

/// Runs the handoff scenario once with `strategy`: validates `config`, starts the
/// producer and the consumer, waits for the consumer's `config.callbacks` callbacks,
/// joins both threads, tears the strategy down (the sweep collector is shut down, the
/// epoch collector dropped, dumpster's collection forced) and reports.
///
/// Takes about `config.callbacks × config.callback_period`.
///
/// # Errors
/// A bad `config` ([`HandoffConfig::validate`]), a thread the operating system would not
/// start, or a thread that panicked.
pub fn run(strategy: Strategy, config: &HandoffConfig) -> Result<HandoffReport, HandoffError> {
    run_with(strategy, config, &Arc::new(Outstanding::default()))
}

/// [`run`], counting messages in `outstanding`, which another thread may read while the
/// run goes on. Pass a fresh count: the report's peak and end figures are read from it.
///
/// # Errors
/// As for [`run`].
pub fn run_with(
    strategy: Strategy,
    config: &HandoffConfig,
    outstanding: &Arc<Outstanding>,
) -> Result<HandoffReport, HandoffError> {
    config.validate()?;
    let measured = strategy.drive(config, outstanding)?;
    Ok(HandoffReport::new(strategy, config, &measured, outstanding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bad_config_is_an_error_for_every_strategy() {
        let bad = [
            HandoffConfig {
                samples_per_message: 0,
                ..HandoffConfig::default()
            },
            HandoffConfig {
                callbacks: 0,
                ..HandoffConfig::default()
            },
            HandoffConfig {
                callback_period: Duration::ZERO,
                ..HandoffConfig::default()
            },
        ];
        for strategy in Strategy::ALL {
            for config in &bad {
                assert!(
                    run(strategy, config).is_err(),
                    "{strategy} accepted {config:?}"
                );
            }
        }
    }

    /// This test binary does not install the counting allocator: the report must say so
    /// rather than claim zero frees.
    #[test]
    fn without_the_counting_allocator_the_report_says_it_is_not_counting() {
        let config = HandoffConfig {
            callbacks: 5,
            callback_period: Duration::from_micros(100),
            producer_interval: Duration::from_micros(80),
            ..HandoffConfig::default()
        };
        let report = run(Strategy::Box, &config).unwrap();
        assert!(!report.counting);
        assert_eq!(report.callbacks, 5);
        assert_eq!(report.callback_count, 5);
        assert_eq!(report.outstanding_at_end, 0);
    }
}
