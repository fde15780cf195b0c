//! `run --overhead`: what the instrumentation costs.
//!
//! The same rows run with the instrumentation on (sampler thread, one timed operation per
//! batch, perf counters, per-thread context switches, the counting allocator) and off
//! (only the operation counts and one clock read per batch that every run needs). The
//! counting allocator is a global allocator and cannot be switched off and on again
//! inside one process, so each half runs in a child process of its own — the same
//! binary, `--no-instrumentation` for the bare half — and the rounds alternate which half
//! goes first, so that drift on a shared machine (a neighbour's load, thermal state)
//! falls on both. The figure is the throughput lost: `1 − on / off` of the medians.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reclaim_results::{ResultFile, Spread};

use crate::RunArgs;
use crate::summary::table;

/// Rows measured when the user selects none: the lock-free structures under every
/// scheme, where the instrumentation's share is largest (their operations are the
/// cheapest), at one and two threads.
const DEFAULT_BACKENDS: &str = "treiber-*,msqueue-*";
const DEFAULT_WORKLOADS: &str = "pairs,prodcons";
const DEFAULT_THREADS: &str = "1,2";
/// Longer than the quick suite's 100 ms: the difference sought is a few percent.
const DEFAULT_DURATION: Duration = Duration::from_millis(250);
const DEFAULT_ROUNDS: u32 = 5;
/// The target: at most this share of throughput lost to instrumentation.
const TARGET: f64 = 0.05;

/// The arguments of a child `run` that repeats the user's selection once.
fn child_args(args: &RunArgs, output: &Path, instrumented: bool) -> Vec<String> {
    let mut out = vec!["run".to_string(), "--quiet".into(), "--no-report".into()];
    let mut list = |flag: &str, values: &[String], default: &str| {
        out.push(flag.to_string());
        out.push(if values.is_empty() {
            default.to_string()
        } else {
            values.join(",")
        });
    };
    let explicit =
        !args.backends.is_empty() || !args.structures.is_empty() || !args.schemes.is_empty();
    if explicit {
        if !args.backends.is_empty() {
            list("--backend", &args.backends, "");
        }
        if !args.structures.is_empty() {
            list("--structure", &args.structures, "");
        }
        if !args.schemes.is_empty() {
            list("--scheme", &args.schemes, "");
        }
    } else {
        list("--backend", &[], DEFAULT_BACKENDS);
    }
    list("--workload", &args.workloads, DEFAULT_WORKLOADS);
    let threads: Vec<String> = args
        .threads
        .iter()
        .flatten()
        .map(usize::to_string)
        .collect();
    list("--threads", &threads, DEFAULT_THREADS);
    let duration = args.duration.unwrap_or(DEFAULT_DURATION);
    out.extend(["--duration".into(), format!("{}us", duration.as_micros())]);
    out.extend(["--repeats".into(), "1".into()]);
    if let Some(max) = args.max_in_flight {
        out.extend(["--max-in-flight".into(), max.to_string()]);
    }
    if args.full {
        out.push("--full".into());
    }
    out.extend(["--output".into(), output.display().to_string()]);
    if !instrumented {
        out.push("--no-instrumentation".into());
    }
    out
}

fn run_child(args: &[String]) -> Result<ResultFile, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let output = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start a measuring process: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "a measuring process failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = args
        .iter()
        .skip_while(|a| *a != "--output")
        .nth(1)
        .ok_or("no output path")?;
    ResultFile::load(Path::new(path)).map_err(|e| e.to_string())
}

/// Runs the rounds and prints the table of throughput lost per row.
pub fn overhead(args: &RunArgs) -> Result<(), String> {
    let rounds = args.repeats.unwrap_or(DEFAULT_ROUNDS).max(1);
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let mut on: Vec<ResultFile> = Vec::new();
    let mut off: Vec<ResultFile> = Vec::new();
    for round in 0..rounds {
        // Alternate which half goes first.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for instrumented in order {
            let name = format!("{}-{round}.json", if instrumented { "on" } else { "off" });
            let child = child_args(args, &dir.path().join(name), instrumented);
            if !args.quiet {
                eprintln!(
                    "round {}/{rounds}, instrumentation {}",
                    round + 1,
                    if instrumented { "on" } else { "off" }
                );
            }
            let file = run_child(&child)?;
            if instrumented {
                on.push(file);
            } else {
                off.push(file);
            }
        }
    }
    let report = compare(&on, &off)?;
    print!("{}", report.text);
    println!(
        "\nThroughput lost to instrumentation: median {:.1}%, mean {:.1}%, worst {:.1}% over {} rows \
         ({} rounds each way); target ≤ {:.0}%: {}",
        report.median * 100.0,
        report.mean * 100.0,
        report.worst * 100.0,
        report.rows,
        rounds,
        TARGET * 100.0,
        if report.median <= TARGET {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}

/// The comparison of the two halves.
#[derive(Debug)]
struct Overhead {
    text: String,
    rows: usize,
    median: f64,
    mean: f64,
    worst: f64,
}

fn compare(on: &[ResultFile], off: &[ResultFile]) -> Result<Overhead, String> {
    let first = on.first().ok_or("no rounds ran")?;
    let mut lines = Vec::new();
    let mut losses = Vec::new();
    for (i, row) in first.rows.iter().enumerate() {
        let series = |files: &[ResultFile]| -> Result<Vec<f64>, String> {
            files
                .iter()
                .map(|f| {
                    let r = f.rows.get(i).ok_or("rounds ran different rows")?;
                    match (r.valid, r.ops_per_sec) {
                        (true, Some(s)) => Ok(s.median),
                        _ => Err(format!(
                            "{} × {} × {}: {}",
                            r.backend,
                            r.workload,
                            r.threads,
                            r.error.as_deref().unwrap_or("invalid")
                        )),
                    }
                })
                .collect()
        };
        let (with, without) = (series(on)?, series(off)?);
        let (Some(with), Some(without)) = (Spread::of(&with), Spread::of(&without)) else {
            continue;
        };
        let loss = 1.0 - with.median / without.median;
        losses.push(loss);
        lines.push(vec![
            row.backend.clone(),
            row.workload.clone(),
            row.threads.to_string(),
            format!("{:.2}", with.median / 1e6),
            format!("{:.2}", without.median / 1e6),
            format!("{:+.1}%", -loss * 100.0),
        ]);
    }
    let spread = Spread::of(&losses).ok_or("no row to compare")?;
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    Ok(Overhead {
        text: table(
            &[
                "BACKEND",
                "WORKLOAD",
                "THREADS",
                "ON (Mops/s)",
                "OFF (Mops/s)",
                "ON vs OFF",
            ],
            &lines,
        ),
        rows: losses.len(),
        median: spread.median,
        mean,
        worst: spread.max,
    })
}
