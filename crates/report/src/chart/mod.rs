//! SVG charts, drawn with plotters into strings that are inlined in the page.
//!
//! plotters is built without its `ttf` feature (font-kit does not cross-compile to
//! ARM). It then estimates text extents from the character count and writes every label
//! as an SVG `<text>` element that the browser lays out with its own fonts, which is all
//! an inline SVG needs.
//!
//! Everything here is chart mechanics: callers describe a chart (`LineChart`,
//! `BarChart`, `RangeChart`) in the report's terms and get back an `<svg class="chart" …>` element.
//! Drawing never panics on odd data: values that cannot be placed (NaN, zero on a log
//! axis) are left out and counted in a note, an empty chart says so, and a drawing
//! error becomes a chart that shows the error.

mod axis;
mod bars;
mod lines;
mod palette;
mod ranges;

pub(crate) use axis::{Axis, Scale, Unit};
pub(crate) use bars::{BarChart, BarGroup, BarSeries};
pub(crate) use lines::{LineChart, Mark, Point, Series};
pub(crate) use palette::{Dash, Ranks, colour};
pub(crate) use ranges::{RangeChart, RangeRow};

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::escape;

/// Width of every chart, in pixels; the page scales charts down to fit its columns.
const WIDTH: u32 = 780;
/// Height of a chart whose legend fits beside it.
const BASE_HEIGHT: u32 = 360;
/// Room on the right for the legend, so it never hides a line.
const LEGEND_WIDTH: u32 = 215;
/// Vertical distance between legend entries.
const LEGEND_LINE: i32 = 20;
/// Legend labels longer than this are cut with an ellipsis (the tables have them whole).
const LEGEND_CHARS: usize = 25;
/// plotters divides font sizes by 1.24 when writing SVG; these are the sizes asked of
/// it, giving roughly 16, 13.5 and 12.5 px text (before the page scales the chart).
const TITLE_FONT: f64 = 20.0;
const LABEL_FONT: f64 = 17.0;
const SMALL_FONT: f64 = 15.5;
/// Stroke width of data lines. Nothing else in a chart uses it (axes are 1 px, legend
/// swatches are rectangles), so a test can count a chart's series by it.
pub(crate) const SERIES_STROKE: u32 = 2;

/// The font every chart uses: whatever sans-serif the browser has.
fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal)
}

/// Grey for grid lines, axis text and notes.
const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawError>;

/// Why plotters could not draw a chart. Not an error of the report: the chart is
/// replaced by its frame and this reason ([`Frame::failed`]), and the page goes on.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct DrawError(#[from] DrawingAreaErrorKind<std::io::Error>);

/// Width kept left of the plot for the y axis's tick labels and title.
const Y_LABELS: u32 = 68;

/// A chart builder on `area` with the report's caption and margins; `x_labels` is the
/// height kept under the plot for tick labels and the axis title, `y_labels` the width
/// kept left of it.
fn builder<'a, 'b>(
    area: &'a Area<'b>,
    title: &str,
    x_labels: u32,
    y_labels: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, font(TITLE_FONT).color(&INK))
        .margin(12)
        .x_label_area_size(x_labels)
        .y_label_area_size(y_labels);
    builder
}

/// The report's look for a chart's grid, axes and labels: light horizontal grid lines,
/// grey axes, the report's fonts.
fn house_style<X, Y>(mesh: &mut MeshStyle<'_, '_, X, Y, SVGBackend<'_>>)
where
    X: Ranged,
    Y: Ranged,
{
    mesh.bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED.stroke_width(1))
        .label_style(font(SMALL_FONT).color(&INK))
        .axis_desc_style(font(LABEL_FONT).color(&INK));
}

/// One legend line: a swatch in the series' colour and dash, and its name.
#[derive(Clone, Debug)]
struct LegendEntry {
    name: String,
    colour: RGBColor,
    dash: Dash,
}

/// Size of a small multiple: one of a grid of charts of one series each, told apart by
/// their titles, with no legend.
const SMALL: (u32, u32) = (440, 270);

