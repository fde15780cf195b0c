//! The point of the scenario, checked: with the counting allocator installed, the
//! consumer's callbacks free memory under `box` and `arc`, and free nothing under `sweep`
//! and `return-to-sender`; under `sendrc` they free no message (only the park protocol's
//! bookkeeping); under `dumpster-sync` every message is freed on the consumer or
//! elsewhere, counted exactly. Assertions are on counts only, never on timings.
//!
//! Tallies are per thread and every run has its own counters, so the tests can run in
//! parallel. Each run is 200 callbacks of 100 µs (about 20 ms, longer on a loaded machine;
//! see `run_checked` for runs in which the producer did not get to run).

use std::time::Duration;

use reclaim_handoff::{HandoffConfig, HandoffError, HandoffReport, Strategy, run};

#[global_allocator]
static A: reclaim_alloc::CountingAlloc = reclaim_alloc::CountingAlloc::new();

const CALLBACKS: u64 = 200;

fn small() -> HandoffConfig {
    HandoffConfig {
        samples_per_message: 64,
        callback_period: Duration::from_micros(100),
        callbacks: CALLBACKS,
        producer_interval: Duration::from_micros(80),
    }
}

/// Runs `strategy`, checks what holds for every run, and returns the first run in which
/// at least two messages were swapped in — what the frees below need: the second swap
/// replaces a message inside the measured window. The producer sends one every 80 µs for
/// the whole run, but a run is a fixed number of callbacks, and a producer starved for
/// all of it (qemu on a loaded host) swaps nothing: such a run is repeated with twice the
/// callbacks, up to 64 times the first, rather than failed. Counts are asserted, never
/// a rate.
fn run_checked(strategy: Strategy) -> HandoffReport {
    let mut config = small();
    loop {
        let report = run(strategy, &config).expect("a valid config runs");
        eprintln!("{report:?}");
        assert_eq!(report.strategy, strategy);
        assert!(
            report.counting,
            "{strategy}: the allocator was not counting"
        );
        assert_eq!(report.callbacks, config.callbacks, "{strategy}");
        assert_eq!(report.callback_count, config.callbacks, "{strategy}");
        assert!(
            report.callback_p50_ns <= report.callback_p99_ns
                && report.callback_p99_ns <= report.callback_p999_ns
                && report.callback_p999_ns <= report.callback_max_ns,
            "{strategy}: quantiles out of order"
        );
        assert!(report.messages_sent >= report.swaps, "{strategy}");
        assert_eq!(
            report.outstanding_at_end, 0,
            "{strategy}: messages survived the run"
        );
        // Every message made was destroyed exactly once, on the consumer or elsewhere.
        assert_eq!(
            report.messages_freed_on_consumer + report.messages_freed_elsewhere,
            report.messages_made,
            "{strategy}: {report:?}"
        );
        assert!(
            report.messages_made >= report.messages_sent + report.messages_refused,
            "{strategy}: {report:?}"
        );
        if report.swaps >= 2 {
            // The second message existed while the consumer still held the first.
            assert!(report.peak_outstanding >= 2, "{strategy}: {report:?}");
            return report;
        }
        assert!(
            config.callbacks < 64 * CALLBACKS,
            "{strategy}: {} swaps in {} callbacks",
            report.swaps,
            config.callbacks
        );
        config.callbacks *= 2;
    }
}

fn assert_consumer_frees(report: &HandoffReport) {
    let strategy = report.strategy;
    assert!(report.consumer_frees > 0, "{strategy}: {report:?}");
    assert!(report.consumer_bytes_freed > 0, "{strategy}: {report:?}");
    // Only frees: swapping a message in never allocates.
    assert_eq!(report.consumer_allocations, 0, "{strategy}: {report:?}");
}

