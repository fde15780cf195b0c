//! `--csv`: the flat numbers of every row, one line each, for spreadsheets and scripts.

use std::io;

use crate::{Counter, ResultFile, Row};

/// A cell for a number that may be absent: empty, never 0, when it is.
fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The columns of one row, each with its header name, so names and values cannot drift.
fn columns(file: &ResultFile, row: &Row) -> Vec<(&'static str, String)> {
    let spread = row.ops_per_sec;
    let latency = row.latency_ns;
    // Collection pauses (graph rows): their count and percentiles, once there was one.
    let pauses = row.pauses_ns.filter(|p| p.samples > 0);
    let mut columns = vec![
        ("host", file.metadata.host.clone()),
        ("target", file.metadata.target.clone()),
        ("git_sha", file.metadata.git_sha.clone()),
        ("backend", row.backend.clone()),
        ("structure", row.structure.clone()),
        ("scheme", row.scheme.clone()),
        ("allocator", row.allocator.clone()),
        ("workload", row.workload.clone()),
        ("threads", row.threads.to_string()),
        ("valid", row.valid.to_string()),
        ("error", row.error.clone().unwrap_or_default()),
        ("ops_per_sec_median", cell(spread.map(|s| s.median))),
        ("ops_per_sec_min", cell(spread.map(|s| s.min))),
        ("ops_per_sec_max", cell(spread.map(|s| s.max))),
        ("ops_per_sec_cv", cell(spread.map(|s| s.cv))),
        (
            "ops_per_sec_ci95_low",
            cell(spread.and_then(|s| s.ci95).map(|c| c[0])),
        ),
        (
            "ops_per_sec_ci95_high",
            cell(spread.and_then(|s| s.ci95).map(|c| c[1])),
        ),
        (
            "ratio_reference",
            cell(row.ratio.as_ref().map(|r| r.reference.clone())),
        ),
        ("ratio_median", cell(row.ratio.as_ref().map(|r| r.median))),
        (
            "ratio_ci95_low",
            cell(row.ratio.as_ref().and_then(|r| r.ci95).map(|c| c[0])),
        ),
        (
            "ratio_ci95_high",
            cell(row.ratio.as_ref().and_then(|r| r.ci95).map(|c| c[1])),
        ),
        ("rounds_ended", cell(row.rounds_ended.clone())),
        ("latency_p50_ns", cell(latency.map(|l| l.p50))),
        ("latency_p99_ns", cell(latency.map(|l| l.p99))),
        ("latency_p999_ns", cell(latency.map(|l| l.p999))),
        ("latency_max_ns", cell(latency.map(|l| l.max))),
        ("pauses", cell(pauses.map(|l| l.samples))),
        ("pause_p50_ns", cell(pauses.map(|l| l.p50))),
        ("pause_p99_ns", cell(pauses.map(|l| l.p99))),
        ("pause_p999_ns", cell(pauses.map(|l| l.p999))),
        ("pause_max_ns", cell(pauses.map(|l| l.max))),
        (
            "memory_peak_bytes",
            cell(row.memory.as_ref().map(|m| m.peak_bytes)),
        ),
        ("garbage_peak", cell(row.garbage.as_ref().map(|g| g.peak))),
        ("counted_ops", row.counted_ops.to_string()),
    ];
    for counter in Counter::ALL {
        let value = row.counters.get(counter.name()).copied().flatten();
        columns.push((counter.name(), cell(value)));
    }
    columns
}

/// Writes `file` as CSV with a header line: the identifying columns, the throughput
/// spread and its interval, the ratio to the reference and its interval, latency
/// percentiles, collection pauses (graph rows), memory and garbage peaks, the operations the counters
/// cover, then one column per counter, by its name, in [`Counter::ALL`]'s order. Absent
/// numbers are empty cells.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_csv(file: &ResultFile, out: impl io::Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let header: Vec<&str> = columns(file, &Row::empty())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    writer.write_record(&header)?;
    for row in &file.rows {
        writer.write_record(columns(file, row).into_iter().map(|(_, value)| value))?;
    }
    writer.flush()
}
