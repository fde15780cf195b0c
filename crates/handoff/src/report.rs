//! What one run reports: flat fields, so a report is one row of a results file.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::config::HandoffConfig;
use crate::driver::Measured;
use crate::message::Outstanding;
use crate::strategy::Strategy;

/// The result of one [`run`](crate::run).
///
/// Allocation counts come from [`reclaim_alloc::thread_tally`] and are real only in a
/// binary that installs [`reclaim_alloc::CountingAlloc`] as its global allocator; check
/// [`counting`](HandoffReport::counting) before reading a zero as "no frees".
#[derive(Debug, Clone, Serialize)]
pub struct HandoffReport {
    /// The strategy, by name.
    pub strategy: Strategy,
    /// Samples in each message.
    pub samples_per_message: usize,
    /// The configured callback period, in nanoseconds.
    pub callback_period_ns: u64,
    /// The configured producer interval, in nanoseconds.
    pub producer_interval_ns: u64,

    /// Callbacks the consumer ran.
    pub callbacks: u64,
    /// Callbacks that found a new message and swapped it in.
    pub swaps: u64,
    /// Messages the producer sent.
    pub messages_sent: u64,
    /// Messages the producer dropped itself because the channel was full.
    pub messages_refused: u64,

    /// Callback durations recorded (equals `callbacks`).
    pub callback_count: u64,
    /// Median callback duration, in nanoseconds.
    pub callback_p50_ns: u64,
    /// 99th percentile callback duration, in nanoseconds.
    pub callback_p99_ns: u64,
    /// 99.9th percentile callback duration, in nanoseconds.
    pub callback_p999_ns: u64,
    /// Longest callback, in nanoseconds.
    pub callback_max_ns: u64,

    /// Allocations on the consumer thread during its callbacks.
    pub consumer_allocations: u64,
    /// Frees on the consumer thread during its callbacks: the number this scenario is
    /// about.
    pub consumer_frees: u64,
    /// Bytes allocated on the consumer thread during its callbacks.
    pub consumer_bytes_allocated: u64,
    /// Bytes freed on the consumer thread during its callbacks.
    pub consumer_bytes_freed: u64,
    /// Whether allocations were counted at all: the producer allocates every message, so
    /// its tally moves if and only if the counting allocator is installed. When `false`,
    /// the four `consumer_*` counts above are zero because nothing was counted.
    pub counting: bool,

    /// The most messages alive at once (built and not yet dropped, wherever they were:
    /// in the channel, on the consumer, waiting for the collector or the epoch, on their
    /// way back).
    pub peak_outstanding: u64,
    /// Messages still alive after the run was torn down; 0 unless a strategy leaked.
    pub outstanding_at_end: u64,
    /// Messages built by the producer (sent, refused, and one built as the run ended).
    pub messages_made: u64,
    /// Messages destroyed (and so freed) on the consumer thread during its callbacks:
    /// the per-message count behind `consumer_frees`, which counts allocator blocks.
    /// Counted whether or not the counting allocator is installed.
    pub messages_freed_on_consumer: u64,
    /// Messages destroyed anywhere else: the producer, a collector thread, the run's
    /// teardown, or the consumer after its last callback. With no leak,
    /// `messages_freed_on_consumer + messages_freed_elsewhere == messages_made`.
    pub messages_freed_elsewhere: u64,

    /// Every callback duration, in nanoseconds, for callers that merge runs.
    #[serde(skip)]
    pub callback_nanos: Histogram<u64>,
}

impl HandoffReport {
    pub(crate) fn new(
        strategy: Strategy,
        config: &HandoffConfig,
        measured: &Measured,
        outstanding: &Outstanding,
    ) -> HandoffReport {
        let h = &measured.callback_nanos;
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        HandoffReport {
            strategy,
            samples_per_message: config.samples_per_message,
            callback_period_ns: nanos(config.callback_period),
            producer_interval_ns: nanos(config.producer_interval),
            callbacks: measured.callbacks,
            swaps: measured.swaps,
            messages_sent: measured.messages_sent,
            messages_refused: measured.messages_refused,
            callback_count: h.len(),
            callback_p50_ns: h.value_at_quantile(0.5),
            callback_p99_ns: h.value_at_quantile(0.99),
            callback_p999_ns: h.value_at_quantile(0.999),
            callback_max_ns: h.max(),
            consumer_allocations: measured.consumer.allocations,
            consumer_frees: measured.consumer.frees,
            consumer_bytes_allocated: measured.consumer.bytes_allocated,
            consumer_bytes_freed: measured.consumer.bytes_freed,
            counting: measured.producer.allocations > 0,
            peak_outstanding: outstanding.peak(),
            outstanding_at_end: outstanding.live(),
            messages_made: outstanding.made(),
            messages_freed_on_consumer: outstanding.destroyed_on_consumer(),
            messages_freed_elsewhere: outstanding.destroyed_elsewhere(),
            callback_nanos: h.clone(),
        }
    }
}
