//! Memory and garbage over the run, for the workloads where that is the story.

use std::fmt::Write as _;

use reclaim_results::{ResultFile, Row};

use super::{charts_small, per_input};
use crate::chart::{Axis, Dash, Frame, LineChart, Mark, Point, Scale, Series, Unit};
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

    pub(super) fn title(self) -> &'static str {
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

    fn axis(self, scale: Scale) -> Axis {
        let (title, unit) = match self {
            Measure::Memory => ("bytes above baseline", Unit::Bytes),
            Measure::Garbage => ("outstanding objects", Unit::Count),
        };
        match scale {
            Scale::Linear => Axis::new(title, scale, unit),
            Scale::Log => Axis::new(format!("{title} (log scale)"), scale, unit),
        }
    }

    /// A chart of `series` over time in `frame` (whose title says which rows), with
    /// `marks` where repeats ended.
    pub(super) fn chart(self, frame: Frame, series: Vec<Series>, marks: Vec<Mark>) -> LineChart {
        self.chart_on(Scale::Linear, frame, series, marks)
    }

    /// [`chart`](Self::chart) with the y axis on `scale`: lines of one chart that lie
    /// orders of magnitude apart need a log axis for the low ones to show.
    pub(super) fn chart_on(
        self,
        scale: Scale,
        frame: Frame,
        series: Vec<Series>,
        marks: Vec<Mark>,
    ) -> LineChart {
        let mut frame = frame;
        frame
            .attributes
            .insert(0, ("data-chart", self.kind().to_owned()));
        LineChart {
            frame,
            x: Axis::new(
                "time since threads started (ms)",
                Scale::Linear,
                Unit::Plain,
            ),
            y: self.axis(scale),
            series,
            markers: false,
            marks,
        }
    }

    /// Whether every sample of `row` is zero (or it has none): a chart of it would be a
    /// flat line.
    pub(super) fn all_zero(self, row: &Row) -> bool {
        self.points(row).iter().all(|p| p.y == 0.0)
    }
}

/// Where the measured part of a repeat of `file`'s rows ended on the time axis, or
/// `None` for runs stopped by an iteration count, which have no set end.
pub(super) fn repeat_end(file: &ResultFile) -> Option<Mark> {
    file.settings.iterations.is_none().then(|| Mark {
        x: file.settings.duration_ms as f64,
        label: format!("end of repeat ({} ms)", file.settings.duration_ms),
    })
}

/// The rows of one chart grid: those with samples of `measure` that are not all zero,
/// and the names of those whose samples are all zero, which are left out.
fn drawn_and_zero<'a>(measure: Measure, rows: &[&'a Row]) -> (Vec<&'a Row>, Vec<&'a str>) {
    let with_samples = rows
        .iter()
        .copied()
        .filter(|r| r.valid && !measure.points(r).is_empty());
    let (zero, drawn): (Vec<&Row>, Vec<&Row>) = with_samples.partition(|r| measure.all_zero(r));
    (drawn, zero.iter().map(|r| r.backend.as_str()).collect())
}

/// Per input, per time-series workload and thread count, per measure: a small chart for
/// each backend, each on its own scale, and a note naming the backends whose samples
/// were all zero.
pub(super) fn section(ctx: &Context<'_>) -> String {
    let names: Vec<String> = TIME_SERIES_WORKLOADS
        .iter()
        .map(|w| format!("<code>{w}</code>"))
        .collect();
    let intro = format!(
        "<p class=\"note\">Samples of the median repeat of the {} rows, a small chart per \
         backend, <b>each on its own scale</b> (read the axis before comparing heights). \
         Colour is the scheme, as in the throughput charts. The dashed line marks where \
         the measured repeat ended (<code>-d</code>): what follows is the run winding \
         down. Garbage outstanding is retired minus freed objects (for \
         <code>handoff</code>: messages built and not yet destroyed); backends without a \
         reclamation scheme have no garbage chart, and backends whose samples are all \
         zero get no chart but are named under the charts.</p>\n",
        names.join(" and ")
    );
    intro
        + &per_input(ctx, |index, input| {
            let mut out = String::new();
            let end = repeat_end(&input.file);
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
                    for measure in Measure::ALL {
                        out.push_str(&small_multiples(ctx, measure, &at, end.as_ref(), |frame| {
                            frame
                                .attribute("data-input", (index + 1).to_string())
                                .attribute("data-workload", *workload)
                                .attribute("data-threads", threads.to_string())
                        }));
                    }
                }
            }
            if out.is_empty() {
                out.push_str("<p class=\"note\">No rows of these workloads in this file.</p>\n");
            }
            out
        })
}

/// A heading and a grid of one small chart per row that has samples of `measure`, and
/// a note naming the rows whose samples are all zero; nothing if no row has samples.
fn small_multiples(
    ctx: &Context<'_>,
    measure: Measure,
    rows: &[&Row],
    end: Option<&Mark>,
    attributes: impl Fn(Frame) -> Frame,
) -> String {
    let (drawn, zero) = drawn_and_zero(measure, rows);
    if drawn.is_empty() && zero.is_empty() {
        return String::new();
    }
    let mut out = format!("<p class=\"panel-title\">{}</p>\n", measure.title());
    let svgs = drawn.iter().map(|row| {
        let series = vec![Series {
            name: row.backend.clone(),
            colour: ctx.schemes.colour(&row.scheme),
            dash: Dash::Solid,
            points: measure.points(row),
        }];
        let frame = attributes(Frame::small(row.backend.as_str()))
            .attribute("data-backend", row.backend.as_str());
        measure
            .chart(frame, series, end.cloned().into_iter().collect())
            .render()
    });
    out.push_str(&charts_small(svgs));
    if !zero.is_empty() {
        let listed: Vec<String> = zero
            .iter()
            .map(|b| format!("<code>{}</code>", html(b)))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"note zero\">All zero, not drawn: {}.</p>",
            listed.join(", ")
        );
    }
    out
}
