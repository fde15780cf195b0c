//! One repeat of the real-time handoff scenario (`reclaim-handoff`), for a strategy: the
//! scenario's own driver runs the producer and the callback thread; around it, the
//! sampler, the counters and the self-check, as the backend driver does for a backend.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use reclaim_handoff::{HandoffConfig, Outstanding, Strategy};

use crate::counters::{Counters, Readings};
use crate::error::RepeatError;
use crate::gate::Gate;
use crate::row::Measured;
use crate::sampler::{Probe, Sampler};
use crate::settings::Settings;

/// The handoff configuration `settings` ask for.
fn config(settings: &Settings) -> HandoffConfig {
    HandoffConfig {
        callbacks: settings.handoff_callbacks,
        callback_period: settings.handoff_period,
        ..HandoffConfig::default()
    }
}

/// What a handoff row says of its settings. It says how long its repeats ran: the
/// callbacks set it, not `--duration`.
pub(crate) fn describe(settings: &Settings) -> String {
    let config = config(settings);
    format!(
        "{} callbacks, one every {:?} (not --duration); {} samples per message, a message \
         every {:?}",
        config.callbacks,
        config.callback_period,
        config.samples_per_message,
        config.producer_interval
    )
}

/// One repeat of `strategy`.
pub(crate) fn measure(strategy: Strategy, settings: &Settings) -> Result<Measured, RepeatError> {
    repeat(strategy, &config(settings), settings)
}

fn repeat(
    strategy: Strategy,
    config: &HandoffConfig,
    settings: &Settings,
) -> Result<Measured, RepeatError> {
    let outstanding = Arc::new(Outstanding::default());
    let duration = settings.handoff_period * u32::try_from(config.callbacks).unwrap_or(u32::MAX);
    let sampler = settings
        .instrumented
        .then(|| Sampler::new(settings.sample_interval, duration));
    let gate = Gate::default();
    let probe = || {
        Some(Probe {
            outstanding: outstanding.live(),
            retired: None,
            freed: None,
            reclaimer_cpu_ns: None,
        })
    };
    let (report, elapsed, series, counters) = thread::scope(|s| {
        let sampler_thread = sampler
            .as_ref()
            .map(|sampler| s.spawn(|| sampler.run(&gate, probe)));
        let mut counters = settings.instrumented.then(Counters::open);
        if let Some(c) = &mut counters {
            c.enable();
        }
        gate.open_for(usize::from(sampler_thread.is_some()));
        let started = Instant::now();
        let report = reclaim_handoff::run_with(strategy, config, &outstanding);
        let elapsed = started.elapsed();
        if let Some(c) = &mut counters {
            c.disable();
        }
        if let Some(sampler) = &sampler {
            sampler.stop();
        }
        let series = sampler_thread.map(|t| t.join());
        let readings = match &mut counters {
            Some(c) => c.read(),
            None => Readings::unavailable("instrumentation off"),
        };
        (report, elapsed, series, readings)
    });
    let report = report.map_err(RepeatError::Handoff)?;
    let series = series
        .transpose()
        .map_err(|_| RepeatError::Panicked { role: "sampler" })?;
    let check = if report.outstanding_at_end != 0 {
        Err(format!(
            "{} messages still alive after the run: the strategy leaked",
            report.outstanding_at_end
        ))
    } else if reclaim_alloc::counting() && !report.counting {
        Err("the consumer's allocations were not counted".to_string())
    } else {
        Ok(())
    };
    let mut extra = vec![
        ("callbacks", report.callbacks as f64),
        ("swaps", report.swaps as f64),
        ("messages_sent", report.messages_sent as f64),
        ("messages_refused", report.messages_refused as f64),
        ("peak_outstanding", report.peak_outstanding as f64),
        // Counted per message in its destructor, with or without the counting allocator.
        (
            "messages_freed_on_consumer",
            report.messages_freed_on_consumer as f64,
        ),
        (
            "messages_freed_elsewhere",
            report.messages_freed_elsewhere as f64,
        ),
    ];
    // Without the counting allocator these are zeros that mean "not counted": leave them
    // out rather than report no frees.
    if report.counting {
        extra.extend([
            ("consumer_frees", report.consumer_frees as f64),
            ("consumer_allocations", report.consumer_allocations as f64),
            ("consumer_bytes_freed", report.consumer_bytes_freed as f64),
        ]);
    }
    Ok(Measured {
        ops_per_sec: report.swaps as f64 / elapsed.as_secs_f64().max(1e-9),
        per_thread_ops: vec![report.messages_sent, report.swaps],
        latency: Some(report.callback_nanos.clone()),
        pauses: None,
        peak_bytes: sampler
            .as_ref()
            .filter(|s| s.counting())
            .map(Sampler::peak_bytes),
        series,
        counters,
        extra: extra
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
        check,
        // The scenario's threads are its own: their scheduler counts are not taken.
        noise: crate::noise::Noise::default(),
    })
}