/// What every chart shares: a title, `<svg>` attributes, a legend and notes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frame {
    /// The caption drawn above the plot.
    pub(crate) title: String,
    /// Attributes for the `<svg>` element (`data-backend`, …), escaped when written.
    pub(crate) attributes: Vec<(&'static str, String)>,
    /// The heading above the legend entries (`scheme`, `workload`, `input`).
    pub(crate) legend_title: String,
    /// A small multiple ([`SMALL`], no legend) rather than a full-width chart.
    pub(crate) small: bool,
}

impl Frame {
    pub(crate) fn new(title: impl Into<String>, legend_title: impl Into<String>) -> Frame {
        Frame {
            title: title.into(),
            attributes: Vec::new(),
            legend_title: legend_title.into(),
            small: false,
        }
    }

    /// The frame of a small multiple: no legend, its one series named by `title`.
    pub(crate) fn small(title: impl Into<String>) -> Frame {
        Frame {
            small: true,
            ..Frame::new(title, "")
        }
    }

    /// Adds an attribute to the `<svg>` element.
    pub(crate) fn attribute(mut self, name: &'static str, value: impl Into<String>) -> Frame {
        self.attributes.push((name, value.into()));
        self
    }

    /// Draws the legend and calls `plot` for the rest, then wraps the SVG. `notes` are
    /// written under the legend (values left out, and why).
    fn render(
        &self,
        entries: &[LegendEntry],
        plot: impl FnOnce(&Area<'_>) -> Result<Vec<String>, DrawError>,
    ) -> String {
        let legend_rows = entries.len() as u32 + 4;
        let height = BASE_HEIGHT.max(50 + legend_rows * LEGEND_LINE as u32);
        self.render_sized(height, entries, plot)
    }

    /// [`render`](Frame::render) at least `height` pixels high (a small multiple's own
    /// size otherwise); without legend entries, the plot takes the whole width and notes
    /// go along its foot.
    fn render_sized(
        &self,
        height: u32,
        entries: &[LegendEntry],
        plot: impl FnOnce(&Area<'_>) -> Result<Vec<String>, DrawError>,
    ) -> String {
        let (width, height) = if self.small { SMALL } else { (WIDTH, height) };
        let mut svg = String::new();
        let outcome = {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let filled = root.fill(&WHITE).map_err(DrawError::from);
            let drawn = if entries.is_empty() {
                filled
                    .and_then(|()| plot(&root))
                    .and_then(|notes| draw_corner_notes(&root, &notes))
            } else {
                let (plot_area, legend_area) = root.split_horizontally(width - LEGEND_WIDTH);
                filled
                    .and_then(|()| plot(&plot_area))
                    .and_then(|notes| self.draw_legend(&legend_area, entries, &notes))
            };
            drawn.and_then(|()| Ok(root.present()?))
        };
        match outcome {
            Ok(()) => self.wrap(&svg, width, height),
            Err(error) => self.failed(&error),
        }
    }

    fn draw_legend(
        &self,
        area: &Area<'_>,
        entries: &[LegendEntry],
        notes: &[String],
    ) -> DrawResult {
        let left = 6;
        let mut y = 44;
        if !entries.is_empty() {
            draw_text(
                area,
                &self.legend_title,
                (left, y),
                SMALL_FONT,
                MUTED,
                HPos::Left,
            )?;
            y += LEGEND_LINE;
        }
        for entry in entries {
            draw_swatch(area, (left, y), entry.colour, entry.dash)?;
            let name = shorten(&entry.name, LEGEND_CHARS);
            draw_text(area, &name, (left + 32, y), LABEL_FONT, INK, HPos::Left)?;
            y += LEGEND_LINE;
        }
        y += LEGEND_LINE / 2;
        for note in notes {
            draw_text(area, note, (left, y), SMALL_FONT, MUTED, HPos::Left)?;
            y += LEGEND_LINE;
        }
        Ok(())
    }

    /// Replaces plotters' `<svg>` tag with ours: our class and data attributes, a
    /// title for screen readers and tooltips, and no `xmlns` (inline SVG in HTML does
    /// not need it, and the page then holds no URL at all).
    fn wrap(&self, svg: &str, width: u32, height: u32) -> String {
        let body = svg
            .find("<svg")
            .and_then(|start| svg[start..].find('>').map(|end| &svg[start + end + 1..]))
            .unwrap_or(svg);
        let body = body.trim_end().strip_suffix("</svg>").unwrap_or(body);
        format!(
            "{}<title>{}</title>{}</svg>\n",
            self.open_tag(width, height),
            escape::html(&self.title),
            body
        )
    }

    fn open_tag(&self, width: u32, height: u32) -> String {
        let mut tag = String::from("<svg class=\"chart\"");
        for (name, value) in &self.attributes {
            tag.push_str(&format!(" {name}=\"{}\"", escape::html(value)));
        }
        tag.push_str(&format!(
            " width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
             role=\"img\" aria-label=\"{}\">",
            escape::html(&self.title)
        ));
        tag
    }

    /// A chart that plotters could not draw: the frame and the reason, so the page
    /// still has a chart in its place and the reader knows why it is empty.
    fn failed(&self, error: &DrawError) -> String {
        let mut svg = self.open_tag(WIDTH, 80);
        svg.push_str(&format!(
            "<title>{title}</title><text x=\"10\" y=\"30\" font-family=\"sans-serif\" \
             font-size=\"14\">{title}</text><text x=\"10\" y=\"56\" font-family=\"sans-serif\" \
             font-size=\"12\" fill=\"#a00\">chart could not be drawn: {error}</text></svg>\n",
            title = escape::html(&self.title),
            error = escape::html(&error.to_string()),
        ));
        svg
    }
}

/// Notes of a chart without a legend: one line each, at the top right under the caption.
fn draw_corner_notes(area: &Area<'_>, notes: &[String]) -> DrawResult {
    let (width, _) = area.dim_in_pixel();
    let mut y = 44;
    for note in notes {
        draw_text(
            area,
            note,
            (width as i32 - 8, y),
            SMALL_FONT,
            MUTED,
            HPos::Right,
        )?;
        y += LEGEND_LINE;
    }
    Ok(())
}

/// Draws the caption and a "nothing to plot" message in an otherwise empty plot area.
fn draw_empty(area: &Area<'_>, title: &str, message: &str) -> DrawResult {
    let (width, height) = area.dim_in_pixel();
    let centre = (width as i32 / 2, 20);
    draw_text(area, title, centre, TITLE_FONT, INK, HPos::Center)?;
    let middle = (width as i32 / 2, height as i32 / 2);
    draw_text(area, message, middle, LABEL_FONT, MUTED, HPos::Center)
}

fn draw_text(
    area: &Area<'_>,
    text: &str,
    at: (i32, i32),
    size: f64,
    colour: RGBColor,
    h: HPos,
) -> DrawResult {
    let style = TextStyle::from(font(size))
        .color(&colour)
        .pos(Pos::new(h, VPos::Center));
    Ok(area.draw(&Text::new(text.to_owned(), at, style))?)
}

/// A short horizontal stroke in `dash`, drawn as rectangles so that it is not counted
/// as a data line (see [`SERIES_STROKE`]).
fn draw_swatch(area: &Area<'_>, (x, y): (i32, i32), colour: RGBColor, dash: Dash) -> DrawResult {
    const LENGTH: i32 = 26;
    let (on, off) = match dash {
        Dash::Solid => (LENGTH, 0),
        Dash::Pattern(on, off) => (on as i32, off as i32),
    };
    let mut start = x;
    while start < x + LENGTH {
        let end = (start + on.max(1)).min(x + LENGTH);
        area.draw(&Rectangle::new(
            [(start, y - 1), (end, y + 2)],
            colour.filled(),
        ))?;
        start = end + off;
    }
    Ok(())
}

/// `text` cut to `max` characters, the last one an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart plotters refuses is replaced by its frame and plotters' reason, and the
    /// page goes on.
    #[test]
    fn a_chart_that_cannot_be_drawn_says_why_in_its_place() {
        let frame = Frame::new("throughput", "scheme").attribute("data-backend", "treiber-hp");
        let svg = frame.render(&[], |_| {
            Err(DrawError::from(DrawingAreaErrorKind::LayoutError))
        });
        assert!(
            svg.starts_with("<svg class=\"chart\" data-backend=\"treiber-hp\""),
            "{svg}"
        );
        assert!(
            svg.contains("chart could not be drawn: Bad layout"),
            "{svg}"
        );
        let drawn = frame.render(&[], |_| Ok(Vec::new()));
        assert!(!drawn.contains("could not be drawn"), "{drawn}");
    }
}
