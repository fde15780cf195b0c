//! The answer a reader came for, first: per workload and thread count, the backends
//! ranked by throughput, each beside its ratio to its reference with a 95% interval.
//! Two neighbours in the ranking share a rank when the noise does not separate them:
//! the paired ratio of the two (round by round: every row of a group ran once per
//! round) has an interval that contains 1. Beside each, what it costs when a thread
//! stalls; for the handoff scenario, what the real-time thread paid instead of a
//! throughput, which there is only a rate.

use reclaim_results::{Ratio, ResultFile, Row, Verdict};

use super::{heads, missing, number, per_input, table};
use crate::data::{self, Context};
use crate::escape::html;
use crate::format;

/// The section: a table per comparison group of each input.
pub(super) fn section(ctx: &Context<'_>) -> String {
    let intro = "<p class=\"note\">Each table is one comparison group (a workload at a \
        thread count), measured in paired rounds. <b>Ratio</b> is the median of the \
        round-by-round ratios to the group's reference (the row's structure's \
        <code>ebr</code> backend, else the group's first row), with its 95% interval in \
        brackets; where the interval contains 1 the row is <i>within noise</i> of its \
        reference. Rows are ranked by median throughput, and a row shares the rank of the \
        row above when their own paired ratio is within noise. \
        <b>Stalled</b> is the row's peak memory in the <code>stalled</code> workload at \
        the same thread count, where there is one. <b>Noise</b> says why a row's numbers \
        are not ones to lean on: an interval wider than ±10%, the hypervisor stealing CPU \
        time, or workers waiting for a CPU while there were no more of them than cores.</p>\n";
    intro.to_owned()
        + &per_input(ctx, |_, input| {
            let mut out = String::new();
            for (workload, threads) in groups(&input.file) {
                let rows: Vec<&Row> = input
                    .file
                    .rows
                    .iter()
                    .filter(|r| !data::is_graph(r))
                    .filter(|r| r.workload == workload && r.threads == threads)
                    .collect();
                out.push_str(&format!(
                    "<h3>{} · {threads} thread{}</h3>\n",
                    html(workload),
                    if threads == 1 { "" } else { "s" }
                ));
                out.push_str(&if workload == "handoff" {
                    handoff(&rows)
                } else {
                    ranked(&input.file, &rows)
                });
            }
            if out.is_empty() {
                out.push_str(&super::graph::only_graphs_note(&input.file));
            }
            out
        })
}

/// (workload, threads) of every group, in the order the run measured them; graphs
/// have their own section.
fn groups(file: &ResultFile) -> Vec<(&str, usize)> {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for row in file.rows.iter().filter(|r| !data::is_graph(r)) {
        let key = (row.workload.as_str(), row.threads);
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    groups
}

/// The rows of one group, fastest first, with ranks that tie rows the noise does not
/// separate.
fn ranked(file: &ResultFile, rows: &[&Row]) -> String {
    let mut valid: Vec<&Row> = rows.iter().copied().filter(|r| r.valid).collect();
    valid.sort_by(|a, b| throughput(b).total_cmp(&throughput(a)));
    let ranks = ranks(&valid);
    let mut cells = Vec::new();
    for (row, &rank) in valid.iter().zip(&ranks) {
        let tied = ranks.iter().filter(|&&r| r == rank).count() > 1;
        let throughput = row.ops_per_sec.map(|s| match s.ci95 {
            Some([low, high]) => format!(
                "{} ({}–{})",
                format::si(s.median),
                format::si(low),
                format::si(high)
            ),
            None => format::si(s.median),
        });
        cells.push(vec![
            if tied {
                format!("={rank}")
            } else {
                rank.to_string()
            },
            format!("<code>{}</code>", html(&row.backend)),
            html(&format::ratio_long(row)),
            throughput.unwrap_or_else(missing),
            stalled_memory(file, row),
            row.noisy.as_deref().map_or_else(String::new, |why| {
                format!("<span class=\"noisy\">{}</span>", html(why))
            }),
        ]);
    }
    for row in rows.iter().filter(|r| !r.valid) {
        cells.push(vec![
            "–".to_owned(),
            format!("<code>{}</code>", html(&row.backend)),
            "<span class=\"bad\">failed its check</span>".to_owned(),
            missing(),
            missing(),
            String::new(),
        ]);
    }
    let head = heads(&[
        "rank",
        "backend",
        "ratio (95% interval)",
        "ops/s",
        "stalled",
        "noise",
    ]);
    table(&head, 2..5, &cells)
}

/// The median throughput a row ranks by.
fn throughput(row: &Row) -> f64 {
    data::median(row).unwrap_or(f64::NEG_INFINITY)
}

/// Whether the noise separates two rows of a group: their paired ratio's interval lies
/// clear of 1. Rows measured without rounds (older files), or too few of them, are not
/// separated.
fn separated(faster: &Row, slower: &Row) -> bool {
    Ratio::paired(
        &slower.backend,
        &faster.repeat_ops_per_sec,
        &slower.repeat_ops_per_sec,
    )
    .is_some_and(|r| {
        matches!(
            r.verdict(&faster.backend),
            Verdict::Faster | Verdict::Slower
        )
    })
}

/// Ranks of rows sorted fastest first: a row the noise does not separate from the one
/// above shares its rank; otherwise its rank is its place.
fn ranks(sorted: &[&Row]) -> Vec<usize> {
    let mut ranks: Vec<usize> = Vec::with_capacity(sorted.len());
    for i in 0..sorted.len() {
        let rank = match ranks.last() {
            Some(&above) if !separated(sorted[i - 1], sorted[i]) => above,
            _ => i + 1,
        };
        ranks.push(rank);
    }
    ranks
}

/// The backend's peak memory in `stalled` at the row's thread count.
fn stalled_memory(file: &ResultFile, row: &Row) -> String {
    let key = data::Key {
        backend: &row.backend,
        workload: "stalled",
        threads: row.threads,
        params: data::params(row),
    };
    let peak = data::find(file, &key)
        .filter(|r| r.valid)
        .and_then(|r| r.memory.as_ref())
        .map(|m| m.peak_bytes as f64);
    number(peak, format::bytes)
}

/// The handoff strategies: callback latency and what the real-time thread freed.
fn handoff(rows: &[&Row]) -> String {
    let extra = |row: &Row, name: &str| row.extra.get(name).copied();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            if !row.valid {
                return vec![
                    format!("<code>{}</code>", html(&row.backend)),
                    "<span class=\"bad\">failed its check</span>".to_owned(),
                    missing(),
                    missing(),
                    missing(),
                    missing(),
                ];
            }
            let latency = row.latency_ns;
            vec![
                format!("<code>{}</code>", html(&row.backend)),
                number(latency.map(|l| l.p99 as f64), format::nanos),
                number(latency.map(|l| l.p999 as f64), format::nanos),
                number(extra(row, "consumer_frees"), format::si),
                number(extra(row, "messages_freed_on_consumer"), format::si),
                number(extra(row, "messages_refused"), format::si),
            ]
        })
        .collect();
    let head = heads(&[
        "strategy",
        "callback p99",
        "callback p99.9",
        "frees on the real-time thread",
        "messages freed there",
        "messages refused",
    ]);
    table(&head, 1..usize::MAX, &cells)
}
