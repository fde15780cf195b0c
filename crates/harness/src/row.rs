//! From repeats to a result row: the median and spread of throughput, the median repeat's
//! series and counters, latency over every repeat, and the verdict.

use hdrhistogram::Histogram;
use reclaim_results::{Garbage, Latency, Memory, Row, Spread, stats};
use serde::{Deserialize, Serialize};

use crate::counters::Readings;
use crate::driver::Repeat;
use crate::error::RepeatError;
use crate::noise::Noise;
use crate::plan::Planned;
use crate::sampler::Series;

/// What one repeat hands to the row, whatever drove it (a backend or the handoff
/// scenario). It crosses a process boundary as JSON when repeats run in fresh processes
/// (`run --isolate`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// Throughput in operations per second.
    pub ops_per_sec: f64,
    /// Operations each thread completed.
    pub per_thread_ops: Vec<u64>,
    /// Timed operations.
    #[serde(with = "recorded")]
    pub latency: Option<Histogram<u64>>,
    /// Collections the driver ran and timed (graph rows); `None` elsewhere.
    #[serde(with = "recorded", default)]
    pub pauses: Option<Histogram<u64>>,
    /// Memory and garbage over time.
    pub series: Option<Series>,
    /// Peak live bytes above the baseline, when memory was counted.
    pub peak_bytes: Option<u64>,
    /// Counters.
    pub counters: Readings,
    /// Workload-specific numbers.
    pub extra: Vec<(String, f64)>,
    /// The verdict of the repeat's check.
    pub check: Result<(), String>,
    /// What else the machine did meanwhile.
    pub noise: Noise,
}

impl From<Repeat> for Measured {
    fn from(r: Repeat) -> Measured {
        Measured {
            ops_per_sec: r.ops_per_sec(),
            per_thread_ops: r.per_thread_ops,
            latency: r.latency,
            pauses: None,
            series: r.series,
            peak_bytes: r.peak_bytes,
            counters: r.counters,
            extra: r
                .stall_held
                .map(|held| ("stall_held".to_string(), if held { 1.0 } else { 0.0 }))
                .into_iter()
                .chain(r.walks.into_iter().flat_map(|(walks, nodes)| {
                    [
                        ("long_reader_walks".to_string(), walks as f64),
                        (
                            "long_reader_nodes_per_walk".to_string(),
                            nodes as f64 / walks.max(1) as f64,
                        ),
                    ]
                }))
                .chain(r.visits.map(|(nodes, sampled)| {
                    (
                        "visited_per_op".to_string(),
                        nodes as f64 / sampled.max(1) as f64,
                    )
                }))
                .collect(),
            check: r.check,
            noise: r.noise,
        }
    }
}

