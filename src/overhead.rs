//! `run --overhead`: what the harness costs the operations it measures.
//!
//! Each row runs as the harness runs it (its worker loops: counting, checksumming, one
//! clock read per batch; the sampler thread, one timed operation per batch, perf
//! counters, the counting allocator) and as a bare loop of the same backend and threads
//! doing the same work with nothing added (push, pop, `black_box`, each thread's start and
//! end) — both for the same count of iterations, so their times compare directly. What
//! the harness adds that is always on is in the comparison too: the scheme counters and
//! their thread-local scope, the checksum, the batches. For each row, `rounds` pairs, one
//! of each, back to back, the order alternating from pair to pair (harness-bare,
//! bare-harness, …) so that a trend falls on both halves. The counting allocator is
//! paused for the bare loops ([`reclaim_alloc::set_counting`]): what is left of it is one
//! relaxed load and a branch per allocation.
//!
//! Why in one process: on a shared virtual machine two processes running the same row
//! differ by 10–20% (placement, memory layout, neighbours), more than the few percent
//! sought, and such a difference falls on every row of a process at once. Within one
//! process, a pair's two halves share all of it.
//!
//! The figure is the throughput lost, `1 − bare time / harness time`, of each pair. What
//! is reported is the median of every pair's loss with a distribution-free 95% confidence
//! interval for that median (`reclaim_results::stats`), beside the noise of the bare
//! loops alone (their coefficient of variation per row): the target is declared met only
//! when the whole interval is under it.

use std::time::Duration;

use anyhow::{Context, anyhow};
use reclaim_harness::metadata;
use reclaim_harness::overhead::{Loop, time};
use reclaim_results::format::{self, table};
use reclaim_results::{Spread, stats};

use crate::RunArgs;
use crate::run::{selection, settings};

/// Rows measured when the user selects none: the lock-free structures under every
/// scheme, where the instrumentation's share is largest (their operations are the
/// cheapest), at one and two threads.
const DEFAULT_BACKENDS: &[&str] = &["treiber-*", "msqueue-*"];
const DEFAULT_WORKLOADS: &[&str] = &["pairs", "prodcons"];
const DEFAULT_THREADS: &[usize] = &[1, 2];
/// Longer than the quick suite's 100 ms: the difference sought is a few percent. Each
/// row's iteration count is set so that its bare loop takes about this long.
const DEFAULT_DURATION: Duration = Duration::from_millis(250);
/// Iterations of the bare run that sizes a row's iteration count.
const CALIBRATION_ITERATIONS: u64 = 20_000;
/// Pairs of repeats per row.
const DEFAULT_ROUNDS: u32 = 6;
/// The target: at most this share of throughput lost to instrumentation.
const TARGET: f64 = 0.05;

/// One row's throughput in the harness and in the bare loop, pair by pair.
#[derive(Debug)]
struct Measured {
    backend: String,
    workload: String,
    threads: usize,
    on: Vec<f64>,
    off: Vec<f64>,
}

/// Operations per second of `iterations` of `planned` in `elapsed`: a pair thread does
/// two per iteration; producers' values are pushed and popped.
fn throughput(planned: &reclaim_harness::Planned, iterations: u64, elapsed: Duration) -> f64 {
    let shape = planned.shape.unwrap_or_default();
    let ops = 2 * iterations * (shape.pairs + shape.producers) as u64;
    ops as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The user's selection with the defaults above filled in, one repeat per run.
fn with_defaults(args: &RunArgs) -> RunArgs {
    let mut args = args.clone();
    let owned = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
    if args.backends.is_empty() && args.structures.is_empty() && args.schemes.is_empty() {
        args.backends = owned(DEFAULT_BACKENDS);
    }
    if args.workloads.is_empty() {
        args.workloads = owned(DEFAULT_WORKLOADS);
    }
    args.threads.get_or_insert_with(|| DEFAULT_THREADS.to_vec());
    args.duration.get_or_insert(DEFAULT_DURATION);
    args.repeats = Some(1);
    args.no_instrumentation = false;
    args
}

/// Runs the pairs and prints the table of throughput lost per row and the verdict.
pub fn overhead(args: &RunArgs) -> anyhow::Result<()> {
    let rounds = args.repeats.unwrap_or(DEFAULT_ROUNDS).max(1);
    let args = with_defaults(args);
    let cores = metadata::cores();
    let settings = settings(&args, cores)?;
    let plan = reclaim_harness::plan(
        &selection(&args),
        &reclaim_registry::entries(),
        &settings,
        cores,
    )?;
    if !args.quiet {
        eprintln!(
            "overhead: {} rows × {rounds} pairs of about {} each, the harness against a bare \
             loop, about {}",
            plan.runs.len(),
            format::duration(settings.duration),
            format::duration(plan.estimate(&settings) * 2 * rounds)
        );
    }
    let run = |planned, which, iterations| {
        reclaim_alloc::set_counting(which == Loop::Harness);
        let result = time(planned, &settings, which, iterations);
        reclaim_alloc::set_counting(true);
        result.with_context(|| format!("timing {planned} ({which:?} loop)"))
    };
    let mut measured = Vec::with_capacity(plan.runs.len());
    for (i, planned) in plan.runs.iter().enumerate() {
        if !args.quiet {
            eprintln!("[{}/{}] {planned}", i + 1, plan.runs.len());
        }
        // Size the work so that the bare loop takes about the duration asked for.
        let calibration = run(planned, Loop::Bare, CALIBRATION_ITERATIONS)?;
        let scale = settings.duration.as_secs_f64() / calibration.as_secs_f64().max(1e-6);
        let iterations = ((CALIBRATION_ITERATIONS as f64 * scale) as u64).max(1000);
        if !args.quiet {
            eprintln!("  {iterations} iterations per worker per repeat");
        }
        let (mut harness, mut bare) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 {
                [Loop::Harness, Loop::Bare]
            } else {
                [Loop::Bare, Loop::Harness]
            };
            for which in order {
                let rate = throughput(planned, iterations, run(planned, which, iterations)?);
                match which {
                    Loop::Harness => harness.push(rate),
                    Loop::Bare => bare.push(rate),
                }
            }
        }
        measured.push(Measured {
            backend: planned.target.name(),
            workload: planned.workload.to_string(),
            threads: planned.threads,
            on: harness,
            off: bare,
        });
    }
    let report = compare(&measured)?;
    print!("{}", report.text);
    println!("\n{}", report.verdict(rounds));
    Ok(())
}

