//! Throughput against threads, and throughput as a ratio to `leak`, of containers and
//! sets (graphs have their own section).

use std::fmt::Write as _;

use reclaim_results::Row;

use super::{charts, heads, per_input, ratio_cell, table};
use crate::chart::{Axis, Dash, Frame, LineChart, Point, Scale, Series, Unit, colour};
use crate::data::{self, Context, Group, REFERENCE_SCHEME};
use crate::escape::html;
use crate::format;

/// One chart per workload × structure, one line per scheme.
pub(super) fn section(ctx: &Context<'_>) -> String {
    per_input(ctx, |index, input| {
        let rows = data::without_graphs(&input.file.rows);
        let workloads = data::distinct(rows.iter().map(|r| r.workload.as_str()));
        if workloads.is_empty() {
            return super::graph::only_graphs_note(&input.file);
        }
        let mut out = String::new();
        for workload in workloads {
            if workload == "handoff" {
                // Messages per second there is set by the period: a rate, not a speed.
                let _ = writeln!(
                    out,
                    "<h4>handoff</h4>\n<p class=\"note\">Not a throughput: messages per \
                     second are set by the callback period. See the <a \
                     href=\"#ranking\">ranking</a> for its callback latency and the frees \
                     on the real-time thread.</p>"
                );
                continue;
            }
            let in_workload: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|r| r.workload == workload)
                .collect();
            let _ = writeln!(out, "<h4>{}</h4>", html(shown(workload)));
            let groups = data::structure_groups(&in_workload);
            let svgs = groups
                .iter()
                .map(|group| group_chart(ctx, index, workload, group).render());
            out.push_str(&charts(svgs));
        }
        out
    })
}

fn group_chart(ctx: &Context<'_>, input: usize, workload: &str, group: &Group<'_>) -> LineChart {
    let names = data::distinct(group.rows.iter().map(|r| group.series_name(r)));
    let series: Vec<Series> = names
        .iter()
        .enumerate()
        .map(|(local, name)| {
            let colour = if group.by_scheme {
                ctx.schemes.colour(name)
            } else {
                colour(local)
            };
            let rows = group
                .rows
                .iter()
                .copied()
                .filter(|r| group.series_name(r) == *name);
            Series {
                name: (*name).to_owned(),
                colour,
                dash: Dash::Solid,
                points: throughput_points(rows),
            }
        })
        .collect();
    // A structure named after its workload (`handoff`) need not be named twice.
    let title = if group.title == workload {
        workload.to_owned()
    } else {
        format!("{} · {}", shown(workload), group.title)
    };
    let frame = Frame::new(title, if group.by_scheme { "scheme" } else { "backend" })
        .attribute("data-chart", "throughput")
        .attribute("data-input", (input + 1).to_string())
        .attribute("data-workload", workload)
        .attribute("data-group", group.title.as_str());
    throughput_chart(frame, &group.rows, series)
}

/// A workload's name for headings; a file may leave it empty.
fn shown(workload: &str) -> &str {
    if workload.is_empty() {
        "(unnamed workload)"
    } else {
        workload
    }
}

/// A line chart of ops/s against threads over `rows`' thread counts.
/// The y axis of every throughput chart: median operations per second.
pub(super) fn ops_axis(scale: Scale) -> Axis {
    let title = if scale == Scale::Log {
        "ops/s (median, log scale)"
    } else {
        "ops/s (median)"
    };
    Axis::new(title, scale, Unit::Count)
}

pub(super) fn throughput_chart(frame: Frame, rows: &[&Row], series: Vec<Series>) -> LineChart {
    let values = series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|p| [Some(p.y), p.spread.map(|s| s.0), p.spread.map(|s| s.1)])
            .flatten()
    });
    let scale = Scale::for_values(values);
    let threads = data::thread_counts(rows.iter().copied());
    LineChart {
        frame,
        x: Axis::new("threads", Scale::Log, Unit::Plain)
            .ticks_at(threads.iter().map(|&t| t as f64)),
        y: ops_axis(scale),
        series,
        markers: true,
        marks: Vec::new(),
    }
}

