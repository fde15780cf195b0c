//! A section per backend: everything about one backend in one place, across workloads
//! and inputs.

use std::fmt::Write as _;

use reclaim_results::Row;

use super::throughput::{ops_axis, throughput_chart, throughput_points};
use super::timeline::{Measure, repeat_end};
use super::{charts, heads, number, table, tables};
use crate::chart::{BarChart, BarGroup, BarSeries, Dash, Frame, Mark, Scale, Series, colour};
use crate::data::{self, Context, TIME_SERIES_WORKLOADS};
use crate::escape::html;
use crate::format;

/// An index of backends, then one `<section class="backend">` each.
pub(super) fn section(ctx: &Context<'_>) -> String {
    let mut out = String::from("<p class=\"note\">Jump to: ");
    for backend in &ctx.backends {
        let name = html(backend);
        let _ = write!(out, "<a href=\"#backend-{name}\">{name}</a> ");
    }
    out.push_str("</p>\n");
    for backend in &ctx.backends {
        out.push_str(&backend_section(ctx, backend));
    }
    out
}

fn backend_section(ctx: &Context<'_>, backend: &str) -> String {
    let rows: Vec<(usize, &Row)> = ctx
        .inputs
        .iter()
        .enumerate()
        .flat_map(|(index, input)| {
            input
                .file
                .rows
                .iter()
                .filter(move |r| r.backend == backend)
                .map(move |r| (index, r))
        })
        .collect();
    let name = html(backend);
    let mut out = format!("<section class=\"backend\" id=\"backend-{name}\">\n<h3>{name}</h3>\n");
    if let Some((_, row)) = rows.first() {
        let _ = writeln!(
            out,
            "<p class=\"meta\">structure <code>{}</code> · scheme <code>{}</code>{}</p>",
            html(&row.structure),
            html(&row.scheme),
            if row.scheme_settings.is_empty() {
                String::new()
            } else {
                format!(" · {}", html(&row.scheme_settings))
            }
        );
    }
    let mut svgs = vec![throughput(ctx, backend, &rows)];
    if ctx.inputs.len() > 1 {
        svgs.push(grouped_bars(ctx, backend, &rows));
    }
    for measure in Measure::ALL {
        if let Some(svg) = timeline(ctx, backend, &rows, measure) {
            svgs.push(svg);
        }
    }
    out.push_str(&charts(svgs));
    out.push_str(&rows_table(ctx, &rows));
    out.push_str("</section>\n");
    out
}

/// Throughput against threads, one line per workload (per workload and input when
/// there are several inputs, the input told by the dash).
fn throughput(ctx: &Context<'_>, backend: &str, rows: &[(usize, &Row)]) -> String {
    let several = ctx.inputs.len() > 1;
    let mut lines: Vec<(usize, &str)> = Vec::new();
    for (index, row) in rows {
        if !lines.contains(&(*index, row.workload.as_str())) {
            lines.push((*index, &row.workload));
        }
    }
    let series = lines
        .iter()
        .map(|&(index, workload)| Series {
            name: if several {
                format!("{workload} {}", Context::tag(index))
            } else {
                workload.to_owned()
            },
            colour: ctx.workloads.colour(workload),
            dash: Dash::nth(index),
            points: throughput_points(
                rows.iter()
                    .filter(|(i, r)| *i == index && r.workload == workload)
                    .map(|(_, r)| *r),
            ),
        })
        .collect();
    let frame = Frame::new(format!("{backend} · throughput"), "workload")
        .attribute("data-backend", backend)
        .attribute("data-chart", "backend-throughput");
    let all: Vec<&Row> = rows.iter().map(|(_, r)| *r).collect();
    throughput_chart(frame, &all, series).render()
}