/// The comparison of the two halves.
#[derive(Debug)]
struct Overhead {
    text: String,
    rows: usize,
    /// Every row's loss in every round.
    losses: Vec<f64>,
    /// The median of `losses` and its 95% confidence interval.
    median: f64,
    interval: (f64, f64),
    /// The median over rows of the bare half's coefficient of variation across rounds.
    noise: f64,
}

impl Overhead {
    /// The closing paragraph: the estimate, its interval, the noise, the verdict.
    fn verdict(&self, rounds: u32) -> String {
        let pct = format::percent;
        let (low, high) = self.interval;
        let verdict = if high <= TARGET {
            "met: the whole interval is under it".to_string()
        } else if self.median <= TARGET {
            format!(
                "not shown: the estimate is under it but the interval reaches {}; \
                 more rounds (-r) narrow it",
                pct(high)
            )
        } else {
            "NOT met".to_string()
        };
        format!(
            "Throughput the harness loses against a bare loop: {} (95% interval {} to {}), \
             the median of {} losses ({} rows × {} pairs, harness and bare back to back); \
             bare loops of one row vary by {} (median cv), so single rows are noise. \
             Target ≤ {}: {verdict}.",
            pct(self.median),
            pct(low),
            pct(high),
            self.losses.len(),
            self.rows,
            rounds,
            pct(self.noise),
            pct(TARGET),
        )
    }
}

/// The median of `values` and its distribution-free 95% confidence interval; `None`
/// with too few values for one.
fn median_interval(values: &[f64]) -> Option<(f64, (f64, f64))> {
    let [low, high] = stats::median_ci95(values)?;
    Some((stats::median(values)?, (low, high)))
}

/// The heading of the per-row cost column; [`COST_NOTE`] says what it is.
const COST_HEAD: &str = "COST (median of pairs)";
/// What the cost column means, printed under the table.
const COST_NOTE: &str = "COST: the throughput the instrumentation costs, the median over the row's \
pairs of\n1 − bare time ÷ harness time (each pair run back to back); positive = the harness \
slower.\nIt is not 1 − HARNESS ÷ BARE of the two medians beside it: those come from \
different pairs.";

/// A row's cost cell: the median of its pairs' losses (`paired`), positive when the
/// harness was slower, marked `*` when the row's two medians (`harness`, `bare`, ops/s)
/// point the other way (a space otherwise, so the digits line up); and whether it was
/// marked.
fn cost_cell(paired: f64, harness: f64, bare: f64) -> (String, bool) {
    let of_medians = 1.0 - harness / bare;
    let disagree = paired * of_medians < 0.0;
    let mark = if disagree { "*" } else { " " };
    (
        format!("{}{mark}", format::signed_percent(paired)),
        disagree,
    )
}

