//! Grouped bar charts: categories (thread counts) grouped under a heading (the
//! workload), one bar per series (input file) in each category.
//!
//! The two-level axis is drawn here rather than with plotters' tick labels, which hold
//! one line of text per tick; putting the workload under its thread counts avoids
//! rotated labels that collide.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::axis::Layout;
use super::{
    Area, Axis, Dash, DrawError, DrawResult, Frame, INK, LABEL_FONT, LegendEntry, MUTED,
    SMALL_FONT, builder, draw_empty, draw_text, house_style,
};

/// Space between two groups, in category widths.
const GROUP_GAP: f64 = 0.6;
/// Part of a category's width left empty on each side of its bars.
const CATEGORY_MARGIN: f64 = 0.12;

/// A heading over consecutive categories.
#[derive(Clone, Debug)]
pub(crate) struct BarGroup {
    pub(crate) label: String,
    pub(crate) categories: Vec<String>,
}

/// One bar per category, in the order the groups list them; `None` is a missing or
/// invalid measurement, marked with a dash where its bar would be.
#[derive(Clone, Debug)]
pub(crate) struct BarSeries {
    pub(crate) name: String,
    pub(crate) colour: RGBColor,
    pub(crate) values: Vec<Option<f64>>,
}

/// Bars over a grouped categorical x axis.
#[derive(Clone, Debug)]
pub(crate) struct BarChart {
    pub(crate) frame: Frame,
    pub(crate) x_title: String,
    pub(crate) y: Axis,
    pub(crate) groups: Vec<BarGroup>,
    pub(crate) series: Vec<BarSeries>,
}

impl BarChart {
    /// The chart as an `<svg>` element.
    pub(crate) fn render(&self) -> String {
        let entries: Vec<LegendEntry> = self
            .series
            .iter()
            .map(|s| LegendEntry {
                name: s.name.clone(),
                colour: s.colour,
                dash: Dash::Solid,
            })
            .collect();
        self.frame.render(&entries, |area| self.plot(area))
    }

    /// The left edge of every category, in order, with the gaps between groups.
    fn category_positions(&self) -> Vec<f64> {
        let mut positions = Vec::new();
        let mut x = 0.0;
        for group in &self.groups {
            for _ in &group.categories {
                positions.push(x);
                x += 1.0;
            }
            x += GROUP_GAP;
        }
        positions
    }

    fn plot(&self, area: &Area<'_>) -> Result<Vec<String>, DrawError> {
        let positions = self.category_positions();
        let values = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied());
        let y = self.y.layout(values);
        let placeable = self.series.iter().any(|s| {
            s.values
                .iter()
                .flatten()
                .any(|&v| self.y.scale.to_display(v).is_some())
        });
        if positions.is_empty() || !placeable {
            draw_empty(area, &self.frame.title, "no valid measurements to plot")?;
            return Ok(Vec::new());
        }
        let end = positions.last().copied().unwrap_or(0.0) + 1.0;
        let x = Layout {
            lo: -0.2,
            hi: end + 0.2,
            ticks: Vec::new(),
        };
        let base = if y.lo <= 0.0 && y.hi >= 0.0 && self.y.scale == super::Scale::Linear {
            0.0
        } else {
            y.lo
        };

        let mut chart = builder(area, &self.frame.title, 66, super::Y_LABELS)
            .build_cartesian_2d(x, y.clone())?;
        let y_label = |v: &f64| self.y.unit.label(self.y.scale.value_at(*v));
        let mut mesh = chart.configure_mesh();
        house_style(&mut mesh);
        mesh.disable_x_mesh()
            .x_desc(self.x_title.as_str())
            .y_desc(self.y.title.as_str())
            .y_label_formatter(&y_label)
            .draw()?;

        let width = (1.0 - 2.0 * CATEGORY_MARGIN) / self.series.len().max(1) as f64;
        let mut missing = Vec::new();
        for (index, series) in self.series.iter().enumerate() {
            let bars = positions
                .iter()
                .enumerate()
                .filter_map(|(category, &left)| {
                    let x0 = left + CATEGORY_MARGIN + index as f64 * width;
                    let x1 = x0 + width * 0.9;
                    let value = series.values.get(category).copied().flatten();
                    match value.and_then(|v| self.y.scale.to_display(v)) {
                        Some(top) => Some(Rectangle::new(
                            [(x0, base), (x1, top.max(base))],
                            series.colour.filled(),
                        )),
                        None => {
                            missing.push(((x0 + x1) / 2.0, base));
                            None
                        }
                    }
                });
            chart.draw_series(bars)?;
        }
        for at in missing {
            let (px, py) = chart.backend_coord(&at);
            draw_text(area, "–", (px, py - 8), SMALL_FONT, MUTED, HPos::Center)?;
        }
        self.draw_categories(area, &chart, &positions, y.lo)?;
        Ok(Vec::new())
    }

    /// Each category's label under it, and each group's label under its categories.
    fn draw_categories(
        &self,
        area: &Area<'_>,
        chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<Layout, Layout>>,
        positions: &[f64],
        bottom: f64,
    ) -> DrawResult {
        let mut next = positions.iter();
        for group in &self.groups {
            let mut span: Option<(f64, f64)> = None;
            for label in &group.categories {
                let Some(&left) = next.next() else {
                    return Ok(());
                };
                let (px, py) = chart.backend_coord(&(left + 0.5, bottom));
                draw_text(area, label, (px, py + 12), SMALL_FONT, INK, HPos::Center)?;
                span = Some(span.map_or((left, left + 1.0), |(a, _)| (a, left + 1.0)));
            }
            if let Some((a, b)) = span {
                let (px, py) = chart.backend_coord(&((a + b) / 2.0, bottom));
                draw_text(
                    area,
                    &group.label,
                    (px, py + 32),
                    LABEL_FONT,
                    INK,
                    HPos::Center,
                )?;
            }
        }
        Ok(())
    }
}
