//! Line charts: one line per series, with its interval (the 95% interval of the median,
//! or the min–max spread) as a shaded band (or a
//! whisker where a series has a single point).

use plotters::prelude::*;

use super::axis::Layout;
use plotters::style::text_anchor::HPos;

use super::{
    Area, Axis, Dash, DrawError, Frame, LegendEntry, MUTED, SERIES_STROKE, SMALL_FONT, builder,
    draw_empty, draw_text, house_style,
};

/// Lines with at most this many points get a marker on each point (when the chart
/// asks for markers); denser ones would turn into a smear of dots.
const MARKERS_UP_TO: usize = 24;
/// Time series are thinned to about this many points per line; the thinning keeps each
/// bucket's lowest and highest sample, so peaks survive.
const MAX_POINTS: usize = 600;

/// One measured point; `spread` is the (min, max) around `y` when there is one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Point {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) spread: Option<(f64, f64)>,
}

/// One line.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) colour: RGBColor,
    pub(crate) dash: Dash,
    pub(crate) points: Vec<Point>,
}

/// A moment on the x axis worth marking (where a repeat's measured time ended): a
/// dashed vertical line across the plot, labelled at its top.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mark {
    pub(crate) x: f64,
    pub(crate) label: String,
}

/// A chart of lines over shared axes.
#[derive(Clone, Debug)]
pub(crate) struct LineChart {
    pub(crate) frame: Frame,
    pub(crate) x: Axis,
    pub(crate) y: Axis,
    pub(crate) series: Vec<Series>,
    /// Dots on measured points: right for a few measured thread counts, noise on a
    /// time series whose samples are just a sampling interval apart.
    pub(crate) markers: bool,
    /// Vertical lines at moments of the x axis, drawn over the lines.
    pub(crate) marks: Vec<Mark>,
}

/// A series mapped to display space, ready to draw.
struct Placed {
    colour: RGBColor,
    dash: Dash,
    points: Vec<(f64, f64)>,
    spread: Vec<(f64, f64, f64)>,
}

impl LineChart {
    /// The chart as an `<svg>` element.
    pub(crate) fn render(&self) -> String {
        // A small multiple's one series is named by its title.
        let legend = if self.frame.small {
            &[][..]
        } else {
            &self.series[..]
        };
        let entries: Vec<LegendEntry> = legend
            .iter()
            .map(|s| LegendEntry {
                name: s.name.clone(),
                colour: s.colour,
                dash: s.dash,
            })
            .collect();
        self.frame.render(&entries, |area| self.plot(area))
    }

    fn plot(&self, area: &Area<'_>) -> Result<Vec<String>, DrawError> {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.x))
            .chain(self.marks.iter().map(|m| m.x));
        let x = self.x.layout(xs);
        let ys = self.series.iter().flat_map(|s| {
            s.points.iter().flat_map(|p| {
                let (lo, hi) = p.spread.unwrap_or((p.y, p.y));
                [p.y, lo, hi]
            })
        });
        let y = self.y.layout(ys);
        let (placed, dropped) = self.place(y.lo);

        let mut notes = Vec::new();
        if dropped > 0 {
            notes.push(format!("{dropped} point(s) not shown"));
            notes.push(match self.y.scale {
                super::Scale::Log => "(≤ 0 on a log axis)".to_owned(),
                super::Scale::Linear => "(not a number)".to_owned(),
            });
        }
        if placed.iter().all(|s| s.points.is_empty()) {
            draw_empty(area, &self.frame.title, "no valid measurements to plot")?;
            return Ok(notes);
        }

        let mut chart = builder(area, &self.frame.title, 46, super::Y_LABELS)
            .build_cartesian_2d(x, y.clone())?;
        let x_label = |v: &f64| self.x.unit.label(self.x.scale.value_at(*v));
        let y_label = |v: &f64| self.y.unit.label(self.y.scale.value_at(*v));
        let mut mesh = chart.configure_mesh();
        house_style(&mut mesh);
        mesh.x_desc(self.x.title.as_str())
            .y_desc(self.y.title.as_str())
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .draw()?;

        // Bands first, so every line is drawn over every band.
        for series in &placed {
            draw_spread(&mut chart, series)?;
        }
        for series in &placed {
            draw_line(&mut chart, series, self.markers)?;
        }
        for mark in &self.marks {
            self.draw_mark(area, &mut chart, mark, (y.lo, y.hi))?;
        }
        Ok(notes)
    }

