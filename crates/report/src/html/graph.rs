//! The graph family: strategies for freeing a graph that has cycles (reference counting
//! with weak back-edges, one that leaks its cycles, cycle collectors, tracing
//! collectors), each measured while the row's threads replace random subgraphs.
//!
//! These rows stand apart from the containers and sets: an operation is another thing,
//! the references of their ratios are other strategies, and what a reader asks of them
//! beside throughput is what the collections cost in pauses and what they leave
//! unfreed. So they are left out of the ranking and the throughput charts, and read
//! here: throughput with paired ratios, a table of pauses and leftovers, and memory and
//! garbage over time with one line per strategy. Their backend sections, the latency
//! and counter tables and the comparison of inputs keep them like any row.

use std::fmt::Write as _;

use reclaim_results::{Latency, ResultFile, Row, Verdict};

use super::timeline::{Measure, repeat_end};
use super::{charts, heads, missing, number, per_input, ratio_class, table};
use crate::chart::{Dash, Frame, Scale, Series};
use crate::data::{self, Context};
use crate::escape::html;
use crate::format;

/// Strategies that leak by design: `rc-leak` keeps plain strong references and never
/// breaks a cycle. Any other strategy with `leaked > 0` missed nodes it should free.
const LEAKS_BY_DESIGN: &[&str] = &["rc-leak"];

/// Whether any input has graph rows (the section is left out otherwise).
pub(super) fn any(ctx: &Context<'_>) -> bool {
    ctx.inputs
        .iter()
        .flat_map(|i| &i.file.rows)
        .any(data::is_graph)
}

/// The note of a container or set section with nothing to show for `file`: it has no
/// rows, or only graph rows, which are read in their own section.
pub(super) fn only_graphs_note(file: &ResultFile) -> String {
    if file.rows.iter().any(data::is_graph) {
        "<p class=\"note\">Only graph rows in this file: see <a href=\"#graphs\">Graphs</a>.</p>\n"
            .to_owned()
    } else {
        "<p class=\"note\">This file has no rows.</p>\n".to_owned()
    }
}

const INTRO: &str = "<p class=\"note\">Each graph strategy keeps a graph of live nodes \
    (trees whose back-edges point at ancestors, so it has cycles) while the row's threads replace \
    random subgraphs: an <b>operation</b> is one replacement, and the collections the \
    driver ran are part of the time. In <code>graph</code> a strategy collects when it says \
    a collection is due; in <code>graph-forced</code> the driver also runs a full collection \
    every so many operations. <b>Garbage</b> is nodes unlinked and not yet freed. A \
    <b>ratio</b> is paired by round with the group's reference (named in the column head, \
    normally <code>graph-rc-weak</code>), with its 95% interval; <i>within noise</i> where \
    the interval contains 1.</p>\n";

/// Per input: throughput, pauses and leftovers, memory and garbage over time.
pub(super) fn section(ctx: &Context<'_>) -> String {
    INTRO.to_owned()
        + &per_input(ctx, |index, input| {
            let rows: Vec<&Row> = input
                .file
                .rows
                .iter()
                .filter(|r| data::is_graph(r))
                .collect();
            if rows.is_empty() {
                return "<p class=\"note\">No graph rows in this file.</p>\n".to_owned();
            }
            let mut out = String::from("<h4>Throughput</h4>\n");
            out.push_str(&throughput(&rows));
            out.push_str("<h4>Collections, pauses and what was left unfreed</h4>\n");
            out.push_str(&unexpected_leaks(&rows));
            out.push_str(&pauses(&rows));
            out.push_str("<h4>Memory and garbage over time</h4>\n");
            out.push_str(&timelines(ctx, index, &input.file, &rows));
            out
        })
}

/// (workload, threads) of `rows`: workloads in order of first appearance, threads
/// ascending.
fn groups<'a>(rows: &[&'a Row]) -> Vec<(&'a str, usize)> {
    let workloads = data::distinct(rows.iter().map(|r| r.workload.as_str()));
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for row in rows {
        if !groups.contains(&(row.workload.as_str(), row.threads)) {
            groups.push((&row.workload, row.threads));
        }
    }
    groups.sort_by_key(|&(w, t)| (workloads.iter().position(|x| *x == w), t));
    groups
}

