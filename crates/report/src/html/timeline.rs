//! Memory and garbage over the run, for the workloads where that is the story.

use std::fmt::Write as _;

use reclaim_results::Row;

use super::{charts, per_input};
use crate::chart::{Axis, Dash, Frame, LineChart, Point, Scale, Series, Unit};
use crate::data::{self, Context, TIME_SERIES_WORKLOADS};
use crate::escape::html;

/// What a time-series chart plots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Measure {
    /// Live heap bytes above the baseline.
    Memory,
    /// Retired objects not yet freed.
    Garbage,
}

impl Measure {
    pub(super) const ALL: [Measure; 2] = [Measure::Memory, Measure::Garbage];

    /// The samples of `row`'s median repeat.
    pub(super) fn points(self, row: &Row) -> Vec<Point> {
        let point = |t_ms: f64, y: f64| Point {
            x: t_ms,
            y,
            spread: None,
        };
        match self {
            Measure::Memory => row.memory.as_ref().map_or_else(Vec::new, |m| {
                m.series
                    .iter()
                    .map(|p| point(p.t_ms, p.bytes as f64))
                    .collect()
            }),
            Measure::Garbage => row.garbage.as_ref().map_or_else(Vec::new, |g| {
                g.series
                    .iter()
                    .map(|p| point(p.t_ms, p.outstanding as f64))
                    .collect()
            }),
        }
    }

    fn title(self) -> &'static str {
        match self {
            // The series is the median repeat's; the tables' peaks are the highest over
            // every repeat, so the two may differ: each says which it is.
            Measure::Memory => "live memory (median repeat)",
            Measure::Garbage => "garbage outstanding (median repeat)",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Measure::Memory => "memory",
            Measure::Garbage => "garbage",
        }
    }

    fn axis(self) -> Axis {
        match self {
            Measure::Memory => Axis::new("bytes above baseline", Scale::Linear, Unit::Bytes),
            Measure::Garbage => Axis::new("outstanding objects", Scale::Linear, Unit::Count),
        }
    }

    /// A chart of `series` over time; `title` says which rows.
    pub(super) fn chart(self, title: &str, legend: &str, series: Vec<Series>) -> LineChart {
        LineChart {
            frame: Frame::new(format!("{title} · {}", self.title()), legend)
                .attribute("data-chart", self.kind()),
            x: Axis::new(
                "time since threads started (ms)",
                Scale::Linear,
                Unit::Plain,
            ),
            y: self.axis(),
            series,
            markers: false,
        }
    }
}

/// Per input, per time-series workload and thread count: a memory chart and a
/// garbage chart with one line per backend.
pub(super) fn section(ctx: &Context<'_>) -> String {
    let names: Vec<String> = TIME_SERIES_WORKLOADS
        .iter()
        .map(|w| format!("<code>{w}</code>"))
        .collect();
    let intro = format!(
        "<p class=\"note\">Samples of the median repeat of the {} rows. Colour is the \
         scheme (as in the throughput charts), the dash pattern the structure. Garbage \
         outstanding is retired minus freed objects (for <code>handoff</code>: messages \
         built and not yet destroyed); backends without a reclamation scheme have no \
         garbage line.</p>\n",
        names.join(" and ")
    );
    intro
        + &per_input(ctx, |index, input| {
            let mut out = String::new();
            for workload in TIME_SERIES_WORKLOADS {
                let rows: Vec<&Row> = input
                    .file
                    .rows
                    .iter()
                    .filter(|r| r.workload == *workload)
                    .collect();
                for threads in data::thread_counts(rows.iter().copied()) {
                    let at: Vec<&Row> = rows
                        .iter()
                        .copied()
                        .filter(|r| r.threads == threads)
                        .collect();
                    let _ = writeln!(out, "<h4>{} · {threads} threads</h4>", html(workload));
                    let title = format!("{workload} · {threads} threads");
                    let svgs = Measure::ALL.iter().filter_map(|&measure| {
                        let mut chart = backends_chart(ctx, measure, &at, &title)?;
                        chart.frame = chart
                            .frame
                            .attribute("data-input", (index + 1).to_string())
                            .attribute("data-workload", *workload)
                            .attribute("data-threads", threads.to_string());
                        Some(chart.render())
                    });
                    out.push_str(&charts(svgs));
                }
            }
            if out.is_empty() {
                out.push_str("<p class=\"note\">No rows of these workloads in this file.</p>\n");
            }
            out
        })
}

/// One line per row that has samples of `measure`, or `None` if no row has any.
fn backends_chart(
    ctx: &Context<'_>,
    measure: Measure,
    rows: &[&Row],
    title: &str,
) -> Option<LineChart> {
    let with_samples: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.valid && !measure.points(r).is_empty())
        .collect();
    if with_samples.is_empty() {
        return None;
    }
    let structures = data::distinct(with_samples.iter().map(|r| r.structure.as_str()));
    let series = with_samples
        .iter()
        .map(|row| Series {
            name: row.backend.clone(),
            colour: ctx.schemes.colour(&row.scheme),
            dash: Dash::nth(
                structures
                    .iter()
                    .position(|s| *s == row.structure)
                    .unwrap_or(0),
            ),
            points: measure.points(row),
        })
        .collect();
    Some(measure.chart(title, "backend", series))
}
