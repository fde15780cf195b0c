//! Throughput and garbage against a scheme's knob (`run --scheme-setting KEY=V1,V2,…`):
//! one pair of charts per knob, workload, thread count and allocator, one line per
//! backend that set the knob.

use reclaim_results::Row;

use super::charts;
use super::throughput::ops_axis;
use crate::chart::{Axis, Dash, Frame, LineChart, Point, Scale, Series, Unit, colour};
use crate::data::{self, Context};
use crate::escape::html;

/// What the tuned rows of every input say against their knob's value; empty when no row
/// set a knob (the section is left out then).
pub(super) fn section(ctx: &Context<'_>) -> String {
    let rows: Vec<&Row> = ctx
        .inputs
        .iter()
        .flat_map(|i| &i.file.rows)
        .filter(|r| r.tuning.is_some())
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<p class=\"note\">Rows run at several values of one of their scheme's knobs \
         (<code>--scheme-setting</code>): the median throughput with its 95% interval, and \
         the most garbage (retired, not yet freed) any sample saw, against the knob. The \
         same rows at the scheme's defaults, and the other backends they were measured \
         beside, are in the columns of the comparison.</p>\n",
    );
    // One chart pair per knob × workload × threads × allocator, in order of appearance.
    let mut panels: Vec<(&str, &str, usize, &str)> = Vec::new();
    for row in &rows {
        let key = row.tuning.as_ref().map_or("", |t| t.key.as_str());
        let panel = (
            key,
            row.workload.as_str(),
            row.threads,
            row.allocator.as_str(),
        );
        if !panels.contains(&panel) {
            panels.push(panel);
        }
    }
    let several_allocators = data::distinct(rows.iter().map(|r| r.allocator.as_str())).len() > 1;
    for (key, workload, threads, allocator) in panels {
        let members: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| {
                r.tuning.as_ref().is_some_and(|t| t.key == key)
                    && r.workload == workload
                    && r.threads == threads
                    && r.allocator == allocator
            })
            .collect();
        let mut title = format!("{workload} · {threads} threads");
        if several_allocators {
            title = format!("{title} · {allocator}");
        }
        out.push_str(&format!(
            "<h4><code>{}</code>: {}</h4>\n",
            html(key),
            html(&title)
        ));
        out.push_str(&charts([
            chart(&members, key, &title, Measure::Throughput).render(),
            chart(&members, key, &title, Measure::Garbage).render(),
        ]));
    }
    out
}

/// What a chart plots against the knob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    Throughput,
    Garbage,
}

/// One line per backend of `rows` (all setting `key`), the knob's value on x.
fn chart(rows: &[&Row], key: &str, title: &str, measure: Measure) -> LineChart {
    let backends = data::distinct(rows.iter().map(|r| r.backend.as_str()));
    let series: Vec<Series> = backends
        .iter()
        .enumerate()
        .map(|(index, backend)| {
            let mut points: Vec<Point> = rows
                .iter()
                .filter(|r| r.backend == *backend)
                .filter_map(|r| point(r, measure))
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series {
                name: (*backend).to_owned(),
                colour: colour(index),
                dash: Dash::nth(0),
                points,
            }
        })
        .collect();
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .collect();
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|p| [Some(p.y), p.spread.map(|s| s.0), p.spread.map(|s| s.1)])
            .flatten()
    });
    let y_scale = Scale::for_values(ys);
    let (what, y) = match measure {
        Measure::Throughput => ("throughput", ops_axis(y_scale)),
        Measure::Garbage => (
            "peak garbage",
            Axis::new("peak garbage (nodes)", y_scale, Unit::Count),
        ),
    };
    LineChart {
        frame: Frame::new(format!("{title} · {what} against {key}"), "backend")
            .attribute("data-chart", "tuning")
            .attribute("data-knob", key.to_owned()),
        x: Axis::new(key, Scale::for_values(xs.iter().copied()), Unit::Plain)
            .ticks_at(xs.iter().copied()),
        y,
        series,
        markers: true,
        marks: Vec::new(),
    }
}

/// A valid row's point: its knob's value against its median throughput (with the 95%
/// interval) or its peak garbage.
fn point(row: &Row, measure: Measure) -> Option<Point> {
    let x = row.tuning.as_ref()?.value as f64;
    match measure {
        Measure::Throughput => {
            let median = data::median(row)?;
            let spread = row
                .ops_per_sec
                .map(|s| s.ci95.map_or((s.min, s.max), |[low, high]| (low, high)));
            Some(Point {
                x,
                y: median,
                spread,
            })
        }
        Measure::Garbage => row.valid.then_some(row.garbage.as_ref()?).map(|g| Point {
            x,
            y: g.peak as f64,
            spread: None,
        }),
    }
}
