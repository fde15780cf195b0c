//! The tables: latency, counters, invalid rows, and every row's numbers.

use std::fmt::Write as _;

use reclaim_results::{Counter, Row};

use super::{charts, heads, missing, number, per_input, table};
use crate::chart::{Axis, Frame, RangeChart, RangeRow, Scale, Unit};
use crate::data::{self, Context};
use crate::escape::html;
use crate::format;

/// Latency percentiles of every valid row: a chart per workload and thread count (p50
/// to p99 per backend, log scale), then the table, both sorted by workload, threads and
/// p50.
pub(super) fn latency(ctx: &Context<'_>) -> String {
    let intro = "<p class=\"note\">Percentiles of sampled operations (one in \
                 <i>n</i> is timed, see the header), over every repeat. Each chart is a \
                 workload at a thread count: per backend, the dot is the p50 and the bar \
                 runs to the p99 (the tick), on a log scale. Charts and table list the \
                 backends fastest p50 first.</p>\n";
    intro.to_owned()
        + &per_input(ctx, |index, input| {
            let sorted = data::by_latency(&input.file.rows);
            if sorted.is_empty() {
                return "<p class=\"note\">No valid rows.</p>\n".to_owned();
            }
            let mut groups: Vec<(&str, usize)> = Vec::new();
            for row in &sorted {
                if !groups.contains(&(row.workload.as_str(), row.threads)) {
                    groups.push((&row.workload, row.threads));
                }
            }
            let svgs = groups.iter().filter_map(|&(workload, threads)| {
                let rows: Vec<RangeRow> = sorted
                    .iter()
                    .filter(|r| r.workload == workload && r.threads == threads)
                    .filter_map(|r| {
                        let l = r.latency_ns?;
                        Some(RangeRow {
                            name: r.backend.clone(),
                            colour: ctx.schemes.colour(&r.scheme),
                            low: Some(l.p50 as f64),
                            high: Some(l.p99 as f64),
                        })
                    })
                    .collect();
                if rows.is_empty() {
                    return None;
                }
                let plural = if threads == 1 { "" } else { "s" };
                let frame = Frame::new(format!("{workload} · {threads} thread{plural}"), "")
                    .attribute("data-chart", "latency")
                    .attribute("data-input", (index + 1).to_string())
                    .attribute("data-workload", workload)
                    .attribute("data-threads", threads.to_string());
                let chart = RangeChart {
                    frame,
                    x: Axis::new(
                        "latency: p50 (dot) to p99 (tick), log scale",
                        Scale::Log,
                        Unit::Nanos,
                    ),
                    rows,
                };
                Some(chart.render())
            });
            let mut out = charts(svgs);
            let head = heads(&[
                "backend", "workload", "threads", "p50", "p99", "p99.9", "max", "samples",
            ]);
            let rows: Vec<Vec<String>> = sorted
                .iter()
                .map(|row| {
                    let mut cells = identity(row);
                    match row.latency_ns {
                        Some(l) => {
                            for ns in [l.p50, l.p99, l.p999, l.max] {
                                cells.push(format::nanos(ns as f64));
                            }
                            cells.push(format::si(l.samples as f64));
                        }
                        None => cells.extend((0..5).map(|_| missing())),
                    }
                    cells
                })
                .collect();
            out.push_str(&table(&head, 3..usize::MAX, &rows));
            out
        })
}

/// Counters per operation and raw; `null` counters say "unsupported" with the reason.
/// A counter that no row of a file has (a VM without a PMU) gets one line above the
/// table instead of a column of "unsupported".
pub(super) fn counters(ctx: &Context<'_>) -> String {
    let intro = "<p class=\"note\">Counters over the median repeat, divided by the \
                 operations it completed, with the raw total in brackets. \
                 <span class=\"unsupported\">unsupported</span> means the kernel or CPU \
                 did not provide the counter (hover, or see the numbered notes).</p>\n";
    intro.to_owned()
        + &per_input(ctx, |_, input| {
            let rows: Vec<&Row> = input.file.rows.iter().filter(|r| r.valid).collect();
            let names = data::distinct(
                rows.iter()
                    .flat_map(|r| r.counters.keys().map(String::as_str)),
            );
            if names.is_empty() {
                return "<p class=\"note\">No counters were recorded.</p>\n".to_owned();
            }
            let (measured, unsupported): (Vec<&str>, Vec<&str>) = names.iter().partition(|name| {
                rows.iter()
                    .any(|r| r.counters.get(**name).copied().flatten().is_some())
            });
            let mut notes = Footnotes::default();
            let mut out = String::new();
            if !unsupported.is_empty() {
                let listed: Vec<String> = unsupported
                    .iter()
                    .map(|name| {
                        let reason = rows.iter().find_map(|r| r.counter_errors.get(*name));
                        unsupported_mark(name, reason.map(String::as_str), &mut notes)
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "<p>Unsupported in every row: {}.</p>",
                    listed.join(", ")
                );
            }
            if !measured.is_empty() {
                let mut head = heads(&["backend", "workload", "threads", "ops counted"]);
                head.extend(measured.iter().map(|n| per_op_head(n)));
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|row| {
                        let mut cells = identity(row);
                        cells.push(format::si(row.counted_ops as f64));
                        for name in &measured {
                            cells.push(counter_cell(row, name, &mut notes));
                        }
                        cells
                    })
                    .collect();
                out.push_str(&table(&head, 3..usize::MAX, &cells));
            }
            out.push_str(&notes.render());
            out
        })
}