/// The row of `planned` from its repeats (or from the error that stopped them).
pub(crate) fn build(
    planned: &Planned,
    settings: &str,
    repeats: Result<&[Measured], &RepeatError>,
) -> Row {
    let mut row = Row::named(
        planned.target.name(),
        planned.target.structure(),
        planned.target.scheme(),
        planned.workload.name(),
        planned.threads,
    );
    row.scheme_settings = settings.to_string();
    row.allocator = planned.allocator.name().to_string();
    row.tuning = planned.tuning.map(|t| reclaim_results::Tuning {
        key: t.key.to_owned(),
        value: t.value,
    });
    row.roles = match (planned.shape, planned.set) {
        (Some(shape), Some(set)) => format!(
            "{shape}: {} % contains/insert/remove over {} keys, half prefilled, {}",
            set.mix,
            set.keys,
            set.zipf.map_or("uniform".to_string(), |z| z.to_string())
        ),
        (Some(shape), None) => shape.to_string(),
        (None, _) if matches!(planned.target, crate::Target::Graph(_)) => {
            crate::graph::roles(planned.threads)
        }
        (None, _) => "1 producer + 1 real-time consumer".to_string(),
    };
    // The set's parameters as numbers too, for reports that group or plot by them.
    let set_extra: Vec<(String, f64)> = planned
        .set
        .map(|set| {
            vec![
                ("keys".to_string(), set.keys as f64),
                ("mix_contains_pct".to_string(), f64::from(set.mix.read)),
                ("mix_insert_pct".to_string(), f64::from(set.mix.insert)),
                ("mix_remove_pct".to_string(), f64::from(set.mix.remove)),
            ]
            .into_iter()
            .chain(set.zipf.map(|z| ("zipf_s".to_string(), z.0)))
            .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    row.extra = set_extra.iter().cloned().collect();
    let repeats = match repeats {
        Ok(repeats) => repeats,
        Err(error) => {
            row.error = Some(reclaim_core::error_chain(error));
            return row;
        }
    };
    if let Some(error) = repeats.iter().find_map(|r| r.check.as_ref().err()) {
        // One failed check sinks the row: a number from a run that lost values is not a
        // number about this backend.
        row.error = Some(error.clone());
        return row;
    }
    let throughputs: Vec<f64> = repeats.iter().map(|r| r.ops_per_sec).collect();
    let Some(spread) = Spread::of(&throughputs) else {
        row.error = Some("no repeat completed".to_string());
        return row;
    };
    row.valid = true;
    row.ops_per_sec = Some(spread);
    row.repeat_ops_per_sec = throughputs.clone();
    row.repeat_ops_per_sec_unstolen = repeats
        .iter()
        .map(|r| r.noise.unstolen(r.ops_per_sec))
        .collect::<Option<Vec<f64>>>()
        .unwrap_or_default();

    // The repeat whose throughput is the median (the lower middle for an even count)
    // stands for the row's series, counters and fairness.
    let mut order: Vec<usize> = (0..repeats.len()).collect();
    order.sort_by(|&a, &b| throughputs[a].total_cmp(&throughputs[b]));
    let median = &repeats[order[(order.len() - 1) / 2]];
    row.per_thread_ops = median.per_thread_ops.clone();
    row.counted_ops = median.per_thread_ops.iter().sum();
    row.counters = median.counters.values.clone();
    row.counter_errors = median.counters.errors.clone();
    row.extra.extend(median.extra.iter().cloned());

    row.latency_ns = merge(repeats.iter().filter_map(|r| r.latency.as_ref()));
    row.pauses_ns = repeats
        .iter()
        .any(|r| r.pauses.is_some())
        .then(|| merge(repeats.iter().filter_map(|r| r.pauses.as_ref())))
        .map(|p| {
            p.unwrap_or(Latency {
                p50: 0,
                p99: 0,
                p999: 0,
                max: 0,
                samples: 0,
            })
        });
    row.noise = noise(repeats);
    if let Some(series) = &median.series {
        let peak = repeats.iter().filter_map(|r| r.peak_bytes).max();
        if let (false, Some(peak_bytes)) = (series.memory.is_empty(), peak) {
            row.memory = Some(Memory {
                peak_bytes,
                series: series.memory.clone(),
            });
        }
        if let Some(points) = &series.garbage {
            let peak = repeats
                .iter()
                .filter_map(|r| r.series.as_ref()?.garbage.as_ref())
                .flat_map(|points| points.iter().map(|p| p.outstanding))
                .max()
                .unwrap_or(0);
            row.garbage = Some(Garbage {
                peak,
                series: points.clone(),
            });
            // Garbage made per operation: what the median repeat retired, over its
            // operations (the sampler's last sample is taken once the workers are done).
            if let Some(retired) = points.last().and_then(|p| p.retired)
                && row.counted_ops > 0
            {
                let per_op = retired as f64 / row.counted_ops as f64;
                row.extra.insert("retired_per_op".to_string(), per_op);
            }
            // What freeing costs a scheme that frees on a thread of its own: the
            // collector's CPU time over the objects freed, both as of the last sample.
            if let (Some(cpu), Some(freed)) =
                (series.reclaimer_cpu_ns, points.last().and_then(|p| p.freed))
                && freed > 0
            {
                let per_freed = cpu as f64 / freed as f64;
                row.extra
                    .insert("reclaimer_cpu_ns_per_freed".to_string(), per_freed);
            }
        }
    }
    row
}

/// The noise of every repeat in one record: the worst steal and run-queue delay, and the
/// typical (median) delay and preemptions; `None` when no repeat measured any of it.
fn noise(repeats: &[Measured]) -> Option<reclaim_results::Noise> {
    let values = |f: fn(&Noise) -> Option<f64>| -> Vec<f64> {
        repeats.iter().filter_map(|r| f(&r.noise)).collect()
    };
    let max = |v: Vec<f64>| v.into_iter().reduce(f64::max);
    let counts = |f: fn(&Noise) -> Option<u64>| -> Option<u64> {
        let v: Vec<f64> = repeats
            .iter()
            .filter_map(|r| f(&r.noise))
            .map(|c| c as f64)
            .collect();
        stats::median(&v).map(|m| m.round() as u64)
    };
    let record = reclaim_results::Noise {
        steal_pct_max: max(values(|n| n.steal_pct)),
        runqueue_delay_pct: stats::median(&values(|n| n.runqueue_delay_pct)),
        runqueue_delay_pct_max: max(values(|n| n.runqueue_delay_pct)),
        involuntary_switches: counts(|n| n.involuntary_switches),
        migrations: counts(|n| n.migrations),
        stolen_pct: stats::median(&values(|n| n.stolen_pct)),
    };
    (record != reclaim_results::Noise::default()).then_some(record)
}

/// Percentiles of the histograms merged; `None` when none holds a value.
fn merge<'a>(histograms: impl Iterator<Item = &'a Histogram<u64>>) -> Option<Latency> {
    let mut total: Option<Histogram<u64>> = None;
    for h in histograms {
        match &mut total {
            // Same bounds everywhere, so adding cannot fail; if it did, the row keeps
            // the samples merged so far rather than none.
            Some(t) => {
                let _ = t.add(h);
            }
            None => total = Some(h.clone()),
        }
    }
    let h = total.filter(|h| !h.is_empty())?;
    Some(Latency {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
        samples: h.len(),
    })
}

/// A latency histogram as the list of its recorded values and their counts, for JSON:
/// enough to rebuild it bucket for bucket (each value lands in the bucket it came from).
mod recorded {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        histogram: &Option<Histogram<u64>>,
        out: S,
    ) -> Result<S::Ok, S::Error> {
        histogram
            .as_ref()
            .map(|h| {
                h.iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect::<Vec<_>>()
            })
            .serialize(out)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        input: D,
    ) -> Result<Option<Histogram<u64>>, D::Error> {
        let Some(values) = Option::<Vec<(u64, u64)>>::deserialize(input)? else {
            return Ok(None);
        };
        let mut histogram = crate::driver::histogram();
        for (value, count) in values {
            histogram
                .record_n(value, count)
                .map_err(|e| serde::de::Error::custom(format!("latency value {value}: {e}")))?;
        }
        Ok(Some(histogram))
    }
}