fn group_title(workload: &str, threads: usize) -> String {
    let plural = if threads == 1 { "" } else { "s" };
    format!("{workload} · {threads} thread{plural}")
}

fn extra(row: &Row, name: &str) -> Option<f64> {
    row.extra.get(name).copied().filter(|v| v.is_finite())
}

/// A line per strategy, a pair of columns (ops/s, ratio) per workload and thread count.
fn throughput(rows: &[&Row]) -> String {
    let groups = groups(rows);
    let strategies = data::distinct(rows.iter().map(|r| r.scheme.as_str()));
    let find = |scheme: &str, (workload, threads): (&str, usize)| {
        rows.iter()
            .copied()
            .find(|r| r.scheme == scheme && r.workload == workload && r.threads == threads)
    };
    let mut head = heads(&["strategy"]);
    for &(workload, threads) in &groups {
        let title = html(&group_title(workload, threads));
        let reference = rows
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .find_map(|r| r.ratio.as_ref())
            .map(|r| format!(" to <code>{}</code>", html(&r.reference)))
            .unwrap_or_default();
        head.push(format!("{title}<br>ops/s"));
        head.push(format!("{title}<br>ratio{reference}"));
    }
    let cells: Vec<Vec<String>> = strategies
        .iter()
        .map(|&scheme| {
            let mut line = vec![format!("<code>{}</code>", html(scheme))];
            for &group in &groups {
                match find(scheme, group) {
                    None => line.extend([missing(), missing()]),
                    Some(row) if !row.valid => line.extend([
                        format!(
                            "<span class=\"bad\" title=\"{}\">invalid</span>",
                            html(row.error.as_deref().unwrap_or(""))
                        ),
                        missing(),
                    ]),
                    Some(row) => line.extend([ops_cell(row), ratio_text(row)]),
                }
            }
            line
        })
        .collect();
    let mut out = table(&head, 1..usize::MAX, &cells);
    let mut every: Vec<String> = Vec::new();
    for n in rows.iter().filter_map(|r| extra(r, "collect_every")) {
        let n = format::si(n);
        if !every.contains(&n) {
            every.push(n);
        }
    }
    let every = every.join(", ");
    if !every.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\"><code>graph-forced</code> ran a full collection every {every} \
             operations.</p>"
        );
    }
    out
}

/// The median ops/s with the half-width of its 95% interval, `~` in front where the row
/// was flagged noisy (the reason in its tooltip).
fn ops_cell(row: &Row) -> String {
    let Some(median) = data::median(row) else {
        return missing();
    };
    let noisy = row.noisy.as_deref().map_or_else(String::new, |why| {
        format!("<span class=\"noisy\" title=\"{}\">~</span>", html(why))
    });
    let interval = row
        .ops_per_sec
        .and_then(|s| s.ci_half_width_pct())
        .map_or_else(String::new, |pct| {
            format!(" <small>{}</small>", format::plus_minus_pct(pct))
        });
    format!("{noisy}{}{interval}", format::si(median))
}

/// The row's paired ratio to its reference in words, shaded by how far it is from 1.
fn ratio_text(row: &Row) -> String {
    match &row.ratio {
        None => missing(),
        Some(r) if r.reference == row.backend => "reference".to_owned(),
        Some(r) => {
            // Within noise reads as no difference, however far the median lies from 1.
            let class = match r.verdict(&row.backend) {
                Verdict::WithinNoise => "ratio-even",
                _ if r.median.is_finite() => ratio_class(r.median),
                _ => "",
            };
            format!(
                "<span class=\"{class}\" title=\"{}\">{}</span>",
                html(&format!(
                    "paired with {} over {} rounds",
                    r.reference, r.rounds
                )),
                html(&format::ratio_long(row))
            )
        }
    }
}

/// Whether a row's `leaked` nodes are a leak by design, a miss, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leak {
    None,
    ByDesign,
    Unexpected,
}

fn leak(row: &Row) -> Leak {
    match extra(row, "leaked") {
        Some(n) if n > 0.0 && LEAKS_BY_DESIGN.contains(&row.scheme.as_str()) => Leak::ByDesign,
        Some(n) if n > 0.0 => Leak::Unexpected,
        _ => Leak::None,
    }
}