/// The valid rows' medians against their thread counts, with their 95% intervals (or,
/// in files without rounds, their min–max).
pub(super) fn throughput_points<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<Point> {
    let mut points: Vec<Point> = rows
        .into_iter()
        .filter_map(|row| {
            let median = data::median(row)?;
            // The median's 95% interval where the rounds give one; else the min–max.
            let spread = row
                .ops_per_sec
                .map(|s| s.ci95.map_or((s.min, s.max), |[low, high]| (low, high)));
            Some(Point {
                x: row.threads as f64,
                y: median,
                spread,
            })
        })
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    points
}

/// Per input, a table of each scheme's median divided by `leak`'s, for structures that
/// have a `leak` backend.
pub(super) fn ratio_section(ctx: &Context<'_>) -> String {
    let intro = format!(
        "<p class=\"note\">Each cell is the scheme's median ops/s divided by the median of \
         the <code>{REFERENCE_SCHEME}</code> backend on the same structure, workload and \
         thread count (hover for the numbers). Below 1: reclamation costs throughput. \
         “–” means no valid row for the scheme or for <code>{REFERENCE_SCHEME}</code>. \
         Structures without a <code>{REFERENCE_SCHEME}</code> backend are left out.</p>\n"
    );
    intro
        + &per_input(ctx, |_, input| {
            let rows = data::without_graphs(&input.file.rows);
            let structures = data::distinct(
                rows.iter()
                    .filter(|r| r.scheme == REFERENCE_SCHEME)
                    .map(|r| r.structure.as_str()),
            );
            if structures.is_empty() {
                return format!(
                    "<p class=\"note\">No <code>{REFERENCE_SCHEME}</code> rows in this file.</p>\n"
                );
            }
            let measured: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|r| structures.contains(&r.structure.as_str()))
                .collect();
            let schemes: Vec<&str> = data::distinct(measured.iter().map(|r| r.scheme.as_str()))
                .into_iter()
                .filter(|s| *s != REFERENCE_SCHEME)
                .collect();
            let mut head = heads(&["workload", "structure", "threads", "leak ops/s"]);
            head.extend(schemes.iter().map(|s| html(s)));
            let mut lines: Vec<(&str, &str, usize)> = Vec::new();
            for row in &measured {
                let line = (row.workload.as_str(), row.structure.as_str(), row.threads);
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
            let workloads = data::distinct(measured.iter().map(|r| r.workload.as_str()));
            let rank = |list: &[&str], name: &str| list.iter().position(|n| *n == name);
            lines.sort_by_key(|&(w, s, t)| (rank(&workloads, w), rank(&structures, s), t));
            let cells: Vec<Vec<String>> = lines
                .iter()
                .map(|&(workload, structure, threads)| {
                    let find = |scheme: &str| {
                        measured.iter().find(|r| {
                            r.workload == workload
                                && r.structure == structure
                                && r.threads == threads
                                && r.scheme == scheme
                        })
                    };
                    let reference = find(REFERENCE_SCHEME).and_then(|r| data::median(r));
                    let mut line = vec![
                        html(workload),
                        html(structure),
                        threads.to_string(),
                        super::number(reference, format::si),
                    ];
                    for scheme in &schemes {
                        let value = find(scheme).and_then(|r| data::median(r));
                        let ratio = value.zip(reference).map(|(v, r)| v / r);
                        let tooltip = format!(
                            "{scheme}: {} ops/s ÷ {REFERENCE_SCHEME}: {} ops/s",
                            value.map_or(format::MISSING.to_owned(), format::si),
                            reference.map_or(format::MISSING.to_owned(), format::si),
                        );
                        line.push(ratio_cell(ratio.filter(|r| r.is_finite()), &tooltip));
                    }
                    line
                })
                .collect();
            table(&head, 2..usize::MAX, &cells)
        })
}