/// A counter's column head, its unit before `/op` where it has one: `instructions /op`,
/// `task-clock ns/op`.
fn per_op_head(name: &str) -> String {
    let unit = Counter::from_name(name).and_then(Counter::unit);
    format!("{} {}/op", html(name), unit.unwrap_or(""))
}

/// Reasons cited by number, each reason once.
#[derive(Default)]
struct Footnotes {
    reasons: Vec<String>,
}

impl Footnotes {
    /// The number of `reason`'s note, adding it if new.
    fn cite(&mut self, reason: &str) -> usize {
        match self.reasons.iter().position(|r| r == reason) {
            Some(i) => i + 1,
            None => {
                self.reasons.push(reason.to_owned());
                self.reasons.len()
            }
        }
    }

    fn render(&self) -> String {
        if self.reasons.is_empty() {
            return String::new();
        }
        let mut out = String::from("<ol class=\"footnotes\">");
        for reason in &self.reasons {
            let _ = write!(out, "<li>{}</li>", html(reason));
        }
        out.push_str("</ol>\n");
        out
    }
}

/// `text` marked unsupported, with `reason` as its tooltip and footnote.
fn unsupported_mark(text: &str, reason: Option<&str>, notes: &mut Footnotes) -> String {
    let reason = reason.unwrap_or("no reason recorded");
    format!(
        "<span class=\"unsupported\" title=\"{}\">{}</span><sup>{}</sup>",
        html(reason),
        html(text),
        notes.cite(reason)
    )
}

/// A counter's cell: per operation with the raw total, "unsupported" with a numbered
/// note for `null`, a dash where the row has no such counter.
fn counter_cell(row: &Row, name: &str, notes: &mut Footnotes) -> String {
    match row.counters.get(name) {
        None => missing(),
        Some(None) => unsupported_mark(
            "unsupported",
            row.counter_errors.get(name).map(String::as_str),
            notes,
        ),
        Some(Some(raw)) => format!(
            "{} <small>({})</small>",
            number(row.counter_per_op(name), format::per_op),
            format::si(*raw as f64)
        ),
    }
}

/// Rows whose checks failed, with the reason; they appear in no chart.
pub(super) fn invalid(ctx: &Context<'_>) -> String {
    per_input(ctx, |_, input| {
        let rows: Vec<Vec<String>> = input
            .file
            .rows
            .iter()
            .filter(|r| !r.valid)
            .map(|row| {
                let mut cells = identity(row);
                cells.push(html(&row.roles));
                let error = row.error.as_deref().unwrap_or("no reason recorded");
                cells.push(format!("<span class=\"error\">{}</span>", html(error)));
                cells
            })
            .collect();
        if rows.is_empty() {
            return "<p class=\"note\">None: every row passed its checks.</p>\n".to_owned();
        }
        table(
            &heads(&["backend", "workload", "threads", "roles", "error"]),
            2..3,
            &rows,
        )
    })
}

/// Every row with its throughput spread, peaks and workload-specific numbers, folded
/// away: it is for looking a number up.
pub(super) fn all_rows(ctx: &Context<'_>) -> String {
    per_input(ctx, |_, input| {
        let head = heads(&[
            "backend",
            "structure",
            "scheme",
            "settings",
            "workload",
            "roles",
            "status",
            "threads",
            "median ops/s",
            "min",
            "max",
            "cv",
            "peak memory (any repeat)",
            "peak garbage (any repeat)",
            "extra",
        ]);
        let rows: Vec<Vec<String>> = input.file.rows.iter().map(row_cells).collect();
        format!(
            "<details><summary>{} rows</summary>\n{}</details>\n",
            rows.len(),
            table(&head, 7..14, &rows)
        )
    })
}

/// A row's full line for [`all_rows`] and the backend sections.
pub(super) fn row_cells(row: &Row) -> Vec<String> {
    let spread = row.ops_per_sec.filter(|_| row.valid);
    let extra: Vec<String> = row
        .extra
        .iter()
        .map(|(k, v)| format!("{}={}", html(k), format::significant(*v)))
        .collect();
    vec![
        html(&row.backend),
        html(&row.structure),
        html(&row.scheme),
        html(&row.scheme_settings),
        html(&row.workload),
        html(&row.roles),
        status(row),
        row.threads.to_string(),
        number(data::median(row), format::si),
        number(spread.map(|s| s.min), format::si),
        number(spread.map(|s| s.max), format::si),
        number(spread.map(|s| s.cv), format::percent),
        number(
            row.memory.as_ref().map(|m| m.peak_bytes as f64),
            format::bytes,
        ),
        number(row.garbage.as_ref().map(|g| g.peak as f64), format::si),
        extra.join(" "),
    ]
}

/// "ok", or "invalid" with the error in its tooltip.
pub(super) fn status(row: &Row) -> String {
    if row.valid {
        "ok".to_owned()
    } else {
        format!(
            "<span class=\"bad\" title=\"{}\">invalid</span>",
            html(row.error.as_deref().unwrap_or(""))
        )
    }
}

fn identity(row: &Row) -> Vec<String> {
    vec![
        html(&row.backend),
        html(&row.workload),
        row.threads.to_string(),
    ]
}