/// A warning per row whose strategy should free every unreachable node but leaked.
fn unexpected_leaks(rows: &[&Row]) -> String {
    let mut out = String::new();
    for row in rows
        .iter()
        .filter(|r| r.valid && leak(r) == Leak::Unexpected)
    {
        let never = extra(row, "never_freed").map_or_else(String::new, |n| {
            format!(" ({} still not freed after teardown)", format::si(n))
        });
        let plural = if row.threads == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "<p class=\"warning\"><b>Unexpected leak:</b> <code>{}</code> on <code>{}</code> \
             at {} thread{plural} left {} nodes that a full collection could not free{never}. \
             This strategy is meant to free every unreachable node: it missed some.</p>",
            html(&row.backend),
            html(&row.workload),
            row.threads,
            format::si(extra(row, "leaked").unwrap_or(0.0)),
        );
    }
    out
}

/// What each column of the pause table means, one sentence each.
const PAUSE_COLUMNS: &[(&str, &str)] = &[
    (
        "collections",
        "Collections the driver ran and timed in the median repeat; after the plus, those \
         <code>gc</code> and dumpster ran on their own inside an operation (an allocation or \
         a drop), which are counted but cannot be timed apart from it.",
    ),
    (
        "pause p50 … max",
        "Percentiles of the timed collections over every repeat (their number in the \
         collections cell's tooltip), “–” where none was timed: <code>gc</code> and dumpster \
         collect inside operations, so their pauses are not here but in the operation \
         latency, whose max is the next column.",
    ),
    (
        "op latency max",
        "The slowest operation (one subgraph replaced), each timed on its own: where a \
         library collected inside an operation, that pause is in it.",
    ),
    (
        "in collection",
        "The share of the repeat's wall time spent in the timed collections (not those \
         inside operations).",
    ),
    (
        "peak garbage",
        "The most nodes unlinked and not yet freed that any sample saw, in any repeat.",
    ),
    (
        "peak memory",
        "The highest live heap above what was live before the run, in any repeat.",
    ),
    (
        "garbage at end",
        "Nodes unlinked and not yet freed when the median repeat ended.",
    ),
    (
        "leaked",
        "Of those, the nodes a full collection then could not free: <code>rc-leak</code> \
         leaks its cycles by design (grey, <i>by design</i>); for any other strategy a leak \
         is a miss, flagged in red with a warning above the table (the tooltip adds the \
         nodes still not freed after teardown).",
    ),
    (
        "garbage growth",
        "How fast garbage grew over the second half of the median repeat, in nodes per \
         second: about 0 for a strategy that keeps up, the leak's rate for one that does \
         not, below 0 while a collector catches up.",
    ),
];

/// One line per valid row: collections, pauses, time in collection, and what was left.
fn pauses(rows: &[&Row]) -> String {
    let head = heads(&[
        "strategy",
        "workload",
        "threads",
        "collections",
        "pause p50",
        "pause p99",
        "pause p99.9",
        "pause max",
        "op latency max",
        "in collection",
        "peak garbage (nodes)",
        "peak memory",
        "garbage at end",
        "leaked",
        "garbage growth",
    ]);
    let mut cells: Vec<Vec<String>> = Vec::new();
    for (workload, threads) in groups(rows) {
        for row in rows
            .iter()
            .filter(|r| r.valid && r.workload == workload && r.threads == threads)
        {
            let timed: Option<Latency> = row.pauses_ns.filter(|p| p.samples > 0);
            let pause = |f: fn(&Latency) -> u64| number(timed.map(|p| f(&p) as f64), format::nanos);
            cells.push(vec![
                html(&row.backend),
                html(&row.workload),
                row.threads.to_string(),
                collections(row),
                pause(|p| p.p50),
                pause(|p| p.p99),
                pause(|p| p.p999),
                pause(|p| p.max),
                number(row.latency_ns.map(|l| l.max as f64), format::nanos),
                number(extra(row, "collection_time_pct"), |pct| {
                    format!("{pct:.1}%")
                }),
                number(row.garbage.as_ref().map(|g| g.peak as f64), format::si),
                number(
                    row.memory.as_ref().map(|m| m.peak_bytes as f64),
                    format::bytes,
                ),
                number(extra(row, "garbage_end"), format::si),
                leak_cell(row),
                number(extra(row, "garbage_growth_per_sec"), |rate| {
                    let sign = if rate > 0.0 { "+" } else { "" };
                    format!("{sign}{}/s", format::si(rate))
                }),
            ]);
        }
    }
    if cells.is_empty() {
        return "<p class=\"note\">No valid graph rows: see <a href=\"#invalid\">Invalid \
                rows</a>.</p>\n"
            .to_owned();
    }
    let mut out = table(&head, 2..usize::MAX, &cells);
    out.push_str("<dl class=\"columns\">");
    for (name, meaning) in PAUSE_COLUMNS {
        let _ = write!(out, "<dt>{}</dt><dd>{meaning}</dd>", html(name));
    }
    out.push_str("</dl>\n");
    out
}