fn compare(rows: &[Measured]) -> anyhow::Result<Overhead> {
    let mut lines = Vec::new();
    let mut losses = Vec::new();
    let mut noise = Vec::new();
    let mut marked = 0;
    for row in rows {
        let paired: Vec<f64> = row
            .on
            .iter()
            .zip(&row.off)
            .filter(|(_, off)| **off > 0.0)
            .map(|(on, off)| 1.0 - on / off)
            .collect();
        let (Some(with), Some(without), Some(loss)) = (
            Spread::of(&row.on),
            Spread::of(&row.off),
            Spread::of(&paired),
        ) else {
            continue;
        };
        losses.extend(&paired);
        noise.push(without.cv);
        let (cost, disagree) = cost_cell(loss.median, with.median, without.median);
        marked += usize::from(disagree);
        lines.push(vec![
            row.backend.clone(),
            row.workload.clone(),
            row.threads.to_string(),
            format::si(with.median),
            format::si(without.median),
            format::percent(without.cv),
            cost,
        ]);
    }
    let (median, interval) = median_interval(&losses).ok_or_else(|| {
        anyhow!("too few measurements for a confidence interval: select more rows or rounds (-r)")
    })?;
    let mut text = table(
        &[
            "BACKEND",
            "WORKLOAD",
            "THREADS",
            "HARNESS (ops/s)",
            "BARE (ops/s)",
            "BARE CV",
            COST_HEAD,
        ],
        2..usize::MAX,
        &lines,
    );
    text.push_str(COST_NOTE);
    if marked > 0 {
        text.push_str(&format!(
            "\n* marks the {marked} row(s) where those two medians point the other way."
        ));
    }
    text.push('\n');
    Ok(Overhead {
        text,
        rows: lines.len(),
        losses,
        median,
        interval,
        noise: Spread::of(&noise).map_or(0.0, |s| s.median),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_brackets_the_median_and_narrows_with_more_values() {
        let spread = |n: usize| -> Vec<f64> { (0..n).map(|i| i as f64 / n as f64).collect() };
        let (median, (low, high)) = median_interval(&spread(20)).unwrap();
        assert!(low < median && median < high, "{low} {median} {high}");
        let (_, (low_more, high_more)) = median_interval(&spread(400)).unwrap();
        assert!(high_more - low_more < high - low);
        // For 100 values the order statistics are the 40th and the 61st.
        let (_, (low, high)) = median_interval(&spread(100)).unwrap();
        assert_eq!((low, high), (0.39, 0.6));
        assert!(median_interval(&spread(5)).is_none());
    }

    #[test]
    fn the_verdict_needs_the_whole_interval_under_the_target() {
        let report = |median, interval| Overhead {
            text: String::new(),
            rows: 10,
            losses: vec![0.0; 50],
            median,
            interval,
            noise: 0.1,
        };
        assert!(
            report(0.01, (-0.01, 0.03))
                .verdict(5)
                .contains("met: the whole")
        );
        assert!(report(0.01, (-0.02, 0.08)).verdict(5).contains("not shown"));
        assert!(report(0.09, (0.06, 0.12)).verdict(5).contains("NOT met"));
    }

    #[test]
    fn the_cost_is_positive_when_the_harness_is_slower_and_marked_when_the_medians_disagree() {
        // Slower in the pairs and in the medians: a cost, unmarked.
        assert_eq!(
            cost_cell(0.031, 2.91e6, 3.0e6),
            ("+3.1% ".to_owned(), false)
        );
        // Faster in both: a negative cost, unmarked.
        assert_eq!(
            cost_cell(-0.071, 3.12e6, 2.91e6),
            ("-7.1% ".to_owned(), false)
        );
        // Slower pair by pair, yet the harness's median above the bare one: marked.
        assert_eq!(cost_cell(0.02, 3.12e6, 2.91e6), ("+2.0%*".to_owned(), true));
        assert_eq!(
            cost_cell(-0.02, 2.91e6, 3.12e6),
            ("-2.0%*".to_owned(), true)
        );
    }

    #[test]
    fn the_table_names_its_cost_column_and_explains_a_marked_row() {
        let row = |backend: &str, on: &[f64], off: &[f64]| Measured {
            backend: backend.into(),
            workload: "pairs".into(),
            threads: 2,
            on: on.to_vec(),
            off: off.to_vec(),
        };
        // `agrees`: 10% slower in every pair. `disagrees`: slower in two pairs of three,
        // yet its median with the harness (3.1) is above its bare median (3.0).
        let rows = [
            row("agrees", &[9.0; 8], &[10.0; 8]),
            row(
                "disagrees",
                &[2.0, 3.1, 4.0, 2.0, 3.1, 4.0, 2.0, 3.1],
                &[2.2, 3.0, 4.4, 2.2, 3.0, 4.4, 2.2, 3.0],
            ),
        ];
        let report = compare(&rows).unwrap();
        let lines: Vec<&str> = report.text.lines().collect();
        assert!(lines[0].ends_with(COST_HEAD), "{}", report.text);
        assert!(lines[1].ends_with("+10.0%"), "{}", report.text);
        assert!(lines[2].starts_with("disagrees"), "{}", report.text);
        assert!(lines[2].ends_with('*'), "{}", report.text);
        assert!(report.text.contains("positive = the harness slower"));
        assert!(
            report.text.contains("* marks the 1 row(s)"),
            "{}",
            report.text
        );
        let unmarked = compare(&rows[..1]).unwrap();
        assert!(!unmarked.text.contains("* marks"), "{}", unmarked.text);
    }
}
