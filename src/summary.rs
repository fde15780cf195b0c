//! The tables printed on the terminal: the listing, and the summary after a run.

use std::collections::BTreeMap;
use std::fmt::Write;

use reclaim_results::{ResultFile, Row, stats};

/// Aligns `rows` under `header`, two spaces apart; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = width - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Millions of operations per second, to two significant decimals; `~` marks a row the
/// harness flagged noisy.
fn mops(row: &Row) -> String {
    match (row.valid, row.ops_per_sec) {
        (true, Some(s)) => {
            let mark = if row.noisy.is_some() { "~" } else { "" };
            format!("{mark}{:.2}", s.median / 1e6)
        }
        _ => "FAILED".to_string(),
    }
}

/// How wide the intervals came out, and how many rows were flagged noisy, by reason.
fn noise_line(rows: &[&Row]) -> Option<String> {
    let widths = |width: fn(&Row) -> Option<f64>| -> Option<f64> {
        let values: Vec<f64> = rows
            .iter()
            .filter(|r| r.valid)
            .filter_map(|r| width(r))
            .collect();
        stats::median(&values)
    };
    let median_width = widths(|r| r.ops_per_sec?.ci_half_width_pct());
    let ratio_width = widths(|r| {
        r.ratio
            .as_ref()
            .filter(|ratio| ratio.reference != r.backend)?
            .ci_half_width_pct()
    });
    let mut line = match (median_width, ratio_width) {
        (Some(m), Some(r)) => format!(
            "95% intervals: the median row's is ±{m:.1}% on its throughput and ±{r:.1}% on \
             its ratio. "
        ),
        _ => String::new(),
    };
    let flagged: Vec<&str> = rows.iter().filter_map(|r| r.noisy.as_deref()).collect();
    if !flagged.is_empty() {
        let count = |needle: &str| flagged.iter().filter(|r| r.contains(needle)).count();
        line.push_str(&format!(
            "{} of {} rows flagged noisy (~): {} with a 95% interval wider than ±{}% or none, \
             {} with hypervisor steal over {}%, {} whose workers waited for a CPU over {}% of \
             the time; the reasons are in each row's `noisy` field and the report.",
            flagged.len(),
            rows.len(),
            count("interval"),
            stats::NOISY_INTERVAL_PCT,
            count("stole"),
            stats::NOISY_STEAL_PCT,
            count("waited"),
            stats::NOISY_RUNQUEUE_DELAY_PCT,
        ));
    }
    (!line.is_empty()).then_some(line)
}

/// The ratio to the row's reference, as the report writes it.
fn ratio(row: &Row) -> String {
    if row.valid {
        reclaim_report::format::ratio_cell(row)
    } else {
        "FAILED".to_string()
    }
}