/// Timed collections, `+ n inside ops` where the library counts its own, and the number
/// of pauses timed over every repeat in the tooltip.
fn collections(row: &Row) -> String {
    let text = match (extra(row, "collections"), extra(row, "hidden_collections")) {
        (Some(timed), Some(hidden)) => {
            format!("{} + {} inside ops", format::si(timed), format::si(hidden))
        }
        (Some(timed), None) => format::si(timed),
        (None, Some(hidden)) => format!("{} inside ops", format::si(hidden)),
        (None, None) => return missing(),
    };
    match row.pauses_ns {
        Some(p) => format!(
            "<span title=\"{} collections timed over every repeat\">{text}</span>",
            p.samples
        ),
        None => text,
    }
}

/// `leaked`, marked as a leak by design or flagged as a miss.
fn leak_cell(row: &Row) -> String {
    let Some(leaked) = extra(row, "leaked") else {
        return missing();
    };
    let count = format::si(leaked);
    let tooltip = extra(row, "never_freed").map_or_else(String::new, |n| {
        format!("{} nodes still not freed after teardown", format::si(n))
    });
    match leak(row) {
        Leak::None => count,
        Leak::ByDesign => {
            let capped = if extra(row, "leak_capped").is_some_and(|v| v > 0.0) {
                ", stopped at the cap"
            } else {
                ""
            };
            format!(
                "<span class=\"expected\" title=\"{}\">{count} (by design{capped})</span>",
                html(&tooltip)
            )
        }
        Leak::Unexpected => format!(
            "<span class=\"bad leak\" title=\"{}\">{count} ⚠ unexpected</span>",
            html(&tooltip)
        ),
    }
}

/// Per workload and thread count, memory and garbage over the median repeat, one line
/// per strategy, on a log axis where the lines lie more than tenfold apart.
fn timelines(ctx: &Context<'_>, index: usize, file: &ResultFile, rows: &[&Row]) -> String {
    let end = repeat_end(file);
    let mut svgs = Vec::new();
    for (workload, threads) in groups(rows) {
        let members: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| r.valid && r.workload == workload && r.threads == threads)
            .collect();
        for measure in Measure::ALL {
            let series: Vec<Series> = members
                .iter()
                .filter(|r| !measure.points(r).is_empty())
                .map(|r| Series {
                    name: r.scheme.clone(),
                    colour: ctx.schemes.colour(&r.scheme),
                    dash: Dash::Solid,
                    points: measure.points(r),
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let scale = Scale::for_values(series.iter().flat_map(|s| s.points.iter().map(|p| p.y)));
            let frame = Frame::new(
                format!("{} · {}", group_title(workload, threads), measure.title()),
                "strategy",
            )
            .attribute("data-input", (index + 1).to_string())
            .attribute("data-family", "graph")
            .attribute("data-workload", workload)
            .attribute("data-threads", threads.to_string());
            svgs.push(
                measure
                    .chart_on(scale, frame, series, end.iter().cloned().collect())
                    .render(),
            );
        }
    }
    if svgs.is_empty() {
        return "<p class=\"note\">No memory or garbage samples (an uninstrumented run).</p>\n"
            .to_owned();
    }
    let mut out = String::from(
        "<p class=\"note\">Samples of the median repeat, one line per strategy (colour is \
         the strategy, as elsewhere); garbage is nodes unlinked and not yet freed. The axis \
         turns logarithmic where every sample is above zero and the lines lie more than \
         tenfold apart. The dashed line marks where the \
         measured repeat ended.</p>\n",
    );
    out.push_str(&charts(svgs));
    out
}