/// Median ops/s per workload and thread count, a bar per input side by side. A set's
/// workload over Zipf keys is a group of its own, apart from the same workload over
/// uniform keys ([`data::Key`]).
fn grouped_bars(ctx: &Context<'_>, backend: &str, rows: &[(usize, &Row)]) -> String {
    let label = |r: &Row| ctx.workload_label(&data::Key::of(r));
    let labels: Vec<String> = rows.iter().map(|(_, r)| label(r)).collect();
    let workloads = data::distinct(labels.iter().map(String::as_str));
    let mut groups = Vec::new();
    let mut keys: Vec<(&str, usize)> = Vec::new();
    for workload in workloads {
        let threads = data::thread_counts(
            rows.iter()
                .filter(|(_, r)| label(r) == workload)
                .map(|(_, r)| *r),
        );
        keys.extend(threads.iter().map(|&t| (workload, t)));
        groups.push(BarGroup {
            label: workload.to_owned(),
            categories: threads.iter().map(|t| format!("{t}t")).collect(),
        });
    }
    let series: Vec<BarSeries> = (0..ctx.inputs.len())
        .map(|index| BarSeries {
            name: format!("{} {}", Context::tag(index), ctx.inputs[index].label),
            colour: colour(index),
            values: keys
                .iter()
                .map(|&(workload, threads)| {
                    rows.iter()
                        .find(|(i, r)| *i == index && label(r) == workload && r.threads == threads)
                        .and_then(|(_, r)| data::median(r))
                })
                .collect(),
        })
        .collect();
    let values = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied());
    let scale = Scale::for_values(values);
    BarChart {
        frame: Frame::new(format!("{backend} · inputs side by side"), "input")
            .attribute("data-backend", backend)
            .attribute("data-chart", "backend-inputs"),
        x_title: "threads, by workload".to_owned(),
        y: ops_axis(scale),
        groups,
        series,
    }
    .render()
}

/// Memory or garbage over time for this backend's time-series rows, or `None` if it
/// has no samples of `measure` there.
fn timeline(
    ctx: &Context<'_>,
    backend: &str,
    rows: &[(usize, &Row)],
    measure: Measure,
) -> Option<String> {
    let several = ctx.inputs.len() > 1;
    let series: Vec<Series> = rows
        .iter()
        .filter(|(_, r)| TIME_SERIES_WORKLOADS.contains(&r.workload.as_str()) && r.valid)
        .filter(|(_, r)| !measure.points(r).is_empty())
        .enumerate()
        .map(|(local, (index, row))| Series {
            name: if several {
                format!("{} {}t {}", row.workload, row.threads, Context::tag(*index))
            } else {
                format!("{} {}t", row.workload, row.threads)
            },
            colour: colour(local),
            dash: Dash::nth(*index),
            points: measure.points(row),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let mut marks: Vec<Mark> = Vec::new();
    for input in ctx.inputs {
        if let Some(end) = repeat_end(&input.file)
            && !marks.contains(&end)
        {
            marks.push(end);
        }
    }
    let frame = Frame::new(
        format!("{backend} · {}", measure.title()),
        "workload, threads",
    )
    .attribute("data-backend", backend);
    Some(measure.chart(frame, series, marks).render())
}

/// The backend's rows in every input.
fn rows_table(ctx: &Context<'_>, rows: &[(usize, &Row)]) -> String {
    let several = ctx.inputs.len() > 1;
    let mut head = if several {
        heads(&["input"])
    } else {
        Vec::new()
    };
    let offset = head.len();
    head.extend(heads(&[
        "workload",
        "roles",
        "threads",
        "median ops/s",
        "min – max",
        "cv",
        "p50",
        "p99",
        "peak memory (any repeat)",
        "peak garbage (any repeat)",
        "status",
    ]));
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(index, row)| {
            let mut cells = if several {
                vec![Context::tag(*index)]
            } else {
                Vec::new()
            };
            let spread = row.ops_per_sec.filter(|_| row.valid);
            let latency = row.latency_ns.filter(|_| row.valid);
            cells.extend([
                html(&row.workload),
                html(&row.roles),
                row.threads.to_string(),
                number(data::median(row), format::si),
                number(spread.map(|s| s.min), |min| {
                    let max = spread.map_or(f64::NAN, |s| s.max);
                    format!("{} – {}", format::si(min), format::si(max))
                }),
                number(spread.map(|s| s.cv), format::percent),
                number(latency.map(|l| l.p50 as f64), format::nanos),
                number(latency.map(|l| l.p99 as f64), format::nanos),
                number(
                    row.memory.as_ref().map(|m| m.peak_bytes as f64),
                    format::bytes,
                ),
                number(row.garbage.as_ref().map(|g| g.peak as f64), format::si),
                tables::status(row),
            ]);
            cells
        })
        .collect();
    table(&head, offset + 2..offset + 10, &cells)
}