fn assert_consumer_never_touches_the_allocator(report: &HandoffReport) {
    let strategy = report.strategy;
    assert_eq!(
        report.messages_freed_on_consumer, 0,
        "{strategy}: {report:?}"
    );
    assert_eq!(report.consumer_frees, 0, "{strategy}: {report:?}");
    assert_eq!(report.consumer_bytes_freed, 0, "{strategy}: {report:?}");
    assert_eq!(report.consumer_allocations, 0, "{strategy}: {report:?}");
}

#[test]
fn box_frees_on_the_consumer() {
    let report = run_checked(Strategy::Box);
    assert_consumer_frees(&report);
    // A boxed message is two blocks (the box and its samples): whole messages only.
    assert_eq!(report.consumer_frees % 2, 0, "{report:?}");
}

#[test]
fn arc_frees_on_the_consumer() {
    let report = run_checked(Strategy::Arc);
    assert_consumer_frees(&report);
}

#[test]
fn sweep_never_frees_on_the_consumer() {
    let report = run_checked(Strategy::Sweep);
    assert_consumer_never_touches_the_allocator(&report);
}

#[test]
fn return_to_sender_never_frees_on_the_consumer() {
    let report = run_checked(Strategy::ReturnToSender);
    assert_consumer_never_touches_the_allocator(&report);
}

/// `ebr` may or may not free on the consumer in a run this short (it depends on when the
/// epoch advances); what must hold is that everything deferred is freed by the end
/// (`run_checked`: nothing outstanding at the end).
#[test]
fn ebr_runs_and_frees_everything_by_the_end() {
    run_checked(Strategy::Ebr);
}

/// `sendrc` frees no message on the consumer: every graph goes back to the producer. The
/// consumer still allocates and frees — sendable's park protocol keeps its parked pointers
/// in a `HashMap` and its token is a `HashSet`, built when the consumer parks the old graph
/// and freed when it unparks the new one (about five frees a swap, measured) — but those
/// blocks are the protocol's, not the message's (four nodes and the samples), which all
/// go back to the producer.
#[test]
fn sendrc_frees_no_message_on_the_consumer() {
    let report = run_checked(Strategy::SendRc);
    assert_eq!(report.messages_freed_on_consumer, 0, "{report:?}");
    assert_eq!(
        report.messages_freed_elsewhere, report.messages_made,
        "{report:?}"
    );
    // The bookkeeping is there, and it is counted.
    assert!(report.consumer_frees > 0, "{report:?}");
    assert!(report.consumer_allocations > 0, "{report:?}");
}

/// `box` under the same per-message count: the consumer's frees are message frees.
#[test]
fn box_messages_are_counted_freed_on_the_consumer() {
    let report = run_checked(Strategy::Box);
    assert!(report.messages_freed_on_consumer > 0, "{report:?}");
    // Two blocks per message, and no other frees in the callback.
    assert_eq!(
        report.consumer_frees,
        2 * report.messages_freed_on_consumer,
        "{report:?}"
    );
}

/// `dumpster-sync`: where the frees ran is what the row is for, so no split is assumed —
/// only that every message made was freed, on the consumer or elsewhere, exactly once,
/// and that the allocator saw at least the two blocks of each message freed in the
/// callbacks (its `Gc` box and its samples).
#[test]
fn dumpster_sync_frees_every_message_on_the_consumer_or_elsewhere() {
    let report = run_checked(Strategy::DumpsterSync);
    assert_eq!(report.outstanding_at_end, 0, "{report:?}");
    assert_eq!(
        report.messages_freed_on_consumer + report.messages_freed_elsewhere,
        report.messages_made,
        "{report:?}"
    );
    assert!(
        report.consumer_frees >= 2 * report.messages_freed_on_consumer,
        "{report:?}"
    );
}

#[test]
fn a_bad_config_is_a_clear_error() {
    let config = HandoffConfig {
        callbacks: 0,
        ..small()
    };
    let error = run(Strategy::Sweep, &config).unwrap_err();
    assert!(matches!(error, HandoffError::NoCallbacks), "{error:?}");
    assert_eq!(error.to_string(), "callbacks must be at least 1");
}