    /// `mark` as a thin dashed line from the bottom of the plot to its top, its label
    /// beside the top end, on the side with more room.
    fn draw_mark(
        &self,
        area: &Area<'_>,
        chart: &mut Chart<'_, '_>,
        mark: &Mark,
        (bottom, top): (f64, f64),
    ) -> Result<(), DrawError> {
        let Some(x) = self.x.scale.to_display(mark.x) else {
            return Ok(());
        };
        let style = MUTED.stroke_width(1);
        chart.draw_series(DashedLineSeries::new([(x, bottom), (x, top)], 4, 3, style))?;
        let (px, py) = chart.backend_coord(&(x, top));
        let (columns, _) = chart.plotting_area().get_pixel_range();
        let (at, side) = if px - columns.start > columns.end - px {
            (px - 4, HPos::Right)
        } else {
            (px + 4, HPos::Left)
        };
        draw_text(area, &mark.label, (at, py + 8), SMALL_FONT, MUTED, side)?;
        Ok(())
    }

    /// Maps every series to display space, leaving out points the y scale cannot place;
    /// returns the placed series and how many points were left out.
    fn place(&self, y_floor: f64) -> (Vec<Placed>, usize) {
        let mut dropped = 0;
        let placed = self
            .series
            .iter()
            .map(|s| {
                let mut points = Vec::new();
                let mut spread = Vec::new();
                for p in thin(&s.points, MAX_POINTS) {
                    let (Some(x), Some(y)) =
                        (self.x.scale.to_display(p.x), self.y.scale.to_display(p.y))
                    else {
                        dropped += 1;
                        continue;
                    };
                    points.push((x, y));
                    if let Some((lo, hi)) = p.spread {
                        // A minimum at or below zero on a log axis runs to the bottom.
                        let lo = self.y.scale.to_display(lo).unwrap_or(y_floor).min(y);
                        let hi = self.y.scale.to_display(hi).unwrap_or(y).max(y);
                        spread.push((x, lo, hi));
                    }
                }
                Placed {
                    colour: s.colour,
                    dash: s.dash,
                    points,
                    spread,
                }
            })
            .collect();
        (placed, dropped)
    }
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Layout, Layout>>;
type ChartResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// The min–max spread: a translucent band through the series' points, or a whisker
/// with caps where there is only one point to span.
fn draw_spread(chart: &mut Chart<'_, '_>, series: &Placed) -> ChartResult {
    let band = series.colour.mix(0.16).filled();
    if series.spread.len() >= 2 {
        let outline: Vec<(f64, f64)> = series
            .spread
            .iter()
            .map(|&(x, _, hi)| (x, hi))
            .chain(series.spread.iter().rev().map(|&(x, lo, _)| (x, lo)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(outline, band)))?;
    } else if let Some(&(x, lo, hi)) = series.spread.first() {
        let whisker = series.colour.stroke_width(1);
        let cap =
            |y: f64| EmptyElement::at((x, y)) + PathElement::new(vec![(-5, 0), (5, 0)], whisker);
        chart.draw_series([PathElement::new(vec![(x, lo), (x, hi)], whisker)])?;
        chart.draw_series([cap(lo), cap(hi)])?;
    }
    Ok(())
}

/// The line itself (solid or dashed) and, for short series, a marker on each point.
fn draw_line(chart: &mut Chart<'_, '_>, series: &Placed, markers: bool) -> ChartResult {
    let style = series.colour.stroke_width(SERIES_STROKE);
    match series.dash {
        Dash::Solid => {
            chart.draw_series(LineSeries::new(series.points.iter().copied(), style))?;
        }
        Dash::Pattern(on, off) => {
            chart.draw_series(DashedLineSeries::new(
                series.points.iter().copied(),
                on,
                off,
                style,
            ))?;
        }
    }
    if markers && series.points.len() <= MARKERS_UP_TO {
        let marker = series.colour.filled();
        chart.draw_series(series.points.iter().map(|&p| Circle::new(p, 3, marker)))?;
    }
    Ok(())
}

/// At most about `max` of `points`: the points are cut into buckets and each bucket
/// keeps its lowest and its highest `y`, in time order, so spikes stay visible.
fn thin(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let bucket = points.len().div_ceil(max / 2);
    let mut kept = Vec::with_capacity(max + 2);
    for chunk in points.chunks(bucket) {
        let by_y = |a: &&Point, b: &&Point| a.y.total_cmp(&b.y);
        let (Some(low), Some(high)) = (chunk.iter().min_by(by_y), chunk.iter().max_by(by_y)) else {
            continue;
        };
        let (first, second) = if low.x <= high.x {
            (low, high)
        } else {
            (high, low)
        };
        kept.push(*first);
        if second != first {
            kept.push(*second);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Scale, Unit};

    fn chart(series: Vec<Series>, y_scale: Scale) -> LineChart {
        LineChart {
            frame: Frame::new("t<itle>", "scheme").attribute("data-test", "x"),
            x: Axis::new("threads", Scale::Log, Unit::Plain).ticks_at([1.0, 2.0, 4.0]),
            y: Axis::new("ops/s", y_scale, Unit::Count),
            series,
            markers: true,
            marks: Vec::new(),
        }
    }

    fn series(name: &str, points: &[(f64, f64)]) -> Series {
        Series {
            name: name.into(),
            colour: super::super::colour(0),
            dash: Dash::Solid,
            points: points
                .iter()
                .map(|&(x, y)| Point {
                    x,
                    y,
                    spread: Some((y * 0.9, y * 1.1)),
                })
                .collect(),
        }
    }

    #[test]
    fn draws_text_labels_without_ttf() {
        let svg = chart(
            vec![series("leak", &[(1.0, 1e6), (2.0, 2e6)])],
            Scale::Linear,
        )
        .render();
        assert!(
            svg.starts_with("<svg class=\"chart\" data-test=\"x\""),
            "{svg}"
        );
        assert!(svg.contains(">\nleak\n</text>"), "legend missing: {svg}");
        assert!(svg.contains(">\nthreads\n</text>"), "axis title missing");
        assert!(svg.contains(">\n2M\n</text>"), "tick label missing: {svg}");
        assert!(svg.contains("t&lt;itle&gt;"));
        assert!(!svg.contains("http"), "no namespace URL: {svg}");
        assert_eq!(svg.matches("stroke-width=\"2\"").count(), 1);
    }

    #[test]
    fn a_mark_is_a_thin_labelled_line_that_widens_the_axis_to_reach_it() {
        let mut with = chart(
            vec![series("ebr", &[(1.0, 1e6), (2.0, 2e6)])],
            Scale::Linear,
        );
        with.x = Axis::new("ms", Scale::Linear, Unit::Plain);
        let without = with.render();
        with.marks.push(Mark {
            x: 250.0,
            label: "end of repeat".into(),
        });
        let svg = with.render();
        assert!(svg.contains(">\nend of repeat\n</text>"), "{svg}");
        assert!(
            svg.contains(">\n250\n</text>"),
            "the axis reaches the mark: {svg}"
        );
        assert!(!without.contains(">\n250\n</text>"), "{without}");
        assert_eq!(
            svg.matches("stroke-width=\"2\"").count(),
            1,
            "still one series"
        );
    }

    #[test]
    fn odd_values_never_panic() {
        let cases: Vec<Vec<(f64, f64)>> = vec![
            vec![],
            vec![(1.0, 0.0)],
            vec![(1.0, -5.0), (2.0, 0.0)],
            vec![(1.0, f64::NAN), (2.0, f64::INFINITY)],
            vec![(4.0, 3e6)],
            vec![(0.0, 1.0), (-1.0, 2.0)],
        ];
        for points in cases {
            for scale in [Scale::Linear, Scale::Log] {
                let svg = chart(vec![series("s", &points)], scale).render();
                assert!(svg.contains("<svg class=\"chart\""), "{points:?} {svg}");
                assert!(
                    !svg.contains("could not be drawn"),
                    "{points:?} {scale:?} {svg}"
                );
            }
        }
        let empty = chart(Vec::new(), Scale::Log).render();
        assert!(empty.contains("no valid measurements"));
    }

    #[test]
    fn thinning_keeps_the_peak() {
        let points: Vec<Point> = (0..10_000)
            .map(|i| Point {
                x: f64::from(i),
                y: if i == 4321 { 1e9 } else { 1.0 },
                spread: None,
            })
            .collect();
        let kept = thin(&points, 600);
        assert!(kept.len() <= 620, "{}", kept.len());
        assert!(kept.iter().any(|p| p.y == 1e9));
    }
}