/// One line per backend, one column per workload × threads, each cell `cell(row)`.
fn grid(rows: &[&Row], cell: impl Fn(&Row) -> String) -> String {
    let mut columns: Vec<(String, usize)> = Vec::new();
    let mut backends: Vec<&str> = Vec::new();
    let mut cells: BTreeMap<(&str, &str, usize), String> = BTreeMap::new();
    for row in rows {
        let key = (row.workload.clone(), row.threads);
        if !columns.contains(&key) {
            columns.push(key);
        }
        if !backends.contains(&row.backend.as_str()) {
            backends.push(&row.backend);
        }
        cells.insert((&row.backend, &row.workload, row.threads), cell(row));
    }
    let header: Vec<String> = std::iter::once("BACKEND".to_string())
        .chain(columns.iter().map(|(w, t)| format!("{w}/{t}")))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let lines: Vec<Vec<String>> = backends
        .iter()
        .map(|b| {
            std::iter::once(b.to_string())
                .chain(columns.iter().map(|(w, t)| {
                    cells
                        .get(&(*b, w.as_str(), *t))
                        .cloned()
                        .unwrap_or_else(|| "-".into())
                }))
                .collect()
        })
        .collect();
    table(&header, &lines)
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The summary of a run: throughput by backend and workload, what `stalled` kept, the
/// handoff strategies' callbacks, and every row that failed its check.
pub fn summarize(file: &ResultFile) -> String {
    let mut out = String::new();
    let backend_rows: Vec<&Row> = file
        .rows
        .iter()
        .filter(|r| r.workload != "handoff")
        .collect();

    // Throughput, then the ratios: one line per backend, one column per workload ×
    // threads.
    if !backend_rows.is_empty() {
        let _ = writeln!(
            out,
            "Throughput, million operations (pushes + pops) per second, median of {} rounds \
             (~ marks a row flagged noisy):",
            file.settings.repeats
        );
        out.push_str(&grid(&backend_rows, mops));
        if let Some(line) = noise_line(&backend_rows) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\nRatio to the reference of each comparison group (the structure's ebr backend, \
             else the group's first row), paired by round: 1.23× where the 95% interval lies \
             clear of 1, ≈ where it contains 1 (within noise), ? where there is no interval:"
        );
        out.push_str(&grid(&backend_rows, ratio));
    }

    // Stalled: what each scheme kept while one thread held on.
    let stalled: Vec<Vec<String>> = backend_rows
        .iter()
        .filter(|r| r.workload == "stalled" && r.valid)
        .map(|r| {
            vec![
                r.backend.clone(),
                r.threads.to_string(),
                r.garbage
                    .as_ref()
                    .map_or("no scheme counters".to_string(), |g| g.peak.to_string()),
                r.memory
                    .as_ref()
                    .map_or("not counted".to_string(), |m| bytes(m.peak_bytes)),
            ]
        })
        .collect();
    if !stalled.is_empty() {
        let _ = writeln!(out, "\nStalled: one thread holds on for the whole run:");
        out.push_str(&table(
            &[
                "BACKEND",
                "THREADS",
                "PEAK GARBAGE (objects)",
                "PEAK MEMORY",
            ],
            &stalled,
        ));
    }

    let handoff: Vec<Vec<String>> = file
        .rows
        .iter()
        .filter(|r| r.workload == "handoff" && r.valid)
        .map(|r| {
            let l = r.latency_ns;
            let ns = |f: fn(&reclaim_results::Latency) -> u64| {
                l.as_ref()
                    .map_or("-".to_string(), |l| format!("{:.1} µs", f(l) as f64 / 1e3))
            };
            let extra = |k: &str| {
                r.extra
                    .get(k)
                    .map_or("not counted".to_string(), |v| format!("{v:.0}"))
            };
            vec![
                r.scheme.clone(),
                ns(|l| l.p50),
                ns(|l| l.p999),
                ns(|l| l.max),
                extra("consumer_frees"),
                extra("peak_outstanding"),
            ]
        })
        .collect();
    if !handoff.is_empty() {
        let _ = writeln!(out, "\nHandoff: the real-time callback, per strategy:");
        out.push_str(&table(
            &[
                "STRATEGY",
                "P50",
                "P99.9",
                "MAX",
                "FREES IN CALLBACKS",
                "PEAK MESSAGES ALIVE",
            ],
            &handoff,
        ));
    }

    let invalid: Vec<Vec<String>> = file
        .rows
        .iter()
        .filter(|r| !r.valid)
        .map(|r| {
            vec![
                r.backend.clone(),
                r.workload.clone(),
                r.threads.to_string(),
                r.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !invalid.is_empty() {
        let _ = writeln!(out, "\nFailed rows (no numbers reported for them):");
        out.push_str(&table(&["BACKEND", "WORKLOAD", "THREADS", "WHY"], &invalid));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_on_the_widest_cell() {
        let text = table(
            &["A", "B", "C"],
            &[
                vec!["long-name".into(), "1".into(), "x".into()],
                vec!["s".into(), "22".into(), "y".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A          B   C");
        assert_eq!(lines[1], "long-name  1   x");
        assert_eq!(lines[2], "s          22  y");
    }

    #[test]
    fn sizes_are_in_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
